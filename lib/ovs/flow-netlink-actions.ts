import { NLA_HDRLEN } from '../nl/constants';
import { Errno } from '../nl/errno';
import { NlError } from '../nl/errors';
import type { AttrSet } from '../schema/model';
import { forEachAttr, parseBySet, parseNested, walkOvsAttrs, type Attr, type ParsedAttrs } from '../schema/validate';
import { ctCopyAction } from './conntrack-action';
import { DP_MAX_PORTS } from './datapath';
import { ActionsBuilder, type FlowActions } from './flow-actions-buffer';
import { actionSchema, type ActionSchema } from './flow-actions-schema';
import { MAC_PROTO, actionKeyViewOf, type ActionKeyView } from './flow-action-key';
import { ovsNlerr, type OvsLog } from './flow-netlink-match';
import { validatePushNsh, validateSet } from './flow-netlink-set';
import { ETH_P, VLAN_CFI_MASK, ethPMpls, ethTypeVlan } from './net-consts';

export type { FlowActions, ActionObject } from './flow-actions-buffer';
export type { ActionKeyView } from './flow-action-key';
export { ovsNlaPutActions, putActionList } from './flow-netlink-actions-put';

/** OVS_COPY_ACTIONS_MAX_DEPTH: nesting of sample/clone/check_pkt_len/dec_ttl lists. */
const OVS_COPY_ACTIONS_MAX_DEPTH = 16;
/** ETH_HLEN: the shortest packet trunc may cut to. */
const ETH_HLEN = 14;
/** ETH_P_TEB: transparent Ethernet bridging (an Ethernet frame after pop_mpls). */
const ETH_P_TEB = 0x6558;
/** OVS_MPLS_L3_TUNNEL_FLAG_MASK: add_mpls pushes in front of the L3 header. */
const OVS_MPLS_L3_TUNNEL_FLAG_MASK = 1;
/** TUN_P_* next-protocol numbers and their EtherTypes (include/net/tun_proto.h). */
const TUN_P_ETHERNET = 3;
const TUN_P_ETH_P: ReadonlyMap<number, number> = new Map([
  [1, ETH_P.IP], [2, ETH_P.IPV6], [TUN_P_ETHERNET, ETH_P_TEB], [4, ETH_P.NSH], [5, ETH_P.MPLS_UC],
]);
const tunPFromEthP = (t: number): number => [...TUN_P_ETH_P].find(([, e]) => e === t)?.[0] ?? 0;

/**
 * CopyActionsOptions: `log` is false for probes (OVS_FLOW_ATTR_PROBE), which silences OVS_NLERR;
 * true sends the kernel's log lines to the default sink of the key code ({@link ovsNlerr}).
 */
export interface CopyActionsOptions {
  log: boolean | OvsLog;
}

/** The state __ovs_nla_copy_actions() tracks along one list (eth_type, vlan_tci, label count by value). */
interface ListState {
  ethType: number;
  vlanTci: number;
  mplsLabelCount: number;
  macProto: number;
}

interface CopyCtx {
  S: ActionSchema;
  key: ActionKeyView;
  b: ActionsBuilder;
  log: OvsLog | undefined;
}

/** An action's validator: returns true when it stored the action itself (skip_copy). */
type Handler = (a: Attr, last: boolean, st: ListState, c: CopyCtx, depth: number) => boolean;

const einval = (c: CopyCtx, msg?: string): NlError => {
  if (msg) c.log?.(msg);
  return new NlError(Errno.EINVAL);
};

/** The kernel passes no extack to these nla_parse calls: keep the errno, drop the message. */
function bare<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof NlError) throw new NlError(e.errno);
    throw e;
  }
}

const popcount = (v: number): number => {
  let n = 0;
  for (let x = v >>> 0; x; x &= x - 1) n++;
  return n;
};

// kernel: actions_may_change_flow()
function actionsMayChangeFlow(list: Attr, S: ActionSchema): boolean {
  let change = false;
  forEachAttr(list.payload, 0, (a) => {
    switch (S.actions.byType.get(a.type)?.name) {
      case 'output': case 'recirc': case 'trunc': case 'userspace': case 'drop': case 'psample':
        return;
      default:
        change = true;
    }
  });
  return change;
}

/** Parses a nest with the set's nla strength (cpl_policy, psample), without extack. */
function nlaParse(a: Attr, set: AttrSet, nested: boolean): ParsedAttrs {
  return bare(() => (nested ? parseNested(a, set, {}) : parseBySet(a.payload, set, { base: a.offset + NLA_HDRLEN, extack: {} })));
}

