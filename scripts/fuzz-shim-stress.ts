/**
 * Stress through the LD_PRELOAD shim: several Python clients at once send fuzzed datagrams
 * (generated and mutated like `ovs-dpemu fuzz` does) to a served emulator, others start flow
 * dumps of a 3000-flow datapath and are SIGKILLed mid-dump, while a well-behaved
 * `ovs-dpctl show` / `dump-flows` loop must keep succeeding. Bounded in time.
 *
 *   node dist/scripts/fuzz-shim-stress.js [--time S=60] [--clients N=4] [--seed S=1]
 *
 * Needs ovs-dpctl and python3; runs the emulator with --devices virtual (no privileges needed
 * beyond creating a Unix socket). Exits 1 if a well-behaved command failed or the emulator died.
 */
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { RequestGen } from '../lib/fuzz/gen-requests';
import { mutate } from '../lib/fuzz/mutate';
import { Rng } from '../lib/fuzz/prng';
import { FuzzTarget } from '../lib/fuzz/target';
import { NLM_F } from '../lib/nl/constants';
import { splitDatagram } from '../lib/nl/message';
import { loadSchemas } from '../lib/schema/load';

const REPO = path.resolve(__dirname, '..', '..');
const CLI = path.join(REPO, 'dist', 'lib', 'cli.js');
const SHIM = path.join(REPO, 'shim', 'libovsdpemu-preload.so');

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}
const TIME_S = arg('time', 60);
const CLIENTS = arg('clients', 4);
const SEED = arg('seed', 1);
/** Flows in the well-behaved client's datapath: dumps of them take many chunks. */
const FLOWS = 3000;

const CLIENT_PY = `
import os, signal, socket, struct, sys
mode, path = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 16)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.bind((0, 0))
def drain(limit=64):
    n = 0
    for _ in range(limit):
        try:
            s.recv(1 << 16, socket.MSG_DONTWAIT)
            n += 1
        except (BlockingIOError, InterruptedError):
            break
        except OSError:
            break
    return n
if mode == 'fuzz':
    sent = 0
    for line in open(path):
        try:
            s.send(bytes.fromhex(line.strip()))
            sent += 1
        except OSError:
            pass
        drain()
    print('sent', sent)
else:
    dp_fam, flow_fam, name = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5].encode() + b'\\0'
    attr = struct.pack('=HH', 4 + len(name), 1) + name + b'\\0' * ((-len(name)) % 4)
    body = struct.pack('=BBHi', 3, 2, 0, 0) + attr
    s.send(struct.pack('=IHHII', 16 + len(body), dp_fam, 1, 1, 0) + body)
    s.settimeout(2)
    r = s.recv(1 << 16)
    ifindex = struct.unpack_from('=i', r, 20)[0] if len(r) >= 24 and struct.unpack_from('=H', r, 4)[0] == dp_fam else 0
    if mode == 'ifindex':
        print(ifindex)
        sys.exit(0)
    body = struct.pack('=BBHi', 3, 1, 0, ifindex)
    s.send(struct.pack('=IHHII', 16 + len(body), flow_fam, 1 | 0x300, 2, 0) + body)
    s.recv(1 << 16)
    os.kill(os.getpid(), signal.SIGKILL)
`;

/**
 * fuzzFile writes n fuzzed datagrams (hex lines) generated against a local emulator. Requests
 * naming the well-behaved client's datapath by ifindex (`avoid`) are pointed elsewhere, so the
 * fuzzers do not delete it under the dump loop (they may still break everything else).
 */
