/**
 * The fuzzer itself: reproducible from a seed, non-NlError exceptions caught by the dispatcher
 * count as findings, failed requests that change state are caught, the minimiser shrinks.
 */
import { NlError } from '../../lib/nl/errors';
import { NLM_F } from '../../lib/nl/constants';
import { RequestGen } from '../../lib/fuzz/gen-requests';
import { minimise } from '../../lib/fuzz/minimise';
import { mutate } from '../../lib/fuzz/mutate';
import { Rng } from '../../lib/fuzz/prng';
import { runCase, signatureOf } from '../../lib/fuzz/replay';
import { FuzzTarget } from '../../lib/fuzz/target';
import { attrBoundaries, encodeMsg, type GenAttr, type GenMsg } from '../../lib/fuzz/wire';
import type { FuzzCase } from '../../lib/fuzz/corpus';

function datagrams(seed: number, n: number): string[] {
  const t = new FuzzTarget();
  const rng = new Rng(seed);
  const gen = new RequestGen(t.emu.registry, new Rng(seed + 1));
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const v = t.view();
    const m = mutate(rng, gen.next(v), t.emu.registry.byId(gen.next(v).type), () => gen.next(v));
    out.push(m.dgram.toString('hex'));
    t.send(m.dgram);
  }
  return out;
}

describe('fuzz harness', () => {
  it('same seed → same inputs', () => {
    expect(datagrams(5, 200)).toEqual(datagrams(5, 200));
    expect(datagrams(5, 50)).not.toEqual(datagrams(6, 50));
  });

  it('a handler throwing TypeError is a "bug" finding (dispatcher hook), NlError is not', () => {
    const t = new FuzzTarget();
    const meter = t.emu.registry.family('ovs_meter');
    let thrown: Error = new TypeError('boom');
    t.emu.genl.register('ovs_meter', { doit: { [meter.op('features').cmd]: () => { throw thrown; } } });
    const gen = new RequestGen(t.emu.registry, new Rng(1));
    const req = () => encodeMsg(gen.build(meter, meter.op('features'), t.view()));
    expect(t.send(req()).findings.map((f) => f.kind)).toContain('bug');
    thrown = new NlError(22);
    expect(t.send(req()).findings).toEqual([]);
  });

  it('a failed request that changes state is a "state-changed" finding', () => {
    const t = new FuzzTarget();
    const gen = new RequestGen(t.emu.registry, new Rng(2));
    const dpf = t.emu.registry.family('ovs_datapath');
    const mk = gen.build(dpf, dpf.op('new'), t.view());
    t.send(encodeMsg(mk));
    const ct = t.emu.registry.family('ovs_ct_limit');
    t.emu.genl.register('ovs_ct_limit', { doit: { [ct.op('get').cmd]: () => { t.emu.ovs.net.ctLimit.set(7, 1); throw new NlError(22); } } });
    const m = gen.build(ct, ct.op('get'), t.view());
    m.flags = NLM_F.REQUEST | NLM_F.ACK;
    m.attrs = [];
    expect(t.send(encodeMsg(m)).findings.map((f) => f.kind)).toContain('state-changed');
  });

  it('the minimiser keeps only what reproduces the finding', () => {
    // A planted bug: any ovs_meter GET throws TypeError; the case is 40 steps long.
    const steps: FuzzCase['steps'] = [];
    const t = new FuzzTarget();
    const gen = new RequestGen(t.emu.registry, new Rng(3));
    for (let i = 0; i < 40; i++) steps.push({ kind: 'send', dgram: encodeMsg(gen.next(t.view())) });
    const meter = t.emu.registry.family('ovs_meter');
    steps.push({ kind: 'send', dgram: encodeMsg(gen.build(meter, meter.op('get'), t.view())) });
    const planted = (c: FuzzCase) => {
      const orig = FuzzTarget.prototype.send;
      FuzzTarget.prototype.send = function send(this: FuzzTarget, d: Buffer) {
        if (d.readUInt16LE(4) === meter.familyId && d[16] === meter.op('get').cmd) {
          const r = orig.call(this, d);
          return { ...r, findings: [...r.findings, { kind: 'bug', detail: 'handler: TypeError: planted' }] };
        }
        return orig.call(this, d);
      };
      try {
        return c.steps.length ? minimise(c, signatureOf({ kind: 'bug', detail: 'handler: TypeError: planted' })) : c;
      } finally {
        FuzzTarget.prototype.send = orig;
      }
    };
    const small = planted({ opts: {}, steps });
    expect(small.steps.length).toBe(1);
    expect(runCase(small)).toEqual([]);
  });
});