/** Collects a hand-parsed ovs-key nest (sample, dec_ttl), where type 0 is EINVAL. */
function collect(a: Attr, set: AttrSet): Map<number, Attr> {
  const out = new Map<number, Attr>();
  walkOvsAttrs(a.payload, set, a.offset + NLA_HDRLEN, (x) => {
    if (x.type === 0) throw new NlError(Errno.EINVAL);
    out.set(x.type, x);
  });
  return out;
}

/** A nested action list may be empty; else it must hold at least one attribute header. */
const listLenOk = (a: Attr): boolean => a.payload.length === 0 || a.payload.length >= NLA_HDRLEN;

// kernel: validate_and_copy_sample()
function copySample(a: Attr, last: boolean, st: ListState, c: CopyCtx, depth: number): boolean {
  const { S, b } = c;
  const attrs = collect(a, S.sample);
  const prob = attrs.get(S.num(S.sample, 'probability'));
  const acts = attrs.get(S.num(S.sample, 'actions'));
  if (!prob || !acts || !listLenOk(acts)) throw new NlError(Errno.EINVAL);
  const m = b.nestStart(S.num(S.actions, 'sample'));
  const argSpec = S.struct('sample-arg');
  const arg = b.payload(b.add(S.sampleArg, undefined, argSpec.size), argSpec.size);
  arg[S.off('sample-arg', 'exec')] = last || !actionsMayChangeFlow(acts, S) ? 1 : 0;
  arg.writeUInt32LE(prob.payload.readUInt32LE(0), S.off('sample-arg', 'probability'));
  copyList(acts, st, c, depth + 1);
  b.nestEnd(m);
  return true;
}

// kernel: validate_and_copy_clone()
function copyClone(a: Attr, last: boolean, st: ListState, c: CopyCtx, depth: number): boolean {
  const { S, b } = c;
  if (!listLenOk(a)) throw new NlError(Errno.EINVAL);
  const m = b.nestStart(S.num(S.actions, 'clone'));
  const exec = Buffer.alloc(4); // u32
  exec.writeUInt32LE(last || !actionsMayChangeFlow(a, S) ? 1 : 0);
  b.add(S.cloneExec, exec);
  copyList(a, st, c, depth + 1);
  b.nestEnd(m);
  return true;
}

// kernel: validate_and_copy_check_pkt_len()
function copyCheckPktLen(a: Attr, last: boolean, st: ListState, c: CopyCtx, depth: number): boolean {
  const { S, b } = c;
  const attrs = nlaParse(a, S.cpl, false);
  const len = attrs.get('pkt-len');
  if (!len || !len.payload.readUInt16LE(0)) throw new NlError(Errno.EINVAL);
  const le = attrs.get('actions-if-less-equal');
  const gt = attrs.get('actions-if-greater');
  if (!gt || !le) throw new NlError(Errno.EINVAL);
  const m = b.nestStart(S.num(S.actions, 'check-pkt-len'));
  const argSpec = S.struct('check-pkt-len-arg');
  const arg = b.payload(b.add(S.cplArg, undefined, argSpec.size), argSpec.size);
  arg.writeUInt16LE(len.payload.readUInt16LE(0), S.off('check-pkt-len-arg', 'pkt-len'));
  arg[S.off('check-pkt-len-arg', 'exec-for-lesser-equal')] = last || !actionsMayChangeFlow(le, S) ? 1 : 0;
  arg[S.off('check-pkt-len-arg', 'exec-for-greater')] = last || !actionsMayChangeFlow(gt, S) ? 1 : 0;
  for (const branch of [le, gt]) {
    const bm = b.nestStart(branch.type);
    copyList(branch, st, c, depth + 1);
    b.nestEnd(bm);
  }
  b.nestEnd(m);
  return true;
}

// kernel: validate_and_copy_dec_ttl()
function copyDecTtl(a: Attr, _last: boolean, st: ListState, c: CopyCtx, depth: number): boolean {
  const { S, b } = c;
  const actionType = S.num(S.decTtl, 'action');
  const acts = collect(a, S.decTtl).get(actionType);
  if (!acts || !listLenOk(acts)) throw einval(c, 'Missing valid actions attribute.');
  const m = b.nestStart(S.num(S.actions, 'dec-ttl'));
  const am = b.nestStart(actionType);
  copyList(acts, st, c, depth + 1);
  b.nestEnd(am);
  b.nestEnd(m);
  return true;
}

const ok = (): boolean => false;

