/**
 * The emulator's `struct sw_flow_key` (net/openvswitch/flow.h, Linux 6.12): one flat Buffer
 * holding the x86-64 memory image of the kernel struct, byte for byte. A mask is the same
 * layout, `masked = key & mask` is a word loop, and a flow table hashes and compares only the
 * mask's range, exactly as flow_table.c does. Mirroring the kernel's offsets (unions included)
 * is what makes the kernel's observable quirks come out the same: 8-byte range rounding,
 * `flow_key_start()`, fields that share storage (ARP sha/tha with the IPv4 conntrack tuple, ND
 * with the IPv6 one, MPLS and NSH with the IP addresses), the in_port "none" value truncated to
 * u16. The offsets were checked against the BTF of Debian's 6.12.117 openvswitch.ko
 * (sizeof 472; top-level members at 0, 255, 256, 320, 330, 331, 332, 336, 340, 362, 363, 364,
 * 368, 370, 376, 448).
 *
 * Multi-byte fields keep the kernel's byte order: `be` fields hold network-order bytes (copied
 * straight from/to attribute payloads), `le` fields hold host-order (x86 little-endian) values.
 *
 * | off | len | field                         | order | note                                    |
 * |----:|----:|-------------------------------|-------|-----------------------------------------|
 * |   0 | 255 | tun_opts[]                    | —     | options stored at the END: 255 - len    |
 * | 255 |   1 | tun_opts_len                  | —     | mask: 0xff when options are matched     |
 * | 256 |   8 | tun_key.tun_id                | be    |                                         |
 * | 264 |   4 | tun_key.u.ipv4.src            | be    | union with ipv6.src (264..280)          |
 * | 268 |   4 | tun_key.u.ipv4.dst            | be    |                                         |
 * | 264 |  16 | tun_key.u.ipv6.src            | be    |                                         |
 * | 280 |  16 | tun_key.u.ipv6.dst            | be    |                                         |
 * | 296 |   8 | tun_key.tun_flags             | le    | bitmap, IP_TUNNEL_*_BIT                 |
 * | 304 |   4 | tun_key.label                 | be    | not settable from netlink               |
 * | 308 |   4 | tun_key.nhid                  | le    | not settable from netlink               |
 * | 312 |   1 | tun_key.tos                   | —     |                                         |
 * | 313 |   1 | tun_key.ttl                   | —     |                                         |
 * | 314 |   2 | tun_key.tp_src                | be    |                                         |
 * | 316 |   2 | tun_key.tp_dst                | be    |                                         |
 * | 318 |   1 | tun_key.flow_flags            | —     | (+1 pad)                                |
 * | 320 |   4 | phy.priority                  | le    | phy is __packed                         |
 * | 324 |   4 | phy.skb_mark                  | le    |                                         |
 * | 328 |   2 | phy.in_port                   | le    | 0xffff (DP_MAX_PORTS) = none            |
 * | 330 |   1 | mac_proto                     | —     | 0 none, 1 Ethernet                      |
 * | 331 |   1 | tun_proto                     | —     | AF_INET / AF_INET6 / 0                  |
 * | 332 |   4 | ovs_flow_hash (dp_hash)       | le    |                                         |
 * | 336 |   4 | recirc_id                     | le    | end of metadata (340)                   |
 * | 340 |   6 | eth.src                       | —     |                                         |
 * | 346 |   6 | eth.dst                       | —     |                                         |
 * | 352 |   2 | eth.vlan.tpid                 | be    |                                         |
 * | 354 |   2 | eth.vlan.tci                  | be    | CFI set = tag present                   |
 * | 356 |   2 | eth.cvlan.tpid                | be    |                                         |
 * | 358 |   2 | eth.cvlan.tci                 | be    |                                         |
 * | 360 |   2 | eth.type                      | be    |                                         |
 * | 362 |   1 | ct_state                      | —     |                                         |
 * | 363 |   1 | ct_orig_proto                 | —     | non-zero = orig tuple present           |
 * | 364 |   1 | ip.proto                      | —     | ARP: low 8 bits of the opcode           |
 * | 365 |   1 | ip.tos                        | —     |                                         |
 * | 366 |   1 | ip.ttl                        | —     |                                         |
 * | 367 |   1 | ip.frag                       | —     | OVS_FRAG_TYPE_*                         |
 * | 368 |   2 | ct_zone                       | le    |                                         |
 * | 370 |   2 | tp.src                        | be    | ICMP/ICMPv6: htons(type)                |
 * | 372 |   2 | tp.dst                        | be    | ICMP/ICMPv6: htons(code)                |
 * | 374 |   2 | tp.flags                      | be    | TCP flags                               |
 * | 376 |   4 | ipv4.addr.src                 | be    | union 376..448: ipv4 / ipv6 / mpls / nsh |
 * | 380 |   4 | ipv4.addr.dst                 | be    |                                         |
 * | 384 |   4 | ipv4.ct_orig.src              | be    | shares storage with arp.sha             |
 * | 388 |   4 | ipv4.ct_orig.dst              | be    |                                         |
 * | 384 |   6 | ipv4.arp.sha                  | —     |                                         |
 * | 390 |   6 | ipv4.arp.tha                  | —     |                                         |
 * | 376 |  16 | ipv6.addr.src                 | be    |                                         |
 * | 392 |  16 | ipv6.addr.dst                 | be    |                                         |
 * | 408 |   4 | ipv6.label                    | be    |                                         |
 * | 412 |   2 | ipv6.exthdrs                  | le    | (+2 pad)                                |
 * | 416 |  16 | ipv6.ct_orig.src / nd.target  | be    | shared storage                          |
 * | 432 |  16 | ipv6.ct_orig.dst              | be    | shares storage with nd.sll/tll          |
 * | 432 |   6 | ipv6.nd.sll                   | —     |                                         |
 * | 438 |   6 | ipv6.nd.tll                   | —     |                                         |
 * | 376 |   4 | mpls.num_labels_mask          | le    | bit i = lse[i] present                  |
 * | 380 |  12 | mpls.lse[3]                   | be    |                                         |
 * | 376 |   8 | nsh.base {flags,ttl,mdtype,np,path_hdr(be)} |  |                          |
 * | 384 |  16 | nsh.context[4]                | be    |                                         |
 * | 448 |   2 | ct.orig_tp.src                | be    |                                         |
 * | 450 |   2 | ct.orig_tp.dst                | be    |                                         |
 * | 452 |   4 | ct.mark                       | le    |                                         |
 * | 456 |  16 | ct.labels                     | —     | end 472                                 |
 */

