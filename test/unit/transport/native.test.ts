/** The native addon: FdWatcher, SOCK_SEQPACKET wrappers, TAP and setns (syscalls, no policy). */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { NativeError, POLL_DISCONNECT, POLL_READABLE, check, errnoName, native } from '../../../lib/native';

const nat = native();
const E = os.constants.errno;
let dir: string;
let sockPath: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpemu-native-'));
  sockPath = path.join(dir, 's.sock');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A connected pair through a real listener: [listener, client, server-side]. */
function pair(): [number, number, number] {
  const l = check(nat.seqpacketListen(sockPath), 'listen');
  const c = check(nat.seqpacketConnect(sockPath), 'connect');
  const a = check(nat.accept(l), 'accept');
  return [l, c, a];
}

describe('seqpacket', () => {
  test('datagrams keep boundaries; empty queue is -EAGAIN; hang-up is a zero-length Buffer', () => {
    const [l, c, a] = pair();
    expect(nat.accept(l)).toBe(-E.EAGAIN);
    expect(nat.send(c, Buffer.from('one'))).toBe(3);
    expect(nat.send(c, Buffer.from('two!'))).toBe(4);
    expect(nat.recv(a, 100)).toEqual(Buffer.from('one'));
    expect(nat.recv(a, 100)).toEqual(Buffer.from('two!'));
    expect(nat.recv(a, 100)).toBe(-E.EAGAIN);
    expect(nat.send(c, Buffer.alloc(200))).toBe(200);
    expect(nat.recv(a, 100)).toBe(-E.EMSGSIZE); // consumed, not silently truncated
    expect(nat.recv(a, 100)).toBe(-E.EAGAIN);
    nat.close(c);
    expect(nat.recv(a, 100)).toEqual(Buffer.alloc(0));
    expect(nat.send(a, Buffer.from('x'))).toBe(-E.EPIPE); // MSG_NOSIGNAL: no SIGPIPE
    [l, a].forEach((fd) => expect(nat.close(fd)).toBe(0));
    expect(nat.close(a)).toBe(-E.EBADF);
  });

  test('send never blocks: a full peer queue is -EAGAIN; setSndBuf bounds it', () => {
    const [l, c, a] = pair();
    expect(nat.setSndBuf(a, 16 * 1024)).toBe(0);
    let sent = 0;
    while (nat.send(a, Buffer.alloc(100)) === 100) sent++;
    expect(nat.send(a, Buffer.alloc(100))).toBe(-E.EAGAIN);
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThan(1000);
    [l, c, a].forEach((fd) => nat.close(fd));
  });

  test('peerCred is the connecting process; listen on a bound path fails with EADDRINUSE', () => {
    const [l, c, a] = pair();
    expect(nat.peerCred(a)).toEqual({ pid: process.pid, uid: process.getuid?.(), gid: process.getgid?.() });
    expect(nat.seqpacketListen(sockPath)).toBe(-E.EADDRINUSE);
    expect(nat.seqpacketConnect(path.join(dir, 'none.sock'))).toBe(-E.ENOENT);
    expect(nat.seqpacketListen('/x'.repeat(100))).toBe(-E.ENAMETOOLONG);
    [l, c, a].forEach((fd) => nat.close(fd));
  });

  test('check() and errnoName()', () => {
    expect(() => check(-E.EAGAIN, 'op')).toThrow(new NativeError(E.EAGAIN, 'op'));
    expect(check(5, 'op')).toBe(5);
    expect(errnoName(E.ENOBUFS)).toBe('ENOBUFS');
    expect(() => nat.send(-1, Buffer.alloc(1))).toThrow(/send\(fd: number, buf: Buffer\)/); // a TypeError
  });
});

