/**
 * Test harness for the shim: a fake NetlinkEndpoint with scripted behaviours, a ShimServer on
 * a temp path, and the C fixture clients compiled once per jest worker.
 *
 * Request types understood by the fake (nlmsg_type of each nlmsg in a datagram; the numbers are
 * mirrored in test/fixtures/shim/nltest.h):
 *   T_ECHO    any other type: reply = the nlmsg with nlmsg_pid set to the socket's portid
 *   T_DUMP    u32 count at offset 20 → `count` NLM_F_MULTI messages in ≤4 KiB chunks + NLMSG_DONE
 *   T_NOTIFY  u32 delay ms → one unsolicited datagram after the delay
 *   T_FLOOD   deliver notifications until the sink refuses, then try signalOverrun (fails)
 *   T_KICK    retry signalOverrun
 *   T_SILENT  no reply (a successful `do` without NLM_F_ACK)
 */
import { execFile, execFileSync, spawn } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { ShimServer } from '../../lib/transport/shim-server';
import { DatagramSink, NetlinkEndpoint, NlSocket, PeerCred, SendResult, SocketError } from '../../lib/transport/transport';

export const T_DUMP = 0x30;
export const T_NOTIFY = 0x31;
export const T_FLOOD = 0x32;
export const T_KICK = 0x33;
export const T_SILENT = 0x34;
const NLMSG_DONE = 3;
const NLM_F_MULTI = 2;
const CHUNK_BYTES = 4096;
const E = os.constants.errno;

/** Options the fake keeps per socket (SOL_NETLINK numbers it accepts). */
const KNOWN_OPTIONS = new Set([1, 2, 3, 4, 5, 8, 10, 11, 12]);

/** One socket of the fake endpoint; public fields are for assertions. */
export class FakeSocket implements NlSocket {
  portid = 0;
  closed = false;
  readonly options = new Map<number, number>();
  readonly requests: Buffer[] = [];
  floodCount = 0;
  private overrunPending = false;
  private dump: { seq: number; next: number; count: number } | undefined;

  constructor(
    readonly id: number,
    readonly cred: PeerCred,
    readonly protocol: number,
    private readonly sink: DatagramSink,
    private readonly ep: FakeEndpoint,
  ) {}

  bind(portid: number, _groups: number): number {
    if (this.portid !== 0) {
      if (portid !== 0 && portid !== this.portid) throw new SocketError(E.EINVAL, 'rebind');
      return this.portid;
    }
    if (portid === 0) return this.autobind();
    if (this.ep.portOwner(portid) !== undefined) throw new SocketError(E.EADDRINUSE, 'in use');
    this.portid = portid;
    return portid;
  }

  connect(): number {
    return this.portid !== 0 ? this.portid : this.autobind();
  }

  setNetlinkOption(name: number, value: Buffer): void {
    if (!KNOWN_OPTIONS.has(name)) throw new SocketError(E.ENOPROTOOPT, 'option');
    this.options.set(name, value.length >= 4 ? value.readUInt32LE(0) : 0);
  }

  getNetlinkOption(name: number): number {
    if (!KNOWN_OPTIONS.has(name)) throw new SocketError(E.ENOPROTOOPT, 'option');
    return this.options.get(name) ?? 0;
  }

  send(datagram: Buffer, _dest: number): SendResult {
    this.requests.push(Buffer.from(datagram));
    if (this.portid === 0) this.autobind(); // kernel: netlink_sendmsg() autobinds
    for (let off = 0; off + 16 <= datagram.length; ) {
      const len = datagram.readUInt32LE(off);
      if (len < 16 || off + len > datagram.length) break;
      this.handle(datagram.subarray(off, off + len));
      off += (len + 3) & ~3;
    }
    return { dumpPending: this.dump !== undefined };
  }

  refill(): SendResult {
    if (this.dump !== undefined) this.emitChunk();
    return { dumpPending: this.dump !== undefined };
  }

  close(): void {
    this.closed = true;
    this.ep.forget(this);
  }

  private autobind(): number {
    this.portid = this.ep.allocPortid();
    return this.portid;
  }

  private handle(msg: Buffer): void {
    const type = msg.readUInt16LE(4);
    const seq = msg.readUInt32LE(8);
    const arg = msg.length >= 24 ? msg.readUInt32LE(20) : 0;
    switch (type) {
      case T_DUMP:
        this.dump = { seq, next: 0, count: arg };
        this.emitChunk();
        return;
      case T_NOTIFY:
        setTimeout(() => this.sink.deliver(nlmsg(T_NOTIFY, 0, 0, 0, u32(0xfeed))), arg);
        return;
      case T_FLOOD:
        while (this.sink.deliver(nlmsg(T_NOTIFY, 0, 0, 0, u32(this.floodCount)))) this.floodCount++;
        this.overrunPending = !this.sink.signalOverrun();
        return;
      case T_KICK:
        if (this.overrunPending) this.overrunPending = !this.sink.signalOverrun();
        return;
      case T_SILENT:
        return;
      default: {
        const reply = Buffer.from(msg);
        reply.writeUInt32LE(this.portid, 12);
        this.sink.deliver(reply);
      }
    }
  }

