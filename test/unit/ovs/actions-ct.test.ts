/**
 * The ct and ct_clear actions over the emulator's connection tracker (lib/ovs/conntrack-exec.ts
 * standing in for nf_conntrack behind net/openvswitch/conntrack.c, Linux 6.12): ct_state bits
 * through a TCP handshake, UDP replies, zones, commit vs lookup, ICMP related, mark/labels,
 * the original tuple in the key, NAT (the selftests' nat_connect_v4 / nat_related_v4 flows)
 * with exact rewritten frames, ct limits and timeouts.
 */
import { OVS_DROP } from '../../../lib/ovs/actions-env';
import { OVS_CS_F } from '../../../lib/ovs/conntrack-conn';
import { ConnTracker } from '../../../lib/ovs/conntrack-exec';
import { SWKEY } from '../../../lib/ovs/flow-key';
import {
  F, TestEnv, eth, hexOf, icmp, icmp4, icmp6, icmpEcho, ip4, ip6, ipv4, ipv6, prep, tcp, tcp4, udp, udp4, type Packet,
} from './actions-helpers';
import { flag, st, u16, u32, zeros, type Tlv } from './odp-build';

const { NEW, ESTABLISHED: EST, RELATED: REL, REPLY_DIR: RPL, INVALID: INV, TRACKED: TRK, SRC_NAT: SNAT, DST_NAT: DNAT } = OVS_CS_F;

interface CtOpts { commit?: boolean; force?: boolean; zone?: number; mark?: [number, number]; labels?: [Buffer, Buffer]; nat?: Tlv[] }
function ct(o: CtOpts = {}): Tlv {
  const kids: Tlv[] = [];
  if (o.commit) kids.push(['commit', flag]);
  if (o.force) kids.push(['force-commit', flag]);
  if (o.zone !== undefined) kids.push(['zone', u16(o.zone)]);
  if (o.mark) kids.push(['mark', st('ovs-ct-md-mark', { value: o.mark[0], mask: o.mark[1] })]);
  if (o.labels) kids.push(['labels', Buffer.concat(o.labels)]);
  if (o.nat) kids.push(['nat', o.nat]);
  return ['ct', kids];
}
const out = (port: number): Tlv => ['output', u32(port)];

/** A tracker with a settable clock, shared by the packets of one test. */
class Net {
  clock = 5_000_000;
  readonly tracker = new ConnTracker({ now: () => this.clock });
  env(): TestEnv {
    const e = new TestEnv(this.tracker);
    e.clock = this.clock;
    return e;
  }
  /** send runs the actions on a frame and returns what the key and the wire show. */
  send(frame: Buffer, actions: Tlv[], inPort = 1, setup?: (p: Packet) => void): { state: number; key: Buffer; wire?: Buffer; env: TestEnv } {
    const env = this.env();
    const p = prep(frame, inPort);
    setup?.(p);
    env.run(p, [...actions, out(inPort === 1 ? 2 : 1)]);
    return { state: p.key[SWKEY.ctState.off], key: p.key, wire: env.sent[0]?.wire, env };
  }
}

const C = '172.31.110.10';
const S = '172.31.110.20';
const V = '192.168.0.20';