/** One validator per action of the schema's action-attrs, as the switch of __ovs_nla_copy_actions(). */
const HANDLERS: Readonly<Record<string, Handler>> = {
  output: (a, _l, _s, c) => {
    if (a.payload.readUInt32LE(0) >= DP_MAX_PORTS) throw einval(c);
    return false;
  },
  // kernel: validate_userspace()
  userspace: (a, _l, _s, c) => {
    const attrs = nlaParse(a, c.S.userspace, false);
    const pid = attrs.get('pid');
    if (!pid || !pid.payload.readUInt32LE(0)) throw einval(c);
    return false;
  },
  set: (a, _l, st, c) => validateSet(a, c.key, st, false, c.b, c.S, c.log),
  'set-masked': (a, _l, st, c) => validateSet(a, c.key, st, true, c.b, c.S, c.log),
  'push-vlan': (a, _l, st, c) => {
    if (st.macProto !== MAC_PROTO.ETHERNET) throw einval(c);
    const tci = a.payload.readUInt16BE(c.S.off('ovs-action-push-vlan', 'vlan-tci'));
    if (!ethTypeVlan(a.payload.readUInt16BE(c.S.off('ovs-action-push-vlan', 'vlan-tpid')))) throw einval(c);
    if (!(tci & VLAN_CFI_MASK)) throw einval(c);
    st.vlanTci = tci;
    return false;
  },
  'pop-vlan': (_a, _l, st, c) => {
    if (st.macProto !== MAC_PROTO.ETHERNET) throw einval(c);
    st.vlanTci = 0;
    return false;
  },
  sample: copySample,
  recirc: ok,
  hash: (a, _l, _s, c) => {
    const alg = a.payload.readUInt32LE(c.S.off('ovs-action-hash', 'hash-alg'));
    if (![...(c.S.fam.enums.get('hash-alg')?.values() ?? [])].includes(alg)) throw einval(c);
    return false;
  },
  'push-mpls': (a, _l, st, c) => {
    const ethertype = a.payload.readUInt16BE(c.S.off('ovs-action-push-mpls', 'mpls-ethertype'));
    if (!ethPMpls(ethertype)) throw einval(c);
    // Push MPLS only onto packets with a known tag order.
    if (st.vlanTci & VLAN_CFI_MASK || !mplsPushable(st.ethType)) throw einval(c);
    st.ethType = ethertype;
    st.mplsLabelCount = (st.mplsLabelCount + 1) >>> 0;
    return false;
  },
  'pop-mpls': (a, _l, st, c) => {
    if (st.vlanTci & VLAN_CFI_MASK || !ethPMpls(st.ethType)) throw einval(c);
    const proto = a.payload.readUInt16BE(0);
    if (proto === ETH_P_TEB && st.macProto !== MAC_PROTO.NONE) throw einval(c);
    st.mplsLabelCount = (st.mplsLabelCount - 1) >>> 0;
    st.ethType = !ethPMpls(proto) || !st.mplsLabelCount ? 0 : proto;
    return false;
  },
  ct: (a, _l, _s, c) => {
    ctCopyAction(a, c.key, c.b, c.S, c.log);
    return true;
  },
  trunc: (a, _l, _s, c) => {
    if (a.payload.readUInt32LE(c.S.off('ovs-action-trunc', 'max-len')) < ETH_HLEN) throw einval(c);
    return false;
  },
  'push-eth': (_a, _l, st, c) => {
    if (st.macProto !== MAC_PROTO.NONE) throw einval(c); // an Ethernet header is already there
    st.macProto = MAC_PROTO.ETHERNET;
    return false;
  },
  'pop-eth': (_a, _l, st, c) => {
    if (st.macProto !== MAC_PROTO.ETHERNET || st.vlanTci & VLAN_CFI_MASK) throw einval(c);
    st.macProto = MAC_PROTO.NONE;
    return false;
  },
  'ct-clear': ok,
  'push-nsh': (a, _l, st, c) => {
    if (st.macProto !== MAC_PROTO.ETHERNET && !tunPFromEthP(st.ethType)) throw einval(c);
    st.macProto = MAC_PROTO.NONE;
    validatePushNsh(a, c.S, c.log);
    return false;
  },
  'pop-nsh': (_a, _l, st, c) => {
    if (st.ethType !== ETH_P.NSH || !TUN_P_ETH_P.get(c.key.nshNp)) throw einval(c);
    st.macProto = c.key.nshNp === TUN_P_ETHERNET ? MAC_PROTO.ETHERNET : MAC_PROTO.NONE;
    return false;
  },
  meter: ok, // non-existent meters are simply ignored
  clone: copyClone,
  'check-pkt-len': copyCheckPktLen,
  'add-mpls': (a, _l, st, c) => {
    const S = c.S;
    const ethertype = a.payload.readUInt16BE(S.off('ovs-action-add-mpls', 'mpls-ethertype'));
    if (!ethPMpls(ethertype)) throw einval(c);
    if (a.payload.readUInt16LE(S.off('ovs-action-add-mpls', 'tun-flags')) & OVS_MPLS_L3_TUNNEL_FLAG_MASK) {
      if (st.vlanTci & VLAN_CFI_MASK || !mplsPushable(st.ethType)) throw einval(c);
      st.mplsLabelCount = (st.mplsLabelCount + 1) >>> 0;
    } else if (st.macProto === MAC_PROTO.ETHERNET) {
      st.mplsLabelCount = 1;
      st.macProto = MAC_PROTO.NONE;
    } else {
      st.mplsLabelCount = (st.mplsLabelCount + 1) >>> 0;
    }
    st.ethType = ethertype;
    return false;
  },
  'dec-ttl': copyDecTtl,
  drop: (_a, last, _s, c) => {
    if (!last) throw einval(c);
    return false;
  },
  // kernel: validate_psample()
  psample: (a, _l, _s, c) => {
    if (!nlaParse(a, c.S.psample, true).get('group')) throw einval(c);
    return false;
  },
};

