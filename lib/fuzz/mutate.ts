/**
 * Netlink-aware mutators: they break a generated request the ways a buggy or hostile client
 * would — attribute lengths ±1/0/max, truncation at every attribute boundary, duplicate /
 * unknown / kernel-only / out-of-range types, NLA_F_NESTED and NET_BYTEORDER flips, nesting
 * depth bombs, giant attributes, several requests in one datagram, bad nlmsg_len, dump flags on
 * do-only ops, reserved genl bits — and, last, blind byte havoc.
 */
import { NLA_F_NESTED, NLA_F_NET_BYTEORDER, NLA_TYPE_MASK, NLM_F, NLMSG_HDRLEN } from '../nl/constants';
import type { AttrSet, FamilySpec } from '../schema/model';
import { writeScalar } from './gen-attrs';
import type { Rng } from './prng';
import { attrBoundaries, cloneAttr, cloneMsg, encodeAttr, encodeMsg, type GenAttr, type GenMsg } from './wire';

/** Located is an attribute with the list holding it and the set it belongs to. */
interface Located {
  list: GenAttr[];
  index: number;
  set?: AttrSet;
  depth: number;
}

function locate(attrs: GenAttr[], set: AttrSet | undefined, depth = 0, out: Located[] = []): Located[] {
  attrs.forEach((a, index) => {
    out.push({ list: attrs, index, set, depth });
    const spec = set?.byType.get(a.type & NLA_TYPE_MASK);
    if (a.nested) locate(a.nested, spec?.nested, depth + 1, out);
  });
  return out;
}

/** Tree mutators: each edits `m` in place and names itself (for statistics and findings). */
type TreeMutator = (rng: Rng, m: GenMsg, fam: FamilySpec, refs: Located[]) => string | undefined;

const pickRef = (rng: Rng, refs: Located[]): Located | undefined => (refs.length ? rng.pick(refs) : undefined);

