/**
 * Connection tuples (struct nf_conntrack_tuple) for the emulator's connection tracker: what
 * nf_ct_get_tuplepr() reads from a packet for IPv4/IPv6 with TCP, UDP, UDP-Lite, SCTP, DCCP,
 * ICMP, ICMPv6 and the generic protocols, and nf_ct_invert_tuple().
 */
import { PROTO } from './flow-extract-consts';
import { NFPROTO } from './conntrack-helpers';
import { IPV6_HLEN, ipv6SkipExthdr } from './ipv6-exthdr';

/** struct nf_conntrack_tuple, flattened. Ports and ids host order. */
export interface CtTuple {
  /** NFPROTO_IPV4 / NFPROTO_IPV6 (src.l3num). */
  family: number;
  /** Addresses, 4 or 16 bytes, network order. */
  src: Buffer;
  dst: Buffer;
  /** dst.protonum. */
  proto: number;
  /** src.u.all: the source port, or the ICMP echo id. */
  sport: number;
  /** dst.u.all: the destination port, or (ICMP type << 8) | code. */
  dport: number;
}

/** A packet's tuple and where its headers are (offsets into the frame). */
export interface PacketTuple {
  tuple: CtTuple;
  /** Offset of the L3 header. */
  l3: number;
  /** Offset of the L4 header (dataoff). */
  l4: number;
}

/** ICMP / ICMPv6 types conntrack knows (uapi/linux/icmp.h, icmpv6.h). */
export const ICMP = { ECHOREPLY: 0, DEST_UNREACH: 3, SOURCE_QUENCH: 4, REDIRECT: 5, ECHO: 8, TIME_EXCEEDED: 11, PARAMETERPROB: 12, NR_TYPES: 18 } as const;
export const ICMPV6 = { ECHO_REQUEST: 128, ECHO_REPLY: 129, NI_QUERY: 139, NI_REPLY: 140 } as const;

/** The request/reply pairs nf_conntrack_invert_icmp_tuple() and its v6 twin know. */
const ICMP_INV: ReadonlyMap<number, number> = new Map([[8, 0], [0, 8], [13, 14], [14, 13], [15, 16], [16, 15], [17, 18], [18, 17]]);
const ICMPV6_INV: ReadonlyMap<number, number> = new Map([[128, 129], [129, 128], [139, 140], [140, 139]]);

/** IP_OFFSET: the fragment offset bits of frag_off (a non-first fragment has no L4 header). */
const IP_OFFSET = 0x1fff;

/** isIcmp: the tuple's protocol is its family's ICMP. */
export function isIcmp(t: CtTuple): boolean {
  return t.proto === (t.family === NFPROTO.IPV6 ? PROTO.ICMPV6 : PROTO.ICMP);
}

/** Protocols whose tuple carries two 16-bit ports at the start of the L4 header. */
const PORTED: ReadonlySet<number> = new Set([PROTO.TCP, PROTO.UDP, PROTO.UDPLITE, PROTO.SCTP, PROTO.DCCP]);

/** l4Tuple fills the L4 part of the tuple (the proto's pkt_to_tuple); false when truncated. */
function l4Tuple(buf: Buffer, l4: number, proto: number, family: number, t: CtTuple): boolean {
  const icmp = proto === (family === NFPROTO.IPV6 ? PROTO.ICMPV6 : PROTO.ICMP);
  if (icmp) {
    if (l4 + 8 > buf.length) return false;
    t.sport = buf.readUInt16BE(l4 + 4);
    t.dport = (buf[l4] << 8) | buf[l4 + 1];
  } else if (PORTED.has(proto)) {
    if (l4 + 4 > buf.length) return false;
    t.sport = buf.readUInt16BE(l4);
    t.dport = buf.readUInt16BE(l4 + 2);
  }
  return true;
}

/**
 * getTuplePr is nf_ct_get_tuplepr() (with get_l4proto()): the tuple of the packet whose L3
 * header starts at `l3`, or undefined when it has none (truncated, or a non-first fragment).
 */
// kernel: nf_ct_get_tuplepr(), ipv4_get_l4proto(), ipv6_get_l4proto()
export function getTuplePr(buf: Buffer, l3: number, family: number): PacketTuple | undefined {
  let l4: number;
  let proto: number;
  let src: Buffer;
  let dst: Buffer;
  if (family === NFPROTO.IPV4) {
    if (l3 + 20 > buf.length) return undefined;
    if (buf.readUInt16BE(l3 + 6) & IP_OFFSET) return undefined;
    l4 = l3 + (buf[l3] & 0x0f) * 4;
    proto = buf[l3 + 9];
    src = Buffer.from(buf.subarray(l3 + 12, l3 + 16));
    dst = Buffer.from(buf.subarray(l3 + 16, l3 + 20));
  } else if (family === NFPROTO.IPV6) {
    if (l3 + IPV6_HLEN > buf.length) return undefined;
    const sk = ipv6SkipExthdr(buf, l3 + IPV6_HLEN, buf[l3 + 6]);
    if (!sk || sk.fragOff) return undefined;
    l4 = sk.off;
    proto = sk.nexthdr;
    src = Buffer.from(buf.subarray(l3 + 8, l3 + 24));
    dst = Buffer.from(buf.subarray(l3 + 24, l3 + 40));
  } else {
    return undefined;
  }
  const tuple: CtTuple = { family, src, dst, proto, sport: 0, dport: 0 };
  if (!l4Tuple(buf, l4, proto, family, tuple)) return undefined;
  return { tuple, l3, l4 };
}

/** invertTuple is nf_ct_invert_tuple(): undefined for ICMP types without a reply type. */
// kernel: nf_ct_invert_tuple()
export function invertTuple(t: CtTuple): CtTuple | undefined {
  if (isIcmp(t)) {
    const inv = (t.family === NFPROTO.IPV6 ? ICMPV6_INV : ICMP_INV).get(t.dport >> 8);
    if (inv === undefined) return undefined;
    return { family: t.family, src: t.dst, dst: t.src, proto: t.proto, sport: t.sport, dport: (inv << 8) | (t.dport & 0xff) };
  }
  return { family: t.family, src: t.dst, dst: t.src, proto: t.proto, sport: t.dport, dport: t.sport };
}

/** tupleEqual is nf_ct_tuple_equal(). */
export function tupleEqual(a: CtTuple, b: CtTuple): boolean {
  return a.family === b.family && a.proto === b.proto && a.sport === b.sport && a.dport === b.dport &&
    a.src.equals(b.src) && a.dst.equals(b.dst);
}

/** tupleId is the hash-table key of a tuple in a zone. */
export function tupleId(zone: number, t: CtTuple): string {
  return `${zone}/${t.family}/${t.src.toString('hex')}/${t.dst.toString('hex')}/${t.proto}/${t.sport}/${t.dport}`;
}

/** copyTuple returns an independent copy. */
export function copyTuple(t: CtTuple): CtTuple {
  return { ...t, src: Buffer.from(t.src), dst: Buffer.from(t.dst) };
}
