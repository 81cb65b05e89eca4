import * as BL from 'buffer-layout';
import type { StructMember, StructSpec } from './model';

/** Scalar sizes in bytes; also the C alignment of each scalar. */
export const SCALAR_SIZE: Readonly<Record<string, number>> = {
  u8: 1, s8: 1, u16: 2, s16: 2, u32: 4, s32: 4, u64: 8, s64: 8, flag: 0,
};

/** RawMember is a struct member as written in the YAML. */
export interface RawMember {
  name: string;
  type: StructMember['kind'];
  len?: number;
  'byte-order'?: string;
  enum?: string;
  /** C alignment of a binary member that stands for an array of wider scalars (e.g. __be32[4]). */
  'x-align'?: number;
}

/**
 * layoutStruct places members at their natural C alignment and rounds the size up to the
 * largest alignment, as a C compiler does for the uapi structs (e.g. ovs_key_arp: 22 → 24).
 */
export function layoutStruct(name: string, raw: RawMember[]): StructSpec {
  let offset = 0;
  let maxAlign = 1;
  const members: StructMember[] = raw.map((m) => {
    const size = m.type === 'binary' ? m.len ?? 0 : SCALAR_SIZE[m.type];
    if (m.type === 'binary' && !m.len) throw new Error(`struct ${name}.${m.name}: binary member needs len`);
    const align = m.type === 'binary' ? m['x-align'] ?? 1 : size;
    maxAlign = Math.max(maxAlign, align);
    offset = Math.ceil(offset / align) * align;
    const member: StructMember = { name: m.name, kind: m.type, size, offset, bigEndian: m['byte-order'] === 'big-endian' };
    if (m.enum) member.enum = m.enum;
    offset += size;
    return member;
  });
  return { name, size: Math.ceil(offset / maxAlign) * maxAlign, members };
}

/** StructValue is a decoded struct: scalars as number (≤ 32 bits) or bigint (64 bits), blobs as Buffer. */
export type StructValue = Record<string, number | bigint | Buffer>;

/** BigIntLayout is a 64-bit buffer-layout field decoded as bigint (buffer-layout's nu64 loses precision above 2^53). */
class BigIntLayout extends BL.Layout<bigint> {
  constructor(private readonly signed: boolean, private readonly bigEndian: boolean, property: string) {
    super(8, property);
  }
  override decode(b: Buffer, offset = 0): bigint {
    if (this.signed) return this.bigEndian ? b.readBigInt64BE(offset) : b.readBigInt64LE(offset);
    return this.bigEndian ? b.readBigUInt64BE(offset) : b.readBigUInt64LE(offset);
  }
  override encode(src: bigint, b: Buffer, offset = 0): number {
    const v = BigInt(src);
    if (this.signed) this.bigEndian ? b.writeBigInt64BE(v, offset) : b.writeBigInt64LE(v, offset);
    else this.bigEndian ? b.writeBigUInt64BE(v, offset) : b.writeBigUInt64LE(v, offset);
    return 8;
  }
}

function memberLayout(m: StructMember): BL.Layout {
  switch (m.kind) {
    case 'u8': return BL.u8(m.name);
    case 's8': return BL.s8(m.name);
    case 'u16': return m.bigEndian ? BL.u16be(m.name) : BL.u16(m.name);
    case 's16': return m.bigEndian ? BL.s16be(m.name) : BL.s16(m.name);
    case 'u32': return m.bigEndian ? BL.u32be(m.name) : BL.u32(m.name);
    case 's32': return m.bigEndian ? BL.s32be(m.name) : BL.s32(m.name);
    case 'u64': return new BigIntLayout(false, m.bigEndian, m.name);
    case 's64': return new BigIntLayout(true, m.bigEndian, m.name);
    case 'binary': return BL.blob(m.size, m.name);
  }
}

/** structLayout builds the buffer-layout Structure of a spec, with anonymous blobs for C padding. */
export function structLayout(spec: StructSpec): BL.Structure {
  const fields: BL.Layout[] = [];
  let at = 0;
  for (const m of spec.members) {
    if (m.offset > at) fields.push(BL.blob(m.offset - at));
    fields.push(memberLayout(m));
    at = m.offset + m.size;
  }
  if (spec.size > at) fields.push(BL.blob(spec.size - at));
  return BL.struct(fields, spec.name);
}

const layouts = new WeakMap<StructSpec, BL.Structure>();
function cachedLayout(spec: StructSpec): BL.Structure {
  let l = layouts.get(spec);
  if (!l) layouts.set(spec, (l = structLayout(spec)));
  return l;
}

/** decodeStruct reads a struct from `b`; the caller has checked that `spec.size` bytes are there. */
export function decodeStruct(spec: StructSpec, b: Buffer, at = 0): StructValue {
  return cachedLayout(spec).decode(b, at) as StructValue;
}

/** encodeStruct writes a struct; missing members (and padding) are zero. */
export function encodeStruct(spec: StructSpec, value: Partial<StructValue>): Buffer {
  const full: StructValue = {};
  for (const m of spec.members) {
    const v = value[m.name];
    full[m.name] = v ?? (m.kind === 'binary' ? Buffer.alloc(m.size) : m.kind.endsWith('64') ? 0n : 0);
  }
  const b = Buffer.alloc(spec.size);
  cachedLayout(spec).encode(full, b, 0);
  return b;
}
