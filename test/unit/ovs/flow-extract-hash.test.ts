/**
 * skb_get_hash() structure (net/core/flow_dissector.c, Linux 6.12): which fields feed the hash,
 * symmetry, where dissection stops, the l4_hash rule. Values are the emulator's own (the
 * kernel's SipHash key is random per boot), so cases compare hashes with each other; SipHash
 * itself is checked against the reference vectors of the SipHash paper.
 */
import { newSwFlowKey } from '../../../lib/ovs/flow-key';
import { newFlowHashSeed, ovsFlowKeyExtract, skbGetHash, skbGetHashSymmetric } from '../../../lib/ovs/flow';
import { siphash } from '../../../lib/ovs/siphash';
import { Skb } from '../../../lib/ovs/skb';
import { arp, ether, frag6, icmp, ipv4, ipv6, tcp, udp, type Ip4Opts } from './frame-builder';

/** received: an skb as the datapath has it when it asks for the hash (after key extraction). */
function received(frame: Buffer, setup?: (skb: Skb) => void): Skb {
  const skb = new Skb(Buffer.from(frame));
  setup?.(skb);
  expect(ovsFlowKeyExtract(skb, newSwFlowKey(), { inPort: 1 })).toBe(0);
  return skb;
}
const hashOf = (frame: Buffer, setup?: (skb: Skb) => void): number => skbGetHash(received(frame, setup));
const v4tcp = (o: Ip4Opts, sport: number, dport: number) => ether(0x0800, ipv4({ proto: 6, ...o }, tcp(sport, dport)));
const v6 = (label: number, l4: Buffer, next = 6) => ether(0x86dd, ipv6({ next, label }, l4));
const gre = (inner: Buffer, key?: number) => {
  const h = Buffer.alloc(key === undefined ? 4 : 8);
  h.writeUInt16BE(key === undefined ? 0 : 0x2000, 0);
  h.writeUInt16BE(0x0800, 2);
  if (key !== undefined) h.writeUInt32BE(key, 4);
  return ether(0x0800, ipv4({ proto: 47, src: '192.0.2.1', dst: '192.0.2.2' }, Buffer.concat([h, inner])));
};

describe('siphash', () => {
  const key = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
  test.each([
    [0, 0x726fdb47dd0e0e31n],
    [15, 0xa129ca6149be45e5n],
  ])('SipHash-2-4 reference vector, %i-byte message', (len, want) => {
    expect(siphash(Buffer.from([...Array(len).keys()]), key)).toBe(want);
  });
});

