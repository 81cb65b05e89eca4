import { NLM_F } from '../nl/constants';
import { Errno } from '../nl/errno';
import { NlError } from '../nl/errors';
import type { FamilyHandlers, GenlRequest } from '../genl/genetlink';
import { attrU32, AttrEncoder } from '../schema/codec';
import type { FamilySpec } from '../schema/model';
import { parseLiberal, type ParsedAttrs } from '../schema/validate';
import type { OvsNet } from './datapath';
import { headerIfindex, ovsMessage } from './context';
import type { FlowCodec } from './flow-codec';
import { monotonicMs, usedTime, type MonotonicClock } from './flow-stats';
import { cmpKey, cmpUnmaskedKey } from './flow-key';
import { Flow, FlowTable } from './flow-table';
import { ovsNlerr } from './flow-netlink-match';
import { ovsNlaGetUfid } from './flow-netlink-key';

/** FlowContext is what the ovs_flow handlers need. */
export interface FlowContext<A> {
  net: OvsNet;
  family: FamilySpec;
  codec: FlowCodec<A>;
  clock?: MonotonicClock;
}

/**
 * ovs_flow handlers (net/openvswitch/datapath.c, ovs_flow_cmd_*). As in the kernel, replies
 * to NEW/SET/DEL are built only when the requester asked for an echo or the ovs_flow group
 * has listeners.
 */
