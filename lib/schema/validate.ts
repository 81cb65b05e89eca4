import { NLA_F_NESTED, NLA_HDRLEN, NLA_TYPE_MASK, align4 } from '../nl/constants';
import { Errno } from '../nl/errno';
import { NlError, type Extack } from '../nl/errors';
import type { AttrSet, AttrSpec } from './model';
import { describePolicy, signedRange, unsignedRange } from './policy-describe';
import { current, kmsg, Ratelimit } from '../kmsg';

/** The pr_warn_ratelimited() states of lib/nlattr.c's two warnings. */
const invalidLengthWarn = new Ratelimit('validate_nla');
const leftoverWarn = new Ratelimit('__nla_validate_parse');

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
// nla_attr_len[] / nla_attr_minlen[] for the integer types (NLA_NESTED's NLA_HDRLEN is handled in its case).
const INT_LEN: Record<string, number> = { u8: 1, u16: 2, u32: 4, u64: 8, s8: 1, s16: 2, s32: 4, s64: 8 };

/** enum netlink_validation: which extra checks __nla_validate_parse() makes. */
const NL_VALIDATE = { TRAILING: 1, MAXTYPE: 2, UNSPEC: 4, STRICT_ATTRS: 8, NESTED: 16 } as const;

/** The validation flags of each nla_parse strength, by the schema's x-parse-mode. */
// kernel: NL_VALIDATE_LIBERAL, NL_VALIDATE_DEPRECATED_STRICT, NL_VALIDATE_STRICT (include/net/netlink.h)
const MODE_FLAGS: Readonly<Record<string, number>> = {
  'genl-legacy': 0,
  'deprecated-strict': NL_VALIDATE.TRAILING | NL_VALIDATE.MAXTYPE,
  strict: NL_VALIDATE.TRAILING | NL_VALIDATE.MAXTYPE | NL_VALIDATE.UNSPEC | NL_VALIDATE.STRICT_ATTRS | NL_VALIDATE.NESTED,
};

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

