/**
 * `ovs-dpemu record -- CMD`: runs CMD with the LD_PRELOAD shim in passthrough mode
 * (OVS_DPEMU_RECORD=PATH): its generic netlink sockets are the real kernel's, and the shim copies
 * every datagram sent and received to a SOCK_SEQPACKET listener at PATH, which writes them to a
 * capture file as they arrive. Wire format: shim/PROTOCOL.md "Recording".
 */
import { spawn } from 'child_process';
import createDebug from 'debug';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { FdWatcher, NativeBinding, POLL_DISCONNECT, POLL_READABLE, check, errnoName, native } from '../native';
import { preloadLibrary } from '../paths';
import { ConnKind, decodeHello } from '../transport/shim-wire';
import type { NlDirection, RecordMeta } from './netlink-capture';
import type { CaptureFormat } from './pcap-writer';
import { CaptureRecorder, type CapturedDatagram } from './recorder';

const debug = createDebug('ovs-dpemu:replay:passthrough-recorder');
const E = os.constants.errno;

/** The shim's switch to passthrough recording: the recorder's socket path. */
export const RECORD_ENV = 'OVS_DPEMU_RECORD';
/** struct dpem_rec (shim/shim.h). */
export const REC_HDRLEN = 40;
const REC_TO_KERNEL = 1;
const REC_FROM_KERNEL = 2;
/** The shim sends at most its SO_SNDBUF (4 MiB) per datagram. */
const MAX_RECORD = (8 << 20) + REC_HDRLEN;

/** One datagram as the shim reported it. */
export interface PassthroughRecord {
  direction: NlDirection;
  truncated: boolean;
  protocol: number;
  pid: number;
  portid: number;
  /** Send: destination nl_pid; receive: sender nl_pid (0 = the kernel). */
  peerPid: number;
  peerGroups: number;
  timeNs: bigint;
  origLen: number;
  fd: number;
  datagram: Buffer;
}

/** decodeRecordMessage parses one record datagram of the shim (undefined: malformed). */
export function decodeRecordMessage(b: Buffer): PassthroughRecord | undefined {
  if (b.length < REC_HDRLEN) return undefined;
  const dir = b.readUInt16LE(0);
  if (dir !== REC_TO_KERNEL && dir !== REC_FROM_KERNEL) return undefined;
  return {
    direction: dir === REC_TO_KERNEL ? 'to-kernel' : 'from-kernel',
    truncated: (b.readUInt16LE(2) & 1) !== 0,
    protocol: b.readUInt32LE(4),
    pid: b.readUInt32LE(8),
    portid: b.readUInt32LE(12),
    peerPid: b.readUInt32LE(16),
    peerGroups: b.readUInt32LE(20),
    timeNs: b.readBigUInt64LE(24),
    origLen: b.readUInt32LE(32),
    fd: b.readUInt32LE(36),
    datagram: b.subarray(REC_HDRLEN),
  };
}

/** toCaptured maps a shim record to what the capture file keeps. */
export function toCaptured(r: PassthroughRecord): CapturedDatagram {
  const meta: RecordMeta = { portid: r.portid, pid: r.pid, fd: r.fd };
  if (r.peerGroups) meta.groups = r.peerGroups;
  if (r.direction === 'to-kernel' && r.peerPid) meta.dst = r.peerPid;
  if (r.direction === 'from-kernel' && r.peerPid) meta.src = r.peerPid;
  return { direction: r.direction, datagram: r.datagram, timeNs: r.timeNs, protocol: r.protocol, origLen: r.origLen, meta };
}

interface RecConn {
  fd: number;
  watcher: FdWatcher;
  hello: boolean;
}

/** PassthroughListener accepts the shim's recorder connections and hands over their records. */
export class PassthroughListener {
  private readonly nat: NativeBinding = native();
  private listenFd = -1;
  private listenWatcher: FdWatcher | undefined;
  private readonly conns = new Set<RecConn>();

  constructor(readonly socketPath: string, private readonly onRecord: (r: PassthroughRecord) => void) {}

  listen(): void {
    this.listenFd = check(this.nat.seqpacketListen(this.socketPath), `listen ${this.socketPath}`);
    this.listenWatcher = new this.nat.FdWatcher(this.listenFd, () => this.acceptAll());
    check(this.listenWatcher.start(POLL_READABLE), 'poll listener');
  }

