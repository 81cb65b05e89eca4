/**
 * The stored (converted) action form, the feature probes ovs-vswitchd sends (protocol.md §4.2),
 * nesting limits and logging. Stored bytes follow net/openvswitch/flow_netlink.c (Linux 6.12):
 * validate_set() → OVS_ACTION_ATTR_SET_TO_MASKED, validate_and_copy_sample() → sample_arg,
 * validate_and_copy_clone() → OVS_CLONE_ATTR_EXEC, validate_and_copy_check_pkt_len() →
 * check_pkt_len_arg, ovs_ct_copy_action() and validate_and_copy_set_tun() → out-of-line structs.
 */
import { Errno } from '../../../lib/nl/errno';
import { NlError } from '../../../lib/nl/errors';
import { NlWriter } from '../../../lib/nl/writer';
import type { CtActionInfo } from '../../../lib/ovs/conntrack-action';
import { actionKeyView, actionKeyViewOf, MAC_PROTO, type ActionKeyView } from '../../../lib/ovs/flow-action-key';
import { actionSchema } from '../../../lib/ovs/flow-actions-schema';
import { maskKey, newSwFlowKey } from '../../../lib/ovs/flow-key';
import { ovsNlaGetMatch } from '../../../lib/ovs/flow-netlink-key';
import { ovsNlaCopyActions, ovsNlaCopyActionsForKey, ovsNlaPutActions, putActionList, type FlowActions } from '../../../lib/ovs/flow-netlink-actions';
import type { TunnelSetInfo } from '../../../lib/ovs/flow-netlink-tunnel-set';
import { NLA_F_NESTED } from '../../../lib/nl/constants';
import type { Attr } from '../../../lib/schema/validate';
import { attrs, be16, be32, eth, ethType, hex, inPort, ip4, ipv4, nla, nest, tcp, tcpFlags, u16, u32, udp } from './key-builder';

const S = actionSchema();
const A = (n: string): number => S.num(S.actions, n);
const KEYT = (n: string): number => S.num(S.keys, n);
const flagged = (type: number, ...kids: Buffer[]): Buffer => nest(type | NLA_F_NESTED, ...kids);

/** The view of a key as the key parser builds it (exact match), like the flow handlers do. */
function viewOf(key: Buffer): ActionKeyView {
  const m = ovsNlaGetMatch(key, undefined, { log: () => undefined });
  return actionKeyViewOf(maskKey(newSwFlowKey(), m.key, m.mask!.key, m.mask!.range, true));
}
const TCP4 = viewOf(attrs(inPort(1), eth(), ethType(0x0800), ipv4(), tcp(), tcpFlags()));
const UDP4 = viewOf(attrs(inPort(1), eth(), ethType(0x0800), ipv4({ 'ipv4-dst': 0x7fffffff, 'ipv4-proto': 17 }), udp()));
/** The key of a zeroed `struct flow`, as check_support() probes send it (no EtherType attribute). */
const ZERO = viewOf(attrs(nla(KEYT('priority'), u32(0)), inPort(0), nla(KEYT('skb-mark'), u32(0)), eth('00:00:00:00:00:00', '00:00:00:00:00:00')));

const listAttr = (...acts: Buffer[]): Attr => {
  const payload = Buffer.concat(acts);
  return { type: 2, rawType: 2, offset: 0, payload };
};
const copy = (key: ActionKeyView, ...acts: Buffer[]): FlowActions => ovsNlaCopyActions(listAttr(...acts), key, { log: false });
const errnoOf = (fn: () => unknown): number => {
  try {
    fn();
    return 0;
  } catch (e) {
    if (e instanceof NlError) return e.errno;
    throw e;
  }
};
const put = (acts: FlowActions): string => {
  const w = new NlWriter();
  putActionList(w, acts);
  return w.finish().toString('hex');
};
const output = (p: number): Buffer => nla(A('output'), u32(p));
const sample = (prob: number, ...acts: Buffer[]): Buffer =>
  nest(A('sample'), nla(S.num(S.sample, 'probability'), u32(prob)), nest(S.num(S.sample, 'actions'), ...acts));
