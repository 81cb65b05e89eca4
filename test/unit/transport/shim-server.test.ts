/** ShimServer at the wire level (shim/PROTOCOL.md), driven from TypeScript without the shim. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { check, native } from '../../../lib/native';
import { hasEffectiveCap } from '../../../lib/transport/peer-caps';
import { ShimServer } from '../../../lib/transport/shim-server';
import {
  ConnKind,
  OVERRUN_MARKER,
  Op,
  REP_DUMP_PENDING,
  REQ_HAS_ADDR,
  Reply,
  decodeReply,
  encodeHello,
  encodeRequest,
} from '../../../lib/transport/shim-wire';
import { DatagramSink, NetlinkEndpoint, NlSocket } from '../../../lib/transport/transport';
import { FakeEndpoint, T_DUMP, nlmsg } from '../../e2e/shim-harness';

const nat = native();
const E = os.constants.errno;
let dir: string;
let sockPath: string;
let server: ShimServer | undefined;
let ep: FakeEndpoint;
const fds: number[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpemu-server-'));
  sockPath = path.join(dir, 'sub', 'dir', 'emu.sock');
  ep = new FakeEndpoint();
});
afterEach(() => {
  server?.close();
  server = undefined;
  fds.splice(0).forEach((fd) => nat.close(fd));
  fs.rmSync(dir, { recursive: true, force: true });
});

function start(endpoint: NetlinkEndpoint = ep): ShimServer {
  server = new ShimServer(endpoint, { path: sockPath });
  server.listen();
  return server;
}

/** Waits (letting the server run) for the next datagram on fd. */
async function next(fd: number): Promise<Buffer> {
  for (let i = 0; i < 500; i++) {
    const b = nat.recv(fd, 1 << 16);
    if (b !== -E.EAGAIN) return check(b, 'recv');
    await new Promise((r) => setImmediate(r));
  }
  throw new Error('no datagram');
}

function connect(): number {
  const fd = check(nat.seqpacketConnect(sockPath), 'connect');
  fds.push(fd);
  return fd;
}

/** Opens a data connection; returns its fd, sockid and token. */
async function openData(protocol = 16): Promise<{ fd: number; sockid: number; token: Buffer; status: number }> {
  const fd = connect();
  nat.send(fd, encodeHello({ kind: ConnKind.Data, protocol, sockType: 3 }));
  const r = await next(fd);
  expect(r.length).toBe(24);
  expect(r.readUInt32LE(0)).toBe(0x4d455044);
  return { fd, status: r.readInt32LE(4), sockid: r.readUInt32LE(8), token: r.subarray(16, 24) };
}

async function openControl(): Promise<number> {
  const fd = connect();
  nat.send(fd, encodeHello({ kind: ConnKind.Control, protocol: 0, sockType: 0 }));
  expect((await next(fd)).readInt32LE(4)).toBe(0);
  return fd;
}

async function call(ctl: number, sockid: number, token: Buffer, op: Op, arg0 = 0, arg1 = 0, payload?: Buffer, flags = 0): Promise<Reply> {
  nat.send(ctl, encodeRequest({ op, flags, sockid, token, arg0, arg1, payload }));
  const rep = decodeReply(await next(ctl));
  if (rep === undefined) throw new Error('bad reply');
  return rep;
}

describe('listen / close', () => {
  test('creates the directory, socket mode 0666; close() removes the file', () => {
    start();
    expect(fs.statSync(sockPath).isSocket()).toBe(true);
    expect(fs.statSync(sockPath).mode & 0o777).toBe(0o666);
    server?.close();
    expect(fs.existsSync(sockPath)).toBe(false);
  });

  test('a stale socket file is replaced', async () => {
    fs.mkdirSync(path.dirname(sockPath), { recursive: true });
    nat.close(check(nat.seqpacketListen(sockPath), 'listen')); // file left behind, nobody listens
    start();
    const d = await openData();
    expect(d.status).toBe(0);
  });

  test('refuses when another live emulator answers; leaves a non-socket file alone', () => {
    start();
    expect(() => new ShimServer(ep, { path: sockPath }).listen()).toThrow(/another emulator is listening/);
    expect(fs.existsSync(sockPath)).toBe(true);
    const file = path.join(dir, 'plain');
    fs.writeFileSync(file, 'keep');
    expect(() => new ShimServer(ep, { path: file }).listen()).toThrow(/not a socket/);
    expect(fs.readFileSync(file, 'utf8')).toBe('keep');
  });
});

