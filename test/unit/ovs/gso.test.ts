/**
 * GSO segmentation before an upcall (queue_gso_packets → __skb_gso_segment): TCPv4, TCPv6 and
 * UDP_L4 super-packets become MSS-sized packets whose headers a receiving stack accepts. Checks
 * are independent of lib/ovs/checksum.ts: a valid header or segment sums to 0xffff.
 */
import { GSO, skbGsoSegment } from '../../../lib/ovs/gso';
import { Skb } from '../../../lib/ovs/skb';
import { emulator, TestSocket } from '../../helpers/nltest';

/** Ones' complement sum of 16-bit big-endian words, folded. */
function sum16(bytes: Buffer | number[]): number {
  const b = [...bytes];
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += (b[i] << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}
const payload = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff));
const ETH = (type: number): Buffer => Buffer.concat([Buffer.from('020000000002020000000001', 'hex'), Buffer.from([type >> 8, type & 0xff])]);

function tcpHeader(seq: number, flags: number): Buffer {
  const t = Buffer.alloc(20);
  t.writeUInt16BE(40000, 0);
  t.writeUInt16BE(5001, 2);
  t.writeUInt32BE(seq, 4);
  t.writeUInt32BE(77, 8);
  t[12] = 5 << 4;
  t[13] = flags;
  t.writeUInt16BE(502, 14);
  return t;
}

function ipv4(proto: number, id: number, l4: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + l4.length, 2);
  h.writeUInt16BE(id, 4);
  h.writeUInt16BE(0x4000, 6);
  h[8] = 64;
  h[9] = proto;
  Buffer.from([10, 0, 0, 1, 10, 0, 0, 2]).copy(h, 12);
  return Buffer.concat([h, l4]);
}

function gsoSkb(frame: Buffer, nh: number, th: number, type: number, size: number): Skb {
  const skb = new Skb(frame);
  skb.networkHeader = nh;
  skb.transportHeader = th;
  skb.gso = { type, size, hdrLen: 0 };
  return skb;
}

const pseudo4 = (b: Buffer, proto: number): number[] => [...b.subarray(26, 34), 0, proto, ((b.length - 34) >> 8) & 0xff, (b.length - 34) & 0xff];

