/**
 * The parse strengths of lib/schema/validate.ts beyond genl-legacy: deprecated-strict and strict
 * (lib/nlattr.c __nla_validate_parse / validate_nla with NL_VALIDATE_DEPRECATED_STRICT and
 * NL_VALIDATE_STRICT, nla_parse_nested's NLA_F_NESTED check) and the ovs-key set flags
 * x-allow-duplicates / x-ignore-above-max / variable length bounds (flow_netlink.c, conntrack.c).
 */
import { NLA_F_NESTED } from '../../../lib/nl/constants';
import { Errno } from '../../../lib/nl/errno';
import { NlError } from '../../../lib/nl/errors';
import { loadSchemas } from '../../../lib/schema/load';
import type { AttrSet, AttrSpec } from '../../../lib/schema/model';
import { parseBySet, parseNested, parseOvsKey, walkOvsAttrs, type Attr } from '../../../lib/schema/validate';

const flow = loadSchemas().family('ovs_flow');
const set = (n: string): AttrSet => flow.set(n);
const T = (s: string, a: string): number => set(s).byName.get(a)!.type;

function nla(type: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const out = Buffer.alloc((4 + payload.length + 3) & ~3);
  out.writeUInt16LE(4 + payload.length, 0);
  out.writeUInt16LE(type, 2);
  payload.copy(out, 4);
  return out;
}
const u16 = (v: number): Buffer => Buffer.from([v & 0xff, v >> 8]);
const u32 = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };
const attrOf = (type: number, payload: Buffer): Attr => ({ type: type & 0x3fff, rawType: type, offset: 20, payload });

function outcome(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (!(e instanceof NlError)) throw e;
    return `${e.errno === Errno.EINVAL ? 'EINVAL' : e.errno === Errno.ERANGE ? 'ERANGE' : e.errno}${e.extack.msg ? `: ${e.extack.msg}` : ''}`;
  }
}

describe('deprecated-strict (nla_parse_deprecated_strict): check-pkt-len-attrs', () => {
  const cpl = set('check-pkt-len-attrs');
  const len = T('check-pkt-len-attrs', 'pkt-len');
  it.each([
    ['a u16 of 4 bytes is accepted (no exact length check)', nla(len, u32(1)), 'ok'],
    ['a u16 of 1 byte → ERANGE', nla(len, Buffer.of(1)), 'ERANGE: Attribute failed policy validation'],
    ['type 0 → EINVAL', nla(0), 'EINVAL: Unknown attribute type'],
    ['type above the max → EINVAL', nla(cpl.maxType + 1), 'EINVAL: Unknown attribute type'],
    ['leftover bytes → EINVAL', Buffer.concat([nla(len, u16(1)), Buffer.alloc(2)]), 'EINVAL: bytes leftover after parsing attributes'],
    ['an unflagged nest is accepted', nla(T('check-pkt-len-attrs', 'actions-if-greater')), 'ok'],
  ])('%s', (_n, buf, want) => {
    expect(outcome(() => parseBySet(buf, cpl, { base: 0, extack: {} }))).toBe(want);
  });
});

describe('strict (nla_parse_nested): psample-attrs', () => {
  const ps = set('psample-attrs');
  const group = T('psample-attrs', 'group');
  const cookie = T('psample-attrs', 'cookie');
  const nested = (...kids: Buffer[]): Attr => attrOf(25 | NLA_F_NESTED, Buffer.concat(kids));
  it.each([
    ['group → ok', nested(nla(group, u32(1))), 'ok'],
    ['the outer attribute without NLA_F_NESTED → EINVAL', attrOf(25, nla(group, u32(1))), 'EINVAL: NLA_F_NESTED is missing'],
    ['a u32 of 8 bytes → EINVAL', nested(nla(group, Buffer.alloc(8))), 'EINVAL: invalid attribute length'],
    ['a u32 of 2 bytes → EINVAL', nested(nla(group, u16(1))), 'EINVAL: invalid attribute length'],
    ['a flagged u32 → EINVAL', nested(nla(group | NLA_F_NESTED, u32(1))), 'EINVAL: NLA_F_NESTED not expected'],
    ['a binary over its max-len → ERANGE', nested(nla(cookie, Buffer.alloc(17))), 'ERANGE: Attribute failed policy validation'],
    ['type above the max → EINVAL', nested(nla(ps.maxType + 1)), 'EINVAL: Unknown attribute type'],
  ])('%s', (_n, a, want) => {
    expect(outcome(() => parseNested(a, ps, {}))).toBe(want);
  });

  it('a type without policy entry, or an NLA_UNSPEC one, is "Unsupported attribute" (EINVAL)', () => {
    const spec = (name: string, type: number, nla: AttrSpec['nla']): AttrSpec => ({ ...ps.byName.get('group')!, name, type, nla, kind: 'binary' });
    const attrs = [ps.byName.get('group')!, spec('raw', 3, 'unspec')];
    const s: AttrSet = { ...ps, maxType: 4, attrs, byType: new Map(attrs.map((a) => [a.type, a])), byName: new Map(attrs.map((a) => [a.name, a])) };
    expect(outcome(() => parseBySet(nla(3, u32(1)), s, { base: 0, extack: {} }))).toBe('EINVAL: Unsupported attribute');
    expect(outcome(() => parseBySet(nla(4, u32(1)), s, { base: 0, extack: {} }))).toBe('EINVAL: Unsupported attribute');
    expect(outcome(() => parseBySet(nla(3, u32(1)), { ...s, mode: 'genl-legacy' }, { base: 0, extack: {} }))).toBe('ok');
  });
});