const TREE: TreeMutator[] = [
  function lenDelta(rng, _m, _f, refs) {
    const r = pickRef(rng, refs);
    if (!r) return undefined;
    const a = r.list[r.index];
    const real = 4 + (a.nested ? a.nested.length * 8 : a.payload?.length ?? 0);
    a.lenOverride = rng.pick([real + 1, real - 1, 0, 1, 3, 4, 0xffff, real + 4, real - 4]) & 0xffff;
    return 'nla_len';
  },
  function payloadLen(rng, _m, _f, refs) {
    const r = pickRef(rng, refs.filter((x) => !x.list[x.index].nested));
    if (!r) return undefined;
    const a = r.list[r.index];
    const p = a.payload ?? Buffer.alloc(0);
    const n = rng.pick([0, 1, p.length - 1, p.length + 1, p.length * 2, 3, 5, 7]);
    a.payload = n <= p.length ? p.subarray(0, Math.max(0, n)) : Buffer.concat([p, rng.bytes(n - p.length)]);
    return 'payload-length';
  },
  function duplicate(rng, _m, _f, refs) {
    const r = pickRef(rng, refs);
    if (!r) return undefined;
    r.list.splice(r.index + rng.below(2), 0, cloneAttr(r.list[r.index]));
    return 'duplicate';
  },
  function remove(rng, _m, _f, refs) {
    const r = pickRef(rng, refs);
    if (!r) return undefined;
    r.list.splice(r.index, 1);
    return 'remove';
  },
  function unknownType(rng, m, _f, refs) {
    const r = pickRef(rng, refs);
    const list = r?.list ?? m.attrs;
    const max = r?.set?.maxType ?? 16;
    const type = rng.pick([0, max + 1, max + 2, rng.below(0x4000), 0x3fff, max]);
    list.splice(rng.below(list.length + 1), 0, { type, payload: rng.bytes(rng.pick([0, 1, 2, 4, 8, 16])) });
    return 'unknown-type';
  },
  function kernelOnly(rng, _m, _f, refs) {
    const r = pickRef(rng, refs.filter((x) => x.set?.attrs.some((a) => a.kernelOnly)));
    if (!r?.set) return undefined;
    const spec = rng.pick(r.set.attrs.filter((a) => a.kernelOnly));
    r.list.splice(r.index, 0, { type: spec.type, payload: rng.bytes(spec.exactLen ?? rng.pick([0, 4, 8])) });
    return 'kernel-only';
  },
  function outOfRange(rng, _m, _f, refs) {
    const r = pickRef(rng, refs.filter((x) => x.list[x.index].payload?.length));
    if (!r) return undefined;
    const a = r.list[r.index];
    const p = Buffer.from(a.payload ?? Buffer.alloc(0));
    const spec = r.set?.byType.get(a.type & NLA_TYPE_MASK);
    const size = [8, 4, 2, 1].find((s) => s <= p.length) ?? 1;
    const v = spec?.max !== undefined && rng.chance(0.5) ? spec.max + 1n : spec?.min !== undefined && rng.chance(0.5) ? spec.min - 1n : rng.interesting(size);
    const kinds: Record<number, string> = { 1: 'u8', 2: 'u16', 4: 'u32', 8: 'u64' };
    const off = rng.below(Math.max(1, p.length - size + 1));
    writeScalar(kinds[size], v, spec?.bigEndian ?? rng.chance(0.3)).copy(p, off);
    a.payload = p;
    return 'out-of-range';
  },
  function retype(rng, _m, _f, refs) {
    const r = pickRef(rng, refs);
    if (!r) return undefined;
    const a = r.list[r.index];
    const flags = a.type & ~NLA_TYPE_MASK;
    const others = r.set?.attrs ?? [];
    a.type = (others.length && rng.chance(0.8) ? rng.pick(others).type : rng.below(40)) | flags;
    return 'retype';
  },
  function flagFlip(rng, _m, _f, refs) {
    const r = pickRef(rng, refs);
    if (!r) return undefined;
    r.list[r.index].type ^= rng.chance(0.6) ? NLA_F_NESTED : NLA_F_NET_BYTEORDER;
    return 'nla-flag-flip';
  },
  function depthBomb(rng, _m, _f, refs) {
    const r = pickRef(rng, refs.filter((x) => x.list[x.index].nested));
    if (!r) return undefined;
    const a = r.list[r.index];
    let inner: GenAttr = cloneAttr(a);
    const n = rng.pick([5, 10, 15, 16, 17, 18, 32, 64, 200]);
    for (let i = 0; i < n; i++) inner = { type: a.type, nested: [inner] };
    r.list[r.index] = inner;
    return 'depth-bomb';
  },
  function giant(rng, _m, _f, refs) {
    const r = pickRef(rng, refs);
    if (!r) return undefined;
    const a = r.list[r.index];
    const n = rng.pick([4096, 32768, 65531, 65532, 65535 - 4, 70000]);
    if (a.nested && rng.chance(0.5)) {
      // Many copies of the first nested attribute, serialised once.
      const one = encodeAttr(a.nested[0] ?? { type: 1, payload: Buffer.alloc(4) });
      a.payload = Buffer.concat(Array.from({ length: Math.max(1, Math.floor(n / one.length)) }, () => one));
      a.nested = undefined;
    } else {
      a.nested = undefined;
      a.payload = Buffer.alloc(n, rng.u32() & 0xff);
    }
    return 'giant';
  },
  function flags(rng, m, f) {
    const op = m.genl ? f.ops.find((o) => o.cmd === m.genl?.cmd) : undefined;
    if (op && op.do && !op.dump && rng.chance(0.5)) m.flags |= NLM_F.DUMP;
    else m.flags ^= rng.pick([NLM_F.REQUEST, NLM_F.ACK, NLM_F.ECHO, NLM_F.DUMP, NLM_F.ROOT, NLM_F.EXCL, NLM_F.CREATE, NLM_F.APPEND, 0x10, 0x20, 0x8000]);
    return 'nlmsg-flags';
  },
  function genlHeader(rng, m) {
    if (!m.genl) return undefined;
    switch (rng.below(4)) {
      case 0: m.genl.reserved = rng.chance(0.5) ? 1 : rng.below(0x10000); break;
      case 1: m.genl.version = rng.below(256); break;
      case 2: m.genl.cmd = rng.below(16); break;
      default: m.genl.cmd = rng.below(256);
    }
    return 'genl-header';
  },
  function fixedHeader(rng, m) {
    if (rng.chance(0.3)) m.fixed = m.fixed.subarray(0, rng.below(m.fixed.length + 1));
    else if (m.fixed.length >= 4) m.fixed.writeInt32LE(rng.pick([0, 1, -1, 0x7fffffff, rng.below(300)]), 0);
    else return undefined;
    return 'ovs-header';
  },
  function familyType(rng, m) {
    m.type = rng.pick([0, 1, 2, 3, 4, 0x0f, 0x11, 0x2a, 0x3ff, rng.below(0x10000)]);
    return 'nlmsg-type';
  },
  function trailer(rng, m) {
    m.trailer = rng.bytes(rng.pick([1, 2, 3, 4, 5, 8]));
    return 'trailer';
  },
  function noGenl(rng, m) {
    m.genl = undefined;
    m.attrs = [];
    if (rng.chance(0.5)) m.trailer = rng.bytes(rng.below(4));
    return 'no-genl-header';
  },
];

