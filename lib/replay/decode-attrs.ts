/**
 * Attribute trees of captured messages, named from netlink-schemas: nested sets are followed,
 * structs decoded member by member, binary arrays (`sub-type`) split, enums and flag words
 * named. Nothing is validated: a capture may hold anything, and what does not fit the schema
 * is shown as it is (hex) with a note.
 */
import { NLA_F_NESTED, NLA_F_NET_BYTEORDER } from '../nl/constants';
import { eth, in6, ip4 } from '../ovs/odp-format-text';
import type { AttrKind, AttrSet, AttrSpec, FamilySpec, SchemaRegistry, StructMember, StructSpec } from '../schema/model';
import { SCALAR_SIZE } from '../schema/struct';
import { forEachAttr } from '../schema/validate';

/** A JSON-friendly value: 64-bit integers are decimal strings, bytes lowercase hex. */
export type DecodedValue = string | number | boolean | DecodedValue[] | { [k: string]: DecodedValue };

/** DecodedAttr is one attribute of the tree. */
export interface DecodedAttr {
  /** Schema name, or `attr-N` when the set has no such number. */
  name: string;
  type: number;
  /** Payload length in bytes. */
  len: number;
  /** Offset of the attribute header from the start of its message. */
  offset: number;
  /** NLA_F_NESTED / NLA_F_NET_BYTEORDER as sent. */
  flags?: string[];
  value?: DecodedValue;
  /** The value as the text form shows it (numbers with names, addresses, hex). */
  text?: string;
  /** OVS odp text form (flow keys and masks, actions, UFIDs). */
  odp?: string;
  attrs?: DecodedAttr[];
  /** What did not fit the schema (bad length, leftover bytes). */
  note?: string;
}

/** DecodeAttrOptions: how much to show. */
export interface DecodeAttrOptions {
  /** Hex dumps longer than this many bytes are cut (0 = never). */
  maxHex: number;
}

const hex = (b: Buffer): string => b.toString('hex');

function cutHex(b: Buffer, o: DecodeAttrOptions): string {
  if (o.maxHex > 0 && b.length > o.maxHex) return `${hex(b.subarray(0, o.maxHex))}… (${b.length} bytes)`;
  return hex(b);
}

/** flagWords names the enum as a flags word when every value is a distinct power of two. */
function enumText(fam: FamilySpec | undefined, enumName: string | undefined, v: number | bigint): string | undefined {
  const m = enumName ? fam?.enums.get(enumName) : undefined;
  if (!m || m.size === 0) return undefined;
  const values = [...m.values()];
  const isFlags = values.every((x) => x > 0 && (x & (x - 1)) === 0);
  const n = Number(v);
  if (!isFlags) {
    for (const [k, x] of m) if (x === n) return `${n} (${k})`;
    return undefined;
  }
  const names: string[] = [];
  let rest = n;
  for (const [k, x] of m) {
    if ((n & x) !== 0) {
      names.push(k);
      rest = (rest & ~x) >>> 0;
    }
  }
  if (rest) names.push(`0x${rest.toString(16)}`);
  return names.length ? `0x${n.toString(16)} (${names.join('|')})` : '0x0';
}

function readScalar(kind: AttrKind | StructMember['kind'], b: Buffer, at: number, bigEndian: boolean): number | bigint {
  switch (kind) {
    case 'u8': return b.readUInt8(at);
    case 's8': return b.readInt8(at);
    case 'u16': return bigEndian ? b.readUInt16BE(at) : b.readUInt16LE(at);
    case 's16': return bigEndian ? b.readInt16BE(at) : b.readInt16LE(at);
    case 'u32': return bigEndian ? b.readUInt32BE(at) : b.readUInt32LE(at);
    case 's32': return bigEndian ? b.readInt32BE(at) : b.readInt32LE(at);
    case 'u64': return bigEndian ? b.readBigUInt64BE(at) : b.readBigUInt64LE(at);
    case 's64': return bigEndian ? b.readBigInt64BE(at) : b.readBigInt64LE(at);
    default: throw new Error(`not a scalar: ${kind}`);
  }
}

/** Display-only guesses from member names: addresses (IPv4/IPv6 by size) and MACs. */
const addrLike = (name: string): boolean => /(^|-)(src|dst|sip|tip|addr|target)$/.test(name);
const macLike = (name: string): boolean => /(^|-)(eth|mac|src|dst|sha|tha|sll|tll|addr)(-|$)/.test(name);

