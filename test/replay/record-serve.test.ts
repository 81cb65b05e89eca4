/**
 * `ovs-dpemu serve --record FILE` (issue 6 item 2): an ovs-dpctl session through the shim, in a
 * network namespace as test/helpers/served.ts runs it, is written request by request with its
 * replies, in order, with the right direction and port ids; a server killed with SIGKILL
 * leaves a readable file.
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { decodeCapture } from '../../lib/replay/decode';
import { directionOf, netlinkRecords, type NetlinkCaptureRecord } from '../../lib/replay/netlink-capture';
import { readPcap } from '../../lib/replay/pcap';
import { REPO, ServedEmulator, isRoot } from '../helpers/served';
import { TSHARK_SKIP, hasTshark, runTshark } from '../helpers/tshark';

const CLI = path.join(REPO, 'dist', 'lib', 'cli.js');
const hasDpctl = spawnSync('ovs-dpctl', ['--version'], { encoding: 'utf8' }).status === 0;
const canRun = isRoot() && hasDpctl;
const why = !isRoot() ? ' (SKIPPED: needs root for network namespaces)' : !hasDpctl ? ' (SKIPPED: ovs-dpctl not installed)' : '';
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpemu-serve-rec-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

(canRun ? describe : describe.skip)(`serve --record: an ovs-dpctl session${why}`, () => {
  const file = (): string => path.join(dir, 'session.pcapng');
  let recs: NetlinkCaptureRecord[];
  const outputs: string[] = [];

  beforeAll(async () => {
    const srv = new ServedEmulator('rec');
    await srv.start(['--record', file()]);
    try {
      for (const cmd of [['add-dp', 'dp0'], ['show'], ['add-flow', 'dp0', 'in_port(0),eth(),eth_type(0x0800),ipv4(src=10.0.0.1)', '0'], ['dump-flows', 'dp0'], ['del-dp', 'dp0']]) {
        const r = srv.run(['ovs-dpctl', ...cmd]);
        outputs.push(r.out);
        expect(r.rc).toBe(0);
      }
    } finally {
      await srv.stop();
    }
    recs = [...netlinkRecords(fs.readFileSync(file()))];
  }, 120000);

  it('holds the session: every ovs-dpctl family exchange', () => {
    const decoded = [...decodeCapture(fs.readFileSync(file()))];
    const reqs = decoded.filter((m) => m.direction === 'to-kernel').map((m) => `${m.family} ${m.cmdName}`);
    expect(reqs.slice(0, 2)).toEqual(['nlctrl getfamily', 'nlctrl getfamily']);
    for (const x of ['ovs_datapath new', 'ovs_datapath get', 'ovs_vport get', 'ovs_flow new', 'ovs_flow get', 'ovs_datapath del']) expect(reqs).toContain(x);
    expect(decoded.filter((m) => m.note || m.leftover)).toEqual([]);
    const flowNew = decoded.find((m) => m.family === 'ovs_flow' && m.cmdName === 'new')!;
    expect(flowNew.attrs?.find((a) => a.name === 'key')?.odp).toBe('in_port(0),eth(),eth_type(0x0800),ipv4(src=10.0.0.1)');
    // The dumped flow's odp text is the line ovs-dpctl dump-flows printed.
    const dumped = decoded.find((m) => m.family === 'ovs_flow' && m.cmdName === 'get' && m.direction === 'from-kernel')!;
    const key = dumped.attrs?.find((a) => a.name === 'key')?.odp;
    const actions = dumped.attrs?.find((a) => a.name === 'actions')?.odp;
    expect(outputs[3]).toBe(`${key}, packets:0, bytes:0, used:never, actions:${actions}\n`);
  });

  it('direction: the emulator\'s record of it agrees with NLM_F_REQUEST', () => {
    expect(recs.length).toBeGreaterThan(40);
    expect(recs.map((r) => r.direction)).toEqual(recs.map((r) => directionOf(r.datagram)));
  });

  it('port ids: requests carry the sender\'s, replies are addressed to the receiver\'s', () => {
    for (const r of recs) {
      expect(r.meta?.portid).toBeGreaterThan(0);
      if (r.direction === 'from-kernel') expect(r.messages.every((m) => m.pid === r.meta?.portid)).toBe(true);
      else if (r.messages[0].pid !== 0) expect(r.messages[0].pid).toBe(r.meta?.portid);
    }
  });

  it('order: each reply follows the request it answers, on its socket', () => {
    const lastReq = new Map<number, number>(); // portid → seq of its latest request
    for (const r of recs) {
      const port = r.meta!.portid!;
      if (r.direction === 'to-kernel') lastReq.set(port, r.messages[0].seq);
      else expect(r.messages.map((m) => m.seq)).toEqual(r.messages.map(() => lastReq.get(port)));
    }
  });

  it('the file is what tcpdump -i nlmon0 would write but for the pcapng comments', () => {
    const raw = readPcap(fs.readFileSync(file()));
    expect(raw.every((r) => r.data.subarray(0, 16).toString('hex') === '00040338000000000000000000000010')).toBe(true);
    expect(raw.every((r) => r.comment?.startsWith('ovs-dpemu: dir=') && (r.epbFlags === 1 || r.epbFlags === 2))).toBe(true);
  });

  (hasTshark ? it : it.skip)(`tshark reads it${TSHARK_SKIP}`, () => {
    expect(runTshark(file())).toEqual({ status: 0, packets: recs.length, stderr: [] });
  });
});

describe('serve --record: a killed server leaves a readable capture', () => {
  it('SIGKILL after a client session: every record written so far parses', async () => {
    const sock = path.join(dir, 'kill.sock');
    const file = path.join(dir, 'killed.pcap');
    const log = path.join(dir, 'kill.log');
    const out = fs.openSync(log, 'a');
    const child = spawn(process.execPath, [CLI, 'serve', '--socket', sock, '--record', file, '--devices', 'virtual'], { stdio: ['ignore', out, out] });
    fs.closeSync(out);
    try {
      for (let i = 0; i < 200 && !fs.readFileSync(log, 'utf8').includes('serving on'); i++) await new Promise((r) => setTimeout(r, 50));
      // A stdlib client: nlctrl GETFAMILY ovs_datapath through the shim (exec).
      const py = 'import socket,struct\ns=socket.socket(socket.AF_NETLINK,socket.SOCK_RAW,16)\nn=b"ovs_datapath\\0"\na=struct.pack("=HH",4+len(n),2)+n+b"\\0"*(-len(n)%4)\nb=struct.pack("=BBH",3,1,0)+a\nfor seq in (1,2,3):\n  s.send(struct.pack("=IHHII",16+len(b),16,1,seq,0)+b); print(len(s.recv(65536)))\n';
      const r = spawnSync(process.execPath, [CLI, 'exec', '--socket', sock, '--', 'python3', '-c', py], { encoding: 'utf8' });
      expect(r.stdout).toBe('192\n192\n192\n');
      child.kill('SIGKILL');
      await new Promise((res) => child.once('exit', res));
      const recs = [...netlinkRecords(fs.readFileSync(file))];
      expect(recs.map((x) => [x.direction, x.messages[0].seq])).toEqual([
        ['to-kernel', 1], ['from-kernel', 1], ['to-kernel', 2], ['from-kernel', 2], ['to-kernel', 3], ['from-kernel', 3]]);
      if (hasTshark) expect(runTshark(file)).toEqual({ status: 0, packets: 6, stderr: [] });
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
