/**
 * Flow action execution: net/openvswitch/actions.c of Linux 6.12. ovsExecuteActions() runs a
 * flow's stored action list (lib/ovs/flow-actions-buffer.ts: set → set_to_masked, sample with
 * its sample_arg, clone with its exec flag, …) on a packet, modifying `skb.data` and the flow
 * key in place, and drains the deferred-action FIFO at the top level, with the kernel's
 * recursion limit (OVS_RECURSION_LIMIT) and deferral threshold. Everything outside the packet
 * (ports, upcalls, recirculation, meters, conntrack) goes through an {@link ExecEnv}.
 */
import debug from 'debug';
import { NLA_HDRLEN, NLA_TYPE_MASK, align4 } from '../nl/constants';
import { Errno } from '../nl/errno';
import type { Attr } from '../schema/validate';
import { executeMaskedSet, executeSet } from './actions-set';
import { popEth, popNsh, pushEth, pushNsh } from './actions-eth-nsh';
import { CUTLEN_NONE, OVS_DEFERRED_ACTION_THRESHOLD, OVS_DROP, OVS_RECURSION_LIMIT, U32_MAX, type ExecEnv } from './actions-env';
import { doOutput, executeDecTtl, executeHash, executePsample, outputUserspace, type ListCtx } from './actions-output';
import { isFlowKeyValid, popMpls, popVlan, pushMpls, pushVlan } from './actions-vlan-mpls';
import type { CtActionInfo } from './conntrack-action';
import type { FlowActions } from './flow-actions-buffer';
import { actionSchema, type ActionSchema } from './flow-actions-schema';
import { SWKEY } from './flow-key';
import { ovsFlowKeyUpdate } from './flow';
import type { Skb } from './skb';

export { ActionExecState, OVS_DROP, type CtExec, type ExecEnv, type PsampleInfo, type UpcallInfo } from './actions-env';

const log = debug('ovs-dpemu:ovs:actions');

/** OVS_MPLS_L3_TUNNEL_FLAG_MASK: add_mpls keeps the MAC header in front of the label. */
const OVS_MPLS_L3_TUNNEL_FLAG_MASK = 1;

/** Action names by attribute number, with the kernel-only set_to_masked. */
const namesCache = new WeakMap<ActionSchema, Map<number, string>>();
function actionNames(S: ActionSchema): Map<number, string> {
  let m = namesCache.get(S);
  if (!m) {
    m = new Map(S.actions.attrs.map((a) => [a.type, a.name]));
    m.set(S.setToMasked, 'set-to-masked');
    namesCache.set(S, m);
  }
  return m;
}

/** An attribute of a stored list and whether it is the list's last one (nla_is_last). */
interface Nla {
  a: Attr;
  last: boolean;
}

/** nlas walks a stored attribute list as nla_for_each_attr()/nla_next() do. */
function* nlas(list: Buffer): Generator<Nla> {
  let off = 0;
  while (list.length - off >= NLA_HDRLEN) {
    const rem = list.length - off;
    const len = list.readUInt16LE(off);
    if (len < NLA_HDRLEN || len > rem) return;
    const rawType = list.readUInt16LE(off + 2);
    yield { a: { type: rawType & NLA_TYPE_MASK, rawType, offset: off, payload: list.subarray(off + NLA_HDRLEN, off + len) }, last: len === rem };
    off += align4(len);
  }
}

/** first is nla_data(attr) taken as an attribute; rest is what follows it (nla_next). */
function first(p: Buffer): { a: Attr | undefined; rest: Buffer } {
  for (const { a } of nlas(p)) return { a, rest: p.subarray(Math.min(p.length, align4(NLA_HDRLEN + a.payload.length))) };
  return { a: undefined, rest: Buffer.alloc(0) };
}

const drop = (env: ExecEnv, skb: Skb, reason: number): void => env.drop?.(skb, reason);
const say = (env: ExecEnv, msg: string): void => (env.log ? env.log(msg) : log('%s', msg));
/** ovs_flow_key_update() through the env, by default lib/ovs/flow.ts. */
const keyUpdate = (env: ExecEnv, skb: Skb, key: Buffer): number => (env.keyUpdate ?? ovsFlowKeyUpdate)(skb, key);

