/**
 * Typed access to the `ovsdpemu.node` addon: thin syscall wrappers (libuv fd polling,
 * SOCK_SEQPACKET unix sockets, TAP devices, setns). The addon holds no policy; functions return
 * `-errno` (a negative number) instead of throwing, so callers treat `EAGAIN` as an ordinary
 * answer. Argument type errors do throw (`TypeError`): they are programming errors.
 */
import * as os from 'os';
import * as path from 'path';
import { packageRoot } from '../paths';

export { packageRoot };

/** Poll event bits for {@link FdWatcher.start} (libuv's `UV_READABLE`…). */
export const POLL_READABLE = 1;
/** Writable readiness. */
export const POLL_WRITABLE = 2;
/** Peer hang-up (EPOLLRDHUP); readable is reported alongside on sockets. */
export const POLL_DISCONNECT = 4;

/** Credentials the kernel recorded for the peer of a unix socket at connect time (SO_PEERCRED). */
export interface UnixPeerCred {
  pid: number;
  uid: number;
  gid: number;
}

/** A TAP device opened with IFF_TAP|IFF_NO_PI; closing `fd` deletes the (non-persistent) device. */
export interface TapDevice {
  fd: number;
  ifindex: number;
  /** The name the kernel gave the device (differs from the request when it held `%d`). */
  name: string;
}

/** Callback of an {@link FdWatcher}: `events` is a POLL_* mask, `status` 0 or a negative errno. */
export type FdWatcherCallback = (events: number, status: number) => void;

/**
 * FdWatcher reports readiness of a file descriptor from the libuv loop (`uv_poll_t`).
 * It does not own the fd: call {@link FdWatcher.close} before closing the fd.
 */
export interface FdWatcher {
  /** Starts (or changes) polling for the POLL_* mask. Returns 0 or a negative errno. */
  start(events: number): number;
  /** Stops polling; the watcher can be started again. */
  stop(): void;
  /** Stops polling for good and releases the libuv handle (synchronously unregisters the fd). */
  close(): void;
  /** Makes an active watcher keep the process alive (the default). */
  ref(): void;
  /** Lets the process exit even while this watcher is active. */
  unref(): void;
}

/** Constructor of {@link FdWatcher}: throws if the fd cannot be polled or is already watched. */
export interface FdWatcherConstructor {
  new (fd: number, callback: FdWatcherCallback): FdWatcher;
}

/** PacketFrame is a frame read from an AF_PACKET socket with its metadata. */
export interface PacketFrame {
  /** struct virtio_net_hdr (10 bytes, host order): checksum and GSO state of the skb. */
  vnet: Buffer;
  frame: Buffer;
  /** tpacket_auxdata tp_status (TP_STATUS_VLAN_VALID, TP_STATUS_VLAN_TPID_VALID, …). */
  status: number;
  vlanTci: number;
  vlanTpid: number;
}

