/**
 * set / set_masked execution (net/openvswitch/actions.c execute_masked_set_action(), Linux
 * 6.12): exact output bytes, with the expected frames built by test/unit/ovs/actions-helpers.ts
 * whose IPv4, TCP, UDP, ICMPv6 checksums come from a separate RFC 1071 routine and SCTP's from
 * a bitwise CRC32c.
 */
import { OVS_DROP } from '../../../lib/ovs/actions-env';
import { SWKEY } from '../../../lib/ovs/flow-key';
import { skbCt } from '../../../lib/ovs/conntrack-conn';
import {
  F, TestEnv, crc32cBitwise, eth, hexOf, icmp6, ip4, ip6, ipv4, ipv6, mac, prep, rfc1071, sctp, tcp4, udp, udp4,
} from './actions-helpers';
import { be32, flag, ones, st, u32, zeros, type Tlv } from './odp-build';

const ipn = (s: string): number => ip4(s).readUInt32BE(0);
const ipv4Key = (v: { src?: string; dst?: string; proto?: number; tos?: number; ttl?: number; frag?: number }): Buffer =>
  st('ovs-key-ipv4', {
    'ipv4-src': v.src ? ipn(v.src) : 0, 'ipv4-dst': v.dst ? ipn(v.dst) : 0,
    'ipv4-proto': v.proto ?? 0, 'ipv4-tos': v.tos ?? 0, 'ipv4-ttl': v.ttl ?? 0, 'ipv4-frag': v.frag ?? 0,
  });
const ipv6Key = (v: { src?: string; dst?: string; label?: number; proto?: number; tclass?: number; hlimit?: number }): Buffer =>
  st('ovs-key-ipv6', {
    'ipv6-src': v.src ? ip6(v.src) : zeros(16), 'ipv6-dst': v.dst ? ip6(v.dst) : zeros(16), 'ipv6-label': v.label ?? 0,
    'ipv6-proto': v.proto ?? 0, 'ipv6-tclass': v.tclass ?? 0, 'ipv6-hlimit': v.hlimit ?? 0, 'ipv6-frag': 0,
  });
const masked = (name: string, value: Buffer, mask: Buffer): Tlv => ['set-masked', [[name, Buffer.concat([value, mask])]]];
const out = (port: number): Tlv => ['output', u32(port)];

/** run executes the actions on a fresh packet and returns the one frame sent to port 1. */
function sendOne(frame: Buffer, actions: Tlv[]): { wire: Buffer; key: Buffer; env: TestEnv } {
  const env = new TestEnv();
  const p = prep(frame);
  env.run(p, [...actions, out(1)]);
  expect(env.sent).toHaveLength(1);
  return { wire: env.sent[0].wire, key: p.key, env };
}