/**
 * cloneExecute is clone_execute(): `actions` (or, when undefined, a recirculation with
 * `recircId`) on a clone of the packet, unless `last`; the key is copied to the next level
 * when `cloneFlowKey`, and the work is deferred once the levels run out.
 */
// kernel: clone_execute()
function cloneExecute(c: ListCtx, skb: Skb, key: Buffer, recircId: number, actions: Buffer | undefined,
  last: boolean, cloneFlowKey: boolean): number {
  const { env } = c;
  const st = env.state;
  const s = last ? skb : skb.clone();
  // clone_key(): a copy in the next level's slot while there is one.
  const k = cloneFlowKey ? (st.level <= OVS_DEFERRED_ACTION_THRESHOLD ? Buffer.from(key) : undefined) : key;
  if (k) {
    if (!actions) {
      k.writeUInt32LE(recircId >>> 0, SWKEY.recircId.off);
      env.recirc(s, k);
      return 0;
    }
    if (cloneFlowKey) st.level++;
    try {
      return doExecuteActions(c, s, k, actions);
    } finally {
      if (cloneFlowKey) st.level--;
    }
  }
  const pkt = Buffer.from(key);
  if (!actions) pkt.writeUInt32LE(recircId >>> 0, SWKEY.recircId.off);
  const queued = st.put({ env, skb: s, key: pkt, actions: actions && { bytes: actions, objs: c.objs, origLen: c.origLen } });
  if (!queued) {
    drop(env, s, OVS_DROP.DEFERRED_LIMIT);
    const dp = env.dpName ?? 'ovs';
    say(env, actions ? `${dp}: deferred action limit reached, drop sample action`
      : `${dp}: deferred action limit reached, drop recirc action (recirc_id=0x${recircId.toString(16)})`);
  }
  return 0;
}

// kernel: sample()
function sample(c: ListCtx, skb: Skb, key: Buffer, a: Attr, last: boolean): number {
  const { a: arg, rest } = first(a.payload);
  if (!arg) return 0;
  const prob = arg.payload.readUInt32LE(c.S.off('sample-arg', 'probability'));
  const exec = arg.payload[c.S.off('sample-arg', 'exec')] !== 0;
  const init = skb.probability;
  if (prob !== U32_MAX && (!prob || c.env.random() >>> 0 > prob)) {
    if (last) drop(c.env, skb, OVS_DROP.LAST_ACTION);
    return 0;
  }
  skb.probability = prob;
  const err = cloneExecute(c, skb, key, 0, rest, last, !exec);
  if (!last) skb.probability = init;
  return err;
}

// kernel: clone()
function clone(c: ListCtx, skb: Skb, key: Buffer, a: Attr, last: boolean): number {
  const { a: arg, rest } = first(a.payload);
  const dontCloneKey = arg ? arg.payload.readUInt32LE(0) !== 0 : false;
  return cloneExecute(c, skb, key, 0, rest, last, !dontCloneKey);
}

// kernel: execute_check_pkt_len()
function checkPktLen(c: ListCtx, skb: Skb, key: Buffer, a: Attr, last: boolean): number {
  const { a: arg, rest } = first(a.payload);
  if (!arg) return 0;
  const o = (m: string): number => c.S.off('check-pkt-len-arg', m);
  const len = skb.mru ? skb.mru + skb.macLen : skb.len;
  const le = len <= arg.payload.readUInt16LE(o('pkt-len'));
  const { a: leActs, rest: afterLe } = first(rest);
  const branch = le ? leActs : first(afterLe).a;
  const exec = arg.payload[o(le ? 'exec-for-lesser-equal' : 'exec-for-greater')] !== 0;
  return cloneExecute(c, skb, key, 0, branch?.payload ?? Buffer.alloc(0), last, !exec);
}

