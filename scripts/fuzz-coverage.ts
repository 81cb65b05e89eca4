/**
 * Code coverage of a fuzz campaign, measured with V8's precise block coverage (node:inspector,
 * no instrumentation): the share of the compiled lib/ code (bytes of JavaScript, by folder)
 * that ran at least once, and the functions of lib/ovs and lib/schema that never ran.
 *
 *   node dist/scripts/fuzz-coverage.js [INPUTS=200000] [SEED=1]
 */
import * as inspector from 'inspector';
import * as path from 'path';
import { runCampaign } from '../lib/fuzz/runner';

interface Range { startOffset: number; endOffset: number; count: number }
interface FnCov { functionName: string; ranges: Range[] }
interface ScriptCov { url: string; functions: FnCov[] }

const inputs = Number(process.argv[2] ?? 200000);
const seed = Number(process.argv[3] ?? 1);
const session = new inspector.Session();
session.connect();
const post = (method: string, params?: object): Promise<unknown> => new Promise((res, rej) => session.post(method, params ?? {}, (e, r) => (e ? rej(e) : res(r))));

async function main(): Promise<void> {
  await post('Profiler.enable');
  await post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  const r = runCampaign({ seed, iterations: inputs, minimise: false });
  const { result } = (await post('Profiler.takePreciseCoverage')) as { result: ScriptCov[] };
  const libDir = path.join(__dirname, '..', 'lib');
  const byDir = new Map<string, { total: number; covered: number }>();
  const neverRan: string[] = [];
  for (const s of result) {
    const file = s.url.startsWith('file://') ? s.url.slice(7) : s.url;
    if (!file.startsWith(libDir) || file.includes(`${path.sep}fuzz${path.sep}`)) continue;
    const len = Math.max(0, ...s.functions.flatMap((f) => f.ranges.map((x) => x.endOffset)));
    const counts = new Int32Array(len).fill(-1);
    // Ranges are nested, outer first: the innermost range's count holds for its bytes.
    for (const f of s.functions) {
      for (const x of f.ranges) counts.fill(x.count, x.startOffset, x.endOffset);
      if (f.ranges[0]?.count === 0 && f.functionName && /[/\\](ovs|schema)[/\\]/.test(file)) neverRan.push(`${path.relative(libDir, file)}: ${f.functionName}`);
    }
    const dir = path.relative(libDir, path.dirname(file)) || '.';
    const d = byDir.get(dir) ?? { total: 0, covered: 0 };
    for (const c of counts) if (c >= 0) { d.total++; if (c > 0) d.covered++; }
    byDir.set(dir, d);
  }
  let total = 0;
  let covered = 0;
  for (const [dir, d] of [...byDir].sort()) {
    total += d.total;
    covered += d.covered;
    process.stdout.write(`lib/${dir}: ${((100 * d.covered) / Math.max(1, d.total)).toFixed(1)} % of ${d.total} bytes\n`);
  }
  process.stdout.write(`lib/ (without lib/fuzz): ${((100 * covered) / Math.max(1, total)).toFixed(1)} % of the code ran, after ${r.execs} inputs (seed ${seed}, ${r.unique.length} findings)\n`);
  process.stdout.write(`functions of lib/ovs and lib/schema that never ran (${neverRan.length}):\n${neverRan.map((n) => `  ${n}`).join('\n')}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