  /** Reads everything already queued on every connection (call before close). */
  drain(): void {
    this.acceptAll();
    for (const c of [...this.conns]) this.readAll(c);
  }

  close(): void {
    for (const c of [...this.conns]) this.closeConn(c);
    this.listenWatcher?.close();
    this.listenWatcher = undefined;
    if (this.listenFd >= 0) this.nat.close(this.listenFd);
    this.listenFd = -1;
    fs.rmSync(this.socketPath, { force: true });
  }

  private acceptAll(): void {
    if (this.listenFd < 0) return;
    for (;;) {
      const fd = this.nat.accept(this.listenFd);
      if (fd < 0) {
        if (fd !== -E.EAGAIN) debug('accept: %s', errnoName(-fd));
        return;
      }
      const conn: RecConn = { fd, hello: false, watcher: new this.nat.FdWatcher(fd, () => this.readAll(conn)) };
      this.conns.add(conn);
      conn.watcher.start(POLL_READABLE | POLL_DISCONNECT);
    }
  }

  private readAll(c: RecConn): void {
    while (this.conns.has(c)) {
      const b = this.nat.recv(c.fd, MAX_RECORD);
      if (b === -E.EAGAIN) return;
      if (typeof b === 'number' || b.length === 0) {
        if (typeof b === 'number') debug('fd %d: recv: %s', c.fd, errnoName(-b));
        return this.closeConn(c);
      }
      if (!c.hello) {
        const h = decodeHello(b);
        if (h === undefined || h.kind !== ConnKind.Record) {
          debug('fd %d: not a recorder hello', c.fd);
          return this.closeConn(c);
        }
        c.hello = true;
        continue;
      }
      const r = decodeRecordMessage(b);
      if (r === undefined) debug('fd %d: malformed record (%d bytes)', c.fd, b.length);
      else this.onRecord(r);
    }
  }

  private closeConn(c: RecConn): void {
    if (!this.conns.delete(c)) return;
    c.watcher.close();
    this.nat.close(c.fd);
  }
}

/** Options of {@link recordCommand}. */
export interface RecordCommandOptions {
  out: string;
  command: string[];
  format?: CaptureFormat;
  env?: NodeJS.ProcessEnv;
  /** Forward SIGINT/SIGTERM of this process to the command (the CLI does). */
  forwardSignals?: boolean;
}

/** Outcome of {@link recordCommand}. */
export interface RecordCommandResult {
  /** The command's exit status (128 + signal number when killed; 127 when it could not run). */
  code: number;
  /** Datagrams written. */
  records: number;
}

/** recordCommand runs the command under the recording shim and writes `out`. */
export function recordCommand(opts: RecordCommandOptions): Promise<RecordCommandResult> {
  if (!opts.command.length) return Promise.reject(new Error('record: no command given (use: ovs-dpemu record -- CMD ARGS…)'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ovs-dpemu-rec-'));
  const sock = path.join(dir, 'recorder.sock');
  let recorder: CaptureRecorder;
  let listener: PassthroughListener;
  try {
    recorder = new CaptureRecorder(opts.out, { format: opts.format });
    listener = new PassthroughListener(sock, (r) => recorder.record(toCaptured(r)));
    listener.listen();
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    return Promise.reject(e);
  }
  const base = opts.env ?? process.env;
  const lib = preloadLibrary();
  const env = { ...base, LD_PRELOAD: base.LD_PRELOAD ? `${lib}:${base.LD_PRELOAD}` : lib, [RECORD_ENV]: sock };
  return new Promise((resolve) => {
    const child = spawn(opts.command[0], opts.command.slice(1), { stdio: 'inherit', env });
    const forward = (sig: NodeJS.Signals): void => {
      child.kill(sig);
    };
    if (opts.forwardSignals) for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, forward);
    let done = false;
    const finish = (code: number): void => {
      if (done) return;
      done = true;
      if (opts.forwardSignals) for (const sig of ['SIGINT', 'SIGTERM'] as const) process.off(sig, forward);
      // Everything the command's processes sent is queued on the connections by now.
      listener.drain();
      listener.close();
      recorder.close();
      fs.rmSync(dir, { recursive: true, force: true });
      resolve({ code, records: recorder.count });
    };
    child.on('error', (e) => {
      process.stderr.write(`ovs-dpemu: ${opts.command[0]}: ${e.message}\n`);
      finish(127);
    });
    child.on('exit', (code, signal) => finish(code ?? 128 + (signal ? os.constants.signals[signal] : 0)));
  });
}
