/**
 * Datapath meters (net/openvswitch/meter.c, meter.h): the per-datapath meter table with the
 * kernel's slot array and its growth/shrink rules, and the token-bucket meter action.
 */
import * as os from 'os';
import { Errno } from '../nl/errno';
import { NlError } from '../nl/errors';
import type { Skb } from './skb';

/** DP_MAX_BANDS: bands one meter may have. */
export const DP_MAX_BANDS = 1;
/** DP_METER_ARRAY_SIZE_MIN: slots of a new table; the array never shrinks below it. */
export const DP_METER_ARRAY_SIZE_MIN = 1024;
/** DP_METER_NUM_MAX: the upper bound of max_meters_allowed. */
export const DP_METER_NUM_MAX = 200000;
/** sizeof(struct dp_meter) on x86_64 without lock debugging (Debian 6.12 config). */
const SIZEOF_DP_METER = 64;
const PAGE_SIZE = 4096;
const U32 = 0xffffffffn;

/**
 * kernelMaxMeters is ovs_meters_init()'s max_meters_allowed: meters may use ~3.12 % of the
 * buffer pages (nr_free_buffer_pages() * PAGE_SIZE / 32), at most DP_METER_NUM_MAX.
 */
// kernel: ovs_meters_init()
export function kernelMaxMeters(bufferPages: number): number {
  const freeMemBytes = bufferPages * (PAGE_SIZE >> 5);
  return Math.min(Math.floor(freeMemBytes / SIZEOF_DP_METER), DP_METER_NUM_MAX);
}

/**
 * defaultMaxMeters applies kernelMaxMeters() to this machine's RAM (nr_free_buffer_pages() is
 * close to the managed pages: free memory does not matter, the zones' size does). Any machine
 * with more than ~420 MB gets DP_METER_NUM_MAX, as the oracle's 2 GiB guest did.
 */
export function defaultMaxMeters(): number {
  return kernelMaxMeters(Math.floor(os.totalmem() / PAGE_SIZE));
}

/** FlowStatsCounters is struct ovs_flow_stats. */
export interface FlowStatsCounters {
  nPackets: bigint;
  nBytes: bigint;
}

/** MeterBand is struct dp_meter_band. */
export interface MeterBand {
  type: number;
  /** type is OVS_METER_BAND_TYPE_DROP (the only type the kernel acts on). */
  drop: boolean;
  rate: number;
  burstSize: number;
  /** 1/1000 packets, or bits (u64). */
  bucket: bigint;
  stats: FlowStatsCounters;
}

/** MeterBandConfig is what a SET request says about one band. */
export interface MeterBandConfig {
  type: number;
  /** type is OVS_METER_BAND_TYPE_DROP; other types are stored and count packets but never drop. */
  drop: boolean;
  rate: number;
  burstSize: number;
}

/** DpMeter is struct dp_meter. */
export class DpMeter {
  /** Monotonic ms of creation or of the last packet. */
  used: number;
  readonly stats: FlowStatsCounters;
  readonly bands: MeterBand[];
  /** The longest time (ms) any band needs to fill its bucket from empty (u32). */
  readonly maxDeltaT: number;

  // kernel: dp_meter_create() (after the attributes were read)
  constructor(
    readonly id: number,
    readonly kbps: boolean,
    readonly keepStats: boolean,
    bands: readonly MeterBandConfig[],
    nowMs: number,
    stats?: FlowStatsCounters,
  ) {
    this.used = nowMs;
    this.stats = keepStats && stats ? { ...stats } : { nPackets: 0n, nBytes: 0n };
    let maxDeltaT = 0n;
    this.bands = bands.map((b) => {
      // Start with a full bucket; max delta_t is in the bucket's units, truncated to u32.
      const bucket = BigInt(b.burstSize) * 1000n;
      const bandMaxDeltaT = (bucket / BigInt(b.rate)) & U32;
      if (bandMaxDeltaT > maxDeltaT) maxDeltaT = bandMaxDeltaT;
      return { type: b.type, drop: b.drop, rate: b.rate, burstSize: b.burstSize, bucket, stats: { nPackets: 0n, nBytes: 0n } };
    });
    this.maxDeltaT = Number(maxDeltaT);
  }
}

/**
 * MeterTable is struct dp_meter_table with its dp_meter_instance: an array of slots indexed by
 * `id % slots`, 1024 slots at first, doubled when the count reaches the size, halved (down to
 * 1024) when a quarter or less is used and the upper half is empty. As in the kernel, resizing
 * keeps every meter at its old index, so a meter whose id hashes elsewhere in the new size can
 * no longer be found yet still occupies its slot.
 */
