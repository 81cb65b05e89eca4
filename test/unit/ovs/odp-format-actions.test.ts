/**
 * formatActions, one case per action kind. Actions are built by schema name; expected strings
 * follow OVS 3.1 lib/odp-util.c format_odp_action() and its helpers (named in the titles). The
 * kernel's dec_ttl / drop / psample carry numbers that OVS 3.1 gives to TUNNEL_PUSH / TUNNEL_POP /
 * DROP, so 3.1 prints them as those ('ovs-3.1'); 'ovs-3.4' prints them as OVS ≥ 3.4 does.
 */
import { formatActions, type OdpFormatOptions } from '../../../lib/ovs/odp-format';
import {
  acts, be16, be64, cstr, flag, hex, ip4, ip6, ipn, mac, num, ones, st, u16, u32, u8, zeros, type Tlv,
} from './odp-build';

interface Case {
  name: string;
  acts: Tlv[];
  opts?: OdpFormatOptions;
  want: string;
}

const V34: OdpFormatOptions = { dialect: 'ovs-3.4' };
const lse = (label: number, tc: number, ttl: number, bos: number): number => ((label << 12) | (tc << 9) | (bos << 8) | ttl) >>> 0;
const ipv4 = (src: string, dst: string, proto: number, tos: number, ttl: number, frag: number): Buffer =>
  st('ovs-key-ipv4', { 'ipv4-src': ipn(src), 'ipv4-dst': ipn(dst), 'ipv4-proto': proto, 'ipv4-tos': tos, 'ipv4-ttl': ttl, 'ipv4-frag': frag });
const nshBase = st('ovs-nsh-key-base', { ttl: 63, mdtype: 1, np: 3, 'path-hdr': 0x1ff });
const CTX = hex('00000001 00000002 00000003 00000004');
/** A 48-byte struct user_action_cookie (OVS odp-util.h): type, then the union at offset 24. */
function cookie(type: number, fill: (b: Buffer) => void): Buffer {
  const b = zeros(48);
  b.writeUInt16LE(type, 0);
  fill(b);
  return b;
}
const PSAMPLE = num('action-attrs', 'psample');

