/**
 * MISS upcalls compared with the ones Linux 6.12 sent in the kernel selftests
 * (test/captures/kernel-6.12-selftests-upcalls.pcap, from the oracle's selftests run): the same
 * frame entering the same port of a datapath with the same ifindex yields the same message,
 * byte for byte — header, key, packet, UNALIGNED length — except the HASH value, which comes
 * from a per-boot random siphash key in the kernel.
 */
import * as fs from 'fs';
import * as path from 'path';
import { splitDatagram } from '../../../lib/nl/message';
import { readPcap } from '../../../lib/replay/pcap';
import { forEachAttr } from '../../../lib/schema/validate';
import { emulator, TestSocket } from '../../helpers/nltest';

const pcap = readPcap(fs.readFileSync(path.join(__dirname, '..', '..', 'captures', 'kernel-6.12-selftests-upcalls.pcap')));
const NL_COOKED = 16;

/** The MISS upcalls of the capture: [frame number, message bytes]. */
const misses = pcap.map((r, i) => [i + 1, Buffer.from(r.data.subarray(NL_COOKED))] as const)
  .filter(([, m]) => m.readUInt16LE(4) === 0x27 && m[16] === 1);

function attrs(msg: Buffer): Map<number, { offset: number; payload: Buffer }> {
  const m = new Map<number, { offset: number; payload: Buffer }>();
  forEachAttr(msg.subarray(24), 24, (a) => m.set(a.type, a));
  return m;
}