describe('skb_get_hash()', () => {
  test('TCP: software L4 hash, the same for both directions', () => {
    const skb = received(v4tcp({}, 1000, 80));
    const h = skbGetHash(skb);
    expect([skb.hash, skb.swHash, skb.l4Hash]).toEqual([h, true, true]);
    expect(hashOf(v4tcp({ src: '10.0.0.2', dst: '10.0.0.1' }, 80, 1000))).toBe(h);
    expect(hashOf(v4tcp({}, 1001, 80))).not.toBe(h);
    expect(hashOf(v4tcp({ dst: '10.0.0.3' }, 1000, 80))).not.toBe(h);
  });

  test('TTL, TOS, MACs and payload are not hashed', () => {
    const h = hashOf(v4tcp({}, 1, 2));
    expect(hashOf(ether(0x0800, ipv4({ proto: 6, ttl: 3, tos: 0x20 }, tcp(1, 2, 0x18)), { src: '02:11:11:11:11:11' }))).toBe(h);
  });

  test('ICMP: addresses and protocol only, no L4 hash', () => {
    const skb = received(ether(0x0800, ipv4({ proto: 1 }, icmp(8))));
    skbGetHash(skb);
    expect(skb.l4Hash).toBe(false);
    expect(hashOf(ether(0x0800, ipv4({ proto: 1 }, icmp(0, 0, Buffer.of(1, 2, 3, 4)))))).toBe(skb.hash);
    expect(hashOf(ether(0x0800, ipv4({ proto: 17 }, icmp(8))))).not.toBe(skb.hash);
  });

  test('UDP and SCTP ports count; an IPv4 fragment has none', () => {
    const u = (o: Ip4Opts, s: number) => ether(0x0800, ipv4({ proto: 17, ...o }, udp(s, 53)));
    expect(hashOf(u({}, 1))).not.toBe(hashOf(u({}, 2)));
    const first = received(u({ fragOff: 0x2000 }, 1));
    expect(skbGetHash(first)).toBe(hashOf(u({ fragOff: 0x2000 }, 2)));
    expect(first.l4Hash).toBe(false);
  });

  test('ARP: only the EtherType is hashed (the ARP key is not dissected)', () => {
    const skb = received(ether(0x0806, arp()));
    expect(skbGetHash(skb)).toBe(hashOf(ether(0x0806, arp({ sip: '10.1.1.1', op: 2 }))));
    expect(skb.l4Hash).toBe(false);
  });

  test('IPv6 flow label: dissection stops there (no ports), and it counts as L4', () => {
    const skb = received(v6(0x12345, tcp(1, 2)));
    const h = skbGetHash(skb);
    expect(skb.l4Hash).toBe(true);
    expect(hashOf(v6(0x12345, tcp(3, 4)))).toBe(h);
    expect(hashOf(v6(0x12346, tcp(1, 2)))).not.toBe(h);
  });

  test('IPv6 without flow label: extension headers walked to the ports; fragments have none', () => {
    expect(hashOf(v6(0, tcp(1, 2)))).not.toBe(hashOf(v6(0, tcp(1, 3))));
    const hop = (dport: number) => v6(0, Buffer.concat([Buffer.of(6, 0, 1, 4, 0, 0, 0, 0), tcp(1, dport)]), 0);
    expect(hashOf(hop(2))).not.toBe(hashOf(hop(3)));
    const fr = (dport: number) => v6(0, frag6(17, 0, true, udp(1, dport)), 44);
    expect(hashOf(fr(2))).toBe(hashOf(fr(3)));
  });

  test('VLAN id, priority and TPID are hashed (accelerated tag included)', () => {
    const f = (tci: number, tpid = 0x8100) => ether(0x0800, ipv4({ proto: 17 }, udp(1, 2)), { tags: [[tpid, tci]] });
    const h = hashOf(f(10));
    expect(hashOf(f(10 | 0x1000))).toBe(h); // DEI is not part of the key
    expect(hashOf(f(11))).not.toBe(h);
    expect(hashOf(f(10 | 0x2000))).not.toBe(h);
    expect(hashOf(f(10, 0x88a8))).not.toBe(h);
    expect(hashOf(ether(0x0800, ipv4({ proto: 17 }, udp(1, 2))), (s) => { s.vlanTpid = 0x8100; s.vlanTci = 10; })).toBe(h);
  });

  test('GRE: the inner header and the key id are hashed', () => {
    const inner = (dst: string) => ipv4({ proto: 17, dst }, udp(1, 2));
    expect(hashOf(gre(inner('10.0.0.2')))).not.toBe(hashOf(gre(inner('10.0.0.3'))));
    expect(hashOf(gre(inner('10.0.0.2'), 1))).not.toBe(hashOf(gre(inner('10.0.0.2'), 2)));
  });

  test('an existing hash (NIC, or OVS_PACKET_ATTR_HASH) is kept', () => {
    const skb = received(v4tcp({}, 1, 2));
    skb.hash = 0x1234;
    skb.l4Hash = true;
    expect(skbGetHash(skb)).toBe(0x1234);
  });

  test('the seed changes the values, not the structure', () => {
    const seed = newFlowHashSeed();
    const a = received(v4tcp({}, 1, 2));
    const b = received(v4tcp({ src: '10.0.0.2', dst: '10.0.0.1' }, 2, 1));
    expect(skbGetHash(a, seed)).toBe(skbGetHash(b, seed));
    expect(skbGetHash(received(v4tcp({}, 1, 2)))).not.toBe(a.hash);
  });

  test('symmetric hash (sym_l4): ignores VLAN and flow label, reads ports past the label, sets nothing', () => {
    const skb = received(v6(0x12345, tcp(1, 2)));
    const s = skbGetHashSymmetric(skb);
    expect([skb.hash, skb.swHash]).toEqual([0, false]);
    expect(skbGetHashSymmetric(received(v6(0x54321, tcp(1, 2))))).toBe(s);
    expect(skbGetHashSymmetric(received(v6(0x12345, tcp(1, 3))))).not.toBe(s);
  });
});
