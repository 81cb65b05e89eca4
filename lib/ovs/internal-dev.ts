import { randomBytes } from 'crypto';
import createDebug from 'debug';
import { Errno } from '../nl/errno';
import { NlError } from '../nl/errors';
import { native, POLL_READABLE, type FdWatcher } from '../native';
import type { Skb } from './skb';
import { vlanPushInside } from './upcall';
import { linkStateOf, sysfsDeviceStats, validDevName, zeroStats, type LinkState, VirtualDevices, type DeviceFactory, type DevStats, type HostDevice, type HostNetdevs, type NetDevice } from './netdev';
import { attachNetdev } from './vport-netdev';

const log = createDebug('ovs-dpemu:ovs:internal-dev');

/**
 * MTU range of an OVS internal device: ETH_MIN_MTU..ETH_MAX_MTU (68..65535). A TAP device stops
 * at MAX_MTU - ETH_HLEN = 65521 (drivers/net/tun.c), so TAP-backed ports refuse 65522..65535.
 */
export const INTERNAL_MTU = { min: 68, max: 65535, tapMax: 65521, default: 1500 } as const;

/** linkStats64 reads the leading fields of struct rtnl_link_stats64 (host byte order). */
export function linkStats64(b: Buffer): DevStats {
  const u = (i: number): bigint => b.readBigUInt64LE(i * 8);
  return {
    rxPackets: u(0), txPackets: u(1), rxBytes: u(2), txBytes: u(3),
    rxErrors: u(4), txErrors: u(5), rxDropped: u(6), txDropped: u(7),
  };
}

/** randomMac is eth_hw_addr_random(): unicast, locally administered. */
export function randomMac(): Buffer {
  const mac = randomBytes(6);
  mac[0] = (mac[0] & 0xfe) | 0x02;
  return mac;
}

/**
 * FrameSink receives frames entering the datapath from a device: those the host sent into an
 * internal port, and those an attached netdev received (`init` sets their skb metadata).
 */
export type FrameSink = (dev: NetDevice, frame: Buffer, init?: (skb: Skb) => void) => void;

/**
 * TapDevice is an OVS internal port made real: a TAP device, so that clients' ioctls and
 * rtnetlink calls on it (flags, MTU, MAC, stats) succeed.
 */
export class TapDevice implements NetDevice {
  private readonly watcher: FdWatcher;
  /** Where refresh() last found the device: its namespace id (undefined: ours) and ifindex. */
  private seen: { nsid?: number; ifindex: number };

  constructor(readonly name: string, private readonly createdIfindex: number, private readonly fd: number, sink: FrameSink) {
    const nat = native();
    this.watcher = new nat.FdWatcher(fd, () => {
      for (;;) {
        const frame = nat.read(fd, 65536 + 14);
        if (typeof frame === 'number') return;
        sink(this, frame);
      }
    });
    this.watcher.unref();
    this.watcher.start(POLL_READABLE);
    this.seen = { ifindex: createdIfindex };
  }

  /**
   * refresh looks where the device lives now: a client may move it (`ip link set p1 netns
   * ns1`), which keeps its ifindex unless the target namespace has it in use. Vport replies
   * call it first; the hot paths (dp_ifindex of every request and upcall) read what it found.
   */
  refresh(): void {
    const nat = native();
    const id = nat.tapNetnsId(this.fd);
    const nsid = id === null || id < 0 ? undefined : id;
    const link = nsid === undefined ? undefined : nat.tapLink(this.fd);
    this.seen = { nsid, ifindex: link !== undefined && typeof link !== 'number' ? link.ifindex : this.createdIfindex };
  }

  /**
   * netnsid is OVS_VPORT_ATTR_NETNSID: set when the device was moved to another namespace, as
   * peernet2id() gives it (as of the last refresh()).
   */
  get netnsid(): number | undefined {
    return this.seen.nsid;
  }

  /** dev->ifindex (as of the last refresh()). */
  get ifindex(): number {
    return this.seen.ifindex;
  }