const CASES: Case[] = [
  { name: 'output (odp_portno_name_format)', acts: [['output', u32(2)]], want: '2' },
  { name: 'output by name', acts: [['output', u32(2)]], opts: { portNames: new Map([[2, 'v2']]) }, want: 'v2' },
  { name: 'port list', acts: [['output', u32(1)], ['output', u32(2)]], want: '1,2' },
  // ---- userspace: format_odp_userspace_action
  { name: 'userspace', acts: [['userspace', [['pid', u32(1234)]]]], want: 'userspace(pid=1234)' },
  { name: 'userspace with userdata', acts: [['userspace', [['pid', u32(4321)], ['userdata', hex('01020304')]]]], want: 'userspace(pid=4321,userdata(01020304))' },
  { name: 'userspace with actions and tunnel_out_port', acts: [['userspace', [['pid', u32(1)], ['egress-tun-port', u32(3)], ['actions', flag]]]],
    want: 'userspace(pid=1,actions,tunnel_out_port=3)' },
  { name: 'userspace without pid', acts: [['userspace', [['userdata', hex('01')]]]], want: 'userspace(error)' },
  { name: 'userspace slow_path cookie', acts: [['userspace', [['pid', u32(1)], ['userdata', cookie(2, (b) => b.writeUInt32LE(0x21, 28))]]]],
    want: 'userspace(pid=1,slow_path(cfm,action))' },
  { name: 'userspace sFlow cookie', acts: [['userspace', [['pid', u32(1)], ['userdata', cookie(1, (b) => { b.writeUInt16BE(0x6005, 24); b.writeUInt32LE(0x40000002, 28); })]]]],
    want: 'userspace(pid=1,sFlow(vid=5,pcp=3,output=1073741826))' },
  { name: 'userspace flow_sample cookie', opts: { portNames: new Map([[2, 'v2']]) },
    acts: [['userspace', [['pid', u32(1)], ['userdata', cookie(3, (b) => { b.writeUInt16LE(100, 24); [1, 2, 3, 2, 1].forEach((v, i) => b.writeUInt32LE(v, 28 + 4 * i)); })]]]],
    want: 'userspace(pid=1,flow_sample(probability=100,collector_set_id=1,obs_domain_id=2,obs_point_id=3,output_port=v2,ingress))' },
  { name: 'userspace ipfix cookie', acts: [['userspace', [['pid', u32(1)], ['userdata', cookie(4, (b) => b.writeUInt32LE(3, 24))]]]],
    want: 'userspace(pid=1,ipfix(output_port=3))' },
  { name: 'userspace controller cookie', acts: [['userspace', [['pid', u32(1)], ['userdata', cookie(5, (b) => {
    b[24] = 1; b.writeUInt16LE(1, 26); b.writeUInt32LE(7, 28); b.writeBigUInt64BE(0x1234n, 32); b.writeUInt16LE(65535, 42);
  })]]]], want: 'userspace(pid=1,controller(reason=1,dont_send=1,continuation=0,recirc_id=7,rule_cookie=0x1234,controller_id=0,max_len=65535))' },
  { name: 'userspace 48-byte userdata of an unknown cookie type', acts: [['userspace', [['pid', u32(1)], ['userdata', cookie(9, () => undefined)]]]],
    want: `userspace(pid=1,userdata(0900${'00'.repeat(46)}))` },
  // ---- set / set_masked
  { name: 'set ipv4 (format_odp_key_attr, verbose)', acts: [['set', [['ipv4', ipv4('10.0.0.1', '10.0.0.2', 6, 0, 64, 0)]]]],
    want: 'set(ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0,ttl=64,frag=no))' },
  { name: 'set tunnel', acts: [['set', [['tunnel', [['id', be64(9n)], ['ipv4-dst', ip4('192.168.1.1')], ['ttl', u8(64)]]]]]],
    want: 'set(tunnel(tun_id=0x9,dst=192.168.1.1,ttl=64,flags(key)))' },
  { name: 'set_masked ipv4: masked fields only', want: 'set(ipv4(dst=10.0.0.9))',
    acts: [['set-masked', [['ipv4', Buffer.concat([ipv4('0.0.0.0', '10.0.0.9', 0, 0, 0, 0), ipv4('0.0.0.0', '255.255.255.255', 0, 0, 0, 0)])]]]] },
  { name: 'set_masked eth with a partial mask', want: 'set(eth(src=00:00:00:00:00:0c/ff:ff:ff:ff:ff:00))',
    acts: [['set-masked', [['ethernet', Buffer.concat([mac('00:00:00:00:00:0c'), zeros(6), mac('ff:ff:ff:ff:ff:00'), zeros(6)])]]]] },
  { name: 'set_masked nsh (format_odp_set_nsh)', want: 'set(nsh(mdtype=1,np=3,spi=0x1,si=255,c2=0x2))',
    acts: [['set-masked', [['nsh', [['base', Buffer.concat([nshBase, st('ovs-nsh-key-base', { mdtype: 0xff, np: 0xff, 'path-hdr': 0xffffffff })])],
      ['md1', Buffer.concat([CTX, hex('00000000 ffffffff 00000000 00000000')])]]]]]] },
  { name: 'set_masked nsh with md2 prints nothing at all', acts: [['set-masked', [['nsh', [['md2', zeros(8)]]]]], ['output', u32(1)]], want: ',1' },
  // ---- vlan, mpls, eth
  { name: 'push_vlan (format_vlan_tci)', acts: [['push-vlan', st('ovs-action-push-vlan', { 'vlan-tpid': 0x8100, 'vlan-tci': 0x3005 })]], want: 'push_vlan(vid=5,pcp=1)' },
  { name: 'push_vlan 802.1ad without CFI', acts: [['push-vlan', st('ovs-action-push-vlan', { 'vlan-tpid': 0x88a8, 'vlan-tci': 0x0005 })]],
    want: 'push_vlan(tpid=0x88a8,vid=5,pcp=0,cfi=0)' },
  { name: 'pop_vlan', acts: [['pop-vlan', flag], ['pop-vlan', flag], ['output', u32(1)]], want: 'pop_vlan,pop_vlan,1' },
  { name: 'push_mpls (format_mpls_lse)', acts: [['push-mpls', st('ovs-action-push-mpls', { 'mpls-lse': lse(100, 3, 64, 1), 'mpls-ethertype': 0x8847 })]],
    want: 'push_mpls(label=100,tc=3,ttl=64,bos=1,eth_type=0x8847)' },
  { name: 'pop_mpls', acts: [['pop-mpls', be16(0x0800)]], want: 'pop_mpls(eth_type=0x800)' },
  { name: 'add_mpls', acts: [['add-mpls', st('ovs-action-add-mpls', { 'mpls-lse': lse(300, 0, 64, 1), 'mpls-ethertype': 0x8847 })]],
    want: 'add_mpls(label=300,tc=0,ttl=64,bos=1,eth_type=0x8847)' },
  { name: 'push_eth, pop_eth', acts: [['push-eth', st('ovs-action-push-eth', { 'eth-src': mac('00:00:00:00:00:01'), 'eth-dst': mac('00:00:00:00:00:02') })], ['pop-eth', flag]],
    want: 'push_eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),pop_eth' },
  // ---- nested lists
  { name: 'sample (format_odp_sample_action, %.1f)', acts: [['sample', [['probability', u32(0x7fffffff)], ['actions', [['output', u32(1)]]]]], ['output', u32(2)]],
    want: 'sample(sample=50.0%,actions(1)),2' },
  { name: 'sample with no actions', acts: [['sample', [['probability', u32(0)], ['actions', []]]]], want: 'sample(sample=0.0%,actions(drop))' },
  { name: 'sample without probability', acts: [['sample', [['actions', []]]]], want: 'sample(error)' },
  { name: 'clone', acts: [['clone', [['push-vlan', st('ovs-action-push-vlan', { 'vlan-tpid': 0x8100, 'vlan-tci': 0x3005 })], ['output', u32(2)]]], ['output', u32(3)]],
    want: 'clone(push_vlan(vid=5,pcp=1),2),3' },
  { name: 'check_pkt_len', acts: [['check-pkt-len', [['pkt-len', u16(200)], ['actions-if-greater', [['output', u32(2)]]], ['actions-if-less-equal', [['output', u32(1)]]]]]],
    want: 'check_pkt_len(size=200,gt(2),le(1))' },
  { name: 'check_pkt_len missing a branch', acts: [['check-pkt-len', [['pkt-len', u16(200)], ['actions-if-greater', []]]]], want: 'check_pkt_len(error)' },
  // ---- scalars
  { name: 'recirc (%#x)', acts: [['recirc', u32(7)], ['recirc', u32(0)]], want: 'recirc(0x7),recirc(0)' },
  { name: 'hash l4 and sym_l4', acts: [['hash', st('ovs-action-hash', { 'hash-alg': 0, 'hash-basis': 0 })], ['hash', st('ovs-action-hash', { 'hash-alg': 1, 'hash-basis': 5 })]],
    want: 'hash(l4(0)),hash(sym_l4(5))' },
  { name: 'hash unknown algorithm', acts: [['hash', st('ovs-action-hash', { 'hash-alg': 7 })]], want: 'hash(Unknown hash algorithm(7))' },
  { name: 'trunc, meter, ct_clear, pop_nsh', acts: [['trunc', u32(100)], ['meter', u32(0)], ['ct-clear', flag], ['pop-nsh', flag]],
    want: 'trunc(100),meter(0),ct_clear,pop_nsh()' },
  { name: 'push_nsh md1', acts: [['push-nsh', [['nsh', [['base', nshBase], ['md1', CTX]]]]]],
    want: 'push_nsh(flags=0,ttl=63,mdtype=1,np=3,spi=0x1,si=255,c1=0x1,c2=0x2,c3=0x3,c4=0x4)' },
  { name: 'push_nsh md2', acts: [['push-nsh', [['nsh', [['base', st('ovs-nsh-key-base', { flags: 2, ttl: 10, mdtype: 2, np: 1, 'path-hdr': 0x100 })], ['md2', hex('0001000200000003')]]]]]],
    want: 'push_nsh(flags=2,ttl=10,mdtype=2,np=1,spi=0x1,si=0,md2=0x1000200000003)' },
  // ---- ct: format_odp_conntrack_action, format_odp_ct_nat
  { name: 'ct commit, zone, mark', acts: [['ct', [['commit', flag], ['zone', u16(5)], ['mark', st('ovs-ct-md-mark', { value: 1, mask: 0xff })]]]],
    want: 'ct(commit,zone=5,mark=0x1/0xff)' },
  { name: 'ct in zone 0 is bare ct', acts: [['ct', [['zone', u16(0)]]]], want: 'ct' },
  { name: 'ct force_commit, label, helper, timeout', want: 'ct(force_commit,label=0x1,helper=ftp,timeout=tp1)',
    acts: [['ct', [['force-commit', flag], ['labels', Buffer.concat([hex('01'), zeros(15), ones(16)])], ['helper', cstr('ftp')], ['timeout', cstr('tp1')]]]] },
  { name: 'ct eventmask is not in OVS 3.1 policy, so ignored', acts: [['ct', [['commit', flag], ['eventmask', u32(0xff)]]]], want: 'ct(commit)' },
  { name: 'ct with a bad zone size', acts: [['ct', [['zone', u32(5)]]]], want: 'ct(error)' },
  { name: 'ct nat range', acts: [['ct', [['commit', flag], ['zone', u16(6)], ['nat', [['src', flag], ['ip-min', ip4('10.0.0.100')], ['ip-max', ip4('10.0.0.200')]]]]]],
    want: 'ct(commit,zone=6,nat(src=10.0.0.100-10.0.0.200))' },
  { name: 'ct nat dst with ports and flags', want: 'ct(nat(dst=1.2.3.4:80-90,persistent,random))',
    acts: [['ct', [['nat', [['dst', flag], ['ip-min', ip4('1.2.3.4')], ['proto-min', u16(80)], ['proto-max', u16(90)], ['persistent', flag], ['proto-random', flag]]]]]] },
  { name: 'ct nat ipv6 with a port is bracketed', want: 'ct(nat(src=[2001:db8::1]-[2001:db8::2]:1000))',
    acts: [['ct', [['nat', [['src', flag], ['ip-min', ip6('2001:db8::1')], ['ip-max', ip6('2001:db8::2')], ['proto-min', u16(1000)]]]]]] },
  { name: 'ct bare nat', acts: [['ct', [['commit', flag], ['nat', []]]]], want: 'ct(commit,nat)' },
  { name: 'ct nat with src and dst', acts: [['ct', [['nat', [['src', flag], ['dst', flag]]]]]], want: 'ct(nat(error: Only one of "src" or "dst" may be present.))' },
  { name: 'ct nat range error', acts: [['ct', [['nat', [['src', flag], ['ip-min', ip4('10.0.0.2')], ['ip-max', ip4('10.0.0.1')]]]]]], want: 'ct(nat(range error))' },
  // ---- kernel actions 23..25 under both dialects
  { name: 'dec_ttl read by OVS 3.1 as tnl_push (format_odp_tnl_push_action)', acts: [['dec-ttl', [['action', [['output', u32(1)]]]]]],
    want: 'tnl_push(tnl_port(65548),header(size=1,type=0,eth(dst=00:00:00:00:00:00,src=00:00:00:00:00:00,dl_type=0x0000),' +
      'ipv6(src=::,dst=::,label=0,proto=0,tclass=0x0,hlimit=0),),out_port(65544))' },
  { name: 'dec_ttl as tnl_push reads the next action as its header', acts: [['dec-ttl', [['action', [['output', u32(1)]]]]], ['output', u32(2)]],
    want: 'tnl_push(tnl_port(65548),header(size=1,type=65544,eth(dst=02:00:00:00:00:00,src=00:00:00:00:00:00,dl_type=0x0000),' +
      'ipv6(src=::,dst=::,label=0,proto=0,tclass=0x0,hlimit=0),),out_port(65544)),2' },
  { name: 'dec_ttl with OVS ≥ 3.4 (format_dec_ttl_action)', acts: [['dec-ttl', [['action', [['output', u32(1)]]]]]], opts: V34, want: 'dec_ttl(le_1(1))' },
  { name: 'kernel drop is tnl_pop(reason) to OVS 3.1', acts: [['drop', u32(42)]], want: 'tnl_pop(42)' },
  { name: 'kernel drop reason 0 as a port name', acts: [['drop', u32(0)]], opts: { portNames: new Map([[0, 'dp0']]) }, want: 'tnl_pop(dp0)' },
  { name: 'kernel drop with OVS ≥ 3.4', acts: [['drop', u32(42)]], opts: V34, want: 'drop' },
  { name: 'kernel psample is a badly sized DROP to OVS 3.1', acts: [['psample', [['group', u32(10)], ['cookie', hex('0102')]]]],
    want: 'bad length 16, expected 4 for: action25(08 00 01 00 0a 00 00 00 06 00 02 00 01 02 00 00)' },
  { name: 'kernel psample with OVS ≥ 3.4 (format_odp_psample_action)', acts: [['psample', [['group', u32(10)], ['cookie', hex('0102')]]]], opts: V34,
    want: 'psample(group=10,cookie=0x102)' },
  { name: 'OVS 3.1 LB_OUTPUT number', acts: [[PSAMPLE + 1, u32(1)]], want: 'lb_output(1)' },
  { name: 'OVS 3.4 TUNNEL_POP number', acts: [[PSAMPLE + 2, u32(1)]], opts: V34, want: 'tnl_pop(1)' },
  { name: 'beyond OVS 3.1 max: odp_action_len() is -1', acts: [[PSAMPLE + 2, u32(1)]], want: `bad length 4, expected -1 for: action${PSAMPLE + 2}(01 00 00 00)` },
  // ---- malformed
  { name: 'output of 3 bytes (format_generic_odp_action)', acts: [['output', hex('010000')]], want: 'bad length 3, expected 4 for: action1(01 00 00)' },
  { name: 'pop_vlan with a payload', acts: [['pop-vlan', zeros(4)]], want: 'bad length 4, expected 0 for: action5(00 00 00 00)' },
  { name: 'type 0', acts: [[0, flag]], want: 'bad length 0, expected -1 for: action0' },
];

