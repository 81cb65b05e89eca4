import { randomInt } from 'crypto';
import * as os from 'os';
import createDebug from 'debug';
import { NETLINK_GENERIC } from './nl/constants';
import { Errno } from './nl/errno';
import { Genetlink } from './genl/genetlink';
import { ctrlHandlers } from './genl/ctrl';
import { loadSchemas } from './schema/load';
import type { SchemaRegistry } from './schema/model';
import { OvsNet } from './ovs/datapath';
import { datapathHandlers } from './ovs/datapath-family';
import { vportHandlers } from './ovs/vport-family';
import { ovsDpNotify } from './ovs/dp-notify';
import { flowHandlers } from './ovs/flow-family';
import { meterHandlers } from './ovs/meter-family';
import { ctLimitHandlers } from './ovs/ct-limit-family';
import { kernelFlowCodec } from './ovs/flow-codec-kernel';
import { CpuTopology, monotonicMs, type MonotonicClock } from './ovs/flow-stats';
import { ConnTracker } from './ovs/conntrack-exec';
import { PacketPath } from './ovs/dp-process';
import { packetHandlers } from './ovs/packet-family';
import { ovsMeterExecute } from './ovs/meter';
import type { OvsContext } from './ovs/context';
import { SysfsNetdevs, VirtualDevices, type DeviceFactory, type HostNetdevs } from './ovs/netdev';
import type { VportTypes } from './ovs/vport';
import type { Skb } from './ovs/skb';
import { Session, type SessionHost } from './transport/session';
import { InjectOutcome, SocketError, type DatagramSink, type NetlinkEndpoint, type NlSocket, type PeerCred } from './transport/transport';
import { psampleHandlers, psampleSampleMessage } from './psample/psample';

const log = createDebug('ovs-dpemu:emulator');

/** EmulatorOptions configure one emulator instance. */
export interface EmulatorOptions {
  /** Simulated CPU count (nr_cpu_ids); defaults to the host's. */
  cpus?: number;
  /** Interfaces of the namespace the datapath lives in (netdev vports). */
  host?: HostNetdevs;
  /** Maker of internal and tunnel devices (TAP when privileged, virtual otherwise). */
  devices?: DeviceFactory;
  /** Folder of the YAML schemas (tests may point elsewhere). */
  schemaDir?: string;
  /** CLOCK_MONOTONIC in ms (flow `used` times); tests and replay inject their own. */
  clock?: MonotonicClock;
  /** Simulated NUMA nodes (flow stats shards); CPUs are split into contiguous blocks. */
  numaNodes?: number;
  /**
   * max_meters_allowed of each datapath (OVS_METER_ATTR_MAX_METERS); default: the kernel's
   * formula on this machine's RAM (200000 with more than ~420 MB).
   */
  maxMeters?: number;
}

/**
 * Emulator is one emulated kernel: the generic netlink bus with nlctrl and the OVS families,
 * the datapaths of one network namespace, and the netlink sockets of its clients. It holds no
 * process-global state, so tests can run many side by side.
 */
export class Emulator implements NetlinkEndpoint, SessionHost {
  readonly registry: SchemaRegistry;
  readonly genl: Genetlink;
  readonly ovs: OvsContext;
  readonly nrCpus: number;
  readonly topology: CpuTopology;
  readonly conntrack: ConnTracker;
  readonly packets: PacketPath;
  private readonly ports = new Map<number, Session>();
  private readonly groups = new Map<number, Set<Session>>();

  constructor(opts: EmulatorOptions = {}) {
    this.registry = loadSchemas(opts.schemaDir);
    this.genl = new Genetlink(this.registry);
    this.nrCpus = opts.cpus ?? os.cpus().length;
    const host = opts.host ?? new SysfsNetdevs();
    const devices = opts.devices ?? new VirtualDevices(host);
    const vportFamily = this.registry.family('ovs_vport');
    const typeOf = (t: string): number => vportFamily.enumValue('vport-type', t);
    const types: VportTypes = {
      netdev: typeOf('netdev'), internal: typeOf('internal'), gre: typeOf('gre'), vxlan: typeOf('vxlan'), geneve: typeOf('geneve'),
    };
    const net = new OvsNet();
    const upcallPidSpec = vportFamily.set('vport').byName.get('upcall-pid');
    if (!upcallPidSpec) throw new Error('ovs_vport schema lacks upcall-pid');
    this.ovs = {
      net,
      dpFamily: this.registry.family('ovs_datapath'),
      vportFamily,
      vportEnv: {
        types, devices, host, nrCpus: this.nrCpus,
        ownDevice: (name) => {
          const found = net.locateVport(name);
          if (!found || found.vport.type === types.netdev) return undefined;
          return found.vport.type === types.internal ? 'internal' : 'tunnel';
        },
        attachedHostDevs: new Map(),
        optionSet: vportFamily.set('vport-options'),
        upcallPidSpec,
      },
      maxMeters: opts.maxMeters,
    };
    this.genl.register('nlctrl', ctrlHandlers(this.genl));
    const psampleFamily = this.registry.family('psample');
    const psamplePackets = psampleFamily.mcastGroups.find((g) => g.name === 'packets')?.id ?? 0;
    this.genl.register('psample', psampleHandlers(psampleFamily));
    this.genl.register('ovs_datapath', datapathHandlers(this.ovs));
    this.genl.register('ovs_vport', vportHandlers(this.ovs));
    const flowFamily = this.registry.family('ovs_flow');
    this.genl.register('ovs_flow', flowHandlers({ net, family: flowFamily, codec: kernelFlowCodec(flowFamily), clock: opts.clock }));
    this.genl.register('ovs_meter', meterHandlers({ net, family: this.registry.family('ovs_meter'), clock: opts.clock }));
    this.genl.register('ovs_ct_limit', ctLimitHandlers({ family: this.registry.family('ovs_ct_limit'), limits: net.ctLimit }));
    const clock = opts.clock ?? monotonicMs;
    this.conntrack = new ConnTracker({ now: clock, limits: net.ctLimit, log: (m) => log('conntrack: %s', m) });
    this.topology = new CpuTopology(this.nrCpus, opts.numaNodes ?? 1);
    const packetFamily = this.registry.family('ovs_packet');
    this.packets = new PacketPath({
      net, packetFamily, topology: this.topology, conntrack: this.conntrack, clock,
      deliver: (portid, dgram) => this.lookupPortid(portid)?.deliverFromKernel(dgram) ?? Errno.ECONNREFUSED,
      meter: (dp, id, skb, key, now) => ovsMeterExecute(dp, skb, key, id, now),
      psample: (dp, skb, info) => {
        // psample_sample_packet() returns at once when nobody listens on "packets".
        const members = [...this.groupMembers(psamplePackets)];
        if (!members.length) return;
        const md = { inIfindex: dp.ports.get(info.inPort)?.dev.ifindex ?? 0, truncSize: info.truncSize, userCookie: info.cookie, rateAsProbability: true };
        const realtimeNs = BigInt(Date.now()) * 1000000n;
        const msg = psampleSampleMessage(psampleFamily, { groupNum: info.group, seq: 0 }, skb.data, skb.protocol, info.rate, md, realtimeNs);
        for (const s of members) s.deliverBroadcast(msg);
      },
    });
    this.genl.register('ovs_packet', packetHandlers(net, packetFamily, this.packets));
  }

