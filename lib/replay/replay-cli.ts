/**
 * `ovs-dpemu replay FILE.pcap… [--update] [--json] [--verbose] [--kernel]`: replays each capture
 * against a fresh emulator (--kernel: this host's kernel) and prints one summary line per file
 * (and the first difference); the exit status is 0 when every exchange of every file matched.
 */
import { replay, type ReplayResult } from './replay';
import { formatReplayResult, jsonReport } from './replay-report';

/** ReplayArgs are the parsed command line. */
export interface ReplayArgs {
  files: string[];
  update?: boolean;
  json?: boolean;
  verbose?: boolean;
  cpus?: number;
  /** Send the requests to this host's kernel instead of an emulator. */
  kernel?: boolean;
}

/** Exit status when a file could not be read or parsed. */
const EXIT_ERROR = 2;

/** progress prints a percent line on stderr when it is a terminal (long captures). */
function progress(file: string): ((done: number, total: number) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  let last = -1;
  return (done, total) => {
    const pct = Math.floor((done * 100) / Math.max(total, 1));
    if (pct === last) return;
    last = pct;
    process.stderr.write(`\rreplay ${file}: ${pct}% (${done}/${total})${done === total ? '\r\x1b[K' : ''}`);
  };
}

/** replayMain runs the command and returns the exit status (1 on mismatches, 2 on unreadable files). */
export async function replayMain(a: ReplayArgs, write: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const results: ReplayResult[] = [];
  let status = 0;
  for (const file of a.files) {
    try {
      const r = await replay(file, { update: a.update, cpus: a.cpus, target: a.kernel ? 'kernel' : 'emulator', onProgress: a.json ? undefined : progress(file) });
      results.push(r);
      if (!r.ok) status = Math.max(status, 1);
      if (!a.json) write(`${formatReplayResult(r, { verbose: a.verbose })}\n`);
    } catch (e) {
      status = EXIT_ERROR;
      process.stderr.write(`ovs-dpemu: replay: ${file}: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  }
  if (a.json) write(`${jsonReport(results, a.verbose)}\n`);
  return status;
}