/** The EtherTypes push_mpls (and an L3 add_mpls) accept underneath the new label. */
function mplsPushable(t: number): boolean {
  return t === ETH_P.IP || t === ETH_P.IPV6 || t === ETH_P.ARP || t === ETH_P.RARP || ethPMpls(t);
}

/**
 * copyList validates the action list nested in `list` and appends its stored form. `from`
 * gives eth_type, vlan_tci and the MPLS label count (passed by value); mac_proto restarts from
 * the key in every list.
 */
// kernel: __ovs_nla_copy_actions()
function copyList(list: Attr, from: ListState, c: CopyCtx, depth: number): void {
  if (depth > OVS_COPY_ACTIONS_MAX_DEPTH) throw new NlError(Errno.EOVERFLOW);
  const st: ListState = { ethType: from.ethType, vlanTci: from.vlanTci, mplsLabelCount: from.mplsLabelCount, macProto: c.key.macProto };
  walkOvsAttrs(list.payload, c.S.actions, list.offset + NLA_HDRLEN, (a, spec, last) => {
    const h = a.type === 0 || !spec ? undefined : HANDLERS[spec.name];
    if (!h) throw einval(c, `Unknown Action type ${a.type}`);
    if (!h(a, last, st, c, depth)) c.b.copy(a);
  });
}

/**
 * ovsNlaCopyActions validates a flow's action list (the OVS_FLOW_ATTR_ACTIONS or
 * OVS_PACKET_ATTR_ACTIONS nest) against the masked flow key and returns the form the kernel
 * stores. Errors carry the kernel's errno and no extack (the kernel only logs; with
 * `opts.log` the log lines go to the `ovs-dpemu:ovs:*` debug namespaces).
 * @throws {@link NlError} EINVAL, EOVERFLOW (nesting deeper than 16), ERANGE (policy ranges,
 * two NAT types), ENOENT (ct helper without NAT support), EMSGSIZE (stored nest over 64 KiB).
 */
// kernel: ovs_nla_copy_actions()
export function ovsNlaCopyActions(actions: Attr, key: ActionKeyView, opts: CopyActionsOptions, S: ActionSchema = actionSchema()): FlowActions {
  const b = new ActionsBuilder();
  const mpls = ethPMpls(key.ethType) ? popcount(key.mplsNumLabelsMask) : 0;
  copyList(actions, { ethType: key.ethType, vlanTci: key.vlanTci, mplsLabelCount: mpls, macProto: key.macProto }, { S, key, b, log: opts.log === true ? ovsNlerr : opts.log || undefined }, 0);
  return b.finish(actions.payload.length);
}

/**
 * ovsNlaCopyActionsForKey is {@link ovsNlaCopyActions} on a masked sw_flow_key buffer
 * (lib/ovs/flow-key.ts layout, the whole struct): the FlowCodec.copyActions shape.
 */
export function ovsNlaCopyActionsForKey(actions: Attr, maskedKey: Buffer, log: boolean | OvsLog): FlowActions {
  return ovsNlaCopyActions(actions, actionKeyViewOf(maskedKey), { log });
}

/** Every action of the schema has a validator (checked once, when the module loads). */
export function assertActionHandlers(S: ActionSchema = actionSchema()): void {
  const missing = S.actions.attrs.map((a) => a.name).filter((n) => !HANDLERS[n]);
  if (missing.length) throw new Error(`flow-netlink-actions: no validator for ${missing.join(', ')}`);
}
