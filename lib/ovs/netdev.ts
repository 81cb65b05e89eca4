import * as fs from 'fs';
import * as path from 'path';
import { Errno } from '../nl/errno';
import { NlError } from '../nl/errors';
import type { Skb } from './skb';

/** DevStats is rtnl_link_stats64's subset that struct ovs_vport_stats reports. */
export interface DevStats {
  rxPackets: bigint; txPackets: bigint; rxBytes: bigint; txBytes: bigint;
  rxErrors: bigint; txErrors: bigint; rxDropped: bigint; txDropped: bigint;
}

export function zeroStats(): DevStats {
  return { rxPackets: 0n, txPackets: 0n, rxBytes: 0n, txBytes: 0n, rxErrors: 0n, txErrors: 0n, rxDropped: 0n, txDropped: 0n };
}

/** NetDevice is the Linux net_device behind a vport. */
export interface NetDevice {
  readonly name: string;
  readonly ifindex: number;
  /** Namespace id to report as OVS_VPORT_ATTR_NETNSID when the device lives elsewhere. */
  readonly netnsid?: number;
  stats(): DevStats;
  /**
   * Re-reads what can change under the emulator (a device moved to another namespace: its
   * ifindex and netnsid). Vport replies call it before they describe the device.
   */
  refresh?(): void;
  /** Release the device (unregister_netdevice for internal/tunnel devices; unlink for host ones). */
  destroy(): void;
  /**
   * Whether the host device behind a netdev vport is still registered in the emulator's
   * namespace (absent: the device belongs to the datapath and cannot vanish on its own).
   */
  present?(): boolean;
  /**
   * What the output path looks at: netif_running() && netif_carrier_ok() (do_output() drops,
   * uncounted, what would go to a device that is down or has no carrier) and the MTU
   * (ovs_vport_send() drops longer non-GSO packets and counts tx_errors). Absent: always
   * running, no MTU check (devices only the emulator sees).
   */
  linkState?(): LinkState;
  /** Counts one tx_errors on the device (dev->stats.tx_errors++), reflected in stats(). */
  countTxError?(): void;
  /** transmit is the device's xmit for a packet the datapath outputs to this port (absent: dropped). */
  transmit?(skb: Skb): void;
}

/** HostDevice is what vport-netdev needs to know about an existing interface. */
export interface HostDevice {
  name: string;
  ifindex: number;
  /** ARPHRD_* of the device (1 = ether, 772 = loopback, 65534 = none). */
  arphrd: number;
  loopback: boolean;
  /** The device already has a master (bridge, bond, another datapath). */
  hasMaster: boolean;
  stats(): DevStats;
}

export const ARPHRD_ETHER = 1;

/** LinkState is a device's state as the datapath's output path reads it. */
export interface LinkState {
  running: boolean;
  mtu: number;
}

/** linkStateOf reads [flags, mtu] (or -errno: not running) as a LinkState. */
export function linkStateOf(s: [number, number] | number): LinkState {
  return typeof s === 'number' ? { running: false, mtu: 0 } : { running: isRunning(s[0]), mtu: s[1] };
}

/** IFF_UP, IFF_RUNNING (include/uapi/linux/if.h). */
const IFF_UP = 0x1;
const IFF_RUNNING = 0x40;

/**
 * isRunning reads netif_running() && netif_carrier_ok() from IFF_* flags (or -errno: not
 * running): IFF_RUNNING is only set on a running device whose operstate is up, which takes
 * the carrier.
 */
export function isRunning(flags: number): boolean {
  return flags >= 0 && (flags & IFF_UP) !== 0 && (flags & IFF_RUNNING) !== 0;
}
export const ARPHRD_LOOPBACK = 772;
export const ARPHRD_NONE = 65534;

/**
 * HostNetdevs answers questions about the interfaces of the emulator's network namespace.
 * SysfsNetdevs reads /sys/class/net; replay uses a model instead (no host set-up needed).
 */
export interface HostNetdevs {
  lookup(name: string): HostDevice | undefined;
  /** Highest ifindex in use, so emulator-made devices get fresh numbers like dev_new_index(). */
  maxIfindex(): number;
}

function readSysfs(dir: string, file: string): string | undefined {
  try {
    return fs.readFileSync(path.join(dir, file), 'utf8').trim();
  } catch {
    return undefined;
  }
}

function sysfsStats(dir: string): DevStats {
  const n = (f: string): bigint => BigInt(readSysfs(path.join(dir, 'statistics'), f) ?? '0');
  return {
    rxPackets: n('rx_packets'), txPackets: n('tx_packets'), rxBytes: n('rx_bytes'), txBytes: n('tx_bytes'),
    rxErrors: n('rx_errors'), txErrors: n('tx_errors'), rxDropped: n('rx_dropped'), txDropped: n('tx_dropped'),
  };
}

/** SysfsNetdevs looks interfaces up in /sys/class/net of the current network namespace. */
export class SysfsNetdevs implements HostNetdevs {
  constructor(private readonly root = '/sys/class/net') {}

