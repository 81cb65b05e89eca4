/**
 * The meter table and the meter action (net/openvswitch/meter.c, Linux 6.12): slot hashing,
 * growth and shrinking, EBUSY/EFBIG, and the token bucket of ovs_meter_execute() with an
 * injected clock.
 */
import { NlError } from '../../../lib/nl/errors';
import {
  DP_METER_ARRAY_SIZE_MIN, DP_METER_NUM_MAX, DpMeter, kernelMaxMeters, MeterTable, ovsMeterExecute, type MeterBandConfig,
} from '../../../lib/ovs/meter';
import { Skb } from '../../../lib/ovs/skb';

const drop = (rate: number, burstSize: number): MeterBandConfig => ({ type: 1, drop: true, rate, burstSize });
const meter = (id: number, bands: MeterBandConfig[] = [drop(1, 1)], kbps = false, now = 0): DpMeter =>
  new DpMeter(id, kbps, true, bands, now);
const errnoOf = (fn: () => void): number => {
  try {
    fn();
  } catch (e) {
    if (e instanceof NlError) return e.errno;
    throw e;
  }
  return 0;
};
const frame = (len: number): Skb => new Skb(Buffer.alloc(len));

describe('max_meters_allowed (ovs_meters_init)', () => {
  it.each<[string, number, number]>([
    ['no buffer pages → 0 (the kernel then fails the datapath with ENOMEM)', 0, 0],
    ['50000 pages (195 MiB): 1/32 of it in 64-byte meters', 50000, 100000],
    ['a 2 GiB guest (~500000 pages) → DP_METER_NUM_MAX, as the oracle reported', 500000, 200000],
    ['any large machine → DP_METER_NUM_MAX', 6000000, DP_METER_NUM_MAX],
  ])('%s', (_n, pages, want) => {
    expect(kernelMaxMeters(pages)).toBe(want);
  });
});

describe('MeterTable', () => {
  it('starts with 1024 slots; an id lives in slot id % slots', () => {
    const t = new MeterTable(100);
    t.attach(meter(5));
    t.attach(meter(54545401));
    expect(t.nMeters).toBe(DP_METER_ARRAY_SIZE_MIN);
    expect(t.occupied().map((o) => o.slot)).toEqual([5, 54545401 % 1024]);
    expect(t.lookup(54545401)?.id).toBe(54545401);
    expect(t.lookup(5 + 1024)).toBeUndefined();
  });

  it('another id in the same slot → EBUSY, count unchanged', () => {
    const t = new MeterTable(100);
    t.attach(meter(1));
    expect(errnoOf(() => t.attach(meter(1025)))).toBe(16);
    expect(t.count).toBe(1);
    expect(t.lookup(1)?.id).toBe(1);
  });

  it('the count reaching max_meters_allowed → EFBIG (so max - 1 meters fit)', () => {
    const t = new MeterTable(3);
    t.attach(meter(1));
    t.attach(meter(2));
    expect(errnoOf(() => t.attach(meter(3)))).toBe(27);
    expect(t.count).toBe(2);
    t.detach(t.lookup(2));
    t.attach(meter(3));
    expect(t.count).toBe(2);
  });

  it('doubles when the count reaches the slot count, keeping meters at their old index', () => {
    const t = new MeterTable(DP_METER_NUM_MAX);
    for (let k = 0; k < 1023; k++) t.attach(meter(1024 + k));
    expect(t.nMeters).toBe(1024);
    t.attach(meter(3071));
    expect(t.nMeters).toBe(2048);
    // 1024..2046 stayed in slots 0..1022 but now hash to 1024..2046: unreachable ghosts.
    expect(t.lookup(1024)).toBeUndefined();
    expect(t.lookup(3071)?.id).toBe(3071);
    expect(t.occupied()[0]).toMatchObject({ slot: 0, meter: { id: 1024 } });
    expect(errnoOf(() => t.attach(meter(2048)))).toBe(16); // slot 0 holds ghost 1024
    t.attach(meter(1024));
    expect(t.lookup(1024)?.id).toBe(1024);
    expect(t.count).toBe(1025);
  });

  it('halves when a quarter or less is used and the upper half is empty, never below 1024', () => {
    const t = new MeterTable(DP_METER_NUM_MAX);
    for (let id = 0; id < 1024; id++) t.attach(meter(id));
    expect(t.nMeters).toBe(2048);
    for (let id = 1023; id >= 513; id--) t.detach(t.lookup(id));
    expect([t.count, t.nMeters]).toEqual([513, 2048]);
    t.detach(t.lookup(512));
    expect([t.count, t.nMeters]).toEqual([512, 1024]);
    for (let id = 511; id >= 0; id--) t.detach(t.lookup(id));
    expect([t.count, t.nMeters]).toEqual([0, 1024]);
  });

  it('does not halve while a meter sits in the upper half', () => {
    const t = new MeterTable(DP_METER_NUM_MAX);
    for (let id = 0; id < 1024; id++) t.attach(meter(id));
    t.attach(meter(1500));
    for (let id = 1023; id >= 0; id--) t.detach(t.lookup(id));
    expect([t.count, t.nMeters, t.lookup(1500)?.id]).toEqual([1, 2048, 1500]);
  });

  it('detach(undefined) is a no-op', () => {
    const t = new MeterTable(10);
    t.detach(undefined);
    expect(t.count).toBe(0);
  });
});

