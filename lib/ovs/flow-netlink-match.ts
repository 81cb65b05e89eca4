/**
 * struct sw_flow_match and the SW_FLOW_KEY_* write helpers of flow_netlink.c: every write to
 * the key or the mask widens the matching range, as the kernel's macros do. Also the context
 * the key parsers share (schema tables, conntrack support, OVS_NLERR logging).
 */
import createDebug from 'debug';
import { NLA_HDRLEN, NLA_TYPE_MASK, align4 } from '../nl/constants';
import { Errno } from '../nl/errno';
import { NlError } from '../nl/errors';
import type { AttrSet } from '../schema/model';
import type { Attr } from '../schema/validate';
import { newSwFlowKey, updateRange, type KeyField, type KeyRange } from './flow-key';
import { bit, type KeySchema } from './flow-netlink-attrs';
import { kmsg } from '../kmsg';

const debug = createDebug('ovs-dpemu:ovs:flow-netlink');

/** sw_flow_mask: the mask key and the range it covers. */
export interface SwFlowMask {
  key: Buffer;
  range: KeyRange;
}

/** sw_flow_match: the key being built, its range, and the mask (null for GET/DEL lookups). */
export interface SwFlowMatch {
  key: Buffer;
  range: KeyRange;
  mask: SwFlowMask | null;
}

/**
 * OvsLog receives the kernel's OVS_NLERR messages (rate-limited pr_info in the kernel; never
 * sent to the client). A probe passes a no-op. `unit` is the kernel source file that logs it:
 * conntrack.c has no pr_fmt, so its lines lack the "openvswitch: " module prefix.
 */
export type OvsLog = (msg: string, unit?: 'conntrack') => void;

/** The default OVS_NLERR sink: the emulated kernel log (lib/kmsg.ts), as OVS_NLERR prints it. */
export const ovsNlerr: OvsLog = (msg, unit) => {
  debug('%s', msg);
  kmsg.print(`${unit === 'conntrack' ? '' : 'openvswitch: '}netlink: ${msg}`);
};

/**
 * CtSupport says what conntrack the emulated kernel has. Debian's 6.12 has it all
 * (CONFIG_NF_CONNTRACK with ZONES, MARK and LABELS; xt_label taken at netns init).
 */
export interface CtSupport {
  /** CONFIG_NF_CONNTRACK. Without it every CT key attribute is refused and none is emitted. */
  enabled: boolean;
  /** ovs_net->xt_label: nf_connlabels_get() succeeded. */
  labels: boolean;
}

export const CT_FULL: CtSupport = { enabled: true, labels: true };

/** KeyCtx is what the key parsers share during one ovs_nla_get_match() call. */
export interface KeyCtx {
  S: KeySchema;
  ct: CtSupport;
  log: OvsLog;
  /**
   * The kernel's `const struct nlattr *a[OVS_KEY_ATTR_MAX + 1]`: one array for the key, its
   * encapsulated tags and the mask. Entries are overwritten, never cleared, so the mask's VLAN
   * checks can see the key's attributes where the mask has none (as in the kernel).
   */
  a: (Attr | undefined)[];
}

/** einval logs an OVS_NLERR message and returns the EINVAL the kernel answers with. */
export function einval(ctx: Pick<KeyCtx, 'log'>, msg?: string): NlError {
  if (msg !== undefined) ctx.log(msg);
  return new NlError(Errno.EINVAL);
}

/** ovsMatchInit is ovs_match_init() with a fresh zeroed key (and mask when `withMask`). */
// kernel: ovs_match_init()
export function ovsMatchInit(withMask: boolean, key: Buffer = newSwFlowKey()): SwFlowMatch {
  return {
    key,
    range: { start: 0, end: 0 },
    mask: withMask ? { key: newSwFlowKey(), range: { start: 0, end: 0 } } : null,
  };
}

/** target returns the buffer SW_FLOW_KEY_PUT writes to, after widening the right range. */
function target(m: SwFlowMatch, off: number, len: number, isMask: boolean): Buffer {
  if (!isMask) {
    updateRange(m.range, off, len);
    return m.key;
  }
  if (!m.mask) throw new Error('mask write on a match without mask');
  updateRange(m.mask.range, off, len);
  return m.mask.key;
}

/** putBytes is SW_FLOW_KEY_MEMCPY_OFFSET: copy `src` (network-order bytes) to `off`. */
export function putBytes(m: SwFlowMatch, off: number, src: Buffer, isMask: boolean): void {
  src.copy(target(m, off, src.length, isMask), off);
}

/** putField is SW_FLOW_KEY_MEMCPY for a field whose value is the first `f.len` bytes of `src`. */
export function putField(m: SwFlowMatch, f: KeyField, src: Buffer, isMask: boolean, at = 0): void {
  src.copy(target(m, f.off, f.len, isMask), f.off, at, at + f.len);
}

/** putU8 is SW_FLOW_KEY_PUT for a u8 field (the value is truncated as C does). */
export function putU8(m: SwFlowMatch, f: KeyField, v: number, isMask: boolean): void {
  target(m, f.off, f.len, isMask)[f.off] = v & 0xff;
}