  lookup(name: string): HostDevice | undefined {
    if (!name || name.includes('/') || name === '.' || name === '..') return undefined;
    const dir = path.join(this.root, name);
    const ifindex = readSysfs(dir, 'ifindex');
    if (ifindex === undefined) return undefined;
    const arphrd = Number(readSysfs(dir, 'type') ?? ARPHRD_ETHER);
    return {
      name,
      ifindex: Number(ifindex),
      arphrd,
      loopback: (Number(readSysfs(dir, 'flags') ?? 0) & 0x8) !== 0,
      hasMaster: fs.existsSync(path.join(dir, 'master')),
      stats: () => sysfsStats(dir),
    };
  }

  maxIfindex(): number {
    let max = 0;
    for (const n of fs.existsSync(this.root) ? fs.readdirSync(this.root) : []) {
      max = Math.max(max, Number(readSysfs(path.join(this.root, n), 'ifindex') ?? 0));
    }
    return max;
  }
}

/** sysfsDeviceStats reads a device's counters (used for TAP-backed internal ports). */
export function sysfsDeviceStats(name: string): DevStats {
  return sysfsStats(path.join('/sys/class/net', name));
}

/** INT_MAX: ifindexes are positive ints. */
const INT_MAX = 0x7fffffff;

/** IFNAMSIZ - 1: the longest interface name. */
const IFNAMSIZ = 16;

/**
 * validDevName is dev_valid_name(): non-empty, shorter than IFNAMSIZ, not "." or "..", and
 * without '/', ':' or whitespace.
 */
export function validDevName(name: string): boolean {
  if (!name || Buffer.byteLength(name) >= IFNAMSIZ || name === '.' || name === '..') return false;
  return !/[/:\s]/.test(name);
}

/** DeviceFactory creates the devices the datapath owns (internal ports and compat tunnels). */
export interface DeviceFactory {
  /**
   * internal_dev_create(): a netdev named `name` (EEXIST when any interface has it, EINVAL for a
   * bad name). `desiredIfindex` 0 = any.
   */
  createInternal(name: string, desiredIfindex: number): NetDevice;
  /** vxlan/geneve/gretap device of a compat tunnel vport. */
  createTunnel(name: string): NetDevice;
  /**
   * The device of a netdev vport with its traffic (frames in and out); absent, or undefined
   * returned, when the emulator models the port without traffic (replay, no privilege).
   */
  attachHost?(host: HostDevice): NetDevice | undefined;
}

/** A device the emulator keeps in memory: counters only. */
class VirtualDevice implements NetDevice {
  readonly counters = zeroStats();
  constructor(readonly name: string, readonly ifindex: number, private readonly release: () => void) {}
  stats(): DevStats {
    return { ...this.counters };
  }
  /** An internal device delivers the frame to the (absent) host stack: it counts as received. */
  transmit(skb: Skb): void {
    this.counters.rxPackets++;
    this.counters.rxBytes += BigInt(skb.len + (skb.vlanPresent ? 4 : 0));
  }
  destroy(): void {
    this.release();
  }
}

/**
 * VirtualDevices makes internal and tunnel devices that exist only inside the emulator
 * (no CAP_NET_ADMIN, tests, replay). Names and ifindexes are checked against the host's
 * interfaces so that the errno matches what register_netdevice() would say.
 */
export class VirtualDevices implements DeviceFactory {
  private readonly byName = new Map<string, VirtualDevice>();
  private readonly byIndex = new Map<number, VirtualDevice>();
  /** net->ifindex: where dev_index_reserve()'s cyclic search starts (after the last one given). */
  private nextIfindex = 1;

  constructor(readonly host: HostNetdevs) {}

  private register(name: string, desiredIfindex: number): VirtualDevice {
    if (!validDevName(name)) throw new NlError(Errno.EINVAL);
    if (this.byName.has(name) || this.host.lookup(name)) throw new NlError(Errno.EEXIST);
    let ifindex = desiredIfindex;
    if (ifindex) {
      if (this.byIndex.has(ifindex)) throw new NlError(Errno.EBUSY);
    } else {
      // kernel: dev_index_reserve() → xa_alloc_cyclic(): the first free index from net->ifindex
      // on (so a deleted device's index is not reused at once), below INT_MAX, wrapping around.
      // Interfaces made on the host also moved net->ifindex: start above the highest seen.
      ifindex = Math.max(this.nextIfindex, this.host.maxIfindex() + 1);
      while (this.byIndex.has(ifindex) || ifindex > INT_MAX) ifindex = ifindex >= INT_MAX ? 1 : ifindex + 1;
      this.nextIfindex = ifindex + 1;
    }
    const dev = new VirtualDevice(name, ifindex, () => {
      this.byName.delete(name);
      this.byIndex.delete(ifindex);
    });
    this.byName.set(name, dev);
    this.byIndex.set(ifindex, dev);
    return dev;
  }

  createInternal(name: string, desiredIfindex: number): NetDevice {
    return this.register(name, desiredIfindex);
  }

  createTunnel(name: string): NetDevice {
    return this.register(name, 0);
  }

  /** lookup finds a device the emulator made (so netdev vports can refuse OVS internal devices). */
  lookup(name: string): NetDevice | undefined {
    return this.byName.get(name);
  }
}
