/**
 * Packet-format constants the flow key code tests values against (Linux 6.12 headers:
 * uapi/linux/if_ether.h, uapi/linux/in.h, net/ndisc.h, linux/if_vlan.h, net/nsh.h,
 * uapi/linux/if_tunnel.h, linux/socket.h). These are protocol numbers carried inside
 * attribute payloads, not netlink attribute numbers or lengths (those come from the schema).
 */

/** EtherTypes (host-order values of the big-endian field). */
export const ETH_P = {
  /** Pseudo type of 802.2 LLC frames: what a key with Ethernet but no EtherType gets. */
  P802_2: 0x0004,
  /** Values below this are 802.3 lengths, not EtherTypes (eth_proto_is_802_3). */
  P802_3_MIN: 0x0600,
  IP: 0x0800,
  ARP: 0x0806,
  RARP: 0x8035,
  P8021Q: 0x8100,
  IPV6: 0x86dd,
  MPLS_UC: 0x8847,
  MPLS_MC: 0x8848,
  P8021AD: 0x88a8,
  NSH: 0x894f,
} as const;

/** IP protocol numbers. */
export const IPPROTO = { ICMP: 1, TCP: 6, UDP: 17, ICMPV6: 58, SCTP: 132 } as const;

/** ICMPv6 types that carry an ND key (net/ndisc.h). */
export const NDISC = { NEIGHBOUR_SOLICITATION: 135, NEIGHBOUR_ADVERTISEMENT: 136 } as const;

/** VLAN_CFI_MASK: the CFI/DEI bit of a TCI, which OVS uses to mark a present tag. */
export const VLAN_CFI_MASK = 0x1000;

/** Address families stored in sw_flow_key.tun_proto. */
export const AF_INET = 2;
export const AF_INET6 = 10;

/** NSH MD types (net/nsh.h). */
export const NSH_M_TYPE1 = 1;
export const NSH_M_TYPE2 = 2;
/** NSH_CTX_HDRS_MAX_LEN: the longest MD type 2 context a push_nsh may carry. */
export const NSH_CTX_HDRS_MAX_LEN = 248;

/** Bit numbers of the ip_tunnel_key.tun_flags bitmap (enum in uapi/linux/if_tunnel.h, 6.12). */
export const IP_TUNNEL_BIT = {
  CSUM: 0,
  KEY: 2,
  DONT_FRAGMENT: 8,
  OAM: 9,
  GENEVE_OPT: 11,
  VXLAN_OPT: 12,
  ERSPAN_OPT: 14,
  GTP_OPT: 15,
  PFCP_OPT: 17,
} as const;

/** The "options present" bits (ip_tunnel_is_options_present). */
export const IP_TUNNEL_OPTIONS_PRESENT =
  (1 << IP_TUNNEL_BIT.GENEVE_OPT) | (1 << IP_TUNNEL_BIT.VXLAN_OPT) | (1 << IP_TUNNEL_BIT.ERSPAN_OPT) |
  (1 << IP_TUNNEL_BIT.GTP_OPT) | (1 << IP_TUNNEL_BIT.PFCP_OPT);

/** eth_type_vlan(): 802.1Q or 802.1ad. */
export function ethTypeVlan(t: number): boolean {
  return t === ETH_P.P8021Q || t === ETH_P.P8021AD;
}

/** eth_p_mpls(): MPLS unicast or multicast. */
export function ethPMpls(t: number): boolean {
  return t === ETH_P.MPLS_UC || t === ETH_P.MPLS_MC;
}

/** eth_proto_is_802_3(): an EtherType rather than an 802.3 length (the low byte is ignored). */
export function ethProtoIs8023(t: number): boolean {
  return (t & 0xff00) >= ETH_P.P802_3_MIN;
}
