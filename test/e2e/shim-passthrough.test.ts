/**
 * What the shim must leave alone (DESIGN.md "shim contract" 8, 9): non-generic netlink goes to
 * the real kernel, and without an emulator socket() behaves as on a kernel without openvswitch.ko.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { Harness, buildFixture, runClient, startHarness } from './shim-harness';

let basic: string;

beforeAll(() => {
  basic = buildFixture('basic');
});

test('NETLINK_ROUTE passes through to the real kernel', async () => {
  const h: Harness = startHarness();
  try {
    const r = await runClient(basic, ['route'], h.env);
    expect(r.code).toBe(0);
    expect(r.kv.send).toBe('20');
    expect(r.kv.first_type).toBe('16'); // RTM_NEWLINK from the kernel's dump
    expect(r.kv.proto).toBe('0'); // SO_PROTOCOL answered by the kernel: NETLINK_ROUTE
    expect(h.endpoint.sockets).toHaveLength(0);
  } finally {
    h.stop();
  }
});

test('emulator absent: kernel generic netlink sockets and one stderr hint per process', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpemu-absent-'));
  const sock = path.join(dir, 'nobody.sock');
  try {
    // The family the clients look up is missing on a kernel without the module; when this host
    // has openvswitch.ko loaded, ask for a name no kernel registers instead.
    const family = fs.existsSync('/sys/module/openvswitch') ? 'ovs_dpemu_none' : 'ovs_datapath';
    const r = await runClient(basic, ['absent', family], { OVS_DPEMU_SOCKET: sock });
    expect(r.code).toBe(0);
    expect(r.kv.proto).toBe('16');
    expect(r.kv.lookup_error).toBe(String(-os.constants.errno.ENOENT));
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    expect(lines).toEqual([`ovs-dpemu: emulator not reachable at ${sock} (No such file or directory); using the kernel's netlink`]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