/** putU16 is SW_FLOW_KEY_PUT for a 16-bit field, host order (le) or network order (be). */
export function putU16(m: SwFlowMatch, f: KeyField, v: number, isMask: boolean, be: boolean): void {
  const b = target(m, f.off, f.len, isMask);
  if (be) b.writeUInt16BE(v & 0xffff, f.off);
  else b.writeUInt16LE(v & 0xffff, f.off);
}

/** putU32 is SW_FLOW_KEY_PUT for a host-order u32 field. */
export function putU32(m: SwFlowMatch, f: KeyField, v: number, isMask: boolean): void {
  target(m, f.off, f.len, isMask).writeUInt32LE(v >>> 0, f.off);
}

/** memsetField is SW_FLOW_KEY_MEMSET_FIELD. */
export function memsetField(m: SwFlowMatch, f: KeyField, v: number, isMask: boolean): void {
  target(m, f.off, f.len, isMask).fill(v, f.off, f.off + f.len);
}

/** ovsCtVerify is ovs_ct_verify(): whether a CT key attribute is supported. */
// kernel: ovs_ct_verify()
export function ovsCtVerify(ctx: KeyCtx, type: number): boolean {
  const { K } = ctx.S;
  if (!ctx.ct.enabled) return false;
  if (type === K['ct-state'] || type === K['ct-zone'] || type === K['ct-mark']) return true;
  if (type === K['ct-labels']) return ctx.ct.labels;
  return false;
}

/** ctSupportedMask is CT_SUPPORTED_MASK (0 without conntrack). */
export function ctSupportedMask(ctx: Pick<KeyCtx, 'S' | 'ct'>): number {
  return ctx.ct.enabled ? ctx.S.ctSupportedMask : 0;
}

/**
 * nlaForEachNested is nla_for_each_nested(): it calls `fn` for each well-formed attribute and
 * returns the kernel's `rem`, which is negative when the last attribute lacks its padding (the
 * ovs-key parsers that test `if (rem)` refuse that; those that test `rem > 0` accept it).
 */
// kernel: nla_for_each_nested(), nla_ok(), nla_next()
export function nlaForEachNested(buf: Buffer, fn: (a: Attr) => void): number {
  let off = 0;
  let rem = buf.length;
  while (rem >= NLA_HDRLEN) {
    const len = buf.readUInt16LE(off);
    if (len < NLA_HDRLEN || len > rem) break;
    const rawType = buf.readUInt16LE(off + 2);
    fn({ type: rawType & NLA_TYPE_MASK, rawType, offset: off, payload: buf.subarray(off + NLA_HDRLEN, off + len) });
    const total = align4(len);
    off += total;
    rem -= total;
  }
  return rem;
}

/** AttrBits is the kernel's `u64 attrs` bitmap, passed by reference. */
export interface AttrBits {
  bits: bigint;
}

function allZero(p: Buffer): boolean {
  for (let i = 0; i < p.length; i++) if (p[i]) return false;
  return true;
}

/** checkAttrLen is check_attr_len() against a set's ovs-key length table. */
/** The length the set's table requires of `type` (0 for a hole), as OVS_NLERR reports it. */
export function expectedAttrLen(set: AttrSet, type: number): number {
  const spec = set.byType.get(type);
  return spec?.lenMode === 'fixed' ? spec.exactLen ?? 0 : 0;
}

/** checkAttrLen is check_attr_len() against the set's ovs_key_lens-like table. */
export function checkAttrLen(set: AttrSet, type: number, len: number): boolean {
  const spec = set.byType.get(type);
  if (!spec) return len === 0; // a hole in the C table: length 0
  if (spec.lenMode !== 'fixed') return true;
  return len === (spec.exactLen ?? 0);
}

/**
 * parseFlowNlattrs is __parse_flow_nlattrs(): checks one level of key attributes against
 * ovs_key_lens and records them in ctx.a and `attrs` (which may already hold the outer level's
 * bits: a repeat across levels is a duplicate). With `nz` (masks), all-zero attributes are
 * dropped after the checks.
 * @throws {@link NlError} EINVAL
 */
// kernel: __parse_flow_nlattrs(), parse_flow_nlattrs(), parse_flow_mask_nlattrs()
export function parseFlowNlattrs(p: Buffer, ctx: KeyCtx, attrs: AttrBits, nz: boolean): void {
  const set = ctx.S.keySet;
  let bits = attrs.bits;
  const rem = nlaForEachNested(p, (a) => {
    const t = a.type;
    if (t > set.maxType) throw einval(ctx, `Key type ${t} is out of range max ${set.maxType}`);
    if (set.byType.get(t)?.kernelOnly) throw einval(ctx, `Key type ${t} is not supported`);
    if (bits & bit(t)) throw einval(ctx, `Duplicate key (type ${t}).`);
    if (!checkAttrLen(set, t, a.payload.length)) throw einval(ctx, `Key ${t} has unexpected len ${a.payload.length} expected ${expectedAttrLen(set, t)}`);
    if (!nz || !allZero(a.payload)) {
      bits |= bit(t);
      ctx.a[t] = a;
    }
  });
  if (rem) throw einval(ctx, `Message has ${rem} unknown bytes.`);
  attrs.bits = bits;
}
