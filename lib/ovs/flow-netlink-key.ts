/**
 * Flow key and mask parsing: OVS_FLOW_ATTR_KEY / OVS_FLOW_ATTR_MASK to sw_flow_key + mask
 * (ovs_nla_get_match()), the exact-match mask built when MASK is absent, match_validate(), the
 * flow identifier (UFID or unmasked key), and the metadata-only parse of OVS_PACKET_ATTR_KEY
 * (net/openvswitch/flow_netlink.c, flow.c, Linux 6.12). Every refusal is EINVAL without an
 * extack, as in the kernel, which only logs (OVS_NLERR) - see {@link OvsLog}.
 */
import type { FamilySpec } from '../schema/model';
import type { Attr } from '../schema/validate';
import { IN_PORT_NONE, newSwFlowKey, SWKEY } from './flow-key';
import { bit, keySchema, type KeySchema } from './flow-netlink-attrs';
import { metadataFromNlattrs, ovsKeyFromNlattrs } from './flow-netlink-fields';
import {
  CT_FULL, ctSupportedMask, einval, memsetField, nlaForEachNested, ovsMatchInit, ovsNlerr, parseFlowNlattrs, putU16,
  type AttrBits, type CtSupport, type KeyCtx, type OvsLog, type SwFlowMatch,
} from './flow-netlink-match';
import { parseVlanFromNlattrs } from './flow-netlink-vlan';
import { ETH_P, IPPROTO, NDISC, ethPMpls } from './net-consts';

export type { SwFlowMatch, SwFlowMask, CtSupport, OvsLog } from './flow-netlink-match';
export { CT_FULL, ovsNlerr } from './flow-netlink-match';

/** MAX_UFID_LENGTH (flow.h): UFIDs are 1..16 bytes. */
export const MAX_UFID_LENGTH = 16;

/** KeyOptions describe the emulated kernel for the key parsers. */
export interface KeyOptions {
  /** The ovs_flow family whose key sets to use (default: the repository's schemas). */
  family?: FamilySpec;
  /** Conntrack support (default: all of it, as Debian's 6.12). */
  ct?: CtSupport;
  /** OVS_NLERR sink; pass a no-op for OVS_FLOW_ATTR_PROBE requests (the kernel's `log = false`). */
  log?: OvsLog;
}

/** MatchOptions add the caller's sw_flow_mask to {@link KeyOptions}. */
export interface MatchOptions extends KeyOptions {
  /**
   * false for GET and DEL, which call ovs_nla_get_match() with `match->mask == NULL`: no mask is
   * parsed or generated and match_validate() allows no mask attributes. Default true.
   */
  withMask?: boolean;
}

/** ParsedMatch is the match plus the attribute bitmaps match_validate() looked at. */
export interface ParsedMatch extends SwFlowMatch {
  /** Key attributes after VLAN unwrapping (u64 bitmap, bit n = type n). */
  keyAttrs: bigint;
  /** Mask attributes after VLAN unwrapping (all-zero ones dropped). */
  maskAttrs: bigint;
}

type Nla = Attr | Buffer;
const payloadOf = (x: Nla): Buffer => (Buffer.isBuffer(x) ? x : x.payload);

function newCtx(opts: KeyOptions): KeyCtx {
  return { S: keySchema(opts.family), ct: opts.ct ?? CT_FULL, log: opts.log ?? ovsNlerr, a: [] };
}

/**
 * maskSetNlattr is mask_set_nlattr() / nlattr_set(): sets every payload byte of a copy of the
 * key's attributes to `val`, descending into nests by the ovs-key length tables, and keeps only
 * the supported bits of CT_STATE.
 */
// kernel: mask_set_nlattr(), nlattr_set()
function maskSetNlattr(p: Buffer, val: number, ctx: KeyCtx, set = ctx.S.keySet): void {
  const ctState = ctx.S.K['ct-state'];
  nlaForEachNested(p, (a) => {
    const spec = set.byType.get(a.type);
    if (spec?.lenMode === 'nested') maskSetNlattr(a.payload, val, ctx, spec.nested ?? set);
    else a.payload.fill(val);
    if (a.type === ctState) a.payload.writeUInt32LE((a.payload.readUInt32LE(0) & ctSupportedMask(ctx)) >>> 0, 0);
  });
}

/**
 * matchValidate is match_validate(): the key must hold every attribute its values imply
 * ("Missing key"), and the mask may only hold attributes the key allows ("Unexpected mask").
 */
