import { Errno } from '../nl/errno';
import { NlError } from '../nl/errors';
import { CtLimitInfo } from './ct-limit';
import { FlowTable } from './flow-table';
import { MeterTable } from './meter';
import type { Vport } from './vport';

/** OVSP_LOCAL: the datapath's own internal port. */
export const OVSP_LOCAL = 0;
/** DP_MAX_PORTS (USHRT_MAX, datapath.h): port numbers are below this (65535 itself is EINVAL/EFBIG). */
export const DP_MAX_PORTS = 0xffff;
/** DP_VPORT_HASH_BUCKETS: the port hash the kernel dumps in bucket order. */
const DP_VPORT_HASH_BUCKETS = 1024;
/** MC_DEFAULT_HASH_ENTRIES: default masks-cache size. */
export const MC_DEFAULT_HASH_ENTRIES = 256;
/** PCPU_MIN_UNIT_SIZE / sizeof(struct mask_cache_entry): the largest masks cache. */
const MC_MAX_ENTRIES = 32768 / 8;

/** DpStats are the per-CPU datapath counters summed (struct dp_stats_percpu). */
export interface DpStats {
  nHit: bigint;
  nMissed: bigint;
  nLost: bigint;
  nMaskHit: bigint;
  nCacheHit: bigint;
}

/** Datapath is struct datapath: ports, features, upcall pids, counters. */
export class Datapath {
  userFeatures = 0;
  /** The megaflow table; actions are stored in the flow codec's converted form. */
  readonly table: FlowTable<unknown>;
  /** Per-CPU upcall pids (OVS_DP_ATTR_PER_CPU_PIDS), set only in per-CPU dispatch mode. */
  perCpuPids?: number[];
  readonly ports = new Map<number, Vport>();
  /** Insertion sequence per port, to reproduce hlist head insertion order within a hash bucket. */
  private readonly portSeq = new Map<number, number>();
  private nextSeq = 0;
  readonly stats: DpStats = { nHit: 0n, nMissed: 0n, nLost: 0n, nMaskHit: 0n, nCacheHit: 0n };
  /** dp->meter_tbl (ovs_meters_init()); `maxMeters` defaults to the kernel's RAM-based formula. */
  readonly meters: MeterTable;

  /** OVS_DP_F_DISPATCH_UPCALL_PER_CPU and OVS_DP_F_UNALIGNED bits (from the schema, set by the family). */
  perCpuFlag = 0;
  unalignedFlag = 0;

  constructor(readonly cpus: number, maxMeters?: number) {
    this.table = new FlowTable(cpus, MC_DEFAULT_HASH_ENTRIES);
    this.meters = new MeterTable(maxMeters);
  }

  get masksCacheSize(): number {
    return this.table.masksCacheSize;
  }

  /** The local port; present for the datapath's whole life. */
  get local(): Vport {
    const v = this.ports.get(OVSP_LOCAL);
    if (!v) throw new Error('datapath without local port');
    return v;
  }

  get name(): string {
    return this.local.name;
  }

  /** get_dpifindex(): the local port's ifindex. */
  get ifindex(): number {
    return this.ports.get(OVSP_LOCAL)?.dev.ifindex ?? 0;
  }

  /** flowCount is ovs_flow_tbl_count(). */
  get flowCount(): number {
    return this.table.count;
  }

  /** maskCount is ovs_flow_tbl_num_masks(). */
  get maskCount(): number {
    return this.table.maskCount;
  }

  addPort(v: Vport): void {
    this.ports.set(v.portNo, v);
    this.portSeq.set(v.portNo, this.nextSeq++);
  }

  removePort(portNo: number): void {
    this.ports.delete(portNo);
    this.portSeq.delete(portNo);
  }

  /** portsInDumpOrder walks the port hash as ovs_vport_cmd_dump() does: by bucket, newest first in a bucket. */
  portsInDumpOrder(): Vport[] {
    const seq = (v: Vport): number => this.portSeq.get(v.portNo) ?? 0;
    return [...this.ports.values()].sort((a, b) =>
      (a.portNo % DP_VPORT_HASH_BUCKETS) - (b.portNo % DP_VPORT_HASH_BUCKETS) || seq(b) - seq(a));
  }

  /** lowestFreePort is the port number ovs_vport_cmd_new() picks when none is requested. */
  lowestFreePort(): number {
    for (let p = 1; p < DP_MAX_PORTS; p++) if (!this.ports.has(p)) return p;
    throw new NlError(Errno.EFBIG);
  }
}

/**
 * checkMasksCacheSize is the validity test of ovs_flow_tbl_masks_cache_resize(): 0 or a power
 * of two that fits in one per-CPU unit.
 * @throws {@link NlError} EINVAL
 */
export function checkMasksCacheSize(size: number): void {
  if ((size !== 0 && (size & (size - 1)) !== 0) || size > MC_MAX_ENTRIES) throw new NlError(Errno.EINVAL);
}

/** OvsNet is struct ovs_net: the datapaths of one network namespace, in creation order. */
export class OvsNet {
  readonly dps: Datapath[] = [];
  /** ovs_net->ct_limit_info: the namespace's conntrack zone limits. */
  readonly ctLimit = new CtLimitInfo();

  /** get_dp(): by the local port's ifindex. */
  byIfindex(ifindex: number): Datapath | undefined {
    return this.dps.find((d) => d.ifindex === ifindex);
  }

  /** ovs_vport_locate(): a port of any datapath by name. */
  locateVport(name: string): { dp: Datapath; vport: Vport } | undefined {
    for (const dp of this.dps) {
      for (const vport of dp.ports.values()) if (vport.name === name) return { dp, vport };
    }
    return undefined;
  }

  remove(dp: Datapath): void {
    const i = this.dps.indexOf(dp);
    if (i >= 0) this.dps.splice(i, 1);
  }
}
