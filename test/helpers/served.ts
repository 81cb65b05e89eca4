/**
 * served: runs `ovs-dpemu serve` in a fresh network namespace and real client commands against
 * it through `ovs-dpemu exec` (the LD_PRELOAD shim), for end-to-end tests. Needs root.
 */
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const REPO = path.resolve(__dirname, '..', '..');
const CLI = path.join(REPO, 'dist', 'lib', 'cli.js');

export const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

/** CmdResult is what a command printed (stdout+stderr, in order) and its exit status. */
export interface CmdResult {
  out: string;
  rc: number;
}

/** normalise replaces OVS log timestamps, which differ from run to run. */
export function normalise(s: string): string {
  return s.replace(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\|/gm, 'TIMESTAMP|');
}

/** ServedEmulator is one `ovs-dpemu serve --netns` child and its namespace. */
export class ServedEmulator {
  readonly netns: string;
  readonly socket: string;
  private child?: ChildProcess;
  /** The emulator's stderr goes to a file, so a chatty DEBUG log can never block it on a full pipe. */
  readonly logFile: string;

  constructor(tag: string) {
    this.netns = `dpemu-${tag}-${process.pid}`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpemu-'));
    this.socket = path.join(dir, 'emu.sock');
    this.logFile = path.join(dir, 'serve.log');
  }

  /** log is what the emulator printed so far. */
  get log(): string {
    return fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, 'utf8') : '';
  }

  async start(extra: string[] = []): Promise<void> {
    const out = fs.openSync(this.logFile, 'a');
    this.child = spawn(process.execPath, [CLI, 'serve', '--socket', this.socket, '--netns', this.netns, ...extra], {
      stdio: ['ignore', out, out],
    });
    fs.closeSync(out);
    for (let i = 0; i < 200 && !this.log.includes('serving on'); i++) await new Promise((r) => setTimeout(r, 50));
    if (!this.log.includes('serving on')) throw new Error(`serve did not start: ${this.log}`);
  }

  /**
   * inNetns runs argv in the namespace with stderr on the same pipe as stdout, so the lines
   * keep the order a terminal (and the oracle's transcripts) show.
   */
  private inNetns(argv: string[], env: NodeJS.ProcessEnv = {}): CmdResult {
    const r = spawnSync('ip', ['netns', 'exec', this.netns, 'sh', '-c', 'exec "$@" 2>&1', 'sh', ...argv], {
      encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120000, maxBuffer: 1 << 30,
    });
    return { out: normalise((r.stdout ?? '') + (r.stderr ?? '')), rc: r.status ?? -1 };
  }

  /** sh runs a plain command inside the namespace (ip link …). */
  sh(cmd: string[]): CmdResult {
    return this.inNetns(cmd);
  }

  /** run runs a client command in the namespace with the shim, as `ovs-dpemu exec -- CMD`. */
  run(cmd: string[], env: NodeJS.ProcessEnv = {}): CmdResult {
    return this.inNetns([process.execPath, CLI, 'exec', '--socket', this.socket, '--', ...cmd], env);
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (c && c.exitCode === null) {
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await exited;
    }
    spawnSync('ip', ['netns', 'del', this.netns]);
  }
}

/** kernelTranscript reads an oracle out.txt into command → {out, rc} (later runs of a command win). */
export function kernelTranscript(file: string): Map<string, CmdResult[]> {
  const m = new Map<string, CmdResult[]>();
  let cmd: string | undefined;
  let out = '';
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const start = /^### (.*?) ?(\(expect failure\))?$/.exec(line);
    const end = /^### rc=(\d+)$/.exec(line);
    if (end && cmd !== undefined) {
      const list = m.get(cmd) ?? [];
      list.push({ out: normalise(out), rc: Number(end[1]) });
      m.set(cmd, list);
      cmd = undefined;
    } else if (start && !end) {
      cmd = start[1].trim();
      out = '';
    } else if (cmd !== undefined) {
      out += `${line}\n`;
    }
  }
  return m;
}
