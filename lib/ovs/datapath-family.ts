import { NLM_F } from '../nl/constants';
import { Errno } from '../nl/errno';
import { NlError } from '../nl/errors';
import type { FamilyHandlers, GenlRequest } from '../genl/genetlink';
import { AttrEncoder, attrS32, attrString, attrU32, attrU32Array } from '../schema/codec';
import { checkAttrRule } from '../schema/validate';
import { checkMasksCacheSize, Datapath, OVSP_LOCAL } from './datapath';
import { headerIfindex, ovsMessage, type OvsContext } from './context';
import { createVport } from './vport';
import { kmsg } from '../kmsg';

/** OVS_DP_VER_FEATURES: clients older than this genl version do not know user features. */
const OVS_DP_VER_FEATURES = 2;

/**
 * ovs_datapath handlers (net/openvswitch/datapath.c, ovs_dp_cmd_*). Every handler validates
 * completely before it changes anything, so a failed request leaves no trace.
 */
export function datapathHandlers(ctx: OvsContext): FamilyHandlers {
  const fam = ctx.dpFamily;
  const set = fam.set('datapath');
  const features = fam.enums.get('user-features') ?? new Map<string, number>();
  const knownFeatures = [...features.values()].reduce((a, b) => a | b, 0);
  // Debian's 6.12 kernel has no CONFIG_NET_TC_SKB_EXT: tc recirc sharing is refused.
  const unsupported = features.get('tc-recirc-sharing') ?? 0;
  const perCpu = features.get('dispatch-upcall-per-cpu') ?? 0;
  const group = fam.mcastGroups[0]?.id ?? 0;

  // kernel: ovs_dp_cmd_fill_info()
  function fill(dp: Datapath, portid: number, seq: number, flags: number, cmd: number): Buffer {
    // The local port's device may have moved namespace (and ifindex) since the last reply.
    dp.ports.get(OVSP_LOCAL)?.dev.refresh?.();
    const w = ovsMessage(fam, cmd, flags, seq, portid, dp.ifindex);
    const e = new AttrEncoder(w, set);
    e.string('name', dp.name);
    e.struct('stats', { 'n-hit': dp.stats.nHit, 'n-missed': dp.stats.nMissed, 'n-lost': dp.stats.nLost, 'n-flows': BigInt(dp.flowCount) });
    e.struct('megaflow-stats', { 'n-mask-hit': dp.stats.nMaskHit, 'n-masks': dp.maskCount, 'n-cache-hit': dp.stats.nCacheHit });
    e.int('user-features', dp.userFeatures);
    e.int('masks-cache-size', dp.masksCacheSize);
    if (dp.userFeatures & perCpu && dp.perCpuPids) {
      e.u32Array('per-cpu-pids', dp.perCpuPids.slice(0, ctx.vportEnv.nrCpus));
    }
    return w.endMessage().finish();
  }

  // kernel: ovs_notify()
  function notify(req: GenlRequest, dgram: Buffer): void {
    req.out.notify(group, dgram, (req.msg.flags & NLM_F.ECHO) !== 0);
  }

  // kernel: lookup_datapath()
  function lookup(req: GenlRequest): Datapath {
    const name = attrString(req.attrs.get('name'));
    const dp = name === undefined
      ? ctx.net.byIfindex(headerIfindex(req.fixed))
      : ((l) => (l && l.vport.portNo === OVSP_LOCAL ? l.dp : undefined))(ctx.net.locateVport(name));
    if (!dp) throw new NlError(Errno.ENODEV);
    return dp;
  }

  /** change computes what ovs_dp_change() would set, throwing before anything is applied. */
  // kernel: ovs_dp_change()
  function change(req: GenlRequest): (dp: Datapath) => void {
    const featAttr = req.attrs.get('user-features');
    const feats = attrU32(featAttr) ?? 0;
    if (featAttr && (feats & ~knownFeatures || feats & unsupported)) throw new NlError(Errno.EOPNOTSUPP);
    const cache = attrU32(req.attrs.get('masks-cache-size'));
    if (cache !== undefined) checkMasksCacheSize(cache);
    let pids: number[] | undefined;
    if (feats & perCpu && req.attrs.get('per-cpu-pids')) {
      checkAttrRule(req.attrs, 'per-cpu-pids');
      pids = attrU32Array(req.attrs.get('per-cpu-pids'));
    }
    return (dp) => {
      if (cache !== undefined) dp.table.resizeMasksCache(cache);
      dp.userFeatures = feats;
      if (pids) dp.perCpuPids = pids;
    };
  }

  return {
    doit: {
      // kernel: ovs_dp_cmd_new()
      [fam.op('new').cmd]: (req) => {
        const apply = change(req);
        const name = attrString(req.attrs.get('name')) ?? '';
        const dp = new Datapath(ctx.vportEnv.nrCpus, ctx.maxMeters);
        dp.perCpuFlag = perCpu;
        dp.unalignedFlag = features.get('unaligned') ?? 0;
        let local;
        try {
          local = createVport({
            name, type: ctx.vportEnv.types.internal, portNo: OVSP_LOCAL,
            upcallPids: req.attrs.get('upcall-pid')!, desiredIfindex: attrS32(req.attrs.get('ifindex')) ?? 0,
          }, ctx.vportEnv);
        } catch (e) {
          if (e instanceof NlError && (e.errno === Errno.EBUSY || e.errno === Errno.EEXIST)) {
            if (req.msg.bytes[17] < OVS_DP_VER_FEATURES) {
              // kernel: ovs_dp_reset_user_features()
              const old = ctx.net.locateVport(name);
              if (old?.vport.portNo === OVSP_LOCAL) {
                kmsg.print(`openvswitch: ${old.dp.name}: Dropping previously announced user features`);
                old.dp.userFeatures = 0;
              }
            }
            throw new NlError(Errno.EEXIST);
          }
          throw e;
        }
        dp.addPort(local);
        apply(dp);
        ctx.net.dps.push(dp);
        notify(req, fill(dp, req.portid, req.msg.seq, 0, fam.op('new').cmd));
      },
      // kernel: ovs_dp_cmd_del() → __dp_destroy()
      [fam.op('del').cmd]: (req) => {
        const dp = lookup(req);
        const reply = fill(dp, req.portid, req.msg.seq, 0, fam.op('del').cmd);
        for (const v of [...dp.ports.values()].filter((p) => p.portNo !== OVSP_LOCAL)) {
          dp.removePort(v.portNo);
          v.destroy();
        }
        const local = dp.local;
        dp.removePort(OVSP_LOCAL);
        local.destroy();
        ctx.net.remove(dp);
        notify(req, reply);
      },
      // kernel: ovs_dp_cmd_get()
      [fam.op('get').cmd]: (req) => {
        const dp = lookup(req);
        req.out.unicast(fill(dp, req.portid, req.msg.seq, 0, fam.op('get').cmd));
      },
      // kernel: ovs_dp_cmd_set()
      [fam.op('set').cmd]: (req) => {
        const dp = lookup(req);
        change(req)(dp);
        notify(req, fill(dp, req.portid, req.msg.seq, 0, fam.op('set').cmd));
      },
    },
    dumpit: {
      // kernel: ovs_dp_cmd_dump()
      [fam.op('get').cmd]: function* (req) {
        for (const dp of [...ctx.net.dps]) yield fill(dp, req.portid, req.msg.seq, NLM_F.MULTI, fam.op('get').cmd);
      },
    },
  };
}
