/**
 * 802.1Q / 802.1ad tags of the flow key: the ETHERTYPE + VLAN + ENCAP{...} nesting, up to two
 * tags, for keys and for masks (net/openvswitch/flow_netlink.c, Linux 6.12).
 */
import { SWKEY } from './flow-key';
import { bit } from './flow-netlink-attrs';
import {
  einval, parseFlowNlattrs, putU16, type AttrBits, type KeyCtx, type SwFlowMatch,
} from './flow-netlink-match';
import { VLAN_CFI_MASK, ethTypeVlan } from './net-consts';

const be16 = (ctx: KeyCtx, t: number): number => ctx.a[t]?.payload.readUInt16BE(0) ?? 0;

// kernel: encode_vlan_from_nlattrs()
function encodeVlanFromNlattrs(m: SwFlowMatch, ctx: KeyCtx, isMask: boolean, inner: boolean): void {
  const { K } = ctx.S;
  // a[] entries the mask lacks still point at the key's attributes, as in the kernel.
  const tci = be16(ctx, K.vlan);
  const tpid = be16(ctx, K.ethertype);
  putU16(m, inner ? SWKEY.cvlanTpid : SWKEY.vlanTpid, tpid, isMask, true);
  putU16(m, inner ? SWKEY.cvlanTci : SWKEY.vlanTci, tci, isMask, true);
}

// kernel: validate_vlan_from_nlattrs()
function validateVlanFromNlattrs(ctx: KeyCtx, keyAttrs: bigint, inner: boolean): boolean {
  const { K } = ctx.S;
  const what = inner ? 'C-VLAN' : 'VLAN';
  if (!((keyAttrs & bit(K.ethernet)) && (keyAttrs & bit(K.ethertype)) && ethTypeVlan(be16(ctx, K.ethertype)))) {
    return false; // not a VLAN
  }
  if (!((keyAttrs & bit(K.vlan)) && (keyAttrs & bit(K.encap)))) throw einval(ctx, `Invalid ${what} frame`);
  const tci = be16(ctx, K.vlan);
  if (!(tci & VLAN_CFI_MASK)) {
    if (tci) throw einval(ctx, `${what} TCI does not have VLAN_CFI_MASK bit set.`);
    if (ctx.a[K.encap]?.payload.length) throw einval(ctx, `Truncated ${what} header has non-zero encap attribute.`);
  }
  return true;
}

// kernel: validate_vlan_mask_from_nlattrs()
function validateVlanMaskFromNlattrs(m: SwFlowMatch, ctx: KeyCtx, maskAttrs: bigint, inner: boolean): boolean {
  const { K } = ctx.S;
  const what = inner ? 'C-VLAN' : 'VLAN';
  const encapValid = (m.key.readUInt16BE(SWKEY.vlanTci.off) & VLAN_CFI_MASK) !== 0;
  const iEncapValid = (m.key.readUInt16BE(SWKEY.cvlanTci.off) & VLAN_CFI_MASK) !== 0;
  if (!(maskAttrs & bit(K.encap))) return false; // not a VLAN
  if ((!inner && !encapValid) || (inner && !iEncapValid)) throw einval(ctx, `Encap mask attribute is set for non-${what} frame.`);
  const tci = be16(ctx, K.vlan);
  const tpid = be16(ctx, K.ethertype);
  if (tpid !== 0xffff) throw einval(ctx, `Must have an exact match on ${what} TPID (mask=${tpid.toString(16)}).`);
  if (!(tci & VLAN_CFI_MASK)) throw einval(ctx, `${what} TCI mask does not have exact match for VLAN_CFI_MASK bit.`);
  return true;
}

// kernel: __parse_vlan_from_nlattrs()
function parseOneVlan(m: SwFlowMatch, ctx: KeyCtx, attrs: AttrBits, inner: boolean, isMask: boolean): void {
  const { K } = ctx.S;
  const isVlan = isMask ? validateVlanMaskFromNlattrs(m, ctx, attrs.bits, inner) : validateVlanFromNlattrs(ctx, attrs.bits, inner);
  if (!isVlan) return;
  encodeVlanFromNlattrs(m, ctx, isMask, inner);
  attrs.bits &= ~(bit(K.encap) | bit(K.vlan) | bit(K.ethertype));
  const encap = ctx.a[K.encap];
  parseFlowNlattrs(encap ? encap.payload : Buffer.alloc(0), ctx, attrs, isMask);
}

/**
 * parseVlanFromNlattrs is parse_vlan_from_nlattrs(): unwraps the outer tag and, when the key's
 * outer tag is present, the inner one, merging each ENCAP's attributes into `attrs`.
 * @throws {@link NlError} EINVAL
 */
// kernel: parse_vlan_from_nlattrs()
export function parseVlanFromNlattrs(m: SwFlowMatch, ctx: KeyCtx, attrs: AttrBits, isMask: boolean): void {
  parseOneVlan(m, ctx, attrs, false, isMask);
  if (m.key.readUInt16BE(SWKEY.vlanTci.off) & VLAN_CFI_MASK) parseOneVlan(m, ctx, attrs, true, isMask);
}
