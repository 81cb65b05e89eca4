/**
 * `ovs-dpemu record -- CMD` (issue 6 item 2): the shim in passthrough mode gives CMD the real
 * kernel's generic netlink and copies every datagram to the capture. This machine's kernel has
 * no openvswitch module, but its nlctrl answers, which exercises the whole path; the same run
 * against the 6.12 module under the oracle is checked in record-oracle.test.ts.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { NLMSG_DONE } from '../../lib/nl/constants';
import { decodeCapture } from '../../lib/replay/decode';
import { netlinkRecords, type NetlinkCaptureRecord } from '../../lib/replay/netlink-capture';
import { readPcap } from '../../lib/replay/pcap';
import { REPO } from '../helpers/served';
import { TSHARK_SKIP, hasTshark, runTshark } from '../helpers/tshark';

const CLI = path.join(REPO, 'dist', 'lib', 'cli.js');
const CLIENT = path.join(REPO, 'test', 'fixtures', 'record', 'client.py');
const hasGenl = spawnSync('genl', ['help'], { encoding: 'utf8' }).error === undefined;
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpemu-record-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function record(out: string, cmd: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'record', '--out', out, '--', ...cmd], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

(hasGenl ? describe : describe.skip)(`record -- genl ctrl list${hasGenl ? '' : ' (SKIPPED: genl (iproute2) not installed)'}`, () => {
  let run: ReturnType<typeof record>;
  let recs: NetlinkCaptureRecord[];
  const file = (): string => path.join(dir, 'genl.pcap');

  beforeAll(() => {
    run = record(file(), ['genl', 'ctrl', 'list']);
    recs = [...netlinkRecords(fs.readFileSync(file()))];
  });

  it('the command sees the real kernel: same output as without the shim, same exit status', () => {
    const plain = spawnSync('genl', ['ctrl', 'list'], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(plain.stdout);
    expect(run.stderr).toBe(`ovs-dpemu: ${recs.length} datagrams recorded to ${file()}\n`);
  });

  it('captures the dump request and the kernel\'s nlctrl reply, in order, up to NLMSG_DONE', () => {
    expect(recs.length).toBeGreaterThanOrEqual(2);
    expect(recs[0].direction).toBe('to-kernel');
    expect(recs[0].messages).toHaveLength(1);
    expect(recs[0].messages[0]).toMatchObject({ type: 0x10, flags: 0x301 });
    expect(recs.slice(1).every((r) => r.direction === 'from-kernel')).toBe(true);
    const msgs = recs.slice(1).flatMap((r) => r.messages);
    expect(msgs.every((m) => m.seq === recs[0].messages[0].seq)).toBe(true);
    expect(msgs[msgs.length - 1].type).toBe(NLMSG_DONE);
    const decoded = [...decodeCapture(fs.readFileSync(file()))];
    const nlctrl = decoded.find((m) => m.cmdName === 'newfamily' && m.attrs?.find((a) => a.name === 'family-name')?.value === 'nlctrl');
    expect(nlctrl?.attrs?.find((a) => a.name === 'family-id')?.value).toBe(0x10);
    // Every family the kernel listed is in the capture.
    const names = new Set(decoded.flatMap((m) => m.attrs?.filter((a) => a.name === 'family-name').map((a) => a.value) ?? []));
    const listed = run.stdout.match(/^Name: (\S+)/gm)!.map((l) => l.slice(6));
    expect([...names].sort()).toEqual([...listed].sort());
  });

  it('the file is a classic nlmon-style pcap', () => {
    const raw = readPcap(fs.readFileSync(file()));
    expect(raw.every((r) => r.linktype === 253 && r.data.subarray(0, 16).toString('hex') === '00040338000000000000000000000010')).toBe(true);
    expect(raw.every((r) => r.origLen === r.data.length)).toBe(true);
  });

  (hasTshark ? it : it.skip)(`tshark reads it${TSHARK_SKIP}`, () => {
    expect(runTshark(file())).toEqual({ status: 0, packets: recs.length, stderr: [] });
  });
});

describe('record -- a client that forks, threads, peeks and reads short', () => {
  let kv: Record<string, string>;
  let recs: NetlinkCaptureRecord[];
  const file = (): string => path.join(dir, 'client.pcapng');

  beforeAll(() => {
    const r = record(file(), ['python3', CLIENT]);
    expect(r.status).toBe(0);
    kv = Object.fromEntries(r.stdout.trim().split('\n').map((l) => l.split('=') as [string, string]));
    recs = [...netlinkRecords(fs.readFileSync(file()))];
  });

  it('the client got the kernel\'s answers, also through MSG_PEEK, short reads and MSG_TRUNC', () => {
    expect(kv.peek).toBe('1');
    expect(kv.short).toBe('16');
    expect(Number(kv.trunc)).toBeGreaterThan(16);
  });

  it('one request and one reply per exchange: peeks are not recorded twice', () => {
    expect(recs.map((r) => `${r.direction === 'to-kernel' ? '>' : '<'}${r.messages[0].seq}`)).toEqual(
      [1, 2, 3, 4, 5, 6, 7].flatMap((s) => [`>${s}`, `<${s}`]));
  });

  it('pcapng comments name the process, socket port id and fd; replies go to that port id', () => {
    const pid = Number(kv.pid);
    const child = Number(kv.child);
    const portid = Number(kv.portid);
    const bySeq = (seq: number): NetlinkCaptureRecord[] => recs.filter((r) => r.messages[0].seq === seq);
    for (const seq of [1, 2, 4, 6, 7]) expect(bySeq(seq).map((r) => [r.meta?.pid, r.meta?.portid])).toEqual([[pid, portid], [pid, portid]]);
    expect(bySeq(3).map((r) => r.meta?.pid)).toEqual([child, child]);
    const thread = bySeq(5);
    expect(thread.map((r) => r.meta?.pid)).toEqual([pid, pid]);
    expect(thread[0].meta?.portid).not.toBe(portid); // a second socket of the process
    for (const r of recs.filter((x) => x.direction === 'from-kernel')) expect(r.messages[0].pid).toBe(r.meta?.portid);
    expect(recs.every((r) => typeof r.meta?.fd === 'number')).toBe(true);
  });

  it('a datagram the client read short is recorded whole', () => {
    const short = recs.filter((r) => r.messages[0].seq === 6 && r.direction === 'from-kernel')[0];
    expect(short.truncated).toBe(0);
    expect(short.datagram.length).toBe(short.messages[0].bytes.length);
    expect(short.datagram.length).toBe(Number(kv.trunc));
  });

  (hasTshark ? it : it.skip)(`tshark reads it${TSHARK_SKIP}`, () => {
    expect(runTshark(file())).toEqual({ status: 0, packets: 14, stderr: [] });
  });
});

describe('record: robustness', () => {
  it('the command\'s exit status is passed on', () => {
    expect(record(path.join(dir, 'false.pcap'), ['sh', '-c', 'exit 3']).status).toBe(3);
    expect(record(path.join(dir, 'none.pcap'), ['/nonexistent/cmd']).status).toBe(127);
  });

  it('without a recorder the shim hands out kernel sockets and says so once', () => {
    const r = spawnSync('python3', [CLIENT], {
      encoding: 'utf8', env: { ...process.env, LD_PRELOAD: path.join(REPO, 'shim', 'libovsdpemu-preload.so'), OVS_DPEMU_RECORD: path.join(dir, 'nobody.sock') },
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^plain=136,16,0,1,\d+$/m);
    expect(r.stderr).toBe(`ovs-dpemu: recorder not reachable at ${path.join(dir, 'nobody.sock')} (No such file or directory); generic netlink is not recorded\n`);
  });
});
