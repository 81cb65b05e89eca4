import { NL_ATTR_TYPE } from '../nl/constants';
import type { PolicyDescription } from '../nl/errors';
import type { AttrSpec } from './model';

const UNSIGNED_MAX: Record<string, bigint> = { u8: 0xffn, u16: 0xffffn, u32: 0xffffffffn, u64: 0xffffffffffffffffn };
const SIGNED_BITS: Record<string, bigint> = { s8: 8n, s16: 16n, s32: 32n, s64: 64n };
const TYPE_CODE: Record<string, number> = {
  u8: NL_ATTR_TYPE.U8, u16: NL_ATTR_TYPE.U16, u32: NL_ATTR_TYPE.U32, u64: NL_ATTR_TYPE.U64,
  s8: NL_ATTR_TYPE.S8, s16: NL_ATTR_TYPE.S16, s32: NL_ATTR_TYPE.S32, s64: NL_ATTR_TYPE.S64,
  string: NL_ATTR_TYPE.STRING, 'nul-string': NL_ATTR_TYPE.NUL_STRING, binary: NL_ATTR_TYPE.BINARY,
  flag: NL_ATTR_TYPE.FLAG, nested: NL_ATTR_TYPE.NESTED,
};

/** unsignedRange is nla_get_range_unsigned(): the policy's min/max, else the type's full range. */
export function unsignedRange(a: AttrSpec): { min: bigint; max: bigint } {
  return { min: a.min ?? 0n, max: a.max ?? UNSIGNED_MAX[a.nla] ?? 0n };
}

/** signedRange is nla_get_range_signed(). */
export function signedRange(a: AttrSpec): { min: bigint; max: bigint } {
  const bits = SIGNED_BITS[a.nla] ?? 64n;
  return { min: a.min ?? -(1n << (bits - 1n)), max: a.max ?? (1n << (bits - 1n)) - 1n };
}

/**
 * describePolicy is what netlink_policy_dump_write_attr() puts in NLMSGERR_ATTR_POLICY for the
 * policy entry that rejected an attribute. NLA_UNSPEC (and "no policy") describe nothing.
 */
// kernel: __netlink_policy_dump_write_attr()
export function describePolicy(a: AttrSpec): PolicyDescription | undefined {
  const code = TYPE_CODE[a.nla];
  if (code === undefined) return undefined;
  if (a.nla in UNSIGNED_MAX) {
    const r = unsignedRange(a);
    return { nlAttrType: code, minU: r.min, maxU: r.max };
  }
  if (a.nla in SIGNED_BITS) {
    const r = signedRange(a);
    return { nlAttrType: code, minS: r.min, maxS: r.max };
  }
  if (a.nla === 'string' || a.nla === 'nul-string' || a.nla === 'binary') {
    return a.policyLen ? { nlAttrType: code, maxLength: a.policyLen } : { nlAttrType: code };
  }
  return { nlAttrType: code };
}
