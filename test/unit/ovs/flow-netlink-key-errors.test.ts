/**
 * Every EINVAL path of ovs_nla_get_match() (net/openvswitch/flow_netlink.c, Linux 6.12): the
 * attribute walker (__parse_flow_nlattrs), VLAN unwrapping, metadata, tunnel, field parsers and
 * match_validate(). Each case names the kernel check; the OVS_NLERR text it logs (where it logs
 * one) is asserted too, so a case cannot pass by failing earlier for another reason.
 */
import { Errno } from '../../../lib/nl/errno';
import { NlError } from '../../../lib/nl/errors';
import { ovsNlaGetMatch, type MatchOptions } from '../../../lib/ovs/flow-netlink-key';
import {
  K, N, S, T, V, arp, attrs, be16, encap, eth, ethType, fill, hex, icmp, icmpv6, inPort, ipv4, ipv6, mpls, nd,
  nla, nsh, nshBase, nshMd1, sctp, tcp, tcpFlags, tun, tunnel, u16, u32, u8, udp, vlan,
} from './key-builder';

const KT = (name: string): number => S.keySet.byName.get(name)!.type;
const ip6 = (last: number): Buffer => { const b = Buffer.alloc(16); b[15] = last; return b; };

// A valid TCP/IPv4 flow and the exact mask ovs-dpctl sends for it.
const L2 = [inPort(1), eth()];
const TCP4 = [...L2, ethType(0x0800), ipv4(), tcp(), tcpFlags()];
const TCP4_MASK = [inPort(0xffffffff), nla(K.ethernet, fill(12, 0xff)), ethType(0xffff), nla(K.ipv4, fill(12, 0xff)),
  nla(K.tcp, fill(4, 0xff)), tcpFlags(0)];
const TUN_OK = [tun.dst4('192.0.2.1'), tun.ttl(64)];
const withTunnel = (...t: Buffer[]): Buffer[] => [tunnel(...t), ...TCP4];
const tagged = (...inner: Buffer[]): Buffer[] => [...L2, ethType(0x8100), vlan(0x1005), encap(...inner)];
const INNER4 = [ethType(0x0800), ipv4({ 'ipv4-proto': 17 }), udp()];

interface Case {
  name: string;
  key: Buffer[];
  mask?: Buffer[];
  opts?: MatchOptions;
  /** Substring of the kernel's OVS_NLERR message (undefined: the path logs nothing). */
  log?: string;
}