function scalarText(name: string, size: number, v: number | bigint, bigEndian: boolean, fam: FamilySpec | undefined, enumName?: string): string {
  if (bigEndian && size === 4 && addrLike(name)) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(Number(v) >>> 0);
    return ip4(b);
  }
  const named = enumText(fam, enumName, v);
  if (named !== undefined) return named;
  if ((bigEndian && size >= 4) || /(^|-)flags$/.test(name)) return `0x${v.toString(16)}`;
  if (bigEndian && size === 2 && /type$/.test(name)) return `0x${v.toString(16).padStart(4, '0')}`;
  if (name === 'family-id') return `${v} (0x${v.toString(16)})`;
  return String(v);
}

function binaryText(name: string, b: Buffer, o: DecodeAttrOptions): string {
  if (b.length === 0) return '(empty)';
  if (b.length === 6 && macLike(name)) return eth(b);
  if (b.length === 16 && addrLike(name)) return in6(b);
  return cutHex(b, o);
}

const jsonScalar = (v: number | bigint): DecodedValue => (typeof v === 'bigint' ? v.toString() : v);

/** decodeStructValue renders one struct instance as member → value. */
function decodeStructAt(spec: StructSpec, b: Buffer, at: number, fam: FamilySpec | undefined, o: DecodeAttrOptions): { value: { [k: string]: DecodedValue }; text: string } {
  const value: { [k: string]: DecodedValue } = {};
  const parts: string[] = [];
  for (const m of spec.members) {
    if (m.kind === 'binary') {
      const blob = b.subarray(at + m.offset, at + m.offset + m.size);
      value[m.name] = hex(blob);
      parts.push(`${m.name}: ${binaryText(m.name, blob, o)}`);
    } else {
      const v = readScalar(m.kind, b, at + m.offset, m.bigEndian);
      value[m.name] = jsonScalar(v);
      parts.push(`${m.name}: ${scalarText(m.name, m.size, v, m.bigEndian, fam, m.enum)}`);
    }
  }
  return { value, text: `{${parts.join(', ')}}` };
}

/** Context of a walk: the family whose enums name values, and how the payloads pair up. */
interface Walk {
  /** The family of the set being walked (sets shared through x-ref keep their own enums). */
  fam: FamilySpec | undefined;
  reg: SchemaRegistry;
  o: DecodeAttrOptions;
  /** Inside set-masked: every key attribute payload is value followed by mask. */
  masked: boolean;
}

function fillValue(d: DecodedAttr, spec: AttrSpec, p: Buffer, w: Walk): void {
  const kind = spec.kind;
  const size = SCALAR_SIZE[kind];
  if (kind === 'flag') {
    d.value = true;
    d.text = p.length ? `true (${p.length} bytes: ${hex(p)})` : 'true';
  } else if (kind === 'string') {
    const nul = p.indexOf(0);
    const s = p.toString('utf8', 0, nul < 0 ? p.length : nul);
    d.value = s;
    d.text = JSON.stringify(s);
    if (nul < 0 && p.length) d.note = 'no NUL terminator';
  } else if (kind === 'pad' || kind === 'unused') {
    d.value = hex(p);
    d.text = p.length ? hex(p) : '';
  } else if (size !== undefined) {
    if (p.length < size || (p.length !== size && !(w.masked && p.length === 2 * size))) {
      d.value = hex(p);
      d.text = hex(p);
      d.note = `${kind} of ${p.length} bytes`;
      if (p.length > size) {
        const v = readScalar(kind, p, 0, spec.bigEndian);
        d.text += ` (first ${size}: ${scalarText(spec.name, size, v, spec.bigEndian, w.fam, spec.enumName)})`;
      }
      return;
    }
    const v = readScalar(kind, p, 0, spec.bigEndian);
    d.value = jsonScalar(v);
    d.text = scalarText(spec.name, size, v, spec.bigEndian, w.fam, spec.enumName);
    if (w.masked && p.length === 2 * size) {
      const m = readScalar(kind, p, size, spec.bigEndian);
      d.value = { value: jsonScalar(v), mask: jsonScalar(m) };
      d.text += ` / ${scalarText(spec.name, size, m, spec.bigEndian, w.fam)}`;
    }
  } else if (spec.struct) {
    const st = spec.struct;
    const n = st.size ? Math.floor(p.length / st.size) : 0;
    if (st.size === 0 || p.length % st.size !== 0 || n === 0) {
      d.value = hex(p);
      d.text = cutHex(p, w.o);
      d.note = `${st.name} is ${st.size} bytes, got ${p.length}`;
      return;
    }
    const items = Array.from({ length: n }, (_, i) => decodeStructAt(st, p, i * st.size, w.fam, w.o));
    if (n === 1) {
      d.value = items[0].value;
      d.text = items[0].text;
    } else if (w.masked && n === 2) {
      d.value = { value: items[0].value, mask: items[1].value };
      d.text = `${items[0].text} / ${items[1].text}`;
    } else {
      d.value = items.map((x) => x.value);
      d.text = `[${items.map((x) => x.text).join(', ')}]`;
    }
  } else if (spec.subType !== undefined && SCALAR_SIZE[spec.subType] !== undefined) {
    const es = SCALAR_SIZE[spec.subType];
    if (p.length % es !== 0) {
      d.value = hex(p);
      d.text = cutHex(p, w.o);
      d.note = `not a whole number of ${spec.subType}`;
      return;
    }
    const vals = Array.from({ length: p.length / es }, (_, i) => readScalar(spec.subType as AttrKind, p, i * es, spec.bigEndian));
    d.value = vals.map(jsonScalar);
    d.text = `[${vals.join(', ')}]`;
  } else {
    d.value = hex(p);
    d.text = binaryText(spec.name, p, w.o);
  }
}

