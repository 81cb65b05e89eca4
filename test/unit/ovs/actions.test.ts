/**
 * Control flow of action execution (net/openvswitch/actions.c do_execute_actions(),
 * clone_execute(), ovs_execute_actions(), Linux 6.12): output and trunc, userspace, sample,
 * clone, check_pkt_len, dec_ttl, hash, meter, drop, psample, recirc, the deferred-action FIFO
 * and the recursion limit.
 */
import { OVS_DROP } from '../../../lib/ovs/actions-env';
import { ovsExecuteActions } from '../../../lib/ovs/actions';
import { SWKEY } from '../../../lib/ovs/flow-key';
import { jhash1word } from '../../../lib/ovs/flow-table';
import type { Skb } from '../../../lib/ovs/skb';
import { F, TestEnv, eth, hexOf, icmp6, ip4, ipv4, ipv6, prep, rfc1071, stored, tcp4, udp4 } from './actions-helpers';
import { be16, flag, num, st, tlvs, u16, u32, type Tlv } from './odp-build';

const out = (port: number): Tlv => ['output', u32(port)];
const sample = (prob: number, ...acts: Tlv[]): Tlv => ['sample', [['probability', u32(prob)], ['actions', acts]]];
const setPrio = (v: number): Tlv => ['set', [['priority', u32(v)]]];
const setSrc = (src: string): Tlv => ['set-masked', [['ipv4', Buffer.concat([
  st('ovs-key-ipv4', { 'ipv4-src': ip4(src).readUInt32BE(0), 'ipv4-dst': 0, 'ipv4-proto': 0, 'ipv4-tos': 0, 'ipv4-ttl': 0, 'ipv4-frag': 0 }),
  st('ovs-key-ipv4', { 'ipv4-src': 0xffffffff, 'ipv4-dst': 0, 'ipv4-proto': 0, 'ipv4-tos': 0, 'ipv4-ttl': 0, 'ipv4-frag': 0 }),
])]]];
const cpl = (len: number, le: Tlv[], gt: Tlv[]): Tlv => ['check-pkt-len', [['pkt-len', u16(len)], ['actions-if-less-equal', le], ['actions-if-greater', gt]]];
const decTtl = (...acts: Tlv[]): Tlv => ['dec-ttl', [['action', acts]]];
const U32_MAX = 0xffffffff;
/** psample is parsed strictly (nla_parse_nested): the nest needs NLA_F_NESTED. */
const psample = (group: number, cookie: Buffer): Tlv =>
  [num('action-attrs', 'psample') | 0x8000, tlvs('psample-attrs', [['group', u32(group)], ['cookie', cookie]])];

const UDP = udp4('10.0.0.1', '10.0.0.2', 1000, 2000);
const ports = (env: TestEnv): number[] => env.sent.map((s) => s.port);
const reasons = (env: TestEnv): number[] => env.drops.map((d) => d.reason);

function run(frame: Buffer, actions: Tlv[], setup?: (env: TestEnv, skb: Skb) => void): { env: TestEnv; key: Buffer; err: number } {
  const env = new TestEnv();
  const p = prep(frame);
  setup?.(env, p.skb);
  const err = env.run(p, actions);
  return { env, key: p.key, err };
}

describe('output and trunc', () => {
  it('every output but the last gets its own copy; the list ending in output drops nothing', () => {
    const { env } = run(UDP, [out(1), setSrc('10.9.9.9'), out(2)]);
    expect(ports(env)).toEqual([1, 2]);
    expect(hexOf(env.sent[0].wire)).toBe(hexOf(UDP));
    expect(hexOf(env.sent[1].wire)).toBe(hexOf(udp4('10.9.9.9', '10.0.0.2', 1000, 2000)));
    expect(env.drops).toEqual([]);
  });

  it('a list that does not end by consuming the packet drops it (LAST_ACTION)', () => {
    const { env } = run(UDP, [out(1), setPrio(1)]);
    expect(reasons(env)).toEqual([OVS_DROP.LAST_ACTION]);
  });

  it('trunc applies to the next output only', () => {
    const { env } = run(UDP, [['trunc', u32(20)], out(1), out(2)]);
    expect(env.sent[0].wire).toEqual(UDP.subarray(0, 20));
    expect(env.sent[1].wire).toEqual(UDP);
  });
});

