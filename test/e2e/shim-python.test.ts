/**
 * CPython and pyroute2 through the shim (the selftests' ovs-dpctl.py stack): explicit bind,
 * sendto (0, 0), recvfrom, MSG_PEEK|MSG_TRUNC sizing, select-driven dumps.
 */
import * as fs from 'fs';
import * as path from 'path';

import { Harness, REPO, runClient, startHarness } from './shim-harness';

const PY = '/usr/bin/python3'; // Debian's: the pyenv python3 on PATH lacks pyroute2
const SCRIPT = path.join(REPO, 'test', 'fixtures', 'shim', 'pyclient.py');
const hasPython = fs.existsSync(PY);

let h: Harness;
beforeEach(() => {
  h = startHarness();
});
afterEach(() => h.stop());

(hasPython ? test : test.skip)('socket module: bind, sendto (0,0), MSG_PEEK|MSG_TRUNC, recvfrom, select dump', async () => {
  const r = await runClient(PY, [SCRIPT, 'socket'], h.env);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const pid = Number(r.kv.name.split(',')[0]);
  expect(r.kv.name).toBe(`${pid},0`);
  expect(h.endpoint.sockets[0].portid).toBe(pid);
  expect(r.kv).toMatchObject({
    type: '2',
    sendto: '36',
    peek_trunc: '36',
    peek_len_field: '36',
    reply_ok: '1',
    addr: '0,0',
    again: 'EAGAIN',
    after_subprocess: '1',
    dump_count: '3000',
  });
});

(hasPython ? test : test.skip)('pyroute2 NetlinkSocket: bind, request/reply, dump', async () => {
  const r = await runClient(PY, [SCRIPT, 'pyroute2'], h.env);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.kv).toMatchObject({ bound: '1', echo_replies: '1', echo_type: '32', dump_count: '2500' });
});