describe('DpMeter', () => {
  it('starts with full buckets; max_delta_t is the longest fill time, truncated to u32', () => {
    const m = meter(1, [drop(1, 0xffffffff)]);
    expect(m.bands[0].bucket).toBe(4294967295000n);
    expect(m.maxDeltaT).toBe(4294966296); // 4294967295000 mod 2^32
    expect(meter(2, [drop(3, 10)]).maxDeltaT).toBe(3333);
  });

  it('keeps the STATS of the request unless CLEAR', () => {
    const st = { nPackets: 7n, nBytes: 700n };
    expect(new DpMeter(1, false, true, [], 0, st).stats).toEqual(st);
    expect(new DpMeter(1, false, false, [], 0, st).stats).toEqual({ nPackets: 0n, nBytes: 0n });
  });
});

describe('ovsMeterExecute (token bucket)', () => {
  const dpWith = (...ms: DpMeter[]): { meters: MeterTable } => {
    const meters = new MeterTable(100);
    for (const m of ms) meters.attach(m);
    return { meters };
  };
  const run = (dp: { meters: MeterTable }, id: number, len: number, times: number[]): boolean[] =>
    times.map((t) => ovsMeterExecute(dp, frame(len), undefined, id, t));

  it('pps, rate 1 burst 1: one packet per second passes; drops count in the band', () => {
    const m = meter(7, [drop(1, 1)], false, 1000);
    const dp = dpWith(m);
    // The bucket refills on every packet, dropped or not: 0 → 1 → 500 → 1000 (pass) → 999 →
    // 1000 (capped, pass).
    expect(run(dp, 7, 60, [1000, 1001, 1500, 2000, 2999, 3999])).toEqual([false, true, true, false, true, false]);
    expect(m.stats).toEqual({ nPackets: 6n, nBytes: 360n });
    expect(m.bands[0].stats).toEqual({ nPackets: 3n, nBytes: 180n });
    expect(m.used).toBe(3999);
  });

  it('pps, rate 10 burst 2: a burst of two, then one every 100 ms', () => {
    const dp = dpWith(meter(1, [drop(10, 2)], false, 0));
    expect(run(dp, 1, 64, [0, 0, 0, 99, 100, 200, 200])).toEqual([false, false, true, true, false, false, true]);
  });

  it('kbps, rate 8 burst 1: 1000 bits at first, 8 bits per ms after', () => {
    const m = meter(8, [drop(8, 1)], true, 0);
    const dp = dpWith(m);
    // 100 bytes = 800 bits: 1000 → 200; +400 → 600 (drop); +400 → 1000 → 200.
    expect(run(dp, 8, 100, [0, 50, 100])).toEqual([false, true, false]);
    expect(m.bands[0].bucket).toBe(200n);
  });

  it('kbps, rate 1 burst 2 with 100-byte frames: pass, pass, drop (the oracle case)', () => {
    const m = meter(8, [drop(1, 2)], true, 0);
    expect(run(dpWith(m), 8, 100, [0, 1, 2])).toEqual([false, false, true]);
    expect(m.bands[0].stats).toEqual({ nPackets: 1n, nBytes: 100n });
  });

  it('a long idle time refills at most a full bucket (delta capped at max_delta_t)', () => {
    const m = meter(1, [drop(1000, 1)], false, 0);
    const dp = dpWith(m);
    run(dp, 1, 60, [0]);
    expect(m.bands[0].bucket).toBe(0n);
    run(dp, 1, 60, [1e9]);
    expect(m.bands[0].bucket).toBe(0n); // refilled to 1000, then spent
  });

  it('a clock behind `used` counts as no time passed', () => {
    const m = meter(1, [drop(1, 1)], false, 5000);
    const dp = dpWith(m);
    expect(run(dp, 1, 60, [5000, 4000])).toEqual([false, true]);
    expect(m.used).toBe(4000);
  });

  it('an unknown meter lets the packet pass and counts nothing', () => {
    const m = meter(1);
    expect(ovsMeterExecute(dpWith(m), frame(60), undefined, 2, 0)).toBe(false);
    expect(m.stats.nPackets).toBe(0n);
  });

  it('a band of another type counts the packet but does not drop it', () => {
    const m = meter(6, [{ type: 2, drop: false, rate: 1, burstSize: 1 }], false, 0);
    expect(run(dpWith(m), 6, 60, [0, 0])).toEqual([false, false]);
    expect(m.bands[0].stats).toEqual({ nPackets: 1n, nBytes: 60n });
    expect(m.stats).toEqual({ nPackets: 2n, nBytes: 120n });
  });

  it('a meter without bands only counts', () => {
    const m = meter(10, [], false, 0);
    expect(run(dpWith(m), 10, 60, [0, 0, 0])).toEqual([false, false, false]);
    expect(m.stats.nPackets).toBe(3n);
  });

  it('of several exceeded bands the one with the highest rate takes the packet', () => {
    const m = new DpMeter(1, false, true, [drop(5, 1), { type: 2, drop: false, rate: 9, burstSize: 1 }], 0);
    const dp = dpWith(m);
    expect(run(dp, 1, 60, [0, 0])).toEqual([false, false]);
    expect(m.bands.map((b) => b.stats.nPackets)).toEqual([0n, 1n]);
  });
});