const CASES: Case[] = [
  // ---- __parse_flow_nlattrs (keys) ----
  { name: 'key: type above OVS_KEY_ATTR_MAX → EINVAL', key: [...TCP4, nla(S.keySet.maxType + 1, u32(0))], log: 'is out of range max 32' },
  { name: 'key: PACKET_TYPE (userspace datapath only) → EINVAL', key: [...TCP4, nla(KT('packet-type'), u32(0))], log: 'is not supported' },
  { name: 'key: ND_EXTENSIONS → EINVAL', key: [...TCP4, nla(KT('nd-extensions'), u32(0))], log: 'is not supported' },
  { name: 'key: TUNNEL_INFO (kernel-internal) → EINVAL', key: [...TCP4, nla(KT('tunnel-info'), u32(0))], log: 'is not supported' },
  { name: 'key: duplicate attribute → EINVAL', key: [inPort(1), ...TCP4], log: 'Duplicate key (type 3)' },
  { name: 'key: length other than ovs_key_lens → EINVAL', key: [nla(K['in-port'], u16(1)), ...TCP4.slice(1)], log: 'unexpected len 2' },
  { name: 'key: type 0 with a payload → EINVAL (unexpected len)', key: [...TCP4, nla(0, u32(0))], log: 'Key 0 has unexpected len 4' },
  { name: 'key: leftover bytes → EINVAL', key: [...TCP4, Buffer.alloc(4)], log: 'Message has 4 unknown bytes' },
  {
    name: 'key: last attribute without its padding (rem < 0) → EINVAL',
    key: [...L2, nla(K.ethertype, be16(0x0806)).subarray(0, 6)],
    log: 'Message has -2 unknown bytes',
  },
  { name: 'key: type 0 of length 0 is left unconsumed → EINVAL (Unknown key attributes)', key: [...TCP4, nla(0)], log: 'Unknown key attributes 1' },

  // ---- VLAN (validate_vlan_from_nlattrs, __parse_vlan_from_nlattrs) ----
  { name: 'key: 802.1Q EtherType without VLAN and ENCAP → EINVAL (Invalid VLAN frame)', key: [...L2, ethType(0x8100), vlan(0x1005)], log: 'Invalid VLAN frame' },
  { name: 'key: VLAN TCI without the CFI bit → EINVAL', key: [...L2, ethType(0x8100), vlan(0x0005), encap(...INNER4)], log: 'VLAN TCI does not have VLAN_CFI_MASK' },
  { name: 'key: truncated VLAN header (TCI 0) with a non-empty ENCAP → EINVAL', key: [...L2, ethType(0x8100), vlan(0), encap(...INNER4)], log: 'Truncated VLAN header' },
  { name: 'key: C-VLAN EtherType without VLAN and ENCAP → EINVAL', key: tagged(ethType(0x8100), ipv4()), log: 'Invalid C-VLAN frame' },
  { name: 'key: C-VLAN TCI without the CFI bit → EINVAL', key: tagged(ethType(0x8100), vlan(0x0007), encap(...INNER4)), log: 'C-VLAN TCI does not have' },
  { name: 'key: truncated C-VLAN header with a non-empty ENCAP → EINVAL', key: tagged(ethType(0x8100), vlan(0), encap(...INNER4)), log: 'Truncated C-VLAN header' },
  { name: 'key: attribute repeated inside ENCAP → EINVAL (Duplicate key)', key: tagged(inPort(2), ...INNER4), log: 'Duplicate key (type 3)' },
  { name: 'key: bad attribute inside ENCAP → EINVAL', key: tagged(nla(K.ethertype, u32(0x0800)), ipv4()), log: 'unexpected len 4' },
  { name: 'key: trailing bytes inside ENCAP → EINVAL', key: tagged(...INNER4, Buffer.alloc(4)), log: 'Message has 4 unknown bytes' },
  {
    name: 'key: third tag carrying a VLAN attribute → EINVAL (VLAN attribute unexpected)',
    key: tagged(ethType(0x88a8), vlan(0x1001), encap(ethType(0x8100), vlan(0x1002), encap(...INNER4))),
    log: 'VLAN attribute unexpected',
  },
  { name: 'key: VLAN attribute on an untagged frame → EINVAL (VLAN attribute unexpected)', key: [...TCP4, vlan(0x1001)], log: 'VLAN attribute unexpected' },
  { name: 'key: ENCAP on an untagged frame → EINVAL (Unknown key attributes)', key: [...TCP4, encap()], log: 'Unknown key attributes 2' },

  // ---- metadata_from_nlattrs ----
  { name: 'key: in_port 65535 (DP_MAX_PORTS) → EINVAL', key: [inPort(65535), ...TCP4.slice(1)], log: 'Port 65535 exceeds max allowable 65535' },
  { name: 'key: ct_state with bits outside CT_SUPPORTED_MASK → EINVAL', key: [...TCP4, nla(K['ct-state'], u32(0x100))], log: 'ct_state flags 00000100 unsupported' },
  { name: 'key: CT_STATE without conntrack → EINVAL (Unknown key attributes)', key: [...TCP4, nla(K['ct-state'], u32(0x21))], opts: { ct: { enabled: false, labels: false } }, log: 'Unknown key attributes 400000' },
  { name: 'key: CT_ZONE without conntrack → EINVAL', key: [...TCP4, nla(K['ct-zone'], u16(1))], opts: { ct: { enabled: false, labels: false } }, log: 'Unknown key attributes 800000' },
  { name: 'key: CT_LABELS without connlabels (xt_label) → EINVAL', key: [...TCP4, nla(K['ct-labels'], fill(16, 1))], opts: { ct: { enabled: true, labels: false } }, log: 'Unknown key attributes 2000000' },
  { name: 'key: layer 3 EtherType below 0x600 → EINVAL', key: [inPort(1), ethType(0x0500)], log: 'EtherType 500 is less than min 600' },

  // ---- ip_tun_from_nlattr and the option parsers ----
  { name: 'tunnel: attribute above OVS_TUNNEL_KEY_ATTR_MAX → EINVAL', key: withTunnel(...TUN_OK, nla(S.tunSet.maxType + 1)), log: 'Tunnel attr 17 out of range' },
  { name: 'tunnel: length other than ovs_tunnel_key_lens → EINVAL', key: withTunnel(...TUN_OK, nla(T.id, u32(1))), log: 'Tunnel attr 0 has unexpected len 4' },
  { name: 'tunnel: flag attribute with a payload → EINVAL', key: withTunnel(...TUN_OK, nla(T.csum, u8(1))), log: 'Tunnel attr 6 has unexpected len 1' },
  { name: 'tunnel: two option blocks → EINVAL (Multiple metadata blocks)', key: withTunnel(...TUN_OK, tun.geneve(fill(8, 1)), tun.vxlan(tun.gbp(1))), log: 'Multiple metadata blocks' },
  { name: 'tunnel: ERSPAN after Geneve → EINVAL (Multiple metadata blocks)', key: withTunnel(...TUN_OK, tun.geneve(fill(8, 1)), tun.erspan(fill(12, 1))), log: 'Multiple metadata blocks' },
  { name: 'tunnel: Geneve options over 255 bytes → EINVAL', key: withTunnel(...TUN_OK, tun.geneve(fill(256, 1))), log: 'Geneve option length err (len 256' },
  { name: 'tunnel: Geneve options not a multiple of 4 → EINVAL', key: withTunnel(...TUN_OK, tun.geneve(fill(6, 1))), log: 'Geneve opt len 6 is not a multiple of 4' },
  { name: 'tunnel: VXLAN extension above OVS_VXLAN_EXT_MAX → EINVAL', key: withTunnel(...TUN_OK, tun.vxlan(nla(V.gbp + 1, u32(0)))), log: 'VXLAN extension 2 out of range' },
  { name: 'tunnel: VXLAN GBP of the wrong length → EINVAL', key: withTunnel(...TUN_OK, tun.vxlan(nla(V.gbp, u16(0)))), log: 'VXLAN extension 1 has unexpected len 2' },
  { name: 'tunnel: VXLAN extension type 0 → EINVAL (Unknown VXLAN extension)', key: withTunnel(...TUN_OK, tun.vxlan(nla(0))), log: 'Unknown VXLAN extension attribute 0' },
  { name: 'tunnel: VXLAN extension trailing bytes → EINVAL', key: withTunnel(...TUN_OK, tun.vxlan(tun.gbp(1), Buffer.alloc(4))), log: 'VXLAN extension message has 4 unknown bytes' },
  { name: 'tunnel: ERSPAN options over 255 bytes → EINVAL', key: withTunnel(...TUN_OK, tun.erspan(fill(256, 1))), log: 'ERSPAN option length err (len 256' },
  { name: 'tunnel: trailing bytes → EINVAL', key: withTunnel(...TUN_OK, Buffer.alloc(4)), log: 'IP tunnel attribute has 4 unknown bytes' },
  { name: 'tunnel: IPv4 and IPv6 addresses together → EINVAL', key: withTunnel(...TUN_OK, tun.src6(ip6(1))), log: 'Mixed IPv4 and IPv6 tunnel attributes' },
  { name: 'tunnel: info-bridge with IPv6 → EINVAL (Mixed)', key: withTunnel(tun.bridge(), tun.dst6(ip6(1)), tun.ttl(1)), log: 'Mixed IPv4 and IPv6' },
  { name: 'tunnel key: no address at all → EINVAL', key: withTunnel(tun.ttl(64)), log: 'IP tunnel dst address not specified' },
  { name: 'tunnel key: empty TUNNEL nest → EINVAL', key: withTunnel(), log: 'IP tunnel dst address not specified' },
  { name: 'tunnel key: IPv4 destination zero → EINVAL', key: withTunnel(tun.src4('192.0.2.2'), tun.ttl(64)), log: 'IPv4 tunnel dst address is zero' },
  { name: 'tunnel key: IPv6 destination zero → EINVAL', key: withTunnel(tun.src6(ip6(1)), tun.ttl(64)), log: 'IPv6 tunnel dst address is zero' },
  { name: 'tunnel key: no TTL → EINVAL', key: withTunnel(tun.dst4('192.0.2.1')), log: 'IP tunnel TTL not specified' },
  { name: 'tunnel key: info-bridge with other fields → EINVAL', key: withTunnel(tun.bridge(), tun.ttl(1)), log: 'IPv4 tun info is not correct' },
  { name: 'tunnel key: info-bridge with a flag → EINVAL', key: withTunnel(tun.bridge(), tun.csum()), log: 'IPv4 tun info is not correct' },
  {
    name: 'tunnel mask: Geneve length differs from the key\'s → EINVAL',
    key: withTunnel(...TUN_OK, tun.geneve(fill(8, 1))),
    mask: [tunnel(tun.geneve(fill(4, 0xff))), ...TCP4_MASK],
    log: 'Geneve option len 8 != mask len 4',
  },

  // ---- ovs_key_from_nlattrs ----
  { name: 'key: ETHERNET with an EtherType below 0x600 → EINVAL', key: [...L2, ethType(0x05dc)], log: 'EtherType 5dc is less than min 600' },
  { name: 'key: neither ETHERNET nor ETHERTYPE → EINVAL', key: [inPort(1)], log: 'Either Ethernet header or EtherType is required' },
  { name: 'key: IPv4 frag type above OVS_FRAG_TYPE_MAX → EINVAL', key: [...L2, ethType(0x0800), ipv4({ 'ipv4-frag': 3 }), tcp(), tcpFlags()], log: 'IPv4 frag type 3 is out of range max 2' },
  { name: 'key: IPv6 frag type above OVS_FRAG_TYPE_MAX → EINVAL', key: [...L2, ethType(0x86dd), ipv6({ 'ipv6-frag': 3 })], log: 'IPv6 frag type 3 is out of range max 2' },
  { name: 'key: IPv6 flow label over 20 bits → EINVAL', key: [...L2, ethType(0x86dd), ipv6({ 'ipv6-label': 0x100000 })], log: 'IPv6 flow label 100000 is out of range' },
  { name: 'key: ARP opcode above 255 → EINVAL', key: [...L2, ethType(0x0806), arp({ 'arp-op': 0x100 })], log: 'Unknown ARP opcode (opcode=256)' },
  { name: 'key: MPLS of 0 bytes → EINVAL', key: [...L2, ethType(0x8847), nla(K.mpls)] },
  { name: 'key: MPLS of 4 labels → EINVAL', key: [...L2, ethType(0x8847), mpls(1, 2, 3, 4)] },
  { name: 'key: MPLS length not a multiple of 4 → EINVAL', key: [...L2, ethType(0x8847), nla(K.mpls, fill(6, 1))] },
  { name: 'key: NSH attribute above OVS_NSH_KEY_ATTR_MAX → EINVAL', key: [...L2, ethType(0x894f), nsh(nshBase(), nla(N.md2 + 1))], log: 'nsh attr 4 is out of range max 3' },
  { name: 'key: NSH BASE of the wrong length → EINVAL', key: [...L2, ethType(0x894f), nsh(nla(N.base, fill(7, 0)))], log: 'nsh attr 1 has unexpected len 7' },
  { name: 'key: NSH MD type 2 context (ENOTSUPP) → EINVAL', key: [...L2, ethType(0x894f), nsh(nshBase({ mdtype: 2 }), nla(N.md2, fill(8, 0)))] },
  { name: 'key: NSH type 0 → EINVAL (Unknown nsh attribute)', key: [...L2, ethType(0x894f), nsh(nshBase(), nla(0))], log: 'Unknown nsh attribute 0' },
  { name: 'key: NSH trailing bytes → EINVAL', key: [...L2, ethType(0x894f), nsh(nshBase(), nshMd1(), Buffer.alloc(4))], log: 'nsh attribute has 4 unknown bytes' },
  { name: 'key: NSH MD1 context with MD type 2 → EINVAL', key: [...L2, ethType(0x894f), nsh(nshBase({ mdtype: 2 }), nshMd1())], log: 'unmatched MD type 2' },
  { name: 'key: NSH MD1 context without BASE → EINVAL', key: [...L2, ethType(0x894f), nsh(nshMd1())], log: 'unmatched MD type 0' },

  // ---- masks (parse_flow_mask_nlattrs, validate_vlan_mask_from_nlattrs, is_mask field rules) ----
  { name: 'mask: duplicate attribute, the second all-zero → EINVAL', key: TCP4, mask: [...TCP4_MASK, nla(K.ipv4, fill(12, 0))], log: 'Duplicate key (type 7)' },
  { name: 'mask: length other than ovs_key_lens → EINVAL', key: TCP4, mask: [...TCP4_MASK, nla(K['skb-mark'], u16(0))], log: 'Key 15 has unexpected len 2' },
  { name: 'mask: kernel-only type → EINVAL', key: TCP4, mask: [...TCP4_MASK, nla(KT('packet-type'), u32(0))], log: 'is not supported' },
  { name: 'mask: leftover bytes → EINVAL', key: TCP4, mask: [...TCP4_MASK, Buffer.alloc(4)], log: 'Message has 4 unknown bytes' },
  { name: 'mask: ct_state with unsupported bits → EINVAL', key: [...TCP4, nla(K['ct-state'], u32(0x21))], mask: [...TCP4_MASK, nla(K['ct-state'], u32(0x1ff))], log: 'ct_state flags 000001ff unsupported' },
  { name: 'mask: ENCAP for an untagged key → EINVAL', key: TCP4, mask: [...TCP4_MASK, encap(ethType(0xffff))], log: 'Encap mask attribute is set for non-VLAN frame' },
  {
    name: 'mask: VLAN TPID not exact → EINVAL',
    key: tagged(...INNER4),
    mask: [inPort(0xffffffff), ethType(0xfff0), vlan(0xffff), encap(ethType(0xffff))],
    log: 'Must have an exact match on VLAN TPID (mask=fff0)',
  },
  {
    name: 'mask: VLAN TPID wildcarded (the key\'s inner EtherType is read instead) → EINVAL',
    key: tagged(...INNER4),
    mask: [inPort(0xffffffff), vlan(0xffff), encap(ethType(0xffff))],
    log: 'Must have an exact match on VLAN TPID (mask=800)',
  },
  {
    name: 'mask: VLAN TCI mask without the CFI bit → EINVAL',
    key: tagged(...INNER4),
    mask: [inPort(0xffffffff), ethType(0xffff), vlan(0x0fff), encap(ethType(0xffff))],
    log: 'VLAN TCI mask does not have exact match for VLAN_CFI_MASK',
  },
  {
    name: 'mask: C-VLAN ENCAP for a single-tagged key → EINVAL',
    key: tagged(...INNER4),
    mask: [ethType(0xffff), vlan(0xffff), encap(ethType(0xffff), vlan(0xffff), encap(ethType(0xffff)))],
    log: 'Encap mask attribute is set for non-C-VLAN frame',
  },
  {
    name: 'mask: C-VLAN TPID not exact → EINVAL',
    key: tagged(ethType(0x8100), vlan(0x1002), encap(...INNER4)),
    mask: [ethType(0xffff), vlan(0xffff), encap(ethType(0x00ff), vlan(0xffff), encap(ethType(0xffff)))],
    log: 'Must have an exact match on C-VLAN TPID',
  },
  {
    name: 'mask: VLAN without ENCAP → EINVAL (VLAN attribute unexpected)',
    key: tagged(...INNER4),
    mask: [nla(K.ethernet, fill(12, 0xff)), ethType(0xffff), vlan(0xffff)],
    log: 'VLAN attribute unexpected',
  },
  {
    name: 'exact mask of a truncated VLAN key: VLAN kept, empty ENCAP dropped → EINVAL (VLAN attribute unexpected)',
    key: [...L2, ethType(0x8100), vlan(0), encap()],
    log: 'VLAN attribute unexpected',
  },
  {
    name: 'exact mask of a tagged 802.2 frame (empty ENCAP) → EINVAL (VLAN attribute unexpected)',
    key: [...L2, ethType(0x8100), vlan(0x1000), encap()],
    log: 'VLAN attribute unexpected',
  },
  { name: 'mask: MPLS of 4 labels → EINVAL', key: [...L2, ethType(0x8847), mpls(1)], mask: [ethType(0xffff), mpls(1, 1, 1, 1)] },
  { name: 'mask: NSH trailing bytes → EINVAL', key: [...L2, ethType(0x894f), nsh(nshBase(), nshMd1())], mask: [ethType(0xffff), nsh(nshBase(), Buffer.alloc(4))], log: 'nsh attribute has 4 unknown bytes' },
  { name: 'mask: tunnel trailing bytes → EINVAL', key: withTunnel(...TUN_OK), mask: [tunnel(tun.ttl(0xff), Buffer.alloc(4)), ...TCP4_MASK], log: 'IP tunnel attribute has 4 unknown bytes' },
  { name: 'mask: type 0 with a payload → EINVAL (unexpected len)', key: TCP4, mask: [...TCP4_MASK, nla(0, u32(1))], log: 'Key 0 has unexpected len 4' },

  // ---- match_validate: expected key attributes ----
  { name: 'key: TCP without TCP_FLAGS → EINVAL (Missing key)', key: [...L2, ethType(0x0800), ipv4(), tcp()], log: 'Missing key (keys=' },
  { name: 'key: IPv4 EtherType without IPV4 → EINVAL (Missing key)', key: [...L2, ethType(0x0800), tcp()], log: 'Missing key' },
  { name: 'key: UDP protocol without UDP → EINVAL (Missing key)', key: [...L2, ethType(0x0800), ipv4({ 'ipv4-proto': 17 })], log: 'Missing key' },
  { name: 'key: SCTP protocol without SCTP → EINVAL (Missing key)', key: [...L2, ethType(0x0800), ipv4({ 'ipv4-proto': 132 })], log: 'Missing key' },
  { name: 'key: ICMP protocol without ICMP → EINVAL (Missing key)', key: [...L2, ethType(0x0800), ipv4({ 'ipv4-proto': 1 })], log: 'Missing key' },
  { name: 'key: IPv6 EtherType without IPV6 → EINVAL (Missing key)', key: [...L2, ethType(0x86dd)], log: 'Missing key' },
  { name: 'key: IPv6 TCP without TCP_FLAGS → EINVAL (Missing key)', key: [...L2, ethType(0x86dd), ipv6({ 'ipv6-proto': 6 }), tcp()], log: 'Missing key' },
  { name: 'key: ICMPv6 protocol without ICMPV6 → EINVAL (Missing key)', key: [...L2, ethType(0x86dd), ipv6({ 'ipv6-proto': 58 })], log: 'Missing key' },
  { name: 'key: neighbour solicitation without ND → EINVAL (Missing key)', key: [...L2, ethType(0x86dd), ipv6({ 'ipv6-proto': 58 }), icmpv6(135)], log: 'Missing key' },
  { name: 'key: ARP EtherType without ARP → EINVAL (Missing key)', key: [...L2, ethType(0x0806)], log: 'Missing key' },
  { name: 'key: RARP EtherType without ARP → EINVAL (Missing key)', key: [...L2, ethType(0x8035)], log: 'Missing key' },
  { name: 'key: MPLS EtherType without MPLS → EINVAL (Missing key)', key: [...L2, ethType(0x8848)], log: 'Missing key' },
  { name: 'key: NSH EtherType without NSH → EINVAL (Missing key)', key: [...L2, ethType(0x894f)], log: 'Missing key' },
  { name: 'lookup key (GET/DEL, no mask): TCP without TCP_FLAGS → EINVAL (Missing key)', key: [...L2, ethType(0x0800), ipv4(), tcp()], opts: { withMask: false }, log: 'Missing key' },

  // ---- match_validate: allowed mask attributes ----
  { name: 'mask: IPV4 with the EtherType wildcarded → EINVAL (Unexpected mask)', key: TCP4, mask: TCP4_MASK.filter((_, i) => i !== 2), log: 'Unexpected mask (mask=' },
  { name: 'mask: IPV4 with an all-zero EtherType mask → EINVAL (Unexpected mask)', key: TCP4, mask: [...TCP4_MASK.slice(0, 2), ethType(0), ...TCP4_MASK.slice(3)], log: 'Unexpected mask' },
  { name: 'mask: TCP with the IP protocol not exact → EINVAL (Unexpected mask)', key: TCP4, mask: [...TCP4_MASK.slice(0, 3), nla(K.ipv4, hex('ffffffffffffffff7f000000')), ...TCP4_MASK.slice(4)], log: 'Unexpected mask' },
  { name: 'mask: TCP_FLAGS with the IP protocol wildcarded → EINVAL (Unexpected mask)', key: TCP4, mask: [...TCP4_MASK.slice(0, 3), nla(K.ipv4, hex('ffffffffffffffff00000000')), tcpFlags(0x0fff)], log: 'Unexpected mask' },
  {
    name: 'mask: ND with the ICMPv6 type not exact → EINVAL (Unexpected mask)',
    key: [...L2, ethType(0x86dd), ipv6({ 'ipv6-proto': 58 }), icmpv6(135), nd()],
    mask: [ethType(0xffff), nla(K.ipv6, fill(40, 0xff)), nla(K.icmpv6, hex('f0ff')), nla(K.nd, fill(28, 0xff))],
    log: 'Unexpected mask',
  },
  {
    name: 'mask: CT_ORIG_TUPLE_IPV6 on an ND key → EINVAL (Unexpected mask)',
    key: [...L2, ethType(0x86dd), ipv6({ 'ipv6-proto': 58 }), icmpv6(136), nd(), nla(K['ct-orig-tuple-ipv6'], fill(40, 1))],
    mask: [ethType(0xffff), nla(K.ipv6, fill(40, 0xff)), nla(K.icmpv6, fill(2, 0xff)), nla(K['ct-orig-tuple-ipv6'], fill(40, 0xff))],
    log: 'Unexpected mask',
  },
  { name: 'mask: CT_ORIG_TUPLE_IPV4 with the EtherType wildcarded → EINVAL (Unexpected mask)', key: [...TCP4, nla(K['ct-orig-tuple-ipv4'], fill(16, 1))], mask: [inPort(0xffffffff), nla(K['ct-orig-tuple-ipv4'], fill(16, 0xff))], log: 'Unexpected mask' },
  { name: 'mask: attribute the key does not have → EINVAL (Unexpected mask)', key: TCP4, mask: [...TCP4_MASK, nla(K['skb-mark'], u32(1))], log: 'Unexpected mask' },
  { name: 'mask: ARP with the EtherType wildcarded → EINVAL (Unexpected mask)', key: [...L2, ethType(0x0806), arp()], mask: [nla(K.arp, fill(24, 0xff))], log: 'Unexpected mask' },
  { name: 'mask: MPLS with the EtherType wildcarded → EINVAL (Unexpected mask)', key: [...L2, ethType(0x8847), mpls(1)], mask: [mpls(0xffffffff)], log: 'Unexpected mask' },
  { name: 'mask: NSH with the EtherType wildcarded → EINVAL (Unexpected mask)', key: [...L2, ethType(0x894f), nsh(nshBase(), nshMd1())], mask: [nsh(nshBase())], log: 'Unexpected mask' },
  { name: 'mask: UDP with the IP protocol wildcarded → EINVAL (Unexpected mask)', key: [...L2, ...INNER4], mask: [ethType(0xffff), udp(0, 0xffff)], log: 'Unexpected mask' },
  { name: 'mask: SCTP with the IP protocol wildcarded → EINVAL (Unexpected mask)', key: [...L2, ethType(0x0800), ipv4({ 'ipv4-proto': 132 }), sctp()], mask: [ethType(0xffff), sctp(0xffff, 0)], log: 'Unexpected mask' },
  { name: 'mask: ICMP with the IP protocol wildcarded → EINVAL (Unexpected mask)', key: [...L2, ethType(0x0800), ipv4({ 'ipv4-proto': 1 }), icmp()], mask: [ethType(0xffff), icmp(0xff, 0xff)], log: 'Unexpected mask' },
];