import { ETH_P, IPPROTO, NDISC } from './net-consts';

/** A field of the key: byte offset and size. */
export interface KeyField {
  readonly off: number;
  readonly len: number;
}

const f = (off: number, len: number): KeyField => ({ off, len });

/** sizeof(struct sw_flow_key) on x86-64, Linux 6.12. */
export const SW_FLOW_KEY_SIZE = 472;
/** sizeof(long): ranges are rounded to it, masks and compares run word by word. */
export const KEY_WORD = 8;
/** IP_TUNNEL_OPTS_MAX: sizeof(sw_flow_key.tun_opts). */
export const TUN_OPTS_MAX = 255;
/** DP_MAX_PORTS (USHRT_MAX): the in_port of a key that names none; also the first invalid port. */
export const IN_PORT_NONE = 0xffff;
/** Values of mac_proto. */
export const MAC_PROTO_NONE = 0;
export const MAC_PROTO_ETHERNET = 1;
/** SW_FLOW_KEY_INVALID: a bit of mac_proto set on keys whose extraction failed. */
export const SW_FLOW_KEY_INVALID = 0x80;

/** Offsets of every sw_flow_key field (see the table above). */
export const SWKEY = {
  tunOpts: f(0, TUN_OPTS_MAX),
  tunOptsLen: f(255, 1),
  tunKey: f(256, 64),
  tunId: f(256, 8),
  tunIpv4Src: f(264, 4),
  tunIpv4Dst: f(268, 4),
  tunIpv6Src: f(264, 16),
  tunIpv6Dst: f(280, 16),
  tunFlags: f(296, 8),
  tunLabel: f(304, 4),
  tunNhid: f(308, 4),
  tunTos: f(312, 1),
  tunTtl: f(313, 1),
  tunTpSrc: f(314, 2),
  tunTpDst: f(316, 2),
  tunFlowFlags: f(318, 1),
  priority: f(320, 4),
  skbMark: f(324, 4),
  inPort: f(328, 2),
  macProto: f(330, 1),
  tunProto: f(331, 1),
  dpHash: f(332, 4),
  recircId: f(336, 4),
  ethSrc: f(340, 6),
  ethDst: f(346, 6),
  vlanTpid: f(352, 2),
  vlanTci: f(354, 2),
  cvlanTpid: f(356, 2),
  cvlanTci: f(358, 2),
  ethType: f(360, 2),
  ctState: f(362, 1),
  ctOrigProto: f(363, 1),
  ipProto: f(364, 1),
  ipTos: f(365, 1),
  ipTtl: f(366, 1),
  ipFrag: f(367, 1),
  ctZone: f(368, 2),
  tpSrc: f(370, 2),
  tpDst: f(372, 2),
  tpFlags: f(374, 2),
  ipv4Src: f(376, 4),
  ipv4Dst: f(380, 4),
  ipv4CtOrigSrc: f(384, 4),
  ipv4CtOrigDst: f(388, 4),
  arpSha: f(384, 6),
  arpTha: f(390, 6),
  ipv6Src: f(376, 16),
  ipv6Dst: f(392, 16),
  ipv6Label: f(408, 4),
  ipv6Exthdrs: f(412, 2),
  ipv6CtOrigSrc: f(416, 16),
  ipv6CtOrigDst: f(432, 16),
  ndTarget: f(416, 16),
  ndSll: f(432, 6),
  ndTll: f(438, 6),
  mplsNumLabelsMask: f(376, 4),
  mplsLse: f(380, 12),
  nshFlags: f(376, 1),
  nshTtl: f(377, 1),
  nshMdtype: f(378, 1),
  nshNp: f(379, 1),
  nshPathHdr: f(380, 4),
  nshBase: f(376, 8),
  nshContext: f(384, 16),
  ctOrigTpSrc: f(448, 2),
  ctOrigTpDst: f(450, 2),
  ctMark: f(452, 4),
  ctLabels: f(456, 16),
} as const;