// kernel: execute_recirc()
function executeRecirc(c: ListCtx, skb: Skb, key: Buffer, a: Attr, last: boolean): number {
  if (!isFlowKeyValid(key)) {
    const err = keyUpdate(c.env, skb, key);
    if (err) {
      if (last) drop(c.env, skb, OVS_DROP.ACTION_ERROR);
      return err;
    }
  }
  return cloneExecute(c, skb, key, a.payload.readUInt32LE(0), undefined, last, true);
}

// kernel: dec_ttl_exception_handler()
function decTtlException(c: ListCtx, skb: Skb, key: Buffer, a: Attr): number {
  const acts = first(a.payload).a;
  if (acts && acts.payload.length) return cloneExecute(c, skb, key, 0, acts.payload, true, false);
  drop(c.env, skb, OVS_DROP.IP_TTL);
  return 0;
}

/** The ct action's parsed info (struct ovs_conntrack_info kept out of line). */
function ctInfo(c: ListCtx, a: Attr): CtActionInfo | undefined {
  const o = c.objs?.[a.payload.readUInt32LE(0)];
  return o?.kind === 'ct' ? o : undefined;
}

/**
 * doExecuteActions is do_execute_actions(): runs `list` (a stored action list) on the packet,
 * which it consumes (sends, queues or drops). Returns 0 or a negative errno.
 */
// kernel: do_execute_actions()
function doExecuteActions(c: ListCtx, skb: Skb, key: Buffer, list: Buffer): number {
  const { env, S } = c;
  const names = actionNames(S);
  for (const { a, last } of nlas(list)) {
    let err = 0;
    switch (names.get(a.type)) {
      case 'output': {
        const port = a.payload.readUInt32LE(0);
        if (last) {
          doOutput(env, skb, port, key);
          return 0;
        }
        doOutput(env, skb.clone(), port, key);
        skb.cutlen = CUTLEN_NONE;
        break;
      }
      case 'trunc':
        skb.cutlen = a.payload.readUInt32LE(S.off('ovs-action-trunc', 'max-len'));
        break;
      case 'userspace':
        outputUserspace(c, skb, key, a, list, skb.cutlen);
        skb.cutlen = CUTLEN_NONE;
        if (last) return 0; // consume_skb()
        break;
      case 'hash':
        executeHash(c, skb, key, a);
        break;
      case 'push-mpls':
        err = pushMpls(skb, key, a.payload.readUInt32BE(S.off('ovs-action-push-mpls', 'mpls-lse')),
          a.payload.readUInt16BE(S.off('ovs-action-push-mpls', 'mpls-ethertype')), skb.macLen);
        break;
      case 'add-mpls': {
        const o = (m: string): number => S.off('ovs-action-add-mpls', m);
        const l3 = a.payload.readUInt16LE(o('tun-flags')) & OVS_MPLS_L3_TUNNEL_FLAG_MASK;
        err = pushMpls(skb, key, a.payload.readUInt32BE(o('mpls-lse')), a.payload.readUInt16BE(o('mpls-ethertype')), l3 ? skb.macLen : 0);
        break;
      }
      case 'pop-mpls':
        err = popMpls(skb, key, a.payload.readUInt16BE(0));
        break;
      case 'push-vlan':
        err = pushVlan(skb, key, a.payload.readUInt16BE(S.off('ovs-action-push-vlan', 'vlan-tpid')),
          a.payload.readUInt16BE(S.off('ovs-action-push-vlan', 'vlan-tci')));
        break;
      case 'pop-vlan':
        err = popVlan(skb, key);
        break;
      case 'recirc':
        err = executeRecirc(c, skb, key, a, last);
        if (last) return err;
        break;
      case 'set': {
        const k = first(a.payload).a;
        err = k ? executeSet(skb, k, c.objs, S) : -Errno.EINVAL;
        break;
      }
      case 'set-masked':
      case 'set-to-masked': {
        const k = first(a.payload).a;
        err = k ? executeMaskedSet(env, skb, key, k, S) : 0;
        break;
      }
      case 'sample':
        err = sample(c, skb, key, a, last);
        if (last) return err;
        break;
      case 'ct': {
        if (!isFlowKeyValid(key)) {
          err = keyUpdate(env, skb, key);
          if (err) break;
        }
        const info = ctInfo(c, a);
        if (!info) {
          err = -Errno.EINVAL;
          break;
        }
        err = env.conntrack.execute(skb, key, info);
        if (err) {
          // ovs_ct_execute() has freed the packet, unless conntrack kept it (a queued fragment).
          if (err !== -Errno.EINPROGRESS) drop(env, skb, OVS_DROP.CONNTRACK);
          return err === -Errno.EINPROGRESS ? 0 : err;
        }
        break;
      }
      case 'ct-clear':
        env.conntrack.clear(skb, key);
        break;
      case 'push-eth': {
        const o = (m: string): number => S.off('ovs-action-push-eth', m);
        err = pushEth(skb, key, a.payload.subarray(o('eth-dst'), o('eth-dst') + 6), a.payload.subarray(o('eth-src'), o('eth-src') + 6));
        break;
      }
      case 'pop-eth':
        err = popEth(skb, key);
        break;
      case 'push-nsh': {
        const k = first(a.payload).a;
        err = k ? pushNsh(skb, key, k, S) : -Errno.EINVAL;
        break;
      }
      case 'pop-nsh':
        err = popNsh(skb, key);
        break;
      case 'meter':
        if (env.meter(a.payload.readUInt32LE(0), skb)) {
          drop(env, skb, OVS_DROP.METER);
          return 0;
        }
        break;
      case 'clone':
        err = clone(c, skb, key, a, last);
        if (last) return err;
        break;
      case 'check-pkt-len':
        err = checkPktLen(c, skb, key, a, last);
        if (last) return err;
        break;
      case 'dec-ttl':
        err = executeDecTtl(skb, key);
        if (err === -Errno.EHOSTUNREACH) return decTtlException(c, skb, key, a);
        break;
      case 'drop':
        drop(env, skb, a.payload.readUInt32LE(0) ? OVS_DROP.EXPLICIT_WITH_ERROR : OVS_DROP.EXPLICIT);
        return 0;
      case 'psample':
        executePsample(c, skb, a);
        skb.cutlen = CUTLEN_NONE;
        if (last) return 0; // consume_skb()
        break;
      default:
    }
    if (err) {
      drop(env, skb, OVS_DROP.ACTION_ERROR);
      return err;
    }
  }
  drop(env, skb, OVS_DROP.LAST_ACTION);
  return 0;
}