describe('userspace', () => {
  const us = (...extra: Tlv[]): Tlv => ['userspace', [['pid', u32(42)], ...extra]];

  it('ACTION upcall with userdata, the action list and the pending trunc; the list goes on', () => {
    const env = new TestEnv();
    const p = prep(UDP);
    const acts = stored(p.key, [['trunc', u32(30)], us(['userdata', Buffer.from('cookie!!')], ['actions', flag]), out(1)]);
    ovsExecuteActions(env, p.skb, acts, p.key);
    expect(env.upcalls).toHaveLength(1);
    const { info, data } = env.upcalls[0];
    expect(info).toMatchObject({ cmd: 'action', portid: 42, cutlen: 30, mru: 0, userdata: Buffer.from('cookie!!') });
    expect(info.actions?.bytes).toEqual(acts.bytes);
    expect(data).toHaveLength(30);
    expect(env.sent[0].wire).toEqual(UDP); // the cut only applied to the upcall
  });

  it('last userspace consumes the packet (no drop); per-CPU dispatch replaces the pid', () => {
    const { env } = run(UDP, [us()], (e) => { e.upcallPortid = (): number => 99; });
    expect(env.upcalls[0].info.portid).toBe(99);
    expect(env.upcalls[0].info.actions).toBeUndefined();
    expect(env.drops).toEqual([]);
  });
});

describe('sample', () => {
  it('probability 0 never samples; a last sample then drops the packet', () => {
    const { env } = run(UDP, [out(1), sample(0, out(2))]);
    expect(ports(env)).toEqual([1]);
    expect(reasons(env)).toEqual([OVS_DROP.LAST_ACTION]);
  });

  it('probability 100 % always samples, whatever random() says', () => {
    const { env } = run(UDP, [sample(U32_MAX, out(2)), out(1)], (e) => { e.randomValue = U32_MAX; });
    expect(ports(env)).toEqual([2, 1]);
  });

  it('partial probability: sampled when random() <= probability', () => {
    const half = 0x80000000;
    expect(ports(run(UDP, [sample(half, out(2)), out(1)], (e) => { e.randomValue = half; }).env)).toEqual([2, 1]);
    expect(ports(run(UDP, [sample(half, out(2)), out(1)], (e) => { e.randomValue = half + 1; }).env)).toEqual([1]);
  });

  it('the sampled copy sees the probability (psample rate), the original gets it back', () => {
    const { env } = run(UDP, [sample(1000, psample(3, Buffer.from('abcd'))), out(1)]);
    expect(env.psamples).toEqual([{ group: 3, cookie: Buffer.from('abcd'), rate: 1000, truncSize: UDP.length, inPort: 1 }]);
    expect(env.sent[0].skb.probability).toBe(0);
  });
});

describe('psample', () => {
  it('outside a sample: rate U32_MAX, truncated size from a pending trunc; last consumes', () => {
    const { env } = run(UDP, [['trunc', u32(20)], psample(9, Buffer.from('c'))]);
    expect(env.psamples).toEqual([{ group: 9, cookie: Buffer.from('c'), rate: U32_MAX, truncSize: 20, inPort: 1 }]);
    expect(env.drops).toEqual([]);
  });
});

describe('clone', () => {
  it('changes inside a clone do not reach the packet or key after it', () => {
    const { env, key } = run(UDP, [['clone', [setSrc('10.7.7.7'), out(2)]], out(1)]);
    expect(ports(env)).toEqual([2, 1]);
    expect(hexOf(env.sent[0].wire)).toBe(hexOf(udp4('10.7.7.7', '10.0.0.2', 1000, 2000)));
    expect(hexOf(env.sent[1].wire)).toBe(hexOf(UDP));
    expect(key.readUInt32BE(SWKEY.ipv4Src.off)).toBe(ip4('10.0.0.1').readUInt32BE(0));
  });
});

