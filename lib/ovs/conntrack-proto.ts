/**
 * Per-protocol parts of the connection tracker (net/netfilter/nf_conntrack_proto_*.c, Linux
 * 6.12 defaults): the error checks run before a lookup (header sanity, checksums — OVS hooks
 * conntrack at PRE_ROUTING with nf_conntrack_checksum=1 — TCP flag combinations), the TCP state
 * table, ICMP "new" rules and the timeouts. TCP window tracking is not reproduced: every
 * in-state segment is accepted (as with nf_conntrack_tcp_be_liberal=1).
 */
import { csumFold, csumPartial, pseudoHeaderSum } from './checksum';
import { IPS, TCP_CT, ctinfo2dir, isConfirmed, type Conn } from './conntrack-conn';
import { NFPROTO } from './conntrack-helpers';
import type { PacketTuple } from './conntrack-tuple';
import { PROTO } from './flow-extract-consts';

const SEC = 1000;
/** Default timeouts (ms). */
const TCP_TIMEOUT = [2 * 60 * SEC, 2 * 60 * SEC, 60 * SEC, 5 * 24 * 3600 * SEC, 2 * 60 * SEC, 60 * SEC, 30 * SEC, 2 * 60 * SEC, 10 * SEC, 2 * 60 * SEC];
const UDP_TIMEOUT = 30 * SEC;
const UDP_TIMEOUT_STREAM = 120 * SEC;
const ICMP_TIMEOUT = 30 * SEC;
const GENERIC_TIMEOUT = 600 * SEC;

/** TCP header flag bits. */
const TH = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20, ECE: 0x40, CWR: 0x80 } as const;

/** tcp_valid_flags[]: the flag combinations (ECE, CWR, PSH ignored) conntrack accepts. */
const TCP_VALID_FLAGS: ReadonlySet<number> = new Set([
  TH.SYN, TH.SYN | TH.URG, TH.SYN | TH.ACK, TH.RST, TH.RST | TH.ACK, TH.FIN | TH.ACK, TH.FIN | TH.ACK | TH.URG, TH.ACK, TH.ACK | TH.URG,
]);

/** get_conntrack_index() values. */
const SYN_SET = 0;
const SYNACK_SET = 1;
const FIN_SET = 2;
const ACK_SET = 3;
const RST_SET = 4;
const NONE_SET = 5;

/** sIV / sIG of the state table. */
const IV = 10;
const IG = 11;
const { SYN_SENT: SS, SYN_RECV: SR, ESTABLISHED: ES, FIN_WAIT: FW, CLOSE_WAIT: CW, LAST_ACK: LA, TIME_WAIT: TW, CLOSE: CL, SYN_SENT2: S2 } = TCP_CT;

/** tcp_conntracks[dir][index][old state] (nf_conntrack_proto_tcp.c). */
const TCP_TABLE: readonly (readonly (readonly number[])[])[] = [
  [
    [SS, SS, IG, IG, IG, IG, IG, SS, SS, S2],
    [IV, IV, SR, IV, IV, IV, IV, IV, IV, SR],
    [IV, IV, FW, FW, LA, LA, LA, TW, CL, IV],
    [ES, IV, ES, ES, CW, CW, TW, TW, CL, IV],
    [IV, CL, CL, CL, CL, CL, CL, CL, CL, CL],
    [IV, IV, IV, IV, IV, IV, IV, IV, IV, IV],
  ],
  [
    [IV, S2, IV, IV, IV, IV, IV, SS, IV, S2],
    [IV, SR, IG, IG, IG, IG, IG, IG, IG, SR],
    [IV, IV, FW, FW, LA, LA, LA, TW, CL, IV],
    [IV, IG, SR, ES, CW, CW, TW, TW, CL, IG],
    [IV, CL, CL, CL, CL, CL, CL, CL, CL, CL],
    [IV, IV, IV, IV, IV, IV, IV, IV, IV, IV],
  ],
];

/** get_conntrack_index(). */
function tcpIndex(flags: number): number {
  if (flags & TH.RST) return RST_SET;
  if (flags & TH.SYN) return flags & TH.ACK ? SYNACK_SET : SYN_SET;
  if (flags & TH.FIN) return FIN_SET;
  if (flags & TH.ACK) return ACK_SET;
  return NONE_SET;
}

/** l4ChecksumOk is nf_checksum() on the L4 message at `l4` (to the end of the frame). */
export function l4ChecksumOk(buf: Buffer, pt: PacketTuple, proto: number): boolean {
  const v6 = pt.tuple.family === NFPROTO.IPV6;
  // ICMP has no pseudo-header; TCP, UDP and ICMPv6 do.
  const pseudo = proto === PROTO.ICMP ? 0 : v6
    ? pseudoHeaderSum(buf.subarray(pt.l3 + 8, pt.l3 + 24), buf.subarray(pt.l3 + 24, pt.l3 + 40), proto, buf.length - pt.l4)
    : pseudoHeaderSum(buf.subarray(pt.l3 + 12, pt.l3 + 16), buf.subarray(pt.l3 + 16, pt.l3 + 20), proto, buf.length - pt.l4);
  return csumFold(csumPartial(buf, pt.l4, buf.length, pseudo)) === 0;
}

// kernel: tcp_error()
function tcpError(buf: Buffer, pt: PacketTuple, checksum: boolean): boolean {
  const tcplen = buf.length - pt.l4;
  if (tcplen < 20) return true;
  const doff = (buf[pt.l4 + 12] >> 4) * 4;
  if (doff < 20 || tcplen < doff) return true;
  if (checksum && !l4ChecksumOk(buf, pt, PROTO.TCP)) return true;
  return !TCP_VALID_FLAGS.has(buf[pt.l4 + 13] & ~(TH.ECE | TH.CWR | TH.PSH));
}

