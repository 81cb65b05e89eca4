/**
 * Kernel-differential run over the real-kernel captures: every request replayed against a fresh
 * emulator, errno (and extack where the kernel sent one) compared. Usage:
 *   node dist/scripts/fuzz-differential.js [FILE.pcap…]   (default: every test/captures/kernel-6.12-*.pcap)
 * Exits 1 when a request disagrees.
 */
import * as fs from 'fs';
import * as path from 'path';
import { formatDifferential, runDifferential } from '../lib/fuzz/differential';

const captures = path.join(__dirname, '..', '..', 'test', 'captures');
// Default: every real-kernel capture that holds requests (the selftests-upcalls one holds only upcalls).
const files = process.argv.slice(2).length ? process.argv.slice(2) : fs.readdirSync(captures)
  .filter((f) => /^kernel-6\.12-.*\.pcap$/.test(f) && !f.includes('upcalls')).sort().map((f) => path.join(captures, f));
let bad = 0;
let total = 0;
let agreed = 0;
for (const f of files) {
  const r = runDifferential(f);
  process.stdout.write(formatDifferential(r));
  bad += r.disagreements.length;
  total += r.compared;
  agreed += r.agreed;
}
process.stdout.write(`all: ${agreed}/${total} agree (${((100 * agreed) / Math.max(1, total)).toFixed(1)} %), ${bad} disagreements\n`);
process.exitCode = bad ? 1 : 0;
