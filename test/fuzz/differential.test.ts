/**
 * Kernel-differential: every request of the real-kernel captures replayed against a fresh
 * emulator answers with the kernel's errno (and extack where the kernel sent one), and logs
 * the kernel's OVS_NLERR / netlink parser lines where the transcript recorded them.
 */
import * as fs from 'fs';
import * as path from 'path';
import { datapathLog, formatAnswer, runDifferential } from '../../lib/fuzz/differential';

const CAPTURES = path.join(__dirname, '..', 'captures');

describe('kernel-differential errno agreement', () => {
  it.each([
    ['kernel-6.12-flows-errors-raw.pcap', 220],
    ['kernel-6.12-flows-errors.pcap', 1500],
    ['kernel-6.12-meter-ctlimit.pcap', 1100],
    ['kernel-6.12-ct-limit-size.pcap', 20],
    ['kernel-6.12-basic.pcap', 1000],
    ['kernel-6.12-flows.pcap', 1500],
    ['kernel-6.12-flows-many.pcap', 6000],
    ['kernel-6.12-pyroute2-basic.pcap', 150],
    ['kernel-6.12-pyroute2-flows.pcap', 200],
    ['kernel-6.12-vswitchd.pcap', 500],
  ])('%s: every request agrees', (file, atLeast) => {
    const r = runDifferential(path.join(CAPTURES, file));
    expect(r.compared).toBeGreaterThanOrEqual(atLeast);
    expect(r.disagreements.map((c) => `${c.name}: kernel ${formatAnswer(c.kernel)} · emulator ${formatAnswer(c.emulator)}`)).toEqual([]);
    // Where the transcript recorded the kernel log per case, the emulator logged the same lines.
    expect(r.logDisagreements).toEqual([]);
  });

  it.each([
    ['kernel-6.12-flows-errors-raw.pcap', 60],
    ['kernel-6.12-meter-ctlimit.pcap', 4],
  ])('%s: the transcript records kernel log lines, and they were compared', (file, atLeast) => {
    // The comparison above is not vacuous: these transcripts hold that many datapath/netlink lines.
    const text = fs.readFileSync(path.join(CAPTURES, file.replace(/\.pcap$/, '.out.txt')), 'utf8');
    const lines = datapathLog(text.split('\n').filter((l) => l.startsWith('  dmesg: ')).map((l) => l.slice(9)));
    expect(lines.length).toBeGreaterThanOrEqual(atLeast);
  });
});