function attrFlags(raw: number): string[] | undefined {
  const f: string[] = [];
  if (raw & NLA_F_NESTED) f.push('NESTED');
  if (raw & NLA_F_NET_BYTEORDER) f.push('NET_BYTEORDER');
  return f.length ? f : undefined;
}

/**
 * decodeAttrs walks the attributes in `buf` with `set` (undefined: names unknown, hex only).
 * `base` is the offset of buf[0] from the message start.
 */
export function decodeAttrs(buf: Buffer, set: AttrSet | undefined, base: number, reg: SchemaRegistry, o: DecodeAttrOptions): { attrs: DecodedAttr[]; leftover: number } {
  return walkAttrs(buf, set, base, { fam: undefined, reg, o, masked: false });
}

function walkAttrs(buf: Buffer, set: AttrSet | undefined, base: number, outer: Walk): { attrs: DecodedAttr[]; leftover: number } {
  const w: Walk = set ? { ...outer, fam: outer.reg.families.find((f) => f.name === set.family) } : outer;
  const attrs: DecodedAttr[] = [];
  const leftover = forEachAttr(buf, base, (a) => {
    const spec = set?.byType.get(a.type);
    const d: DecodedAttr = { name: spec?.name ?? `attr-${a.type}`, type: a.type, len: a.payload.length, offset: a.offset };
    const flags = attrFlags(a.rawType);
    if (flags) d.flags = flags;
    if (spec === undefined) {
      d.value = hex(a.payload);
      d.text = cutHex(a.payload, w.o);
    } else if (spec.kind === 'nest') {
      nestInto(d, spec, a.payload, a.offset + 4, w);
    } else {
      fillValue(d, spec, a.payload, w);
    }
    attrs.push(d);
  });
  return { attrs, leftover: Math.max(0, leftover) };
}

function nestInto(d: DecodedAttr, spec: AttrSpec, p: Buffer, base: number, w: Walk): void {
  // set-masked carries key attributes whose payloads are value + mask.
  const inner: Walk = { ...w, masked: w.masked || spec.name === 'set-masked' };
  if (spec.indexedArray) {
    const items: DecodedAttr[] = [];
    const left = forEachAttr(p, base, (a) => {
      const r = walkAttrs(a.payload, spec.nested, a.offset + 4, inner);
      const item: DecodedAttr = { name: `[${a.type}]`, type: a.type, len: a.payload.length, offset: a.offset, attrs: r.attrs };
      if (r.leftover) item.note = `${r.leftover} bytes left over`;
      items.push(item);
    });
    d.attrs = items;
    if (left > 0) d.note = `${left} bytes left over`;
    return;
  }
  const r = walkAttrs(p, spec.nested, base, inner);
  d.attrs = r.attrs;
  if (r.leftover) d.note = `${r.leftover} bytes left over`;
}