  /**
   * rebalanceMasks is ovs_dp_masks_rebalance(): every datapath's masks sorted by the hits they
   * had since the last call. The server calls it every DP_MASKS_REBALANCE_INTERVAL (4 s).
   */
  rebalanceMasks(): void {
    for (const dp of this.ovs.net.dps) dp.table.rebalance();
  }

  /**
   * detachVanishedPorts removes netdev vports whose interface was deleted or moved away and
   * multicasts their OVS_VPORT_CMD_DEL, as the kernel's netdevice notifier does. The server
   * calls it periodically; returns the names of the ports detached.
   */
  detachVanishedPorts(): string[] {
    return ovsDpNotify(this.ovs, (group, dgram) => {
      for (const s of this.groupMembers(group)) s.deliverBroadcast(dgram);
    });
  }

  /**
   * receiveFrame is a frame arriving on the device `dev` (an internal port's TAP: the host
   * transmitted it; an attached netdev: it received it): the vport owning the device hands it
   * to its datapath. `init` sets skb metadata the device reported (accelerated VLAN tag, GSO).
   */
  receiveFrame(devName: string, frame: Buffer, init?: (skb: Skb) => void): number {
    const found = this.ovs.net.locateVport(devName);
    if (!found) return Errno.ENODEV;
    return this.packets.receive(found.dp, found.vport, frame, init);
  }

  /** inject runs a frame through the vport `port` (see NetlinkEndpoint.inject). */
  inject(cred: PeerCred, port: string, frame: Buffer): number {
    if (!cred.netAdmin) return -Errno.EPERM;
    const found = this.ovs.net.locateVport(port);
    if (!found) return -Errno.ENODEV;
    const s = found.dp.stats;
    const [hit, lost] = [s.nHit, s.nLost];
    if (this.packets.receive(found.dp, found.vport, Buffer.from(frame))) return InjectOutcome.Dropped;
    if (s.nHit !== hit) return InjectOutcome.Hit;
    return s.nLost !== lost ? InjectOutcome.Lost : InjectOutcome.Missed;
  }

  /** openSocket is socket(AF_NETLINK, …, NETLINK_GENERIC) for a client. */
  openSocket(cred: PeerCred, protocol: number, sink: DatagramSink): NlSocket {
    if (protocol !== NETLINK_GENERIC) throw new SocketError(Errno.EPROTONOSUPPORT, `netlink protocol ${protocol} is not emulated`);
    return new Session(this, cred, sink);
  }

  claimPortid(s: Session, portid: number): void {
    const p = portid >>> 0;
    if (this.ports.has(p)) throw new SocketError(Errno.EADDRINUSE, `port id ${p} in use`);
    this.ports.set(p, s);
    s.portid = p;
  }

  /** autobindPortid is netlink_autobind(): the tgid first, then random negative ids. */
  autobindPortid(s: Session): number {
    let p = s.cred.pid >>> 0;
    while (!p || this.ports.has(p)) p = (-randomInt(4097, 0x7fffffff)) >>> 0;
    this.ports.set(p, s);
    s.portid = p;
    log('socket %d bound to port id %d', s.id, p);
    return p;
  }

  releasePortid(s: Session): void {
    if (this.ports.get(s.portid) === s) this.ports.delete(s.portid);
  }

  lookupPortid(portid: number): Session | undefined {
    return this.ports.get(portid >>> 0);
  }

  join(s: Session, group: number): void {
    let m = this.groups.get(group);
    if (!m) this.groups.set(group, (m = new Set()));
    m.add(s);
    s.groups.add(group);
  }

  leave(s: Session, group: number): void {
    this.groups.get(group)?.delete(s);
    s.groups.delete(group);
  }

  groupMembers(group: number): Iterable<Session> {
    return this.groups.get(group) ?? [];
  }
}
