/** TAP-backed internal ports (needs root): MAC, MTU range, drops while down, errno on clashes. */
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