export class MeterTable {
  private slots: (DpMeter | undefined)[] = new Array<DpMeter | undefined>(DP_METER_ARRAY_SIZE_MIN);
  /** Meters attached (lookups may miss some, see above). */
  count = 0;

  constructor(readonly maxMetersAllowed: number = defaultMaxMeters()) {}

  /** nMeters is ti->n_meters, the slot count. */
  get nMeters(): number {
    return this.slots.length;
  }

  // kernel: lookup_meter()
  lookup(id: number): DpMeter | undefined {
    const m = this.slots[id % this.slots.length];
    return m && m.id === id ? m : undefined;
  }

  // kernel: dp_meter_instance_realloc()
  private realloc(size: number): void {
    const next = new Array<DpMeter | undefined>(size);
    const n = Math.min(size, this.slots.length);
    for (let i = 0; i < n; i++) next[i] = this.slots[i];
    this.slots = next;
  }

  /**
   * attach inserts `meter` into its slot.
   * @throws {@link NlError} EFBIG when the table is full, EBUSY when the slot holds another meter
   */
  // kernel: attach_meter()
  attach(meter: DpMeter): void {
    this.count++;
    try {
      if (this.count >= this.maxMetersAllowed) throw new NlError(Errno.EFBIG);
      if (this.count >= this.slots.length) this.realloc(this.slots.length * 2);
      const hash = meter.id % this.slots.length;
      // OVS takes ids from an id-pool, so the slot is normally free.
      if (this.slots[hash]) throw new NlError(Errno.EBUSY);
      this.slots[hash] = meter;
    } catch (e) {
      this.count--;
      throw e;
    }
  }

  /** detach removes `meter` (a no-op for undefined) and shrinks the array if it may. */
  // kernel: detach_meter()
  detach(meter: DpMeter | undefined): void {
    if (!meter) return;
    const n = this.slots.length;
    this.slots[meter.id % n] = undefined;
    this.count--;
    if (n > DP_METER_ARRAY_SIZE_MIN && this.count <= Math.floor(n / 4)) {
      const half = Math.floor(n / 2);
      // Meters keep their slots: shrink only if none lives in the upper half.
      for (let i = half; i < n; i++) if (this.slots[i]) return;
      this.realloc(half);
    }
  }

  /** occupied lists the slots in use (tests, debugging), including unreachable meters. */
  occupied(): { slot: number; meter: DpMeter }[] {
    const out: { slot: number; meter: DpMeter }[] = [];
    this.slots.forEach((meter, slot) => { if (meter) out.push({ slot, meter }); });
    return out;
  }
}

/** MeterDatapath is the part of struct datapath the meter action needs. */
export interface MeterDatapath {
  readonly meters: MeterTable;
}

/**
 * ovsMeterExecute runs the packet through meter `meterId` of `dp` at time `nowMs` (monotonic
 * ms) and returns true when a DROP band fired (the caller drops the packet). An unknown meter
 * lets every packet pass. Buckets hold bits (kbps meters) or 1/1000 packets (pps meters); the
 * band with the highest rate among those without enough tokens counts the packet.
 */
// kernel: ovs_meter_execute()
export function ovsMeterExecute(dp: MeterDatapath, skb: Skb, _key: Buffer | undefined, meterId: number, nowMs: number): boolean {
  const meter = dp.meters.lookup(meterId);
  if (!meter) return false;
  // Racing CPUs may see a `used` later than their own clock: count that as no time passed.
  const longDeltaMs = Math.max(0, Math.floor(nowMs) - meter.used);
  // Capped so that the bucket cannot wrap below.
  const deltaMs = longDeltaMs > meter.maxDeltaT ? meter.maxDeltaT : longDeltaMs;
  meter.used = Math.floor(nowMs);
  meter.stats.nPackets += 1n;
  meter.stats.nBytes += BigInt(skb.len);
  const cost = BigInt(meter.kbps ? (skb.len * 8) >>> 0 : 1000);
  let exceeded = -1;
  let exceededRate = 0;
  meter.bands.forEach((band, i) => {
    const maxBucket = BigInt(band.burstSize) * 1000n;
    // delta_ms * rate is a u32 product in the kernel (it wraps).
    band.bucket += BigInt(Math.imul(deltaMs, band.rate) >>> 0);
    if (band.bucket > maxBucket) band.bucket = maxBucket;
    if (band.bucket >= cost) band.bucket -= cost;
    else if (band.rate > exceededRate) {
      exceededRate = band.rate;
      exceeded = i;
    }
  });
  if (exceeded < 0) return false;
  const band = meter.bands[exceeded];
  band.stats.nPackets += 1n;
  band.stats.nBytes += BigInt(skb.len);
  return band.drop;
}