describe('FdWatcher', () => {
  test('reports readable, then disconnect; a second watcher on an active fd throws; close is final', async () => {
    const [l, c, a] = pair();
    const events: number[] = [];
    const w = new nat.FdWatcher(a, (ev) => {
      events.push(ev);
      const b = nat.recv(a, 100);
      if (typeof b !== 'number' && b.length === 0) w.stop();
    });
    expect(w.start(POLL_READABLE | POLL_DISCONNECT)).toBe(0);
    expect(() => new nat.FdWatcher(a, () => undefined)).toThrow(/uv_poll_init/); // libuv: one poller per fd
    nat.send(c, Buffer.from('x'));
    await new Promise((r) => setTimeout(r, 20));
    expect(events).toEqual([POLL_READABLE]);
    nat.close(c);
    await new Promise((r) => setTimeout(r, 20));
    expect(events[1] & POLL_DISCONNECT).toBe(POLL_DISCONNECT);
    expect(events).toHaveLength(2);
    w.close();
    w.close(); // idempotent
    expect(w.start(POLL_READABLE)).toBe(-E.EBADF);
    [l, a].forEach((fd) => nat.close(fd));
  });

  /** Runs a node script using the addon; resolves with exit code and stdout. */
  function node(script: string): Promise<{ code: number | null; out: string }> {
    const lib = path.resolve(__dirname, '../../../build/Release/ovsdpemu.node');
    return new Promise((resolve) => {
      execFile(process.execPath, ['-e', `const n = require(${JSON.stringify(lib)});\n${script}`], { timeout: 5000 }, (err, out) =>
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, out }),
      );
    });
  }

  test('an unref()ed active watcher does not keep the process alive; a ref()ed one does', async () => {
    const setup = `const p = ${JSON.stringify(sockPath)}; const l = n.seqpacketListen(p);
      const w = new n.FdWatcher(l, () => {}); w.start(n.UV_READABLE);`;
    const unrefd = await node(`${setup} w.unref(); process.on('exit', () => console.log('exited'));`);
    expect(unrefd).toEqual({ code: 0, out: 'exited\n' });
    fs.rmSync(sockPath);
    const refd = await node(`${setup} setTimeout(() => { console.log('alive'); w.close(); }, 300);`);
    expect(refd).toEqual({ code: 0, out: 'alive\n' });
  });

  test('an exception thrown by the callback reaches uncaughtException', async () => {
    const r = await node(`const p = ${JSON.stringify(sockPath)}; const l = n.seqpacketListen(p);
      const c = n.seqpacketConnect(p);
      const w = new n.FdWatcher(l, () => { throw new Error('boom'); }); w.start(n.UV_READABLE);
      process.on('uncaughtException', (e) => { console.log('caught ' + e.message); w.close(); });`);
    expect(r).toEqual({ code: 0, out: 'caught boom\n' });
  });
});

const canTap = process.getuid?.() === 0 && fs.existsSync('/dev/net/tun');

(canTap ? describe : describe.skip)('TAP', () => {
  test('create, set MAC/MTU/flags, read/write, close deletes the device', () => {
    const name = `dpemu${process.pid % 100000}`;
    const tap = check(nat.tapCreate(name), 'tapCreate');
    try {
      expect(tap.name).toBe(name);
      expect(nat.ifIndex(name)).toBe(tap.ifindex);
      expect(fs.readFileSync(`/sys/class/net/${name}/tun_flags`, 'utf8').trim()).toBe('0x1002'); // IFF_TAP|IFF_NO_PI
      expect(nat.setMac(name, Buffer.from('020000dbe001', 'hex'))).toBe(0);
      expect(fs.readFileSync(`/sys/class/net/${name}/address`, 'utf8').trim()).toBe('02:00:00:db:e0:01');
      expect(nat.setMtu(name, 1400)).toBe(0);
      expect(fs.readFileSync(`/sys/class/net/${name}/mtu`, 'utf8').trim()).toBe('1400');
      expect(nat.getIfFlags(name) & 1).toBe(0); // IFF_UP
      expect(nat.read(tap.fd, 2048)).toBe(-E.EAGAIN); // non-blocking
      expect(nat.setIfFlags(name, nat.getIfFlags(name) | 1)).toBe(0);
      expect(nat.getIfFlags(name) & 1).toBe(1);
      const frame = Buffer.concat([Buffer.from('ffffffffffff020000dbe0020800', 'hex'), Buffer.alloc(46)]);
      expect(nat.write(tap.fd, frame)).toBe(frame.length);
    } finally {
      nat.close(tap.fd);
    }
    expect(nat.ifIndex(name)).toBe(-E.ENODEV);
    expect(nat.tapCreate('x'.repeat(16))).toBe(-E.EINVAL);
    expect(nat.setMtu('nonexistent0', 1400)).toBe(-E.ENODEV);
  });
});

test('setnsNet: own namespace is accepted, a missing path is -ENOENT', () => {
  if (process.getuid?.() !== 0) return;
  expect(nat.setnsNet('/proc/self/ns/net')).toBe(0);
  expect(nat.setnsNet(path.join(dir, 'missing'))).toBe(-E.ENOENT);
  expect(nat.setnsNet('/proc/self/ns/uts')).toBe(-E.EINVAL); // not a network namespace
});
