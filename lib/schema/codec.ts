import type { NlWriter } from '../nl/writer';
import type { AttrSet, AttrSpec } from './model';
import { decodeStruct, encodeStruct, type StructValue } from './struct';
import type { Attr, ParsedAttrs } from './validate';

function spec(set: AttrSet, name: string): AttrSpec {
  const s = set.byName.get(name);
  if (!s) throw new Error(`${set.family}/${set.name}: no attribute ${name}`);
  return s;
}

/**
 * AttrEncoder writes attributes of one set by name: numbers and widths come from the schema,
 * never from the caller.
 */
export class AttrEncoder {
  constructor(readonly w: NlWriter, readonly set: AttrSet) {}

  /** int writes a scalar attribute with the width its schema kind says. */
  int(name: string, v: number | bigint): this {
    const a = spec(this.set, name);
    switch (a.kind) {
      case 'u8': this.w.attrU8(a.type, Number(v)); break;
      case 'u16': this.w.attrU16(a.type, Number(v)); break;
      case 'u32': this.w.attrU32(a.type, Number(v)); break;
      case 's32': this.w.attrS32(a.type, Number(v)); break;
      case 'u64': this.w.attrU64(a.type, BigInt(v)); break;
      case 's64': this.w.attrS64(a.type, BigInt(v)); break;
      default: throw new Error(`${name} is ${a.kind}, not an integer`);
    }
    return this;
  }

  string(name: string, v: string): this {
    this.w.attrString(spec(this.set, name).type, v);
    return this;
  }

  flag(name: string): this {
    this.w.attrFlag(spec(this.set, name).type);
    return this;
  }

  binary(name: string, v: Buffer): this {
    this.w.attr(spec(this.set, name).type, v);
    return this;
  }

  /** u32Array writes a binary attribute holding host-order u32s (e.g. upcall pids). */
  u32Array(name: string, v: readonly number[]): this {
    const b = Buffer.alloc(v.length * 4);
    v.forEach((x, i) => b.writeUInt32LE(x >>> 0, i * 4));
    return this.binary(name, b);
  }

  /** struct writes a binary attribute whose payload is the schema struct of that attribute. */
  struct(name: string, v: Partial<StructValue>): this {
    const a = spec(this.set, name);
    if (!a.struct) throw new Error(`${name} has no struct`);
    this.w.attr(a.type, encodeStruct(a.struct, v));
    return this;
  }

  /** nest opens a nest (no NLA_F_NESTED flag, as the OVS fill functions use) and encodes its content. */
  nest(name: string, fill: (inner: AttrEncoder) => void): this {
    const a = spec(this.set, name);
    if (!a.nested) throw new Error(`${name} is not a nest`);
    this.w.nestStart(a.type);
    fill(new AttrEncoder(this.w, a.nested));
    this.w.nestEnd();
    return this;
  }

  /** indexedNest writes an array of nests numbered 1..n (nlctrl's OPS / MCAST_GROUPS layout). */
  indexedNest<T>(name: string, items: readonly T[], inner: AttrSet, fill: (e: AttrEncoder, item: T) => void): this {
    this.w.nestStart(spec(this.set, name).type);
    items.forEach((item, i) => {
      this.w.nestStart(i + 1);
      fill(new AttrEncoder(this.w, inner), item);
      this.w.nestEnd();
    });
    this.w.nestEnd();
    return this;
  }

  /** typeOf is the attribute number of `name` in this set. */
  typeOf(name: string): number {
    return spec(this.set, name).type;
  }
}

/** attrU32 reads a u32 attribute (policy-validated, so at least 4 bytes are present). */
export function attrU32(a: Attr | undefined): number | undefined {
  return a ? a.payload.readUInt32LE(0) : undefined;
}

export function attrS32(a: Attr | undefined): number | undefined {
  return a ? a.payload.readInt32LE(0) : undefined;
}

export function attrU16(a: Attr | undefined): number | undefined {
  return a ? a.payload.readUInt16LE(0) : undefined;
}

/** attrString reads a string attribute up to its first NUL (nla_data() used as a C string). */
export function attrString(a: Attr | undefined): string | undefined {
  if (!a) return undefined;
  const nul = a.payload.indexOf(0);
  return a.payload.subarray(0, nul < 0 ? a.payload.length : nul).toString('utf8');
}

/** attrU32Array reads a binary array of host-order u32s (length checked by the schema rule). */
export function attrU32Array(a: Attr | undefined): number[] | undefined {
  if (!a) return undefined;
  const out: number[] = [];
  for (let i = 0; i + 4 <= a.payload.length; i += 4) out.push(a.payload.readUInt32LE(i));
  return out;
}

/** attrStruct decodes a struct attribute. */
export function attrStruct(attrs: ParsedAttrs, name: string): StructValue | undefined {
  const a = attrs.get(name);
  const s = attrs.set.byName.get(name)?.struct;
  if (!a || !s || a.payload.length < s.size) return undefined;
  return decodeStruct(s, a.payload);
}
