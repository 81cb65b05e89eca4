/**
 * Text primitives of the odp flow format (OVS lib/odp-util.c, lib/dynamic-string.c, lib/netlink.h):
 * a `struct ds` look-alike with ds_chomp(), the printf conversions OVS uses (`%#x`, `%.3f`,
 * IP_FMT, ETH_ADDR_FMT, glibc inet_ntop), and attribute iteration with NL_ATTR_FOR_EACH's exact
 * rules, since the formatter prints what is left over.
 */
import { NLA_HDRLEN, NLA_TYPE_MASK } from '../nl/constants';

/** Ds is OVS's `struct ds`: an append-only string whose last character can be chomped. */
export class Ds {
  s = '';

  put(text: string): this {
    this.s += text;
    return this;
  }

  // ovs: ds_chomp()
  chomp(c: string): boolean {
    if (!this.s.endsWith(c)) return false;
    this.s = this.s.slice(0, -1);
    return true;
  }
}

/** hx is printf `%#x` / `%#"PRIx64`: "0" for zero, else 0x-prefixed lowercase hex. */
export function hx(v: number | bigint): string {
  return v === 0 || v === 0n ? '0' : `0x${v.toString(16)}`;
}

/** hex0 is `%0Nx`. */
export function hex0(v: number, width: number): string {
  return v.toString(16).padStart(width, '0');
}

