import createDebug from 'debug';
import { Errno } from '../nl/errno';
import type { FamilySpec } from '../schema/model';
import { ActionExecState, type CtExec, type ExecEnv, type PsampleInfo, type UpcallInfo } from './actions-env';
import { ovsExecuteActions } from './actions';
import type { Datapath, OvsNet } from './datapath';
import { OVSP_LOCAL } from './datapath';
import type { FlowActions } from './flow-actions-buffer';
import { newSwFlowKey, SWKEY } from './flow-key';
import { monotonicMs, type CpuTopology, type MonotonicClock } from './flow-stats';
import { newFlowHashSeed, ovsFlowKeyExtract, ovsFlowKeyUpdate, skbGetHash, skbGetHashSymmetric } from './flow';
import type { Flow, FlowTable } from './flow-table';
import { Skb } from './skb';
import { buildUpcall, type UpcallSink } from './upcall';
import { skbGsoSegment } from './gso';
import type { Vport } from './vport';
import { ctFillKey } from './conntrack-exec';
import { kmsg, Ratelimit } from '../kmsg';

/** pr_info_ratelimited()'s state in ovs_dp_get_upcall_portid(). */
const cpuMismatch = new Ratelimit('ovs_dp_get_upcall_portid');
/** net_warn_ratelimited()'s state (net_ratelimit) for over-MTU drops. */
const overMtuWarn = new Ratelimit('net_ratelimit');

/**
 * packetLength is packet_length(): the frame without its Ethernet header, and without a VLAN
 * tag still in the data (an accelerated tag is not in skb->len).
 */
// kernel: packet_length()
function packetLength(skb: Skb): number {
  const ethType = skb.data.length >= 14 ? skb.data.readUInt16BE(12) : 0;
  const inband = !skb.vlanPresent && (ethType === 0x8100 || ethType === 0x88a8);
  return Math.max(0, skb.len - 14 - (inband ? 4 : 0));
}

const log = createDebug('ovs-dpemu:ovs:dp-process');

/** VLAN_HLEN: an accelerated tag still counts in the flow's byte stats. */
const VLAN_HLEN = 4;

/** PacketPathDeps is what the packet path needs from the emulator. */
export interface PacketPathDeps {
  net: OvsNet;
  packetFamily: FamilySpec;
  /** genlmsg_unicast() of an upcall to a port id: 0 or a positive errno. */
  deliver: UpcallSink;
  topology: CpuTopology;
  conntrack: CtExec;
  clock?: MonotonicClock;
  random?: () => number;
  /** ovs_meter_execute(): true when the meter drops the packet. */
  meter?: (dp: Datapath, id: number, skb: Skb, key: Buffer, nowMs: number) => boolean;
  /** psample_sample_packet() for the psample action (absent: a kernel without CONFIG_PSAMPLE). */
  psample?: (dp: Datapath, skb: Skb, info: PsampleInfo) => void;
}

/**
 * PacketPath is the datapath's receive and execute path (datapath.c ovs_dp_process_packet,
 * ovs_dp_upcall, vport.c ovs_vport_receive/ovs_vport_send): key extraction, megaflow lookup
 * with the mask cache, per-NUMA flow stats, action execution, and MISS/ACTION upcalls to the
 * port ids the datapath was configured with. Packets are attributed to a simulated CPU by
 * their flow hash, as an RSS NIC spreads them.
 */
export class PacketPath {
  private readonly state = new ActionExecState();
  private readonly seed = newFlowHashSeed();
  private readonly now: MonotonicClock;
  private readonly random: () => number;

  constructor(private readonly d: PacketPathDeps) {
    this.now = d.clock ?? monotonicMs;
    this.random = d.random ?? (() => Math.floor(Math.random() * 0x100000000));
  }

  /** receive is ovs_vport_receive(): a frame arriving on `vport` of `dp`. Returns 0 or an errno. */
  // kernel: ovs_vport_receive()
  receive(dp: Datapath, vport: Vport, frame: Buffer, init?: (skb: Skb) => void): number {
    const skb = new Skb(frame);
    skb.inputPort = vport.portNo;
    init?.(skb);
    this.assignCpu(skb);
    const key = newSwFlowKey();
    const err = ovsFlowKeyExtract(skb, key, { inPort: vport.portNo, ctFillKey });
    if (err) return -err;
    this.process(dp, skb, key);
    return 0;
  }

  /** assignCpu spreads packets over the simulated CPUs by flow hash (RSS). */
  private assignCpu(skb: Skb): void {
    skb.cpu = this.d.topology.cpuForHash(skbGetHash(skb, this.seed));
  }

  // kernel: ovs_dp_process_packet()
  process(dp: Datapath, skb: Skb, key: Buffer): void {
    const table = dp.table as FlowTable<FlowActions>;
    const r = table.lookupStats(key, skbGetHash(skb, this.seed), skb.cpu, key.readUInt32LE(SWKEY.recircId.off));
    if (!r.flow) {
      const portid = this.missPortid(dp, skb);
      this.upcall(dp, skb, key, { cmd: 'miss', portid, mru: skb.mru, cutlen: 0xffffffff, actsOrigLen: 0 });
      dp.stats.nMissed++;
    } else {
      this.statsUpdate(r.flow, skb, key);
      this.execute(dp, skb, r.flow.actions, key);
      dp.stats.nHit++;
    }
    dp.stats.nMaskHit += BigInt(r.nMaskHit);
    dp.stats.nCacheHit += BigInt(r.nCacheHit);
  }

