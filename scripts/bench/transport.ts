/**
 * Transport benchmark: netlink round trips through the LD_PRELOAD shim and ShimServer, against
 * raw SEQPACKET echoes, measured in one run and printed side by side.
 *
 *   npm run build && node dist/scripts/bench/transport.js [rounds]
 *
 * Rows:
 *   raw C↔C      SEQPACKET socketpair, forked C echo peer (the kernel's floor)
 *   raw C↔Node   C client to an echo server on this Node event loop (FdWatcher + native send/recv)
 *   shim         C client's socket(AF_NETLINK, …, NETLINK_GENERIC) under LD_PRELOAD → ShimServer →
 *                endpoint; each round = send (control round trip) + recv(MSG_DONTWAIT)
 *
 * Hook: {@link runTransportBench} takes the endpoint and the request, so the real emulator can
 * answer OVS_DP_CMD_GET instead of the tiny echo endpoint used by default.
 */
import { Emulator } from '../../lib/emulator';
import { NLM_F } from '../../lib/nl/constants';
import { NlWriter } from '../../lib/nl/writer';
import { execFile, execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { POLL_READABLE, check, native, packageRoot } from '../../lib/native';
import { preloadLibrary } from '../../lib/paths';
import { ShimServer } from '../../lib/transport/shim-server';
import { DatagramSink, NetlinkEndpoint, NlSocket, PeerCred, SendResult } from '../../lib/transport/transport';

/** A 36-byte genl request (nlmsghdr + genlmsghdr + ovs_header + 12-byte name attribute). */
export const DEFAULT_REQUEST = Buffer.from('24000000' + '2000' + '0500' + '01000000' + '00000000' + '03010000' + '00000000' + '0c000100' + '64702d7465737400', 'hex');

/** Tiny endpoint: answers every datagram with itself (one reply datagram per request). */
export function echoEndpoint(): NetlinkEndpoint {
  let next = 1;
  return {
    openSocket(_cred: PeerCred, _protocol: number, sink: DatagramSink): NlSocket {
      let portid = 0;
      const autobind = (): number => (portid === 0 ? (portid = 0x10000 + next++) : portid);
      return {
        id: next,
        get portid() {
          return portid;
        },
        bind: (p: number) => (p !== 0 ? (portid = p) : autobind()),
        connect: autobind,
        setNetlinkOption: () => undefined,
        getNetlinkOption: () => 0,
        send(datagram: Buffer): SendResult {
          autobind();
          sink.deliver(datagram);
          return { dumpPending: false };
        },
        refill: () => ({ dumpPending: false }),
        close: () => undefined,
      };
    },
  };
}

/** Options of {@link runTransportBench}. */
export interface TransportBenchOptions {
  /** Who answers through the shim (default: {@link echoEndpoint}). */
  endpoint?: NetlinkEndpoint;
  /** Row label of the shim measurement. */
  label?: string;
  /** The request sent each round; its answer must be exactly one datagram (default: 36-byte echo). */
  request?: Buffer;
  rounds?: number;
}

/** One measured row. */
export interface BenchRow {
  name: string;
  rounds: number;
  perSecond: number;
  errors: number;
}

function compileClient(): string {
  const src = path.join(packageRoot(), 'scripts', 'bench', 'transport-client.c');
  const bin = path.join(os.tmpdir(), `ovs-dpemu-bench-client-${process.pid}`);
  execFileSync('cc', ['-O2', '-Wall', '-o', bin, src]);
  return bin;
}

function runC(bin: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ rounds: number; ns: number; errors: number }> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { env: { PATH: process.env.PATH, ...env } }, (err, out, stderr) => {
      const m = /rounds=(\d+) ns=(\d+) errors=(\d+)/.exec(out);
      if (err !== null || m === null) reject(new Error(`${args[0]}: ${String(err)} ${stderr}`));
      else resolve({ rounds: Number(m[1]), ns: Number(m[2]), errors: Number(m[3]) });
    });
  });
}