describe('ovs_nla_get_match: EINVAL paths', () => {
  it.each(CASES)('$name', ({ key, mask, opts, log }) => {
    const logs: string[] = [];
    let err: unknown;
    try {
      ovsNlaGetMatch(attrs(...key), mask && attrs(...mask), { ...opts, log: (m) => logs.push(m) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NlError);
    expect((err as NlError).errno).toBe(Errno.EINVAL);
    expect((err as NlError).extack).toEqual({}); // the kernel only logs
    if (log !== undefined) expect(logs.join('\n')).toContain(log);
  });

  it('the bases the cases start from are valid', () => {
    expect(() => ovsNlaGetMatch(attrs(...TCP4), attrs(...TCP4_MASK))).not.toThrow();
    expect(() => ovsNlaGetMatch(attrs(...withTunnel(...TUN_OK)), undefined)).not.toThrow();
    expect(() => ovsNlaGetMatch(attrs(...tagged(...INNER4)), undefined)).not.toThrow();
    expect(() => ovsNlaGetMatch(attrs(...tagged(ethType(0x8100), vlan(0x1002), encap(...INNER4))), undefined)).not.toThrow();
    expect(() => ovsNlaGetMatch(attrs(...L2, ethType(0x894f), nsh(nshBase(), nshMd1())), undefined)).not.toThrow();
  });

  it('a probe (log suppressed) fails the same way without logging', () => {
    const logs: string[] = [];
    expect(() => ovsNlaGetMatch(attrs(...L2, ethType(0x0800), ipv4(), tcp()), undefined, { log: () => undefined })).toThrow(NlError);
    expect(logs).toEqual([]);
  });
});

