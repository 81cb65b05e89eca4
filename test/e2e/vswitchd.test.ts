/**
 * Unmodified Debian ovsdb-server + ovs-vswitchd 3.1.0 on the emulator (vswitchd through the
 * shim), following test/captures/scripts/vswitchd.sh step by step and comparing each output with
 * what the same step printed on the real Linux 6.12 module (kernel-6.12-vswitchd.out.txt):
 * bridge and internal ports, feature probes, traffic between two namespaces over the TAP
 * internal ports (MISS upcalls, megaflows installed by vswitchd, hits, mask cache), revalidator
 * aging, del-br. Then frames injected with `ovs-dpemu inject` and an OpenFlow drop rule.
 * Normalised: MAC addresses and `used:` times (random per run), dump-flows line order.
 */
import * as path from 'path';
import { isRoot, REPO, ServedEmulator, type CmdResult } from '../helpers/served';
import { dumpNoise, kernelOutputs, sh, sleep, Vswitchd } from '../helpers/vswitchd';

const CLI = path.join(REPO, 'dist', 'lib', 'cli.js');
const kernel = kernelOutputs(path.join(REPO, 'test', 'captures', 'kernel-6.12-vswitchd.out.txt'));
const noise = dumpNoise;

const maybe = isRoot() ? describe : describe.skip;