export function flowHandlers<A>(ctx: FlowContext<A>): FamilyHandlers {
  const fam = ctx.family;
  const set = fam.set('flow-attrs');
  const T = (n: string): number => set.byName.get(n)!.type;
  const omit = (n: string): number => fam.enumValue('ufid-flags', n);
  const group = fam.mcastGroups[0]?.id ?? 0;
  const codec = ctx.codec;
  const now = ctx.clock ?? monotonicMs;
  const cmd = (n: string): number => fam.op(n).cmd;

  /** ovs_nla_get_ufid(): a UFID of 1..16 bytes, else absent (logged unless a probe). */
  const ufidOf = (attrs: ParsedAttrs): Buffer | undefined =>
    ovsNlaGetUfid(attrs.get('ufid'), probeLog(attrs) ? ovsNlerr : () => undefined);

  const ufidFlags = (attrs: ParsedAttrs): number => attrU32(attrs.get('ufid-flags')) ?? 0;
  const probeLog = (attrs: ParsedAttrs): boolean => !attrs.get('probe');
  /** OVS_NLERR(log, msg) then -EINVAL, as the handlers' argument checks do. */
  const einval = (lg: boolean, msg: string): NlError => {
    if (lg) ovsNlerr(msg);
    return new NlError(Errno.EINVAL);
  };

  // kernel: ovs_flow_cmd_fill_info()
  function fill(flow: Flow<A>, dpIfindex: number, portid: number, seq: number, flags: number, command: number, uflags: number): Buffer {
    const w = ovsMessage(fam, command, flags, seq, portid, dpIfindex);
    // ovs_nla_put_identifier()
    const ufid = flow.ufid;
    if (ufid) w.attr(T('ufid'), ufid);
    else codec.putKey(w, T('key'), flow.unmaskedKey!, flow.unmaskedKey!, false);
    const needKey = (ufid && !(uflags & omit('omit-key'))) || !(uflags & omit('omit-mask'));
    const key = needKey ? flow.key : undefined;
    if (ufid && !(uflags & omit('omit-key'))) codec.putKey(w, T('key'), key!, key!, false);
    if (!(uflags & omit('omit-mask'))) codec.putKey(w, T('mask'), key!, flow.mask.key, true);
    // ovs_flow_cmd_fill_stats()
    const st = flow.stats.read();
    const e = new AttrEncoder(w, set);
    if (st.used) e.int('used', usedTime(st.used, now()));
    if (st.packets) e.struct('stats', { 'n-packets': st.packets, 'n-bytes': st.bytes });
    if (st.tcpFlags & 0xff) e.int('tcp-flags', st.tcpFlags & 0xff);
    if (!(uflags & omit('omit-actions'))) codec.putActions(w, T('actions'), flow.actions);
    return w.endMessage().finish();
  }

  // kernel: ovs_must_notify()
  const mustNotify = (req: GenlRequest): boolean => (req.msg.flags & NLM_F.ECHO) !== 0 || req.out.hasListeners(group);
  const notify = (req: GenlRequest, dgram: Buffer): void => req.out.notify(group, dgram, (req.msg.flags & NLM_F.ECHO) !== 0);

  /** The datapath of the request header and its table (which holds this codec's actions). */
  function dpOf(req: GenlRequest): { table: FlowTable<A> } {
    const dp = ctx.net.byIfindex(headerIfindex(req.fixed));
    if (!dp) throw new NlError(Errno.ENODEV);
    return { table: dp.table as FlowTable<A> };
  }

  // kernel: ovs_flow_cmd_new() checks key, then actions, and logs which is missing.
  const missingNew: Record<string, string> = {
    key: 'Flow key attr not present in new flow.',
    actions: 'Flow actions attr not present in new flow.',
  };

  return {
    missing: (req, attr) => {
      if (req.cmd === cmd('new') && missingNew[attr] && probeLog(req.attrs)) ovsNlerr(missingNew[attr]);
    },
    doit: {
      // kernel: ovs_flow_cmd_new()
      [cmd('new')]: (req) => {
        const a = req.attrs;
        const lg = probeLog(a);
        const keyAttr = a.get('key');
        const actsAttr = a.get('actions');
        // x-required: the genetlink layer logged (missing below) and refused a request without them.
        if (!keyAttr || !actsAttr) throw new NlError(Errno.EINVAL);
        const match = codec.getMatch(keyAttr, a.get('mask'), lg);
        const maskedKey = codec.maskKey(match.key, match.mask);
        const ufid = ufidOf(a);
        let acts: A;
        try {
          acts = codec.copyActions(actsAttr, maskedKey, lg);
        } catch (e) {
          if (lg) ovsNlerr('Flow actions may not be safe on all matching packets.');
          throw e;
        }
        const dp = dpOf(req);
        const uflags = ufidFlags(a);
        const dpIfindex = headerIfindex(req.fixed);
        let flow = ufid ? dp.table.lookupUfid(ufid) : undefined;
        flow ??= dp.table.lookup(match.key);
        if (!flow) {
          const unmasked = ufid ? undefined : { key: match.key, start: match.range.start, end: match.range.end };
          const created = new Flow<A>(maskedKey, ufid, unmasked, acts, match.key.length);
          dp.table.insert(created, match.mask);
          if (mustNotify(req)) notify(req, fill(created, dpIfindex, req.portid, req.msg.seq, 0, cmd('new'), uflags));
          return;
        }
        if (req.msg.flags & (NLM_F.CREATE | NLM_F.EXCL)) throw new NlError(Errno.EEXIST);
        // kernel: ovs_flow_cmp(): a UFID flow's masked key against the request's key, else the
        // unmasked keys, both over the request key's range.
        const same = flow.isKeyIdentified
          ? cmpUnmaskedKey(flow.unmaskedKey!, match.key, match.range)
          : cmpKey(flow.key, match.key, match.range.start, match.range.end);
        if (!same) {
          flow = flow.isKeyIdentified ? dp.table.lookupExact(match.key, match.range) : undefined;
          if (!flow) throw new NlError(Errno.ENOENT);
        }
        flow.actions = acts;
        if (mustNotify(req)) notify(req, fill(flow, dpIfindex, req.portid, req.msg.seq, 0, cmd('new'), uflags));
      },
      // kernel: ovs_flow_cmd_set()
      [cmd('set')]: (req) => {
        const a = req.attrs;
        const lg = probeLog(a);
        const ufid = ufidOf(a);
        const keyAttr = a.get('key');
        if (!keyAttr && !ufid) throw einval(lg, 'Flow set message rejected, Key attribute missing.');
        // kernel: ovs_nla_init_match_and_action()
        let match;
        let acts: A | undefined;
        if (keyAttr) match = codec.getMatch(keyAttr, a.get('mask'), lg);
        const actsAttr = a.get('actions');
        if (actsAttr) {
          if (!match) throw einval(lg, 'Flow key attribute not present in set flow.');
          // kernel: get_flow_actions()
          try {
            acts = codec.copyActions(actsAttr, codec.maskKey(match.key, match.mask), lg);
          } catch (e) {
            if (lg) ovsNlerr('Actions may not be safe on all matching packets');
            throw e;
          }
        }
        const dp = dpOf(req);
        const flow = ufid ? dp.table.lookupUfid(ufid) : dp.table.lookupExact(match!.key, match!.range);
        if (!flow) throw new NlError(Errno.ENOENT);
        if (acts !== undefined) flow.actions = acts;
        const uflags = ufidFlags(a);
        // The reply is built before CLEAR, so it reports the stats being cleared.
        const reply = mustNotify(req) ? fill(flow, headerIfindex(req.fixed), req.portid, req.msg.seq, 0, cmd('set'), uflags) : undefined;
        if (a.get('clear')) flow.stats.clear();
        if (reply) notify(req, reply);
      },
      // kernel: ovs_flow_cmd_get()
      [cmd('get')]: (req) => {
        const a = req.attrs;
        const lg = probeLog(a);
        const ufid = ufidOf(a);
        const keyAttr = a.get('key');
        let key;
        if (keyAttr) key = codec.getKey(keyAttr, lg);
        else if (!ufid) throw einval(lg, 'Flow get message rejected, Key attribute missing.');
        const dp = dpOf(req);
        const flow = ufid ? dp.table.lookupUfid(ufid) : dp.table.lookupExact(key!.key, key!.range);
        if (!flow) throw new NlError(Errno.ENOENT);
        req.out.unicast(fill(flow, headerIfindex(req.fixed), req.portid, req.msg.seq, 0, cmd('get'), ufidFlags(a)));
      },
      // kernel: ovs_flow_cmd_del()
      [cmd('del')]: (req) => {
        const a = req.attrs;
        const lg = probeLog(a);
        const ufid = ufidOf(a);
        const keyAttr = a.get('key');
        const key = keyAttr ? codec.getKey(keyAttr, lg) : undefined;
        const dp = dpOf(req);
        if (!keyAttr && !ufid) {
          dp.table.flush();
          return;
        }
        const flow = ufid ? dp.table.lookupUfid(ufid) : dp.table.lookupExact(key!.key, key!.range);
        if (!flow) throw new NlError(Errno.ENOENT);
        const reply = mustNotify(req)
          ? fill(flow, headerIfindex(req.fixed), req.portid, req.msg.seq, 0, cmd('del'), ufidFlags(a)) : undefined;
        dp.table.remove(flow);
        if (reply) notify(req, reply);
      },
    },
    dumpit: {
      // kernel: ovs_flow_cmd_dump()
      [cmd('get')]: function* (req) {
        const attrs = parseLiberal(req.msg.bytes.subarray(req.attrBase), set, set.maxType, { base: req.attrBase, extack: req.extack });
        const uflags = ufidFlags(attrs);
        const dpIfindex = headerIfindex(req.fixed);
        const dp = ctx.net.byIfindex(dpIfindex);
        if (!dp) throw new NlError(Errno.ENODEV);
        for (const flow of (dp.table as FlowTable<A>).dump()) {
          yield fill(flow, dpIfindex, req.portid, req.msg.seq, NLM_F.MULTI, cmd('get'), uflags);
        }
      },
    },
  };
}
