/**
 * IPv6 extension header walks of net/ipv6/exthdrs_core.c that the actions and conntrack use:
 * ipv6_skip_exthdr() (find the upper-layer header) and the routing-header case of
 * ipv6_find_hdr() that set_ipv6() consults before touching the L4 checksum.
 */
import { PROTO, ipv6AuthLen, ipv6ExtHdr, ipv6OptLen } from './flow-extract-consts';

/** sizeof(struct ipv6hdr). */
export const IPV6_HLEN = 40;

/** SkippedExthdrs: where the upper-layer header starts, its protocol, and the fragment offset seen. */
export interface SkippedExthdrs {
  off: number;
  nexthdr: number;
  /** Fragment offset (bytes, IP6_OFFSET bits) of a fragment header on the way, 0 if none. */
  fragOff: number;
}

/**
 * ipv6SkipExthdr is ipv6_skip_exthdr(): from `start` (just past the fixed header) with next
 * header `nexthdr`, skip extension headers; undefined when one is truncated.
 */
// kernel: ipv6_skip_exthdr()
export function ipv6SkipExthdr(buf: Buffer, start: number, nexthdr: number): SkippedExthdrs | undefined {
  let off = start;
  let nh = nexthdr;
  let fragOff = 0;
  while (ipv6ExtHdr(nh)) {
    if (nh === PROTO.NONE) return { off, nexthdr: nh, fragOff };
    if (off + 2 > buf.length) return undefined;
    let hdrlen: number;
    if (nh === PROTO.FRAGMENT) {
      if (off + 4 > buf.length) return undefined;
      fragOff = buf.readUInt16BE(off + 2) & ~0x7;
      if (fragOff) return { off, nexthdr: buf[off], fragOff };
      hdrlen = 8;
    } else if (nh === PROTO.AH) {
      hdrlen = ipv6AuthLen(buf[off + 1]);
    } else {
      hdrlen = ipv6OptLen(buf[off + 1]);
    }
    nh = buf[off];
    off += hdrlen;
  }
  return { off, nexthdr: nh, fragOff };
}

/**
 * ipv6HasActiveRoutingHdr is `ipv6_find_hdr(skb, &off, NEXTHDR_ROUTING, NULL, &flags) ==
 * NEXTHDR_ROUTING` with IP6_FH_F_SKIP_RH: a routing header with segments left is on the way.
 */
// kernel: ipv6_find_hdr()
export function ipv6HasActiveRoutingHdr(buf: Buffer, nh: number): boolean {
  let off = nh + IPV6_HLEN;
  let next = buf[nh + 6];
  for (;;) {
    if (!ipv6ExtHdr(next) || next === PROTO.NONE) return false;
    if (off + 2 > buf.length) return false;
    if (next === PROTO.ROUTING) {
      if (off + 4 > buf.length) return false;
      if (buf[off + 3] !== 0) return true; // segments_left
    }
    let hdrlen: number;
    if (next === PROTO.FRAGMENT) {
      if (off + 4 > buf.length) return false;
      if (buf.readUInt16BE(off + 2) & ~0x7) return false;
      hdrlen = 8;
    } else if (next === PROTO.AH) {
      hdrlen = ipv6AuthLen(buf[off + 1]);
    } else {
      hdrlen = ipv6OptLen(buf[off + 1]);
    }
    next = buf[off];
    off += hdrlen;
  }
}