describe('ovs-key set flags', () => {
  const walk = (s: AttrSet, buf: Buffer, nz = false): string => outcome(() => walkOvsAttrs(buf, s, 0, () => undefined, nz));
  it.each([
    ['x-allow-duplicates: two outputs in action-attrs → ok', 'action-attrs', Buffer.concat([nla(1, u32(1)), nla(1, u32(2))]), 'ok'],
    ['no x-allow-duplicates: two probabilities in sample-attrs → EINVAL', 'sample-attrs', Buffer.concat([nla(1, u32(1)), nla(1, u32(2))]), 'EINVAL'],
    ['x-ignore-above-max: dec-ttl type 5 is skipped', 'dec-ttl-attrs', nla(5, u32(1)), 'ok'],
    ['no x-ignore-above-max: action type 26 → EINVAL', 'action-attrs', nla(26), 'EINVAL'],
    ['variable bounds: ct helper of 17 bytes → EINVAL', 'ct-attrs', nla(T('ct-attrs', 'helper'), Buffer.alloc(17)), 'EINVAL'],
    ['variable bounds: ct helper of 0 bytes → EINVAL', 'ct-attrs', nla(T('ct-attrs', 'helper')), 'EINVAL'],
    ['variable bounds: ct helper of 16 bytes → ok', 'ct-attrs', nla(T('ct-attrs', 'helper'), Buffer.alloc(16)), 'ok'],
    ['variable bounds: nat ip-min of 5 bytes → ok (the handler checks the family length)', 'nat-attrs', nla(T('nat-attrs', 'ip-min'), Buffer.alloc(5)), 'ok'],
    ['a nest has no length check (ct nat of 2 bytes)', 'ct-attrs', nla(T('ct-attrs', 'nat'), Buffer.alloc(2)), 'ok'],
  ])('%s', (_n, s, buf, want) => {
    expect(walk(set(s), buf)).toBe(want);
  });

  it('x-unpadded-last: a last attribute without its padding passes where the kernel tests rem > 0', () => {
    const unpadded = Buffer.concat([nla(1, u32(1)), Buffer.from([7, 0, 2, 0, 0x61, 0x62, 0x63])]); // userspace(3 bytes), no pad
    expect(set('action-attrs').unpaddedLast).toBe(true);
    expect(walk(set('action-attrs'), unpadded)).toBe('ok');
    expect(walk(set('sample-attrs'), unpadded)).toBe('EINVAL'); // validate_and_copy_sample: if (rem)
    expect(walk(set('key-attrs'), Buffer.from([5, 0, 5, 0, 0]))).toBe('EINVAL'); // __parse_flow_nlattrs: if (rem)
    expect(walk(set('action-attrs'), Buffer.concat([nla(1, u32(1)), Buffer.alloc(2)]))).toBe('EINVAL'); // rem > 0
  });

  it('nz drops an all-zero attribute before the variable bounds (a zero MPLS mask of 16 bytes)', () => {
    const mpls = T('key-attrs', 'mpls');
    expect(walk(set('key-attrs'), nla(mpls, Buffer.alloc(16)), true)).toBe('ok');
    expect(walk(set('key-attrs'), nla(mpls, Buffer.alloc(16, 1)), true)).toBe('EINVAL');
    expect(parseOvsKey(nla(mpls, Buffer.alloc(16)), set('key-attrs'), 0, true).byType.size).toBe(0);
  });

  it('the visitor sees attributes in order with nla_is_last()', () => {
    const seen: [number, boolean][] = [];
    walkOvsAttrs(Buffer.concat([nla(1, u32(1)), nla(24, u32(0))]), set('action-attrs'), 0, (a, _s, last) => { seen.push([a.type, last]); });
    expect(seen).toEqual([[1, false], [24, true]]);
    const trailing: boolean[] = [];
    expect(outcome(() => walkOvsAttrs(Buffer.concat([nla(24, u32(0)), Buffer.alloc(4)]), set('action-attrs'), 0, (_a, _s, last) => { trailing.push(last); })))
      .toBe('EINVAL');
    expect(trailing).toEqual([false]);
  });

  it('parseOvsKey keeps the last of repeated attributes where the set allows repeats', () => {
    const p = parseOvsKey(Buffer.concat([nla(T('ct-attrs', 'zone'), u16(1)), nla(T('ct-attrs', 'zone'), u16(2))]), set('ct-attrs'), 0);
    expect(p.get('zone')?.payload.readUInt16LE(0)).toBe(2);
  });
});