describe('TCP', () => {
  it('handshake: +trk+new, then +trk+est+rpl, then +trk+est', () => {
    const n = new Net();
    expect(n.send(tcp4(C, S, 40000, 4443, F.SYN), [ct({ commit: true })]).state).toBe(TRK | NEW);
    expect(n.send(tcp4(S, C, 4443, 40000, F.SYN | F.ACK), [ct({ commit: true })], 2).state).toBe(TRK | EST | RPL);
    expect(n.send(tcp4(C, S, 40000, 4443, F.ACK), [ct()]).state).toBe(TRK | EST);
    expect(n.tracker.count(0)).toBe(1);
  });

  it('the original direction tuple goes into the key', () => {
    const n = new Net();
    n.send(tcp4(C, S, 40000, 4443, F.SYN), [ct({ commit: true })]);
    const { key } = n.send(tcp4(S, C, 4443, 40000, F.SYN | F.ACK), [ct()], 2);
    expect(key.subarray(SWKEY.ipv4CtOrigSrc.off, SWKEY.ipv4CtOrigSrc.off + 4)).toEqual(ip4(C));
    expect(key.subarray(SWKEY.ipv4CtOrigDst.off, SWKEY.ipv4CtOrigDst.off + 4)).toEqual(ip4(S));
    expect(key[SWKEY.ctOrigProto.off]).toBe(6);
    expect([key.readUInt16BE(SWKEY.ctOrigTpSrc.off), key.readUInt16BE(SWKEY.ctOrigTpDst.off)]).toEqual([40000, 4443]);
  });

  it('without commit nothing is remembered: the SYN/ACK is invalid (no connection to reply to)', () => {
    const n = new Net();
    expect(n.send(tcp4(C, S, 1, 2, F.SYN), [ct()]).state).toBe(TRK | NEW);
    expect(n.send(tcp4(C, S, 1, 2, F.SYN), [ct()]).state).toBe(TRK | NEW);
    expect(n.tracker.count(0)).toBe(0);
    expect(n.send(tcp4(S, C, 2, 1, F.SYN | F.ACK), [ct()], 2).state).toBe(TRK | INV);
  });

  it.each([
    ['SYN+FIN flag combination', F.SYN | F.FIN],
    ['no flags at all', 0],
  ])('invalid: %s', (_n, flags) => {
    expect(new Net().send(tcp4(C, S, 1, 2, flags), [ct({ commit: true })]).state).toBe(TRK | INV);
  });

  it('invalid: bad TCP checksum (checked at PRE_ROUTING)', () => {
    const f = tcp4(C, S, 1, 2, F.SYN);
    f.writeUInt16BE(f.readUInt16BE(34 + 16) ^ 1, 34 + 16);
    expect(new Net().send(f, [ct({ commit: true })]).state).toBe(TRK | INV);
  });

  it('Ethernet padding is trimmed off by conntrack (nf_ct_skb_network_trim)', () => {
    const f = tcp4(C, S, 1, 2, F.ACK);
    const padded = Buffer.concat([f, zeros(60 - f.length)]);
    expect(n2(padded).wire).toEqual(f);
    function n2(x: Buffer): { wire?: Buffer } { return new Net().send(x, [ct()]); }
  });
});

describe('UDP, zones, ICMP', () => {
  it('reply direction: +trk+est+rpl, then the originator sees +trk+est', () => {
    const n = new Net();
    expect(n.send(udp4(C, S, 5000, 53), [ct({ commit: true })]).state).toBe(TRK | NEW);
    expect(n.send(udp4(S, C, 53, 5000), [ct()], 2).state).toBe(TRK | EST | RPL);
    expect(n.send(udp4(C, S, 5000, 53), [ct()]).state).toBe(TRK | EST);
  });

  it('zones are separate tables; the key carries the zone', () => {
    const n = new Net();
    n.send(udp4(C, S, 5000, 53), [ct({ commit: true, zone: 1 })]);
    const r = n.send(udp4(S, C, 53, 5000), [ct({ zone: 2 })], 2);
    expect(r.state).toBe(TRK | NEW);
    expect(r.key.readUInt16LE(SWKEY.ctZone.off)).toBe(2);
    expect(n.send(udp4(S, C, 53, 5000), [ct({ zone: 1 })], 2).state).toBe(TRK | EST | RPL);
    expect([n.tracker.count(1), n.tracker.count(2)]).toEqual([1, 0]);
  });

  it('an unreplied UDP connection times out after 30 s', () => {
    const n = new Net();
    n.send(udp4(C, S, 5000, 53), [ct({ commit: true })]);
    n.clock += 31_000;
    expect(n.send(udp4(S, C, 53, 5000), [ct()], 2).state).toBe(TRK | NEW);
    expect(n.tracker.count(0)).toBe(0);
  });

  it('ICMP echo: request +new, reply +est+rpl; a reply without request is invalid', () => {
    const n = new Net();
    expect(n.send(icmp4(C, S, icmpEcho(8, 7)), [ct({ commit: true })]).state).toBe(TRK | NEW);
    expect(n.send(icmp4(S, C, icmpEcho(0, 7)), [ct()], 2).state).toBe(TRK | EST | RPL);
    expect(new Net().send(icmp4(S, C, icmpEcho(0, 9)), [ct()], 2).state).toBe(TRK | INV);
  });

  it('an ICMP error about a tracked connection is +trk+rel(+rpl)', () => {
    const n = new Net();
    const sent = udp4(C, S, 5000, 10000);
    n.send(sent, [ct({ commit: true })]);
    const err = icmp4(S, C, icmp(3, 3, zeros(4), sent.subarray(14, 14 + 28)));
    expect(n.send(err, [ct()], 2).state).toBe(TRK | REL | RPL);
  });

  it('IPv6 neighbour discovery is left untracked (+trk+inv)', () => {
    const a = { src: 'fe80::1', dst: 'ff02::1:ff00:2' };
    const ns = Buffer.concat([eth(0x86dd), ipv6({ ...a, nh: 58, hlim: 255 }, icmp6(a, 135, 0, zeros(4), ip6('fe80::2')))]);
    expect(new Net().send(ns, [ct({ commit: true })]).state).toBe(TRK | INV);
  });

  it('IPv6 TCP handshake', () => {
    const n = new Net();
    const a = { src: 'fd00::a', dst: 'fd00::b', v6: true };
    const b = { src: 'fd00::b', dst: 'fd00::a', v6: true };
    const f = (x: typeof a, flags: number, sp: number, dp: number): Buffer =>
      Buffer.concat([eth(0x86dd), ipv6({ src: x.src, dst: x.dst, nh: 6 }, tcp(x, sp, dp, flags))]);
    expect(n.send(f(a, F.SYN, 1, 22), [ct({ commit: true })]).state).toBe(TRK | NEW);
    const r = n.send(f(b, F.SYN | F.ACK, 22, 1), [ct()], 2);
    expect(r.state).toBe(TRK | EST | RPL);
    expect(r.key.subarray(SWKEY.ipv6CtOrigSrc.off, SWKEY.ipv6CtOrigSrc.off + 16)).toEqual(ip6('fd00::a'));
  });
});

