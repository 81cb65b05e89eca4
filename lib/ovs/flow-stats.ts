/**
 * Per-flow statistics kept per simulated NUMA node, as Linux 3.15–4.8 kept them
 * (net/openvswitch/flow.c before per-CPU stats): the node-0 shard is allocated with the flow,
 * other nodes get a shard lazily on their first update — unless allocating it fails, in which
 * case the update lands in node 0's shard (allocation never blocks the packet path).
 */

/** NUMA_NO_NODE: no node has written yet. */
const NUMA_NO_NODE = -1;

/** A shard: struct flow_stats. Counters are doubles (exact to 2^53) and leave as bigint. */
interface Shard {
  packets: number;
  bytes: number;
  /** CLOCK_MONOTONIC milliseconds of the last update; 0 = never. */
  used: number;
  tcpFlags: number;
}

/** FlowStatsTotals is what ovs_flow_stats_get() sums up. */
export interface FlowStatsTotals {
  packets: bigint;
  bytes: bigint;
  /** Monotonic ms of the latest use, 0 when never used. */
  used: number;
  tcpFlags: number;
}

/** ShardAllocator decides whether a lazy shard can be had (GFP_NOWAIT may fail). */
export type ShardAllocator = (node: number) => boolean;

const alwaysAllocate: ShardAllocator = () => true;

/** FlowStats is flow->stats[] plus stats_last_writer. */
export class FlowStats {
  /** stats[0], preallocated with the flow. */
  private readonly node0: Shard = { packets: 0, bytes: 0, used: 0, tcpFlags: 0 };
  /** stats[1..], allocated on first use from that node. */
  private others?: (Shard | undefined)[];
  private lastWriter = NUMA_NO_NODE;

  /** shardCount tells how many shards exist (tests and memory accounting). */
  get shardCount(): number {
    return 1 + (this.others?.filter((s) => s).length ?? 0);
  }

  // kernel: ovs_flow_stats_update() (NUMA version)
  update(node: number, len: number, tcpFlags: number, nowMs: number, alloc: ShardAllocator = alwaysAllocate): void {
    let stats = node === 0 ? this.node0 : this.others?.[node];
    if (stats) {
      if (node === 0 && this.lastWriter !== node) this.lastWriter = node;
    } else {
      stats = this.node0;
      if (this.lastWriter !== node) {
        if (this.lastWriter !== NUMA_NO_NODE && alloc(node)) {
          (this.others ??= [])[node] = { packets: 1, bytes: len, used: nowMs, tcpFlags };
          return;
        }
        this.lastWriter = node;
      }
    }
    stats.used = nowMs;
    stats.packets++;
    stats.bytes += len;
    stats.tcpFlags |= tcpFlags;
  }

  // kernel: ovs_flow_stats_get()
  read(): FlowStatsTotals {
    let packets = this.node0.packets;
    let bytes = this.node0.bytes;
    let used = this.node0.used;
    let tcpFlags = this.node0.tcpFlags;
    for (const s of this.others ?? []) {
      if (!s) continue;
      packets += s.packets;
      bytes += s.bytes;
      if (s.used > used) used = s.used;
      tcpFlags |= s.tcpFlags;
    }
    return { packets: BigInt(packets), bytes: BigInt(bytes), used, tcpFlags };
  }

  // kernel: ovs_flow_stats_clear()
  clear(): void {
    for (const s of [this.node0, ...(this.others ?? [])]) {
      if (!s) continue;
      s.packets = 0;
      s.bytes = 0;
      s.used = 0;
      s.tcpFlags = 0;
    }
  }
}

/** CpuTopology maps simulated CPUs to NUMA nodes (contiguous blocks, like most machines). */
export class CpuTopology {
  constructor(readonly cpus: number, readonly numaNodes: number) {
    if (cpus < 1 || numaNodes < 1 || numaNodes > cpus) throw new RangeError(`bad topology: ${cpus} CPUs, ${numaNodes} nodes`);
  }

  nodeOf(cpu: number): number {
    return Math.floor((cpu * this.numaNodes) / this.cpus);
  }

  /** cpuForHash is RSS: a flow hash picks the receiving CPU. */
  cpuForHash(hash: number): number {
    return (hash >>> 0) % this.cpus;
  }
}

/** MonotonicClock returns CLOCK_MONOTONIC in ms (what OVS's time_msec() reads). */
export type MonotonicClock = () => number;

export const monotonicMs: MonotonicClock = () => Number(process.hrtime.bigint() / 1000000n);

/**
 * usedTime is ovs_flow_used_time(): the kernel reports `used` as the current monotonic time
 * with seconds truncated to u32, minus the idle time.
 */
export function usedTime(usedMs: number, nowMs: number): bigint {
  const cur = BigInt(Math.floor(nowMs / 1000) >>> 0) * 1000n + BigInt(Math.floor(nowMs % 1000));
  return cur - BigInt(Math.max(0, Math.floor(nowMs - usedMs)));
}