  /**
   * The device's own counters: host tx is datapath rx (internal_dev's view). A device moved to
   * another namespace is asked for there (the kernel's vport keeps reading dev_get_stats()).
   */
  stats(): DevStats {
    let s: DevStats;
    if (this.netnsid === undefined) {
      s = sysfsDeviceStats(this.name);
    } else {
      const link = native().tapLink(this.fd);
      s = typeof link === 'number' ? zeroStats() : linkStats64(link.stats);
    }
    s.txErrors += this.txErrors;
    return s;
  }

  /**
   * Running with carrier, and the MTU. Asked by name in our namespace; a device moved away
   * (ENODEV here) is asked for where it lives now.
   */
  linkState(): LinkState {
    const nat = native();
    const st = nat.ifState(this.name);
    if (st !== -Errno.ENODEV) return linkStateOf(st);
    const link = nat.tapLink(this.fd);
    return typeof link === 'number' ? linkStateOf(link) : linkStateOf([link.flags, link.mtu]);
  }

  /** tx errors the datapath counted on the device (ovs_vport_send() over-MTU drops). */
  private txErrors = 0n;

  countTxError(): void {
    this.txErrors++;
  }


  /** send writes a frame into the host side (the datapath's output to this port). */
  send(frame: Buffer): boolean {
    return native().write(this.fd, frame) === frame.length;
  }

  /** transmit is internal_dev_recv(): the frame (with any accelerated tag pushed in) to the host. */
  transmit(skb: Skb): void {
    this.send(skb.vlanPresent ? vlanPushInside(skb) : skb.data);
  }

  destroy(): void {
    this.watcher.close();
    native().close(this.fd);
  }
}

/**
 * TapDevices creates internal ports as TAP devices (needs CAP_NET_ADMIN); compat tunnel ports
 * stay virtual. A desired ifindex cannot be honoured for TAP devices and is ignored.
 */
export class TapDevices implements DeviceFactory {
  private readonly virtual: VirtualDevices;
  private readonly taps = new Map<string, TapDevice>();

  /** Called when an attached netdev reports going down or away (the server re-checks its ports). */
  onNetdevDown?: () => void;

  constructor(readonly host: HostNetdevs, private readonly sink: FrameSink = () => undefined) {
    this.virtual = new VirtualDevices(host);
  }

  // kernel: internal_dev_create()
  createInternal(name: string, _desiredIfindex: number): NetDevice {
    if (!validDevName(name)) throw new NlError(Errno.EINVAL);
    if (this.host.lookup(name) || this.virtual.lookup(name)) throw new NlError(Errno.EEXIST);
    const nat = native();
    const tap = nat.tapCreate(name);
    if (typeof tap === 'number') {
      log('tapCreate %s: errno %d', name, -tap);
      throw new NlError(-tap === Errno.EBUSY || -tap === Errno.EEXIST ? Errno.EEXIST : Errno.ENOMEM);
    }
    nat.setMac(tap.name, randomMac());
    const dev = new TapDevice(tap.name, tap.ifindex, tap.fd, this.sink);
    const destroy = dev.destroy.bind(dev);
    dev.destroy = () => {
      this.taps.delete(name);
      destroy();
    };
    this.taps.set(name, dev);
    return dev;
  }

  createTunnel(name: string): NetDevice {
    if (this.taps.has(name)) throw new NlError(Errno.EEXIST);
    return this.virtual.createTunnel(name);
  }

  /** A netdev vport's device carries traffic through a packet socket (vport-netdev.ts). */
  attachHost(host: HostDevice): NetDevice | undefined {
    return attachNetdev(host, this.sink, this.host, () => this.onNetdevDown?.());
  }
}

/** canCreateTaps tells whether this process may create TAP devices (root, /dev/net/tun). */
export function canCreateTaps(): boolean {
  try {
    const nat = native();
    const probe = nat.tapCreate('dpemuprobe%d');
    if (typeof probe === 'number') return false;
    nat.close(probe.fd);
    return true;
  } catch {
    return false;
  }
}
