import { NLA_HDRLEN } from '../nl/constants';
import { Errno } from '../nl/errno';
import { NlError } from '../nl/errors';
import type { FamilyHandlers, GenlRequest } from '../genl/genetlink';
import { AttrEncoder, attrStruct, attrU32 } from '../schema/codec';
import type { FamilySpec } from '../schema/model';
import { forEachAttr, parseLiberal, type Attr } from '../schema/validate';
import type { Datapath, OvsNet } from './datapath';
import { headerIfindex, ovsMessage } from './context';
import { monotonicMs, type MonotonicClock } from './flow-stats';
import { DP_MAX_BANDS, DpMeter, type MeterBandConfig } from './meter';

/** MeterContext is what the ovs_meter handlers need. */
export interface MeterContext {
  net: OvsNet;
  family: FamilySpec;
  /** CLOCK_MONOTONIC ms: a new meter's `used` (ktime_get_ns() / 10^6). */
  clock?: MonotonicClock;
}

/**
 * ovs_meter handlers (net/openvswitch/meter.c, ovs_meter_cmd_*). Every command answers with a
 * unicast reply (genlmsg_reply), also without NLM_F_ECHO/NLM_F_ACK; nothing is multicast.
 */
export function meterHandlers(ctx: MeterContext): FamilyHandlers {
  const fam = ctx.family;
  const set = fam.set('meter-attrs');
  const bandSet = fam.set('band-attrs');
  const dropType = fam.enumValue('meter-band-type', 'drop');
  const now = ctx.clock ?? monotonicMs;
  const cmd = (n: string): number => fam.op(n).cmd;

  // kernel: ovs_meter_cmd_reply_start() (flags 0, the request's seq, dp_ifindex copied)
  function start(req: GenlRequest, command: number): AttrEncoder {
    return new AttrEncoder(ovsMessage(fam, command, 0, req.msg.seq, req.portid, headerIfindex(req.fixed)), set);
  }

  const finish = (e: AttrEncoder): Buffer => e.w.endMessage().finish();

  // kernel: ovs_meter_cmd_reply_stats()
  function putStats(e: AttrEncoder, id: number, meter: DpMeter): void {
    e.int('id', id);
    e.struct('stats', { 'n-packets': meter.stats.nPackets, 'n-bytes': meter.stats.nBytes });
    // nla_put_u64_64bit(): x86_64 has efficient unaligned access, so no PAD attribute.
    e.int('used', BigInt(meter.used));
    e.nest('bands', (list) => {
      for (const band of meter.bands) {
        list.nest('band', (b) => b.struct('stats', { 'n-packets': band.stats.nPackets, 'n-bytes': band.stats.nBytes }));
      }
    });
  }

  // kernel: get_dp()
  function dpOf(req: GenlRequest): Datapath {
    const dp = ctx.net.byIfindex(headerIfindex(req.fixed));
    if (!dp) throw new NlError(Errno.ENODEV);
    return dp;
  }

  /** requireId is the `if (!a[OVS_METER_ATTR_ID]) return -EINVAL` every command but FEATURES starts with. */
  function requireId(req: GenlRequest): number {
    const id = attrU32(req.attrs.get('id'));
    if (id === undefined) throw new NlError(Errno.EINVAL);
    return id;
  }

  /**
   * parseBand reads one band nest with band_policy. The kernel passes no extack here, so a
   * policy failure (e.g. a short RATE → ERANGE) comes back bare.
   */
  function parseBand(nest: Attr): MeterBandConfig {
    let b;
    try {
      b = parseLiberal(nest.payload, bandSet, bandSet.maxType, { base: nest.offset + NLA_HDRLEN, extack: {} });
    } catch (e) {
      if (e instanceof NlError) throw new NlError(e.errno);
      throw e;
    }
    const type = attrU32(b.get('type'));
    const rate = attrU32(b.get('rate'));
    const burstSize = attrU32(b.get('burst'));
    if (type === undefined || rate === undefined || burstSize === undefined) throw new NlError(Errno.EINVAL);
    if (rate === 0) throw new NlError(Errno.EINVAL);
    return { type, drop: type === dropType, rate, burstSize };
  }

  // kernel: dp_meter_create()
  function createMeter(req: GenlRequest, id: number): DpMeter {
    const a = req.attrs;
    const bands = a.get('bands');
    if (!bands) throw new NlError(Errno.EINVAL);
    // Every nest counts as a band, whatever its type.
    const nests: Attr[] = [];
    forEachAttr(bands.payload, bands.offset + NLA_HDRLEN, (n) => { nests.push(n); });
    if (nests.length > DP_MAX_BANDS) throw new NlError(Errno.EINVAL);
    const keepStats = !a.get('clear');
    const s = attrStruct(a, 'stats');
    const stats = s ? { nPackets: s['n-packets'] as bigint, nBytes: s['n-bytes'] as bigint } : undefined;
    return new DpMeter(id, a.get('kbps') !== undefined, keepStats, nests.map(parseBand), Math.floor(now()), stats);
  }

  return {
    doit: {
      // kernel: ovs_meter_cmd_features()
      [cmd('features')]: (req) => {
        const dp = dpOf(req);
        const e = start(req, cmd('features'));
        e.int('max-meters', dp.meters.maxMetersAllowed);
        e.int('max-bands', DP_MAX_BANDS);
        // Only the DROP band type is supported.
        e.nest('bands', (list) => list.nest('band', (b) => b.int('type', dropType)));
        req.out.unicast(finish(e));
      },
      // kernel: ovs_meter_cmd_set()
      [cmd('set')]: (req) => {
        const id = requireId(req);
        const meter = createMeter(req, id);
        const table = dpOf(req).meters;
        const old = table.lookup(id);
        table.detach(old);
        // As in the kernel, a failed attach leaves the old meter detached (and freed).
        table.attach(meter);
        const e = start(req, cmd('set'));
        e.int('id', id);
        if (old?.keepStats) putStats(e, id, old);
        req.out.unicast(finish(e));
      },
      // kernel: ovs_meter_cmd_get()
      [cmd('get')]: (req) => {
        const id = requireId(req);
        const meter = dpOf(req).meters.lookup(id);
        if (!meter) throw new NlError(Errno.ENOENT);
        const e = start(req, cmd('get'));
        putStats(e, id, meter);
        req.out.unicast(finish(e));
      },
      // kernel: ovs_meter_cmd_del()
      [cmd('del')]: (req) => {
        const id = requireId(req);
        const table = dpOf(req).meters;
        const e = start(req, cmd('del'));
        // An unknown id is no error: the reply then carries only the ovs_header.
        const old = table.lookup(id);
        if (old) {
          putStats(e, id, old);
          table.detach(old);
        }
        req.out.unicast(finish(e));
      },
    },
  };
}