/** The raw addon surface (what `build/Release/ovsdpemu.node` exports). */
export interface NativeBinding {
  FdWatcher: FdWatcherConstructor;
  /** Non-blocking, close-on-exec SOCK_SEQPACKET listener bound to `path`. fd or -errno. */
  seqpacketListen(path: string, backlog?: number): number;
  /** Non-blocking, close-on-exec SOCK_SEQPACKET connection to `path`. fd or -errno. */
  seqpacketConnect(path: string): number;
  /** accept4(SOCK_NONBLOCK|SOCK_CLOEXEC). fd or -errno (-EAGAIN when none is pending). */
  accept(fd: number): number;
  /** SO_PEERCRED of a connected unix socket, or -errno. */
  peerCred(fd: number): UnixPeerCred | number;
  /** One datagram, MSG_DONTWAIT|MSG_NOSIGNAL. Bytes sent or -errno (-EAGAIN: queue full). */
  send(fd: number, buf: Uint8Array): number;
  /**
   * One datagram, MSG_DONTWAIT. A zero-length Buffer means the peer hung up; a datagram longer
   * than `maxLen` is consumed and reported as -EMSGSIZE.
   */
  recv(fd: number, maxLen: number): Buffer | number;
  /** SO_SNDBUFFORCE, falling back to SO_SNDBUF. 0 or -errno. */
  setSndBuf(fd: number, bytes: number): number;
  /** close(2). 0 or -errno. */
  close(fd: number): number;
  /** Creates a TAP device (non-blocking fd), or -errno. */
  tapCreate(name: string): TapDevice | number;
  /** SIOCSIFHWADDR. 0 or -errno. */
  setMac(name: string, mac: Buffer): number;
  /** SIOCSIFMTU. 0 or -errno. */
  setMtu(name: string, mtu: number): number;
  /** SIOCGIFFLAGS: IFF_* flags or -errno. */
  getIfFlags(name: string): number;
  /** SIOCSIFFLAGS. 0 or -errno. */
  setIfFlags(name: string, flags: number): number;
  /** SIOCGIFFLAGS and SIOCGIFMTU in one call: [IFF_* flags, mtu] or -errno. */
  ifState(name: string): [number, number] | number;
  /** SIOCGIFINDEX: ifindex or -errno. */
  ifIndex(name: string): number;
  /** read(2) of one frame, or -errno. */
  read(fd: number, max: number): Buffer | number;
  /** write(2) of one frame: bytes or -errno. */
  write(fd: number, buf: Uint8Array): number;
  /**
   * The nsid (peernet2id) of the namespace a TAP device lives in, seen from ours: null when it
   * is in our namespace, -errno on failure.
   */
  tapNetnsId(fd: number): number | null;
  /**
   * AF_PACKET socket bound to `ifindex` for a netdev vport: promiscuous, PACKET_VNET_HDR,
   * PACKET_AUXDATA, blind to outgoing frames. fd or -errno. Send with {@link send} (virtio_net_hdr
   * then the frame).
   */
  packetOpen(ifindex: number): number;
  /** One received frame of a {@link packetOpen} socket, or -errno (-EAGAIN: none queued). */
  packetRecv(fd: number, max: number): PacketFrame | number;
  /**
   * Where a TAP device is now, in whatever namespace it was moved to: its name, ifindex, IFF_*
   * flags (ifi_flags) and the first eight u64 counters of rtnl_link_stats64 (rx/tx packets, bytes, errors, dropped).
   */
  tapLink(fd: number): { name: string; ifindex: number; flags: number; mtu: number; stats: Buffer } | number;
  /** setns(open(path), CLONE_NEWNET) on the calling (main) thread. 0 or -errno. */
  setnsNet(path: string): number;
}

/** Error carrying the errno of a failed native call, thrown by {@link check}. */
export class NativeError extends Error {
  constructor(readonly errno: number, readonly call: string) {
    super(`${call}: ${errnoName(errno)} (errno ${errno})`);
    this.name = 'NativeError';
  }
}

/** errno → name; for aliases the name netlink code uses wins (EAGAIN, EOPNOTSUPP). */
const ERRNO_NAMES: ReadonlyMap<number, string> = (() => {
  const m = new Map<number, string>();
  for (const [k, v] of Object.entries(os.constants.errno)) if (!m.has(v)) m.set(v, k);
  for (const k of ['EAGAIN', 'EOPNOTSUPP', 'EDEADLK'] as const) m.set(os.constants.errno[k], k);
  return m;
})();

/** Symbolic name of a positive errno (`11` → `EAGAIN`), or `errno N` if unknown. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(errno) ?? `errno ${errno}`;
}

/** Returns `ret` unless it is a negative errno, in which case throws {@link NativeError}. */
export function check<T>(ret: T | number, call: string): T {
  if (typeof ret === 'number' && ret < 0) throw new NativeError(-ret, call);
  return ret as T;
}


let binding: NativeBinding | undefined;

/** Loads (once) and returns the addon. Throws if it has not been built (`npx node-gyp rebuild`). */
export function native(): NativeBinding {
  if (binding === undefined) {
    const file = path.join(packageRoot(), 'build', 'Release', 'ovsdpemu.node');
    const loaded: unknown = require(file);
    binding = loaded as NativeBinding;
  }
  return binding;
}
