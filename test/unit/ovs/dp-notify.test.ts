/**
 * dp_notify.c in the emulator: a host interface attached as a netdev vport that disappears
 * (deleted, or moved to another namespace: a different ifindex under the name, or none) takes
 * its port with it, and ovs_vport listeners get the OVS_VPORT_CMD_DEL message the kernel
 * multicasts (ovs-vswitchd reacts to it). Internal ports and present interfaces stay.
 */
import { NETLINK_OPT } from '../../../lib/nl/constants';
import { ARPHRD_ETHER, zeroStats, type HostDevice, type HostNetdevs } from '../../../lib/ovs/netdev';
import { vportFillInfo } from '../../../lib/ovs/vport-family';
import { emulator, TestSocket } from '../../helpers/nltest';

const dev = (name: string, ifindex: number): HostDevice => ({ name, ifindex, arphrd: ARPHRD_ETHER, loopback: false, hasMaster: false, stats: zeroStats });
const HOST = new Map<string, HostDevice>([['eth1', dev('eth1', 2)], ['eth2', dev('eth2', 3)], ['eth3', dev('eth3', 4)]]);
const host: HostNetdevs = { lookup: (n) => HOST.get(n), maxIfindex: () => 9 };

const emu = emulator({ host });
const dpF = emu.registry.family('ovs_datapath');
const vpF = emu.registry.family('ovs_vport');
const A = (n: string): number => vpF.set('vport').byName.get(n)!.type;
const T = (n: string): number => vpF.enumValue('vport-type', n);
const s = new TestSocket(emu);
s.send(s.msg(dpF, 'new', 0, 0, (w) => w.attrString(1, 'ndp').attrU32(2, 7)));
const dp = emu.ovs.net.dps[0];
for (const [name, type] of [['eth1', 'netdev'], ['eth2', 'netdev'], ['eth3', 'netdev'], ['i1', 'internal']]) {
  s.send(s.msg(vpF, 'new', 0, dp.ifindex, (w) => w.attrString(A('name'), name).attrU32(A('type'), T(type)).attrU32(A('upcall-pid'), 5)));
}
const listener = new TestSocket(emu).setOpt(NETLINK_OPT.ADD_MEMBERSHIP, vpF.mcastGroups[0].id);
const portNames = (): string[] => [...dp.ports.values()].map((v) => v.name).sort();

describe('netdev ports whose interface vanished', () => {
  it('nothing happens while every interface is there', () => {
    expect(emu.detachVanishedPorts()).toEqual([]);
    expect(listener.queue).toEqual([]);
    expect(portNames()).toEqual(['eth1', 'eth2', 'eth3', 'i1', 'ndp']);
  });

  it('a deleted interface: its port is removed and OVS_VPORT_CMD_DEL is multicast (portid 0, seq 0)', () => {
    const eth1 = dp.ports.get(1)!;
    const expected = vportFillInfo(emu.ovs, dp, eth1, 0, 0, 0, vpF.op('del').cmd);
    HOST.delete('eth1');
    expect(emu.detachVanishedPorts()).toEqual(['eth1']);
    expect(listener.queue.splice(0)).toEqual([expected]);
    expect(portNames()).toEqual(['eth2', 'eth3', 'i1', 'ndp']);
    // The message is the kernel's: ovs_vport family, cmd DEL, pid 0, seq 0, the port described.
    expect({ type: expected.readUInt16LE(4), flags: expected.readUInt16LE(6), seq: expected.readUInt32LE(8), pid: expected.readUInt32LE(12), cmd: expected[16] })
      .toEqual({ type: vpF.familyId, flags: 0, seq: 0, pid: 0, cmd: 2 });
  });

  it('the name now belongs to another interface (moved away, a new one created): detached too', () => {
    HOST.set('eth2', dev('eth2', 30));
    expect(emu.detachVanishedPorts()).toEqual(['eth2']);
    expect(listener.queue.splice(0)).toHaveLength(1);
    expect(portNames()).toEqual(['eth3', 'i1', 'ndp']);
  });

  it('the interface can be attached again once its port is gone', () => {
    const r = s.send(s.msg(vpF, 'new', 0, dp.ifindex, (w) => w.attrString(A('name'), 'eth2').attrU32(A('type'), T('netdev')).attrU32(A('upcall-pid'), 5)));
    expect(r).toEqual([]);
    expect(portNames()).toEqual(['eth2', 'eth3', 'i1', 'ndp']);
    listener.queue.splice(0);
  });
});
