/**
 * Valid requests for every family and command of the schema registry, with values drawn from
 * the emulator's current state (datapath ifindexes, port numbers and names, UFIDs, meter ids),
 * so that creation → use → deletion sequences reach the state-dependent paths.
 */
import { NLM_F } from '../nl/constants';
import type { AttrSpec, FamilySpec, OpSpec, SchemaRegistry } from '../schema/model';
import { encodeStruct } from '../schema/struct';
import { genAttrs, writeScalar, type GenContext, type SpecialGen } from './gen-attrs';
import { at, genActions, genKey, genUfid, maskOf, type FlowEnv } from './gen-flow';
import type { Rng } from './prng';
import type { GenAttr, GenMsg } from './wire';

/** StateView is what the generator knows about the emulator. */
export interface StateView {
  dps: { name: string; ifindex: number; ports: { no: number; name: string }[]; ufids: Buffer[]; nFlows: number; meterIds: number[] }[];
  /** The fuzzing socket's port id. */
  portid: number;
  nrCpus: number;
}

export const DP_NAMES = ['fz0', 'fz1', 'fz2'];
export const PORT_NAMES = ['fp0', 'fp1', 'fp2', 'fp3', 'r0', 'r1', 'eth0', 'lo'];

const u32 = (v: number): Buffer => writeScalar('u32', BigInt(v >>> 0), false);
const u16 = (v: number): Buffer => writeScalar('u16', BigInt(v & 0xffff), false);
const cstr = (s: string): Buffer => Buffer.from(`${s}\0`);

type OpWeights = Record<string, Record<string, number>>;
/** How often each family/op is generated (ops missing here are generated rarely). */
const WEIGHTS: OpWeights = {
  nlctrl: { getfamily: 2, getpolicy: 0.3 },
  ovs_datapath: { new: 3, del: 0.7, get: 2, set: 2 },
  ovs_vport: { new: 4, del: 1.2, get: 2, set: 2 },
  ovs_flow: { new: 12, del: 3, get: 4, set: 4 },
  ovs_packet: { execute: 5, miss: 0.2, action: 0.2 },
  ovs_meter: { features: 1, set: 3, get: 1.5, del: 1 },
  ovs_ct_limit: { set: 1.5, del: 1, get: 1.5 },
};

/** RequestGen makes one plausible request at a time. */
export class RequestGen {
  private readonly ops: { fam: FamilySpec; op: OpSpec; w: number }[];
  private seq = 1;

  constructor(readonly registry: SchemaRegistry, readonly rng: Rng) {
    this.ops = registry.families.flatMap((fam) => fam.ops.map((op) => ({ fam, op, w: WEIGHTS[fam.name]?.[op.name] ?? 0.2 })));
  }

  nextSeq(): number {
    return this.seq++;
  }

  /** next picks a family/op (biased towards building state when there is little) and builds it. */
  next(st: StateView): GenMsg {
    const { rng } = this;
    const dp = st.dps.length ? rng.pick(st.dps) : undefined;
    let choice: { fam: FamilySpec; op: OpSpec } = this.ops[rng.weighted(this.ops.map((o) => o.w))];
    if (!dp && rng.chance(0.6)) choice = this.find('ovs_datapath', 'new');
    else if (dp && dp.ports.length < 3 && rng.chance(0.3)) choice = this.find('ovs_vport', 'new');
    else if (dp && dp.nFlows > 48 && rng.chance(0.5)) choice = this.find('ovs_flow', 'del');
    return this.build(choice.fam, choice.op, st, dp);
  }

  private find(fam: string, op: string): { fam: FamilySpec; op: OpSpec } {
    const f = this.registry.family(fam);
    return { fam: f, op: f.op(op) };
  }

  /** build makes a request of `op` in `fam`. */
  build(fam: FamilySpec, op: OpSpec, st: StateView, dp = st.dps[0]): GenMsg {
    const { rng } = this;
    const ctx: GenContext = {
      rng, family: fam, special: this.specials(st, dp),
      names: [...DP_NAMES, ...PORT_NAMES, ...st.dps.map((d) => d.name), ...this.registry.families.map((f) => f.name)],
    };
    const set = op.set ?? fam.mainSet;
    const dump = !!op.dump && (!op.do || rng.chance(0.3));
    let attrs: GenAttr[] = [];
    if (set) {
      const mode = dump ? op.dump : op.do;
      const wanted = mode?.requestAttrs.length ? mode.requestAttrs : undefined;
      attrs = wanted || !mode ? genAttrs(ctx, set, 0, wanted) : [];
      for (const r of mode?.required ?? []) {
        const spec = set.byName.get(r);
        if (spec && !attrs.some((a) => (a.type & 0x3fff) === spec.type) && rng.chance(0.97)) attrs.push(this.genOne(ctx, set.name, spec));
      }
      if (fam.name === 'ovs_flow' && !dump) attrs = this.flowAttrs(ctx, op, st, dp, attrs);
      if (fam.name === 'ovs_packet' && op.name === 'execute') attrs = this.executeAttrs(ctx, st, dp);
    }
    let flags = NLM_F.REQUEST | (rng.chance(0.85) ? NLM_F.ACK : 0);
    if (dump) flags |= NLM_F.DUMP;
    else if (rng.chance(0.15)) flags |= NLM_F.ECHO;
    if (fam.name === 'ovs_flow' && op.name === 'new') flags |= rng.chance(0.8) ? NLM_F.CREATE : 0;
    if (rng.chance(0.05)) flags |= NLM_F.EXCL;
    const fixed = Buffer.alloc(fam.hdrsize);
    if (fam.hdrsize >= 4) fixed.writeInt32LE(dp && rng.chance(0.9) ? dp.ifindex : rng.pick([0, 1, 0x7ffffff0, -1]), 0);
    return {
      type: fam.familyId, flags, seq: this.nextSeq(), pid: st.portid,
      genl: { cmd: op.cmd, version: fam.version, reserved: 0 }, fixed, attrs,
    };
  }

