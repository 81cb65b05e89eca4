/**
 * The shim contract, synchronous half (DESIGN.md "shim contract" 1, 2, 4, 5, 6): C clients
 * under LD_PRELOAD against a ShimServer with a fake endpoint in this process.
 */
import { Harness, buildFixture, runClient, spawnClient, startHarness, waitFor } from './shim-harness';

let h: Harness;
let basic: string;

beforeAll(() => {
  basic = buildFixture('basic');
});
beforeEach(() => {
  h = startHarness();
});
afterEach(() => h.stop());

/** The 36-byte request of nltest.h mkreq() with the reply's nlmsg_pid patched in. */
function echoOf(requestHex: string, portid: number): string {
  const b = Buffer.from(requestHex, 'hex');
  b.writeUInt32LE(portid, 12);
  return b.toString('hex');
}

describe('shim: transactions', () => {
  test('reply readable with MSG_DONTWAIT right after send returns; getsockname 0 before connect', async () => {
    const r = await runClient(basic, ['transact'], h.env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const portid = Number(r.kv.portid);
    expect(r.kv.pid_before_connect).toBe('0');
    expect(r.kv.connect).toBe('0');
    expect(portid).toBe(h.endpoint.sockets[0].portid);
    expect(portid).toBeGreaterThan(0);
    expect(r.kv.send).toBe('36');
    expect(r.kv.reply).toBe(echoOf(r.kv.request, portid));
    expect(r.kv.again).toBe('EAGAIN');
    expect(r.kv.silent).toBe('EAGAIN');
    expect(r.kv.write).toBe('36');
    expect(r.kv.read).toBe('36');
    expect(r.kv.zero_send).toBe('ENODATA');
    // The emulator got the request bytes exactly as sent.
    expect(h.endpoint.sockets[0].requests[0].toString('hex')).toBe(r.kv.request);
  });

  test('two nlmsgs in one sendmsg → two separate reply datagrams; 12 iovecs → one datagram', async () => {
    const r = await runClient(basic, ['batch'], h.env);
    expect(r.code).toBe(0);
    expect(r.kv.sendmsg).toBe('72');
    expect(r.kv.dgram0).toBe('len=36 seq=100');
    expect(r.kv.dgram1).toBe('len=36 seq=101');
    expect(r.kv.dgram2).toBe('EAGAIN');
    expect(r.kv.sendmsg12).toBe(String(12 * 36));
    expect(r.kv.replies12).toBe('12');
    expect(r.kv.sendmmsg).toBe('2');
    expect(r.kv.recvmmsg).toBe('2 lens=36,36 seqs=100,101');
    const reqs = h.endpoint.sockets[0].requests;
    expect(reqs.map((b) => b.length)).toEqual([72, 12 * 36, 36, 36]);
  });

  test('MSG_PEEK|MSG_TRUNC returns the full length; msg_name and recvfrom give AF_NETLINK pid 0', async () => {
    const r = await runClient(basic, ['peek'], h.env);
    expect(r.code).toBe(0);
    expect(r.kv.sendto).toBe('36');
    expect(r.kv.peek_trunc).toBe('36');
    expect(r.kv.peek_msg_trunc).toBe('1');
    expect(r.kv.namelen).toBe('12');
    expect(r.kv.name).toBe('family=16 pid=0 groups=0');
    expect(r.kv.peek_short).toBe('1');
    expect(r.kv.peek_short_trunc).toBe('1');
    expect(r.kv.drain).toBe('36');
    expect(r.kv.after_drain).toBe('EAGAIN');
    expect(r.kv.recvfrom).toBe('36');
    expect(r.kv.from).toBe('len=12 family=16 pid=0 groups=0');
    expect(r.kv.bad_to).toBe('EINVAL');
  });
});

describe('shim: fd semantics', () => {
  test('SOCK_NONBLOCK|SOCK_CLOEXEC honoured, SO_TYPE/SO_DOMAIN/SO_PROTOCOL are netlink', async () => {
    const r = await runClient(basic, ['flags'], h.env);
    expect(r.code).toBe(0);
    expect(r.kv).toMatchObject({
      a_nonblock: '1',
      a_cloexec: '1',
      a_recv: 'EAGAIN',
      b_nonblock: '0',
      b_cloexec: '0',
      b_recv_after_setfl: 'EAGAIN',
      a_type_domain_proto: '3 16 16', // SOCK_RAW AF_NETLINK NETLINK_GENERIC
      b_type: '2', // SOCK_DGRAM
    });
  });

  test('SOL_NETLINK options reach the emulator with kernel errnos; SOL_SOCKET acts on the fd', async () => {
    const r = await runClient(basic, ['sockopt'], h.env);
    expect(r.code).toBe(0);
    expect(r.kv).toMatchObject({
      set_ext_ack: '0',
      get_ext_ack: '0 1 4',
      set_unknown: 'ENOPROTOOPT',
      get_unknown: 'ENOPROTOOPT',
      get_short: 'EINVAL',
      set_sol_ip: 'ENOPROTOOPT',
      rcvbuf: String(2 * 65536),
      // SO_RCVBUFFORCE needs CAP_NET_ADMIN, on the real fd as on a netlink socket.
      ...(process.getuid?.() === 0 ? { rcvbufforce: '0', rcvbuf_forced: String(2 * (4 << 20)) } : { rcvbufforce: 'EPERM' }),
      add_membership: '0',
      groups_after_add: '4',
      groups_after_drop: '0',
      getpeername: '0 len=12 family=16 pid=0',
      connect_inet: 'EINVAL',
    });
    expect(h.endpoint.sockets[0].options.get(11)).toBe(1);
  });

  test('dup/dup2/dup3/F_DUPFD_CLOEXEC share the socket; it closes with the last fd', async () => {
    const r = await runClient(basic, ['dup'], h.env);
    expect(r.code).toBe(0);
    expect(r.kv).toMatchObject({
      recv_on_original: '36',
      same_portid: '1',
      after_close_original: 'ok',
      dupfd_ge_100: '1',
      dup2: '200',
      dup3: '201',
      dup2_badf: 'EBADF',
      proto_200: '16',
      via_201: 'ok',
      via_200: 'ok',
      over_200: 'ENOTSOCK',
    });
    expect(h.endpoint.sockets).toHaveLength(1);
    await waitFor(() => h.endpoint.openCount === 0);
  });

  test('closing every fd closes the emulated socket while the process lives on', async () => {
    const child = spawnClient(basic, ['close-wait'], h.env);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => out.includes('closed=1'));
    await waitFor(() => h.endpoint.sockets.length === 1 && h.endpoint.sockets[0].closed);
    expect(h.server.socketCount).toBe(0);
    const exited = new Promise((r) => child.on('exit', r));
    child.stdin.end();
    await exited;
  });
});