/** processDeferredActions is process_deferred_actions(): the FIFO drained, then reset. */
// kernel: process_deferred_actions()
function processDeferredActions(env: ExecEnv, S: ActionSchema): void {
  const st = env.state;
  if (st.empty) return;
  for (let da = st.get(); da; da = st.get()) {
    if (da.actions) doExecuteActions({ env: da.env, S, objs: da.actions.objs, origLen: da.actions.origLen }, da.skb, da.key, da.actions.bytes);
    else da.env.recirc(da.skb, da.key);
  }
  st.reset();
}

/**
 * ovsExecuteActions is ovs_execute_actions(): `acts` (a flow's stored actions) run on `skb`
 * with `key` (the packet's flow key, updated in place). The packet is consumed. Returns 0 or
 * a negative errno (-ENETDOWN past OVS_RECURSION_LIMIT nested executions), which the kernel's
 * callers only log.
 */
// kernel: ovs_execute_actions()
export function ovsExecuteActions(env: ExecEnv, skb: Skb, acts: FlowActions, key: Buffer, S: ActionSchema = actionSchema()): number {
  const st = env.state;
  const level = ++st.level;
  try {
    if (level > OVS_RECURSION_LIMIT) {
      say(env, `ovs: recursion limit reached on datapath ${env.dpName ?? ''}, probable configuration error`);
      drop(env, skb, OVS_DROP.RECURSION_LIMIT);
      return -Errno.ENETDOWN;
    }
    const err = doExecuteActions({ env, S, objs: acts.objs, origLen: acts.origLen }, skb, key, acts.bytes);
    if (level === 1) processDeferredActions(env, S);
    return err;
  } finally {
    st.level--;
  }
}
