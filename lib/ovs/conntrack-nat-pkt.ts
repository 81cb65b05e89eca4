/**
 * NAT packet rewriting of net/netfilter/nf_nat_proto.c: nf_nat_ipv4/ipv6_manip_pkt() with the
 * L4 manipulations (TCP, UDP, UDP-Lite, SCTP, ICMP, ICMPv6) and their checksum updates, and
 * the ICMP/ICMPv6 error translation (nf_nat_icmp_reply_translation()). Offsets are absolute
 * positions in the frame; packets are CHECKSUM_NONE (full checksums present).
 */
import { CSUM_MANGLED_0, be16, csumFold, csumPartial, csumReplace, pseudoHeaderSum, sctpComputeCksum } from './checksum';
import { MANIP_SRC, IPS, IPS_NAT_MASK, ctinfo2dir, type Conn } from './conntrack-conn';
import { NFPROTO } from './conntrack-helpers';
import { ICMP, ICMPV6, invertTuple, type CtTuple } from './conntrack-tuple';
import { PROTO } from './flow-extract-consts';
import { IPV6_HLEN, ipv6SkipExthdr } from './ipv6-exthdr';

const TCP_HLEN = 20;
const UDP_HLEN = 8;
const SCTP_HLEN = 12;
const ICMP_HLEN = 8;

/** The L3 address field a manipulation rewrites, and its length. */
function addrField(family: number, l3: number, manip: number): [number, number] {
  if (family === NFPROTO.IPV6) return [l3 + (manip === MANIP_SRC ? 8 : 24), 16];
  return [l3 + (manip === MANIP_SRC ? 12 : 16), 4];
}

/** nf_csum_update(): the pseudo-header part of an L4 checksum follows the address change. */
// kernel: nf_nat_ipv4_csum_update(), nf_nat_ipv6_csum_update()
function csumUpdate(buf: Buffer, l3: number, check: number, t: CtTuple, manip: number): void {
  const [at, len] = addrField(t.family, l3, manip);
  csumReplace(buf, check, buf.subarray(at, at + len), manip === MANIP_SRC ? t.src : t.dst);
}

/** The port (or id) a manipulation writes. */
const newPort = (t: CtTuple, manip: number): number => (manip === MANIP_SRC ? t.sport : t.dport);

// kernel: tcp_manip_pkt()
function tcpManip(buf: Buffer, l3: number, l4: number, t: CtTuple, manip: number): boolean {
  // An inner header of an ICMP error may only carry the first 8 bytes.
  const hdrsize = buf.length >= l4 + TCP_HLEN ? TCP_HLEN : 8;
  if (buf.length < l4 + hdrsize) return false;
  const at = manip === MANIP_SRC ? l4 : l4 + 2;
  const old = be16(buf.readUInt16BE(at));
  buf.writeUInt16BE(newPort(t, manip), at);
  if (hdrsize < TCP_HLEN) return true;
  csumUpdate(buf, l3, l4 + 16, t, manip);
  csumReplace(buf, l4 + 16, old, be16(newPort(t, manip)));
  return true;
}

// kernel: udp_manip_pkt(), udplite_manip_pkt(), __udp_manip_pkt()
function udpManip(buf: Buffer, l3: number, l4: number, t: CtTuple, manip: number, lite: boolean): boolean {
  if (buf.length < l4 + UDP_HLEN) return false;
  const at = manip === MANIP_SRC ? l4 : l4 + 2;
  if (lite || buf.readUInt16BE(l4 + 6)) {
    csumUpdate(buf, l3, l4 + 6, t, manip);
    csumReplace(buf, l4 + 6, buf.subarray(at, at + 2), be16(newPort(t, manip)));
    if (!buf.readUInt16BE(l4 + 6)) buf.writeUInt16BE(CSUM_MANGLED_0, l4 + 6);
  }
  buf.writeUInt16BE(newPort(t, manip), at);
  return true;
}

