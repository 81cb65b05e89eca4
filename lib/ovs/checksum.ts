/**
 * Internet checksum arithmetic as the kernel does it (include/net/checksum.h, net/core/utils.c,
 * lib/checksum.c) and the CRC32c of SCTP (include/net/sctp/checksum.h). Packets in the emulator
 * are always CHECKSUM_NONE: every checksum in `skb.data` is complete, so the incremental
 * updates below are the `ip_summed != CHECKSUM_PARTIAL` branches of the kernel helpers.
 *
 * A 16-bit checksum field is read and written big-endian; ones' complement sums are byte-order
 * independent, so the bytes come out as the kernel's little-endian arithmetic leaves them.
 */

/** CSUM_MANGLED_0: what a UDP checksum that came out as 0 is stored as. */
export const CSUM_MANGLED_0 = 0xffff;

/** csumAdd16 is csum16_add(): 16-bit ones' complement addition with end-around carry. */
function csumAdd16(a: number, b: number): number {
  const r = (a + b) & 0xffff;
  return (r + (r < b ? 1 : 0)) & 0xffff;
}

/** fold reduces a (non-negative, < 2^53) sum of 16-bit words to 16 bits with end-around carry. */
function fold(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/**
 * csumPartial sums `buf[start, end)` as big-endian 16-bit words (an odd last byte is the high
 * byte of a word) onto `init`, unfolded. Pass the result to {@link csumFold}.
 */
// kernel: csum_partial()
export function csumPartial(buf: Buffer, start = 0, end = buf.length, init = 0): number {
  let s = init;
  let i = start;
  for (; i + 1 < end; i += 2) s += buf.readUInt16BE(i);
  if (i < end) s += buf[i] << 8;
  return fold(s);
}

/** csumFold is csum_fold(): the complemented 16-bit checksum of a partial sum. */
// kernel: csum_fold()
export function csumFold(sum: number): number {
  return ~fold(sum) & 0xffff;
}

/** Sum of the 16-bit words of `b` (an even-length big-endian byte string). */
const words = (b: Buffer): number => csumPartial(b);
/** Sum of the complemented 16-bit words of `b`. */
const notWords = (b: Buffer): number => {
  let s = 0;
  for (let i = 0; i + 1 < b.length; i += 2) s += ~b.readUInt16BE(i) & 0xffff;
  return s;
};

/**
 * csumReplace updates the checksum at `buf[off]` for a field changing from `from` to `to` (equal
 * even lengths): RFC 1624 eqn. 3 with the kernel's 32-bit unfolding, so the result is never
 * 0xffff. Covers csum_replace4(), inet_proto_csum_replace4/2/16() and the pseudo-header updates.
 */
// kernel: csum_replace4(), inet_proto_csum_replace16(), inet_proto_csum_replace2()
export function csumReplace(buf: Buffer, off: number, from: Buffer, to: Buffer): void {
  // ~csum_unfold(*sum) is 0xffff0000 | ~check: the high half adds 0xffff.
  const sum = 0xffff + (~buf.readUInt16BE(off) & 0xffff) + notWords(from) + words(to);
  buf.writeUInt16BE(csumFold(sum), off);
}

/** csumReplace2 is csum_replace2(): the same update in 16-bit arithmetic (IP TTL changes). */
// kernel: csum_replace2()
export function csumReplace2(buf: Buffer, off: number, from: number, to: number): void {
  const sum = csumAdd16(csumAdd16(~buf.readUInt16BE(off) & 0xffff, ~from & 0xffff), to & 0xffff);
  buf.writeUInt16BE(~sum & 0xffff, off);
}

/** be32 returns the 4 big-endian bytes of `v`. */
export function be32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}

/** be16 returns the 2 big-endian bytes of `v`. */
export function be16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v & 0xffff);
  return b;
}

/** ipv4ChangeDsfield is ipv4_change_dsfield(): tos = (tos & mask) | value, checksum adjusted. */
// kernel: ipv4_change_dsfield()
export function ipv4ChangeDsfield(buf: Buffer, nh: number, mask: number, value: number): void {
  let check = buf.readUInt16BE(nh + 10);
  const tos = buf[nh + 1];
  const ds = ((tos & mask) | value) & 0xff;
  check += tos;
  if ((check + 1) >> 16) check = (check + 1) & 0xffff;
  check -= ds;
  check += check >> 16;
  buf.writeUInt16BE(check & 0xffff, nh + 10);
  buf[nh + 1] = ds;
}

/** ipv4HeaderChecksum computes the header checksum of the IPv4 header at `nh` (ihl words). */
// kernel: ip_fast_csum()
export function ipv4HeaderChecksum(buf: Buffer, nh: number): number {
  const ihl = (buf[nh] & 0x0f) * 4;
  const saved = buf.readUInt16BE(nh + 10);
  buf.writeUInt16BE(0, nh + 10);
  const c = csumFold(csumPartial(buf, nh, nh + ihl));
  buf.writeUInt16BE(saved, nh + 10);
  return c;
}

/**
 * pseudoHeaderSum is the unfolded sum of the TCP/UDP/ICMPv6 pseudo-header (csum_tcpudp_nofold,
 * csum_ipv6_magic): addresses, protocol and L4 length.
 */
export function pseudoHeaderSum(src: Buffer, dst: Buffer, proto: number, len: number): number {
  return words(src) + words(dst) + proto + (len >>> 16) + (len & 0xffff);
}

/**
 * l4Checksum computes the checksum an L4 header at `off` (checksum field at `off + csumOff`,
 * running to the end of `buf`) should carry, with the pseudo-header when `src`/`dst` are given.
 */
export function l4Checksum(buf: Buffer, off: number, csumOff: number, proto: number, src?: Buffer, dst?: Buffer): number {
  const saved = buf.readUInt16BE(off + csumOff);
  buf.writeUInt16BE(0, off + csumOff);
  const pseudo = src && dst ? pseudoHeaderSum(src, dst, proto, buf.length - off) : 0;
  const c = csumFold(csumPartial(buf, off, buf.length, pseudo));
  buf.writeUInt16BE(saved, off + csumOff);
  return c;
}

/** The CRC32c (Castagnoli, reflected 0x82f63b78) table. */
const CRC32C_TABLE = ((): Uint32Array => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** crc32c is the standard CRC32c of `buf[start, end)` (initial ~0, final complement). */
export function crc32c(buf: Buffer, start = 0, end = buf.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC32C_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * sctpComputeCksum is sctp_compute_cksum(): the CRC32c of the SCTP packet at `off` (to the end
 * of `buf`) with its checksum field taken as zero, as the u32 the header stores little-endian.
 */
// kernel: sctp_compute_cksum()
export function sctpComputeCksum(buf: Buffer, off: number): number {
  const saved = buf.readUInt32LE(off + 8);
  buf.writeUInt32LE(0, off + 8);
  const c = crc32c(buf, off, buf.length);
  buf.writeUInt32LE(saved, off + 8);
  return c;
}