const setPriority = (v: number): Buffer => nest(A('set'), nla(KEYT('priority'), u32(v)));

describe('stored form (sw_flow_actions)', () => {
  const cases: [name: string, key: ActionKeyView, acts: Buffer[], stored: string][] = [
    ['set(priority) → set_to_masked with an all-ones mask', TCP4, [setPriority(5)],
      '10001b00 0c000200 05000000 ffffffff'],
    ['set(ipv6) → set_to_masked; the label mask keeps 20 bits', viewOf(attrs(eth(), ethType(0x86dd),
      nla(KEYT('ipv6'), Buffer.concat([Buffer.alloc(32), be32(0xabcde), Buffer.of(17, 0, 64, 0)])), udp())),
    [nest(A('set'), nla(KEYT('ipv6'), Buffer.concat([Buffer.alloc(32), be32(0xabcde), Buffer.of(17, 0, 64, 0)])))],
    '58001b00 54000800' + '00'.repeat(32) + '000abcde 11004000' + 'ff'.repeat(32) + '000fffff ffffffff'],
    ['set_masked is kept as received, NLA flags included', TCP4, [nest(A('set-masked') | NLA_F_NESTED, nla(KEYT('skb-mark'), Buffer.concat([u32(1), u32(3)])))],
      '10000b80 0c000f00 01000000 03000000'],
    ['output keeps its raw type word', TCP4, [nla(A('output') | 0x4000, u32(1))], '08000140 01000000'],
    ['last sample: exec = 1 (sample_arg {exec, probability})', TCP4, [output(1), sample(9, setPriority(1))],
      '08000100 01000000 20000600 0c000400 01000000 09000000 10001b00 0c000200 01000000 ffffffff'],
    ['sample that changes the flow, not last: exec = 0', TCP4, [sample(9, setPriority(1)), output(1)],
      '20000600 0c000400 00000000 09000000 10001b00 0c000200 01000000 ffffffff 08000100 01000000'],
    ['sample of outputs only, not last: exec = 1', TCP4, [sample(9, output(2)), output(1)],
      '18000600 0c000400 01000000 09000000 08000100 02000000 08000100 01000000'],
    ['clone: OVS_CLONE_ATTR_EXEC first', TCP4, [nest(A('clone'), setPriority(1)), output(1)],
      '1c001400 08000100 00000000 10001b00 0c000200 01000000 ffffffff 08000100 01000000'],
    ['check_pkt_len: check_pkt_len_arg, then less-equal, then greater', TCP4,
      [nest(A('check-pkt-len'), nla(S.num(S.cpl, 'pkt-len'), u16(100)), nest(S.num(S.cpl, 'actions-if-greater'), setPriority(1)),
        nest(S.num(S.cpl, 'actions-if-less-equal'), output(2))), output(1)],
    '2c001500 08000500 64000001 0c000300 08000100 02000000 14000200 10001b00 0c000200 01000000 ffffffff 08000100 01000000'],
    ['dec_ttl: the action nest, unknown attributes dropped', TCP4, [nest(A('dec-ttl'), nla(7, u32(1)), nest(S.num(S.decTtl, 'action'), output(3)))],
      '10001700 0c000100 08000100 03000000'],
    ['ct: the parsed info out of line', TCP4, [nest(A('ct'), nla(S.num(S.ct, 'commit')))], '08000c00 00000000'],
    ['set(tunnel): set(tunnel_info) out of line', TCP4,
      [nest(A('set'), nest(KEYT('tunnel'), nla(S.num(S.tunnel, 'ipv4-dst'), ip4('2.2.2.2')), nla(S.num(S.tunnel, 'ttl'), Buffer.of(5))))],
      '0c000300 08001f00 00000000'],
  ];
  it.each(cases)('%s', (_n, key, acts, stored) => {
    expect(copy(key, ...acts).bytes.toString('hex')).toBe(stored.replace(/\s+/g, ''));
  });

  it('ct keeps the parsed ovs_conntrack_info', () => {
    const acts = copy(TCP4, nest(A('ct'), nla(S.num(S.ct, 'zone'), u16(7)), nla(S.num(S.ct, 'force-commit')),
      nest(S.num(S.ct, 'nat'), nla(S.num(S.nat, 'src')), nla(S.num(S.nat, 'ip-min'), ip4('10.0.0.9')))));
    const info = acts.objs?.[0] as CtActionInfo;
    expect(info).toMatchObject({ kind: 'ct', family: 2, commit: true, force: true, zone: 7, nat: 3, timeout: '' });
    expect(info.range.minAddr.subarray(0, 4).toString('hex')).toBe('0a000009');
    expect(info.range.maxAddr.subarray(0, 4).toString('hex')).toBe('0a000009');
  });

  it('set(tunnel) keeps the tunnel metadata (bridge mode when there is no destination)', () => {
    const acts = copy(TCP4, nest(A('set'), nest(KEYT('tunnel'), nla(S.num(S.tunnel, 'id'), hex('0000000000000007')),
      nla(S.num(S.tunnel, 'ipv4-info-bridge')))));
    expect(acts.objs?.[0]).toMatchObject<Partial<TunnelSetInfo>>({ kind: 'tunnel', bridge: true, proto: 2 });
  });

  it('origLen is the request list length; lists without ct or tunnel keep no objects', () => {
    const acts = copy(TCP4, output(1), setPriority(3));
    expect(acts.origLen).toBe(8 + 12);
    expect(acts.objs).toBeUndefined();
  });

  it('ovsNlaCopyActionsForKey reads the view from a masked sw_flow_key (FlowCodec.copyActions)', () => {
    const m = ovsNlaGetMatch(attrs(eth(), ethType(0x0800), ipv4({ 'ipv4-proto': 17 }), udp()), undefined, { log: () => undefined });
    const masked = maskKey(newSwFlowKey(), m.key, m.mask!.key, m.mask!.range, true);
    const setUdp = nest(A('set'), nla(KEYT('udp'), Buffer.concat([be16(1), be16(2)])));
    expect(errnoOf(() => ovsNlaCopyActionsForKey(listAttr(setUdp), masked, false))).toBe(0);
    expect(errnoOf(() => ovsNlaCopyActionsForKey(listAttr(nest(A('set'), nla(KEYT('tcp'), Buffer.alloc(4)))), masked, false))).toBe(Errno.EINVAL);
  });

  it('ovsNlaPutActions nests by name (flow-attrs actions) or number', () => {
    const acts = copy(TCP4, output(1));
    const w1 = new NlWriter();
    ovsNlaPutActions(w1, 'actions', acts);
    const w2 = new NlWriter();
    ovsNlaPutActions(w2, S.fam.set('flow-attrs').byName.get('actions')!.type, acts);
    expect(w1.finish().toString('hex')).toBe('0c0002000800010001000000');
    expect(w2.finish().toString('hex')).toBe(w1.finish().toString('hex'));
  });
});