describe('skbGsoSegment', () => {
  it('TCPv4: 3000 bytes at MSS 1448 → 1448 + 1448 + 104, ids and sequence numbers advance', () => {
    const data = payload(3000);
    const FLAGS = 0x80 | 0x10 | 0x08 | 0x01; // CWR ACK PSH FIN
    const frame = Buffer.concat([ETH(0x0800), ipv4(6, 0x1234, Buffer.concat([tcpHeader(1000, FLAGS), data]))]);
    const segs = skbGsoSegment(gsoSkb(frame, 14, 34, GSO.TCPV4, 1448))!;
    expect(segs.map((s) => s.data.length - 54)).toEqual([1448, 1448, 104]);
    expect(segs.map((s) => s.data.readUInt16BE(16))).toEqual([1488, 1488, 144]);
    expect(segs.map((s) => s.data.readUInt16BE(18))).toEqual([0x1234, 0x1235, 0x1236]);
    expect(segs.map((s) => s.data.readUInt32BE(38))).toEqual([1000, 2448, 3896]);
    expect(segs.map((s) => s.data[47])).toEqual([0x80 | 0x10, 0x10, 0x10 | 0x08 | 0x01]);
    for (const s of segs) {
      expect(sum16(s.data.subarray(14, 34))).toBe(0xffff);
      expect(sum16([...pseudo4(s.data, 6), ...s.data.subarray(34)])).toBe(0xffff);
      expect(s.gso).toBeUndefined();
    }
    expect(Buffer.concat(segs.map((s) => s.data.subarray(54)))).toEqual(data);
  });

  it('TCPv6: payload length and checksums per segment', () => {
    const data = payload(2000);
    const l4 = Buffer.concat([tcpHeader(5, 0x18), data]);
    const ip6 = Buffer.alloc(40);
    ip6[0] = 0x60;
    ip6.writeUInt16BE(l4.length, 4);
    ip6[6] = 6;
    ip6[7] = 64;
    ip6[23] = 1;
    ip6[39] = 2;
    const frame = Buffer.concat([ETH(0x86dd), ip6, l4]);
    const segs = skbGsoSegment(gsoSkb(frame, 14, 54, GSO.TCPV6, 1000))!;
    expect(segs.map((s) => s.data.readUInt16BE(18))).toEqual([1020, 1020]);
    for (const s of segs) {
      const len = s.data.length - 54;
      const pseudo = [...s.data.subarray(22, 54), 0, 0, len >> 8, len & 0xff, 0, 0, 0, 6];
      expect(sum16([...pseudo, ...s.data.subarray(54)])).toBe(0xffff);
    }
  });

  it('UDP_L4 (UDP GSO): each datagram gets its own length and checksum', () => {
    const data = payload(2500);
    const udp = Buffer.alloc(8);
    udp.writeUInt16BE(5353, 0);
    udp.writeUInt16BE(7000, 2);
    const frame = Buffer.concat([ETH(0x0800), ipv4(17, 9, Buffer.concat([udp, data]))]);
    const segs = skbGsoSegment(gsoSkb(frame, 14, 34, GSO.UDP_L4, 1200))!;
    expect(segs.map((s) => s.data.readUInt16BE(38))).toEqual([1208, 1208, 108]);
    for (const s of segs) expect(sum16([...pseudo4(s.data, 17), ...s.data.subarray(34)])).toBe(0xffff);
  });

  it('a packet without GSO state is itself; legacy UFO is not segmented', () => {
    const skb = new Skb(Buffer.alloc(60));
    expect(skbGsoSegment(skb)).toEqual([skb]);
    const frame = Buffer.concat([ETH(0x0800), ipv4(17, 1, Buffer.alloc(3000))]);
    expect(skbGsoSegment(gsoSkb(frame, 14, 34, GSO.UDP, 1400))).toBeUndefined();
  });
});

describe('a GSO packet that misses: one MISS upcall per segment, one miss counted', () => {
  it('3000 bytes of TCP at MSS 1448 from a port reach the handler as 3 upcalls', () => {
    const emu = emulator({ host: { lookup: () => undefined, maxIfindex: () => 9 } });
    const dpF = emu.registry.family('ovs_datapath');
    const vpF = emu.registry.family('ovs_vport');
    const handler = new TestSocket(emu);
    const s = new TestSocket(emu);
    s.send(s.msg(dpF, 'new', 0, 0, (w) => w.attrString(1, 'gdp').attrU32(2, handler.sock.portid)));
    const dp = emu.ovs.net.dps[0];
    const A = (n: string): number => vpF.set('vport').byName.get(n)!.type;
    s.send(s.msg(vpF, 'new', 0, dp.ifindex, (w) => w.attrString(A('name'), 'g1').attrU32(A('type'), vpF.enumValue('vport-type', 'internal')).attrU32(A('upcall-pid'), handler.sock.portid)));
    const frame = Buffer.concat([ETH(0x0800), ipv4(6, 1, Buffer.concat([tcpHeader(1, 0x18), payload(3000)]))]);
    expect(emu.receiveFrame('g1', frame, (skb) => { skb.gso = { type: GSO.TCPV4, size: 1448, hdrLen: 54 }; })).toBe(0);
    // Each upcall's last attribute is the packet: its length is the segment's.
    const packetLens = handler.queue.map((d) => {
      let off = 24;
      let last = 0;
      while (off + 4 <= d.length) {
        const len = d.readUInt16LE(off);
        if (len < 4) break;
        last = len - 4;
        off += (len + 3) & ~3;
      }
      return last;
    });
    expect(packetLens).toEqual([1502, 1502, 158]);
    expect({ missed: dp.stats.nMissed, lost: dp.stats.nLost }).toEqual({ missed: 1n, lost: 0n });
  });
});
