/**
 * The host a capture was taken on, modelled from the capture alone: the interfaces it attached
 * as `netdev` vports (names from vport NEW requests, ifindexes from the kernel's replies), the
 * ifindexes the kernel gave each internal device (datapath local ports, `internal` vports), and
 * the network namespace moves its vport replies reveal (OVS_VPORT_ATTR_NETNSID), and the
 * interfaces that vanished while attached (the kernel's unsolicited OVS_VPORT_CMD_DEL, port id
 * and seq 0, from its netdevice notifier). Replay needs nothing of the machine it runs on.
 */
import { NLMSG_ERROR, NLMSG_HDRLEN } from '../nl/constants';
import type { NlMessage } from '../nl/message';
import { ARPHRD_ETHER, VirtualDevices, zeroStats, type DeviceFactory, type HostDevice, type HostNetdevs, type NetDevice } from '../ovs/netdev';
import type { Skb } from '../ovs/skb';
import type { SchemaRegistry } from '../schema/model';
import { attrsOf, cString, type Capture } from './replay-capture';
import { familyIdIn, type Exchange } from './replay-exchanges';

/** Payload start of an OVS message: nlmsghdr, genlmsghdr, ovs_header. */
const OVS_ATTRS_AT = NLMSG_HDRLEN + 4 + 4;
const ENODEV = 19;
const EINVAL = 22;
const EBUSY = 16;
/** OVS_VPORT_CMD_DEL (include/uapi/linux/openvswitch.h). */
const OVS_VPORT_CMD_DEL = 2;

/** OvsView reads the few OVS attributes the host model needs, with numbers from the schemas. */
interface OvsView {
  dpId: number; vportId: number;
  dpName: number; vName: number; vType: number; vIfindex: number; vNetnsid: number;
  typeNetdev: number; typeInternal: number;
}

function view(reg: SchemaRegistry, cap: Capture): OvsView {
  const idOf = (name: string): number => familyIdIn(cap, name) ?? reg.family(name).familyId;
  const vport = reg.family('ovs_vport');
  const vs = vport.set('vport');
  const num = (set: typeof vs, n: string): number => set.byName.get(n)?.type ?? -1;
  return {
    dpId: idOf('ovs_datapath'), vportId: idOf('ovs_vport'),
    dpName: num(reg.family('ovs_datapath').set('datapath'), 'name'),
    vName: num(vs, 'name'), vType: num(vs, 'type'), vIfindex: num(vs, 'ifindex'), vNetnsid: num(vs, 'netnsid'),
    typeNetdev: vport.enumValue('vport-type', 'netdev'), typeInternal: vport.enumValue('vport-type', 'internal'),
  };
}

interface OvsMsg { type: number; cmd: number; dpIfindex: number; attrs: Map<number, Buffer> }

function ovsMsg(m: NlMessage): OvsMsg | undefined {
  if (m.bytes.length < OVS_ATTRS_AT) return undefined;
  const attrs = new Map<number, Buffer>();
  for (const a of attrsOf(m.bytes, OVS_ATTRS_AT)) attrs.set(a.type, a.payload);
  return { type: m.type, cmd: m.bytes[NLMSG_HDRLEN], dpIfindex: m.bytes.readInt32LE(NLMSG_HDRLEN + 4), attrs };
}

const u32 = (b: Buffer | undefined): number | undefined => (b && b.length >= 4 ? b.readUInt32LE(0) : undefined);

/** errnoOf is the errno of an NLMSG_ERROR reply among `replies` (0 for an ACK), or undefined. */
function errnoOf(ex: Exchange): number | undefined {
  for (const r of ex.replies) for (const m of r.messages) if (m.type === NLMSG_ERROR && m.bytes.length >= 20) return -m.bytes.readInt32LE(16);
  return undefined;
}

/**
 * CaptureHost is the HostNetdevs model plus the plans for internal devices. An interface exists
 * when the capture shows it as a netdev vport, or when the request being replayed attaches it
 * and the kernel did not answer ENODEV; its flags follow that answer (EINVAL: loopback or not
 * Ethernet, EBUSY: enslaved elsewhere), since the emulator looks devices up in the same order.
 */
export class CaptureHost implements HostNetdevs {
  private readonly netdevs = new Map<string, HostDevice>();
  /** Ifindexes of netdev vports in the kernel's replies. */
  private readonly netdevIfindex = new Map<string, number>();
  /** Ifindexes the kernel gave each successive internal device of a name. */
  private readonly plans = new Map<string, number[]>();
  /** (record index, NETNSID or undefined) of every vport message naming a device, in capture order. */
  private readonly nsid = new Map<string, [number, number | undefined][]>();
  private maxSeen = 1;
  /** Record index of the request being replayed (namespace moves are looked up from there). */
  private position = 0;
  /** Names the request being replayed attaches as netdev vports, and the kernel's errno for it. */
  private attaching = new Set<string>();
  private errno: number | undefined;
  private readonly netdevNews = new Map<Exchange, string[]>();
  /** Record index of each unsolicited vport DEL (the interface vanished), with its name. */
  private readonly vanished: [number, string][] = [];