describe('MISS upcalls against the 6.12 kernel', () => {
  it('the capture holds the seven MISS upcalls', () => {
    expect(misses.map(([n]) => n)).toEqual([2, 3, 4, 5, 6, 7, 8]);
  });

  it.each(misses)('frame %d: byte-identical but for the hash', (_n, kernelMsg) => {
    const dpIfindex = kernelMsg.readInt32LE(20);
    const emu = emulator({ host: { lookup: () => undefined, maxIfindex: () => dpIfindex - 1 } });
    const pk = emu.registry.family('ovs_packet').set('packet-attrs');
    const T = (n: string): number => pk.byName.get(n)!.type;
    const ka = attrs(kernelMsg);
    const keyAttrs = new Map<number, Buffer>();
    forEachAttr(ka.get(T('key'))!.payload, 0, (a) => keyAttrs.set(a.type, a.payload));
    const inPort = keyAttrs.get(emu.registry.family('ovs_flow').set('key-attrs').byName.get('in-port')!.type)!.readUInt32LE(0);

    const handler = new TestSocket(emu);
    const dpF = emu.registry.family('ovs_datapath');
    const vpF = emu.registry.family('ovs_vport');
    // ovs-dpctl.py add-dp -V 2:1 style: UNALIGNED | VPORT_PIDS, per-vport upcall pids.
    const feats = dpF.enumValue('user-features', 'unaligned') | dpF.enumValue('user-features', 'vport-pids');
    handler.send(handler.msg(dpF, 'new', 0, 0, (w) => w.attrString(1, 'dp').attrU32(2, handler.sock.portid).attrU32(5, feats)));
    expect(emu.ovs.net.dps[0].ifindex).toBe(dpIfindex);
    for (let p = 1; p <= inPort; p++) {
      handler.send(handler.msg(vpF, 'new', 0, dpIfindex, (w) => w.attrString(3, `p${p}`).attrU32(2, 2).attrU32(5, handler.sock.portid)));
    }
    const dp = emu.ovs.net.dps[0];
    expect(emu.packets.receive(dp, dp.ports.get(inPort)!, Buffer.from(ka.get(T('packet'))!.payload))).toBe(0);
    const ours = handler.queue.splice(0);
    expect(ours).toHaveLength(1);
    const msg = [...splitDatagram(ours[0])][0].bytes;
    // Blank the hash value in both (its flag bits must agree: software hash, not L4 for these).
    const blank = (b: Buffer): Buffer => {
      const c = Buffer.from(b);
      const h = attrs(c).get(T('hash'))!;
      expect(h.payload.readUInt32LE(4)).toBe(kernelMsg.readUInt32LE(attrs(kernelMsg).get(T('hash'))!.offset + 8));
      c.fill(0, h.offset + 4, h.offset + 8);
      return c;
    };
    expect(blank(msg).toString('hex')).toBe(blank(kernelMsg).toString('hex'));
    expect(msg.readUInt16LE(6)).toBe(0); // nlmsg_flags
  });

  it('an upcall to a receiver whose queue is full is lost: n_lost, vport upcall fail, ENOBUFS for the reader', () => {
    const emu = emulator({ host: { lookup: () => undefined, maxIfindex: () => 2 } });
    const handler = new TestSocket(emu);
    const dpF = emu.registry.family('ovs_datapath');
    handler.send(handler.msg(dpF, 'new', 0, 0, (w) => w.attrString(1, 'dp').attrU32(2, handler.sock.portid)));
    handler.capacity = 0;
    const dp = emu.ovs.net.dps[0];
    const frame = misses[1][1];
    const pkt = attrs(frame).get(emu.registry.family('ovs_packet').set('packet-attrs').byName.get('packet')!.type)!.payload;
    emu.packets.receive(dp, dp.local, Buffer.from(pkt));
    expect([dp.stats.nMissed, dp.stats.nLost, dp.local.upcallFail, dp.local.upcallSuccess]).toEqual([1n, 1n, 1n, 0n]);
    handler.capacity = Infinity;
    emu.packets.receive(dp, dp.local, Buffer.from(pkt));
    expect(handler.overruns).toBe(1); // the reader is told once (ENOBUFS), then gets the next upcall
    expect(handler.queue).toHaveLength(1);
    expect([dp.stats.nMissed, dp.stats.nLost, dp.local.upcallSuccess]).toEqual([2n, 1n, 1n]);
  });

  it('per-CPU dispatch sends the upcall to the pid of the CPU the packet landed on', () => {
    const emu = emulator({ host: { lookup: () => undefined, maxIfindex: () => 2 }, cpus: 4 });
    const socks = [0, 1, 2, 3].map(() => new TestSocket(emu));
    const dpF = emu.registry.family('ovs_datapath');
    const s = socks[0];
    const perCpu = dpF.enumValue('user-features', 'dispatch-upcall-per-cpu');
    const pids = Buffer.alloc(16);
    socks.forEach((x, i) => pids.writeUInt32LE(x.sock.portid, i * 4));
    s.send(s.msg(dpF, 'new', 0, 0, (w) => w.attrString(1, 'dp').attrU32(2, 0).attrU32(5, perCpu)));
    s.send(s.msg(dpF, 'set', 0, 0, (w) => w.attrString(1, 'dp').attrU32(5, perCpu).attr(8, pids)));
    const dp = emu.ovs.net.dps[0];
    for (const [, m] of misses) {
      const pkt = attrs(m).get(emu.registry.family('ovs_packet').set('packet-attrs').byName.get('packet')!.type)!.payload;
      emu.packets.receive(dp, dp.local, Buffer.from(pkt));
    }
    expect(dp.stats.nLost).toBe(0n);
    expect(socks.reduce((n, x) => n + x.queue.length, 0)).toBe(misses.length);
    // The same flow always lands on the same CPU, hence the same handler.
    const byFrame = new Map<string, number>();
    socks.forEach((x, i) => x.queue.forEach((q) => {
      const p = attrs([...splitDatagram(q)][0].bytes).get(emu.registry.family('ovs_packet').set('packet-attrs').byName.get('packet')!.type)!.payload.toString('hex');
      if (byFrame.has(p)) expect(byFrame.get(p)).toBe(i);
      byFrame.set(p, i);
    }));
  });
});
