/**
 * The shim contract, asynchronous half (DESIGN.md "shim contract" 3, 4, 5, 7): dumps of any
 * size, wake-ups, overrun, fork, bind clashes across processes, kernel-verified credentials.
 */
import { hasEffectiveCap } from '../../lib/transport/peer-caps';
import * as path from 'path';
import { Harness, buildFixture, runClient, startHarness } from './shim-harness';

let h: Harness;
let bin: string;

beforeAll(() => {
  bin = buildFixture('async');
});
afterEach(() => h.stop());

describe('shim: dumps', () => {
  beforeEach(() => {
    h = startHarness();
  });

  test.each([
    ['dontwait', 'MSG_DONTWAIT-only reads (OVS: EAGAIN would end the dump)'],
    ['poll', 'poll() before every read (asyncio/pyroute2)'],
    ['block', 'blocking reads'],
  ])('5000-message dump read completely: %s — %s', async (mode) => {
    const r = await runClient(bin, ['dump', '5000', mode], h.env);
    expect(r.stdout).not.toContain('error_at');
    expect(r.code).toBe(0);
    expect(r.kv.count).toBe('5000');
    // ≤4 KiB chunks of 80-byte messages: 51 per datagram, so the dump really spans many refills.
    expect(Number(r.kv.datagrams)).toBe(Math.ceil(5000 / 51));
    expect(r.kv.after_done).toBe('EAGAIN');
  });

  test('empty dump: NLMSG_DONE at once', async () => {
    const r = await runClient(bin, ['dump', '0', 'dontwait'], h.env);
    expect(r.code).toBe(0);
    expect(r.kv).toMatchObject({ count: '0', datagrams: '1', after_done: 'EAGAIN' });
  });
});

describe('shim: asynchronous delivery', () => {
  beforeEach(() => {
    h = startHarness();
  });

  test.each(['poll', 'epoll'])('%s wakes on a notification delivered later', async (how) => {
    const r = await runClient(bin, ['notify', how], h.env);
    expect(r.code).toBe(0);
    expect(r.kv.before).toBe('EAGAIN');
    expect(r.kv.woken).toBe('1 events=1'); // POLLIN / EPOLLIN
    // nlmsghdr{len 20, type T_NOTIFY, flags 0, seq 0, pid 0} + u32 0xfeed
    expect(r.kv.notification).toBe('14000000' + '3100' + '0000' + '00000000' + '00000000' + 'edfe0000');
  });
});

describe('shim: overrun', () => {
  beforeEach(() => {
    h = startHarness(16 * 1024);
  });

  test('a full queue drops datagrams; the reader then gets ENOBUFS exactly once', async () => {
    const r = await runClient(bin, ['overrun'], h.env);
    expect(r.code).toBe(0);
    const sock = h.endpoint.sockets[0];
    expect(sock.floodCount).toBeGreaterThan(0);
    // Everything the sink accepted was readable; the marker could not be queued while full.
    expect(r.kv.drained).toBe(String(sock.floodCount));
    expect(r.kv.drain_end).toBe('EAGAIN');
    expect(r.kv.poll).toBe('1');
    expect(r.kv.first).toBe('ENOBUFS'); // even with MSG_PEEK, as sock_error() does
    expect(r.kv.second).toBe('EAGAIN');
    expect(r.kv.after).toBe('ok');
  });
});

describe('shim: processes', () => {
  beforeEach(() => {
    h = startHarness();
  });

  test('bind with an explicit pid is honoured; a second process gets EADDRINUSE', async () => {
    const pid = 0x1234 + (20 << 22); // pyroute2: (getpid() & 0x3FFFFF) + (port << 22)
    const r = await runClient(bin, ['bind', String(pid)], h.env);
    expect(r.code).toBe(0);
    expect(r.kv).toMatchObject({
      bind: '0',
      name: String(pid),
      bind_short: 'EINVAL',
      child_bind_same: 'EADDRINUSE',
      child_bind_other: '0',
      child_name: String(pid + (1 << 22)),
      rebind_after_close: '0',
    });
  });

  test('fork: the child can use a new socket and the inherited one; the parent is unaffected', async () => {
    const r = await runClient(bin, ['fork'], h.env);
    expect(r.code).toBe(0);
    expect(r.kv).toMatchObject({
      parent_before: 'ok',
      child_new: 'ok',
      child_distinct_portid: '1',
      child_inherited: 'ok',
      parent_after: 'ok',
      parent_new: 'ok',
    });
  });

  test("vfork: the child's close_range/close/dup2 before exec leave the parent's sockets intact", async () => {
    const r = await runClient(bin, ['vfork'], h.env);
    expect(r.code).toBe(0);
    expect(r.kv).toMatchObject({ before: 'ok', child_status: '0', after: 'ok', after_dup: 'ok' });
  });

  test('8 threads with their own sockets transact concurrently, each seeing only its replies', async () => {
    const r = await runClient(bin, ['threads', '8'], h.env);
    expect(r.code).toBe(0);
    expect(r.kv.bad).toBe('0');
    expect(h.endpoint.sockets).toHaveLength(8);
    expect(h.endpoint.sockets.every((s) => s.requests.length === 300)).toBe(true);
  });

  test.each([
    [0, hasEffectiveCap(process.pid, 12)], // the child inherits our capabilities
    [1, false],
  ])('credentials come from the kernel: drop CAP_NET_ADMIN=%d → netAdmin %s', async (drop, netAdmin) => {
    const r = await runClient(bin, ['caps', String(drop)], h.env);
    expect(r.code).toBe(0);
    expect(r.kv.echo).toBe('ok');
    const cred = h.endpoint.sockets[0].cred;
    // comm: the client binary's name, cut to TASK_COMM_LEN - 1 as the kernel keeps it.
    expect(cred).toEqual({ pid: Number(r.kv.pid), uid: process.getuid?.(), gid: process.getgid?.(), netAdmin, comm: path.basename(bin).slice(0, 15) });
  });
});