  constructor(reg: SchemaRegistry, cap: Capture, exchanges: Exchange[]) {
    const v = view(reg, cap);
    const recIndex = new Map(cap.records.map((r, i) => [r, i]));
    cap.records.forEach((r, i) => {
      if (r.request) return;
      for (const m of r.messages) {
        const o = m.type === v.vportId ? ovsMsg(m) : undefined;
        const name = o?.attrs.get(v.vName);
        if (!o || !name) continue;
        const n = cString(name);
        const ifindex = u32(o.attrs.get(v.vIfindex));
        if (ifindex) this.maxSeen = Math.max(this.maxSeen, ifindex);
        if (ifindex && u32(o.attrs.get(v.vType)) === v.typeNetdev) this.netdevIfindex.set(n, ifindex);
        if (o.cmd === OVS_VPORT_CMD_DEL && m.pid === 0 && m.seq === 0) this.vanished.push([i, n]);
        const ns = o.attrs.get(v.vNetnsid);
        push(this.nsid, n, [i, ns && ns.length >= 4 ? ns.readInt32LE(0) : undefined]);
      }
    });
    for (const [name] of this.netdevIfindex) this.device(name);
    for (const ex of exchanges) {
      for (const m of ex.request.messages) {
        const o = m.type === v.vportId || m.type === v.dpId ? ovsMsg(m) : undefined;
        if (!o || o.cmd !== 1) continue;
        const isDp = m.type === v.dpId;
        const nameAttr = o.attrs.get(isDp ? v.dpName : v.vName);
        if (!nameAttr) continue;
        const name = cString(nameAttr);
        const type = isDp ? v.typeInternal : u32(o.attrs.get(v.vType));
        if (type === v.typeNetdev) push(this.netdevNews, ex, name);
        else if (type === v.typeInternal && !errnoOf(ex)) {
          const ifindex = this.createdIfindex(cap, recIndex.get(ex.request) ?? 0, name, isDp, v);
          if (ifindex) push(this.plans, name, ifindex);
        }
      }
    }
  }

  /** enter tells the model which request is being replayed (record index `at`). */
  enter(ex: Exchange, at: number): void {
    this.position = at;
    // Interfaces whose disappearance the capture showed before this request are gone.
    while (this.vanished.length && this.vanished[0][0] < at) this.netdevs.delete(this.vanished.shift()![1]);
    this.attaching = new Set(this.netdevNews.get(ex) ?? []);
    this.errno = this.attaching.size ? errnoOf(ex) : undefined;
  }

  private device(name: string): HostDevice {
    const known = this.netdevs.get(name);
    if (known) return known;
    const ifindex = this.netdevIfindex.get(name) ?? ++this.maxSeen;
    const answered = (errno: number): boolean => this.attaching.has(name) && this.errno === errno;
    const dev: HostDevice = {
      name, ifindex, arphrd: ARPHRD_ETHER, stats: zeroStats,
      get loopback() {
        return answered(EINVAL);
      },
      get hasMaster() {
        return answered(EBUSY);
      },
    };
    this.netdevs.set(name, dev);
    return dev;
  }

  /** createdIfindex finds the ifindex of the device a NEW at record `from` created, in the replies that follow. */
  private createdIfindex(cap: Capture, from: number, name: string, isDp: boolean, v: OvsView): number | undefined {
    for (let i = from + 1; i < cap.records.length; i++) {
      const r = cap.records[i];
      if (r.request) continue;
      for (const m of r.messages) {
        const o = m.type === (isDp ? v.dpId : v.vportId) ? ovsMsg(m) : undefined;
        const n = o?.attrs.get(isDp ? v.dpName : v.vName);
        if (!o || !n || cString(n) !== name) continue;
        const ifindex = isDp ? o.dpIfindex : u32(o.attrs.get(v.vIfindex));
        if (ifindex) return ifindex;
      }
    }
    return undefined;
  }

  lookup(name: string): HostDevice | undefined {
    if (this.netdevs.has(name)) return this.netdevs.get(name);
    return this.attaching.has(name) && this.errno !== ENODEV ? this.device(name) : undefined;
  }

  maxIfindex(): number {
    return this.maxSeen;
  }

  /** plannedIfindex takes the ifindex the kernel gave the next internal device called `name`. */
  plannedIfindex(name: string): number {
    return this.plans.get(name)?.shift() ?? 0;
  }

  /** netnsid is the NETNSID the kernel reported next for `name` after the current position. */
  netnsid(name: string): number | undefined {
    const l = this.nsid.get(name);
    if (!l) return undefined;
    let lo = 0;
    let hi = l.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (l[mid][0] <= this.position) lo = mid + 1;
      else hi = mid;
    }
    return (l[lo] ?? l[l.length - 1])[1];
  }

  /** netdevNames lists the modelled interfaces (for reports). */
  netdevNames(): string[] {
    return [...this.netdevs.keys()];
  }
}

function push<K, V>(map: Map<K, V[]>, k: K, v: V): void {
  const l = map.get(k);
  if (l) l.push(v);
  else map.set(k, [v]);
}

/** A device of the replay: a virtual device whose namespace follows the capture. */
class ReplayDevice implements NetDevice {
  constructor(private readonly inner: NetDevice, private readonly host: CaptureHost) {}
  get name(): string {
    return this.inner.name;
  }
  get ifindex(): number {
    return this.inner.ifindex;
  }
  get netnsid(): number | undefined {
    return this.host.netnsid(this.inner.name);
  }
  stats() {
    return this.inner.stats();
  }
  destroy(): void {
    this.inner.destroy();
  }
  transmit(skb: Skb): void {
    this.inner.transmit?.(skb);
  }
}

/**
 * ReplayDevices makes internal and tunnel devices in memory, giving each internal device the
 * ifindex the kernel gave it in the capture (a desired ifindex in the request still wins).
 */
export class ReplayDevices implements DeviceFactory {
  private readonly virtual: VirtualDevices;

  constructor(private readonly host: CaptureHost) {
    this.virtual = new VirtualDevices(host);
  }

  createInternal(name: string, desiredIfindex: number): NetDevice {
    const planned = desiredIfindex || this.host.plannedIfindex(name);
    return new ReplayDevice(this.virtual.createInternal(name, planned), this.host);
  }

  createTunnel(name: string): NetDevice {
    return new ReplayDevice(this.virtual.createTunnel(name), this.host);
  }
}