maybe('ovs-vswitchd on the emulator, step by step against the 6.12 kernel transcript', () => {
  const emu = new ServedEmulator('vsd');
  let vs: Vswitchd;
  const ns1 = `${emu.netns}-1`;
  const ns2 = `${emu.netns}-2`;
  const dpctl = (...a: string[]): string => emu.run(['ovs-dpctl', ...a]).out;

  beforeAll(async () => {
    await emu.start();
    vs = new Vswitchd(emu);
    vs.start();
  }, 60000);
  afterAll(async () => {
    vs?.stop();
    await emu.stop();
    sh(`ip netns del ${ns1}; ip netns del ${ns2}`);
  });

  it('add-br and two internal ports', async () => {
    expect(vs.vsctl('add-br', 'br0').rc).toBe(0);
    for (const p of ['p1', 'p2']) expect(vs.vsctl('add-port', 'br0', p, '--', 'set', 'Interface', p, 'type=internal').rc).toBe(0);
    await sleep(500);
  });

  it('dpif/show-dp-features br0 is the kernel\'s, line for line', () => {
    expect(vs.appctl('dpif/show-dp-features', 'br0').out).toBe(kernel('ovs-appctl dpif/show-dp-features br0'));
  });

  it('dpif/show and ovs-dpctl show before traffic', () => {
    expect(vs.appctl('dpif/show').out).toBe(kernel('ovs-appctl dpif/show'));
    expect(dpctl('show')).toBe(kernel('ovs-dpctl show'));
  });

  it('3 pings from ns1 to ns2 through vswitchd: the same upcalls, megaflows and counters as on the kernel', async () => {
    const setup = sh(`set -e; ip netns add ${ns1}; ip netns add ${ns2};
      ip -n ${emu.netns} link set p1 netns ${ns1}; ip -n ${emu.netns} link set p2 netns ${ns2};
      ip netns exec ${ns1} sysctl -qw net.ipv6.conf.p1.disable_ipv6=1; ip netns exec ${ns2} sysctl -qw net.ipv6.conf.p2.disable_ipv6=1;
      ip netns exec ${ns1} sysctl -qw net.ipv4.neigh.p1.delay_first_probe_time=120; ip netns exec ${ns2} sysctl -qw net.ipv4.neigh.p2.delay_first_probe_time=120;
      ip -n ${ns1} addr add 10.0.0.1/24 dev p1; ip -n ${ns2} addr add 10.0.0.2/24 dev p2;
      ip -n ${ns1} link set p1 up; ip -n ${ns2} link set p2 up`);
    expect(setup).toEqual({ out: '', rc: 0 });
    expect(vs.ofctl('add-flow', 'br0', 'priority=10,arp,actions=NORMAL').rc).toBe(0);
    expect(vs.ofctl('add-flow', 'br0', 'priority=10,ip,actions=NORMAL').rc).toBe(0);
    const ping = sh(`ip netns exec ${ns1} ping -c 3 -i 0.3 10.0.0.2`);
    expect(ping.out).toContain('3 packets transmitted, 3 received, 0% packet loss');
    expect(noise(vs.appctl('dpctl/dump-flows').out)).toBe(noise(kernel('ovs-appctl dpctl/dump-flows')));
    expect(noise(dpctl('dump-flows'))).toBe(noise(kernel('ovs-dpctl dump-flows')));
    expect(dpctl('show')).toBe(kernel('ovs-dpctl show', 1));
  });

  it('with max-idle=1000 the revalidator removes the idle megaflows', async () => {
    expect(vs.vsctl('set', 'Open_vSwitch', '.', 'other_config:max-idle=1000').rc).toBe(0);
    await sleep(3000);
    expect(vs.appctl('dpctl/dump-flows').out).toBe(kernel('ovs-appctl dpctl/dump-flows', 1));
    expect(dpctl('show')).toBe(kernel('ovs-dpctl show', 2));
    expect(vs.appctl('dpif/show-dp-features', 'br0').out).toBe(kernel('ovs-appctl dpif/show-dp-features br0', 1));
    expect(vs.log()).not.toMatch(/\|(WARN|ERR|EMER)\|/);
  }, 30000);

  it('frames injected into p1 with ovs-dpemu inject miss once, then hit the flow vswitchd installed, and reach p2', async () => {
    const mac = (ns: string, dev: string): string => /link\/ether (([0-9a-f]{2}:?){6})/.exec(sh(`ip -n ${ns} -o link show ${dev}`).out)![1].replace(/:/g, '');
    // ICMP echo request 10.0.0.1 → 10.0.0.2 with valid checksums, as ns1 would send it.
    const ip = Buffer.from('450000541234400040010000' + '0a000001' + '0a000002', 'hex');
    const csum = (b: Buffer): number => {
      let s = 0;
      for (let i = 0; i < b.length; i += 2) s += b.readUInt16BE(i);
      while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
      return ~s & 0xffff;
    };
    ip.writeUInt16BE(csum(ip), 10);
    const icmp = Buffer.alloc(64);
    icmp[0] = 8;
    icmp.writeUInt16BE(csum(icmp), 2);
    const frame = Buffer.concat([Buffer.from(mac(ns2, 'p2') + mac(ns1, 'p1') + '0800', 'hex'), ip, icmp]).toString('hex');
    const inject = (n: number): CmdResult => sh(`ip netns exec ${emu.netns} ${process.execPath} ${CLI} inject --socket ${emu.socket} --port p1 --hex ${frame} --count ${n}`);
    const rxNs2 = (): number => Number(/RX:[^\n]*\n\s+\d+\s+(\d+)/.exec(sh(`ip -n ${ns2} -s link show p2`).out)![1]);
    const first = inject(1);
    expect(first).toEqual({ out: '1 frames into p1: hit 0, missed 1, lost 0, dropped 0\n', rc: 0 });
    await sleep(500);
    const rx0 = rxNs2();
    expect(inject(10)).toEqual({ out: '10 frames into p1: hit 10, missed 0, lost 0, dropped 0\n', rc: 0 });
    expect(rxNs2() - rx0).toBe(10);
  });

  it('an OpenFlow drop rule is compiled into a drop megaflow', () => {
    expect(vs.ofctl('add-flow', 'br0', 'priority=100,ip,nw_dst=10.0.0.99,actions=drop').rc).toBe(0);
    sh(`ip -n ${ns1} neigh add 10.0.0.99 lladdr 02:00:00:00:00:99 dev p1`);
    sh(`ip netns exec ${ns1} ping -c 1 -W 1 10.0.0.99`);
    expect(vs.appctl('dpctl/dump-flows').out).toMatch(/ipv4\(dst=10\.0\.0\.99.*actions:drop/);
  });

  it('del-br: vswitchd deletes its datapath', async () => {
    expect(vs.vsctl('del-br', 'br0').rc).toBe(0);
    await sleep(300);
    // ovs-system stays until vswitchd exits on the kernel too; what is left has no ports but port 0.
    expect(dpctl('show')).not.toContain('br0');
  });
});