  private genOne(ctx: GenContext, setName: string, spec: AttrSpec): GenAttr {
    const special = ctx.special.get(`${setName}/${spec.name}`)?.(ctx, spec, 0);
    return special ?? genAttrs(ctx, ctx.family.set(setName), 0, [spec.name]).find((a) => a.type === spec.type) ?? { type: spec.type, payload: Buffer.alloc(4) };
  }

  private flowEnv(ctx: GenContext, st: StateView, dp: StateView['dps'][number] | undefined): FlowEnv {
    const flowFam = this.registry.family('ovs_flow');
    const ports = dp?.ports.map((p) => p.no) ?? [];
    return { ctx: { ...ctx, family: flowFam }, ports: ports.length ? [...ports, 1, 2] : [0, 1, 2], pid: st.portid, meterIds: dp?.meterIds ?? [] };
  }

  private flowAttrs(ctx: GenContext, op: OpSpec, st: StateView, dp: StateView['dps'][number] | undefined, generic: GenAttr[]): GenAttr[] {
    const { rng } = this;
    const S = ctx.family.mainSet;
    if (!S) return generic;
    const env = this.flowEnv(ctx, st, dp);
    const key = genKey(env);
    const out: GenAttr[] = [];
    const ufid = dp?.ufids.length && rng.chance(op.name === 'new' ? 0.2 : 0.7) ? rng.pick(dp.ufids) : genUfid(rng);
    const ufidFirst = rng.chance(0.5);
    const withUfid = rng.chance(op.name === 'new' ? 0.8 : 0.6);
    if (withUfid && ufidFirst) out.push(at(S, 'ufid', ufid));
    const keyless = op.name !== 'new' && withUfid && rng.chance(0.5);
    if (!keyless || op.name === 'new') out.push(at(S, 'key', undefined, key.attrs));
    if ((op.name === 'new' || op.name === 'set') && rng.chance(0.7)) out.push(at(S, 'mask', undefined, maskOf(env, key.attrs)));
    if (op.name === 'new' || (op.name === 'set' && rng.chance(0.8))) out.push(at(S, 'actions', undefined, genActions(env, key)));
    if (withUfid && !ufidFirst) out.push(at(S, 'ufid', ufid));
    if (rng.chance(0.3)) out.push(at(S, 'ufid-flags', u32(rng.below(8))));
    if (op.name === 'set' && rng.chance(0.3)) out.push(at(S, 'clear'));
    if (rng.chance(0.05)) out.push(at(S, 'probe'));
    if (op.name === 'del' && !dp?.ufids.length && rng.chance(0.3)) return [];
    return out;
  }

  private executeAttrs(ctx: GenContext, st: StateView, dp: StateView['dps'][number] | undefined): GenAttr[] {
    const { rng } = this;
    const S = ctx.family.mainSet;
    if (!S) return [];
    const env = this.flowEnv(ctx, st, dp);
    const key = genKey(env);
    const frame = Buffer.concat([rng.bytes(12), writeScalar('u16', BigInt(key.ethType), true), rng.bytes(rng.range(0, 80))]);
    if (key.ethType === 0x0800 && frame.length >= 34) {
      frame[14] = 0x45;
      frame.writeUInt16BE(frame.length - 14, 16);
      frame[22] = 64;
      frame[23] = key.ipProto;
    }
    const out = [at(S, 'packet', frame), at(S, 'key', undefined, key.attrs), at(S, 'actions', undefined, genActions(env, key))];
    if (rng.chance(0.2)) out.push(at(S, 'mru', u16(rng.range(0, 2000))));
    if (rng.chance(0.2)) out.push(at(S, 'hash', writeScalar('u64', rng.u64(), false)));
    if (rng.chance(0.1)) out.push(at(S, 'probe'));
    return rng.chance(0.1) ? out.reverse() : out;
  }

