import { cmpUnmaskedKey, type KeyRange } from './flow-key';
import { FlowStats } from './flow-stats';

/**
 * The megaflow table (net/openvswitch/flow_table.c): a tuple-space classifier with one hash
 * table per mask, masks kept in an array that a periodic rebalance sorts by hit count, a
 * per-CPU mask cache indexed by the packet hash, a UFID index, and exact lookups for flows
 * identified by their unmasked key.
 *
 * Keys are flat byte layouts (lib/ovs/flow-key.ts); a mask is a key-sized byte string plus the
 * [start, end) byte range outside which it is all zero. Hashing and comparison use only that
 * range, as flow_hash()/cmp_key() do.
 */

/** MASK_ARRAY_SIZE_MIN: the mask array grows and shrinks in steps of this. */
const MASK_ARRAY_SIZE_MIN = 16;
/** MC_HASH_SHIFT / MC_HASH_SEGS: the mask cache probes four 8-bit slices of the hash. */
const MC_HASH_SHIFT = 8;
const MC_HASH_SEGS = 4;

/** MaskSpec is a mask as parsed (sw_flow_mask before insertion). */
export interface MaskSpec {
  key: Buffer;
  start: number;
  end: number;
}

/** FlowMask is a mask in the table (struct sw_flow_mask) with its own hash table. */
export class FlowMask implements MaskSpec {
  refCount = 0;
  /** Usage counter since the last rebalance (mask_array_stats.usage_cntrs). */
  usage = 0;
  readonly flows = new Map<string, Flow<unknown>>();
  constructor(readonly key: Buffer, readonly start: number, readonly end: number) {}

  /** maskedId is ovs_flow_mask_key() + the bytes flow_hash() hashes, as a map key. */
  maskedId(key: Buffer): string {
    const n = this.end - this.start;
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = key[this.start + i] & this.key[this.start + i];
    return out.toString('latin1');
  }

  sameAs(m: MaskSpec): boolean {
    return m.start === this.start && m.end === this.end && m.key.compare(this.key, this.start, this.end, m.start, m.end) === 0;
  }
}

/**
 * Flow is struct sw_flow, stored compactly for million-flow tables: the masked key is kept only
 * as the bytes of its mask's range (which is also its hash-map key), the unmasked key of a
 * key-identified flow only over its own range, and both as one-byte strings.
 */
export class Flow<A> {
  readonly stats = new FlowStats();
  /** Set when the flow is in a table. */
  mask!: FlowMask;
  /** flow->key over mask.start..mask.end (latin1): the classifier's key. */
  maskedId = '';
  private readonly ufidBytes?: string;
  private readonly unmaskedBytes?: string;

  constructor(
    /** flow->key: the masked key (full layout); only its mask range is kept. */
    private pendingKey: Buffer | undefined,
    /** Identifier: the UFID (1..16 bytes) when given … */
    ufid: Buffer | undefined,
    /** … otherwise the unmasked key over [start, end). */
    unmasked: { key: Buffer; start: number; end: number } | undefined,
    public actions: A,
    private readonly keyLen: number,
    private readonly unmaskedStart = unmasked?.start ?? 0,
  ) {
    this.ufidBytes = ufid?.toString('latin1');
    this.unmaskedBytes = unmasked ? unmasked.key.toString('latin1', unmasked.start, unmasked.end) : undefined;
  }

  /** attach is called by the table: compute the classifier key and drop the full key. */
  attach(mask: FlowMask): void {
    this.mask = mask;
    this.maskedId = mask.maskedId(this.pendingKey ?? Buffer.alloc(this.keyLen));
    this.pendingKey = undefined;
  }

  /** key rebuilds flow->key (zero outside the mask range). */
  get key(): Buffer {
    const k = Buffer.alloc(this.keyLen);
    k.write(this.maskedId, this.mask.start, 'latin1');
    return k;
  }

  get ufid(): Buffer | undefined {
    return this.ufidBytes === undefined ? undefined : Buffer.from(this.ufidBytes, 'latin1');
  }

  get ufidId(): string | undefined {
    return this.ufidBytes;
  }

  /** unmaskedKey rebuilds the identifier key of a flow installed without UFID. */
  get unmaskedKey(): Buffer | undefined {
    if (this.unmaskedBytes === undefined) return undefined;
    const k = Buffer.alloc(this.keyLen);
    k.write(this.unmaskedBytes, this.unmaskedStart, 'latin1');
    return k;
  }