// kernel: sctp_manip_pkt()
function sctpManip(buf: Buffer, l4: number, t: CtTuple, manip: number): boolean {
  const hdrsize = buf.length >= l4 + SCTP_HLEN ? SCTP_HLEN : 8;
  if (buf.length < l4 + hdrsize) return false;
  buf.writeUInt16BE(newPort(t, manip), manip === MANIP_SRC ? l4 : l4 + 2);
  if (hdrsize < SCTP_HLEN) return true;
  buf.writeUInt32LE(sctpComputeCksum(buf, l4), l4 + 8);
  return true;
}

/** ICMP types whose id field conntrack tracks (and NAT rewrites). */
const ICMP_ID_TYPES: ReadonlySet<number> = new Set([0, 8, 13, 14, 15, 16, 17, 18]);

// kernel: icmp_manip_pkt()
function icmpManip(buf: Buffer, l4: number, t: CtTuple): boolean {
  if (buf.length < l4 + ICMP_HLEN) return false;
  if (!ICMP_ID_TYPES.has(buf[l4])) return true;
  csumReplace(buf, l4 + 2, buf.subarray(l4 + 4, l4 + 6), be16(t.sport));
  buf.writeUInt16BE(t.sport, l4 + 4);
  return true;
}

// kernel: icmpv6_manip_pkt()
function icmpv6Manip(buf: Buffer, l3: number, l4: number, t: CtTuple, manip: number): boolean {
  if (buf.length < l4 + ICMP_HLEN) return false;
  csumUpdate(buf, l3, l4 + 2, t, manip);
  if (buf[l4] === ICMPV6.ECHO_REQUEST || buf[l4] === ICMPV6.ECHO_REPLY) {
    csumReplace(buf, l4 + 2, buf.subarray(l4 + 4, l4 + 6), be16(t.sport));
    buf.writeUInt16BE(t.sport, l4 + 4);
  }
  return true;
}

/** l4protoManipPkt is l4proto_manip_pkt(): by the target's protocol; others are left alone. */
// kernel: l4proto_manip_pkt()
function l4Manip(buf: Buffer, l3: number, l4: number, t: CtTuple, manip: number): boolean {
  switch (t.proto) {
    case PROTO.TCP: return tcpManip(buf, l3, l4, t, manip);
    case PROTO.UDP: return udpManip(buf, l3, l4, t, manip, false);
    case PROTO.UDPLITE: return udpManip(buf, l3, l4, t, manip, true);
    case PROTO.SCTP: return sctpManip(buf, l4, t, manip);
    case PROTO.ICMP: return icmpManip(buf, l4, t);
    case PROTO.ICMPV6: return icmpv6Manip(buf, l3, l4, t, manip);
    default: return true;
  }
}

/**
 * manipPkt is nf_nat_ipv4_manip_pkt() / nf_nat_ipv6_manip_pkt(): the packet whose IP header is
 * at `l3` made to carry the target tuple's source (MANIP_SRC) or destination.
 */
// kernel: nf_nat_ipv4_manip_pkt(), nf_nat_ipv6_manip_pkt()
export function manipPkt(buf: Buffer, l3: number, t: CtTuple, manip: number): boolean {
  if (t.family === NFPROTO.IPV6) {
    if (buf.length < l3 + IPV6_HLEN) return false;
    const sk = ipv6SkipExthdr(buf, l3 + IPV6_HLEN, buf[l3 + 6]);
    if (sk && !sk.fragOff && !l4Manip(buf, l3, sk.off, t, manip)) return false;
    (manip === MANIP_SRC ? t.src : t.dst).copy(buf, l3 + (manip === MANIP_SRC ? 8 : 24));
    return true;
  }
  if (buf.length < l3 + 20) return false;
  if (!l4Manip(buf, l3, l3 + (buf[l3] & 0x0f) * 4, t, manip)) return false;
  const [at] = addrField(t.family, l3, manip);
  const to = manip === MANIP_SRC ? t.src : t.dst;
  csumReplace(buf, l3 + 10, buf.subarray(at, at + 4), to);
  to.copy(buf, at);
  return true;
}

