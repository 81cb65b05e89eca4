/** TAP-backed internal ports (needs root): MAC, MTU range, drops while down, errno on clashes. */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import { native } from '../../../lib/native';
import { INTERNAL_MTU, TapDevices, type TapDevice } from '../../../lib/ovs/internal-dev';
import { SysfsNetdevs } from '../../../lib/ovs/netdev';
import { NlError } from '../../../lib/nl/errors';
import { isRoot } from '../../helpers/served';

const IFF_UP = 1;
const maybe = isRoot() ? describe : describe.skip;

maybe('TapDevices', () => {
  const devs = new TapDevices(new SysfsNetdevs());
  const name = `dpi${process.pid % 100000}`;
  let dev: TapDevice;

  beforeAll(() => {
    dev = devs.createInternal(name, 0) as TapDevice;
  });
  afterAll(() => dev?.destroy());

  it('is a real interface with a random unicast, locally administered MAC', () => {
    expect(Number(fs.readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8'))).toBe(dev.ifindex);
    const mac = fs.readFileSync(`/sys/class/net/${name}/address`, 'utf8').trim();
    expect(parseInt(mac.slice(0, 2), 16) & 0x03).toBe(0x02);
  });

  it('MTU: 68 and 65521 (TAP\'s ceiling) are accepted, 67 refused', () => {
    const nat = native();
    expect(nat.setMtu(name, INTERNAL_MTU.min)).toBe(0);
    expect(nat.setMtu(name, INTERNAL_MTU.tapMax)).toBe(0);
    expect(nat.setMtu(name, INTERNAL_MTU.min - 1)).toBe(-22);
    expect(nat.setMtu(name, INTERNAL_MTU.default)).toBe(0);
  });

  it('frames sent while the device is down are dropped and counted; up, they arrive', () => {
    const frame = Buffer.alloc(60, 0xab);
    expect(dev.send(frame)).toBe(false);
    expect(dev.stats().rxDropped).toBe(1n);
    const nat = native();
    expect(nat.setIfFlags(name, nat.getIfFlags(name) | IFF_UP)).toBe(0);
    expect(dev.send(frame)).toBe(true);
    expect(dev.stats().rxPackets).toBe(1n);
    expect(dev.stats().rxBytes).toBe(60n);
  });

  it('a second device with the same name → EEXIST; a bad name → EINVAL', () => {
    expect(() => devs.createInternal(name, 0)).toThrow(expect.objectContaining({ errno: 17 }) as NlError);
    expect(() => devs.createInternal('bad name', 0)).toThrow(expect.objectContaining({ errno: 22 }) as NlError);
  });

  it('destroy deletes the interface', () => {
    const other = devs.createInternal(`${name}x`, 0);
    expect(fs.existsSync(`/sys/class/net/${name}x`)).toBe(true);
    other.destroy();
    expect(fs.existsSync(`/sys/class/net/${name}x`)).toBe(false);
  });
});

/**
 * An internal port moved to another namespace (`ip link set p1 netns ns1`, as OpenStack and
 * OVN do with their router and pod ports) is still the vport's device: the kernel keeps
 * reporting its counters and its ifindex there, and the namespace's id as NETNSID.
 */
maybe('TapDevice moved to another namespace', () => {
  const devs = new TapDevices(new SysfsNetdevs());
  const name = `dpm${process.pid % 100000}`;
  const ns = `dpemu-move-${process.pid}`;
  let dev: TapDevice;
  const inNs = (cmd: string): string => execFileSync('ip', ['netns', 'exec', ns, 'sh', '-c', cmd], { encoding: 'utf8' }).trim();

  beforeAll(() => {
    execFileSync('ip', ['netns', 'add', ns]);
    dev = devs.createInternal(name, 0) as TapDevice;
  });
  afterAll(() => {
    dev?.destroy();
    execFileSync('ip', ['netns', 'del', ns]);
  });

  it('before the move: no NETNSID, the counters of our namespace', () => {
    expect(dev.netnsid).toBeUndefined();
    expect(dev.ifindex).toBe(Number(fs.readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8')));
  });

  it('after the move: NETNSID is the id `ip netns list-id` shows, ifindex and counters come from there', () => {
    execFileSync('ip', ['link', 'set', name, 'netns', ns]);
    expect(fs.existsSync(`/sys/class/net/${name}`)).toBe(false);
    // What a vport reply does first: look where the device lives now.
    dev.refresh();
    const ids = execFileSync('ip', ['netns', 'list-id'], { encoding: 'utf8' });
    const id = new RegExp(`nsid (\\d+) \\(iproute2 netns name: ${ns}\\)`).exec(ids);
    expect(id).not.toBeNull();
    expect(dev.netnsid).toBe(Number(id![1]));
    // No IPv6 on it: router solicitations would change tx counters between the two reads.
    inNs(`echo 1 > /proc/sys/net/ipv6/conf/${name}/disable_ipv6 && ip link set ${name} up`);
    for (let i = 0; i < 3; i++) expect(dev.send(Buffer.alloc(60 + i, 0xcd))).toBe(true);
    const sys = (f: string): bigint => BigInt(inNs(`cat /sys/class/net/${name}/statistics/${f}`));
    const s = dev.stats();
    expect(s.rxPackets).toBe(3n);
    expect(s.rxBytes).toBe(183n);
    expect(s).toEqual({
      rxPackets: sys('rx_packets'), txPackets: sys('tx_packets'), rxBytes: sys('rx_bytes'), txBytes: sys('tx_bytes'),
      rxErrors: sys('rx_errors'), txErrors: sys('tx_errors'), rxDropped: sys('rx_dropped'), txDropped: sys('tx_dropped'),
    });
    expect(dev.ifindex).toBe(Number(inNs(`cat /sys/class/net/${name}/ifindex`)));
  });
});