  /** isKeyIdentified is ovs_identifier_is_key(). */
  get isKeyIdentified(): boolean {
    return this.unmaskedBytes !== undefined;
  }
}

/** LookupResult carries the datapath counters a packet lookup adds to. */
export interface LookupResult<A> {
  flow?: Flow<A>;
  nMaskHit: number;
  nCacheHit: number;
}

interface CacheEntry {
  skbHash: number;
  maskIndex: number;
}

/** FlowTable is struct flow_table. */
export class FlowTable<A> {
  private masks: FlowMask[] = [];
  private maskMax = MASK_ARRAY_SIZE_MIN;
  private readonly ufids = new Map<string, Flow<A>>();
  /** All flows in insertion order: dumps walk this (the kernel walks hash buckets). */
  private readonly all = new Set<Flow<A>>();
  private cacheSize: number;
  private cache: CacheEntry[][];

  constructor(readonly cpus: number, masksCacheSize = 256) {
    this.cacheSize = masksCacheSize;
    this.cache = this.newCache(masksCacheSize);
  }

  private newCache(size: number): CacheEntry[][] {
    return Array.from({ length: this.cpus }, () => Array.from({ length: size }, () => ({ skbHash: 0, maskIndex: 0 })));
  }

  /** ovs_flow_tbl_count() */
  get count(): number {
    return this.all.size;
  }

  /** ovs_flow_tbl_num_masks() */
  get maskCount(): number {
    return this.masks.length;
  }

  /** ovs_flow_tbl_masks_cache_size() */
  get masksCacheSize(): number {
    return this.cacheSize;
  }

  /** ovs_flow_tbl_masks_cache_resize(); the caller has validated `size`. */
  resizeMasksCache(size: number): void {
    if (size === this.cacheSize) return;
    this.cacheSize = size;
    this.cache = this.newCache(size);
  }

  private masked(mask: FlowMask, key: Buffer): Flow<A> | undefined {
    return mask.flows.get(mask.maskedId(key)) as Flow<A> | undefined;
  }

  // kernel: flow_lookup()
  private flowLookup(key: Buffer, r: LookupResult<A>, entry: CacheEntry | undefined, countCacheHit: boolean): Flow<A> | undefined {
    const start = entry?.maskIndex ?? 0;
    if (start < this.masks.length) {
      const mask = this.masks[start];
      r.nMaskHit++;
      const flow = this.masked(mask, key);
      if (flow) {
        mask.usage++;
        if (countCacheHit) r.nCacheHit++;
        return flow;
      }
    }
    for (let i = 0; i < this.masks.length; i++) {
      if (i === start) continue;
      r.nMaskHit++;
      const flow = this.masked(this.masks[i], key);
      if (flow) {
        if (entry) entry.maskIndex = i;
        this.masks[i].usage++;
        return flow;
      }
    }
    return undefined;
  }

  /** lookupStats is the packet-path lookup with the per-CPU mask cache. */
  // kernel: ovs_flow_tbl_lookup_stats()
  lookupStats(key: Buffer, skbHash: number, cpu: number, recircId = 0): LookupResult<A> {
    const r: LookupResult<A> = { nMaskHit: 0, nCacheHit: 0 };
    let hash = skbHash >>> 0;
    if (!hash || this.cacheSize === 0) {
      r.flow = this.flowLookup(key, r, undefined, false);
      return r;
    }
    if (recircId) hash = jhash1word(hash, recircId);
    const entries = this.cache[cpu % this.cpus];
    const skb = hash;
    let ce: CacheEntry | undefined;
    for (let seg = 0; seg < MC_HASH_SEGS; seg++) {
      const e = entries[hash & (this.cacheSize - 1)];
      if (e.skbHash === skb) {
        r.flow = this.flowLookup(key, r, e, true);
        if (!r.flow) e.skbHash = 0;
        return r;
      }
      if (!ce || e.skbHash < ce.skbHash) ce = e;
      hash >>>= MC_HASH_SHIFT;
    }
    r.flow = this.flowLookup(key, r, ce, false);
    if (r.flow && ce) ce.skbHash = skb;
    r.nCacheHit = 0;
    return r;
  }

  /** lookup is the control-path lookup of an unmasked key (mask order, no cache). */
  // kernel: ovs_flow_tbl_lookup()
  lookup(key: Buffer): Flow<A> | undefined {
    return this.flowLookup(key, { nMaskHit: 0, nCacheHit: 0 }, { skbHash: 0, maskIndex: 0 }, false);
  }

