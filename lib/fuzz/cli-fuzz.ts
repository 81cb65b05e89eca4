/**
 * `ovs-dpemu fuzz`: run a campaign in-process (progress with execs/s on stderr, findings saved
 * minimised to --corpus with a one-line reproduction command, exit status 1 on findings),
 * replay saved cases (--replay FILE…), or compare against a real-kernel capture
 * (--differential FILE.pcap).
 */
import { decodeCase, loadCase } from './corpus';
import { formatDifferential, runDifferential } from './differential';
import { runCase } from './replay';
import { runCampaign } from './runner';

export interface FuzzArgs {
  seed?: number;
  iterations?: number;
  time?: number;
  corpus: string;
  replay?: string[];
  differential?: string;
  transcript?: string;
  quiet?: boolean;
}

/** fuzzMain runs the command and returns the process exit status. */
export function fuzzMain(a: FuzzArgs): number {
  const err = (s: string): boolean => process.stderr.write(s);
  if (a.replay?.length) {
    let bad = 0;
    for (const file of a.replay) {
      const saved = loadCase(file);
      const found = runCase(decodeCase(saved));
      if (found.length) bad++;
      process.stdout.write(`${file}: ${found.length ? `${found.length} finding(s)` : 'clean'}\n`);
      for (const f of found) process.stdout.write(`  ${f.kind}: ${f.detail.split('\n').slice(0, 8).join('\n    ')}\n`);
    }
    return bad ? 1 : 0;
  }
  if (a.differential) {
    const r = runDifferential(a.differential, a.transcript);
    process.stdout.write(formatDifferential(r));
    return r.disagreements.length ? 1 : 0;
  }
  const seed = a.seed ?? (Date.now() % 0x7fffffff);
  const tty = process.stderr.isTTY;
  err(`ovs-dpemu fuzz: seed ${seed}, ${a.iterations ?? '∞'} inputs, ${a.time ?? '∞'} s, corpus ${a.corpus}\n`);
  const r = runCampaign({
    seed,
    iterations: a.iterations,
    timeMs: a.time === undefined ? undefined : a.time * 1000,
    corpusDir: a.corpus,
    onProgress: a.quiet ? undefined : (p) => err(`${tty ? '\r' : ''}#${p.execs} sessions ${p.sessions} execs/s ${p.execsPerSec} findings ${p.findings}${tty ? '   ' : '\n'}`),
    onFinding: (f) => err(`${tty ? '\n' : ''}FINDING ${f.signature}\n  ${f.finding.detail.split('\n').slice(0, 6).join('\n  ')}\n  saved (${f.steps} steps): ${f.file ?? '-'}\n  repro: ovs-dpemu fuzz --replay ${f.file ?? '?'}\n`),
  });
  if (tty) err('\n');
  process.stdout.write(`fuzz: seed ${seed}: ${r.execs} inputs in ${(r.elapsedMs / 1000).toFixed(1)} s (${r.execsPerSec} execs/s), ${r.sessions} sessions, ${r.findings} findings, ${r.unique.length} unique (${r.overBudget} inputs over the work budget)\n`);
  return r.unique.length ? 1 : 0;
}