/** validateNla is the kernel's validate_nla() for one attribute, under the `validate` flags. */
// kernel: validate_nla()
function validateNla(a: AttrSpec, attr: Attr, ctx: ParseContext, validate: number, depth: number): void {
  const p = attr.payload;
  const len = p.length;
  const intLen = INT_LEN[a.nla];
  if (intLen && len !== intLen) {
    if (invalidLengthWarn.allow()) kmsg.print(`netlink: '${current.comm}': attribute type ${attr.type} has an invalid length.`);
    if (validate & NL_VALIDATE.STRICT_ATTRS) throw policyError(Errno.EINVAL, a, attr, 'invalid attribute length');
  }
  if (validate & NL_VALIDATE.NESTED) {
    const flagged = (attr.rawType & NLA_F_NESTED) !== 0;
    if (a.nla === 'nested' && !flagged) throw policyError(Errno.EINVAL, a, attr, 'NLA_F_NESTED is missing');
    // 'none' (no policy entry) is NLA_UNSPEC in the kernel's zero-filled policy array.
    if (a.nla !== 'nested' && a.nla !== 'unspec' && a.nla !== 'none' && flagged) {
      throw policyError(Errno.EINVAL, a, attr, 'NLA_F_NESTED not expected');
    }
  }
  switch (a.nla) {
    case 'none':
    case 'unspec':
      if (validate & NL_VALIDATE.UNSPEC) throw new NlError(Errno.EINVAL, { msg: 'Unsupported attribute', offset: attr.offset });
      if (a.nla === 'unspec' && len < a.policyLen) throw policyError(Errno.ERANGE, a, attr);
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
        parseNla(p, a.nested, a.nested.maxType, { base: attr.offset + NLA_HDRLEN, extack: ctx.extack }, validate, depth + 1);
      }
      return;
    default: {
      const minlen = a.policyLen || intLen;
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
 * overruns the buffer, and returns the bytes left unparsed — negative when the last attribute
 * lacks its padding, as the kernel's signed `rem` is.
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
  return buf.length - off;
}

function parsed(set: AttrSet, byType: Map<number, Attr>): ParsedAttrs {
  return { set, byType, get: (name) => {
    const spec = set.byName.get(name);
    return spec ? byType.get(spec.type) : undefined;
  } };
}

/**
 * parseNla is __nla_validate_parse() with a tb[] array: the one walker behind every nla_parse
 * strength. `validate` holds NL_VALIDATE_* flags (see MODE_FLAGS).
 * @throws {@link NlError}
 */
// kernel: __nla_validate_parse()
function parseNla(buf: Buffer, set: AttrSet, maxType: number, ctx: ParseContext, validate: number, depth: number): ParsedAttrs {
  if (depth >= MAX_POLICY_RECURSION_DEPTH) throw new NlError(Errno.EINVAL, { msg: 'allowed policy recursion depth exceeded' });
  const byType = new Map<number, Attr>();
  const rem = forEachAttr(buf, ctx.base, (attr) => {
    if (attr.type === 0 || attr.type > maxType) {
      if (validate & NL_VALIDATE.MAXTYPE) throw new NlError(Errno.EINVAL, { msg: 'Unknown attribute type', offset: attr.offset });
      return;
    }
    const spec = set.byType.get(attr.type);
    if (spec) validateNla(spec, attr, ctx, validate, depth);
    else if (validate & NL_VALIDATE.UNSPEC) throw new NlError(Errno.EINVAL, { msg: 'Unsupported attribute', offset: attr.offset });
    byType.set(attr.type, attr);
  });
  if (rem > 0) {
    if (leftoverWarn.allow()) kmsg.print(`netlink: ${rem} bytes leftover after parsing attributes in process \`${current.comm}'.`);
    ctx.extack.msg = 'bytes leftover after parsing attributes';
    if (validate & NL_VALIDATE.TRAILING) throw new NlError(Errno.EINVAL, { msg: ctx.extack.msg });
  }
  return parsed(set, byType);
}

/**
 * parseLiberal is nla_parse_deprecated(): the genl-legacy strength. Types 0 and above `maxType`
 * are ignored, duplicates keep the last one, over-long integers are accepted, trailing bytes only
 * leave a warning in the extack.
 * @throws {@link NlError}
 */
// kernel: __nla_validate_parse() with NL_VALIDATE_LIBERAL
export function parseLiberal(buf: Buffer, set: AttrSet, maxType: number, ctx: ParseContext, depth = 0): ParsedAttrs {
  return parseNla(buf, set, maxType, ctx, MODE_FLAGS['genl-legacy'], depth);
}

/**
 * parseBySet parses `buf` with the nla strength the set's x-parse-mode names: genl-legacy
 * (nla_parse_deprecated), deprecated-strict (nla_parse_deprecated_strict: type 0, above the
 * max and leftover bytes → EINVAL) or strict (nla_parse: additionally integers of the wrong
 * size, types without a policy entry and NLA_F_NESTED mismatches → EINVAL).
 * @throws {@link NlError}
 */
// kernel: nla_parse_deprecated(), nla_parse_deprecated_strict(), nla_parse()
export function parseBySet(buf: Buffer, set: AttrSet, ctx: ParseContext): ParsedAttrs {
  const validate = MODE_FLAGS[set.mode];
  if (validate === undefined) throw new Error(`${set.family}/${set.name}: ${set.mode} is not an nla_parse mode`);
  return parseNla(buf, set, set.maxType, ctx, validate, 0);
}

/**
 * parseNested parses the content of `attr` with its set's strength; for `strict` sets it is
 * nla_parse_nested(), which first requires NLA_F_NESTED on `attr` itself (→ EINVAL).
 * @throws {@link NlError}
 */
// kernel: nla_parse_nested(), nla_parse_nested_deprecated()
export function parseNested(attr: Attr, set: AttrSet, extack: Extack): ParsedAttrs {
  if (set.mode === 'strict' && !(attr.rawType & NLA_F_NESTED)) {
    throw new NlError(Errno.EINVAL, { msg: 'NLA_F_NESTED is missing', offset: attr.offset });
  }
  return parseBySet(attr.payload, set, { base: attr.offset + NLA_HDRLEN, extack });
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
 * missingAttr is the first of the op's `x-required` attributes the request lacks, in the order
 * the kernel handler tests them (the request is then EINVAL), or undefined.
 */
export function missingAttr(attrs: ParsedAttrs, names: readonly string[]): string | undefined {
  return names.find((n) => !attrs.get(n));
}

/** OvsAttrVisitor sees each attribute the ovs-key walker accepts; `last` is nla_is_last(). */
export type OvsAttrVisitor = (attr: Attr, spec: AttrSpec | undefined, last: boolean) => void;

/**
 * OvsAttrReject hears why walkOvsAttrs refuses an attribute just before it throws EINVAL, so a
 * caller can log the kernel parser's own OVS_NLERR line: a type above the set's max, or a
 * length outside the table (`expected` is the fixed length, or the maximum of a variable one).
 */
export type OvsAttrReject = (why: 'max' | 'len', attr: Attr, expected: number) => void;

/**
 * walkOvsAttrs is the loop of the kernel's hand-written OVS parsers (__parse_flow_nlattrs,
 * __ovs_nla_copy_actions, parse_ct, parse_nat, ip_tun_from_nlattr, …), table-driven by the set:
 * a type above the max is EINVAL (skipped with x-ignore-above-max), a kernel-only type is EINVAL,
 * a repeat is EINVAL (accepted with x-allow-duplicates), a fixed length must match exactly and a
 * variable one stay within checks.min-len/max-len (EINVAL); leftover bytes are EINVAL after the
 * loop, and so is a last attribute without its padding unless the set says x-unpadded-last. A type the set does not list expects length 0, as the kernel tables do; type 0 reaches
 * `visit` (the handlers refuse it). `visit` runs for each attribute in order, before the next is
 * checked, as the kernel handles them. With `nz`, all-zero attributes are skipped after the
 * length check (mask parsing) and do not count as seen.
 * No extack: the kernel only logs these errors.
 * @throws {@link NlError}
 */
// kernel: __parse_flow_nlattrs(), check_attr_len(), nla_for_each_nested() + "if (rem) return -EINVAL"
export function walkOvsAttrs(buf: Buffer, set: AttrSet, base: number, visit: OvsAttrVisitor, nz = false, reject?: OvsAttrReject): void {
  const seen = new Set<number>();
  const rem = forEachAttr(buf, base, (attr) => {
    if (attr.type > set.maxType) {
      if (set.ignoreAboveMax) return;
      reject?.('max', attr, set.maxType);
      throw new NlError(Errno.EINVAL);
    }
    const spec = set.byType.get(attr.type);
    if (spec?.kernelOnly) throw new NlError(Errno.EINVAL);
    if (seen.has(attr.type) && !set.allowDuplicates) throw new NlError(Errno.EINVAL);
    const len = attr.payload.length;
    const mode = spec?.lenMode ?? 'fixed';
    if (mode === 'fixed' && len !== (spec?.exactLen ?? 0)) {
      reject?.('len', attr, spec?.exactLen ?? 0);
      throw new NlError(Errno.EINVAL);
    }
    if (nz && attr.payload.every((x) => x === 0)) return;
    if (mode === 'variable' && spec && ((spec.minLen !== undefined && len < spec.minLen) || (spec.maxLen !== undefined && len > spec.maxLen))) {
      reject?.('len', attr, spec.maxLen ?? len);
      throw new NlError(Errno.EINVAL);
    }
    seen.add(attr.type);
    visit(attr, spec, NLA_HDRLEN + len === buf.length - (attr.offset - base));
  });
  // rem < 0: the last attribute lacks its padding; parsers that test `rem > 0` let it pass.
  if (rem > 0 || (rem < 0 && !set.unpaddedLast)) throw new NlError(Errno.EINVAL);
}

/**
 * parseOvsKey is __parse_flow_nlattrs(): the ovs-key strength (walkOvsAttrs) collected into a
 * tb[] array, the last attribute of each type winning where the set allows repeats. With `nz`,
 * all-zero attributes are dropped (mask parsing).
 * @throws {@link NlError}
 */
// kernel: __parse_flow_nlattrs()
export function parseOvsKey(buf: Buffer, set: AttrSet, base: number, nz = false): ParsedAttrs {
  const byType = new Map<number, Attr>();
  walkOvsAttrs(buf, set, base, (attr) => { byType.set(attr.type, attr); }, nz);
  return parsed(set, byType);
}