/** The status bit a manipulation in direction `dir` depends on (nf_nat_packet's statusbit). */
function statusBit(manip: number, dir: number): number {
  const bit = manip === MANIP_SRC ? IPS.SRC_NAT : IPS.DST_NAT;
  return dir ? bit ^ IPS_NAT_MASK : bit;
}

/**
 * natPacket is nf_nat_packet(): when the connection has the matching NAT, the packet rewritten
 * to look like the inverse of the other direction. False = NF_DROP.
 */
// kernel: nf_nat_packet(), nf_nat_manip_pkt()
export function natPacket(buf: Buffer, l3: number, ct: Conn, ctinfo: number, manip: number): boolean {
  const dir = ctinfo2dir(ctinfo);
  if (!(ct.status & statusBit(manip, dir))) return true;
  const target = invertTuple(ct.tuples[dir ? 0 : 1]);
  return target ? manipPkt(buf, l3, target, manip) : false;
}

/** The ICMP(v6) checksum of the message at `l4` (to the end of the frame) is right. */
function icmpChecksumOk(buf: Buffer, l3: number, l4: number, v6: boolean): boolean {
  const pseudo = v6 ? pseudoHeaderSum(buf.subarray(l3 + 8, l3 + 24), buf.subarray(l3 + 24, l3 + 40), PROTO.ICMPV6, buf.length - l4) : 0;
  return csumFold(csumPartial(buf, l4, buf.length, pseudo)) === 0;
}

/**
 * icmpReplyTranslation is nf_nat_icmp_reply_translation() / nf_nat_icmpv6_reply_translation():
 * an ICMP error related to `ct` gets its embedded packet and its outer header translated.
 * `l4` is the ICMP header. False = NF_DROP.
 */
// kernel: nf_nat_icmp_reply_translation(), nf_nat_icmpv6_reply_translation()
export function icmpReplyTranslation(buf: Buffer, l3: number, l4: number, ct: Conn, ctinfo: number, manip: number): boolean {
  const v6 = ct.tuples[0].family === NFPROTO.IPV6;
  const ipHlen = v6 ? IPV6_HLEN : 20;
  if (buf.length < l4 + ICMP_HLEN + ipHlen) return false;
  if (!icmpChecksumOk(buf, l3, l4, v6)) return false;
  const redirect = v6 ? 137 : ICMP.REDIRECT;
  if (buf[l4] === redirect) {
    if ((ct.status & (IPS.SRC_NAT_DONE | IPS.DST_NAT_DONE)) !== (IPS.SRC_NAT_DONE | IPS.DST_NAT_DONE)) return false;
    if (ct.status & IPS_NAT_MASK) return false;
  }
  const dir = ctinfo2dir(ctinfo);
  if (!(ct.status & statusBit(manip, dir))) return true;
  const other = ct.tuples[dir ? 0 : 1];
  if (!manipPkt(buf, l4 + ICMP_HLEN, other, manip === MANIP_SRC ? 1 : 0)) return false;
  // The embedded packet changed: the ICMP checksum is computed again.
  buf.writeUInt16BE(0, l4 + 2);
  const pseudo = v6 ? pseudoHeaderSum(buf.subarray(l3 + 8, l3 + 24), buf.subarray(l3 + 24, l3 + 40), PROTO.ICMPV6, buf.length - l4) : 0;
  buf.writeUInt16BE(csumFold(csumPartial(buf, l4, buf.length, pseudo)), l4 + 2);
  const target = invertTuple(other);
  if (!target) return false;
  return manipPkt(buf, l3, { ...target, proto: v6 ? PROTO.ICMPV6 : PROTO.ICMP }, manip);
}