describe('truncation at every attribute boundary', () => {
  it('one generated request per family/op, cut at each boundary (nlmsg_len fixed or not): no findings', () => {
    const t = new FuzzTarget();
    const gen = new RequestGen(t.emu.registry, new Rng(11));
    const dpf = t.emu.registry.family('ovs_datapath');
    const mk = gen.build(dpf, dpf.op('new'), t.view());
    mk.flags = NLM_F.REQUEST | NLM_F.ACK;
    mk.attrs = mk.attrs.filter((a) => a.type !== dpf.set('datapath').byName.get('user-features')!.type);
    t.send(encodeMsg(mk));
    let cuts = 0;
    const problems: string[] = [];
    for (const fam of t.emu.registry.families) {
      for (const op of fam.ops.filter((o) => o.do)) {
        const d = encodeMsg(gen.build(fam, op, t.view()));
        const attrsAt = 16 + 4 + fam.hdrsize;
        for (const cut of attrBoundaries(d.subarray(attrsAt), attrsAt)) {
          for (const fix of [true, false]) {
            const c = Buffer.from(d.subarray(0, cut));
            if (fix) c.writeUInt32LE(c.length, 0);
            cuts++;
            for (const f of t.send(c).findings) problems.push(`${fam.name}/${op.name} cut ${cut}: ${f.kind} ${f.detail.split('\n')[0]}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
    expect(cuts).toBeGreaterThan(50);
  });
});

describe('allowed state change on failure', () => {
  it('DP NEW of genl version 1 for an existing name → EEXIST, user features dropped (kernel), not a finding', () => {
    const t = new FuzzTarget();
    const gen = new RequestGen(t.emu.registry, new Rng(4));
    const dpf = t.emu.registry.family('ovs_datapath');
    const D = dpf.set('datapath').byName;
    const m = gen.build(dpf, dpf.op('new'), t.view());
    m.flags = NLM_F.REQUEST | NLM_F.ACK;
    const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };
    m.attrs = [{ type: D.get('name')!.type, payload: Buffer.from('dpx\0') }, { type: D.get('upcall-pid')!.type, payload: u32(1) }, { type: D.get('user-features')!.type, payload: u32(1) }];
    expect(t.send(encodeMsg(m)).findings).toEqual([]);
    expect(t.emu.ovs.net.dps[0].userFeatures).toBe(1);
    const again = { ...m, seq: m.seq + 1, genl: { cmd: m.genl!.cmd, version: 1, reserved: 0 } };
    const r = t.send(encodeMsg(again));
    expect(r.findings).toEqual([]);
    expect(r.replies.map((x) => -x.bytes.readInt32LE(16))).toEqual([17]);
    expect(t.emu.ovs.net.dps[0].userFeatures).toBe(0);
  });
});

describe('work budget', () => {
  it('a catch-all flow of 2000 clone(recirc) actions recirculating into itself: input abandoned, no finding', () => {
    const t = new FuzzTarget();
    const reg = t.emu.registry;
    const dpf = reg.family('ovs_datapath');
    const vpf = reg.family('ovs_vport');
    const fl = reg.family('ovs_flow');
    const K = fl.set('key-attrs').byName;
    const A = fl.set('action-attrs').byName;
    const F = fl.set('flow-attrs').byName;
    const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); return b; };
    const be16 = (v: number) => { const b = Buffer.alloc(2); b.writeUInt16BE(v); return b; };
    const msg = (fam: typeof dpf, op: string, ifindex: number, attrs: GenAttr[]): GenMsg => ({
      type: fam.familyId, flags: NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE, seq: 1, pid: t.portid,
      genl: { cmd: fam.op(op).cmd, version: fam.version, reserved: 0 }, fixed: (() => { const b = Buffer.alloc(4); b.writeInt32LE(ifindex); return b; })(), attrs,
    });
    const D = dpf.set('datapath').byName;
    const V = vpf.set('vport').byName;
    const ok = (m: GenMsg) => expect(t.send(encodeMsg(m)).replies.map((r) => r.bytes.readInt32LE(16))).toEqual([0]);
    ok(msg(dpf, 'new', 0, [{ type: D.get('name')!.type, payload: Buffer.from('d1\0') }, { type: D.get('upcall-pid')!.type, payload: u32(1) }]));
    const ifindex = t.emu.ovs.net.dps[0].ifindex;
    ok(msg(vpf, 'new', ifindex, [{ type: V.get('name')!.type, payload: Buffer.from('p1\0') }, { type: V.get('type')!.type, payload: u32(vpf.enumValue('vport-type', 'internal')) },
      { type: V.get('upcall-pid')!.type, payload: u32(1) }]));
    const key = [{ type: K.get('in-port')!.type, payload: u32(1) }, { type: K.get('ethernet')!.type, payload: Buffer.alloc(12) }, { type: K.get('ethertype')!.type, payload: be16(0x88cc) }];
    const mask = [{ type: K.get('in-port')!.type, payload: u32(0xffffffff) }, { type: K.get('ethernet')!.type, payload: Buffer.alloc(12) }, { type: K.get('ethertype')!.type, payload: be16(0) }];
    const clone = { type: A.get('clone')!.type, nested: [{ type: A.get('recirc')!.type, payload: u32(0) }] };
    ok(msg(fl, 'new', ifindex, [{ type: F.get('key')!.type, nested: key }, { type: F.get('mask')!.type, nested: mask }, { type: F.get('actions')!.type, nested: Array.from({ length: 2000 }, () => clone) }]));
    const frame = Buffer.concat([Buffer.alloc(12, 1), be16(0x88cc), Buffer.alloc(40)]);
    expect(t.inject('p1', frame)).toEqual([]);
    expect(t.overBudget).toBe(true);
    // The target stays usable.
    const r = t.send(encodeMsg(msg(dpf, 'get', ifindex, [])));
    expect(r.findings).toEqual([]);
    expect(r.replies.map((m) => m.type)).toEqual([dpf.familyId, 2]);
  });
});