describe('check_pkt_len', () => {
  const acts = (n: number): Tlv[] => [cpl(n, [out(1)], [out(2)])];
  it.each([
    ['shorter than the limit → less-equal branch', UDP.length + 1, [1]],
    ['exactly the limit → less-equal branch', UDP.length, [1]],
    ['longer → greater branch', UDP.length - 1, [2]],
  ])('%s', (_n, limit, want) => {
    expect(ports(run(UDP, acts(limit)).env)).toEqual(want);
  });

  it('with an MRU the reassembled size (mru + mac_len) is compared', () => {
    expect(ports(run(UDP, acts(1000), (_e, skb) => { skb.mru = 1400; }).env)).toEqual([2]);
  });
});

describe('dec_ttl', () => {
  it('IPv4: TTL decremented with the header checksum', () => {
    const { env, key } = run(tcp4('10.0.0.1', '10.0.0.2', 1, 2, F.ACK, { ttl: 64 }), [decTtl(out(9)), out(1)]);
    expect(hexOf(env.sent[0].wire)).toBe(hexOf(tcp4('10.0.0.1', '10.0.0.2', 1, 2, F.ACK, { ttl: 63 })));
    expect(rfc1071(env.sent[0].wire.subarray(14, 34))).toBe(0);
    expect(key[SWKEY.ipTtl.off]).toBe(63);
  });

  it('IPv6: hop limit decremented', () => {
    const a = { src: 'fd00::1', dst: 'fd00::2' };
    const mk = (hlim: number): Buffer => Buffer.concat([eth(0x86dd), ipv6({ ...a, nh: 58, hlim }, icmp6(a, 128, 0, Buffer.from('00010001', 'hex')))]);
    expect(hexOf(run(mk(5), [decTtl(), out(1)]).env.sent[0].wire)).toBe(hexOf(mk(4)));
  });

  it('TTL 1: the le_1 actions run instead of the rest of the list', () => {
    const { env } = run(udp4('10.0.0.1', '10.0.0.2', 1, 2, { ttl: 1 }), [decTtl(out(9)), out(1)]);
    expect(ports(env)).toEqual([9]);
    expect(env.sent[0].wire[14 + 8]).toBe(1);
  });

  it('TTL 1 without le_1 actions: dropped with IP_TTL', () => {
    const { env } = run(udp4('10.0.0.1', '10.0.0.2', 1, 2, { ttl: 1 }), [decTtl(), out(1)]);
    expect(ports(env)).toEqual([]);
    expect(reasons(env)).toEqual([OVS_DROP.IP_TTL]);
  });
});

describe('hash, meter, drop, ct_clear', () => {
  it('hash(l4, basis) stores jhash_1word(skb hash, basis) in dp_hash; 0 becomes 1', () => {
    const { key } = run(UDP, [['hash', st('ovs-action-hash', { 'hash-alg': 0, 'hash-basis': 77 })], out(1)],
      (e) => { e.skbHash = { get: () => 0x12345678, symmetric: () => 0 }; });
    expect(key.readUInt32LE(SWKEY.dpHash.off)).toBe(jhash1word(0x12345678, 77));
    const sym = run(UDP, [['hash', st('ovs-action-hash', { 'hash-alg': 1, 'hash-basis': 0 })], out(1)],
      (e) => { e.skbHash = { get: () => 1, symmetric: () => 0xabc }; });
    expect(sym.key.readUInt32LE(SWKEY.dpHash.off)).toBe(jhash1word(0xabc, 0) || 1);
  });

  it('hash with the real skb hash is symmetric for sym-l4', () => {
    const h = (f: Buffer): number => run(f, [['hash', st('ovs-action-hash', { 'hash-alg': 1, 'hash-basis': 5 })], out(1)]).key.readUInt32LE(SWKEY.dpHash.off);
    expect(h(udp4('10.0.0.1', '10.0.0.2', 1000, 2000))).toBe(h(udp4('10.0.0.2', '10.0.0.1', 2000, 1000)));
  });

  it('meter: a dropping meter ends the list (METER), a passing one does not', () => {
    const dropped = run(UDP, [['meter', u32(4)], out(1)], (e) => e.dropMeters.add(4));
    expect(ports(dropped.env)).toEqual([]);
    expect(reasons(dropped.env)).toEqual([OVS_DROP.METER]);
    expect(ports(run(UDP, [['meter', u32(5)], out(1)]).env)).toEqual([1]);
  });

  it('drop(0) is EXPLICIT, drop(error) EXPLICIT_WITH_ERROR', () => {
    expect(reasons(run(UDP, [out(1), ['drop', u32(0)]]).env)).toEqual([OVS_DROP.EXPLICIT]);
    expect(reasons(run(UDP, [['drop', u32(3)]]).env)).toEqual([OVS_DROP.EXPLICIT_WITH_ERROR]);
  });

  it('ct_clear zeroes the key conntrack fields', () => {
    const { key } = run(UDP, [['ct-clear', flag], out(1)], (_e, skb) => { void skb; });
    expect(key.subarray(SWKEY.ctState.off, SWKEY.ctState.off + 2)).toEqual(Buffer.alloc(2));
    expect(key.readUInt32LE(SWKEY.ctMark.off)).toBe(0);
  });
});