describe('commit: mark, labels, force, limits, ct_clear', () => {
  it('mark and labels set at commit show in later packets', () => {
    const n = new Net();
    const lv = Buffer.alloc(16);
    lv[0] = 0xaa;
    const lm = Buffer.alloc(16);
    lm[0] = 0xff;
    const first = n.send(udp4(C, S, 1, 2), [ct({ commit: true, mark: [0x55, 0xff], labels: [lv, lm] })]);
    expect(first.key.readUInt32LE(SWKEY.ctMark.off)).toBe(0x55);
    const r = n.send(udp4(S, C, 2, 1), [ct()], 2);
    expect(r.key.readUInt32LE(SWKEY.ctMark.off)).toBe(0x55);
    expect(r.key.subarray(SWKEY.ctLabels.off, SWKEY.ctLabels.off + 16)).toEqual(lv);
  });

  it('force_commit from the reply side starts a new connection in that direction', () => {
    const n = new Net();
    n.send(udp4(C, S, 1, 2), [ct({ commit: true })]);
    expect(n.send(udp4(S, C, 2, 1), [ct({ commit: true, force: true })], 2).state).toBe(TRK | NEW);
    expect(n.send(udp4(C, S, 1, 2), [ct()]).state).toBe(TRK | EST | RPL);
  });

  it('a zone over its limit refuses new connections: the packet is dropped (CONNTRACK)', () => {
    const limits = { count: (_z: number): number => 0, exceeds: (_z: number, conns: number): boolean => conns > 1 };
    const tracker = new ConnTracker({ now: () => 1, limits });
    const env = new TestEnv(tracker);
    env.run(prep(udp4(C, S, 1, 2)), [ct({ commit: true }), out(2)]);
    env.run(prep(udp4(C, S, 3, 4)), [ct({ commit: true }), out(2)]);
    expect(env.sent).toHaveLength(1);
    expect(env.drops.map((d) => d.reason)).toEqual([OVS_DROP.CONNTRACK]);
    expect(limits.count(0)).toBe(1);
  });

  it('ct_clear after ct: the key forgets the state and the packet is untracked', () => {
    const n = new Net();
    const r = n.send(udp4(C, S, 1, 2), [ct({ commit: true }), ['ct-clear', flag]]);
    expect(r.state).toBe(0);
    expect(r.key[SWKEY.ctOrigProto.off]).toBe(0);
  });

  it('a packet re-injected with its ct_state (after an upcall) is not run through conntrack again', () => {
    const n = new Net();
    n.send(udp4(C, S, 1, 2), [ct({ commit: true })]);
    // The key says what the first pass found; a fresh lookup would say +est+rpl.
    const r = n.send(udp4(S, C, 2, 1), [ct()], 2, (p) => { p.key[SWKEY.ctState.off] = TRK | NEW; });
    expect(r.state).toBe(TRK | NEW);
    // In another zone the earlier result does not count.
    const z = n.send(udp4(S, C, 2, 1), [ct({ zone: 3 })], 2, (p) => { p.key[SWKEY.ctState.off] = TRK | NEW; });
    expect(z.state).toBe(TRK | NEW);
    expect(z.key.readUInt16LE(SWKEY.ctZone.off)).toBe(3);
    expect(n.send(udp4(S, C, 2, 1), [ct()], 2).state).toBe(TRK | EST | RPL);
  });
});