// kernel: match_validate()
export function matchValidate(m: SwFlowMatch, S: KeySchema, keyAttrs: bigint, maskAttrs: bigint, log: OvsLog = ovsNlerr): boolean {
  const { K } = S;
  const k = m.key;
  const mk = m.mask?.key;
  const ethType = k.readUInt16BE(SWKEY.ethType.off);
  const maskEthExact = mk !== undefined && mk.readUInt16BE(SWKEY.ethType.off) === 0xffff;
  const maskProtoExact = mk !== undefined && mk[SWKEY.ipProto.off] === 0xff;
  const proto = k[SWKEY.ipProto.off];
  let expected = 0n;
  let allowed = keyAttrs & ~(bit(K.ipv4) | bit(K['ct-orig-tuple-ipv4']) | bit(K.ipv6) | bit(K['ct-orig-tuple-ipv6']) |
    bit(K.tcp) | bit(K['tcp-flags']) | bit(K.udp) | bit(K.sctp) | bit(K.icmp) | bit(K.icmpv6) | bit(K.arp) |
    bit(K.nd) | bit(K.mpls) | bit(K.nsh));
  allowed |= bit(K.tunnel) | bit(K['in-port']) | bit(K.ethertype); // always allowed in masks

  const l3 = (attr: bigint, alsoAllowed = 0n): void => {
    expected |= attr;
    if (maskEthExact) allowed |= attr | alsoAllowed;
  };
  const l4 = (attr: bigint): void => {
    expected |= attr;
    if (maskProtoExact) allowed |= attr;
  };
  const transport = (): void => {
    if (k[SWKEY.ipFrag.off] === S.fragLater) return;
    if (proto === IPPROTO.UDP) l4(bit(K.udp));
    if (proto === IPPROTO.SCTP) l4(bit(K.sctp));
    if (proto === IPPROTO.TCP) l4(bit(K.tcp) | bit(K['tcp-flags']));
  };

  if (ethType === ETH_P.ARP || ethType === ETH_P.RARP) l3(bit(K.arp));
  if (ethPMpls(ethType)) l3(bit(K.mpls));
  if (ethType === ETH_P.IP) {
    l3(bit(K.ipv4), bit(K['ct-orig-tuple-ipv4']));
    transport();
    if (k[SWKEY.ipFrag.off] !== S.fragLater && proto === IPPROTO.ICMP) l4(bit(K.icmp));
  }
  if (ethType === ETH_P.IPV6) {
    l3(bit(K.ipv6), bit(K['ct-orig-tuple-ipv6']));
    transport();
    if (k[SWKEY.ipFrag.off] !== S.fragLater && proto === IPPROTO.ICMPV6) {
      l4(bit(K.icmpv6));
      const type = k.readUInt16BE(SWKEY.tpSrc.off);
      if (type === NDISC.NEIGHBOUR_SOLICITATION || type === NDISC.NEIGHBOUR_ADVERTISEMENT) {
        expected |= bit(K.nd);
        // The original-direction tuple shares the ND fields' storage: never both.
        allowed &= ~bit(K['ct-orig-tuple-ipv6']);
        if (mk && mk.readUInt16BE(SWKEY.tpSrc.off) === 0xff) allowed |= bit(K.nd);
      }
    }
  }
  if (ethType === ETH_P.NSH) l3(bit(K.nsh));

  if ((keyAttrs & expected) !== expected) {
    log(`Missing key (keys=${keyAttrs.toString(16)}, expected=${expected.toString(16)})`);
    return false;
  }
  if ((maskAttrs & allowed) !== maskAttrs) {
    log(`Unexpected mask (mask=${maskAttrs.toString(16)}, allowed=${allowed.toString(16)})`);
    return false;
  }
  return true;
}

/**
 * ovsNlaGetMatch is ovs_nla_get_match(): parses a flow key and its mask (or generates the
 * exact-match mask when `mask` is undefined) into a fresh sw_flow_match.
 * @throws {@link NlError} EINVAL for every malformed or inconsistent key/mask
 */
// kernel: ovs_nla_get_match()
export function ovsNlaGetMatch(key: Nla, mask: Nla | undefined, opts: MatchOptions = {}): ParsedMatch {
  const ctx = newCtx(opts);
  const m = ovsMatchInit(opts.withMask ?? true);
  const keyP = payloadOf(key);
  const keyAttrs: AttrBits = { bits: 0n };
  const maskAttrs: AttrBits = { bits: 0n };

  parseFlowNlattrs(keyP, ctx, keyAttrs, false);
  parseVlanFromNlattrs(m, ctx, keyAttrs, false);
  ovsKeyFromNlattrs(m, ctx, keyAttrs.bits, false);

  if (m.mask) {
    let maskP: Buffer;
    if (mask === undefined) {
      // Exact match: the key's attributes with every byte set to 0xff, so that padding and
      // fields the key does not name stay wildcarded.
      maskP = Buffer.from(keyP);
      maskSetNlattr(maskP, 0xff, ctx);
      // Userspace leaves zero tunnel fields out, but they are matched all the same.
      if (m.key[SWKEY.tunProto.off]) memsetField(m, SWKEY.tunKey, 0xff, true);
    } else {
      maskP = payloadOf(mask);
    }
    parseFlowNlattrs(maskP, ctx, maskAttrs, true);
    // Always match on tci.
    putU16(m, SWKEY.vlanTci, 0xffff, true, true);
    putU16(m, SWKEY.cvlanTci, 0xffff, true, true);
    parseVlanFromNlattrs(m, ctx, maskAttrs, true);
    ovsKeyFromNlattrs(m, ctx, maskAttrs.bits, true);
  }

  if (!matchValidate(m, ctx.S, keyAttrs.bits, maskAttrs.bits, ctx.log)) throw einval(ctx);
  return { ...m, keyAttrs: keyAttrs.bits, maskAttrs: maskAttrs.bits };
}