describe('formatActions', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    expect(formatActions(acts(c.acts), c.opts)).toBe(c.want);
  });

  // OVS_FLOW_ATTR_ACTIONS of NEW requests the kernel accepted (errno 0), copied from
  // test/captures/kernel-6.12-flows-errors-raw.pcap (scripts/ovs-raw-requests.py; record, case):
  // the kernel stores drop and psample as given and rebuilds dec_ttl in the same layout.
  it.each([
    ['196, drop_24_last', '08000100020000000800180007000000', '2,tnl_pop(7)', '2,drop'],
    ['204, psample_group_and_cookie', '1400198008000100070000000800020001020304',
      'bad length 16, expected 4 for: action25(08 00 01 00 07 00 00 00 08 00 02 00 01 02 03 04)', 'psample(group=7,cookie=0x1020304)'],
    ['206, psample_group_only_then_output', '0c00198008000100080000000800010002000000',
      'bad length 8, expected 4 for: action25(08 00 01 00 08 00 00 00),2', 'psample(group=8),2'],
    ['216, dec_ttl_with_actions', '100017000c00010008000100010000000800010002000000',
      'tnl_push(tnl_port(65548),header(size=1,type=65544,eth(dst=02:00:00:00:00:00,src=00:00:00:00:00:00,dl_type=0x0000),' +
      'ipv6(src=::,dst=::,label=0,proto=0,tclass=0x0,hlimit=0),),out_port(65544)),2', 'dec_ttl(le_1(1)),2'],
    ['220, hash_l4', '0c00080000000000341200000800070003000000', 'hash(l4(4660)),recirc(0x3)', 'hash(l4(4660)),recirc(0x3)'],
    ['226, push_mpls_on_ipv4', '0c00090000064140884700000800010002000000',
      'push_mpls(label=100,tc=0,ttl=64,bos=1,eth_type=0x8847),2', 'push_mpls(label=100,tc=0,ttl=64,bos=1,eth_type=0x8847),2'],
    ['230, pop_mpls_on_mpls', '06000a00080000000800010002000000', 'pop_mpls(eth_type=0x800),2', 'pop_mpls(eth_type=0x800),2'],
    ['260, set_skb_mark', '0c00030008000f00090000000800010002000000', 'set(skb_mark(0x9)),2', 'set(skb_mark(0x9)),2'],
  ])('raw capture record %s: 3.1 and 3.4 renderings', (_n, h, v31, v34) => {
    expect([formatActions(hex(h)), formatActions(hex(h), V34)]).toEqual([v31, v34]);
  });

  it('an empty list is drop (format_odp_actions)', () => {
    expect(formatActions(Buffer.alloc(0))).toBe('drop');
  });

  it('reports leftover bytes', () => {
    expect(formatActions(Buffer.concat([acts([['output', u32(1)]]), hex('0102')]))).toBe('1,***2 leftover bytes*** (0102)');
    expect(formatActions(hex('010203'))).toBe('<empty>,***3 leftover bytes*** (010203)');
  });
});
