/**
 * Key extraction, one frame per protocol case and per malformed/truncated variant. Each frame is
 * extracted with ovs_flow_key_extract() semantics (in_port 1, priority 0, mark 0, no tunnel,
 * no conntrack entry), the key is emitted with ovs_nla_put_key() as an upcall would carry it,
 * and the attribute stream is compared in the odp text form (metadata prefix stripped) — so a
 * case reads like the flow key `ovs-dpctl` would show. `kernel` cites what each case follows
 * in net/openvswitch/flow.c of Linux 6.12 (line numbers of Debian's linux-source-6.12).
 */
import { Errno } from '../../../lib/nl/errno';
import { newSwFlowKey, SWKEY } from '../../../lib/ovs/flow-key';
import { ovsFlowKeyExtract, type ExtractOptions } from '../../../lib/ovs/flow';
import { formatFlowKey } from '../../../lib/ovs/odp-format';
import { Skb } from '../../../lib/ovs/skb';
import { K, putKey } from './key-builder';
import {
  MAC_A, MAC_B, ah6, arp, ether, frag6, icmp, ipv4, ipv6, lse, nd, ndOpt, nshHdr, opt6, sctp, sll, tcp, tll, udp,
} from './frame-builder';

interface Case {
  name: string;
  /** The kernel code this expectation follows. */
  kernel: string;
  frame: Buffer;
  setup?: (skb: Skb) => void;
  opts?: ExtractOptions;
  /** Expected return (negative errno); default 0. */
  err?: number;
  /** The key in odp text, after the metadata prefix. */
  want?: string;
  /** Further checks on the skb or raw key. */
  check?: (skb: Skb, key: Buffer) => void;
}

const META = 'recirc_id(0),dp_hash(0),skb_priority(0),in_port(1),skb_mark(0),ct_state(0),ct_zone(),ct_mark(),ct_label(),';
const ETH = `eth(src=${MAC_A},dst=${MAC_B})`;
const IP = 'src=10.0.0.1,dst=10.0.0.2';
const IP6 = 'src=2001:db8::1,dst=2001:db8::2';
const ZERO4 = 'ipv4(src=0.0.0.0,dst=0.0.0.0,proto=0,tos=0,ttl=0,frag=no)';
const ETH_P = { IP: 0x0800, ARP: 0x0806, RARP: 0x8035, VLAN: 0x8100, QINQ: 0x88a8, IPV6: 0x86dd, MPLS: 0x8847, NSH: 0x894f };
const P = { TCP: 6, UDP: 17, ICMP: 1, IGMP: 2, GRE: 47, SCTP: 132, ICMPV6: 58, HOP: 0, ROUTING: 43, FRAG: 44, ESP: 50, AH: 51, NONE: 59, DST: 60 };
const tcpSyn = tcp(1234, 80, 0x002);
const exthdrs = (v: number) => (_skb: Skb, key: Buffer) => expect(key.readUInt16LE(SWKEY.ipv6Exthdrs.off)).toBe(v);
const v4 = (o: Parameters<typeof ipv4>[0], l4: Buffer = Buffer.alloc(0)) => ether(ETH_P.IP, ipv4(o, l4));
const v6 = (o: Parameters<typeof ipv6>[0], l4: Buffer = Buffer.alloc(0)) => ether(ETH_P.IPV6, ipv6(o, l4));
const ns = (...opts: Buffer[]) => v6({ next: P.ICMPV6, hlim: 255 }, nd(135, 'fe80::2', ...opts));
const NDT = 'fe80::2';