/**
 * ovsNlaGetUfid is ovs_nla_get_ufid(): a copy of the UFID when it is 1..16 bytes, else
 * undefined (a longer or empty one is logged and treated as absent).
 */
// kernel: ovs_nla_get_ufid(), get_ufid_len()
export function ovsNlaGetUfid(attr: Nla | undefined, log: OvsLog = ovsNlerr): Buffer | undefined {
  if (!attr) return undefined;
  const p = payloadOf(attr);
  if (p.length < 1 || p.length > MAX_UFID_LENGTH) {
    log(`ufid size ${p.length} bytes exceeds the range (1, ${MAX_UFID_LENGTH})`);
    return undefined;
  }
  return Buffer.from(p);
}

/** FlowId is sw_flow_id: a UFID, or (when none was given) a copy of the unmasked key. */
export type FlowId = { ufid: Buffer; unmaskedKey?: undefined } | { ufid?: undefined; unmaskedKey: Buffer };

/** ovsNlaGetIdentifier is ovs_nla_get_identifier(). */
// kernel: ovs_nla_get_identifier()
export function ovsNlaGetIdentifier(ufid: Nla | undefined, unmaskedKey: Buffer, log: OvsLog = ovsNlerr): FlowId {
  const u = ovsNlaGetUfid(ufid, log);
  return u ? { ufid: u } : { unmaskedKey: Buffer.from(unmaskedKey) };
}

/** ovsNlaGetUfidFlags is ovs_nla_get_ufid_flags(). */
export function ovsNlaGetUfidFlags(attr: Nla | undefined): number {
  return attr ? payloadOf(attr).readUInt32LE(0) : 0;
}

/** FlowMetadata is what ovsNlaGetFlowMetadata() returns. */
export interface FlowMetadata {
  key: Buffer;
  /** The top-level key attributes present (for the caller's CT_ORIG_TUPLE checks after extraction). */
  attrs: bigint;
}

/**
 * ovsNlaGetFlowMetadata is the netlink half of ovs_flow_key_extract_userspace():
 * parse_flow_nlattrs() then ovs_nla_get_flow_metadata() into `key` (default: a zeroed key),
 * filling only the metadata (priority, in_port, mark, tunnel, conntrack, hash, recirc_id) and,
 * for layer 3 keys, mac_proto and eth.type. Packet fields are left to key extraction.
 * @throws {@link NlError} EINVAL
 */
// kernel: ovs_flow_key_extract_userspace() (first half), ovs_nla_get_flow_metadata()
export function ovsNlaGetFlowMetadata(nlaKey: Nla, opts: KeyOptions & { key?: Buffer } = {}): FlowMetadata {
  const ctx = newCtx(opts);
  const attrs: AttrBits = { bits: 0n };
  parseFlowNlattrs(payloadOf(nlaKey), ctx, attrs, false);
  const key = opts.key ?? newSwFlowKey();
  key[SWKEY.ctState.off] = 0;
  key.writeUInt16LE(0, SWKEY.ctZone.off);
  key[SWKEY.ctOrigProto.off] = 0;
  key.fill(0, SWKEY.ctOrigTpSrc.off, SWKEY.ctLabels.off + SWKEY.ctLabels.len); // key->ct
  key.fill(0, SWKEY.ipv4CtOrigSrc.off, SWKEY.ipv4CtOrigDst.off + SWKEY.ipv4CtOrigDst.len);
  key.fill(0, SWKEY.ipv6CtOrigSrc.off, SWKEY.ipv6CtOrigDst.off + SWKEY.ipv6CtOrigDst.len);
  key.writeUInt16LE(IN_PORT_NONE, SWKEY.inPort.off);
  metadataFromNlattrs({ key, range: { start: 0, end: 0 }, mask: null }, ctx, { bits: attrs.bits }, false);
  return { key, attrs: attrs.bits };
}