// kernel: udp_error()
function udpError(buf: Buffer, pt: PacketTuple, checksum: boolean): boolean {
  const udplen = buf.length - pt.l4;
  if (udplen < 8) return true;
  const len = buf.readUInt16BE(pt.l4 + 4);
  if (len > udplen || len < 8) return true;
  if (!buf.readUInt16BE(pt.l4 + 6)) return false;
  return checksum && !l4ChecksumOk(buf, pt, PROTO.UDP);
}

/** Result of a protocol's packet handler: accept, invalid (-NF_ACCEPT), or kill and look up again. */
export type L4Verdict = 'accept' | 'invalid' | 'repeat';

// kernel: nf_conntrack_tcp_packet(), tcp_new()
function tcpPacket(ct: Conn, buf: Buffer, pt: PacketTuple, ctinfo: number, now: number, checksum: boolean): L4Verdict {
  if (tcpError(buf, pt, checksum)) return 'invalid';
  const index = tcpIndex(buf[pt.l4 + 13]);
  if (!isConfirmed(ct)) {
    // tcp_new(): a SYN, or (nf_conntrack_tcp_loose) anything the table lets out of NONE.
    if (TCP_TABLE[0][index][TCP_CT.NONE] >= IV) return 'invalid';
    ct.tcpState = TCP_CT.NONE;
  }
  const old = ct.tcpState;
  const dir = ctinfo2dir(ctinfo);
  const next = TCP_TABLE[dir][index][old];
  if (next === SS && old >= TCP_CT.TIME_WAIT) return 'repeat'; // reopen a closed connection
  if (next === IG) return 'accept'; // ignored: the entry may be out of sync
  if (next === IV) return 'invalid';
  ct.tcpState = next;
  if (old !== next && next === TCP_CT.ESTABLISHED && ct.status & IPS.SEEN_REPLY) ct.status |= IPS.ASSURED;
  ct.expires = now + (index === RST_SET ? TCP_TIMEOUT[TCP_CT.CLOSE] : TCP_TIMEOUT[next]);
  return 'accept';
}

// kernel: nf_conntrack_udp_packet()
function udpPacket(ct: Conn, buf: Buffer, pt: PacketTuple, now: number, checksum: boolean): L4Verdict {
  if (udpError(buf, pt, checksum)) return 'invalid';
  if (ct.status & IPS.SEEN_REPLY) {
    ct.expires = now + UDP_TIMEOUT_STREAM;
    ct.status |= IPS.ASSURED;
  } else {
    ct.expires = now + UDP_TIMEOUT;
  }
  return 'accept';
}

/** ICMP types a connection may start with (valid_new[]). */
const ICMP_VALID_NEW: ReadonlySet<number> = new Set([8, 13, 15, 17]);
const ICMPV6_VALID_NEW: ReadonlySet<number> = new Set([128, 139]);

/**
 * l4Packet is the protocol's packet handler (nf_conntrack_handle_packet()): state update and
 * timeout refresh of `ct` for the packet, or the verdict that the packet is invalid.
 */
// kernel: nf_conntrack_handle_packet()
export function l4Packet(ct: Conn, buf: Buffer, pt: PacketTuple, ctinfo: number, now: number, checksum: boolean): L4Verdict {
  switch (pt.tuple.proto) {
    case PROTO.TCP: return tcpPacket(ct, buf, pt, ctinfo, now, checksum);
    case PROTO.UDP: return udpPacket(ct, buf, pt, now, checksum);
    case PROTO.ICMP:
    case PROTO.ICMPV6: {
      const v6 = pt.tuple.family === NFPROTO.IPV6;
      if (pt.tuple.proto !== (v6 ? PROTO.ICMPV6 : PROTO.ICMP)) break;
      const type = ct.tuples[0].dport >> 8;
      if ((!v6 || !isConfirmed(ct)) && !(v6 ? ICMPV6_VALID_NEW : ICMP_VALID_NEW).has(type)) return 'invalid';
      ct.expires = now + ICMP_TIMEOUT;
      return 'accept';
    }
    default:
  }
  ct.expires = now + GENERIC_TIMEOUT;
  return 'accept';
}

/** ICMPv6 types conntrack leaves untracked (noct_valid_new[]: MLD and neighbour discovery). */
const ICMPV6_NOCT: ReadonlySet<number> = new Set([130, 131, 132, 133, 134, 135, 136, 143]);
/** ICMP error types (icmp_is_err()). */
const ICMP_ERRORS: ReadonlySet<number> = new Set([3, 4, 5, 11, 12]);

/** Result of the ICMP error callback. */
export type IcmpCheck = 'invalid' | 'untracked' | 'error' | 'normal';

/**
 * icmpCheck is nf_conntrack_icmpv4_error() / nf_conntrack_icmpv6_error() up to the related
 * lookup: 'error' means an ICMP error whose embedded packet (after the 8-byte header) names
 * the connection it relates to.
 */
// kernel: nf_conntrack_icmpv4_error(), nf_conntrack_icmpv6_error()
export function icmpCheck(buf: Buffer, pt: PacketTuple, checksum: boolean): IcmpCheck {
  if (buf.length < pt.l4 + 8) return 'invalid';
  const v6 = pt.tuple.family === NFPROTO.IPV6;
  if (checksum && !l4ChecksumOk(buf, pt, v6 ? PROTO.ICMPV6 : PROTO.ICMP)) return 'invalid';
  const type = buf[pt.l4];
  if (v6) {
    if (ICMPV6_NOCT.has(type)) return 'untracked';
    return type >= 128 ? 'normal' : 'error';
  }
  if (type > 18) return 'invalid';
  return ICMP_ERRORS.has(type) ? 'error' : 'normal';
}
