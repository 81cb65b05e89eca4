/**
 * vswitchd: starts Debian's unmodified ovsdb-server and ovs-vswitchd in a temporary directory,
 * ovs-vswitchd with the LD_PRELOAD shim against a served emulator (in its namespace), and runs
 * ovs-vsctl / ovs-appctl / ovs-ofctl against them.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { kernelTranscript, normalise, type CmdResult, type ServedEmulator } from './served';

export class Vswitchd {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpemu-ovs-'));
  private readonly env: NodeJS.ProcessEnv;

  constructor(private readonly emu: ServedEmulator) {
    this.env = { OVS_RUNDIR: this.dir, OVS_LOGDIR: this.dir, OVS_DBDIR: this.dir, OVS_SYSCONFDIR: this.dir, OVS_PKGDATADIR: '/usr/share/openvswitch' };
  }

  private plain(argv: string[]): CmdResult {
    const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', env: { ...process.env, ...this.env }, timeout: 60000 });
    return { out: normalise((r.stdout ?? '') + (r.stderr ?? '')), rc: r.status ?? -1 };
  }

  get db(): string {
    return `unix:${path.join(this.dir, 'db.sock')}`;
  }

  /** start creates the database, starts ovsdb-server, then ovs-vswitchd through the shim. */
  start(extraVswitchdArgs: string[] = []): void {
    const db = path.join(this.dir, 'conf.db');
    this.check(this.plain(['ovsdb-tool', 'create', db, '/usr/share/openvswitch/vswitch.ovsschema']));
    this.check(this.plain(['ovsdb-server', db, `--remote=punix:${path.join(this.dir, 'db.sock')}`, '--detach', '--no-chdir',
      `--pidfile=${path.join(this.dir, 'ovsdb-server.pid')}`, `--log-file=${path.join(this.dir, 'ovsdb-server.log')}`]));
    this.check(this.vsctl('--no-wait', 'init'));
    this.check(this.emu.run(['ovs-vswitchd', this.db, '--detach', '--no-chdir', `--pidfile=${path.join(this.dir, 'ovs-vswitchd.pid')}`,
      `--log-file=${path.join(this.dir, 'ovs-vswitchd.log')}`, '-vconsole:off', ...extraVswitchdArgs], this.env));
  }

  private check(r: CmdResult): void {
    if (r.rc !== 0) throw new Error(`command failed (${r.rc}): ${r.out}\n${this.log()}`);
  }

  vsctl(...args: string[]): CmdResult {
    return this.emu.sh(['env', ...Object.entries(this.env).map(([k, v]) => `${k}=${v}`), 'ovs-vsctl', `--db=${this.db}`, '--timeout=30', ...args]);
  }

  appctl(...args: string[]): CmdResult {
    return this.plain(['ovs-appctl', '--timeout=30', ...args]);
  }

  ofctl(...args: string[]): CmdResult {
    return this.emu.sh(['env', ...Object.entries(this.env).map(([k, v]) => `${k}=${v}`), 'ovs-ofctl', ...args]);
  }

  log(): string {
    const f = path.join(this.dir, 'ovs-vswitchd.log');
    return fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '';
  }

  stop(): void {
    for (const d of ['ovs-vswitchd', 'ovsdb-server']) {
      const pidf = path.join(this.dir, `${d}.pid`);
      if (!fs.existsSync(pidf)) continue;
      const pid = Number(fs.readFileSync(pidf, 'utf8').trim());
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  }
}

/** kernelOutputs reads an oracle transcript: `kernel(cmd, nth)` is what the nth run of cmd printed. */
export function kernelOutputs(file: string): (cmd: string, nth?: number) => string {
  const transcript = kernelTranscript(file);
  return (cmd, nth = 0) => {
    const r = transcript.get(cmd)?.[nth];
    if (!r) throw new Error(`no kernel transcript for ${cmd}`);
    return r.out;
  };
}

/** sh runs a shell command line on the host (stdout then stderr). */
export function sh(cmd: string): CmdResult {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
  return { out: (r.stdout ?? '') + (r.stderr ?? ''), rc: r.status ?? -1 };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** dumpNoise removes what differs between any two runs of a flow dump: MACs, used times, line order. */
export const dumpNoise = (s: string): string => s
  .replace(/([0-9a-f]{2}:){5}[0-9a-f]{2}/g, 'MAC')
  .replace(/used:[0-9.]+s/g, 'used:Ts')
  .split('\n').filter((l) => l).sort().join('\n');