describe('feature probes of ovs-vswitchd (ofproto-dpif.c check_*) are accepted', () => {
  const probes: [name: string, key: ActionKeyView, acts: Buffer[], echo: string][] = [
    ['check_masked_set_action: set_masked(eth 0x53/0x7f)', TCP4,
      [nest(A('set-masked'), nla(KEYT('ethernet'), Buffer.concat([Buffer.alloc(12, 0x53), Buffer.alloc(12, 0x7f)])))],
      '20000b00 1c000400' + '53'.repeat(12) + '7f'.repeat(12)],
    ['check_trunc_action: trunc(15), output(1)', TCP4, [nla(A('trunc'), u32(15)), output(1)], '08000d00 0f000000 08000100 01000000'],
    ['check_clone: empty clone', TCP4, [nest(A('clone'))], '04001400'],
    ['check_ct_eventmask: ct(eventmask=~0)', UDP4, [nest(A('ct'), nla(S.num(S.ct, 'eventmask'), u32(0xffffffff)))],
      '14000c00 06000200 00000000 08000800 ffffffff'],
    ['check_ct_timeout_policy: ct(timeout=ovs_test_tp)', UDP4, [nest(A('ct'), nla(S.num(S.ct, 'timeout'), Buffer.from('ovs_test_tp\0')))],
      '1c000c00 06000200 00000000 10000900' + Buffer.from('ovs_test_tp\0').toString('hex')],
    ['check_ct_clear: ct_clear', ZERO, [nla(A('ct-clear'))], '04001000'],
    ['check_check_pkt_len: pkt_len 100, empty branches', ZERO,
      [nest(A('check-pkt-len'), nla(S.num(S.cpl, 'pkt-len'), u16(100)), nla(S.num(S.cpl, 'actions-if-greater')), nla(S.num(S.cpl, 'actions-if-less-equal')))],
      '14001500 06000100 64000000 04000300 04000200'],
    ['check_max_dp_hash_alg: hash(l4)', ZERO, [nla(A('hash'), Buffer.concat([u32(0), u32(0)]))], '0c000800 00000000 00000000'],
    ['check_max_dp_hash_alg: hash(sym_l4)', ZERO, [nla(A('hash'), Buffer.concat([u32(1), u32(0)]))], '0c000800 01000000 00000000'],
    ['check_add_mpls: add_mpls(0x8847)', ZERO, [nla(A('add-mpls'), Buffer.concat([u32(0), be16(0x8847), u16(0)]))], '0c001600 00000000 88470000'],
    ['check_drop_action: drop(0)', ZERO, [nla(A('drop'), u32(0))], '08001800 00000000'],
    ['check_psample: psample(group=10, cookie)', ZERO,
      [flagged(A('psample'), nla(S.num(S.psample, 'group'), u32(10)), nla(S.num(S.psample, 'cookie'), hex('0102030405060708')))],
      '18001900 08000100 0a000000 0c000200 01020304 05060708'],
  ];
  it.each(probes)('%s', (_n, key, acts, echo) => {
    expect(put(copy(key, ...acts))).toBe(echo.replace(/\s+/g, ''));
  });

  it('check_max_dp_hash_alg: the first refused algorithm is 2 (EINVAL)', () => {
    expect(errnoOf(() => copy(ZERO, nla(A('hash'), Buffer.concat([u32(2), u32(0)]))))).toBe(Errno.EINVAL);
  });

  it('the zeroed-flow probe key: Ethernet, and its 802.2 EtherType is masked out (no ETHERTYPE in the exact mask)', () => {
    expect(ZERO).toMatchObject({ ethType: 0, macProto: MAC_PROTO.ETHERNET });
  });
});