/** A SEQPACKET echo server on this event loop: what the shim server costs without any logic. */
function nodeEcho(p: string): () => void {
  const nat = native();
  const l = check(nat.seqpacketListen(p), 'listen');
  const conns: number[] = [];
  const lw = new nat.FdWatcher(l, () => {
    const fd = nat.accept(l);
    if (fd < 0) return;
    conns.push(fd);
    const w = new nat.FdWatcher(fd, () => {
      for (;;) {
        const b = nat.recv(fd, 65536);
        if (typeof b === 'number') return;
        if (b.length === 0) return void w.close();
        nat.send(fd, b);
      }
    });
    w.start(POLL_READABLE);
  });
  lw.start(POLL_READABLE);
  return () => {
    lw.close();
    nat.close(l);
    conns.forEach((fd) => nat.close(fd));
  };
}

/** Runs the three rows in one process and returns them (raw C↔C first). */
export async function runTransportBench(opts: TransportBenchOptions = {}): Promise<BenchRow[]> {
  const rounds = opts.rounds ?? 20000;
  const hex = (opts.request ?? DEFAULT_REQUEST).toString('hex');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpemu-bench-'));
  const bin = compileClient();
  const rows: BenchRow[] = [];
  const add = (name: string, r: { rounds: number; ns: number; errors: number }): void => {
    rows.push({ name, rounds: r.rounds, perSecond: (r.rounds * 1e9) / r.ns, errors: r.errors });
  };
  try {
    add('raw C↔C', await runC(bin, ['raw-c', String(rounds), hex]));
    const echoPath = path.join(dir, 'echo.sock');
    const stopEcho = nodeEcho(echoPath);
    try {
      add('raw C↔Node', await runC(bin, ['raw-path', String(rounds), hex, echoPath]));
    } finally {
      stopEcho();
    }
    const shimPath = path.join(dir, 'emu.sock');
    const server = new ShimServer(opts.endpoint ?? echoEndpoint(), { path: shimPath });
    server.listen();
    try {
      const so = preloadLibrary();
      add(opts.label ?? 'shim', await runC(bin, ['shim', String(rounds), hex], { LD_PRELOAD: so, OVS_DPEMU_SOCKET: shimPath }));
    } finally {
      server.close();
    }
  } finally {
    fs.rmSync(bin, { force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

/** Prints rows with their ratio to the first one and to the raw Node echo. */
export function formatBench(rows: BenchRow[]): string {
  const base = rows[0].perSecond;
  const node = rows.find((r) => r.name === 'raw C↔Node')?.perSecond ?? base;
  const lines = [`${'transport'.padEnd(12)} ${'rounds'.padStart(8)} ${'round trips/s'.padStart(14)} ${'vs raw C'.padStart(9)} ${'vs raw Node'.padStart(12)} errors`];
  for (const r of rows) {
    lines.push(
      `${r.name.padEnd(12)} ${String(r.rounds).padStart(8)} ${r.perSecond.toFixed(0).padStart(14)} ${(r.perSecond / base).toFixed(3).padStart(9)} ${(r.perSecond / node).toFixed(3).padStart(12)} ${r.errors}`,
    );
  }
  return lines.join('\n');
}

/**
 * dpGetSetup builds the real emulator with one datapath and the OVS_DP_CMD_GET request for it
 * (family id and attribute number from the schema), so the shim row measures the full path.
 */
export function dpGetSetup(): { endpoint: NetlinkEndpoint; request: Buffer } {
  const emu = new Emulator({ cpus: 2, host: { lookup: () => undefined, maxIfindex: () => 100 } });
  const dp = emu.registry.family('ovs_datapath');
  const name = dp.set('datapath').byName.get('name')!.type;
  const pid = dp.set('datapath').byName.get('upcall-pid')!.type;
  const req = (cmd: string, fill: (w: NlWriter) => void): Buffer => {
    const w = new NlWriter().beginMessage(dp.familyId, NLM_F.REQUEST, 1, 0).genlHeader(dp.op(cmd).cmd, dp.version).s32(0);
    fill(w);
    return w.endMessage().finish();
  };
  const setup = emu.openSocket({ pid: 1, uid: 0, gid: 0, netAdmin: true }, 16, { deliver: () => true, signalOverrun: () => true });
  setup.send(req('new', (w) => w.attrString(name, 'dp-test').attrU32(pid, 0)), 0);
  setup.close();
  return { endpoint: emu, request: req('get', (w) => w.attrString(name, 'dp-test')) };
}

if (require.main === module) {
  const rounds = Number(process.argv[2] ?? 20000);
  runTransportBench({ rounds, ...dpGetSetup(), label: 'shim DP GET' }).then(
    (rows) => console.log(formatBench(rows)),
    (e: unknown) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