  /** statsUpdate is ovs_flow_stats_update() on the NUMA node of the packet's CPU. */
  private statsUpdate(flow: Flow<FlowActions>, skb: Skb, key: Buffer): void {
    const len = skb.len + (skb.vlanPresent ? VLAN_HLEN : 0);
    const tcpFlags = key.readUInt16BE(SWKEY.tpFlags.off);
    flow.stats.update(this.d.topology.nodeOf(skb.cpu), len, tcpFlags, this.now());
  }

  // kernel: ovs_dp_get_upcall_portid() / ovs_vport_find_upcall_portid()
  private missPortid(dp: Datapath, skb: Skb): number {
    if (dp.userFeatures & dp.perCpuFlag) return this.perCpuPortid(dp, skb.cpu);
    const vport = dp.ports.get(skb.inputPort) ?? dp.ports.get(OVSP_LOCAL);
    const ids = vport?.upcallPids ?? [];
    if (ids.length <= 1) return ids[0] ?? 0;
    return ids[(skbGetHash(skb, this.seed) >>> 0) % ids.length];
  }

  private perCpuPortid(dp: Datapath, cpu: number): number {
    const pids = dp.perCpuPids;
    if (!pids?.length) return 0;
    if (cpu < pids.length) return pids[cpu];
    // More CPUs than handler pids: the kernel logs it (ratelimited) and picks one anyway.
    if (cpuMismatch.allow()) kmsg.print('openvswitch: cpu_id mismatch with handler threads');
    return pids[cpu % pids.length];
  }

  /** upcall is ovs_dp_upcall(): 0 or a positive errno; failures count n_lost. */
  // kernel: ovs_dp_upcall()
  upcall(dp: Datapath, skb: Skb, key: Buffer, info: UpcallInfo): number {
    let err = 0;
    if (info.portid === 0) {
      err = Errno.ENOTCONN;
    } else {
      // A GSO super-packet (from a netdev port) is segmented first, one upcall per segment.
      for (const seg of skb.gso ? skbGsoSegment(skb) ?? [skb] : [skb]) {
        const msg = buildUpcall(this.d.packetFamily, dp, (dp.userFeatures & dp.unalignedFlag) !== 0, seg, key, info);
        err = typeof msg === 'number' ? msg : this.d.deliver(info.portid, msg);
        if (err) break;
      }
      const vport = dp.ports.get(skb.inputPort);
      if (vport) {
        if (err) vport.upcallFail++;
        else vport.upcallSuccess++;
      }
    }
    if (err) {
      dp.stats.nLost++;
      log('%s: upcall %s to port id %d lost: errno %d', dp.name, info.cmd, info.portid, err);
    }
    return err;
  }

  /** execute is ovs_execute_actions() with this datapath as the environment. */
  execute(dp: Datapath, skb: Skb, acts: FlowActions, key: Buffer): void {
    ovsExecuteActions(this.env(dp), skb, acts, key);
  }

  private env(dp: Datapath): ExecEnv {
    return {
      output: (portNo, skb) => this.output(dp, portNo, skb),
      upcall: (skb, key, info) => this.upcall(dp, skb, key, info),
      recirc: (skb, key) => this.process(dp, skb, key),
      meter: (id, skb) => this.d.meter?.(dp, id, skb, Buffer.alloc(0), this.now()) ?? false,
      psample: this.d.psample && ((skb, info) => this.d.psample!(dp, skb, info)),
      random: this.random,
      conntrack: this.d.conntrack,
      now: this.now,
      state: this.state,
      keyUpdate: (skb, key) => ovsFlowKeyUpdate(skb, key),
      skbHash: { get: (skb) => skbGetHash(skb, this.seed), symmetric: (skb) => skbGetHashSymmetric(skb, this.seed) },
      upcallPortid: (skb) => (dp.userFeatures & dp.perCpuFlag ? this.perCpuPortid(dp, skb.cpu) : undefined),
      dpName: dp.name,
      log: (m) => log('%s: %s', dp.name, m),
    };
  }

  /** output is ovs_vport_send(): the vport's device transmits the frame (drops if it cannot). */
  // kernel: do_output() → ovs_vport_send()
  private output(dp: Datapath, portNo: number, skb: Skb): void {
    const vport = dp.ports.get(portNo);
    if (!vport) return;
    const dev = vport.dev;
    const st = dev.linkState?.();
    // do_output() sends only to a running device with carrier, else drops uncounted.
    if (st && !st.running) return;
    if (st && !skb.gso) {
      const len = packetLength(skb);
      if (len > st.mtu) {
        dev.countTxError?.();
        // vport.c has no pr_fmt: no "openvswitch: " prefix.
        if (overMtuWarn.allow()) kmsg.print(`${dev.name}: dropped over-mtu packet: ${len} > ${st.mtu}`);
        return;
      }
    }
    dev.transmit?.(skb);
  }

}