  /** specials returns the state-aware generators of family attributes. */
  private specials(st: StateView, dp: StateView['dps'][number] | undefined): Map<string, SpecialGen> {
    const rng = this.rng;
    const pids = (n: number): Buffer => Buffer.concat(Array.from({ length: Math.max(1, n) }, () => u32(rng.chance(0.9) ? st.portid : rng.u32())));
    const existingNames = st.dps.flatMap((d) => [d.name, ...d.ports.map((p) => p.name)]);
    const m = new Map<string, SpecialGen>();
    const put = (k: string, f: SpecialGen): void => void m.set(k, f);
    put('datapath/name', (_c, s) => ({ type: s.type, payload: cstr(rng.chance(0.6) ? rng.pick(DP_NAMES) : rng.pick([...DP_NAMES, ...existingNames, 'ovs-system'])) }));
    put('datapath/upcall-pid', (_c, s) => ({ type: s.type, payload: u32(rng.chance(0.9) ? st.portid : rng.u32()) }));
    put('datapath/per-cpu-pids', (_c, s) => ({ type: s.type, payload: pids(rng.chance(0.8) ? st.nrCpus : rng.range(1, st.nrCpus + 2)) }));
    put('datapath/masks-cache-size', (_c, s) => ({ type: s.type, payload: u32(rng.pick([0, 1, 16, 256, 1000, 4096, 8192])) }));
    put('datapath/ifindex', (_c, s) => ({ type: s.type, payload: u32(rng.chance(0.8) ? 0 : rng.range(1, 300)) }));
    put('vport/name', (_c, s) => ({ type: s.type, payload: cstr(rng.chance(0.7) ? rng.pick(PORT_NAMES) : rng.pick([...PORT_NAMES, ...existingNames])) }));
    put('vport/upcall-pid', (_c, s) => ({ type: s.type, payload: pids(rng.range(1, st.nrCpus)) }));
    put('vport/port-no', (_c, s) => ({ type: s.type, payload: u32(dp?.ports.length && rng.chance(0.6) ? rng.pick(dp.ports).no : rng.pick([0, 1, 2, 3, 7, 100, 65534, 65535, 70000])) }));
    put('vport/ifindex', (_c, s) => ({ type: s.type, payload: u32(rng.chance(0.8) ? 0 : rng.range(1, 300)) }));
    put('vport/type', (c, s) => {
      const types = [...(c.family.enums.get('vport-type')?.values() ?? [])];
      return { type: s.type, payload: u32(rng.chance(0.6) ? c.family.enumValue('vport-type', 'internal') : rng.chance(0.9) ? rng.pick(types) : rng.below(100)) };
    });
    put('vport/options', (c, s) => {
      const os = c.family.set('vport-options');
      const n: GenAttr[] = [at(os, 'dst-port', u16(rng.pick([4789, 6081, 0, 1])))];
      if (rng.chance(0.3)) n.push(at(os, 'extension', undefined, [at(c.family.set('vxlan-ext'), 'gbp')]));
      return { type: s.type, nested: n };
    });
    const meterId = (): number => (dp?.meterIds.length && rng.chance(0.5) ? rng.pick(dp.meterIds) : rng.pick([0, 1, 2, 3, 1023, 1024, 200000, 0xffffffff]));
    put('meter-attrs/id', (_c, s) => ({ type: s.type, payload: u32(meterId()) }));
    put('meter-attrs/bands', (c, s) => {
      const bs = c.family.set('band-attrs');
      const band = (): GenAttr => ({ type: 0, nested: [at(bs, 'type', u32(rng.chance(0.9) ? 1 : rng.below(3))), at(bs, 'rate', u32(rng.chance(0.9) ? rng.range(1, 10000) : 0)), at(bs, 'burst', u32(rng.range(0, 10000)))] });
      return { type: s.type, nested: Array.from({ length: rng.weighted([1, 8, 1]) }, band) };
    });
    put('ct-limit-attrs/zone-limit', (c, s) => {
      const zl = c.family.struct('ovs-zone-limit');
      const n = rng.range(0, 4);
      const payload = Buffer.concat(Array.from({ length: n }, () => encodeStruct(zl, { 'zone-id': rng.pick([-1, 0, 1, 2, 65535, 65536]), limit: rng.below(100), count: 0 })));
      return { type: s.type, payload: rng.chance(0.9) ? payload : Buffer.concat([payload, rng.bytes(rng.range(1, 11))]) };
    });
    put('ctrl-attrs/family-name', (_c, s) => ({ type: s.type, payload: cstr(rng.pick([...this.registry.families.map((f) => f.name), 'nosuch', 'oracle-end-mark'])) }));
    put('ctrl-attrs/family-id', (_c, s) => ({ type: s.type, payload: u16(rng.chance(0.8) ? rng.pick(this.registry.families).familyId : rng.below(0x40)) }));
    return m;
  }
}
