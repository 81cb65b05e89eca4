/**
 * Schema-driven attribute generation: a valid value for any attribute of any set, by its kind,
 * struct, sub-type, enum and policy checks (netlink-schemas/ is the only source of numbers and
 * lengths). Families plug semantic generators in through {@link GenContext.special} so that the
 * values also make sense for the emulator's state (existing names, port numbers, pids…).
 */
import type { AttrSet, AttrSpec, FamilySpec, StructSpec } from '../schema/model';
import { SCALAR_SIZE } from '../schema/struct';
import type { Rng } from './prng';
import type { GenAttr } from './wire';

/** SpecialGen makes the attribute itself (undefined: fall back to the schema generator). */
export type SpecialGen = (ctx: GenContext, spec: AttrSpec, depth: number) => GenAttr | undefined;

/** GenContext is what the generators share: randomness, the family, semantic overrides. */
export interface GenContext {
  rng: Rng;
  family: FamilySpec;
  /** Overrides keyed by `set/attr` (e.g. `datapath/name`). */
  special: ReadonlyMap<string, SpecialGen>;
  /** Names worth using for string attributes (interfaces, datapaths). */
  names: readonly string[];
}

/** MAX_GEN_DEPTH bounds the recursion of generated nests (bombs are a mutator's job). */
const MAX_GEN_DEPTH = 4;

export function writeScalar(kind: string, v: bigint, bigEndian: boolean): Buffer {
  const size = SCALAR_SIZE[kind] ?? 4;
  const b = Buffer.alloc(size);
  const bits = BigInt(size * 8);
  const u = BigInt.asUintN(Number(bits), v);
  for (let i = 0; i < size; i++) {
    const byte = Number((u >> BigInt(8 * i)) & 0xffn);
    b[bigEndian ? size - 1 - i : i] = byte;
  }
  return b;
}

/** scalarValue picks a value for an integer attribute: enum entries, policy range, or boundaries. */
function scalarValue(ctx: GenContext, spec: AttrSpec, kind: string): bigint {
  const { rng } = ctx;
  const size = SCALAR_SIZE[kind] ?? 4;
  const e = spec.enumName ? ctx.family.enums.get(spec.enumName) : undefined;
  if (e && e.size && rng.chance(0.85)) {
    const vals = [...e.values()];
    // Flags: an OR of a few entries.
    if (vals.every((v) => v > 0 && (v & (v - 1)) === 0)) return BigInt(vals.filter(() => rng.chance(0.4)).reduce((a, b) => a | b, 0));
    return BigInt(rng.pick(vals));
  }
  if (spec.min !== undefined || spec.max !== undefined) {
    const lo = spec.min ?? 0n;
    const hi = spec.max ?? lo + 1000n;
    if (rng.chance(0.8)) return lo + BigInt(rng.below(Number(hi - lo + 1n > 0xffffffffn ? 0xffffffffn : hi - lo + 1n)));
  }
  if (rng.chance(0.5)) return BigInt(rng.below(16));
  return rng.interesting(size);
}

/** structBytes fills a struct with member-wise values (scalars via boundary values, blobs random). */
export function structBytes(ctx: GenContext, s: StructSpec): Buffer {
  const b = Buffer.alloc(s.size);
  for (const m of s.members) {
    if (m.kind === 'binary') ctx.rng.bytes(m.size).copy(b, m.offset);
    else writeScalar(m.kind, ctx.rng.chance(0.5) ? BigInt(ctx.rng.below(8)) : ctx.rng.interesting(m.size), m.bigEndian).copy(b, m.offset);
  }
  return b;
}

function stringPayload(ctx: GenContext, spec: AttrSpec): Buffer {
  const max = spec.maxLen ?? (spec.policyLen || 15);
  let s = ctx.rng.chance(0.7) && ctx.names.length ? ctx.rng.pick(ctx.names) : ctx.rng.bytes(ctx.rng.range(1, Math.max(1, max - 1))).toString('hex').slice(0, max - 1);
  if (Buffer.byteLength(s) >= max) s = s.slice(0, Math.max(0, max - 1));
  return Buffer.concat([Buffer.from(s), Buffer.alloc(1)]);
}

/** attrPayload generates the payload of a non-nest attribute. */
function attrPayload(ctx: GenContext, spec: AttrSpec): Buffer {
  const { rng } = ctx;
  switch (spec.kind) {
    case 'flag':
    case 'unused':
    case 'pad':
      return Buffer.alloc(0);
    case 'string':
      return stringPayload(ctx, spec);
    case 'binary': {
      if (spec.struct) return structBytes(ctx, spec.struct);
      if (spec.subType && SCALAR_SIZE[spec.subType]) {
        const n = rng.range(1, 4);
        return Buffer.concat(Array.from({ length: n }, () => writeScalar(spec.subType ?? 'u32', scalarValue(ctx, spec, spec.subType ?? 'u32'), spec.bigEndian)));
      }
      const lo = spec.minLen ?? (spec.nla === 'unspec' ? spec.policyLen : 0);
      const hi = spec.maxLen ?? (spec.nla === 'binary' && spec.policyLen ? spec.policyLen : Math.max(lo, 32));
      return rng.bytes(rng.range(lo, Math.max(lo, hi)));
    }
    default:
      return writeScalar(spec.kind, scalarValue(ctx, spec, spec.kind), spec.bigEndian);
  }
}

/** genAttr generates one attribute of `set` described by `spec`. */
export function genAttr(ctx: GenContext, set: AttrSet, spec: AttrSpec, depth = 0): GenAttr {
  const special = ctx.special.get(`${set.name}/${spec.name}`);
  const made = special?.(ctx, spec, depth);
  if (made) return made;
  if (spec.kind === 'nest') {
    const nestedSet = spec.nested;
    if (!nestedSet || depth >= MAX_GEN_DEPTH) return { type: spec.type, nested: [] };
    // A nest whose content is a list of same-typed nests (e.g. meter bands).
    return { type: spec.type, nested: genAttrs(ctx, nestedSet, depth + 1) };
  }
  return { type: spec.type, payload: attrPayload(ctx, spec) };
}

/** genAttrs generates a handful of distinct attributes of `set` (the ones a request would carry). */
export function genAttrs(ctx: GenContext, set: AttrSet, depth = 0, names?: readonly string[]): GenAttr[] {
  const { rng } = ctx;
  const pool = (names ? names.map((n) => set.byName.get(n)).filter((a): a is AttrSpec => !!a) : set.attrs)
    .filter((a) => !a.kernelOnly && a.nla !== 'none' && a.kind !== 'unused' && a.kind !== 'pad');
  const usable = pool.length ? pool : set.attrs.filter((a) => !a.kernelOnly);
  if (!usable.length) return [];
  const chosen = usable.filter(() => rng.chance(names ? 0.7 : 0.35));
  if (!chosen.length) chosen.push(rng.pick(usable));
  return chosen.map((a) => genAttr(ctx, set, a, depth));
}
