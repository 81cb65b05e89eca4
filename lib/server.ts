import * as fs from 'fs';
import createDebug from 'debug';
import { kmsg, kmsgPath } from './kmsg';
import { Emulator } from './emulator';
import { canCreateTaps, TapDevices } from './ovs/internal-dev';
import { SysfsNetdevs, VirtualDevices } from './ovs/netdev';
import type { Skb } from './ovs/skb';
import { watchLinks } from './ovs/netdev-watch';
import { CaptureRecorder } from './replay/recorder';
import { ShimServer } from './transport/shim-server';

const log = createDebug('ovs-dpemu:server');

/** DeviceMode picks how internal ports exist: TAP devices, in-memory only, or TAP when possible. */
export type DeviceMode = 'auto' | 'tap' | 'virtual';

/** ServerOptions configure a serving emulator. */
export interface ServerOptions {
  socket: string;
  cpus?: number;
  numaNodes?: number;
  devices?: DeviceMode;
  /** Capture file: every datagram in both directions (`.pcapng` → pcapng with port ids, else pcap). */
  record?: string;
}

/** RunningServer is an emulator answering on a socket path. */
export interface RunningServer {
  emulator: Emulator;
  shim: ShimServer;
  deviceMode: 'tap' | 'virtual';
  /** The capture being written (serve --record). */
  recorder?: CaptureRecorder;
  close(): void;
}

/** startServer builds an emulator and serves it to LD_PRELOAD'ed clients at `opts.socket`. */
export function startServer(opts: ServerOptions): RunningServer {
  const host = new SysfsNetdevs();
  const wantTap = opts.devices === 'tap' || (opts.devices !== 'virtual' && canCreateTaps());
  if (opts.devices === 'tap' && !canCreateTaps()) throw new Error('cannot create TAP devices (need CAP_NET_ADMIN and /dev/net/tun)');
  // Frames the host sends into an internal port's TAP enter that port's datapath.
  let receive: (dev: string, frame: Buffer, init?: (skb: Skb) => void) => void = () => undefined;
  const devices = wantTap ? new TapDevices(host, (dev, frame, init) => receive(dev.name, frame, init)) : new VirtualDevices(host);
  const emulator = new Emulator({ cpus: opts.cpus, numaNodes: opts.numaNodes, host, devices });
  receive = (dev, frame, init) => {
    emulator.receiveFrame(dev, frame, init);
  };
  const recorder = opts.record ? new CaptureRecorder(opts.record) : undefined;
  const shim = new ShimServer(emulator, { path: opts.socket, tap: recorder?.tap });
  try {
    shim.listen();
  } catch (e) {
    recorder?.close();
    throw e;
  }
  // Once the socket is ours: the emulated kernel's log, for `ovs-dpemu dmesg` (and a dmesg stand-in: scripts/kernel-selftests).
  const kmsgFile = kmsgPath(opts.socket);
  try {
    kmsg.openFile(kmsgFile);
  } catch (e) {
    log('kernel log %s: %s', kmsgFile, (e as Error).message);
  }
  // DP_MASKS_REBALANCE_INTERVAL: the kernel re-sorts the mask array by hits every 4 s.
  const rebalance = setInterval(() => emulator.rebalanceMasks(), 4000);
  rebalance.unref();
  // Host interfaces attached as netdev ports may be deleted or moved away at any time; the
  // kernel learns it from the netdevice notifier, the emulator from rtnetlink link
  // notifications, and it also looks twice a second in case one was missed (ENOBUFS).
  const links = watchLinks(() => emulator.detachVanishedPorts());
  if (devices instanceof TapDevices) devices.onNetdevDown = () => emulator.detachVanishedPorts();
  const sweep = setInterval(() => emulator.detachVanishedPorts(), 500);
  sweep.unref();
  log('listening on %s (internal ports: %s)', opts.socket, wantTap ? 'tap' : 'virtual');
  return {
    emulator,
    shim,
    deviceMode: wantTap ? 'tap' : 'virtual',
    recorder,
    close() {
      clearInterval(rebalance);
      clearInterval(sweep);
      links?.close();
      // Datapaths go away with the emulator, as with rmmod: their TAP devices are deleted.
      for (const dp of [...emulator.ovs.net.dps]) for (const v of dp.ports.values()) v.destroy();
      shim.close();
      recorder?.close();
      kmsg.closeFile();
      fs.rmSync(kmsgFile, { force: true });
    },
  };
}
