/**
 * The Linux 6.12 kernel's own Open vSwitch selftests (openvswitch.sh with ovs-dpctl.py, from
 * Debian's linux-source-6.12) run against the emulator through scripts/kernel-selftests: veth
 * pairs into namespaces as netdev ports, ping/arping/nc traffic through flows the script
 * installs, conntrack with zones, SNAT/DNAT and ICMP related state, MISS upcalls to the
 * script's listener, netlink attribute checks with the OVS_NLERR lines they log. On the real
 * module each prints `[ OK ]`; so must the emulator.
 *
 * ct_connect_v4 and nat_connect_v4 take about two minutes each: both expect one TCP connect
 * to be dropped, and nc waits out the SYN retries (the same on the kernel).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { isRoot, REPO } from '../helpers/served';
import { LINUX_SOURCE } from '../helpers/selftest-dpctl';

const SCRIPT = path.join(REPO, 'scripts', 'kernel-selftests');
const maybe = isRoot() && fs.existsSync(LINUX_SOURCE) ? describe : describe.skip;

const CASES: [string, string, number][] = [
  ['arp_ping', 'eth-arp: Basic arp ping between two NS', 60],
  ['connect_v4', 'ip4-xon: Basic ipv4 ping between two NS', 60],
  ['upcall_interfaces', 'ovs: test the upcall interfaces', 60],
  ['nat_related_v4', 'ip4-nat-related: ICMP related matches work with SNAT', 60],
  // Reads the kernel log (dmesg: the emulator's, through a stand-in) for OVS_NLERR lines.
  ['netlink_checks', 'ovsnl: validate netlink attrs and settings', 60],
  // psample action samples multicast on the psample family's "packets" group.
  ['psample', 'psample: Sampling packets with psample', 60],
  ['ct_connect_v4', 'ip4-ct-xon: Basic ipv4 tcp connection using ct', 360],
  ['nat_connect_v4', 'ip4-nat-xon: Basic ipv4 tcp connection via NAT', 360],
];

maybe('Linux 6.12 selftests/net/openvswitch against the emulator', () => {
  it.each(CASES)('%s', (name, desc, secs) => {
    const r = spawnSync(SCRIPT, [name], { encoding: 'utf8', timeout: secs * 1000 });
    const out = `${r.stdout}${r.stderr}`;
    const verdicts = out.split('\n').filter((l) => l.startsWith('TEST: ') && !l.includes('[START]'));
    expect({ verdicts, rc: r.status }).toEqual({ verdicts: [`TEST: ${desc.padEnd(60)}  [ OK ]`], rc: 0 });
  }, 370000);
});
