/**
 * Builders for odp-format tests: attribute streams written by attribute *name* of
 * netlink-schemas/ovs_flow.yaml (numbers and struct layouts from the compiled schema), plus
 * value helpers. A number instead of a name writes that raw type (unknown-attribute cases).
 */
import { NlWriter } from '../../../lib/nl/writer';
import { loadSchemas } from '../../../lib/schema/load';
import type { AttrSet } from '../../../lib/schema/model';
import { encodeStruct, type StructValue } from '../../../lib/schema/struct';

export const FAM = loadSchemas().family('ovs_flow');

/** Tlv is [attribute name or raw type, payload or nested Tlvs]; the nested set comes from the schema. */
export type Tlv = [string | number, Buffer | Tlv[]];

function put(w: NlWriter, set: AttrSet | undefined, items: Tlv[]): void {
  for (const [name, v] of items) {
    const spec = typeof name === 'string' ? set?.byName.get(name) : set?.byType.get(name);
    const type = typeof name === 'number' ? name : spec?.type;
    if (type === undefined) throw new Error(`${set?.name}: no attribute ${name}`);
    if (Buffer.isBuffer(v)) {
      w.attr(type, v);
    } else {
      w.nestStart(type);
      put(w, spec?.nested, v);
      w.nestEnd();
    }
  }
}

/** tlvs writes an attribute stream of set `setName` (e.g. the payload of OVS_FLOW_ATTR_KEY). */
export function tlvs(setName: string, items: Tlv[]): Buffer {
  const w = new NlWriter();
  put(w, FAM.set(setName), items);
  return w.finish();
}

export const key = (items: Tlv[]): Buffer => tlvs('key-attrs', items);
export const acts = (items: Tlv[]): Buffer => tlvs('action-attrs', items);
/** num is an attribute number of the schema (for raw-type and beyond-max cases). */
export const num = (setName: string, name: string): number => {
  const a = FAM.set(setName).byName.get(name);
  if (!a) throw new Error(`${setName}: no ${name}`);
  return a.type;
};

/** st encodes a schema struct (missing members are zero). */
export const st = (name: string, v: Partial<StructValue>): Buffer => encodeStruct(FAM.struct(name), v);

export { u8, u16, be16, u32, be32, be64 } from './key-builder';
export const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
export const flag = Buffer.alloc(0);
export const ones = (n: number): Buffer => Buffer.alloc(n, 0xff);
export const zeros = (n: number): Buffer => Buffer.alloc(n);
export const cstr = (s: string): Buffer => Buffer.from(`${s}\0`, 'latin1');
export const ip4 = (s: string): Buffer => Buffer.from(s.split('.').map(Number));
export const mac = (s: string): Buffer => Buffer.from(s.split(':').map((x) => parseInt(x, 16)));

/** ip6 parses a textual IPv6 address (with at most one "::", no embedded IPv4). */
export function ip6(s: string): Buffer {
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const words = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  words.forEach((x, i) => b.writeUInt16BE(parseInt(x, 16), i * 2));
  return b;
}
/** ipn is an IPv4 address as the number a big-endian u32 struct member holds. */
export const ipn = (s: string): number => ip4(s).readUInt32BE(0);