describe('NAT (selftest flows)', () => {
  it('nat_connect_v4: DNAT of the request, reverse NAT of the reply, checksums exact', () => {
    const n = new Net();
    const syn = n.send(tcp4(C, V, 40000, 4443, F.SYN), [ct({ commit: true, nat: [['dst', flag], ['ip-min', ip4(S)]] })]);
    expect(hexOf(syn.wire!)).toBe(hexOf(tcp4(C, S, 40000, 4443, F.SYN)));
    expect(syn.key.subarray(SWKEY.ipv4Dst.off, SWKEY.ipv4Dst.off + 4)).toEqual(ip4(S));
    // The DNAT pass in the original direction is followed by a (null) SNAT pass: both flags.
    expect(syn.state).toBe(TRK | NEW | DNAT | SNAT);
    const synack = n.send(tcp4(S, C, 4443, 40000, F.SYN | F.ACK), [ct({ commit: true, nat: [] })], 2);
    expect(hexOf(synack.wire!)).toBe(hexOf(tcp4(V, C, 4443, 40000, F.SYN | F.ACK)));
    expect(synack.state).toBe(TRK | EST | RPL | SNAT);
    expect(synack.key.subarray(SWKEY.ipv4Src.off, SWKEY.ipv4Src.off + 4)).toEqual(ip4(V));
  });

  it('DNAT of a ping: echo request and reply', () => {
    const n = new Net();
    const req = n.send(icmp4(C, V, icmpEcho(8, 0x77)), [ct({ commit: true, nat: [['dst', flag], ['ip-min', ip4(S)]] })]);
    expect(hexOf(req.wire!)).toBe(hexOf(icmp4(C, S, icmpEcho(8, 0x77))));
    const rep = n.send(icmp4(S, C, icmpEcho(0, 0x77)), [ct({ commit: true, nat: [] })], 2);
    expect(hexOf(rep.wire!)).toBe(hexOf(icmp4(V, C, icmpEcho(0, 0x77))));
  });

  it('SNAT with a port range moves a clashing source port', () => {
    const n = new Net();
    const nat: Tlv[] = [['src', flag], ['ip-min', ip4(V)], ['proto-min', u16(7000)], ['proto-max', u16(7001)]];
    const a = n.send(udp4(C, S, 5000, 53), [ct({ commit: true, nat })]);
    const b = n.send(udp4('172.31.110.11', S, 5000, 53), [ct({ commit: true, nat })]);
    expect(hexOf(a.wire!)).toBe(hexOf(udp4(V, S, 7000, 53)));
    expect(hexOf(b.wire!)).toBe(hexOf(udp4(V, S, 7001, 53)));
    expect(b.key.readUInt16BE(SWKEY.tpSrc.off)).toBe(7001);
  });

  it('nat_related_v4: an ICMP error to the SNAT address is translated inside and out', () => {
    const n = new Net();
    const orig = udp4(C, S, 5000, 10000);
    const fwd = n.send(orig, [ct({ commit: true, nat: [['src', flag], ['ip-min', ip4(V)]] })]);
    expect(hexOf(fwd.wire!)).toBe(hexOf(udp4(V, S, 5000, 10000)));
    expect(fwd.state).toBe(TRK | NEW | SNAT);
    // The server answers the packet it saw (from V) with port unreachable.
    const seen = fwd.wire!.subarray(14, 14 + 28);
    const err = n.send(icmp4(S, V, icmp(3, 3, zeros(4), seen)), [ct({ commit: true, nat: [] })], 2);
    expect(hexOf(err.wire!)).toBe(hexOf(icmp4(S, C, icmp(3, 3, zeros(4), orig.subarray(14, 14 + 28)))));
    expect(err.state).toBe(TRK | REL | RPL | DNAT);
    expect(err.key.subarray(SWKEY.ipv4Dst.off, SWKEY.ipv4Dst.off + 4)).toEqual(ip4(C));
  });

  it('NAT of an IPv6 UDP flow updates the pseudo-header checksum', () => {
    const n = new Net();
    const a = { src: 'fd00::a', dst: 'fd00::b' };
    const mk = (src: string): Buffer => Buffer.concat([eth(0x86dd), ipv6({ src, dst: a.dst, nh: 17 }, udp({ src, dst: a.dst, v6: true }, 1, 2))]);
    const r = n.send(mk(a.src), [ct({ commit: true, nat: [['src', flag], ['ip-min', ip6('fd00::99')]] })]);
    expect(hexOf(r.wire!)).toBe(hexOf(mk('fd00::99')));
  });
});

/** Guard against a silent builder change: the frame helpers must keep producing IPv4. */
it('helpers: ipv4() frames carry the protocol asked for', () => {
  expect(ipv4({ src: C, dst: S, proto: 17 }, Buffer.alloc(8))[9]).toBe(17);
});