const CASES: Case[] = [
  // ---- link layer: key_extract(), parse_vlan(), parse_ethertype()
  { name: 'Ethernet shorter than 14 bytes → EINVAL', kernel: 'key_extract() L932 check_header(skb, ETH_HLEN)',
    frame: ether(null).subarray(0, 11), err: -Errno.EINVAL },
  { name: 'Ethernet header only, type IPv4 → ip/ipv4 zeroed', kernel: 'key_extract_l3l4() L692-700: check_iphdr -EINVAL',
    frame: ether(ETH_P.IP), want: `${ETH},eth_type(0x0800),${ZERO4}` },
  { name: 'unknown EtherType (LLDP) → eth_type only', kernel: 'key_extract_l3l4(): no branch for it',
    frame: ether(0x88cc, Buffer.alloc(30)), want: `${ETH},eth_type(0x88cc)` },
  { name: '802.1Q tag in-band → popped into the skb accelerated tag', kernel: 'parse_vlan_tag() L466-479 untag_vlan',
    frame: ether(ETH_P.IP, ipv4({ proto: P.TCP }, tcpSyn), { tags: [[ETH_P.VLAN, 0x600a]] }),
    want: `${ETH},eth_type(0x8100),vlan(vid=10,pcp=3),encap(eth_type(0x0800),ipv4(${IP},proto=6,tos=0,ttl=64,frag=no),tcp(src=1234,dst=80),tcp_flags(syn))`,
    check: (skb) => {
      expect([skb.vlanTpid, skb.vlanTci, skb.len, skb.protocol, skb.networkHeader, skb.macLen]).toEqual([0x8100, 0x600a, 14 + 40, 0x0800, 14, 14]);
      expect(skb.transportHeader).toBe(34);
    } },
  { name: 'a tag with the CFI bit set keeps it in the key', kernel: 'parse_vlan_tag(): tci | VLAN_CFI_MASK',
    frame: ether(0x88cc, Buffer.alloc(4), { tags: [[ETH_P.VLAN, 0x1005]] }),
    want: `${ETH},eth_type(0x8100),vlan(vid=5,pcp=0),encap(eth_type(0x88cc))` },
  { name: '802.1ad + 802.1Q in-band → outer popped, inner stays, skb->protocol = inner TPID', kernel: 'parse_vlan() L494-514, key_extract() L955-958',
    frame: ether(ETH_P.IP, ipv4({ proto: P.UDP }, udp(5, 53)), { tags: [[ETH_P.QINQ, 100], [ETH_P.VLAN, 200]] }),
    want: `${ETH},eth_type(0x88a8),vlan(vid=100,pcp=0),encap(eth_type(0x8100),vlan(vid=200,pcp=0),encap(eth_type(0x0800),ipv4(${IP},proto=17,tos=0,ttl=64,frag=no),udp(src=5,dst=53)))`,
    check: (skb) => expect([skb.vlanTpid, skb.vlanTci, skb.protocol, skb.networkHeader]).toEqual([0x88a8, 100, 0x8100, 18]) },
  { name: 'hw-accelerated outer tag + in-band inner tag', kernel: 'parse_vlan() L498-500: skb_vlan_tag_present',
    frame: ether(ETH_P.IP, ipv4({ proto: P.ICMP }, icmp(8)), { tags: [[ETH_P.VLAN, 7]] }),
    setup: (skb) => { skb.vlanTpid = ETH_P.QINQ; skb.vlanTci = 0x2064; },
    want: `${ETH},eth_type(0x88a8),vlan(vid=100,pcp=1),encap(eth_type(0x8100),vlan(vid=7,pcp=0),encap(eth_type(0x0800),ipv4(${IP},proto=1,tos=0,ttl=64,frag=no),icmp(type=8,code=0)))`,
    check: (skb) => expect([skb.len, skb.protocol, skb.networkHeader]).toEqual([18 + 28, 0x8100, 18]) },
  { name: 'three tags → the third TPID is the EtherType, nothing after it', kernel: 'parse_vlan() parses two tags; parse_ethertype()',
    frame: ether(ETH_P.IP, ipv4({}), { tags: [[ETH_P.QINQ, 1], [ETH_P.VLAN, 2], [ETH_P.VLAN, 3]] }),
    want: `${ETH},eth_type(0x88a8),vlan(vid=1,pcp=0),encap(eth_type(0x8100),vlan(vid=2,pcp=0),encap(eth_type(0x8100)))` },
  { name: 'truncated VLAN tag → untagged frame of type 0x8100 (empty VLAN, TPID 0)', kernel: 'parse_vlan_tag() L457: skb->len < 6 → 0',
    frame: ether(ETH_P.VLAN, Buffer.of(0, 5)),
    want: `${ETH},eth_type(0x0000),vlan(vid=0,pcp=0,cfi=0),encap()`,
    check: (skb) => expect([skb.vlanTpid, skb.len]).toEqual([0, 16]) },
  { name: '802.3 length + LLC (no SNAP) → ETH_P_802_2: no eth_type attribute', kernel: 'parse_ethertype() L541-544',
    frame: ether(0x0026, Buffer.from('424203000000000000000000', 'hex')),
    want: ETH, check: (skb, key) => { expect(key.readUInt16BE(SWKEY.ethType.off)).toBe(0x0004); expect(skb.networkHeader).toBe(14); } },
  { name: '802.2 shorter than a SNAP header → ETH_P_802_2', kernel: 'parse_ethertype() L534',
    frame: ether(0x0003, Buffer.from('aaaa03', 'hex')), want: ETH },
  { name: 'SNAP with OUI 0 carrying IPv4 → parsed after the SNAP header', kernel: 'parse_ethertype() L548-551',
    frame: ether(0x0030, Buffer.concat([Buffer.from('aaaa03000000', 'hex'), Buffer.of(8, 0), ipv4({ proto: P.UDP }, udp(1, 2))])),
    want: `${ETH},eth_type(0x0800),ipv4(${IP},proto=17,tos=0,ttl=64,frag=no),udp(src=1,dst=2)`,
    check: (skb) => expect(skb.networkHeader).toBe(22) },
  { name: 'SNAP with a vendor OUI → ETH_P_802_2', kernel: 'parse_ethertype() L541-544 (oui != 0)',
    frame: ether(0x0030, Buffer.concat([Buffer.from('aaaa0300000c', 'hex'), Buffer.of(0x20, 0), Buffer.alloc(20)])), want: ETH },
  { name: 'SNAP whose EtherType is a length → ETH_P_802_2, network header after SNAP', kernel: 'parse_ethertype() L551-554',
    frame: ether(0x0030, Buffer.concat([Buffer.from('aaaa03000000', 'hex'), Buffer.of(0, 0x40), Buffer.alloc(20)])),
    want: ETH, check: (skb) => expect(skb.networkHeader).toBe(22) },

  // ---- IPv4: key_extract_l3l4() L688-762
  { name: 'IPv4 TCP SYN', kernel: 'L702-741, TCP_FLAGS_BE16',
    frame: v4({ proto: P.TCP, tos: 0x10 }, tcpSyn),
    want: `${ETH},eth_type(0x0800),ipv4(${IP},proto=6,tos=0x10,ttl=64,frag=no),tcp(src=1234,dst=80),tcp_flags(syn)`,
    check: (skb) => expect([skb.protocol, skb.networkHeader, skb.transportHeader, skb.macLen]).toEqual([0x0800, 14, 34, 14]) },
  { name: 'IPv4 with options (IHL 6) → transport header after them', kernel: 'check_iphdr() L194-211',
    frame: v4({ proto: P.UDP, options: Buffer.of(1, 1, 1, 0) }, udp(68, 67)),
    want: `${ETH},eth_type(0x0800),ipv4(${IP},proto=17,tos=0,ttl=64,frag=no),udp(src=68,dst=67)`,
    check: (skb) => expect(skb.transportHeader).toBe(38) },
  { name: 'IPv4 SCTP', kernel: 'L743-749 sctphdr_ok', frame: v4({ proto: P.SCTP }, sctp(9, 10)),
    want: `${ETH},eth_type(0x0800),ipv4(${IP},proto=132,tos=0,ttl=64,frag=no),sctp(src=9,dst=10)` },
  { name: 'IPv4 ICMP echo', kernel: 'L750-760 icmphdr_ok', frame: v4({ proto: P.ICMP }, icmp(8)),
    want: `${ETH},eth_type(0x0800),ipv4(${IP},proto=1,tos=0,ttl=64,frag=no),icmp(type=8,code=0)` },
  { name: 'IPv4 IGMP → proto only (OVS has no IGMP key)', kernel: 'key_extract_l3l4(): no transport branch',
    frame: v4({ proto: P.IGMP }, Buffer.from('1164ee9be0000001', 'hex')),
    want: `${ETH},eth_type(0x0800),ipv4(${IP},proto=2,tos=0,ttl=64,frag=no)` },
  { name: 'IPv4 first fragment (MF) → frag=first, ports parsed', kernel: 'L717-721',
    frame: v4({ proto: P.UDP, fragOff: 0x2000 }, udp(1000, 2000)),
    want: `${ETH},eth_type(0x0800),ipv4(${IP},proto=17,tos=0,ttl=64,frag=first),udp(src=1000,dst=2000)` },
  { name: 'IPv4 later fragment → frag=later, tp zeroed, no L4 attribute', kernel: 'L711-716',
    frame: v4({ proto: P.TCP, fragOff: 0x00b9 }, tcpSyn),
    want: `${ETH},eth_type(0x0800),ipv4(${IP},proto=6,tos=0,ttl=64,frag=later)`,
    check: (_skb, key) => expect(key.readUInt16BE(SWKEY.tpSrc.off)).toBe(0) },
  { name: 'IPv4 IHL 4 → ip and ipv4 zeroed, transport = network header', kernel: 'check_iphdr() L203-206; L692-700',
    frame: v4({ ihl: 4, proto: P.TCP }, tcpSyn), want: `${ETH},eth_type(0x0800),${ZERO4}`,
    check: (skb) => expect(skb.transportHeader).toBe(skb.networkHeader) },
  { name: 'IPv4 IHL past the end of the frame → zeroed', kernel: 'check_iphdr() L204: skb->len < nh_ofs + ip_len',
    frame: v4({ ihl: 15, proto: P.UDP }, udp(1, 2)), want: `${ETH},eth_type(0x0800),${ZERO4}` },
  { name: 'IPv4 header cut at 19 bytes → zeroed', kernel: 'check_iphdr() L199 check_header',
    frame: v4({ proto: P.UDP }).subarray(0, 14 + 19), want: `${ETH},eth_type(0x0800),${ZERO4}` },
  { name: 'truncated TCP header → tp zeroed (tcp(0,0), flags 0)', kernel: 'tcphdr_ok() L213-226; L731',
    frame: v4({ proto: P.TCP }, tcpSyn.subarray(0, 12)),
    want: `${ETH},eth_type(0x0800),ipv4(${IP},proto=6,tos=0,ttl=64,frag=no),tcp(src=0,dst=0),tcp_flags(0)` },
  { name: 'TCP data offset 4 → tp zeroed', kernel: 'tcphdr_ok() L222 tcp_len < sizeof(tcphdr)',
    frame: v4({ proto: P.TCP }, tcp(1, 2, 0x10, 4)),
    want: `${ETH},eth_type(0x0800),ipv4(${IP},proto=6,tos=0,ttl=64,frag=no),tcp(src=0,dst=0),tcp_flags(0)` },
  { name: 'TCP data offset past the frame → tp zeroed', kernel: 'tcphdr_ok() L223 skb->len < th_ofs + tcp_len',
    frame: v4({ proto: P.TCP }, tcp(1, 2, 0x18, 5).subarray(0, 20).fill(0xf0, 12, 13)),
    want: `${ETH},eth_type(0x0800),ipv4(${IP},proto=6,tos=0,ttl=64,frag=no),tcp(src=0,dst=0),tcp_flags(0)` },
  { name: 'TCP flags keep all 12 bits (NS, CWR, ECE, …)', kernel: 'TCP_FLAGS_BE16: & htons(0x0FFF)',
    frame: v4({ proto: P.TCP }, tcp(1, 2, 0x1d2)),
    want: `${ETH},eth_type(0x0800),ipv4(${IP},proto=6,tos=0,ttl=64,frag=no),tcp(src=1,dst=2),tcp_flags(syn|ack|ece|cwr|ns)`,
    check: (_skb, key) => expect(key.readUInt16BE(SWKEY.tpFlags.off)).toBe(0x1d2) },
  { name: 'UDP header of 7 bytes → tp zeroed', kernel: 'udphdr_ok() L229',
    frame: v4({ proto: P.UDP }, udp(1, 2).subarray(0, 7)),
    want: `${ETH},eth_type(0x0800),ipv4(${IP},proto=17,tos=0,ttl=64,frag=no),udp(src=0,dst=0)` },
  { name: 'ICMP header of 4 bytes → tp zeroed', kernel: 'icmphdr_ok() L241',
    frame: v4({ proto: P.ICMP }, icmp(3, 1).subarray(0, 4)),
    want: `${ETH},eth_type(0x0800),ipv4(${IP},proto=1,tos=0,ttl=64,frag=no),icmp(type=0,code=0)` },
  { name: 'GRE over IPv4 → no transport fields', kernel: 'key_extract_l3l4(): only TCP/UDP/SCTP/ICMP',
    frame: v4({ proto: P.GRE }, Buffer.from('00006558', 'hex')),
    want: `${ETH},eth_type(0x0800),ipv4(${IP},proto=47,tos=0,ttl=64,frag=no)` },

  // ---- ARP / RARP: L763-789
  { name: 'ARP request', kernel: 'L770-786',
    frame: ether(ETH_P.ARP, arp({ op: 1 })),
    want: `${ETH},eth_type(0x0806),arp(sip=10.0.0.1,tip=10.0.0.2,op=1,sha=${MAC_A},tha=00:00:00:00:00:00)` },
  { name: 'RARP reply', kernel: 'L763-764: ETH_P_RARP shares the ARP branch',
    frame: ether(ETH_P.RARP, arp({ op: 4, tha: MAC_B })),
    want: `${ETH},eth_type(0x8035),arp(sip=10.0.0.1,tip=10.0.0.2,op=4,sha=${MAC_A},tha=${MAC_B})` },
  { name: 'ARP opcode above 0xff → op 0', kernel: 'L777-780',
    frame: ether(ETH_P.ARP, arp({ op: 0x0102 })),
    want: `${ETH},eth_type(0x0806),arp(sip=10.0.0.1,tip=10.0.0.2,op=0,sha=${MAC_A},tha=00:00:00:00:00:00)` },
  { name: 'ARP with a non-Ethernet hardware type → all ARP fields zero', kernel: 'L770-774 else-branch L787-788',
    frame: ether(ETH_P.ARP, arp({ hrd: 6 })),
    want: `${ETH},eth_type(0x0806),arp(sip=0.0.0.0,tip=0.0.0.0,op=0,sha=00:00:00:00:00:00,tha=00:00:00:00:00:00)` },
  { name: 'ARP with hln 8 → zero', kernel: 'L773 ar_hln == ETH_ALEN',
    frame: ether(ETH_P.ARP, arp({ hln: 8 })),
    want: `${ETH},eth_type(0x0806),arp(sip=0.0.0.0,tip=0.0.0.0,op=0,sha=00:00:00:00:00:00,tha=00:00:00:00:00:00)` },
  { name: 'ARP cut at 27 bytes → zero', kernel: 'arphdr_ok() L188-192',
    frame: ether(ETH_P.ARP, arp().subarray(0, 27)),
    want: `${ETH},eth_type(0x0806),arp(sip=0.0.0.0,tip=0.0.0.0,op=0,sha=00:00:00:00:00:00,tha=00:00:00:00:00:00)` },
];