/** Datagram mutators: work on the bytes of one encoded message, with its attribute offsets. */
type ByteMutator = (rng: Rng, d: Buffer, attrsAt: number) => Buffer | undefined;

const BYTES: { name: string; f: ByteMutator }[] = [
  {
    name: 'truncate-at-boundary',
    f(rng, d, attrsAt) {
      const cuts = attrBoundaries(d.subarray(attrsAt), attrsAt);
      if (!cuts.length) return undefined;
      const cut = rng.pick(cuts) + rng.pick([0, 0, 0, -1, 1, 2, -2]);
      const out = Buffer.from(d.subarray(0, Math.max(0, Math.min(d.length, cut))));
      if (out.length >= 4 && rng.chance(0.7)) out.writeUInt32LE(out.length, 0);
      return out;
    },
  },
  {
    name: 'nlmsg-len',
    f(rng, d) {
      const out = Buffer.from(d);
      if (out.length < 4) return undefined;
      out.writeUInt32LE(rng.pick([0, 1, 15, NLMSG_HDRLEN, out.length - 1, out.length + 1, out.length + 3, out.length + 64, 0xffffffff, 19, 20]) >>> 0, 0);
      return out;
    },
  },
  {
    name: 'havoc',
    f(rng, d) {
      const out = Buffer.from(d);
      const n = rng.range(1, 4);
      for (let i = 0; i < n && out.length; i++) {
        const at = rng.below(out.length);
        out[at] = rng.chance(0.5) ? out[at] ^ (1 << rng.below(8)) : rng.u32() & 0xff;
      }
      return out;
    },
  },
  {
    name: 'insert-bytes',
    f(rng, d, attrsAt) {
      const at = rng.range(Math.min(attrsAt, d.length), d.length);
      const out = Buffer.concat([d.subarray(0, at), rng.bytes(rng.pick([1, 2, 3, 4, 8])), d.subarray(at)]);
      if (rng.chance(0.5)) out.writeUInt32LE(out.length, 0);
      return out;
    },
  },
];

/** MutationResult is a datagram and the mutators that made it. */
export interface MutationResult {
  dgram: Buffer;
  ops: string[];
}

/** attrsOffset is where the attributes of `m` start in its encoding. */
function attrsOffset(m: GenMsg): number {
  return NLMSG_HDRLEN + (m.genl ? 4 + m.fixed.length : 0);
}

/**
 * mutate turns a generated message into a datagram: unchanged (`keep` probability), or with a
 * few tree mutations, maybe a byte mutation, and maybe batched with `extra` messages.
 */
export function mutate(rng: Rng, msg: GenMsg, fam: FamilySpec | undefined, extra: () => GenMsg, keep = 0.3): MutationResult {
  if (rng.chance(keep)) return { dgram: encodeMsg(msg), ops: [] };
  const ops: string[] = [];
  const m = cloneMsg(msg);
  const set = fam && m.genl ? fam.ops.find((o) => o.cmd === m.genl?.cmd)?.set ?? fam.mainSet : undefined;
  const rounds = rng.weighted([0, 6, 3, 1]);
  for (let i = 0; i < rounds; i++) {
    const refs = locate(m.attrs, set);
    const name = fam ? TREE[rng.below(TREE.length)](rng, m, fam, refs) : undefined;
    if (name) ops.push(name);
  }
  let dgram = encodeMsg(m);
  if (!ops.length || rng.chance(0.25)) {
    const bm = rng.pick(BYTES);
    const out = bm.f(rng, dgram, attrsOffset(m));
    if (out) {
      dgram = out;
      ops.push(bm.name);
    }
  }
  if (rng.chance(0.08)) {
    const n = rng.range(1, 3);
    const parts = [dgram];
    for (let i = 0; i < n; i++) parts.splice(rng.below(parts.length + 1), 0, encodeMsg(extra()));
    dgram = Buffer.concat(parts);
    ops.push('batch');
  }
  return { dgram, ops };
}
