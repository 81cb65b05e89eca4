/**
 * `ovs-dpemu replay` through the real command line (dist/, built by `npm test`'s tsc): exit
 * statuses and the summary line. Skipped when dist/ predates the command.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const REPO = path.resolve(__dirname, '..', '..');
const CLI = path.join(REPO, 'dist', 'lib', 'cli.js');
const built = fs.existsSync(CLI) && fs.readFileSync(CLI, 'utf8').includes('replay <files..>');
const cli = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60000 });

(built ? describe : describe.skip)('ovs-dpemu replay (dist)', () => {
  it('a green capture: exit 0, one PASS line', () => {
    const r = cli(['replay', path.join(REPO, 'test', 'captures', 'kernel-6.12-pyroute2-flows.pcap')]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^PASS kernel-6\.12-pyroute2-flows\.pcap: 213\/214 exchanges matched, 0 failed, 1 skipped/);
  });

  it('no file: usage error, exit 2', () => {
    expect(cli(['replay']).status).toBe(2);
  });

  it('a file that is not a capture: exit 2', () => {
    const r = cli(['replay', path.join(REPO, 'package.json')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^ovs-dpemu: replay: .*package\.json: /);
  });
});
