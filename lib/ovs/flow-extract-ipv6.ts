/**
 * IPv6 parts of key extraction (net/openvswitch/flow.c, Linux 6.12): the extension header
 * bitmap, the header walk of ipv6_find_hdr() (net/ipv6/exthdrs_core.c) as OVS calls it
 * (`target` -1, no flags), the IPv6 header fields and the ICMPv6 / neighbour discovery fields.
 *
 * Offsets are from skb->data, which key extraction keeps at the MAC header; the frame is
 * linear, so pskb_may_pull() fails exactly when the bytes are beyond skb->len.
 */
import { Errno } from '../nl/errno';
import { SWKEY } from './flow-key';
import {
  EPROTO, HLEN, IPV6_FLOWLABEL_MASK, ND_OPT, OFPIEH12, PROTO, fragType, ipv6AuthLen, ipv6ExtHdr, ipv6OptLen,
} from './flow-extract-consts';
import { NDISC } from './net-consts';
import type { Skb } from './skb';

const EBADMSG = 74;
const ENOENT = 2;

/** The start of key->ipv6.nd and its size (target + sll + tll). */
const ND_START = SWKEY.ndTarget.off;
const ND_END = SWKEY.ndTll.off + SWKEY.ndTll.len;

/**
 * getIpv6ExtHdrs is get_ipv6_ext_hdrs(): the OFPIEH12_* bitmap of the extension headers that
 * follow the IPv6 header at `nh`. Two kernel quirks carry over: ESP is not an extension
 * header for ipv6_ext_hdr(), so the loop stops before it and OFPIEH12_ESP is never set (its
 * case in the kernel's switch is unreachable); and every header, AH included, is skipped by
 * ipv6_optlen(), although AH counts its length in 4-byte units.
 */
// kernel: get_ipv6_ext_hdrs()
export function getIpv6ExtHdrs(skb: Skb, nh: number): number {
  const d = skb.data;
  let next = d[nh + 6];
  let start = nh + HLEN.IPV6;
  let destCount = 0;
  let ext = 0;
  const others = (allowed: number): boolean => (ext & ~allowed) !== 0 || destCount >= 2;

  while (ipv6ExtHdr(next)) {
    switch (next) {
      case PROTO.NONE:
        return ext | OFPIEH12.NONEXT;
      case PROTO.AH:
        if (ext & OFPIEH12.AUTH) ext |= OFPIEH12.UNREP;
        if (others(OFPIEH12.HOP | OFPIEH12.DEST | OFPIEH12.ROUTER | OFPIEH12.FRAG | OFPIEH12.UNREP)) ext |= OFPIEH12.UNSEQ;
        ext |= OFPIEH12.AUTH;
        break;
      case PROTO.DSTOPTS:
        if (destCount === 0) {
          if (ext & ~(OFPIEH12.HOP | OFPIEH12.UNREP)) ext |= OFPIEH12.UNSEQ;
          ext |= OFPIEH12.DEST;
        } else if (destCount === 1) {
          if (ext & ~(OFPIEH12.HOP | OFPIEH12.DEST | OFPIEH12.ROUTER | OFPIEH12.FRAG | OFPIEH12.AUTH |
            OFPIEH12.ESP | OFPIEH12.UNREP)) ext |= OFPIEH12.UNSEQ;
        } else {
          ext |= OFPIEH12.UNREP;
        }
        destCount++;
        break;
      case PROTO.FRAGMENT:
        if (ext & OFPIEH12.FRAG) ext |= OFPIEH12.UNREP;
        if (others(OFPIEH12.HOP | OFPIEH12.DEST | OFPIEH12.ROUTER | OFPIEH12.UNREP)) ext |= OFPIEH12.UNSEQ;
        ext |= OFPIEH12.FRAG;
        break;
      case PROTO.ROUTING:
        if (ext & OFPIEH12.ROUTER) ext |= OFPIEH12.UNREP;
        if (others(OFPIEH12.HOP | OFPIEH12.DEST | OFPIEH12.UNREP)) ext |= OFPIEH12.UNSEQ;
        ext |= OFPIEH12.ROUTER;
        break;
      case PROTO.HOPOPTS:
        if (ext & OFPIEH12.HOP) ext |= OFPIEH12.UNREP;
        // HOP only when hop-by-hop is the first extension header.
        ext |= ext === 0 ? OFPIEH12.HOP : OFPIEH12.UNSEQ;
        break;
      default:
        return ext;
    }
    if (start + 2 > skb.len) break; // skb_header_pointer(skb, start, sizeof(ipv6_opt_hdr))
    next = d[start];
    start += ipv6OptLen(d[start + 1]);
  }
  return ext;
}

/** What ipv6_find_hdr() reports: the upper-layer protocol (or a negative errno) and where. */
interface FindHdr {
  nexthdr: number;
  /** *offset: the upper-layer header's offset (unchanged, 0, when a later fragment returns early). */
  offset: number;
  /** *fragoff: the fragment offset (host order, flag bits cleared) of a non-first fragment. */
  fragOff: number;
  /** IP6_FH_F_FRAG: a fragment header was seen (set before any later error). */
  frag: boolean;
}

