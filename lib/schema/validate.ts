import { NLA_HDRLEN, NLA_TYPE_MASK, align4 } from '../nl/constants';
import { Errno } from '../nl/errno';
import { NlError, type Extack } from '../nl/errors';
import type { AttrSet, AttrSpec } from './model';
import { describePolicy, signedRange, unsignedRange } from './policy-describe';

/** Attr is one attribute found in a message. */
export interface Attr {
  /** nla_type without the NESTED / NET_BYTEORDER flag bits. */
  type: number;
  /** The raw nla_type word, flags included. */
  rawType: number;
  /** Offset of the attribute header from the start of the request's nlmsghdr (for extack). */
  offset: number;
  payload: Buffer;
}

/** ParsedAttrs is the kernel's `struct nlattr *tb[]`: the last attribute of each type. */
export interface ParsedAttrs {
  set: AttrSet;
  byType: Map<number, Attr>;
  get(name: string): Attr | undefined;
}

/** ParseContext says where `buf` starts inside the request (for extack offsets) and collects warnings. */
export interface ParseContext {
  /** Offset of buf[0] from the request's nlmsghdr. */
  base: number;
  /** Extack that survives a successful parse (kernel sets a message for leftover bytes). */
  extack: Extack;
}

const MAX_POLICY_RECURSION_DEPTH = 10;
// nla_attr_minlen[] for the integer types (NLA_NESTED's NLA_HDRLEN is handled in its case).
const INT_LEN: Record<string, number> = { u8: 1, u16: 2, u32: 4, u64: 8, s8: 1, s16: 2, s32: 4, s64: 8 };

function policyError(errno: number, a: AttrSpec, attr: Attr, msg = 'Attribute failed policy validation'): NlError {
  return new NlError(errno, { msg, offset: attr.offset, policy: describePolicy(a) });
}

function readInt(a: AttrSpec, p: Buffer): bigint {
  switch (a.nla) {
    case 'u8': return BigInt(p.readUInt8(0));
    case 'u16': return BigInt(p.readUInt16LE(0));
    case 'u32': return BigInt(p.readUInt32LE(0));
    case 'u64': return p.readBigUInt64LE(0);
    case 's8': return BigInt(p.readInt8(0));
    case 's16': return BigInt(p.readInt16LE(0));
    case 's32': return BigInt(p.readInt32LE(0));
    default: return p.readBigInt64LE(0);
  }
}

/** validateNla is the liberal half of the kernel's validate_nla() for one attribute. */
// kernel: validate_nla() with NL_VALIDATE_LIBERAL
function validateNla(a: AttrSpec, attr: Attr, ctx: ParseContext, depth: number): void {
  const p = attr.payload;
  const len = p.length;
  switch (a.nla) {
    case 'none':
      return;
    case 'flag':
      if (len > 0) throw policyError(Errno.ERANGE, a, attr);
      return;
    case 'nul-string': {
      const minlen = a.policyLen ? Math.min(len, a.policyLen + 1) : len;
      if (!minlen || !p.subarray(0, minlen).includes(0)) throw policyError(Errno.EINVAL, a, attr);
      validateString(a, attr);
      return;
    }
    case 'string':
      validateString(a, attr);
      return;
    case 'binary':
      if (a.policyLen && len > a.policyLen) throw policyError(Errno.ERANGE, a, attr);
      return;
    case 'nested':
      if (len === 0) return;
      if (len < NLA_HDRLEN) throw policyError(Errno.ERANGE, a, attr);
      if (a.policyNested && a.nested) {
        parseLiberal(p, a.nested, a.nested.maxType, { base: attr.offset + NLA_HDRLEN, extack: ctx.extack }, depth + 1);
      }
      return;
    case 'unspec':
      if (len < a.policyLen) throw policyError(Errno.ERANGE, a, attr);
      return;
    default: {
      const minlen = a.policyLen || INT_LEN[a.nla];
      if (len < minlen) throw policyError(Errno.ERANGE, a, attr);
      if (a.min === undefined && a.max === undefined) return;
      const v = readInt(a, p);
      const r = a.nla.startsWith('s') ? signedRange(a) : unsignedRange(a);
      if (v < r.min || v > r.max) throw policyError(Errno.ERANGE, a, attr, 'integer out of range');
    }
  }
}

function validateString(a: AttrSpec, attr: Attr): void {
  let len = attr.payload.length;
  if (len < 1) throw policyError(Errno.ERANGE, a, attr);
  if (a.policyLen) {
    if (attr.payload[len - 1] === 0) len--;
    if (len > a.policyLen) throw policyError(Errno.ERANGE, a, attr);
  }
}

/**
 * forEachAttr walks TLVs like nla_for_each_attr(): it stops at a header that is too short or
 * overruns the buffer, and returns the number of bytes left unparsed.
 */