describe('set_masked(ipv4)', () => {
  it('source address of a TCP packet: IPv4 header and TCP checksums follow', () => {
    const { wire, key } = sendOne(tcp4('10.0.0.1', '10.0.0.2', 1234, 80, F.SYN),
      [masked('ipv4', ipv4Key({ src: '192.168.7.9' }), ipv4Key({ src: '255.255.255.255' }))]);
    expect(hexOf(wire)).toBe(hexOf(tcp4('192.168.7.9', '10.0.0.2', 1234, 80, F.SYN)));
    expect(key.readUInt32BE(SWKEY.ipv4Src.off)).toBe(ipn('192.168.7.9'));
  });

  it('partial mask: only the masked bits of the destination change', () => {
    const { wire } = sendOne(udp4('10.0.0.1', '10.0.0.2', 53, 5353),
      [masked('ipv4', ipv4Key({ dst: '0.0.9.0' }), ipv4Key({ dst: '0.0.255.0' }))]);
    expect(hexOf(wire)).toBe(hexOf(udp4('10.0.0.1', '10.0.9.2', 53, 5353)));
  });

  it('UDP without checksum keeps a zero checksum', () => {
    const { wire } = sendOne(udp4('10.0.0.1', '10.0.0.2', 53, 5353, {}, false),
      [masked('ipv4', ipv4Key({ dst: '172.16.0.1' }), ipv4Key({ dst: '255.255.255.255' }))]);
    expect(hexOf(wire)).toBe(hexOf(udp4('10.0.0.1', '172.16.0.1', 53, 5353, {}, false)));
    expect(wire.readUInt16BE(14 + 20 + 6)).toBe(0);
  });

  it('TTL and TOS (ECN bits kept by the mask)', () => {
    const { wire, key } = sendOne(tcp4('10.0.0.1', '10.0.0.2', 1, 2, F.ACK, { ttl: 64, tos: 0x03 }),
      [masked('ipv4', ipv4Key({ tos: 0xb8, ttl: 9 }), ipv4Key({ tos: 0xfc, ttl: 0xff }))]);
    expect(hexOf(wire)).toBe(hexOf(tcp4('10.0.0.1', '10.0.0.2', 1, 2, F.ACK, { ttl: 9, tos: 0xbb })));
    expect(key[SWKEY.ipTtl.off]).toBe(9);
    expect(key[SWKEY.ipTos.off]).toBe(0xbb);
  });

  it('set(ipv4) (stored as set_to_masked, all ones) rewrites addresses, TOS and TTL', () => {
    const { wire } = sendOne(udp4('10.0.0.1', '10.0.0.2', 7, 9),
      [['set', [['ipv4', ipv4Key({ src: '1.2.3.4', dst: '5.6.7.8', proto: 17, tos: 0x10, ttl: 3 })]]]]);
    expect(hexOf(wire)).toBe(hexOf(udp4('1.2.3.4', '5.6.7.8', 7, 9, { tos: 0x10, ttl: 3 })));
    const ip = wire.subarray(14, 34);
    expect(rfc1071(ip)).toBe(0);
  });

  it('an address change drops the skb hash and the conntrack reference', () => {
    const env = new TestEnv();
    const p = prep(tcp4('10.0.0.1', '10.0.0.2', 1, 2, F.SYN));
    p.skb.hash = 77;
    p.skb.swHash = true;
    env.run(p, [masked('ipv4', ipv4Key({ src: '10.0.0.3' }), ipv4Key({ src: '255.255.255.255' })), out(1)]);
    expect(env.sent[0].skb.hash).toBe(0);
    expect(skbCt(env.sent[0].skb.ct)?.ctinfo).toBe(7); // IP_CT_UNTRACKED
  });
});

