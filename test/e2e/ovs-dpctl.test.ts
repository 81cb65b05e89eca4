/**
 * Debian's unmodified ovs-dpctl 3.1.0 against `ovs-dpemu serve`, through the LD_PRELOAD shim, in
 * a fresh network namespace. Outputs are compared with what the same commands printed against
 * the real Linux 6.12 datapath (test/captures/kernel-6.12-basic.out.txt).
 */
import * as path from 'path';
import { isRoot, kernelTranscript, REPO, ServedEmulator, type CmdResult } from '../helpers/served';

const KERNEL = kernelTranscript(path.join(REPO, 'test', 'captures', 'kernel-6.12-basic.out.txt'));
const kernel = (cmd: string, nth = 0): CmdResult => {
  const r = KERNEL.get(cmd)?.[nth];
  if (!r) throw new Error(`no kernel transcript for ${cmd}`);
  return r;
};

const maybe = isRoot() ? describe : describe.skip;

maybe('ovs-dpctl through the shim (kernel transcript comparison)', () => {
  const emu = new ServedEmulator('dpctl');
  const dpctl = (...args: string[]): CmdResult => emu.run(['ovs-dpctl', ...args]);

  beforeAll(async () => {
    await emu.start();
  });
  afterAll(async () => {
    await emu.stop();
  });

  it('add-dp dp0 prints what the kernel-backed tool prints', () => {
    expect(dpctl('add-dp', 'dp0')).toEqual(kernel('ovs-dpctl add-dp dp0'));
  });

  it('show', () => {
    expect(dpctl('show')).toEqual(kernel('ovs-dpctl show'));
  });

  it('add-if of two veth ends as netdev ports 1 and 2, then show -s', () => {
    for (const c of [['ip', 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1'], ['ip', 'link', 'add', 'v2', 'type', 'veth', 'peer', 'name', 'v3'],
      ['ip', 'link', 'set', 'v0', 'up'], ['ip', 'link', 'set', 'v2', 'up']]) {
      expect(emu.sh(c)).toEqual({ out: '', rc: 0 });
    }
    expect(dpctl('add-if', 'dp0', 'v0')).toEqual(kernel('ovs-dpctl add-if dp0 v0'));
    expect(dpctl('add-if', 'dp0', 'v2')).toEqual(kernel('ovs-dpctl add-if dp0 v2'));
    expect(dpctl('show', '-s')).toEqual(kernel('ovs-dpctl show -s'));
  });

  it('dump-dps lists the datapath', () => {
    expect(dpctl('dump-dps')).toEqual({ out: 'system@dp0\n', rc: 0 });
  });

  it('del-if dp0 v2, then show dp0', () => {
    expect(dpctl('del-if', 'dp0', 'v2')).toEqual(kernel('ovs-dpctl del-if dp0 v2'));
    expect(dpctl('show', 'dp0')).toEqual(kernel('ovs-dpctl show dp0'));
  });

  it('add-dp of an existing datapath → "add_dp (File exists)" like the second kernel run', () => {
    expect(dpctl('add-dp', 'dp0')).toEqual(kernel('ovs-dpctl add-dp dp0', 1));
  });

  it.each([
    ['add-if', 'dp0', 'nosuchif0'],
    ['del-dp', 'nosuchdp'],
    ['show', 'nosuchdp'],
  ])('failing command ovs-dpctl %s %s fails like the kernel-backed tool', (...args) => {
    expect(dpctl(...args)).toEqual(kernel(`ovs-dpctl ${args.join(' ')}`));
  });

  it('add-if of an internal port brings it up (a real TAP device) and shows it', () => {
    expect(dpctl('add-if', 'dp0', 'p1,type=internal')).toEqual({ out: '', rc: 0 });
    expect(emu.sh(['ip', '-o', 'link', 'show', 'p1']).out).toMatch(/^\d+: p1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 .* link\/ether ([0-9a-f][26ae]):/);
    const show = dpctl('show', 'dp0');
    expect(show.rc).toBe(0);
    expect(show.out.split('\n').slice(-3)).toEqual(['  port 1: v0', '  port 2: p1 (internal)', '']);
  });

  it('set-if keeps the port; changing its number is refused by ovs-dpctl', () => {
    expect(dpctl('set-if', 'dp0', 'v0')).toEqual({ out: '', rc: 0 });
    expect(dpctl('set-if', 'dp0', 'v0,port_no=9')).toEqual({ out: 'ovs-dpctl: v0: can\'t change port number from 1 to 9\n', rc: 1 });
  });

  it('del-if and del-dp remove everything, including the TAP devices', () => {
    expect(dpctl('del-if', 'dp0', 'p1')).toEqual({ out: '', rc: 0 });
    expect(dpctl('del-if', 'dp0', 'v0')).toEqual(kernel('ovs-dpctl del-if dp0 v0'));
    expect(dpctl('del-dp', 'dp0')).toEqual(kernel('ovs-dpctl del-dp dp0'));
    expect(dpctl('show')).toEqual(kernel('ovs-dpctl show', 1));
    expect(emu.sh(['ip', 'link', 'show', 'dp0']).rc).not.toBe(0);
  });
});
