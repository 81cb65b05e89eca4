/**
 * formatFlowKey, one case per key attribute kind and per masking rule. Keys are built by schema
 * name; each expected string follows OVS 3.1 lib/odp-util.c (function named in the case title)
 * — odp_flow_format() decides which attributes show, format_odp_key_attr__() prints each.
 */
import { formatFlowKey, type OdpFormatOptions } from '../../../lib/ovs/odp-format';
import {
  be16, be32, be64, flag, hex, ip4, ip6, ipn, key, mac, ones, st, u16, u32, zeros, type Tlv,
} from './odp-build';

interface Case {
  name: string;
  key: Tlv[];
  mask?: Tlv[];
  opts?: OdpFormatOptions;
  want: string;
}

const V: OdpFormatOptions = { verbose: true };
const lse = (label: number, tc: number, ttl: number, bos: number): number => ((label << 12) | (tc << 9) | (bos << 8) | ttl) >>> 0;
const eth = (src: string, dst: string): Buffer => st('ovs-key-ethernet', { 'eth-src': mac(src), 'eth-dst': mac(dst) });
const ETH0 = eth('00:00:00:00:00:00', '00:00:00:00:00:00');
const ipv4 = (src: string, dst: string, proto: number, tos: number, ttl: number, frag: number): Buffer =>
  st('ovs-key-ipv4', { 'ipv4-src': ipn(src), 'ipv4-dst': ipn(dst), 'ipv4-proto': proto, 'ipv4-tos': tos, 'ipv4-ttl': ttl, 'ipv4-frag': frag });
const ipv6 = (src: Buffer, dst: Buffer, label: number, proto: number, tclass: number, hlimit: number, frag: number): Buffer =>
  st('ovs-key-ipv6', { 'ipv6-src': src, 'ipv6-dst': dst, 'ipv6-label': label, 'ipv6-proto': proto, 'ipv6-tclass': tclass, 'ipv6-hlimit': hlimit, 'ipv6-frag': frag });
const ports = (s: number, d: number): Buffer => Buffer.concat([be16(s), be16(d)]);
const labels = (lo: number): Buffer => { const b = zeros(16); b[0] = lo; return b; };
const erspan = (version: number, rest: Buffer): Buffer => { const b = zeros(4); b.writeInt32LE(version); return Buffer.concat([b, rest]); };