const CASES_2: Case[] = [
  // ---- IPv6: parse_ipv6hdr() L385-431, get_ipv6_ext_hdrs() L273-383, key_extract_l3l4() L820-881
  { name: 'IPv6 TCP with traffic class and flow label', kernel: 'parse_ipv6hdr() L398-403',
    frame: v6({ next: P.TCP, tclass: 0xb8, label: 0x12345 }, tcp(80, 443, 0x012)),
    want: `${ETH},eth_type(0x86dd),ipv6(${IP6},label=0x12345,proto=6,tclass=0xb8,hlimit=64,frag=no),key32(00 00),tcp(src=80,dst=443),tcp_flags(syn|ack)`,
    check: (skb) => expect([skb.networkHeader, skb.transportHeader]).toEqual([14, 54]) },
  { name: 'hop-by-hop, destination options, routing, then UDP → HOP|DEST|ROUTER', kernel: 'get_ipv6_ext_hdrs() L325-377',
    frame: v6({ next: P.HOP }, opt6(P.DST, opt6(P.ROUTING, opt6(P.UDP, udp(7, 9), 1)))),
    want: `${ETH},eth_type(0x86dd),ipv6(${IP6},label=0,proto=17,tclass=0,hlimit=64,frag=no),key32(68 00),udp(src=7,dst=9)`,
    check: (skb, key) => { exthdrs(0x68)(skb, key); expect(skb.transportHeader).toBe(14 + 40 + 8 + 8 + 16); } },
  { name: 'routing before hop-by-hop → ROUTER|UNSEQ (hop not first)', kernel: 'get_ipv6_ext_hdrs() L362-377',
    frame: v6({ next: P.ROUTING }, opt6(P.HOP, opt6(P.TCP, tcpSyn))),
    want: `${ETH},eth_type(0x86dd),ipv6(${IP6},label=0,proto=6,tclass=0,hlimit=64,frag=no),key32(20 01),tcp(src=1234,dst=80),tcp_flags(syn)`,
    check: exthdrs(0x120) },
  { name: 'three destination options headers → DEST|UNREP', kernel: 'get_ipv6_ext_hdrs() L320-341',
    frame: v6({ next: P.DST }, opt6(P.DST, opt6(P.DST, opt6(P.NONE)))),
    want: `${ETH},eth_type(0x86dd),ipv6(${IP6},label=0,proto=59,tclass=0,hlimit=64,frag=no),key32(89 00)`,
    check: exthdrs(0x89) },
  { name: 'IPv6 first fragment → frag=first, FRAG bit, ports parsed', kernel: 'parse_ipv6hdr() L410-417',
    frame: v6({ next: P.FRAG }, frag6(P.UDP, 0, true, udp(5, 6))),
    want: `${ETH},eth_type(0x86dd),ipv6(${IP6},label=0,proto=17,tclass=0,hlimit=64,frag=first),key32(10 00),udp(src=5,dst=6)` },
  { name: 'IPv6 later fragment → proto 44, frag=later, no L4', kernel: 'parse_ipv6hdr() L411-415; L838-841',
    frame: v6({ next: P.FRAG }, frag6(P.UDP, 185, false, udp(5, 6))),
    want: `${ETH},eth_type(0x86dd),ipv6(${IP6},label=0,proto=44,tclass=0,hlimit=64,frag=later),key32(10 00)`,
    check: (skb) => expect(skb.transportHeader).toBe(-1) },
  { name: 'later fragment followed by an extension header → -ENOENT: proto 59, frag=first', kernel: 'ipv6_find_hdr() -ENOENT; parse_ipv6hdr() L416-426',
    frame: v6({ next: P.FRAG }, frag6(P.DST, 185, false, opt6(P.UDP, udp(5, 6)))),
    want: `${ETH},eth_type(0x86dd),ipv6(${IP6},label=0,proto=59,tclass=0,hlimit=64,frag=first),key32(18 01)`,
    // get_ipv6_ext_hdrs() walks on regardless of the offset: FRAG, then DEST out of order (UNSEQ)
    check: (skb, key) => { exthdrs(0x118)(skb, key); expect(skb.transportHeader).toBe(skb.networkHeader); } },
  { name: 'AH is skipped by its own length unit → TCP after it', kernel: 'ipv6_find_hdr() ipv6_authlen; get_ipv6_ext_hdrs() AUTH',
    frame: v6({ next: P.AH }, ah6(P.TCP, tcpSyn, 4)),
    want: `${ETH},eth_type(0x86dd),ipv6(${IP6},label=0,proto=6,tclass=0,hlimit=64,frag=no),key32(04 00),tcp(src=1234,dst=80),tcp_flags(syn)` },
  { name: 'ESP → proto 50 and no ESP bit (ESP is not an ipv6_ext_hdr)', kernel: 'get_ipv6_ext_hdrs() L287 loop condition',
    frame: v6({ next: P.ESP }, Buffer.alloc(16, 1)),
    want: `${ETH},eth_type(0x86dd),ipv6(${IP6},label=0,proto=50,tclass=0,hlimit=64,frag=no),key32(00 00)`, check: exthdrs(0) },
  { name: 'no next header → NONEXT, proto 59', kernel: 'get_ipv6_ext_hdrs() L291-294',
    frame: v6({ next: P.NONE }), want: `${ETH},eth_type(0x86dd),ipv6(${IP6},label=0,proto=59,tclass=0,hlimit=64,frag=no),key32(01 00)` },
  { name: 'hop-by-hop longer than the frame → -EPROTO: proto 59, frag=no', kernel: 'ipv6_find_hdr() -EBADMSG; L825-832',
    frame: v6({ next: P.HOP }, opt6(P.TCP, Buffer.alloc(0), 3).subarray(0, 16)),
    want: `${ETH},eth_type(0x86dd),ipv6(${IP6},label=0,proto=59,tclass=0,hlimit=64,frag=no),key32(40 00)` },
  { name: 'IPv6 header cut at 39 bytes → ip and addresses zeroed', kernel: 'parse_ipv6hdr() L393 check_header; L826-829',
    frame: v6({ next: P.TCP, label: 5 }).subarray(0, 14 + 39),
    want: `${ETH},eth_type(0x86dd),ipv6(src=::,dst=::,label=0,proto=0,tclass=0,hlimit=0,frag=no),key32(00 00)` },
  { name: 'IPv6 truncated TCP → tp zeroed', kernel: 'L843-851',
    frame: v6({ next: P.TCP }, tcpSyn.subarray(0, 19)),
    want: `${ETH},eth_type(0x86dd),ipv6(${IP6},label=0,proto=6,tclass=0,hlimit=64,frag=no),key32(00 00),tcp(src=0,dst=0),tcp_flags(0)` },
  { name: 'IPv6 SCTP', kernel: 'L860-867', frame: v6({ next: P.SCTP }, sctp(1, 2)),
    want: `${ETH},eth_type(0x86dd),ipv6(${IP6},label=0,proto=132,tclass=0,hlimit=64,frag=no),key32(00 00),sctp(src=1,dst=2)` },

  // ---- ICMPv6 and ND: parse_icmpv6() L554-627
  { name: 'ICMPv6 echo request → type/code, no nd', kernel: 'parse_icmpv6() L560-561',
    frame: v6({ next: P.ICMPV6 }, icmp(128)),
    want: `${ETH},eth_type(0x86dd),ipv6(${IP6},label=0,proto=58,tclass=0,hlimit=64,frag=no),key32(00 00),icmpv6(type=128,code=0)` },
  { name: 'ICMPv6 of 7 bytes → tp zeroed', kernel: 'icmp6hdr_ok() L433; L873-875',
    frame: v6({ next: P.ICMPV6 }, icmp(128).subarray(0, 7)),
    want: `${ETH},eth_type(0x86dd),ipv6(${IP6},label=0,proto=58,tclass=0,hlimit=64,frag=no),key32(00 00),icmpv6(type=0,code=0)` },
  { name: 'neighbour solicitation with SLL', kernel: 'parse_icmpv6() L582-617',
    frame: ns(sll(MAC_A)),
    want: `${ETH},eth_type(0x86dd),ipv6(${IP6},label=0,proto=58,tclass=0,hlimit=255,frag=no),key32(00 00),icmpv6(type=135,code=0),nd(target=${NDT},sll=${MAC_A},tll=00:00:00:00:00:00)` },
  { name: 'neighbour advertisement with TLL after an unknown option', kernel: 'parse_icmpv6() L603-611',
    frame: v6({ next: P.ICMPV6, hlim: 255 }, nd(136, NDT, ndOpt(14, 2, Buffer.alloc(14)), tll(MAC_B))),
    want: `${ETH},eth_type(0x86dd),ipv6(${IP6},label=0,proto=58,tclass=0,hlimit=255,frag=no),key32(00 00),icmpv6(type=136,code=0),nd(target=${NDT},sll=00:00:00:00:00:00,tll=${MAC_B})` },
  { name: 'SLL option of 16 bytes is skipped (only length 8 is an address)', kernel: 'parse_icmpv6() L601 opt_len == 8',
    frame: ns(ndOpt(1, 2, Buffer.from('020000000001', 'hex'))),
    want: `${ETH},eth_type(0x86dd),ipv6(${IP6},label=0,proto=58,tclass=0,hlimit=255,frag=no),key32(00 00),icmpv6(type=135,code=0),nd(target=${NDT},sll=00:00:00:00:00:00,tll=00:00:00:00:00:00)` },
  { name: 'ND option of length 0 → walk stops, target and earlier SLL kept', kernel: 'parse_icmpv6() L593-594',
    frame: ns(sll(MAC_A), ndOpt(2, 0, Buffer.alloc(6)), tll(MAC_B)),
    want: `${ETH},eth_type(0x86dd),ipv6(${IP6},label=0,proto=58,tclass=0,hlimit=255,frag=no),key32(00 00),icmpv6(type=135,code=0),nd(target=${NDT},sll=${MAC_A},tll=00:00:00:00:00:00)` },
  { name: 'ND option longer than the packet → walk stops', kernel: 'parse_icmpv6() L593 opt_len > icmp_len',
    frame: ns(ndOpt(2, 2, Buffer.from(MAC_B.replace(/:/g, ''), 'hex')).subarray(0, 8)),
    want: `${ETH},eth_type(0x86dd),ipv6(${IP6},label=0,proto=58,tclass=0,hlimit=255,frag=no),key32(00 00),icmpv6(type=135,code=0),nd(target=${NDT},sll=00:00:00:00:00:00,tll=00:00:00:00:00:00)` },
  { name: 'two SLL options → invalid: target, SLL and TLL cleared', kernel: 'parse_icmpv6() L602-603, invalid: L621-626',
    frame: ns(tll(MAC_B), sll(MAC_A), sll(MAC_B)),
    want: `${ETH},eth_type(0x86dd),ipv6(${IP6},label=0,proto=58,tclass=0,hlimit=255,frag=no),key32(00 00),icmpv6(type=135,code=0),nd(target=::,sll=00:00:00:00:00:00,tll=00:00:00:00:00:00)` },
  { name: 'a repeated SLL after an all-zero first one is accepted', kernel: 'parse_icmpv6() L602 is_zero_ether_addr',
    frame: ns(sll('00:00:00:00:00:00'), sll(MAC_A)),
    want: `${ETH},eth_type(0x86dd),ipv6(${IP6},label=0,proto=58,tclass=0,hlimit=255,frag=no),key32(00 00),icmpv6(type=135,code=0),nd(target=${NDT},sll=${MAC_A},tll=00:00:00:00:00:00)` },
  { name: 'ND message shorter than nd_msg → nd all zero', kernel: 'parse_icmpv6() L577-578',
    frame: v6({ next: P.ICMPV6, hlim: 255 }, nd(135, NDT).subarray(0, 23)),
    want: `${ETH},eth_type(0x86dd),ipv6(${IP6},label=0,proto=58,tclass=0,hlimit=255,frag=no),key32(00 00),icmpv6(type=135,code=0),nd(target=::,sll=00:00:00:00:00:00,tll=00:00:00:00:00:00)` },
  { name: 'NS with code 1 → not parsed as ND, yet emitted with nd() (type-only test in put)', kernel: 'parse_icmpv6() L563-565; __ovs_nla_put_key() ND',
    frame: v6({ next: P.ICMPV6, hlim: 255 }, Buffer.concat([Buffer.of(135, 1, 0, 0), nd(135, NDT).subarray(4), sll(MAC_A)])),
    want: `${ETH},eth_type(0x86dd),ipv6(${IP6},label=0,proto=58,tclass=0,hlimit=255,frag=no),key32(00 00),icmpv6(type=135,code=1),nd(target=::,sll=00:00:00:00:00:00,tll=00:00:00:00:00:00)` },

  // ---- MPLS: L790-819
  { name: 'MPLS one label', kernel: 'L793-818',
    frame: ether(ETH_P.MPLS, Buffer.concat([lse(100, 5, true, 64), ipv4({})])),
    want: `${ETH},eth_type(0x8847),mpls(label=100,tc=5,ttl=64,bos=1)`,
    check: (skb) => expect(skb.innerNetworkHeader).toBe(18) },
  { name: 'MPLS four labels → first three kept', kernel: 'L805-807, L816-818 MPLS_LABEL_DEPTH',
    frame: ether(ETH_P.MPLS, Buffer.concat([lse(1, 0, false, 1), lse(2, 0, false, 2), lse(3, 0, false, 3), lse(4, 0, true, 4)])),
    want: `${ETH},eth_type(0x8847),mpls(label=1,tc=0,ttl=1,bos=0,label=2,tc=0,ttl=2,bos=0,label=3,tc=0,ttl=3,bos=0)`,
    check: (skb) => expect(skb.innerNetworkHeader).toBe(30) },
  { name: 'MPLS stack without bottom of stack → entries read, mask 0 → empty MPLS attribute', kernel: 'L799-801 return 0 before num_labels_mask',
    frame: ether(ETH_P.MPLS, Buffer.concat([lse(1, 0, false, 1), lse(2, 0, false, 2)])),
    want: `${ETH},eth_type(0x8847),mpls((bad key length 0)`, // how ovs-dpctl 3.1 shows an empty MPLS attribute
    check: (_skb, key) => {
      expect(putKey(key, key, false).includes(Buffer.of(4, 0, K.mpls, 0))).toBe(true); expect(key.readUInt32LE(SWKEY.mplsNumLabelsMask.off)).toBe(0); expect(key.readUInt32BE(SWKEY.mplsLse.off + 4)).toBe(0x2002); } },

  // ---- NSH: parse_nsh() L629-681
  { name: 'NSH MD type 1', kernel: 'parse_nsh() L650-662',
    frame: ether(ETH_P.NSH, nshHdr({ flags: 2, ttl: 20, np: 1, spi: 0x42, si: 7 }, Buffer.from('00000001000000020000000300000004', 'hex'))),
    want: `${ETH},eth_type(0x894f),nsh(flags=2,ttl=20,mdtype=1,np=1,spi=0x42,si=7,c1=0x1,c2=0x2,c3=0x3,c4=0x4)` },
  { name: 'NSH MD type 2 → context zero', kernel: 'parse_nsh() L664-667',
    frame: ether(ETH_P.NSH, nshHdr({ mdtype: 2, np: 3 }, Buffer.from('000100040000000a', 'hex'))),
    want: `${ETH},eth_type(0x894f),nsh(flags=0,ttl=63,mdtype=2,np=3,spi=0x123,si=255)` },
  { name: 'NSH version 1 → EINVAL (packet dropped)', kernel: 'parse_nsh() L644-645',
    frame: ether(ETH_P.NSH, nshHdr({ ver: 1 }, Buffer.alloc(16))), err: -Errno.EINVAL },
  { name: 'NSH MD1 of the wrong length → EINVAL', kernel: 'parse_nsh() L659-660',
    frame: ether(ETH_P.NSH, nshHdr({ len: 5 }, Buffer.alloc(16))), err: -Errno.EINVAL },
  { name: 'NSH length beyond the frame → EINVAL', kernel: 'parse_nsh() L647-649',
    frame: ether(ETH_P.NSH, nshHdr({ len: 6 }, Buffer.alloc(8))), err: -Errno.EINVAL },
  { name: 'NSH base header cut → EINVAL', kernel: 'parse_nsh() L636-638',
    frame: ether(ETH_P.NSH, Buffer.alloc(7)), err: -Errno.EINVAL },
  { name: 'NSH unknown MD type → EINVAL', kernel: 'parse_nsh() L668-670',
    frame: ether(ETH_P.NSH, nshHdr({ mdtype: 3, len: 2 }, Buffer.alloc(0))), err: -Errno.EINVAL },

  // ---- packets without Ethernet: key_extract() L922-928, key_extract_mac_proto() L990-1002
  { name: 'L3 IPv4 packet on an ARPHRD_NONE device → no eth(), eth_type from skb->protocol', kernel: 'key_extract() L922-928',
    frame: ipv4({ proto: P.UDP }, udp(1, 2)), opts: { devType: 0xfffe }, setup: (skb) => { skb.protocol = ETH_P.IP; },
    want: `eth_type(0x0800),ipv4(${IP},proto=17,tos=0,ttl=64,frag=no),udp(src=1,dst=2)`,
    check: (skb) => expect([skb.networkHeader, skb.macLen, skb.transportHeader]).toEqual([0, 0, 20]) },
  { name: 'L3 packet whose skb->protocol is a VLAN TPID → EINVAL', kernel: 'key_extract() L923-924',
    frame: ipv4({}), opts: { devType: 0xfffe }, setup: (skb) => { skb.protocol = ETH_P.VLAN; }, err: -Errno.EINVAL },
  { name: 'ARPHRD_NONE device carrying ETH_P_TEB → Ethernet', kernel: 'key_extract_mac_proto() L995-996',
    frame: ether(0x88cc), opts: { devType: 0xfffe }, setup: (skb) => { skb.protocol = 0x6558; },
    want: `${ETH},eth_type(0x88cc)` },
  { name: 'any other device type → EINVAL', kernel: 'key_extract_mac_proto() L999-1001',
    frame: ether(0x88cc), opts: { devType: 772 }, err: -Errno.EINVAL },
];

function extract(c: Case): { err: number; skb: Skb; key: Buffer } {
  const skb = new Skb(Buffer.from(c.frame));
  c.setup?.(skb);
  const key = newSwFlowKey();
  const err = ovsFlowKeyExtract(skb, key, { inPort: 1, ...c.opts });
  return { err, skb, key };
}

describe('key extraction (key_extract)', () => {
  test.each([...CASES, ...CASES_2].map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const { err, skb, key } = extract(c);
    expect(err).toBe(c.err ?? 0);
    if (err) return;
    const text = formatFlowKey(putKey(key, key, false), undefined);
    expect(text.startsWith(META)).toBe(true);
    expect(text.slice(META.length)).toBe(c.want);
    c.check?.(skb, key);
  });
});
