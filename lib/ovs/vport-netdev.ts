import * as fs from 'fs';
import createDebug from 'debug';
import { Errno } from '../nl/errno';
import { native, POLL_READABLE, type FdWatcher, type PacketFrame } from '../native';
import { csumFold, csumPartial, CSUM_MANGLED_0 } from './checksum';
import { linkStateOf, type DevStats, type HostDevice, type HostNetdevs, type LinkState, type NetDevice } from './netdev';
import type { Skb } from './skb';
import { vlanPushInside } from './upcall';

const log = createDebug('ovs-dpemu:ovs:vport-netdev');

/** sizeof(struct virtio_net_hdr) and its fields (include/uapi/linux/virtio_net.h), little-endian. */
export const VNET_HDR_LEN = 10;
const VNET_F_NEEDS_CSUM = 1;
const VNET = { flags: 0, gsoType: 1, hdrLen: 2, gsoSize: 4, csumStart: 6, csumOffset: 8 } as const;

/** tpacket_auxdata tp_status bits (include/uapi/linux/if_packet.h). */
const TP_STATUS_VLAN_VALID = 0x10;
const TP_STATUS_VLAN_TPID_VALID = 0x40;
const ETH_P_8021Q = 0x8100;

/** Largest frame read: a 64 KiB GSO super-packet plus its headers. */
const RECV_MAX = 65536 + 256;

/** Gso is the GSO state of a super-packet the device handed over (skb_shinfo gso_type/size). */
export interface Gso {
  /** VIRTIO_NET_HDR_GSO_* (TCPV4 1, UDP 3, TCPV6 4, UDP_L4 5; | 0x80 for ECN). */
  type: number;
  size: number;
  hdrLen: number;
}

/**
 * completeChecksum is skb_checksum_help() for a CHECKSUM_PARTIAL frame: the L4 checksum field
 * (at csumStart + csumOffset) holds the pseudo-header sum; sum from csumStart to the end and
 * store the folded result. The emulator keeps every packet CHECKSUM_NONE (see checksum.ts), and
 * the kernel would do the same before an upcall or a set action on a partial packet.
 * Returns false when the offsets point outside the frame (the frame is then left alone).
 */
// kernel: skb_checksum_help()
export function completeChecksum(frame: Buffer, csumStart: number, csumOffset: number): boolean {
  const at = csumStart + csumOffset;
  if (csumStart >= frame.length || at + 2 > frame.length) return false;
  const sum = csumFold(csumPartial(frame, csumStart));
  frame.writeUInt16BE(sum === 0 ? CSUM_MANGLED_0 : sum, at);
  return true;
}

/**
 * skbSetup turns what the packet socket reported into the skb metadata the datapath sees: the
 * accelerated VLAN tag (skb->vlan_tci/vlan_proto) and the GSO state; partial checksums are
 * completed in place.
 */
export function skbSetup(p: PacketFrame): (skb: Skb) => void {
  const v = p.vnet;
  if (v[VNET.flags] & VNET_F_NEEDS_CSUM) completeChecksum(p.frame, v.readUInt16LE(VNET.csumStart), v.readUInt16LE(VNET.csumOffset));
  const gsoType = v[VNET.gsoType];
  const gso: Gso | undefined = gsoType ? { type: gsoType, size: v.readUInt16LE(VNET.gsoSize), hdrLen: v.readUInt16LE(VNET.hdrLen) } : undefined;
  const vlan = (p.status & TP_STATUS_VLAN_VALID) !== 0;
  return (skb) => {
    if (vlan) {
      skb.vlanTci = p.vlanTci;
      skb.vlanTpid = p.status & TP_STATUS_VLAN_TPID_VALID && p.vlanTpid ? p.vlanTpid : ETH_P_8021Q;
    }
    if (gso) skb.gso = gso;
  };
}

/** vnetHeader is the virtio_net_hdr sent before a frame: no checksum work, GSO kept. */
export function vnetHeader(gso: Gso | undefined): Buffer {
  const h = Buffer.alloc(VNET_HDR_LEN);
  if (gso) {
    h[VNET.gsoType] = gso.type;
    h.writeUInt16LE(gso.hdrLen, VNET.hdrLen);
    h.writeUInt16LE(gso.size, VNET.gsoSize);
  }
  return h;
}

/** A sysctl attaching changed, to put back on detach. */
interface SysctlChange {
  file: string;
  old: string;
}

