/**
 * `replay --update` round trips, and the round trip of a capture the emulator recorded itself
 * (`serve --record`, pcap and pcapng) replayed against a fresh emulator.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { preloadLibrary } from '../../lib/paths';
import { LINKTYPE_NETLINK, isPcapng, readPcap, writePcap, writePcapng } from '../../lib/replay/pcap';
import { replay } from '../../lib/replay/replay';
import { readCapture } from '../../lib/replay/replay-capture';
import { startServer } from '../../lib/server';
import { SOCKET_ENV } from '../../lib/transport/socket-path';

const CAPTURES = path.join(__dirname, '..', 'captures');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpemu-replay-update-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** corrupt sets byte `at` of frame `frame`'s datagram. */
function corrupt(file: string, frame: number, at: number, v: number): Buffer {
  const recs = readPcap(fs.readFileSync(file));
  const r = recs[frame - 1];
  const data = Buffer.from(r.data);
  data[16 + at] = v;
  recs[frame - 1] = { ...r, data };
  return writePcap(recs, LINKTYPE_NETLINK);
}

describe('replay --update', () => {
  it('a green capture is rewritten byte for byte (pcap header, cooked headers, timestamps)', async () => {
    const src = path.join(CAPTURES, 'kernel-6.12-pyroute2-basic.pcap');
    const out = path.join(dir, 'same.pcap');
    const r = await replay(src, { update: out });
    expect(r.updated).toBe(out);
    expect(fs.readFileSync(out).equals(fs.readFileSync(src))).toBe(true);
  });

  it('a corrupted reply is replaced by the emulator\'s: red before, green after, same exchanges', async () => {
    const bad = path.join(dir, 'bad.pcap');
    // Frame 40 of the basic capture: the vport dump's local port; byte 60 is STATS rx-packets.
    fs.writeFileSync(bad, corrupt(path.join(CAPTURES, 'kernel-6.12-basic.pcap'), 40, 60, 9));
    const before = await replay(bad);
    expect(before.counts.failed).toBe(1);
    expect(before.firstDifference?.path).toBe('ovs_vport GET › STATS › rx-packets');
    const u = await replay(bad, { update: true });
    expect(u.updated).toBe(bad);
    const after = await replay(bad);
    expect(after.ok).toBe(true);
    expect(after.counts).toEqual({ ...before.counts, matched: before.counts.matched + 1, failed: 0 });
    const orig = readCapture(fs.readFileSync(path.join(CAPTURES, 'kernel-6.12-basic.pcap'))).records;
    const fixed = readCapture(fs.readFileSync(bad)).records;
    expect(fixed[39].datagram.equals(orig[39].datagram)).toBe(true);
  });

  it('vswitchd: replies rewritten where rules hid differences (traffic, notification copies), still green', async () => {
    const out = path.join(dir, 'vswitchd.pcap');
    const src = path.join(CAPTURES, 'kernel-6.12-vswitchd.pcap');
    await replay(src, { update: out });
    const r = await replay(out);
    expect(r.ok).toBe(true);
    expect(r.counts).toEqual((await replay(src)).counts);
  });
});

function run(cmd: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd[0], cmd.slice(1), { env, timeout: 30000 }, (e, stdout, stderr) => {
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, out: stdout + stderr });
    });
  });
}

const hasDpctl = fs.existsSync('/usr/bin/ovs-dpctl');
(hasDpctl ? describe : describe.skip).each(['rec.pcap', 'rec.pcapng'])('serve --record → replay (%s)', (name) => {
  const file = path.join(dir, name);
  beforeAll(async () => {
    const socket = path.join(dir, `${name}.sock`);
    const srv = startServer({ socket, devices: 'virtual', record: file, cpus: 2 });
    const env = { PATH: process.env.PATH, LD_PRELOAD: preloadLibrary(), [SOCKET_ENV]: socket };
    try {
      for (const cmd of [
        ['add-dp', 'dp0'], ['show'], ['add-dp', 'dp0'],
        ['add-flow', 'dp0', 'in_port(0),eth(),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,frag=no),tcp(dst=80)', '0'],
        ['add-flow', 'dp0', 'in_port(0),eth(),eth_type(0x0806),arp()', 'drop'],
        ['dump-flows', 'dp0'], ['del-flows', 'dp0'], ['show', '-s'], ['del-dp', 'dp0'],
      ]) {
        const r = await run(['ovs-dpctl', ...cmd], env);
        if (cmd[0] !== 'add-dp' || r.code === 0) continue;
        expect(r.out).toContain('File exists');
      }
    } finally {
      srv.close();
    }
  });

  it('replays green against a fresh emulator', async () => {
    expect(isPcapng(fs.readFileSync(file))).toBe(name.endsWith('.pcapng'));
    const r = await replay(file);
    if (!r.ok) throw new Error(`${r.firstDifference?.path}\n${r.firstDifference?.sideBySide}`);
    expect(r.counts.failed).toBe(0);
    expect(r.counts.matched).toBeGreaterThan(30);
    expect(r.counts.strays).toBe(0);
  });

  it('--update keeps the format (pcapng keeps its port id comments) and stays green', async () => {
    const out = path.join(dir, `updated-${name}`);
    await replay(file, { update: out });
    expect(isPcapng(fs.readFileSync(out))).toBe(isPcapng(fs.readFileSync(file)));
    const r = await replay(out);
    expect(r.ok).toBe(true);
    expect(r.counts).toEqual((await replay(file)).counts);
  });

  it('with one reply byte changed goes red and names the attribute', async () => {
    const cap = readCapture(fs.readFileSync(file));
    // The first datapath reply: its USER_FEATURES value is the last 4 bytes before MASKS_CACHE_SIZE.
    const i = cap.records.findIndex((r) => !r.request && r.messages[0]?.type === 0x24 && r.datagram.length > 100);
    const recs = readPcap(fs.readFileSync(file));
    const data = Buffer.from(recs[cap.records[i].frame - 1].data);
    const d = data.subarray(16);
    const feat = d.indexOf(Buffer.from([8, 0, 5, 0]));
    d[feat + 4] ^= 0x40;
    recs[cap.records[i].frame - 1] = { ...recs[cap.records[i].frame - 1], data };
    const r = await replay(isPcapng(fs.readFileSync(file)) ? writePcapng(recs, LINKTYPE_NETLINK) : writePcap(recs, LINKTYPE_NETLINK));
    expect(r.counts.failed).toBe(1);
    expect(r.firstDifference?.path).toBe('ovs_datapath NEW › USER_FEATURES');
  });
});