  /** lookupExact finds a key-identified flow whose unmasked key equals `key`. */
  // kernel: ovs_flow_tbl_lookup_exact()
  lookupExact(key: Buffer, range: KeyRange): Flow<A> | undefined {
    for (const mask of this.masks) {
      const flow = this.masked(mask, key);
      if (flow?.isKeyIdentified && cmpUnmaskedKey(flow.unmaskedKey!, key, range)) return flow;
    }
    return undefined;
  }

  /** ufidIndex walks the UFID index (consistency checks of the fuzzer). */
  *ufidIndex(): Generator<[string, Flow<A>]> {
    yield* this.ufids;
  }

  // kernel: ovs_flow_tbl_lookup_ufid()
  lookupUfid(ufid: Buffer): Flow<A> | undefined {
    return this.ufids.get(ufid.toString('latin1'));
  }

  /** insert adds a flow under `mask` (shared with equal masks). */
  // kernel: ovs_flow_tbl_insert()
  insert(flow: Flow<A>, spec: MaskSpec): void {
    let mask = this.masks.find((m) => m.sameAs(spec));
    if (!mask) {
      mask = new FlowMask(Buffer.from(spec.key), spec.start, spec.end);
      if (this.masks.length >= this.maskMax) this.maskMax += MASK_ARRAY_SIZE_MIN;
      else this.resetCounters();
      this.masks.push(mask);
    }
    mask.refCount++;
    flow.attach(mask);
    mask.flows.set(flow.maskedId, flow as Flow<unknown>);
    this.all.add(flow);
    if (flow.ufidId !== undefined) this.ufids.set(flow.ufidId, flow);
  }

  // kernel: ovs_flow_tbl_remove() → flow_mask_remove() → tbl_mask_array_del_mask()
  remove(flow: Flow<A>): void {
    const mask = flow.mask;
    mask.flows.delete(flow.maskedId);
    this.all.delete(flow);
    if (flow.ufidId !== undefined) this.ufids.delete(flow.ufidId);
    if (--mask.refCount === 0) {
      const i = this.masks.indexOf(mask);
      const last = this.masks.pop();
      if (last && last !== mask) this.masks[i] = last;
      if (this.maskMax >= MASK_ARRAY_SIZE_MIN * 2 && this.masks.length <= this.maskMax / 3) this.maskMax /= 2;
      else this.resetCounters();
    }
  }

  // kernel: ovs_flow_tbl_flush()
  flush(): void {
    this.masks = [];
    this.maskMax = MASK_ARRAY_SIZE_MIN;
    this.ufids.clear();
    this.all.clear();
  }

  /** dump yields flows; flows removed while the dump runs are skipped, added ones may appear. */
  *dump(): Generator<Flow<A>> {
    yield* this.all;
  }

  private resetCounters(): void {
    for (const m of this.masks) m.usage = 0;
  }

  /** rebalance sorts masks by hits since the last rebalance (every 4 s in the kernel). */
  // kernel: ovs_flow_masks_rebalance()
  rebalance(): void {
    const order = this.masks.map((m, i) => ({ m, i })).sort((a, b) => b.m.usage - a.m.usage || a.i - b.i);
    this.masks = order.map((x) => x.m);
    this.resetCounters();
  }

  /** masksInOrder exposes the mask array (tests, stats). */
  masksInOrder(): readonly FlowMask[] {
    return this.masks;
  }
}

/** jhash_1word(a, initval) from <linux/jhash.h> (a, b = c = 0 after the initval): mixes the recirc id into the packet hash. */
export function jhash1word(a: number, initval: number): number {
  const JHASH_INITVAL = 0xdeadbeef;
  let x = (JHASH_INITVAL + (1 << 2) + initval) >>> 0;
  let y = x;
  let z = x;
  x = (x + a) >>> 0;
  // __jhash_final(a, b, c) with (x, y, z)
  const rol = (v: number, k: number): number => ((v << k) | (v >>> (32 - k))) >>> 0;
  z ^= y; z = (z - rol(y, 14)) >>> 0;
  x ^= z; x = (x - rol(z, 11)) >>> 0;
  y ^= x; y = (y - rol(x, 25)) >>> 0;
  z ^= y; z = (z - rol(y, 16)) >>> 0;
  x ^= z; x = (x - rol(z, 4)) >>> 0;
  y ^= x; y = (y - rol(x, 14)) >>> 0;
  z ^= y; z = (z - rol(y, 24)) >>> 0;
  return z;
}