describe('connections', () => {
  test('bad hello → hang-up; unsupported protocol → -EPROTONOSUPPORT then hang-up', async () => {
    start();
    const bad = connect();
    nat.send(bad, Buffer.from('hello, world!!!!'));
    expect((await next(bad)).length).toBe(0);
    const d = await openData(0);
    expect(d.status).toBe(-E.EPROTONOSUPPORT);
    expect((await next(d.fd)).length).toBe(0);
    expect(server?.socketCount).toBe(0);
  });

  test('credentials come from SO_PEERCRED and /proc (CapEff, comm)', async () => {
    start();
    await openData();
    expect(ep.sockets[0].cred).toEqual({
      pid: process.pid,
      uid: process.getuid?.(),
      gid: process.getgid?.(),
      netAdmin: hasEffectiveCap(process.pid, 12),
      comm: fs.readFileSync(`/proc/${process.pid}/comm`, 'utf8').trim(),
    });
  });

  test('control ops map to NlSocket calls; replies precede the answer; wrong token → -EBADF', async () => {
    start();
    const d = await openData();
    const ctl = await openControl();
    expect((await call(ctl, d.sockid, Buffer.alloc(8), Op.GetName)).status).toBe(-E.EBADF);
    expect((await call(ctl, d.sockid + 1, d.token, Op.GetName)).status).toBe(-E.EBADF);
    expect(await call(ctl, d.sockid, d.token, Op.GetName)).toEqual({ op: Op.GetName, flags: 0, status: 0, value: 0, value2: 0 });
    expect(await call(ctl, d.sockid, d.token, Op.Bind, 4242, 5)).toMatchObject({ status: 0, value: 4242 });
    expect(await call(ctl, d.sockid, d.token, Op.GetName)).toMatchObject({ value: 4242, value2: 5 });

    const req = nlmsg(0x20, 1, 9, 0, Buffer.alloc(20, 7));
    const sent = await call(ctl, d.sockid, d.token, Op.Send, 0, 0, req, REQ_HAS_ADDR);
    expect(sent).toMatchObject({ status: 0, flags: 0, value: 4242 });
    const reply = nat.recv(d.fd, 4096); // already queued: no waiting
    expect(reply).toEqual(Buffer.concat([req.subarray(0, 12), Buffer.from([0x92, 0x10, 0, 0]), req.subarray(16)]));

    const dump = nlmsg(T_DUMP, 0x301, 10, 0, Buffer.from([3, 1, 0, 0, 200, 0, 0, 0]));
    expect((await call(ctl, d.sockid, d.token, Op.Send, 0, 0, dump)).flags).toBe(REP_DUMP_PENDING);
    expect(await call(ctl, d.sockid, d.token, Op.Refill)).toMatchObject({ status: 0, flags: REP_DUMP_PENDING });
    expect(await call(ctl, d.sockid, d.token, Op.Refill)).toMatchObject({ status: 0, flags: REP_DUMP_PENDING });
    expect(await call(ctl, d.sockid, d.token, Op.Refill)).toMatchObject({ status: 0, flags: 0 });

    expect((await call(ctl, d.sockid, d.token, Op.SetSockopt, 99, 0, Buffer.alloc(4))).status).toBe(-E.ENOPROTOOPT);
    const one = Buffer.from([1, 0, 0, 0]);
    expect((await call(ctl, d.sockid, d.token, Op.SetSockopt, 11, 0, one)).status).toBe(0);
    expect(await call(ctl, d.sockid, d.token, Op.GetSockopt, 11, 4)).toMatchObject({ status: 0, value: 1 });
    expect((await call(ctl, d.sockid, d.token, 99 as Op)).status).toBe(-E.EOPNOTSUPP);

    // connect(): autobind + destination, which getpeername reports as a group mask.
    expect(await call(ctl, d.sockid, d.token, Op.Connect, 77, 0b1000, undefined, REQ_HAS_ADDR)).toMatchObject({ status: 0, value: 4242 });
    expect(await call(ctl, d.sockid, d.token, Op.GetName, 1)).toMatchObject({ value: 77, value2: 0b1000 });
    const viaDst = await call(ctl, d.sockid, d.token, Op.Send, 0, 0, req);
    expect(viaDst.status).toBe(0);
    expect(ep.sockets[0].requests).toHaveLength(3);
  });

  test('a core bug (non-SocketError) answers -EINVAL; the data hang-up closes the NlSocket', async () => {
    let sink: DatagramSink | undefined;
    let closed = 0;
    const sock: NlSocket = {
      id: 1,
      portid: 0,
      bind: () => {
        throw new Error('bug');
      },
      connect: () => 0,
      setNetlinkOption: () => undefined,
      getNetlinkOption: () => 0,
      send: () => ({ dumpPending: false }),
      refill: () => ({ dumpPending: false }),
      close: () => void closed++,
    };
    start({
      openSocket: (_c, _p, s) => {
        sink = s;
        return sock;
      },
    });
    const d = await openData();
    const ctl = await openControl();
    expect((await call(ctl, d.sockid, d.token, Op.Bind, 1)).status).toBe(-E.EINVAL);
    expect(sink?.deliver(Buffer.from('0123456789abcdef'))).toBe(true);
    expect(sink?.signalOverrun()).toBe(true);
    expect(nat.recv(d.fd, 100)).toEqual(Buffer.from('0123456789abcdef'));
    expect(nat.recv(d.fd, 100)).toEqual(OVERRUN_MARKER);
    nat.close(d.fd);
    fds.splice(fds.indexOf(d.fd), 1);
    for (let i = 0; i < 100 && closed === 0; i++) await new Promise((r) => setImmediate(r));
    expect(closed).toBe(1);
    expect(server?.socketCount).toBe(0);
    expect(sink?.deliver(Buffer.alloc(16))).toBe(false); // never writes to a recycled fd number
  });
});

describe('hasEffectiveCap', () => {
  test.each([
    ['0000000000001000', true],
    ['000001ffffffefff', false],
  ])('CapEff %s → %s', (capEff, want) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dpemu-proc-'));
    fs.mkdirSync(path.join(root, '123'));
    fs.writeFileSync(path.join(root, '123', 'status'), `Name:\tx\nCapPrm:\tffff\nCapEff:\t${capEff}\n`);
    expect(hasEffectiveCap(123, 12, root)).toBe(want);
    expect(hasEffectiveCap(124, 12, root)).toBe(false);
    expect(hasEffectiveCap(0, 12, root)).toBe(false);
    fs.rmSync(root, { recursive: true });
  });
});