function fuzzFile(dir: string, seed: number, n: number, avoid: number): string {
  const t = new FuzzTarget();
  const rng = new Rng(seed);
  const gen = new RequestGen(t.emu.registry, new Rng(seed ^ 0x5a5a));
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const v = t.view();
    const msg = gen.next(v);
    // Dumps through the shim are exercised by the dump killers; keep these transactions mostly.
    if (msg.flags & NLM_F.DUMP && rng.chance(0.7)) msg.flags &= ~NLM_F.DUMP;
    const m = mutate(rng, msg, t.emu.registry.byId(msg.type), () => gen.next(v), 0.4);
    t.send(m.dgram);
    const d = Buffer.from(m.dgram);
    // Every message of the datagram (batches too) whose ovs_header names the protected datapath.
    for (const msg of splitDatagram(d)) {
      const at = msg.bytes.byteOffset - d.byteOffset + 20;
      if (t.emu.registry.byId(msg.type)?.hdrsize === 4 && msg.bytes.length >= 24 && d.readInt32LE(at) === avoid) d.writeInt32LE(avoid + 1000, at);
    }
    lines.push(d.toString('hex'));
  }
  const file = path.join(dir, `fuzz-${seed}.hex`);
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpemu-stress-'));
  const sock = path.join(dir, 'emu.sock');
  const env = { ...process.env, LD_PRELOAD: SHIM, OVS_DPEMU_SOCKET: sock };
  const logFile = path.join(dir, 'serve.log');
  const out = fs.openSync(logFile, 'a');
  const server = spawn(process.execPath, [CLI, 'serve', '--socket', sock, '--devices', 'virtual'], { stdio: ['ignore', out, out] });
  for (let i = 0; i < 200 && !fs.readFileSync(logFile, 'utf8').includes('serving on'); i++) await new Promise((r) => setTimeout(r, 50));
  const dpctl = (...a: string[]) => spawnSync('ovs-dpctl', a, { env, encoding: 'utf8', timeout: 30000 });
  const py = path.join(dir, 'client.py');
  fs.writeFileSync(py, CLIENT_PY);
  if (dpctl('add-dp', 'stressdp').status !== 0) throw new Error('add-dp failed');
  const flows = Array.from({ length: FLOWS }, (_, i) => `in_port(1),eth(),eth_type(0x800),ipv4(src=10.${(i >> 8) & 255}.${i & 255}.1,dst=10.0.0.2,proto=17,frag=no),udp(src=1,dst=2) 1`);
  fs.writeFileSync(path.join(dir, 'flows.txt'), `${flows.join('\n')}\n`);
  const add = dpctl('add-flows', 'stressdp', path.join(dir, 'flows.txt'));
  if (add.status !== 0) throw new Error(`add-flows failed: ${add.stderr}`);

  const reg = loadSchemas();
  const famArgs = [String(reg.family('ovs_datapath').familyId), String(reg.family('ovs_flow').familyId), 'stressdp'];
  const avoid = Number(spawnSync('python3', [py, 'ifindex', '-', ...famArgs], { env, encoding: 'utf8' }).stdout.trim());
  // Generated before the clock starts (generation is CPU work in this process).
  const files = Array.from({ length: CLIENTS * 3 }, (_, i) => fuzzFile(dir, SEED + i, 1500, avoid));
  const stats = { fuzzClients: 0, datagrams: 0, killedMidDump: 0, show: 0, dumps: 0, failures: [] as string[], dpRecreated: 0 };
  const deadline = Date.now() + TIME_S * 1000;
  const running = new Set<ChildProcess>();
  let next = 0;
  const startFuzzer = (): void => {
    const file = files[next++ % files.length];
    const c = spawn('python3', [py, 'fuzz', file], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(c);
    stats.fuzzClients++;
    c.stdout?.on('data', (d: Buffer) => { const m = /sent (\d+)/.exec(d.toString()); if (m) stats.datagrams += Number(m[1]); });
    c.on('exit', () => {
      running.delete(c);
      if (Date.now() < deadline) startFuzzer();
    });
  };
  const startKiller = (): void => {
    const c = spawn('python3', [py, 'dump', '-', ...famArgs], { env, stdio: 'ignore' });
    running.add(c);
    c.on('exit', (_code, sig) => {
      running.delete(c);
      if (sig === 'SIGKILL') stats.killedMidDump++;
    });
  };
  for (let i = 0; i < CLIENTS; i++) startFuzzer();
  const killer = setInterval(startKiller, 700);
  // The well-behaved client: ovs-dpctl show and dump-flows, one after the other, all along.
  while (Date.now() < deadline) {
    const show = await new Promise<{ rc: number; out: string }>((res) => {
      // Only our datapath: the fuzzers' own datapaths have garbage-named virtual ports, for
      // which ovs-dpctl's device ioctls fail (it then exits 1 by design).
      const c = spawn('ovs-dpctl', ['show', 'system@stressdp'], { env });
      let o = '';
      c.stdout.on('data', (d: Buffer) => (o += d.toString()));
      c.stderr.on('data', (d: Buffer) => (o += d.toString()));
      c.on('exit', (code) => res({ rc: code ?? 1, out: o }));
    });
    stats.show++;
    if (!show.out.includes('system@stressdp')) {
      // A fuzz client deleted it (by ifindex or name): legitimate; put it back.
      stats.dpRecreated++;
      dpctl('add-dp', 'stressdp');
      continue;
    }
    if (show.rc !== 0) stats.failures.push(`ovs-dpctl show → ${show.rc}: ${show.out.slice(0, 300)}`);
    const dump = await new Promise<{ rc: number; lines: number; err: string }>((res) => {
      const c = spawn('ovs-dpctl', ['dump-flows', 'system@stressdp'], { env });
      let lines = 0;
      let err = '';
      c.stdout.on('data', (d: Buffer) => (lines += d.toString().split('\n').length - 1));
      c.stderr.on('data', (d: Buffer) => (err += d.toString()));
      c.on('exit', (code) => res({ rc: code ?? 1, lines, err }));
    });
    stats.dumps++;
    if (dump.rc !== 0 && !/No such device/.test(dump.err)) stats.failures.push(`ovs-dpctl dump-flows → ${dump.rc}: ${dump.err.slice(0, 300)}`);
    else if (dump.rc === 0 && stats.dpRecreated === 0 && dump.lines < FLOWS) stats.failures.push(`ovs-dpctl dump-flows listed ${dump.lines} of ${FLOWS} flows`);
  }
  clearInterval(killer);
  for (const c of running) c.kill('SIGKILL');
  const alive = server.exitCode === null;
  const final = dpctl('show', 'system@stressdp');
  if (final.status !== 0) stats.failures.push(`final ovs-dpctl show → ${final.status}: ${final.stderr}`);
  server.kill('SIGTERM');
  process.stdout.write(`fuzz-shim-stress: ${TIME_S} s, ${stats.fuzzClients} fuzz clients (${stats.datagrams} datagrams), ${stats.killedMidDump} clients killed mid-dump, ` +
    `${stats.show} ovs-dpctl show + ${stats.dumps} dump-flows (${FLOWS} flows), ${stats.dpRecreated} datapath re-creations, ${stats.failures.length} failures, emulator ${alive ? 'alive' : 'DIED'}\n`);
  for (const f of stats.failures.slice(0, 20)) process.stdout.write(`  FAIL ${f}\n`);
  if (!alive) process.stdout.write(fs.readFileSync(logFile, 'utf8').slice(-3000));
  process.exitCode = stats.failures.length || !alive ? 1 : 0;
}

main().catch((e) => {
  process.stderr.write(`fuzz-shim-stress: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