export type SwKeyFieldName = keyof typeof SWKEY;

/** OVS_SW_FLOW_KEY_METADATA_SIZE: the metadata part of the key, up to and including recirc_id. */
export const SW_FLOW_KEY_METADATA_SIZE = SWKEY.recircId.off + SWKEY.recircId.len;

/** newSwFlowKey allocates a zeroed key (or mask). */
export function newSwFlowKey(): Buffer {
  return Buffer.alloc(SW_FLOW_KEY_SIZE);
}

/** sw_flow_key_range: the 8-byte-aligned [start, end) byte span a key or mask touches. */
export interface KeyRange {
  start: number;
  end: number;
}

/** update_range(): widen `range` to cover [offset, offset + size), rounded to words. */
// kernel: update_range()
export function updateRange(range: KeyRange, offset: number, size: number): void {
  const start = Math.floor(offset / KEY_WORD) * KEY_WORD;
  const end = Math.ceil((offset + size) / KEY_WORD) * KEY_WORD;
  if (range.start === range.end) {
    range.start = start;
    range.end = end;
    return;
  }
  if (range.start > start) range.start = start;
  if (range.end < end) range.end = end;
}

/** rangeBytes is range_n_bytes(). */
export function rangeBytes(r: KeyRange): number {
  return r.end - r.start;
}

/**
 * maskKey is ovs_flow_mask_key(): dst = src & mask over the mask's range (or the whole key when
 * `full`). Without `full`, bytes of dst outside the range are left as they were.
 */
