/** tshark helpers for the capture tests: is it installed, and what does it say about a file. */
import { spawnSync } from 'child_process';

/** Whether Debian's tshark is installed (the tests that need it skip, saying so, when not). */
export const hasTshark = spawnSync('tshark', ['--version'], { encoding: 'utf8' }).status === 0;

/** tshark's one line when run as root; anything else on stderr is a warning. */
const ROOT_NOTICE = /^Running as user "root" and group "root"\. This could be dangerous\.$/;

/** runTshark reads a file (`tshark -r FILE`): exit status, packet count, stderr lines but the root notice. */
export function runTshark(file: string): { status: number | null; packets: number; stderr: string[] } {
  const r = spawnSync('tshark', ['-r', file], { encoding: 'utf8' });
  const stderr = r.stderr.split('\n').filter((l) => l !== '' && !ROOT_NOTICE.test(l));
  return { status: r.status, packets: r.stdout.split('\n').filter((l) => l.trim() !== '').length, stderr };
}

/** Suffix of a describe title when tshark is missing. */
export const TSHARK_SKIP = hasTshark ? '' : ' (SKIPPED: tshark not installed; apt-get install tshark)';
