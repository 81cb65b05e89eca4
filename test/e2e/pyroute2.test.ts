/**
 * A pyroute2 client: the Linux 6.12 kernel selftests' ovs-dpctl.py (Debian python3-pyroute2
 * 0.7.2, explicit bind() with its own port ids, SOCK_DGRAM, MSG_PEEK|MSG_TRUNC reads) against
 * `ovs-dpemu serve`, compared with the transcript of the same commands on the real kernel
 * (test/captures/kernel-6.12-pyroute2-basic.out.txt). Also `genl ctrl list` (iproute2).
 */
import * as path from 'path';
import { isRoot, kernelTranscript, REPO, ServedEmulator, type CmdResult } from '../helpers/served';
import { extractOvsDpctlPy } from '../helpers/selftest-dpctl';

const KERNEL = kernelTranscript(path.join(REPO, 'test', 'captures', 'kernel-6.12-pyroute2-basic.out.txt'));
const kernel = (args: string, nth = 0): CmdResult => {
  const r = KERNEL.get(`python3 $ORACLE_DIR/selftests/ovs-dpctl.py ${args}`)?.[nth];
  if (!r) throw new Error(`no kernel transcript for ${args}`);
  return r;
};

const maybe = isRoot() ? describe : describe.skip;

maybe('kernel selftest ovs-dpctl.py (pyroute2) through the shim', () => {
  const emu = new ServedEmulator('pyr2');
  let script = '';
  const py = (...args: string[]): CmdResult =>
    emu.run(['/usr/bin/python3', script, ...args], { PYTHONPATH: path.join(REPO, 'test', 'fixtures', 'pyshim') });

  beforeAll(async () => {
    script = extractOvsDpctlPy();
    await emu.start();
  });
  afterAll(async () => {
    await emu.stop();
  });

  it('add-dp dp1', () => {
    expect(py('add-dp', 'dp1')).toEqual(kernel('add-dp dp1'));
  });

  it('show (finds dp1 through its netdev, like on the kernel)', () => {
    expect(py('show')).toEqual(kernel('show'));
  });

  it('add-if two veth ends, show dp1', () => {
    for (const c of [['ip', 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1'], ['ip', 'link', 'add', 'p2', 'type', 'veth', 'peer', 'name', 'p3']]) {
      expect(emu.sh(c).rc).toBe(0);
    }
    expect(py('add-if', 'dp1', 'p0')).toEqual(kernel('add-if dp1 p0'));
    expect(py('add-if', 'dp1', 'p2')).toEqual(kernel('add-if dp1 p2'));
    expect(py('show', 'dp1')).toEqual(kernel('show dp1'));
  });

  it('del-if dp1 p2 removes port 2', () => {
    expect(py('del-if', 'dp1', 'p2')).toEqual({ out: '', rc: 0 });
    const show = py('show', 'dp1');
    expect(show.rc).toBe(0);
    expect(show.out).toContain('  port 1: p0 (netdev)\n');
    expect(show.out).not.toContain('port 2');
  });

  it('del-dp dp1, after which show finds no datapath; a second del-dp still exits 0', () => {
    expect(py('del-dp', 'dp1')).toEqual(kernel('del-dp dp1'));
    // ovs-dpctl.py show: "No DP found" when no interface answers OVS_DP_CMD_GET (script line ~2704).
    expect(py('show')).toEqual({ out: 'No DP found\n', rc: 0 });
    // The kernel answers ENODEV, which ovs-dpctl.py ignores (transcript: rc=0 twice).
    expect(py('del-dp', 'dp1')).toEqual(kernel('del-dp dp1', 1));
  });

  it('genl ctrl list shows nlctrl, psample and the six OVS families with the kernel\'s ids', () => {
    const r = emu.run(['genl', 'ctrl', 'list']);
    expect(r.rc).toBe(0);
    const names = [...r.out.matchAll(/^Name: (\S+)\n\tID: (0x[0-9a-f]+)/gm)].map((m) => [m[1], m[2]]);
    expect(names).toEqual([
      ['nlctrl', '0x10'], ['psample', '0x23'], ['ovs_datapath', '0x24'], ['ovs_vport', '0x25'], ['ovs_flow', '0x26'],
      ['ovs_packet', '0x27'], ['ovs_meter', '0x28'], ['ovs_ct_limit', '0x29'],
    ]);
    expect(r.out).toContain('Name: ovs_vport\n\tID: 0x25  Version: 0x1  header size: 4  max attribs: 10 ');
    expect(r.out).toMatch(/Name: ovs_vport[\s\S]*?multicast groups:\n\t\t#1:  ID-0x15  name: ovs_vport/);
  });
});