export function forEachAttr(buf: Buffer, base: number, fn: (attr: Attr) => void): number {
  let off = 0;
  while (buf.length - off >= NLA_HDRLEN) {
    const nlaLen = buf.readUInt16LE(off);
    if (nlaLen < NLA_HDRLEN || nlaLen > buf.length - off) break;
    const rawType = buf.readUInt16LE(off + 2);
    fn({ type: rawType & NLA_TYPE_MASK, rawType, offset: base + off, payload: buf.subarray(off + NLA_HDRLEN, off + nlaLen) });
    off += align4(nlaLen);
  }
  return Math.max(0, buf.length - off);
}

function parsed(set: AttrSet, byType: Map<number, Attr>): ParsedAttrs {
  return { set, byType, get: (name) => {
    const spec = set.byName.get(name);
    return spec ? byType.get(spec.type) : undefined;
  } };
}

/**
 * parseLiberal is nla_parse_deprecated(): the genl-legacy strength. Types 0 and above `maxType`
 * are ignored, duplicates keep the last one, over-long integers are accepted, trailing bytes only
 * leave a warning in the extack.
 * @throws {@link NlError}
 */
// kernel: __nla_validate_parse() with NL_VALIDATE_LIBERAL
export function parseLiberal(buf: Buffer, set: AttrSet, maxType: number, ctx: ParseContext, depth = 0): ParsedAttrs {
  if (depth >= MAX_POLICY_RECURSION_DEPTH) throw new NlError(Errno.EINVAL, { msg: 'allowed policy recursion depth exceeded' });
  const byType = new Map<number, Attr>();
  const rem = forEachAttr(buf, ctx.base, (attr) => {
    if (attr.type === 0 || attr.type > maxType) return;
    const spec = set.byType.get(attr.type);
    if (spec) validateNla(spec, attr, ctx, depth);
    byType.set(attr.type, attr);
  });
  if (rem > 0) ctx.extack.msg = 'bytes leftover after parsing attributes';
  return parsed(set, byType);
}

/**
 * checkAttrRule applies the schema's handler-level rule (x-multiple-of) for one attribute, at
 * the point where the kernel handler checks it (so errno order matches the kernel's).
 * @throws {@link NlError}
 */
export function checkAttrRule(attrs: ParsedAttrs, name: string): void {
  const spec = attrs.set.byName.get(name);
  const attr = attrs.get(name);
  if (spec && attr) checkLenRule(spec, attr);
}

/**
 * checkLenRule applies `spec`'s handler-level length rule to an attribute that may come from
 * another set (the datapath's UPCALL_PID becomes the local port's pid array).
 * @throws {@link NlError}
 */
export function checkLenRule(spec: AttrSpec, attr: Attr): void {
  if (!spec.multipleOf) return;
  const len = attr.payload.length;
  if (len === 0 || len % spec.multipleOf !== 0) throw new NlError(spec.checkErrno ?? Errno.EINVAL);
}

/**
 * requireAttrs throws EINVAL when one of the op's `x-required` attributes is missing, in the
 * order the kernel handler tests them.
 * @throws {@link NlError}
 */
export function requireAttrs(attrs: ParsedAttrs, names: readonly string[]): void {
  for (const n of names) if (!attrs.get(n)) throw new NlError(Errno.EINVAL);
}

/**
 * parseOvsKey is __parse_flow_nlattrs(): the ovs-key strength. Out-of-range and kernel-only
 * types, duplicates, wrong lengths and leftover bytes are all EINVAL (no extack: the kernel
 * only logs these). With `nz`, all-zero attributes are dropped (mask parsing).
 * @throws {@link NlError}
 */
// kernel: __parse_flow_nlattrs()
export function parseOvsKey(buf: Buffer, set: AttrSet, base: number, nz = false): ParsedAttrs {
  const byType = new Map<number, Attr>();
  const seen = new Set<number>();
  const rem = forEachAttr(buf, base, (attr) => {
    if (attr.type > set.maxType) throw new NlError(Errno.EINVAL);
    const spec = set.byType.get(attr.type);
    if (spec?.kernelOnly) throw new NlError(Errno.EINVAL);
    if (seen.has(attr.type)) throw new NlError(Errno.EINVAL);
    const expected = spec ? spec.lenMode === 'fixed' ? spec.exactLen ?? 0 : -1 : 0;
    if (expected >= 0 && attr.payload.length !== expected) throw new NlError(Errno.EINVAL);
    if (!nz || attr.payload.some((x) => x !== 0)) {
      seen.add(attr.type);
      byType.set(attr.type, attr);
    }
  });
  if (rem > 0) throw new NlError(Errno.EINVAL);
  return parsed(set, byType);
}