describe('set(ipv6)', () => {
  const A = { src: '2001:db8::1', dst: '2001:db8::2' };
  const echo6 = (src: string, dst: string, o: { tclass?: number; label?: number; hlim?: number } = {}): Buffer =>
    Buffer.concat([eth(0x86dd), ipv6({ src, dst, nh: 58, ...o }, icmp6({ src, dst }, 128, 0, Buffer.from('00070001', 'hex'), Buffer.from('data')))]);

  it('source address: the ICMPv6 checksum (pseudo-header) follows', () => {
    const { wire, key } = sendOne(echo6(A.src, A.dst),
      [masked('ipv6', ipv6Key({ src: 'fd00::99' }), ipv6Key({ src: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff' }))]);
    expect(hexOf(wire)).toBe(hexOf(echo6('fd00::99', A.dst)));
    expect(key.subarray(SWKEY.ipv6Src.off, SWKEY.ipv6Src.off + 16)).toEqual(ip6('fd00::99'));
  });

  it('traffic class, flow label and hop limit', () => {
    const { wire, key } = sendOne(echo6(A.src, A.dst, { tclass: 0x01, label: 0x12345, hlim: 64 }),
      [masked('ipv6', ipv6Key({ tclass: 0xa0, label: 0xabcde, hlimit: 7 }), ipv6Key({ tclass: 0xfc, label: 0xfffff, hlimit: 0xff }))]);
    expect(hexOf(wire)).toBe(hexOf(echo6(A.src, A.dst, { tclass: 0xa1, label: 0xabcde, hlim: 7 })));
    expect(key.readUInt32BE(SWKEY.ipv6Label.off)).toBe(0xabcde);
    expect(key[SWKEY.ipTos.off]).toBe(0xa1);
  });

  it('destination behind a routing header with segments left: the L4 checksum is not touched', () => {
    const rh = Buffer.alloc(24);
    rh[0] = 58; // next header
    rh[1] = 2; // 24 bytes
    rh[3] = 1; // segments left
    ip6('2001:db8::77').copy(rh, 8);
    const mk = (dst: string, csumDst: string): Buffer => Buffer.concat([eth(0x86dd),
      ipv6({ src: A.src, dst, nh: 43, ext: rh }, icmp6({ src: A.src, dst: csumDst }, 128, 0, Buffer.from('00070001', 'hex')))]);
    const { wire } = sendOne(mk(A.dst, '2001:db8::77'),
      [masked('ipv6', ipv6Key({ dst: 'fd00::5' }), ipv6Key({ dst: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff' }))]);
    expect(hexOf(wire)).toBe(hexOf(mk('fd00::5', '2001:db8::77')));
  });
});

describe('set(tcp/udp/sctp)', () => {
  it('TCP ports', () => {
    const { wire, key } = sendOne(tcp4('10.0.0.1', '10.0.0.2', 1234, 80, F.ACK), [['set', [['tcp', st('ovs-key-tcp', { 'tcp-src': 4321, 'tcp-dst': 8080 })]]]]);
    expect(hexOf(wire)).toBe(hexOf(tcp4('10.0.0.1', '10.0.0.2', 4321, 8080, F.ACK)));
    expect(key.readUInt16BE(SWKEY.tpSrc.off)).toBe(4321);
    expect(key.readUInt16BE(SWKEY.tpDst.off)).toBe(8080);
  });

  it('UDP destination port only (mask)', () => {
    const { wire } = sendOne(udp4('10.0.0.1', '10.0.0.2', 1000, 2000),
      [masked('udp', st('ovs-key-udp', { 'udp-src': 0, 'udp-dst': 4789 }), st('ovs-key-udp', { 'udp-src': 0, 'udp-dst': 0xffff }))]);
    expect(hexOf(wire)).toBe(hexOf(udp4('10.0.0.1', '10.0.0.2', 1000, 4789)));
  });

  it('UDP ports without checksum', () => {
    const { wire } = sendOne(udp4('10.0.0.1', '10.0.0.2', 1000, 2000, {}, false), [['set', [['udp', st('ovs-key-udp', { 'udp-src': 1, 'udp-dst': 2 })]]]]);
    expect(hexOf(wire)).toBe(hexOf(udp4('10.0.0.1', '10.0.0.2', 1, 2, {}, false)));
  });

  it('SCTP ports: the CRC32c is recomputed', () => {
    const mk = (s: number, d: number): Buffer => Buffer.concat([eth(0x0800), ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 132 }, sctp(s, d))]);
    const { wire } = sendOne(mk(5000, 6000), [['set', [['sctp', st('ovs-key-sctp', { 'sctp-src': 5001, 'sctp-dst': 36412 })]]]]);
    expect(hexOf(wire)).toBe(hexOf(mk(5001, 36412)));
    const seg = Buffer.from(wire.subarray(34));
    const crc = seg.readUInt32LE(8);
    seg.writeUInt32LE(0, 8);
    expect(crc).toBe(crc32cBitwise(seg));
  });

  it('SCTP with a wrong checksum keeps it wrong by the same error', () => {
    const mk = (s: number): Buffer => Buffer.concat([eth(0x0800), ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 132 }, sctp(s, 1))]);
    const bad = mk(5000);
    bad.writeUInt32LE(bad.readUInt32LE(34 + 8) ^ 0x5a, 34 + 8);
    const { wire } = sendOne(bad, [['set', [['sctp', st('ovs-key-sctp', { 'sctp-src': 7, 'sctp-dst': 1 })]]]]);
    expect(wire.readUInt32LE(34 + 8)).toBe((mk(7).readUInt32LE(34 + 8) ^ 0x5a) >>> 0);
  });
});

describe('set of L2 and metadata', () => {
  it('set_masked(ethernet): destination only', () => {
    const frame = udp4('10.0.0.1', '10.0.0.2', 1, 2);
    const value = st('ovs-key-ethernet', { 'eth-src': zeros(6), 'eth-dst': mac('02:00:00:00:00:99') });
    const mask = st('ovs-key-ethernet', { 'eth-src': zeros(6), 'eth-dst': ones(6) });
    const { wire, key } = sendOne(frame, [masked('ethernet', value, mask)]);
    const want = Buffer.from(frame);
    mac('02:00:00:00:00:99').copy(want, 0);
    expect(hexOf(wire)).toBe(hexOf(want));
    expect(key.subarray(SWKEY.ethDst.off, SWKEY.ethDst.off + 6)).toEqual(mac('02:00:00:00:00:99'));
  });

  it('set(mpls): the top label stack entry', () => {
    const payload = ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17 }, udp({ src: '10.0.0.1', dst: '10.0.0.2' }, 1, 2));
    const frame = Buffer.concat([eth(0x8847), be32((100 << 12) | 0x100 | 64), payload]);
    const { wire, key } = sendOne(frame, [['set', [['mpls', be32((200 << 12) | 0x100 | 5)]]]]);
    expect(hexOf(wire)).toBe(hexOf(Buffer.concat([eth(0x8847), be32((200 << 12) | 0x100 | 5), payload])));
    expect(key.readUInt32BE(SWKEY.mplsLse.off)).toBe((200 << 12) | 0x100 | 5);
  });

  it('set_masked(priority) and set_masked(skb_mark) change the skb and the key', () => {
    const env = new TestEnv();
    const p = prep(udp4('10.0.0.1', '10.0.0.2', 1, 2));
    p.skb.mark = 0xff00;
    env.run(p, [masked('priority', u32(7), u32(0xf)), masked('skb-mark', u32(0x0012), u32(0x00ff)), out(1)]);
    expect(env.sent[0].skb.priority).toBe(7);
    expect(env.sent[0].skb.mark).toBe(0xff12);
    expect(p.key.readUInt32LE(SWKEY.priority.off)).toBe(7);
    expect(p.key.readUInt32LE(SWKEY.skbMark.off)).toBe(0xff12);
  });

  it('set(tunnel) attaches the egress tunnel metadata', () => {
    const env = new TestEnv();
    const p = prep(udp4('10.0.0.1', '10.0.0.2', 1, 2));
    env.run(p, [['set', [['tunnel', [['id', Buffer.from('0000000000000005', 'hex')], ['ipv4-dst', ip4('192.0.2.1')], ['ttl', Buffer.of(64)], ['dont-fragment', flag]]]]], out(1)]);
    expect(env.sent[0].skb.tunnelInfo).toMatchObject({ kind: 'tunnel', dst: ip4('192.0.2.1'), ttl: 64 });
  });

  it('set(ct_mark) passes validation but fails at execution: ACTION_ERROR drop', () => {
    const env = new TestEnv();
    const p = prep(udp4('10.0.0.1', '10.0.0.2', 1, 2));
    expect(env.run(p, [['set', [['ct-mark', u32(1)]]], out(1)])).toBe(-22);
    expect(env.sent).toHaveLength(0);
    expect(env.drops.map((d) => d.reason)).toEqual([OVS_DROP.ACTION_ERROR]);
  });
});