// kernel: ovs_flow_mask_key()
export function maskKey(dst: Buffer, src: Buffer, mask: Buffer, range: KeyRange, full = false): Buffer {
  const start = full ? 0 : range.start;
  const end = full ? SW_FLOW_KEY_SIZE : range.end;
  for (let i = start; i < end; i++) dst[i] = src[i] & mask[i];
  return dst;
}

/** flowKeyStart is flow_key_start(): unmasked compares skip the tunnel unless the key has one. */
// kernel: flow_key_start()
export function flowKeyStart(key: Buffer): number {
  return key[SWKEY.tunProto.off] ? 0 : Math.floor(SWKEY.priority.off / KEY_WORD) * KEY_WORD;
}

/** cmpKey is cmp_key(): bytes [start, end) of both keys are equal. */
// kernel: cmp_key()
export function cmpKey(a: Buffer, b: Buffer, start: number, end: number): boolean {
  return a.compare(b, start, end, start, end) === 0;
}

/**
 * cmpUnmaskedKey is ovs_flow_cmp_unmasked_key(): a key-identified flow's unmasked key against a
 * parsed match, over [flow_key_start(key), match range end) only.
 */
// kernel: ovs_flow_cmp_unmasked_key()
export function cmpUnmaskedKey(unmaskedKey: Buffer, key: Buffer, range: KeyRange): boolean {
  return cmpKey(unmaskedKey, key, flowKeyStart(key), range.end);
}

/** maskEqual is mask_equal(): same range and same mask bytes within it. */
// kernel: mask_equal()
export function maskEqual(a: Buffer, ar: KeyRange, b: Buffer, br: KeyRange): boolean {
  return ar.start === br.start && ar.end === br.end && cmpKey(a, b, ar.start, ar.end);
}

/** rangeSlice is the part of a (masked) key a table needs to keep: zero outside the mask range. */
export function rangeSlice(key: Buffer, range: KeyRange): Buffer {
  return key.subarray(range.start, range.end);
}

/** tunOptsOffset is TUN_METADATA_OFFSET(): options of length `len` end at the end of tun_opts. */
export function tunOptsOffset(len: number): number {
  return TUN_OPTS_MAX - len;
}

/** ovsKeyMacProto is ovs_key_mac_proto(). */
export function ovsKeyMacProto(key: Buffer): number {
  return key[SWKEY.macProto.off] & ~SW_FLOW_KEY_INVALID;
}

// ---- typed accessors for the fields other code branches on ----

/** ethType reads eth.type as a host-order number. */
export function keyEthType(key: Buffer): number {
  return key.readUInt16BE(SWKEY.ethType.off);
}

/** keyInPort reads phy.in_port (IN_PORT_NONE when the key names no port). */
export function keyInPort(key: Buffer): number {
  return key.readUInt16LE(SWKEY.inPort.off);
}

export function setKeyInPort(key: Buffer, port: number): void {
  key.writeUInt16LE(port & 0xffff, SWKEY.inPort.off);
}

export function keyRecircId(key: Buffer): number {
  return key.readUInt32LE(SWKEY.recircId.off);
}

export function keyTunFlags(key: Buffer): number {
  // The defined bits all live in the low 32 bits of the bitmap.
  return key.readUInt32LE(SWKEY.tunFlags.off);
}

export function keyVlanTci(key: Buffer, inner = false): number {
  return key.readUInt16BE(inner ? SWKEY.cvlanTci.off : SWKEY.vlanTci.off);
}

/** swKeyIsNd is sw_flow_key_is_nd(): an ICMPv6 neighbour solicitation/advertisement key. */
// kernel: sw_flow_key_is_nd()
export function swKeyIsNd(key: Buffer): boolean {
  const type = key.readUInt16BE(SWKEY.tpSrc.off);
  return keyEthType(key) === ETH_P.IPV6 && key[SWKEY.ipProto.off] === IPPROTO.ICMPV6 &&
    key.readUInt16BE(SWKEY.tpDst.off) === 0 &&
    (type === NDISC.NEIGHBOUR_SOLICITATION || type === NDISC.NEIGHBOUR_ADVERTISEMENT);
}
