/**
 * Header formats and protocol numbers packet parsing needs beyond net-consts.ts (Linux 6.12:
 * uapi/linux/in.h, in6.h, if_ether.h, if_arp.h, llc.h, include/net/ipv6.h, ndisc.h, mpls.h,
 * nsh.h, net/openvswitch/flow.h). Header sizes are C sizeof() values of the kernel structs.
 */
import { keySchema } from './flow-netlink-attrs';

/** IP protocol / IPv6 next-header numbers (NEXTHDR_* share the IPPROTO_* values). */
export const PROTO = {
  HOPOPTS: 0,
  ICMP: 1,
  IPIP: 4,
  TCP: 6,
  DCCP: 33,
  UDP: 17,
  IPV6: 41,
  ROUTING: 43,
  FRAGMENT: 44,
  GRE: 47,
  ESP: 50,
  AH: 51,
  ICMPV6: 58,
  NONE: 59,
  DSTOPTS: 60,
  SCTP: 132,
  UDPLITE: 136,
  MPLS: 137,
} as const;

/** EtherTypes the flow dissector knows besides ETH_P (net-consts). */
export const ETH_P_X = {
  TEB: 0x6558,
  PPP_SES: 0x8864,
  PRP: 0x88fb,
  HSR: 0x892f,
} as const;

/** sizeof() of the headers the parsers check for. */
export const HLEN = {
  ETH: 14,
  ETH_ALEN: 6,
  VLAN: 4,
  /** struct llc_snap_hdr of parse_ethertype(): dsap, ssap, ctrl, oui[3], ethertype. */
  LLC_SNAP: 8,
  IPV4: 20,
  IPV6: 40,
  TCP: 20,
  UDP: 8,
  SCTP: 12,
  ICMP: 8,
  ICMPV6: 8,
  /** struct arp_eth_header: arphdr (8) + sha, sip, tha, tip. */
  ARP_ETH: 28,
  /** struct nd_msg: icmp6hdr + target. */
  ND_MSG: 24,
  MPLS: 4,
  NSH_BASE: 8,
  NSH_M_TYPE1: 24,
} as const;

/** ARPHRD_* device types (uapi/linux/if_arp.h), as skb->dev->type. */
export const ARPHRD = { ETHER: 1, NONE: 0xfffe } as const;

/** LLC_SAP_SNAP: dsap/ssap of an 802.2 SNAP header. */
export const LLC_SAP_SNAP = 0xaa;

/** ND option types (net/ndisc.h). */
export const ND_OPT = { SOURCE_LL_ADDR: 1, TARGET_LL_ADDR: 2 } as const;

/** MPLS_LS_S_MASK: the bottom-of-stack bit of a label stack entry (host order). */
export const MPLS_LS_S_MASK = 0x100;

/** IPv4 frag_off bits (host order). */
export const IP_MF = 0x2000;
export const IP_OFFSET = 0x1fff;

/** VLAN TCI fields (linux/if_vlan.h). */
export const VLAN_VID_MASK = 0x0fff;
export const VLAN_PRIO_MASK = 0xe000;
export const VLAN_PRIO_SHIFT = 13;

/** IPv6 flow label bits of the first word (IPV6_FLOWINFO_FLOWLABEL / IPV6_FLOWLABEL_MASK). */
export const IPV6_FLOWLABEL_MASK = 0x000fffff;

/**
 * enum ofp12_ipv6exthdr_flags (flow.h): the bits of sw_flow_key.ipv6.exthdrs, i.e. of the
 * OVS_KEY_ATTR_IPV6_EXTHDRS payload.
 */
export const OFPIEH12 = {
  NONEXT: 1 << 0,
  ESP: 1 << 1,
  AUTH: 1 << 2,
  DEST: 1 << 3,
  FRAG: 1 << 4,
  ROUTER: 1 << 5,
  HOP: 1 << 6,
  UNREP: 1 << 7,
  UNSEQ: 1 << 8,
} as const;

/** EPROTO: ipv6_find_hdr() found no upper-layer header; key extraction turns it into success. */
export const EPROTO = 71;

/** ipv6_ext_hdr(): the next-header values that are extension headers (ESP is not one). */
export function ipv6ExtHdr(nexthdr: number): boolean {
  return nexthdr === PROTO.HOPOPTS || nexthdr === PROTO.ROUTING || nexthdr === PROTO.FRAGMENT ||
    nexthdr === PROTO.AH || nexthdr === PROTO.NONE || nexthdr === PROTO.DSTOPTS;
}

/** ipv6_optlen(): length of a hop-by-hop, routing or destination options header. */
export function ipv6OptLen(hdrlen: number): number {
  return (hdrlen + 1) << 3;
}

/** ipv6_authlen(): length of an authentication header. */
export function ipv6AuthLen(hdrlen: number): number {
  return (hdrlen + 2) << 2;
}

/** OVS_FRAG_TYPE_* values, from the schema's frag-type enum. */
export interface FragTypes {
  none: number;
  first: number;
  later: number;
}

let frag: FragTypes | undefined;
/** fragType returns the OVS_FRAG_TYPE_* values (read-only data, resolved on first use). */
export function fragType(): FragTypes {
  if (!frag) {
    const fam = keySchema().family;
    frag = { none: fam.enumValue('frag-type', 'none'), first: fam.enumValue('frag-type', 'first'), later: fam.enumValue('frag-type', 'later') };
  }
  return frag;
}