const CASES: Case[] = [
  // ---- metadata: format_odp_key_attr__ "%#x[/%#x]"
  { name: 'recirc_id without a mask is exact (recirc_id)', key: [['recirc-id', u32(0)]], want: 'recirc_id(0)' },
  { name: 'dp_hash partially masked', key: [['dp-hash', u32(0x1234)]], mask: [['dp-hash', u32(0xff)]], want: 'dp_hash(0x1234/0xff)' },
  { name: 'skb_priority exact, skb_mark masked', key: [['priority', u32(3)], ['skb-mark', u32(0x10)]],
    mask: [['priority', ones(4)], ['skb-mark', u32(0xf0)]], want: 'skb_priority(0x3),skb_mark(0x10/0xf0)' },
  { name: 'a zero-mask field is hidden (odp_mask_attr_is_wildcard)', key: [['recirc-id', u32(0)], ['in-port', u32(1)]],
    mask: [['recirc-id', u32(0)], ['in-port', ones(4)]], want: 'in_port(1)' },
  { name: '-m shows it as field(0/0)', key: [['recirc-id', u32(0)], ['in-port', u32(1)]],
    mask: [['recirc-id', u32(0)], ['in-port', ones(4)]], opts: V, want: 'recirc_id(0/0),in_port(1)' },
  { name: '-m shows a key field missing from the mask with a generated zero mask (generate_all_wildcard_mask)',
    key: [['priority', u32(7)], ['in-port', u32(1)]], mask: [['in-port', ones(4)]], opts: V, want: 'skb_priority(0x7/0),in_port(1)' },
  // ---- in_port: odp_portno_name_format
  { name: 'in_port by name', key: [['in-port', u32(1)]], opts: { portNames: new Map([[1, 'v0']]) }, want: 'in_port(v0)' },
  { name: 'in_port partially masked prints the number', key: [['in-port', u32(1)]], mask: [['in-port', u32(0xffff)]],
    opts: { portNames: new Map([[1, 'v0']]) }, want: 'in_port(1/0xffff)' },
  // ---- eth: format_eth, and the eth() special case of odp_flow_format
  { name: 'eth with a partial source mask', key: [['ethernet', eth('00:11:22:33:44:55', '00:00:00:00:00:02')]],
    mask: [['ethernet', st('ovs-key-ethernet', { 'eth-src': mac('ff:ff:ff:00:00:00'), 'eth-dst': ones(6) })]],
    want: 'eth(src=00:11:22:33:44:55/ff:ff:ff:00:00:00,dst=00:00:00:00:00:02)' },
  { name: 'wildcarded eth still prints as eth()', key: [['in-port', u32(2)], ['ethernet', ETH0]],
    mask: [['in-port', ones(4)], ['ethernet', ETH0]], want: 'in_port(2),eth()' },
  { name: 'wildcarded eth with -m', key: [['in-port', u32(2)], ['ethernet', ETH0]], mask: [['in-port', ones(4)], ['ethernet', ETH0]],
    opts: V, want: 'in_port(2),eth(src=00:00:00:00:00:00/00:00:00:00:00:00,dst=00:00:00:00:00:00/00:00:00:00:00:00)' },
  { name: 'eth() first does not count as a printed field: no comma after it (odp_flow_format quirk)',
    key: [['ethernet', ETH0], ['ethertype', be16(0x0800)]], mask: [['ethernet', ETH0], ['ethertype', ones(2)]], want: 'eth()eth_type(0x0800)' },
  // ---- vlan: format_vlan_tci
  { name: 'vlan tci with CFI', key: [['vlan', be16(0x700a)]], mask: [['vlan', ones(2)]], want: 'vlan(vid=10,pcp=3)' },
  { name: 'vlan tci without CFI; no mask means pcp is shown too', key: [['vlan', be16(0x000a)]], want: 'vlan(vid=10,pcp=0,cfi=0)' },
  { name: 'vlan vid partially masked', key: [['vlan', be16(0x100a)]], mask: [['vlan', be16(0x1ff0)]], want: 'vlan(vid=10/0xff0)' },
  { name: 'vlan -m prints vid and pcp', key: [['vlan', be16(0x1000)]], mask: [['vlan', ones(2)]], opts: V, want: 'vlan(vid=0,pcp=0)' },
  // ---- eth_type
  { name: 'eth_type masked', key: [['ethertype', be16(0x0800)]], mask: [['ethertype', be16(0xff00)]], want: 'eth_type(0x0800/0xff00)' },
  { name: 'an eth_type only in the mask is appended (odp_flow_format)', key: [['in-port', u32(1)]],
    mask: [['in-port', ones(4)], ['ethertype', ones(2)]], want: 'in_port(1),eth_type(0/0xffff)' },
  // ---- ipv4: format_ipv4 / format_u8u / format_u8x / format_frag
  { name: 'ipv4 with a prefix and wildcarded tos/ttl', key: [['ipv4', ipv4('10.0.0.0', '10.0.1.1', 17, 0, 64, 0)]],
    mask: [['ipv4', ipv4('255.255.255.0', '255.255.255.255', 0xff, 0, 0, 0xff)]], want: 'ipv4(src=10.0.0.0/255.255.255.0,dst=10.0.1.1,proto=17,frag=no)' },
  { name: 'ipv4 with -m', key: [['ipv4', ipv4('10.0.0.0', '10.0.1.1', 17, 0, 64, 0)]],
    mask: [['ipv4', ipv4('255.255.255.0', '255.255.255.255', 0xff, 0, 0, 0xff)]], opts: V,
    want: 'ipv4(src=10.0.0.0/255.255.255.0,dst=10.0.1.1,proto=17,tos=0/0,ttl=64/0,frag=no)' },
  { name: 'ipv4 exact tos in hex, frag=later', key: [['ipv4', ipv4('1.2.3.4', '5.6.7.8', 6, 0x10, 1, 2)]],
    want: 'ipv4(src=1.2.3.4,dst=5.6.7.8,proto=6,tos=0x10,ttl=1,frag=later)' },
  { name: 'ipv4 frag with a partial mask (format_frag)', key: [['ipv4', ipv4('0.0.0.0', '0.0.0.0', 0, 0, 0, 1)]],
    mask: [['ipv4', ipv4('0.0.0.0', '0.0.0.0', 0, 0, 0, 1)]], want: 'ipv4(error: partial mask not supported for frag (0x1))' },
  // ---- ipv6: format_in6_addr / format_ipv6_label (glibc inet_ntop)
  { name: 'ipv6 exact', key: [['ipv6', ipv6(ip6('2001:db8::1'), ip6('2001:db8::2'), 0, 6, 0, 64, 0)]],
    want: 'ipv6(src=2001:db8::1,dst=2001:db8::2,label=0,proto=6,tclass=0,hlimit=64,frag=no)' },
  { name: 'ipv6 prefix mask and partial label', key: [['ipv6', ipv6(ip6('fe80::'), ip6('::'), 0x12345, 17, 0, 1, 1)]],
    mask: [['ipv6', ipv6(ip6('ffff::'), zeros(16), 0xf0000, 0xff, 0, 0xff, 0xff)]],
    want: 'ipv6(src=fe80::/ffff::,label=0x12345/0xf0000,proto=17,hlimit=1,frag=first)' },
  { name: 'ipv6 addresses: v4-mapped, longest zero run, no :: for one zero word',
    key: [['ipv6', ipv6(ip6('::ffff:a00:1'), ip6('1:0:0:2:0:0:0:3'), 0, 0, 0, 0, 0)]], mask: [['ipv6', ipv6(ones(16), ip6('1:0:1:1:1:1:1:1'), 0, 0, 0, 0, 0)]],
    want: 'ipv6(src=::ffff:10.0.0.1,dst=1:0:0:2::3/1:0:1:1:1:1:1:1)' },
  // ---- L4
  { name: 'tcp exact', key: [['tcp', ports(1000, 80)]], want: 'tcp(src=1000,dst=80)' },
  { name: 'udp with a wildcarded source', key: [['udp', ports(0, 53)]], mask: [['udp', ports(0, 0xffff)]], want: 'udp(dst=53)' },
  { name: 'sctp with a partial port mask (format_be16)', key: [['sctp', ports(1, 512)]], mask: [['sctp', ports(0xffff, 0xff00)]], want: 'sctp(src=1,dst=512/0xff00)' },
  { name: 'tcp_flags exact (format_flags)', key: [['tcp-flags', be16(0x012)]], want: 'tcp_flags(syn|ack)' },
  { name: 'tcp_flags masked (format_flags_masked)', key: [['tcp-flags', be16(0x002)]], mask: [['tcp-flags', be16(0x012)]], want: 'tcp_flags(+syn-ack)' },
  { name: 'tcp_flags zero, exact', key: [['tcp-flags', be16(0)]], mask: [['tcp-flags', be16(0x0fff)]], want: 'tcp_flags(0)' },
  { name: 'tcp_flags unnamed bits', key: [['tcp-flags', be16(0xf001)]], want: 'tcp_flags(fin|0xf000)' },
  { name: 'tcp_flags wildcarded with -m', key: [['tcp-flags', be16(0)]], mask: [['tcp-flags', be16(0)]], opts: V, want: 'tcp_flags(0/0)' },
  { name: 'icmp', key: [['icmp', Buffer.of(8, 0)]], want: 'icmp(type=8,code=0)' },
  { name: 'icmpv6 type only', key: [['icmpv6', Buffer.of(128, 0)]], mask: [['icmpv6', Buffer.of(0xff, 0)]], want: 'icmpv6(type=128)' },
  { name: 'arp with wildcarded hardware addresses', mask: [['arp', st('ovs-key-arp', { 'arp-sip': 0xffffffff, 'arp-tip': 0xffffffff, 'arp-op': 0xffff })]],
    key: [['arp', st('ovs-key-arp', { 'arp-sip': ipn('10.0.0.1'), 'arp-tip': ipn('10.0.0.2'), 'arp-op': 1, 'arp-sha': mac('00:00:00:00:00:01') })]],
    want: 'arp(sip=10.0.0.1,tip=10.0.0.2,op=1)' },
  { name: 'nd', key: [['nd', st('ovs-key-nd', { 'nd-target': ip6('2001:db8::2'), 'nd-sll': mac('00:00:00:00:00:01') })]],
    mask: [['nd', st('ovs-key-nd', { 'nd-target': ones(16), 'nd-sll': ones(6) })]], want: 'nd(target=2001:db8::2,sll=00:00:00:00:00:01)' },
  // ---- mpls: format_mpls
  { name: 'mpls exact', key: [['mpls', be32(lse(100, 3, 64, 1))]], mask: [['mpls', ones(4)]], want: 'mpls(label=100,tc=3,ttl=64,bos=1)' },
  { name: 'mpls label-only mask', key: [['mpls', be32(lse(100, 3, 64, 1))]], mask: [['mpls', be32(0xfffff000)]],
    want: 'mpls(label=100/0xfffff,tc=3/0,ttl=64/0x0,bos=1/0)' },
  { name: 'mpls two entries', key: [['mpls', Buffer.concat([be32(lse(100, 3, 64, 0)), be32(lse(200, 0, 64, 1))])]],
    want: 'mpls(label=100,tc=3,ttl=64,bos=0,label=200,tc=0,ttl=64,bos=1)' },
  { name: 'mpls of a bad size leaves the parenthesis open', key: [['mpls', zeros(6)]], want: 'mpls((bad key length 6)' },
  // ---- conntrack
  { name: 'ct_state masked (odp_ct_state_to_string)', key: [['ct-state', u32(0x21)]], mask: [['ct-state', u32(0x21)]], want: 'ct_state(+new+trk)' },
  { name: 'ct_state exact', key: [['ct-state', u32(0x21)]], want: 'ct_state(new|trk)' },
  { name: 'ct_state with -m', key: [['ct-state', u32(0x21)]], mask: [['ct-state', u32(0x21)]], opts: V, want: 'ct_state(0x21/0x21)' },
  { name: 'ct_state unknown bit', key: [['ct-state', u32(0x100)]], mask: [['ct-state', u32(0x101)]], want: 'ct_state(-new+[Unknown])' },
  { name: 'ct_zone', key: [['ct-zone', u16(5)]], mask: [['ct-zone', u16(0xff)]], want: 'ct_zone(0x5/0xff)' },
  { name: 'ct_mark', key: [['ct-mark', u32(1)]], mask: [['ct-mark', u32(0xff)]], want: 'ct_mark(0x1/0xff)' },
  { name: 'ct_mark without any mask prints nothing inside (mask_empty(NULL))', key: [['ct-mark', u32(1)]], want: 'ct_mark()' },
  { name: 'ct_label (format_u128, host-order 128 bits)', key: [['ct-labels', labels(1)]], mask: [['ct-labels', labels(0xff)]], want: 'ct_label(0x1/0xff)' },
  { name: 'ct_label exact high bit', key: [['ct-labels', hex('000000000000000000000000000000 80')]], mask: [['ct-labels', ones(16)]],
    want: 'ct_label(0x80000000000000000000000000000000)' },
  { name: 'ct_tuple4', key: [['ct-orig-tuple-ipv4', st('ovs-key-ct-tuple-ipv4', { 'ipv4-src': ipn('10.0.0.1'), 'ipv4-dst': ipn('10.0.0.2'), 'src-port': 1000, 'dst-port': 80, 'ipv4-proto': 6 })]],
    want: 'ct_tuple4(src=10.0.0.1,dst=10.0.0.2,proto=6,tp_src=1000,tp_dst=80)' },
  { name: 'ct_tuple6', key: [['ct-orig-tuple-ipv6', st('ovs-key-ct-tuple-ipv6', { 'ipv6-src': ip6('2001:db8::1'), 'ipv6-dst': ip6('2001:db8::2'), 'src-port': 1, 'dst-port': 2, 'ipv6-proto': 17 })]],
    want: 'ct_tuple6(src=2001:db8::1,dst=2001:db8::2,proto=17,src_port=1,dst_port=2)' },
  // ---- tunnel: format_odp_tun_attr
  { name: 'tunnel whose mask holds every flag: flags printed plainly (format_tun_flags)',
    key: [['tunnel', [['id', be64(5n)], ['ipv4-src', ip4('192.168.0.1')], ['ipv4-dst', ip4('192.168.0.2')], ['ttl', Buffer.of(64)]]]],
    mask: [['tunnel', [['id', ones(8)], ['ipv4-src', ones(4)], ['ipv4-dst', ones(4)], ['ttl', ones(1)], ['dont-fragment', flag], ['csum', flag], ['oam', flag]]]],
    want: 'tunnel(tun_id=0x5,src=192.168.0.1,dst=192.168.0.2,ttl=64,flags(key))' },
  { name: 'tunnel whose mask lacks oam: flags as +/- (format_flags_masked)', key: [['tunnel', [['id', be64(5n)], ['csum', flag]]]],
    mask: [['tunnel', [['id', ones(8)], ['dont-fragment', flag], ['csum', flag]]]], want: 'tunnel(tun_id=0x5,flags(-df+csum+key))' },
  { name: 'tunnel without a mask hides tun_id (format_be64)', key: [['tunnel', [['id', be64(5n)], ['ipv4-dst', ip4('192.168.0.2')], ['ttl', Buffer.of(64)], ['dont-fragment', flag]]]],
    want: 'tunnel(dst=192.168.0.2,ttl=64,flags(df|key))' },
  { name: 'tunnel ipv6, tos, ports, partial tun_id', key: [['tunnel', [['id', be64(0x1234n)], ['ipv6-src', ip6('2001:db8::1')], ['tos', Buffer.of(0x10)], ['tp-src', be16(1)], ['tp-dst', be16(4789)]]]],
    mask: [['tunnel', [['id', be64(0xff00n)], ['ipv6-src', ones(16)], ['tos', Buffer.of(0xfc)], ['tp-src', be16(0)], ['tp-dst', ones(2)]]]],
    want: 'tunnel(tun_id=0x1234/0xff00,ipv6_src=2001:db8::1,tos=0x10/0xfc,tp_dst=4789,flags(+key))' },
  { name: 'tunnel geneve option (format_geneve_opts)', key: [['tunnel', [['geneve-opts', hex('0102 80 01 0000000a')]]]],
    mask: [['tunnel', [['geneve-opts', hex('ffff ff 1f 0000000f')]]]], want: 'tunnel(geneve({class=0x102,type=0x80,len=4,0xa/0xf}))' },
  { name: 'tunnel geneve option whose data is wildcarded', key: [['tunnel', [['geneve-opts', hex('0102 80 01 0000000a')]]]],
    mask: [['tunnel', [['geneve-opts', hex('ffff ff 1f 00000000')]]]], want: 'tunnel(geneve({class=0x102,type=0x80,len=4}))' },
  { name: 'tunnel vxlan gbp', key: [['tunnel', [['vxlan-opts', [['gbp', u32(0x00010005)]]]]]],
    mask: [['tunnel', [['vxlan-opts', [['gbp', u32(0x00ffffff)]]]]]], want: 'tunnel(vxlan(gbp(id=5,flags=0x1)))' },
  { name: 'tunnel erspan v1', key: [['tunnel', [['erspan-opts', erspan(1, be32(0x10))]]]],
    mask: [['tunnel', [['erspan-opts', erspan(-1, ones(4))]]]], want: 'tunnel(erspan(ver=1,idx=0x10/0xffffffff))' },
  { name: 'tunnel erspan v2 (bitfield masks)', key: [['tunnel', [['erspan-opts', erspan(2, hex('00000000 0000 00 58'))]]]],
    mask: [['tunnel', [['erspan-opts', erspan(-1, hex('00000000 0000 00 f8'))]]]], want: 'tunnel(erspan(ver=2,dir=1/0x1,hwid=0x5/0xf))' },
  // ---- encap, nsh
  { name: 'vlan encap nests a flow', key: [['in-port', u32(1)], ['ethernet', ETH0], ['ethertype', be16(0x8100)], ['vlan', be16(0x700a)], ['encap', [['ethertype', be16(0x0800)], ['ipv4', ipv4('0.0.0.0', '0.0.0.0', 17, 0, 0, 0)]]]],
    mask: [['in-port', ones(4)], ['ethernet', ETH0], ['ethertype', ones(2)], ['vlan', ones(2)], ['encap', [['ethertype', ones(2)], ['ipv4', ipv4('0.0.0.0', '0.0.0.0', 0xff, 0, 0, 0xff)]]]],
    want: 'in_port(1),eth(),eth_type(0x8100),vlan(vid=10,pcp=3),encap(eth_type(0x0800),ipv4(proto=17,frag=no))' },
  { name: 'empty encap', key: [['encap', []]], want: 'encap()' },
  { name: 'nsh exact (format_nsh_key)', key: [['nsh', [['base', st('ovs-nsh-key-base', { ttl: 63, mdtype: 1, np: 3, 'path-hdr': 0x1ff })], ['md1', hex('00000001 00000002 00000003 00000004')]]]],
    want: 'nsh(flags=0,ttl=63,mdtype=1,np=3,spi=0x1,si=255,c1=0x1,c2=0x2,c3=0x3,c4=0x4)' },
  { name: 'nsh masked (format_nsh_key_mask)', key: [['nsh', [['base', st('ovs-nsh-key-base', { ttl: 63, mdtype: 1, np: 3, 'path-hdr': 0x1ff })], ['md1', zeros(16)]]]],
    mask: [['nsh', [['base', st('ovs-nsh-key-base', { mdtype: 0xff, np: 0xff, 'path-hdr': 0xffffffff })], ['md1', zeros(16)]]]], want: 'nsh(mdtype=1,np=3,spi=0x1,si=255)' },
  // ---- attributes OVS 3.1 does not know or refuses
  { name: "the kernel's ipv6_exthdrs is key32 to OVS 3.1, shown even when wildcarded", key: [['ipv6-exthdrs', u16(4)]], mask: [['ipv6-exthdrs', u16(0)]], want: 'key32(04 00/00 00)' },
  { name: 'packet_type hides a wildcarded eth', key: [['packet-type', be32(0x00010800)], ['ethernet', ETH0]], mask: [['packet-type', ones(4)], ['ethernet', ETH0]],
    want: 'packet_type(ns=1,id=0x800)' },
  { name: 'nd_ext (OVS struct ovs_key_nd_extensions)', key: [['nd-extensions', hex('12345678 02 000000')]], want: 'nd_ext(nd_reserved=0x12345678,nd_options_type=2)' },
  { name: 'type 0 is unspec', key: [[0, zeros(0)]], want: 'unspec()' },
  { name: 'tunnel_info', key: [['tunnel-info', zeros(0)]], want: '<error: kernel-only tunnel_info>()' },
  // ---- malformed: check_attr_len and the leftover report
  { name: 'bad key length, printed without the name', key: [['in-port', u32(1)], ['ethertype', hex('080000')]], want: 'in_port(1)(bad key length 3, expected 2)(08 00 00)' },
  { name: 'bad mask length; the skipped eth_type then counts as mask-only', key: [['in-port', u32(1)], ['ethertype', be16(0x0800)]],
    mask: [['in-port', ones(4)], ['ethertype', hex('ffff00')]], want: 'in_port(1)08 00/(bad mask length 3, expected 2)(ff ff 00),eth_type(0/0xffff)' },
];

describe('formatFlowKey', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    expect(formatFlowKey(key(c.key), c.mask ? key(c.mask) : undefined, c.opts)).toBe(c.want);
  });

  it('an empty key is <empty> (odp_flow_format)', () => {
    expect(formatFlowKey(Buffer.alloc(0), undefined)).toBe('<empty>');
  });

  it('reports leftover bytes after the last whole attribute', () => {
    expect(formatFlowKey(Buffer.concat([key([['in-port', u32(1)]]), hex('aabbcc')]), undefined)).toBe('in_port(1),***3 leftover bytes*** (aabbcc)');
    expect(formatFlowKey(hex('0102'), undefined)).toBe('<empty>,***2 leftover bytes*** (0102)');
  });
});
