/**
 * The shim server's tap, which `serve --record` writes (issue 6 item 2): requests are seen
 * before their replies and carry the port id autobind gave them; replies, every dump chunk and
 * unsolicited datagrams are seen as the client's queue accepted them; datagrams the full queue
 * refused and the ENOBUFS marker are not. Runs a stdlib python client through the shim against
 * the fake endpoint of test/e2e/shim-harness.ts (no root needed).
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { netlinkRecords } from '../../lib/replay/netlink-capture';
import { CaptureRecorder } from '../../lib/replay/recorder';
import { ShimServer } from '../../lib/transport/shim-server';
import type { TapEvent } from '../../lib/transport/transport';
import { FakeEndpoint, SHIM, T_DUMP, T_FLOOD, T_KICK, T_NOTIFY } from '../e2e/shim-harness';
import { TSHARK_SKIP, hasTshark, runTshark } from '../helpers/tshark';

const CLIENT = `
import errno, socket, struct, sys
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 16)
def msg(t, seq, arg=0):
    return struct.pack('=IHHIIII', 24, t, 1, seq, 0, 0, arg)
s.send(msg(0x20, 1)); print('echo', len(s.recv(65536)))
s.send(msg(${T_NOTIFY}, 2, 30)); print('notify', len(s.recv(65536)))
s.send(msg(${T_DUMP}, 3, 200))
n = 0
while True:
    d = s.recv(65536)
    n += 1
    if struct.unpack_from('=H', d, len(d) - 20 + 4)[0] == 3: break
print('chunks', n)
s.send(msg(${T_FLOOD}, 4))
got = 0
while True:
    try:
        s.recv(65536, socket.MSG_DONTWAIT); got += 1
    except BlockingIOError:
        break
print('flood', got)
s.send(msg(${T_KICK}, 5))
try:
    s.recv(65536, socket.MSG_DONTWAIT)
except OSError as e:
    print('kick', errno.errorcode[e.errno])
`;

function runPython(env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile('python3', ['-c', CLIENT], { env: { PATH: process.env.PATH, LD_PRELOAD: SHIM, ...env }, timeout: 20000 }, (e, out, err) => {
      resolve({ code: e === null ? 0 : typeof e.code === 'number' ? e.code : null, out, err });
    });
  });
}

describe('ShimServer tap', () => {
  let dir: string;
  let server: ShimServer;
  let endpoint: FakeEndpoint;
  let recorder: CaptureRecorder;
  const events: TapEvent[] = [];
  let client: { code: number | null; out: string; err: string };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpemu-tap-'));
    endpoint = new FakeEndpoint();
    recorder = new CaptureRecorder(path.join(dir, 'tap.pcapng'));
    server = new ShimServer(endpoint, {
      path: path.join(dir, 'emu.sock'), queueBytes: 64 * 1024,
      tap: (ev) => {
        events.push({ ...ev, datagram: Buffer.from(ev.datagram) });
        recorder.tap(ev);
      },
    });
    server.listen();
    client = await runPython({ OVS_DPEMU_SOCKET: path.join(dir, 'emu.sock') });
    recorder.close();
  });

  afterAll(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const seqOf = (e: TapEvent): number => e.datagram.readUInt32LE(8);
  const typeOf = (e: TapEvent): number => e.datagram.readUInt16LE(4);

  it('the client ran through the shim', () => {
    expect(client.err).toBe('');
    expect(client.code).toBe(0);
    expect(client.out).toMatch(/^echo 24\nnotify 20\nchunks \d+\nflood \d+\nkick ENOBUFS\n$/);
  });

  it('every request precedes its replies and carries the autobound port id', () => {
    const portid = endpoint.sockets[0].portid;
    expect(portid).toBeGreaterThan(0);
    expect(events.every((e) => e.portid === portid && e.sockid > 0 && e.pid > 0)).toBe(true);
    const reqs = events.map((e, i) => [e, i] as const).filter(([e]) => e.direction === 'to-kernel');
    expect(reqs.map(([e]) => [seqOf(e), typeOf(e)])).toEqual([[1, 0x20], [2, T_NOTIFY], [3, T_DUMP], [4, T_FLOOD], [5, T_KICK]]);
    expect(events[0].direction).toBe('to-kernel');
    expect(events[1]).toMatchObject({ direction: 'from-kernel' });
    expect(seqOf(events[1])).toBe(1);
  });

  it('notifications, every dump chunk, and only the flood datagrams the queue took', () => {
    const kinds = events.map((e) => `${e.direction === 'to-kernel' ? '>' : '<'}${typeOf(e).toString(16)}`);
    const chunks = Number(/chunks (\d+)/.exec(client.out)![1]);
    const flood = Number(/flood (\d+)/.exec(client.out)![1]);
    expect(chunks).toBeGreaterThan(2);
    expect(kinds).toEqual([
      '>20', '<20', `>${T_NOTIFY.toString(16)}`, `<${T_NOTIFY.toString(16)}`, `>${T_DUMP.toString(16)}`,
      ...Array.from({ length: chunks }, () => `<${T_DUMP.toString(16)}`), `>${T_FLOOD.toString(16)}`,
      ...Array.from({ length: flood }, () => `<${T_NOTIFY.toString(16)}`), `>${T_KICK.toString(16)}`,
    ]);
    expect(endpoint.sockets[0].floodCount).toBe(flood); // what the full queue refused was not seen
    // The last dump chunk ends with NLMSG_DONE; the ENOBUFS marker is nowhere.
    expect(events.every((e) => e.datagram.length >= 16)).toBe(true);
  });

  it('the recorder wrote them all, in order, with direction and port id', () => {
    const recs = [...netlinkRecords(fs.readFileSync(path.join(dir, 'tap.pcapng')))];
    expect(recs.map((r) => r.datagram.toString('hex'))).toEqual(events.map((e) => e.datagram.toString('hex')));
    expect(recs.map((r) => r.direction)).toEqual(events.map((e) => e.direction));
    expect(new Set(recs.map((r) => r.meta?.portid))).toEqual(new Set([endpoint.sockets[0].portid]));
  });

  (hasTshark ? it : it.skip)(`tshark reads the recording${TSHARK_SKIP}`, () => {
    expect(runTshark(path.join(dir, 'tap.pcapng'))).toEqual({ status: 0, packets: events.length, stderr: [] });
  });
});