/** ip4 is IP_FMT of a big-endian IPv4 address read from `b` at `at`. */
export function ip4(b: Buffer, at = 0): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/** ip4Num is IP_FMT of an address held as a host number (ntohl of the be32). */
export function ip4Num(v: number): string {
  return `${(v >>> 24) & 0xff}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}

/** eth is ETH_ADDR_FMT of the 6 bytes at `at`. */
export function eth(b: Buffer, at = 0): string {
  const p: string[] = [];
  for (let i = 0; i < 6; i++) p.push(hex0(b[at + i], 2));
  return p.join(':');
}

/** in6 is glibc inet_ntop(AF_INET6) of the 16 bytes at `at` (longest zero run, embedded IPv4). */
// ovs: inet_ntop() as used by format_in6_addr() and ipv6_format_addr()
export function in6(b: Buffer, at = 0): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push(b.readUInt16BE(at + i * 2));
  let best = { base: -1, len: 0 };
  let cur = { base: -1, len: 0 };
  for (let i = 0; i < 8; i++) {
    if (w[i] === 0) {
      if (cur.base === -1) cur = { base: i, len: 1 };
      else cur.len++;
    } else if (cur.base !== -1) {
      if (best.base === -1 || cur.len > best.len) best = cur;
      cur = { base: -1, len: 0 };
    }
  }
  if (cur.base !== -1 && (best.base === -1 || cur.len > best.len)) best = cur;
  if (best.base !== -1 && best.len < 2) best = { base: -1, len: 0 };
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (best.base !== -1 && i >= best.base && i < best.base + best.len) {
      if (i === best.base) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && best.base === 0 && (best.len === 6 || (best.len === 5 && w[5] === 0xffff))) {
      out += ip4(b, at + 12);
      return out;
    }
    out += w[i].toString(16);
  }
  if (best.base !== -1 && best.base + best.len === 8) out += ':';
  return out;
}

/** putHex is ds_put_hex(): the bytes as one big-endian number, "0x" + hex without leading zeros, or "0". */
// ovs: ds_put_hex()
export function putHex(b: Buffer): string {
  let i = 0;
  while (i < b.length && b[i] === 0) i++;
  if (i === b.length) return '0';
  let s = `0x${b[i].toString(16)}`;
  for (i++; i < b.length; i++) s += hex0(b[i], 2);
  return s;
}

/** spacedHex is format_generic_odp_key()'s byte list: "%02x" joined by spaces. */
export function spacedHex(b: Buffer): string {
  return [...b].map((x) => hex0(x, 2)).join(' ');
}

/** isAll reports whether every byte of `b` equals `v` (is_all_zeros / is_all_ones / is_all_byte). */
export function isAll(b: Buffer, v: number): boolean {
  return b.every((x) => x === v);
}

/**
 * fixed is printf("%.Nf") for a double: the exact binary value rounded half-to-even, as glibc
 * does (Number#toFixed rounds exact ties up instead).
 */
export function fixed(x: number, digits: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, x);
  const hi = dv.getUint32(0);
  const neg = hi >>> 31 === 1;
  const bexp = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(dv.getUint32(4));
  let exp = bexp - 1075;
  if (bexp === 0) exp = -1074;
  else mant |= 1n << 52n;
  let q: bigint;
  const scale = 10n ** BigInt(digits);
  if (exp >= 0) {
    q = (mant << BigInt(exp)) * scale;
  } else {
    const num = mant * scale;
    const den = 1n << BigInt(-exp);
    q = num / den;
    const r2 = (num % den) * 2n;
    if (r2 > den || (r2 === den && q % 2n === 1n)) q += 1n;
  }
  let s = q.toString().padStart(digits + 1, '0');
  if (digits > 0) s = `${s.slice(0, -digits)}.${s.slice(-digits)}`;
  return neg ? `-${s}` : s;
}

/** NlAttr is one attribute met by NL_ATTR_FOR_EACH. */
export interface NlAttr {
  /** nl_attr_type(): the type without the NESTED / NET_BYTEORDER bits. */
  type: number;
  /** The raw nla_type word (some OVS code switches on it unmasked). */
  rawType?: number;
  payload: Buffer;
  /** Offset of the attribute header inside the iterated buffer. */
  at: number;
}

/** NlWalk is the result of walking a buffer: the valid attributes and the bytes left over. */
export interface NlWalk {
  attrs: NlAttr[];
  /** `left` after the loop: non-zero when a header was short or overran the buffer. */
  left: number;
  /** Where the leftover bytes start. */
  leftAt: number;
}

/**
 * nlWalk is NL_ATTR_FOR_EACH: stops at a header shorter than NLA_HDRLEN or longer than what is
 * left, and steps by the aligned length unless that overruns (then by nla_len), so `left` is
 * exactly what odp-util.c reports as "leftover bytes".
 */
// ovs: NL_ATTR_FOR_EACH, nl_attr_is_valid(), nl_attr_len_pad()
export function nlWalk(buf: Buffer): NlWalk {
  const attrs: NlAttr[] = [];
  let at = 0;
  let left = buf.length;
  while (left >= NLA_HDRLEN) {
    const len = buf.readUInt16LE(at);
    if (len < NLA_HDRLEN || len > left) break;
    const rawType = buf.readUInt16LE(at + 2);
    attrs.push({ type: rawType & NLA_TYPE_MASK, rawType, payload: buf.subarray(at + NLA_HDRLEN, at + len), at });
    const padded = (len + 3) & ~3;
    const step = padded <= left ? padded : len;
    left -= step;
    at += step;
  }
  return { attrs, left, leftAt: at };
}

/** nlFind is nl_attr_find__(): the first attribute of `type`, valid ones only. */
export function nlFind(buf: Buffer | undefined, type: number): NlAttr | undefined {
  return buf ? nlWalk(buf).attrs.find((a) => a.type === type) : undefined;
}

/** leftoverText is the ",***N leftover bytes*** (hex)" tail of odp_flow_format / format_odp_actions. */
export function leftoverText(buf: Buffer, walk: NlWalk): string {
  let s = walk.left === buf.length ? '<empty>' : '';
  s += `,***${walk.left} leftover bytes*** (`;
  for (const x of buf.subarray(walk.leftAt, walk.leftAt + walk.left)) s += hex0(x, 2);
  return `${s})`;
}

/** padTo returns `b` extended with zero bytes to at least `n` bytes (for C reads past a short attribute). */
export function padTo(b: Buffer, n: number): Buffer {
  return b.length >= n ? b : Buffer.concat([b, Buffer.alloc(n - b.length)]);
}

/** NlPolicy is one entry of an OVS `struct nl_policy` (lib/netlink.h). */
export interface NlPolicy {
  type: 'u8' | 'u16' | 'u32' | 'u64' | 'u128' | 'flag' | 'nested' | 'unspec' | 'string';
  minLen?: number;
  maxLen?: number;
  optional?: boolean;
}

const POLICY_MIN: Record<NlPolicy['type'], number> = { u8: 1, u16: 2, u32: 4, u64: 8, u128: 16, flag: 0, nested: 0, unspec: 0, string: 1 };
const POLICY_MAX: Record<NlPolicy['type'], number> = {
  u8: 1, u16: 2, u32: 4, u64: 8, u128: 16, flag: Infinity, nested: Infinity, unspec: Infinity, string: Infinity,
};

/**
 * nlParse is OVS's nl_policy_parse(): attributes with a policy entry are length-checked (strings
 * must end in their only NUL), the last of a type wins, others are ignored; leftover bytes or a
 * missing required attribute fail (undefined).
 */
// ovs: nl_policy_parse(), nl_attr_validate()
export function nlParse(buf: Buffer, policy: ReadonlyMap<number, NlPolicy>): Map<number, NlAttr> | undefined {
  const walk = nlWalk(buf);
  const out = new Map<number, NlAttr>();
  for (const a of walk.attrs) {
    const p = policy.get(a.type);
    if (!p) continue;
    const len = a.payload.length;
    if (len < (p.minLen || POLICY_MIN[p.type]) || len > (p.maxLen || POLICY_MAX[p.type])) return undefined;
    if (p.type === 'string' && (a.payload[len - 1] !== 0 || a.payload.subarray(0, len - 1).includes(0))) return undefined;
    out.set(a.type, a);
  }
  if (walk.left) return undefined;
  for (const [type, p] of policy) if (!p.optional && !out.has(type)) return undefined;
  return out;
}

/** cString reads a NUL-terminated string attribute (nl_attr_get_string). */
export function cString(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.subarray(0, nul < 0 ? b.length : nul).toString('latin1');
}
