import createDebug from 'debug';
import type { OvsContext } from './context';
import { vportFillInfo } from './vport-family';

const log = createDebug('ovs-dpemu:ovs:dp-notify');

/** Multicast of a kernel-initiated message to the members of a generic netlink group. */
export type Broadcast = (groupId: number, dgram: Buffer) => void;

/**
 * ovsDpNotify is what dp_device_event() and ovs_dp_notify_wq() do when a host interface attached
 * as a netdev vport is unregistered (deleted, or moved to another namespace): the port leaves
 * its datapath and an OVS_VPORT_CMD_DEL message goes to the ovs_vport multicast group, which is
 * how ovs-vswitchd learns of it. The kernel reacts to the netdevice notifier; the emulator
 * checks each netdev port's interface when called (the server does it periodically).
 * Returns the names of the ports detached.
 */
// kernel: ovs_dp_notify_wq() → dp_detach_port_notify()
export function ovsDpNotify(ctx: OvsContext, broadcast: Broadcast): string[] {
  const gone: string[] = [];
  const group = ctx.vportFamily.mcastGroups[0]?.id ?? 0;
  const del = ctx.vportFamily.op('del').cmd;
  for (const dp of ctx.net.dps) {
    for (const vport of [...dp.ports.values()]) {
      if (vport.type !== ctx.vportEnv.types.netdev || vport.dev.present?.() !== false) continue;
      const notify = vportFillInfo(ctx, dp, vport, 0, 0, 0, del);
      dp.removePort(vport.portNo);
      vport.destroy();
      broadcast(group, notify);
      gone.push(vport.name);
      log('%s: port %d (%s) detached: its interface is gone', dp.name, vport.portNo, vport.name);
    }
  }
  return gone;
}
