/**
 * Unmodified ovs-vswitchd 3.1.0 with veth (system) ports on the emulator, step by step against
 * what the same steps printed on the real Linux 6.12 module
 * (test/captures/kernel-6.12-vswitchd-veth.out.txt, script scripts/vswitchd-veth.sh): the veth
 * ends attached as netdev vports carry the pings between two namespaces (upcalls, megaflows,
 * hits), port counters are the veths' own, and deleting a veth under vswitchd detaches its
 * port with the OVS_VPORT_CMD_DEL multicast vswitchd reacts to (it drops the port and the
 * megaflows that used it, and logs the one warning the kernel run logged).
 * Normalised: MAC addresses and `used:` times (random per run), dump-flows line order.
 */
import * as fs from 'fs';
import * as path from 'path';
import { isRoot, REPO, ServedEmulator } from '../helpers/served';
import { dumpNoise, kernelOutputs, sh, sleep, Vswitchd } from '../helpers/vswitchd';

const TRANSCRIPT = path.join(REPO, 'test', 'captures', 'kernel-6.12-vswitchd-veth.out.txt');
const kernel = kernelOutputs(TRANSCRIPT);
const noise = dumpNoise;
/** The WARN/ERR/EMER lines of a vswitchd log without timestamp and sequence number. */
const problems = (log: string): string[] => log.split('\n')
  .filter((l) => /\|(WARN|ERR|EMER)\|/.test(l)).map((l) => l.replace(/^[^|]*\|\d+\|/, ''));

const maybe = isRoot() ? describe : describe.skip;

maybe('ovs-vswitchd with veth ports on the emulator, against the 6.12 kernel transcript', () => {
  const emu = new ServedEmulator('vsv');
  let vs: Vswitchd;
  const ns1 = `${emu.netns}-1`;
  const ns2 = `${emu.netns}-2`;
  const dpctl = (...a: string[]): string => emu.run(['ovs-dpctl', ...a]).out;

  beforeAll(async () => {
    await emu.start();
    // As in the oracle's initial namespace: no IPv6 on new interfaces (no RS/DAD into the datapath).
    expect(emu.sh(['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']).rc).toBe(0);
    vs = new Vswitchd(emu);
    vs.start();
  }, 60000);
  afterAll(async () => {
    vs?.stop();
    await emu.stop();
    sh(`ip netns del ${ns1}; ip netns del ${ns2}`);
  });

  it('veth pairs into two namespaces; br0 with the host ends as system ports', async () => {
    const setup = sh(`set -e; ip netns add ${ns1}; ip netns add ${ns2};
      ip -n ${emu.netns} link add va1 type veth peer name vb1 netns ${ns1};
      ip -n ${emu.netns} link add va2 type veth peer name vb2 netns ${ns2};
      ip netns exec ${ns1} sysctl -qw net.ipv6.conf.vb1.disable_ipv6=1; ip netns exec ${ns2} sysctl -qw net.ipv6.conf.vb2.disable_ipv6=1;
      ip netns exec ${ns1} sysctl -qw net.ipv4.neigh.vb1.delay_first_probe_time=120; ip netns exec ${ns2} sysctl -qw net.ipv4.neigh.vb2.delay_first_probe_time=120;
      ip -n ${ns1} addr add 10.0.0.1/24 dev vb1; ip -n ${ns2} addr add 10.0.0.2/24 dev vb2;
      ip -n ${ns1} link set vb1 up; ip -n ${ns2} link set vb2 up;
      ip -n ${emu.netns} link set va1 up; ip -n ${emu.netns} link set va2 up`);
    expect(setup).toEqual({ out: '', rc: 0 });
    expect(vs.vsctl('add-br', 'br0').rc).toBe(0);
    for (const p of ['va1', 'va2']) expect(vs.vsctl('add-port', 'br0', p).rc).toBe(0);
    await sleep(500);
    expect(vs.appctl('dpif/show').out).toBe(kernel('ovs-appctl dpif/show'));
    expect(dpctl('show')).toBe(kernel('ovs-dpctl show'));
  });

  it('3 pings from ns1 to ns2 over the veths: the same upcalls, megaflows and counters as on the kernel', () => {
    expect(vs.ofctl('add-flow', 'br0', 'priority=10,arp,actions=NORMAL').rc).toBe(0);
    expect(vs.ofctl('add-flow', 'br0', 'priority=10,ip,actions=NORMAL').rc).toBe(0);
    const ping = sh(`ip netns exec ${ns1} ping -c 3 -i 0.3 10.0.0.2`);
    expect(ping.out).toContain('3 packets transmitted, 3 received, 0% packet loss');
    expect(noise(vs.appctl('dpctl/dump-flows').out)).toBe(noise(kernel('ovs-appctl dpctl/dump-flows')));
    expect(noise(dpctl('dump-flows'))).toBe(noise(kernel('ovs-dpctl dump-flows')));
    expect(dpctl('show')).toBe(kernel('ovs-dpctl show', 1));
  });

  it('port counters are the veths\' own: ovs-ofctl dump-ports and ovs-dpctl show -s', () => {
    expect(vs.ofctl('dump-ports', 'br0', 'va1').out).toBe(kernel('ovs-ofctl dump-ports br0 va1'));
    expect(vs.ofctl('dump-ports', 'br0', 'va2').out).toBe(kernel('ovs-ofctl dump-ports br0 va2'));
    expect(dpctl('show', '-s')).toBe(kernel('ovs-dpctl show -s'));
  });

  it('a veth deleted under vswitchd: the port leaves the datapath, vswitchd drops it and its flows', async () => {
    expect(emu.sh(['ip', 'link', 'del', 'va2'])).toEqual({ out: '', rc: 0 });
    await sleep(2000);
    expect(dpctl('show')).toBe(kernel('ovs-dpctl show', 2));
    expect(vs.appctl('dpif/show').out).toBe(kernel('ovs-appctl dpif/show', 1));
    const kernelLog = problems(fs.readFileSync(TRANSCRIPT, 'utf8').split('## vswitchd log\n')[1] ?? '');
    expect(kernelLog).toEqual(['bridge|WARN|could not open network device va2 (No such device)']);
    // vswitchd hears of the deletion twice, from rtnetlink (RTM_DELLINK) and from the datapath
    // (OVS_VPORT_CMD_DEL). The kernel's notifier work usually lands first and vswitchd tries to
    // reopen va2 once; the emulator learns of it from the same rtnetlink message vswitchd gets,
    // so vswitchd may reconfigure (and warn) once per message. Same warnings, maybe repeated.
    expect([...new Set(problems(vs.log()))]).toEqual(kernelLog);
  });

  it('del-br: vswitchd deletes br0 and detaches va1 (promiscuity back to 0)', async () => {
    expect(vs.vsctl('del-br', 'br0').rc).toBe(0);
    await sleep(300);
    expect(dpctl('show')).not.toContain('br0');
    expect(emu.sh(['ip', '-d', 'link', 'show', 'va1']).out).toMatch(/promiscuity 0 /);
  });
});
