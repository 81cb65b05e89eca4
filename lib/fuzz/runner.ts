/**
 * The fuzzing campaign: sessions of stateful sequences on fresh emulators (create datapaths,
 * ports, flows, meters → use and break them → delete), each step a generated request mutated
 * or not, sometimes a frame through a port. Findings are minimised, deduplicated by signature
 * and saved to the corpus folder.
 */
import { NLM_F } from '../nl/constants';
import { type FuzzCase, saveCase, type Step } from './corpus';
import { RequestGen } from './gen-requests';
import { minimise } from './minimise';
import { mutate } from './mutate';
import { Rng } from './prng';
import { signatureOf } from './replay';
import { FuzzTarget, type Finding, type TargetOptions } from './target';

export interface CampaignOptions {
  seed: number;
  /** Stop after this many inputs (steps). */
  iterations?: number;
  /** Stop after this many milliseconds. */
  timeMs?: number;
  /** Save each new finding (minimised) here. */
  corpusDir?: string;
  /** Minimise findings before saving (default true). */
  minimise?: boolean;
  /** Called about once a second. */
  onProgress?: (p: Progress) => void;
  /** Called for each new (deduplicated) finding. */
  onFinding?: (f: SavedFinding) => void;
}

export interface Progress {
  execs: number;
  elapsedMs: number;
  execsPerSec: number;
  findings: number;
  sessions: number;
}

export interface SavedFinding {
  finding: Finding;
  signature: string;
  steps: number;
  file?: string;
}

export interface CampaignResult extends Progress {
  unique: SavedFinding[];
  /** Requests generated per family/op. */
  perOp: Record<string, number>;
  /** Final answers by errno (0 = ACK) over all inputs. */
  errnos: Record<string, number>;
  /** Mutators applied. */
  mutators: Record<string, number>;
  /** Inputs abandoned at the work budget (see target.ts). */
  overBudget: number;
}

/** genFrame is an Ethernet frame: mostly IPv4/IPv6/ARP with plausible headers, sometimes junk. */
export function genFrame(rng: Rng): Buffer {
  const type = rng.pick([0x0800, 0x0800, 0x86dd, 0x0806, 0x8100, 0x8847, rng.below(0x10000)]);
  const f = Buffer.concat([rng.bytes(12), Buffer.alloc(2), rng.bytes(rng.range(0, 120))]);
  f.writeUInt16BE(type, 12);
  if (type === 0x0800 && f.length >= 34) {
    f[14] = 0x45;
    f.writeUInt16BE(f.length - 14, 16);
    f[20] = rng.chance(0.9) ? 0 : rng.u32() & 0xff;
    f[23] = rng.pick([1, 6, 17, 132, 47]);
  } else if (type === 0x86dd && f.length >= 54) {
    f[14] = 0x60;
    f.writeUInt16BE(f.length - 54, 18);
    f[20] = rng.pick([6, 17, 58, 0, 44]);
  }
  return rng.chance(0.05) ? f.subarray(0, rng.below(f.length)) : f;
}

/** runCampaign fuzzes until the iteration or time budget is spent. */
export function runCampaign(o: CampaignOptions): CampaignResult {
  const rng = new Rng(o.seed);
  const start = Date.now();
  const res: CampaignResult = { execs: 0, elapsedMs: 0, execsPerSec: 0, findings: 0, sessions: 0, unique: [], perOp: {}, errnos: {}, mutators: {}, overBudget: 0 };
  const seen = new Set<string>();
  const maxExecs = o.iterations ?? Infinity;
  const deadline = o.timeMs === undefined ? Infinity : start + o.timeMs;
  let lastReport = start;
  const bump = (r: Record<string, number>, k: string): void => void (r[k] = (r[k] ?? 0) + 1);
  while (res.execs < maxExecs && Date.now() < deadline) {
    const opts: TargetOptions = { extAck: rng.chance(0.9), capAck: rng.chance(0.2), cpus: rng.pick([1, 2, 4]) };
    const target = new FuzzTarget(opts);
    const gen = new RequestGen(target.emu.registry, new Rng(rng.u32()));
    const steps: Step[] = [];
    const length = rng.range(20, 400);
    res.sessions++;
    for (let i = 0; i < length && res.execs < maxExecs; i++) {
      res.execs++;
      const view = target.view();
      let step: Step;
      let findings: Finding[];
      const ports = view.dps.flatMap((d) => d.ports.map((p) => p.name));
      if (ports.length && rng.chance(0.08)) {
        step = { kind: 'inject', port: rng.pick(ports), frame: genFrame(rng) };
        findings = target.inject(step.port, step.frame);
      } else {
        const msg = gen.next(view);
        const fam = target.emu.registry.byId(msg.type);
        bump(res.perOp, `${fam?.name}/${fam?.ops.find((op) => op.cmd === msg.genl?.cmd)?.name}${msg.flags & NLM_F.DUMP ? '(dump)' : ''}`);
        const mut = mutate(rng, msg, fam, () => gen.next(view), 0.45);
        for (const m of mut.ops) bump(res.mutators, m);
        step = { kind: 'send', dgram: mut.dgram };
        const r = target.send(mut.dgram);
        findings = r.findings;
        for (const m of r.replies) if (m.type === 2 && m.bytes.length >= 20) bump(res.errnos, String(-m.bytes.readInt32LE(16)));
      }
      steps.push(step);
      if (target.overBudget) res.overBudget++;
      if (findings.length) {
        res.findings += findings.length;
        for (const f of findings) {
          const signature = signatureOf(f);
          if (seen.has(signature)) continue;
          seen.add(signature);
          let c: FuzzCase = { opts, steps: [...steps] };
          if (o.minimise !== false) c = minimise(c, signature);
          const saved: SavedFinding = { finding: f, signature, steps: c.steps.length };
          if (o.corpusDir) saved.file = saveCase(o.corpusDir, c, f, signature, o.seed);
          res.unique.push(saved);
          o.onFinding?.(saved);
        }
        break; // state may be inconsistent: start a fresh session
      }
      if (target.overBudget) break; // abandoned mid-execution: start a fresh session
      const now = Date.now();
      if (o.onProgress && now - lastReport >= 1000) {
        lastReport = now;
        res.elapsedMs = now - start;
        res.execsPerSec = Math.round((res.execs * 1000) / Math.max(1, res.elapsedMs));
        o.onProgress({ ...res });
      }
      if (now >= deadline) break;
    }
    target.close();
  }
  res.elapsedMs = Date.now() - start;
  res.execsPerSec = Math.round((res.execs * 1000) / Math.max(1, res.elapsedMs));
  return res;
}