/** ipv6FindHdr is ipv6_find_hdr(skb, &offset = 0, target = -1, &fragoff, &flags = 0). */
// kernel: ipv6_find_hdr()
function ipv6FindHdr(skb: Skb, nh: number): FindHdr {
  const d = skb.data;
  const r: FindHdr = { nexthdr: d[nh + 6], offset: 0, fragOff: 0, frag: false };
  let start = nh + HLEN.IPV6;
  const fail = (errno: number): FindHdr => ({ ...r, nexthdr: -errno, fragOff: 0 });
  for (;;) {
    const next = r.nexthdr;
    if (!ipv6ExtHdr(next) || next === PROTO.NONE) break; // target < 0: any upper layer ends the walk
    if (start + 2 > skb.len) return fail(EBADMSG);
    let hdrlen: number;
    if (next === PROTO.ROUTING && start + 4 > skb.len) return fail(EBADMSG); // struct ipv6_rt_hdr
    if (next === PROTO.FRAGMENT) {
      r.frag = true;
      if (start + 4 > skb.len) return fail(EBADMSG); // frag_hdr.frag_off
      const fragOff = d.readUInt16BE(start + 2) & ~0x7;
      if (fragOff) {
        const inner = d[start];
        if (!ipv6ExtHdr(inner) || inner === PROTO.NONE) return { ...r, nexthdr: inner, fragOff };
        return fail(ENOENT); // a later fragment whose next header is another extension header
      }
      hdrlen = 8;
    } else if (next === PROTO.AH) {
      hdrlen = ipv6AuthLen(d[start + 1]);
    } else {
      hdrlen = ipv6OptLen(d[start + 1]);
    }
    if (skb.len - start < hdrlen) return fail(EBADMSG);
    r.nexthdr = d[start];
    start += hdrlen;
  }
  r.offset = start;
  return r;
}

/**
 * parseIpv6Hdr is parse_ipv6hdr(): the IPv6 fields of the key, the extension header bitmap and
 * the fragment type; returns the length of the IPv6 header plus extension headers (setting the
 * transport header after them), 0 for a later fragment, -EINVAL for a truncated header, or
 * -EPROTO when the header chain is malformed (ip.proto is then NEXTHDR_NONE).
 */
// kernel: parse_ipv6hdr()
export function parseIpv6Hdr(skb: Skb, key: Buffer): number {
  const d = skb.data;
  const nh = skb.networkHeader;
  if (skb.len < nh + HLEN.IPV6) return -Errno.EINVAL; // check_header()

  key.writeUInt16LE(getIpv6ExtHdrs(skb, nh), SWKEY.ipv6Exthdrs.off);
  key[SWKEY.ipProto.off] = PROTO.NONE;
  key[SWKEY.ipTos.off] = (d.readUInt16BE(nh) >> 4) & 0xff; // ipv6_get_dsfield()
  key[SWKEY.ipTtl.off] = d[nh + 7];
  key.writeUInt32BE((d.readUInt32BE(nh) & IPV6_FLOWLABEL_MASK) >>> 0, SWKEY.ipv6Label.off);
  d.copy(key, SWKEY.ipv6Src.off, nh + 8, nh + 24);
  d.copy(key, SWKEY.ipv6Dst.off, nh + 24, nh + 40);

  const found = ipv6FindHdr(skb, nh);
  const frag = fragType();
  if (found.frag) {
    if (found.fragOff) {
      key[SWKEY.ipFrag.off] = frag.later;
      key[SWKEY.ipProto.off] = PROTO.FRAGMENT;
      return 0;
    }
    key[SWKEY.ipFrag.off] = frag.first;
  } else {
    key[SWKEY.ipFrag.off] = frag.none;
  }
  // The walk's error is looked at only now: flags and frag_off are valid either way.
  if (found.nexthdr < 0) return -EPROTO;

  skb.transportHeader = found.offset;
  key[SWKEY.ipProto.off] = found.nexthdr;
  return found.offset - nh;
}

/**
 * parseIcmpv6 is parse_icmpv6(): type and code into tp.src / tp.dst and, for a neighbour
 * solicitation or advertisement with code 0, the ND target and link-layer address options.
 * A zero or overlong option length stops the option walk (keeping what was found); a second
 * SLL or TLL option (after a non-zero first one) clears target, SLL and TLL. Always 0: the
 * kernel's only error is skb_linearize() failing, which a linear frame cannot.
 */
// kernel: parse_icmpv6()
export function parseIcmpv6(skb: Skb, key: Buffer): number {
  const d = skb.data;
  const th = skb.transportHeader;
  const type = d[th];
  const code = d[th + 1];
  key.writeUInt16BE(type, SWKEY.tpSrc.off);
  key.writeUInt16BE(code, SWKEY.tpDst.off);
  if (code !== 0 || (type !== NDISC.NEIGHBOUR_SOLICITATION && type !== NDISC.NEIGHBOUR_ADVERTISEMENT)) return 0;

  let icmpLen = skb.len - th;
  key.fill(0, ND_START, ND_END);
  if (icmpLen < HLEN.ND_MSG) return 0;
  d.copy(key, SWKEY.ndTarget.off, th + 8, th + HLEN.ND_MSG);

  const isZero = (off: number): boolean => key.subarray(off, off + 6).every((b) => b === 0);
  icmpLen -= HLEN.ND_MSG;
  let opt = th + HLEN.ND_MSG;
  while (icmpLen >= 8) {
    const optLen = d[opt + 1] * 8;
    if (!optLen || optLen > icmpLen) return 0;
    const optType = d[opt];
    if (optLen === 8 && (optType === ND_OPT.SOURCE_LL_ADDR || optType === ND_OPT.TARGET_LL_ADDR)) {
      const f = optType === ND_OPT.SOURCE_LL_ADDR ? SWKEY.ndSll : SWKEY.ndTll;
      if (!isZero(f.off)) {
        key.fill(0, ND_START, ND_END); // invalid: the same link-layer option twice
        return 0;
      }
      d.copy(key, f.off, opt + 2, opt + 8);
    }
    icmpLen -= optLen;
    opt += optLen;
  }
  return 0;
}
