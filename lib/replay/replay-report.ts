/**
 * Human-readable and JSON reports of replay results (the `replay` command's output; tests use
 * {@link formatReplayResult} as a failure message).
 */
import * as path from 'path';
import { NORMALISATION_RULES } from './replay-normalise';
import type { ExchangeResult, ReplayResult } from './replay';

/** summaryLine is the one line per file: verdict, counts, skip reasons. */
export function summaryLine(r: ReplayResult): string {
  const c = r.counts;
  const skips = r.skipped.map((s) => `${s.exchanges + s.strays} ${s.reason}`).join('; ');
  const verdict = r.updated ? 'UPDATED' : r.ok ? 'PASS' : 'FAIL';
  let line = `${verdict} ${path.basename(r.file)}${r.target === 'kernel' ? ' (against this host\'s kernel)' : ''}: ${c.matched}/${c.exchanges} exchanges matched, ${c.failed} failed, ${c.skipped} skipped` +
    `${c.strays ? `, ${c.strays} kernel datagram(s) without a request` : ''}`;
  if (skips) line += ` (skipped: ${skips})`;
  if (r.updated) line += ` → ${r.updated}`;
  return line;
}

function exchangeHead(e: ExchangeResult): string {
  return `exchange ${e.index} (frame ${e.frame}, port ${e.port}, ${e.request})`;
}

/** failureText describes one failed exchange: where, what, and (with trees) both decodes. */
export function failureText(e: ExchangeResult, trees = true, peer = 'emulator'): string {
  const d = e.difference;
  if (!d) return `${exchangeHead(e)}: failed`;
  const values = d.expectedValue !== undefined || d.gotValue !== undefined ? `: captured ${d.expectedValue ?? '(absent)'}, ${peer} ${d.gotValue ?? '(absent)'}` : '';
  const where = d.kind === 'extra' ? `${peer} datagram` : `captured frame ${d.frame}`;
  const head = `${exchangeHead(e)}: ${d.kind} at ${d.path} (${where}, message ${d.message}, byte ${d.offset})${values}`;
  return trees ? `${head}\n${d.sideBySide}` : head;
}

/** formatReplayResult is the full text report of one file. */
export function formatReplayResult(r: ReplayResult, opts: { verbose?: boolean } = {}): string {
  const out = [summaryLine(r)];
  const failed = r.exchanges.filter((e) => e.status === 'failed');
  for (const [i, e] of failed.entries()) {
    if (!opts.verbose && i > 0) {
      out.push(`… and ${failed.length - 1} more failed exchange(s) (--verbose lists them)`);
      break;
    }
    out.push(failureText(e, true, r.target === 'kernel' ? 'replayed kernel' : 'emulator'));
  }
  if (opts.verbose) {
    for (const e of r.exchanges) if (e.status === 'skipped') out.push(`skipped ${exchangeHead(e)}: ${e.reason ?? ''}`);
    for (const s of r.strays) out.push(`skipped kernel datagram (frame ${s.frame}): ${s.reason}`);
    const rules = Object.entries(r.rulesApplied);
    if (rules.length) out.push(`normalisation rules applied: ${rules.map(([k, n]) => `${k} ×${n}`).join(', ')}`);
    if (r.host.netdevs.length) out.push(`modelled host interfaces: ${r.host.netdevs.join(', ')}`);
    const moved = r.host.ifindexMap.filter(([k, e]) => k !== e);
    if (moved.length) out.push(`ifindex map (kernel → ${r.target === 'kernel' ? 'replayed kernel' : 'emulator'}): ${moved.map(([k, e]) => `${k}→${e}`).join(', ')}`);
  }
  return out.join('\n');
}

/** jsonReport is what `--json` prints: results without matched exchanges unless verbose. */
export function jsonReport(results: ReplayResult[], verbose = false): string {
  const slim = results.map((r) => ({ ...r, exchanges: verbose ? r.exchanges : r.exchanges.filter((e) => e.status !== 'matched') }));
  return JSON.stringify({ ok: results.every((r) => r.ok), results: slim }, null, 2);
}

/** rulesTable renders the normalisation rules as a Markdown table (README, `--verbose`). */
export function rulesTable(): string {
  const rows = NORMALISATION_RULES.map((r) => `| \`${r.id}\` | ${r.fields} | ${r.action} | ${r.reason} |`);
  return ['| rule | fields | replay does | why |', '|---|---|---|---|', ...rows].join('\n');
}