/**
 * isolate keeps the host's IP stack from acting on frames of an attached device. The kernel's
 * rx_handler consumes them, so the host never routes them; the packet socket only copies them,
 * so per-device forwarding is turned off instead (restored on detach).
 */
function isolate(name: string): SysctlChange[] {
  const changes: SysctlChange[] = [];
  for (const file of [`/proc/sys/net/ipv4/conf/${name}/forwarding`, `/proc/sys/net/ipv6/conf/${name}/forwarding`]) {
    try {
      const old = fs.readFileSync(file, 'utf8').trim();
      if (old !== '0') {
        fs.writeFileSync(file, '0');
        changes.push({ file, old });
      }
    } catch (e) {
      log('%s: %s', file, (e as Error).message);
    }
  }
  return changes;
}

/** NetdevSink receives the frames an attached host device received. */
export type NetdevSink = (dev: NetDevice, frame: Buffer, init: (skb: Skb) => void) => void;

/**
 * NetdevPort is a host interface attached to a datapath (vport-netdev.c) with its traffic: what
 * the device receives enters the datapath, what the datapath outputs to the port the device
 * transmits. Counters are the device's own.
 */
export class NetdevPort implements NetDevice {
  private readonly watcher: FdWatcher;
  private readonly restore: SysctlChange[];
  readonly name: string;
  readonly ifindex: number;

  constructor(private readonly host: HostDevice, private readonly fd: number, sink: NetdevSink, private readonly hostLookup: HostNetdevs['lookup'], onDown?: () => void) {
    this.name = host.name;
    this.ifindex = host.ifindex;
    this.restore = isolate(host.name);
    const nat = native();
    this.watcher = new nat.FdWatcher(fd, () => {
      for (;;) {
        const p = nat.packetRecv(fd, RECV_MAX);
        if (typeof p === 'number') {
          // A frame longer than RECV_MAX was dropped by the read; anything else ends the batch.
          if (p === -Errno.EMSGSIZE) continue;
          // The device went down or was unregistered (packet_notifier sets ENETDOWN before
          // rtnetlink announces it): let the datapath check its ports at once.
          if (p === -Errno.ENETDOWN) onDown?.();
          return;
        }
        sink(this, p.frame, skbSetup(p));
      }
    });
    this.watcher.unref();
    this.watcher.start(POLL_READABLE);
  }

  /** tx errors the datapath counted on the device (ovs_vport_send() over-MTU drops). */
  private txErrors = 0n;

  stats(): DevStats {
    const s = this.host.stats();
    return { ...s, txErrors: s.txErrors + this.txErrors };
  }

  countTxError(): void {
    this.txErrors++;
  }

  /** Running with carrier (a veth whose peer is down has none), and the MTU. */
  linkState(): LinkState {
    return linkStateOf(native().ifState(this.name));
  }

  /** The interface is still ours: same name, same ifindex, in the emulator's namespace. */
  present(): boolean {
    return this.hostLookup(this.name)?.ifindex === this.ifindex;
  }

  /** transmit is dev_queue_xmit() on the device: an accelerated tag goes into the frame. */
  transmit(skb: Skb): void {
    const frame = skb.vlanPresent ? vlanPushInside(skb) : skb.data;
    const rc = native().send(this.fd, Buffer.concat([vnetHeader(skb.gso), frame]));
    if (rc < 0) log('%s: send: errno %d', this.name, -rc);
  }

  destroy(): void {
    this.watcher.close();
    native().close(this.fd);
    for (const c of this.restore) {
      try {
        fs.writeFileSync(c.file, c.old);
      } catch {
        // The device is gone (deleted while attached): nothing to restore.
      }
    }
  }
}

/**
 * attachNetdev opens the device's packet socket; undefined (logged) when that is not possible,
 * e.g. without CAP_NET_RAW: the port then exists without traffic, as in replay. `onDown` is
 * called when the socket reports the device down or gone.
 */
export function attachNetdev(host: HostDevice, sink: NetdevSink, netdevs: HostNetdevs, onDown?: () => void): NetDevice | undefined {
  const fd = native().packetOpen(host.ifindex);
  if (fd < 0) {
    log('%s: packet socket: errno %d; the port carries no traffic', host.name, -fd);
    return undefined;
  }
  return new NetdevPort(host, fd, sink, (name) => netdevs.lookup(name), onDown);
}
