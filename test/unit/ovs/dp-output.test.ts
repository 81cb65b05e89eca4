/**
 * do_output() (net/openvswitch/actions.c, Linux 6.12) sends only to a vport whose device is
 * running and has carrier (netif_running() && netif_carrier_ok()); otherwise the packet is
 * dropped with SKB_DROP_REASON_DEV_READY and no counter moves (the kernel's vswitchd-veth
 * transcript shows it: NORMAL floods to the down bridge port br0 leave its counters at 0).
 * Output to a port that does not exist is dropped the same way. ovs_vport_send() then drops a
 * non-GSO packet longer than the device's MTU (Ethernet header and an in-band VLAN tag not
 * counted), counting tx_errors and logging "dropped over-mtu packet".
 */
import type { NetDevice, DeviceFactory, HostNetdevs, LinkState } from '../../../lib/ovs/netdev';
import { kmsg } from '../../../lib/kmsg';
import { zeroStats } from '../../../lib/ovs/netdev';
import type { Skb } from '../../../lib/ovs/skb';
import { emulator, errnoOf, TestSocket } from '../../helpers/nltest';
import { acts, key, mac, u32 } from './odp-build';

/** A device whose running state and MTU the test sets, recording what the datapath transmits. */
class TestDevice implements NetDevice {
  up = true;
  mtu = 1500;
  txErrors = 0;
  readonly sent: Buffer[] = [];
  constructor(readonly name: string, readonly ifindex: number) {}
  stats = zeroStats;
  destroy(): void {}
  linkState(): LinkState {
    return { running: this.up, mtu: this.mtu };
  }
  countTxError(): void {
    this.txErrors++;
  }
  transmit(skb: Skb): void {
    this.sent.push(Buffer.from(skb.data));
  }
}

const devs = new Map<string, TestDevice>();
let nextIfindex = 10;
const factory: DeviceFactory = {
  createInternal: (name) => {
    const d = new TestDevice(name, nextIfindex++);
    devs.set(name, d);
    return d;
  },
  createTunnel: (name) => new TestDevice(name, nextIfindex++),
};
const host: HostNetdevs = { lookup: () => undefined, maxIfindex: () => 9 };
const emu = emulator({ host, devices: factory });
const dpF = emu.registry.family('ovs_datapath');
const vpF = emu.registry.family('ovs_vport');
const pkF = emu.registry.family('ovs_packet');
const s = new TestSocket(emu);
s.send(s.msg(dpF, 'new', 0, 0, (w) => w.attrString(1, 'odp').attrU32(2, 7)));
const dp = emu.ovs.net.dps[0];
const A = (n: string): number => vpF.set('vport').byName.get(n)!.type;
s.send(s.msg(vpF, 'new', 0, dp.ifindex, (w) => w.attrString(A('name'), 'q1').attrU32(A('type'), vpF.enumValue('vport-type', 'internal')).attrU32(A('upcall-pid'), 0)));
const P = (n: string): number => pkF.set('packet-attrs').byName.get(n)!.type;

const FRAME = Buffer.concat([mac('02:00:00:00:00:02'), mac('02:00:00:00:00:01'), Buffer.from([0x88, 0xb5]), Buffer.alloc(46, 0x5a)]);
/** OVS_PACKET_CMD_EXECUTE of FRAME with `output(port)`; returns the errno of the ACK. */
function execOutput(port: number): number {
  const k = key([['in-port', u32(0)], ['ethernet', Buffer.concat([mac('02:00:00:00:00:01'), mac('02:00:00:00:00:02')])], ['ethertype', Buffer.from([0x88, 0xb5])]]);
  const r = s.send(s.msg(pkF, 'execute', 4 /* NLM_F_ACK */, dp.ifindex, (w) => w.attr(P('packet'), FRAME).attr(P('key'), k).attr(P('actions'), acts([['output', u32(port)]]))));
  return errnoOf(r[0]);
}

describe('do_output', () => {
  const q1 = devs.get('q1')!;

  it('a running device transmits the frame', () => {
    expect(execOutput(1)).toBe(0);
    expect(q1.sent).toEqual([FRAME]);
  });

  it('a device that is down (or without carrier) gets nothing; the request still succeeds', () => {
    q1.up = false;
    q1.sent.length = 0;
    expect(execOutput(1)).toBe(0);
    expect(q1.sent).toEqual([]);
  });

  it('up again: transmitted again', () => {
    q1.up = true;
    expect(execOutput(1)).toBe(0);
    expect(q1.sent).toEqual([FRAME]);
  });

  it('a port number with no vport: dropped, no error', () => {
    expect(execOutput(7)).toBe(0);
    expect(q1.sent).toEqual([FRAME]);
  });

  it('longer than the MTU: dropped, tx_errors counted, the kernel\'s warning logged', () => {
    q1.mtu = 45;
    q1.sent.length = 0;
    const mark = kmsg.count;
    expect(execOutput(1)).toBe(0);
    expect({ sent: q1.sent.length, txErrors: q1.txErrors }).toEqual({ sent: 0, txErrors: 1 });
    expect(kmsg.since(mark).map((l) => l.replace(/^\[[ \d.]+\] /, ''))).toEqual(['q1: dropped over-mtu packet: 46 > 45']);
  });

  it('exactly the MTU (frame length less the Ethernet header) is sent', () => {
    q1.mtu = 46;
    expect(execOutput(1)).toBe(0);
    expect(q1.sent).toEqual([FRAME]);
    q1.mtu = 1500;
  });
});