  private emitChunk(): void {
    const d = this.dump;
    if (d === undefined) return;
    const parts: Buffer[] = [];
    let bytes = 0;
    while (d.next < d.count && bytes + 80 <= CHUNK_BYTES) {
      const m = nlmsg(T_DUMP, NLM_F_MULTI, d.seq, this.portid, Buffer.concat([u32(d.next), Buffer.alloc(60, 0xab)]));
      parts.push(m);
      bytes += m.length;
      d.next++;
    }
    if (d.next === d.count && bytes + 20 <= CHUNK_BYTES) {
      parts.push(nlmsg(NLMSG_DONE, NLM_F_MULTI, d.seq, this.portid, u32(0)));
      this.dump = undefined;
    }
    this.sink.deliver(Buffer.concat(parts));
  }
}

/** The fake endpoint: records every socket it opened. */
export class FakeEndpoint implements NetlinkEndpoint {
  readonly sockets: FakeSocket[] = [];
  private nextPortid = 0x10000;

  openSocket(cred: PeerCred, protocol: number, sink: DatagramSink): NlSocket {
    if (protocol !== 16) throw new SocketError(E.EPROTONOSUPPORT, 'protocol');
    const s = new FakeSocket(this.sockets.length + 1, cred, protocol, sink, this);
    this.sockets.push(s);
    return s;
  }

  allocPortid(): number {
    while (this.portOwner(this.nextPortid) !== undefined) this.nextPortid++;
    return this.nextPortid++;
  }

  portOwner(portid: number): FakeSocket | undefined {
    return this.sockets.find((s) => !s.closed && s.portid === portid);
  }

  forget(_s: FakeSocket): void {
    /* closed sockets stay in `sockets` for assertions; portOwner skips them */
  }

  get openCount(): number {
    return this.sockets.filter((s) => !s.closed).length;
  }
}

/** Builds one netlink message (16-byte header + payload, padded to 4). */
export function nlmsg(type: number, flags: number, seq: number, pid: number, payload: Buffer): Buffer {
  const len = 16 + payload.length;
  const b = Buffer.alloc((len + 3) & ~3);
  b.writeUInt32LE(len, 0);
  b.writeUInt16LE(type, 4);
  b.writeUInt16LE(flags, 6);
  b.writeUInt32LE(seq, 8);
  b.writeUInt32LE(pid, 12);
  payload.copy(b, 16);
  return b;
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0, 0);
  return b;
}

export const REPO = path.resolve(__dirname, '..', '..');
export const SHIM = path.join(REPO, 'shim', 'libovsdpemu-preload.so');
const FIXTURES = path.join(REPO, 'test', 'fixtures', 'shim');

/** Compiles a fixture (cached by content hash under the OS temp dir); returns the binary path. */
export function buildFixture(name: string): string {
  const src = path.join(FIXTURES, `${name}.c`);
  const hash = createHash('sha256')
    .update(fs.readFileSync(src))
    .update(fs.readFileSync(path.join(FIXTURES, 'nltest.h')))
    .digest('hex')
    .slice(0, 16);
  const dir = path.join(os.tmpdir(), 'ovs-dpemu-fixtures');
  const bin = path.join(dir, `${name}-${hash}`);
  if (!fs.existsSync(bin)) {
    fs.mkdirSync(dir, { recursive: true });
    const tmp = `${bin}.${process.pid}`;
    execFileSync('cc', ['-O1', '-Wall', '-Wextra', '-Werror', '-o', tmp, src, `-I${FIXTURES}`], { stdio: 'inherit' });
    fs.renameSync(tmp, bin);
  }
  return bin;
}

/** Result of a client run; `kv` holds the `key=value` lines it printed (last one wins). */
export interface ClientResult {
  code: number | null;
  stdout: string;
  stderr: string;
  kv: Record<string, string>;
}

/** Parses `key=value` lines. */
export function parseKv(out: string): Record<string, string> {
  const kv: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) kv[line.slice(0, i)] = line.slice(i + 1);
  }
  return kv;
}

/** Runs a program under the shim, asynchronously (the server lives on this event loop). */
export function runClient(bin: string, args: string[], env: NodeJS.ProcessEnv): Promise<ClientResult> {
  return new Promise((resolve) => {
    execFile(bin, args, { env: { PATH: process.env.PATH, LD_PRELOAD: SHIM, ...env }, timeout: 20000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      resolve({ code, stdout, stderr, kv: parseKv(stdout) });
    });
  });
}

/** Spawns a long-running client whose stdin the test controls. */
export function spawnClient(bin: string, args: string[], env: NodeJS.ProcessEnv) {
  return spawn(bin, args, { env: { PATH: process.env.PATH, LD_PRELOAD: SHIM, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** A running ShimServer on a fresh temp path with a fresh fake endpoint. */
export interface Harness {
  server: ShimServer;
  endpoint: FakeEndpoint;
  path: string;
  env: NodeJS.ProcessEnv;
  stop(): void;
}

/** Starts a server; `queueBytes` shrinks the per-socket queue for overrun tests. */
export function startHarness(queueBytes?: number): Harness {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpemu-shim-'));
  const p = path.join(dir, 'run', 'emu.sock');
  const endpoint = new FakeEndpoint();
  const server = new ShimServer(endpoint, { path: p, queueBytes });
  server.listen();
  return {
    server,
    endpoint,
    path: p,
    env: { OVS_DPEMU_SOCKET: p },
    stop() {
      server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until `cond` holds (polling the event loop), or throws after `ms`. */
export async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('waitFor: timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}