describe('recirc, deferral and limits', () => {
  it('recirc(id) hands the packet on with the id in the key; not last, the list goes on', () => {
    const { env } = run(UDP, [['recirc', u32(5)], out(1)]);
    expect(env.recircs.map((r) => r.key.readUInt32LE(SWKEY.recircId.off))).toEqual([5]);
    expect(ports(env)).toEqual([1]);
  });

  it('a recirculation loop fills the 9-entry FIFO and is then dropped (DEFERRED_LIMIT)', () => {
    const env = new TestEnv();
    const p = prep(UDP);
    const loop = stored(p.key, [['recirc', u32(1)]]);
    env.onRecirc = (skb, key): void => { ovsExecuteActions(env, skb, loop, key); };
    ovsExecuteActions(env, p.skb, loop, p.key);
    // Levels 1-3 recirculate at once, level 4 defers; each of the 9 deferred runs levels 2-4.
    expect(env.recircs).toHaveLength(3 + 9 * 3);
    expect(reasons(env)).toEqual([OVS_DROP.DEFERRED_LIMIT]);
    expect(env.logs.some((l) => l.includes('deferred action limit reached, drop recirc action (recirc_id=0x1)'))).toBe(true);
    expect(env.state.level).toBe(0);
    expect(env.state.empty).toBe(true);
  });

  it('samples nested beyond the threshold are deferred until the top level finishes', () => {
    const s4 = sample(U32_MAX, setPrio(5), out(5));
    const s3 = sample(U32_MAX, s4, out(4));
    const s2 = sample(U32_MAX, s3, out(3));
    const { env } = run(UDP, [sample(U32_MAX, s2, out(2)), out(1)]);
    expect(ports(env)).toEqual([4, 3, 2, 1, 5]);
    expect(env.sent[4].skb.priority).toBe(5);
  });

  it('more than OVS_RECURSION_LIMIT nested executions: RECURSION_LIMIT drop, -ENETDOWN', () => {
    const env = new TestEnv();
    const p = prep(UDP);
    const acts = stored(p.key, [out(1)]);
    const results: number[] = [];
    env.output = (_port, skb): void => { results.push(ovsExecuteActions(env, skb, acts, Buffer.from(p.key))); };
    results.push(ovsExecuteActions(env, p.skb, acts, p.key));
    expect(reasons(env)).toEqual([OVS_DROP.RECURSION_LIMIT]);
    expect(results[0]).toBe(-100);
    expect(results.slice(1)).toEqual([0, 0, 0, 0, 0]);
    expect(env.logs[0]).toMatch(/recursion limit reached/);
  });
});

/** Make sure the frame builders agree with the checksum routine (sanity of the test oracle). */
describe('test oracle', () => {
  it('IPv4 header checksum of a built frame verifies', () => {
    const ip = ipv4({ src: '1.2.3.4', dst: '5.6.7.8', proto: 17 }, be16(0));
    expect(rfc1071(ip.subarray(0, 20))).toBe(0);
  });
});