describe('nesting depth (OVS_COPY_ACTIONS_MAX_DEPTH 16)', () => {
  const nested = (n: number, wrap: (inner: Buffer) => Buffer): Buffer => (n ? wrap(nested(n - 1, wrap)) : Buffer.alloc(0));
  const samples = (inner: Buffer): Buffer => sample(0xffffffff, inner);
  const decTtl = (inner: Buffer): Buffer => nest(A('dec-ttl'), nest(S.num(S.decTtl, 'action'), inner));
  const cpl = (inner: Buffer): Buffer => nest(A('check-pkt-len'), nla(S.num(S.cpl, 'pkt-len'), u16(1)),
    nest(S.num(S.cpl, 'actions-if-greater'), inner), nest(S.num(S.cpl, 'actions-if-less-equal')));
  it.each([
    ['check_max_sample_nesting: 10 nested samples → accepted', nested(10, samples), 0],
    ['16 nested samples → accepted', nested(16, samples), 0],
    ['17 nested samples → EOVERFLOW', nested(17, samples), Errno.EOVERFLOW],
    ['16 nested dec_ttl → accepted', nested(16, decTtl), 0],
    ['17 nested dec_ttl → EOVERFLOW', nested(17, decTtl), Errno.EOVERFLOW],
    ['17 nested check_pkt_len → EOVERFLOW', nested(17, cpl), Errno.EOVERFLOW],
  ] as const)('%s', (_n, acts, errno) => {
    expect(errnoOf(() => copy(TCP4, acts))).toBe(errno);
  });
});

describe('list state', () => {
  it('mac_proto restarts from the key in a nested list; eth_type and vlan are inherited', () => {
    const l3 = actionKeyView({ ethType: 0x0800, ipProto: 17, macProto: MAC_PROTO.NONE });
    const pushEth = nla(A('push-eth'), Buffer.alloc(12));
    const setEth = nest(A('set'), nla(KEYT('ethernet'), Buffer.alloc(12)));
    expect(errnoOf(() => copy(l3, pushEth, setEth))).toBe(0);
    expect(errnoOf(() => copy(l3, pushEth, nest(A('clone'), setEth)))).toBe(Errno.EINVAL);
    const pushVlan = nla(A('push-vlan'), Buffer.concat([be16(0x8100), be16(0x1001)]));
    const pushMpls = nla(A('push-mpls'), Buffer.concat([be32(0), be16(0x8847), Buffer.alloc(2)]));
    expect(errnoOf(() => copy(TCP4, pushVlan, nest(A('clone'), pushMpls)))).toBe(Errno.EINVAL);
  });

  it('pop_mpls below zero labels wraps the u32 count (a wildcarded label stack)', () => {
    const mpls = actionKeyView({ ethType: 0x8847, mplsNumLabelsMask: 0 });
    const pop = (t: number): Buffer => nla(A('pop-mpls'), be16(t));
    expect(errnoOf(() => copy(mpls, pop(0x8847), pop(0x0800)))).toBe(0);
  });
});

describe('conntrack helpers (Debian 6.12 modules)', () => {
  const TCP6 = actionKeyView({ ethType: 0x86dd, ipProto: 6 });
  const helper = (name: string, ...more: Buffer[]): Buffer =>
    nest(A('ct'), nla(S.num(S.ct, 'helper'), Buffer.from(`${name}\0`)), ...more);
  const nat = nest(S.num(S.ct, 'nat'));
  it.each([
    // nf_conntrack_amanda did not load in the oracle's guest; a Debian host autoloads it.
    ['amanda on UDP/IPv4 → accepted', UDP4, helper('amanda'), 0],
    ['amanda with nat → accepted (nf_nat_amanda)', UDP4, helper('amanda', nat), 0],
    ['amanda on TCP → EINVAL', TCP4, helper('amanda'), Errno.EINVAL],
    ['ftp on TCP/IPv6 → accepted', TCP6, helper('ftp'), 0],
    ['pptp with nat → ENOENT (no NAT helper registered)', TCP4, helper('pptp', nat), Errno.ENOENT],
  ] as const)('%s', (_n, key, act, errno) => {
    expect(errnoOf(() => copy(key, act))).toBe(errno);
  });
});

describe('logging (OVS_NLERR)', () => {
  const run = (log: boolean | ((m: string) => void), ...acts: Buffer[]): number =>
    errnoOf(() => ovsNlaCopyActions(listAttr(...acts), actionKeyView({ ethType: 0x0806 }), { log }));
  it('a sink receives the kernel messages; log false is silent', () => {
    const lines: string[] = [];
    expect(run((m) => lines.push(m), nest(A('ct')))).toBe(Errno.EINVAL);
    expect(run((m) => lines.push(m), nla(A('push-mpls') + 100, u32(0)))).toBe(Errno.EINVAL);
    expect(lines).toEqual(['ct family unspecified']);
    expect(run(false, nest(A('ct')))).toBe(Errno.EINVAL);
    expect(run(true, nest(A('ct')))).toBe(Errno.EINVAL);
  });
  it('an unknown action type within the max is logged as such', () => {
    const lines: string[] = [];
    expect(run((m) => lines.push(m), nla(0))).toBe(Errno.EINVAL);
    expect(lines).toEqual(['Unknown Action type 0']);
  });
});
