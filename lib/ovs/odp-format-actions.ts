/**
 * Action lists in the odp text form: OVS lib/odp-util.c format_odp_actions() and
 * format_odp_action(), with the action numbering of the chosen OVS version (odp-format-view.ts).
 */
import { decodeStruct, type StructValue } from '../schema/struct';
import { ctText, policyOf } from './odp-format-ct';
import { checkAttrLen, flagsText } from './odp-format-fields';
import { formatKeyAttr, mplsLseText, portName, vlanTciText, type PortNames } from './odp-format-key';
import {
  Ds, eth, fixed, hex0, hx, leftoverText, nlParse, nlWalk, padTo, putHex, spacedHex, type NlAttr, type NlPolicy,
} from './odp-format-text';
import { tnlPushText } from './odp-format-tnl-push';
import { formatNshKeyMask, nshBase, nshMd1, nshOnes, nshZero } from './odp-format-tunnel';
import { ATTR_LEN_VARIABLE, COOKIE_VARIANTS, type OdpView } from './odp-format-view';
import { ETH_P } from './net-consts';

/** ActionFormat carries the view, port names and the buffer the list came from. */
export interface ActionFormat {
  view: OdpView;
  portNames?: PortNames;
  /** The outermost action list (OVS reads a tnl_push struct past its attribute). */
  root: Buffer;
}

const n = (v: StructValue, m: string): number => {
  const x = v[m];
  return typeof x === 'number' ? x : 0;
};

/** innerAttr is nl_attr_get(a) used as a `struct nlattr *`: the attribute at the start of `b`. */
function innerAttr(b: Buffer): NlAttr {
  const p = padTo(b, 4);
  const len = p.readUInt16LE(0);
  const rawType = p.readUInt16LE(2);
  return { type: rawType & 0x3fff, rawType, payload: padTo(p.subarray(4, Math.max(4, len)), Math.max(0, len - 4)), at: 0 };
}

/** format_odp_key_attr(): the length check, then the attribute. */
function keyAttrText(f: ActionFormat, a: NlAttr, ma: NlAttr | undefined, verbose: boolean): string {
  const ds = new Ds();
  if (checkAttrLen(ds, a, ma, f.view.keyLens, false)) formatKeyAttr({ view: f.view, verbose }, ds, a, ma);
  return ds.s;
}

/** User action cookie types (OVS odp-util.h enum user_action_cookie_type). */
const COOKIE = { SFLOW: 1, SLOW_PATH: 2, FLOW_SAMPLE: 3, IPFIX: 4, CONTROLLER: 5 } as const;
const SLOW_PATH_NAMES = ['cfm', 'bfd', 'lacp', 'stp', 'lldp', 'action', 'match'];
const slowPathName = (bit: number): string | undefined => SLOW_PATH_NAMES[Math.log2(bit)];

// ovs: format_odp_userspace_action()
function userspaceText(f: ActionFormat, a: NlAttr): string {
  const { view } = f;
  const pol: Record<string, NlPolicy> = {
    pid: { type: 'u32' }, userdata: { type: 'unspec', optional: true },
    'egress-tun-port': { type: 'u32', optional: true }, actions: { type: 'unspec', optional: true },
  };
  const p = nlParse(a.payload, policyOf(view, view.userspace, pol));
  if (!p) return 'userspace(error)';
  const get = (name: string): NlAttr | undefined => p.get(view.num(view.userspace, name));
  const ds = new Ds().put(`userspace(pid=${get('pid')?.payload.readUInt32LE(0) ?? 0}`);
  const ud = get('userdata')?.payload;
  if (ud) {
    const head = view.struct('user-action-cookie-head');
    const size = head.size + Math.max(...COOKIE_VARIANTS.map((v) => view.struct(`user-action-cookie-${v}`).size));
    let done = false;
    if (ud.length === size) {
      const type = n(decodeStruct(head, ud), 'type');
      const body = (v: string): StructValue => decodeStruct(view.struct(`user-action-cookie-${v}`), ud, head.size);
      done = true;
      if (type === COOKIE.SFLOW) {
        const c = body('sflow');
        const tci = n(c, 'vlan-tci');
        ds.put(`,sFlow(vid=${tci & 0xfff},pcp=${(tci >> 13) & 7},output=${n(c, 'output')})`);
      } else if (type === COOKIE.SLOW_PATH) {
        ds.put(`,slow_path(${flagsText(slowPathName, n(body('slow-path'), 'reason'), ',')})`);
      } else if (type === COOKIE.FLOW_SAMPLE) {
        const c = body('flow-sample');
        ds.put(`,flow_sample(probability=${n(c, 'probability')},collector_set_id=${n(c, 'collector-set-id')}` +
          `,obs_domain_id=${n(c, 'obs-domain-id')},obs_point_id=${n(c, 'obs-point-id')}` +
          `,output_port=${portName(f.portNames, n(c, 'output-odp-port'))}`);
        const dir = n(c, 'direction');
        ds.put(`${dir === 1 ? ',ingress' : dir === 2 ? ',egress' : ''})`);
      } else if (type === COOKIE.IPFIX) {
        ds.put(`,ipfix(output_port=${portName(f.portNames, n(body('ipfix'), 'output-odp-port'))})`);
      } else if (type === COOKIE.CONTROLLER) {
        const c = body('controller');
        const cookie = c['rule-cookie'];
        const rc = Buffer.isBuffer(cookie) ? cookie.readBigUInt64BE(0) : 0n;
        ds.put(`,controller(reason=${n(c, 'reason')},dont_send=${n(c, 'dont-send') ? 1 : 0}` +
          `,continuation=${n(c, 'continuation') ? 1 : 0},recirc_id=${n(c, 'recirc-id')},rule_cookie=${hx(rc)}` +
          `,controller_id=${n(c, 'controller-id')},max_len=${n(c, 'max-len')})`);
      } else {
        done = false;
      }
    }
    if (!done) ds.put(`,userdata(${[...ud].map((x) => hex0(x, 2)).join('')})`);
  }
  if (get('actions')) ds.put(',actions');
  const tun = get('egress-tun-port');
  if (tun) ds.put(`,tunnel_out_port=${portName(f.portNames, tun.payload.readUInt32LE(0))}`);
  return ds.put(')').s;
}

// ovs: format_odp_sample_action()
function sampleText(f: ActionFormat, a: NlAttr): string {
  const { view } = f;
  const p = nlParse(a.payload, policyOf(view, view.sample, { probability: { type: 'u32' }, actions: { type: 'nested' } }));
  if (!p) return 'sample(error)';
  const prob = p.get(view.num(view.sample, 'probability'))?.payload.readUInt32LE(0) ?? 0;
  const acts = p.get(view.num(view.sample, 'actions'))?.payload ?? Buffer.alloc(0);
  return `sample(sample=${fixed((100.0 * prob) / 0xffffffff, 1)}%,actions(${actionsText(f, acts)}))`;
}

// ovs: format_odp_check_pkt_len_action()
function checkPktLenText(f: ActionFormat, a: NlAttr): string {
  const { view } = f;
  const p = nlParse(a.payload, policyOf(view, view.cpl, {
    'pkt-len': { type: 'u16' }, 'actions-if-greater': { type: 'nested' }, 'actions-if-less-equal': { type: 'nested' },
  }));
  if (!p) return 'check_pkt_len(error)';
  const get = (name: string): Buffer => p.get(view.num(view.cpl, name))?.payload ?? Buffer.alloc(0);
  return `check_pkt_len(size=${get('pkt-len').readUInt16LE(0)},gt(${actionsText(f, get('actions-if-greater'))}),` +
    `le(${actionsText(f, get('actions-if-less-equal'))}))`;
}

// ovs: format_odp_set_nsh() — prints nothing at all when an inner attribute is unexpected
function setNshText(view: OdpView, attr: NlAttr): string {
  const k = nshZero();
  const m = nshOnes();
  for (const a of nlWalk(attr.payload).attrs) {
    if (a.type >= view.nshLens.max) return '';
    const expected = view.nshLens.len(a.type);
    if (expected !== ATTR_LEN_VARIABLE && a.payload.length !== 2 * expected) return '';
    const half = a.payload.length / 2;
    if (a.type === view.num(view.nsh, 'base')) {
      nshBase(view, k, a.payload.subarray(0, half));
      nshBase(view, m, a.payload.subarray(half));
    } else if (a.type === view.num(view.nsh, 'md1')) {
      nshMd1(k, a.payload.subarray(0, half));
      nshMd1(m, a.payload.subarray(half));
    }
  }
  const ds = new Ds().put('set(nsh(');
  formatNshKeyMask(ds, k, m);
  return ds.put('))').s;
}

// ovs: odp_nsh_hdr_from_attr() + format_odp_push_nsh_action()
function pushNshText(view: OdpView, attr: NlAttr): string {
  const NSH_BASE_HDR_LEN = view.struct('ovs-nsh-key-base').size;
  const MD1_LEN = view.struct('ovs-nsh-key-md1').size;
  const NSH_HDR_MAX_LEN = 252;
  const h = { np: 0, mdtype: 0, pathHdr: 0, md: Buffer.alloc(NSH_HDR_MAX_LEN - NSH_BASE_HDR_LEN), lenWord: 0 };
  let flags = 0;
  let ttl = 63;
  let mdlen = 0;
  let md1 = false;
  let md2 = false;
  let fit = true;
  let unknown = false;
  for (const a of nlWalk(attr.payload).attrs) {
    const expected = view.nshLens.len(a.type);
    if (a.payload.length !== expected && expected >= 0) {
      fit = false;
      break;
    }
    if (a.type === view.num(view.nsh, 'base')) {
      const b = decodeStruct(view.struct('ovs-nsh-key-base'), a.payload);
      [h.np, h.mdtype, h.pathHdr, flags, ttl] = [n(b, 'np'), n(b, 'mdtype'), n(b, 'path-hdr'), n(b, 'flags'), n(b, 'ttl')];
    } else if (a.type === view.num(view.nsh, 'md1') || a.type === view.num(view.nsh, 'md2')) {
      const isMd1 = a.type === view.num(view.nsh, 'md1');
      md1 ||= isMd1;
      md2 ||= !isMd1;
      mdlen = a.payload.length;
      if ((isMd1 && mdlen !== MD1_LEN) || mdlen + NSH_BASE_HDR_LEN > NSH_HDR_MAX_LEN) {
        fit = false;
        break;
      }
      a.payload.copy(h.md);
    } else {
      unknown = true;
    }
  }
  if (fit && !unknown && !((md1 && h.mdtype !== 1) || (md2 && h.mdtype !== 2))) {
    h.lenWord = ((flags << 12) & 0x3000) | ((ttl << 6) & 0x0fc0) | (((NSH_BASE_HDR_LEN + mdlen) >> 2) & 0x3f);
  }
  const ds = new Ds().put(`push_nsh(flags=${(h.lenWord & 0x3000) >> 12},ttl=${(h.lenWord & 0x0fc0) >> 6}`);
  ds.put(`,mdtype=${h.mdtype},np=${h.np},spi=0x${(h.pathHdr >>> 8).toString(16)},si=${h.pathHdr & 0xff}`);
  if (h.mdtype === 1) {
    for (let i = 0; i < 4; i++) ds.put(`,c${i + 1}=0x${h.md.readUInt32BE(i * 4).toString(16)}`);
  } else if (h.mdtype === 2) {
    // A failed parse leaves the length 0 and OVS prints (size_t)-8 bytes; this shows none.
    ds.put(`,md2=${putHex(h.md.subarray(0, Math.max(0, (h.lenWord & 0x3f) * 4 - NSH_BASE_HDR_LEN)))}`);
  } else {
    ds.put(',<error: unknown mdtype>');
  }
  return ds.put(')').s;
}

// ovs: format_dec_ttl_action() (OVS ≥ 3.4)
function decTtlText(f: ActionFormat, a: NlAttr): string {
  const inner = nlWalk(a.payload).attrs.find((x) => x.type === f.view.num(f.view.decTtl, 'action'));
  return `dec_ttl(le_1(${inner ? actionsText(f, inner.payload) : ''}))`;
}

// ovs: format_odp_psample_action() (OVS ≥ 3.4); switches on the raw nla_type
function psampleText(view: OdpView, a: NlAttr): string {
  const ds = new Ds().put('psample(');
  for (const x of nlWalk(a.payload).attrs) {
    if (x.rawType === view.num(view.psample, 'group')) ds.put(`group=${x.payload.readUInt32LE(0)},`);
    else if (x.rawType === view.num(view.psample, 'cookie')) ds.put(`cookie=${putHex(x.payload)}`);
  }
  ds.chomp(',');
  return ds.put(')').s;
}

/** The bytes from `a`'s payload to the end of the outermost list (what a C struct read sees). */
function fromPayload(f: ActionFormat, a: NlAttr): Buffer {
  const start = a.payload.byteOffset - f.root.byteOffset;
  const same = a.payload.buffer === f.root.buffer && start >= 0 && start <= f.root.length;
  return same ? f.root.subarray(start) : a.payload;
}

/** actionText is format_odp_action() for one action. */
// ovs: format_odp_action()
export function actionText(f: ActionFormat, a: NlAttr): string {
  const { view } = f;
  const { kind, len } = view.action(a.type);
  const k = a.payload;
  const generic = `action${a.type}${k.length ? `(${spacedHex(k)})` : ''}`;
  if (len !== ATTR_LEN_VARIABLE && k.length !== len) return `bad length ${k.length}, expected ${len} for: ${generic}`;
  const st = (name: string): StructValue => decodeStruct(view.struct(name), k);
  switch (kind) {
    case 'meter': return `meter(${k.readUInt32LE(0)})`;
    case 'output': return portName(f.portNames, k.readUInt32LE(0));
    case 'lb-output': return `lb_output(${k.readUInt32LE(0)})`;
    case 'trunc': return `trunc(${n(st('ovs-action-trunc'), 'max-len')})`;
    case 'tnl-pop': return `tnl_pop(${portName(f.portNames, k.readUInt32LE(0))})`;
    case 'tnl-push': return tnlPushText(view, fromPayload(f, a), f.portNames);
    case 'userspace': return userspaceText(f, a);
    case 'recirc': return `recirc(${hx(k.readUInt32LE(0))})`;
    case 'hash': {
      const h = st('ovs-action-hash');
      const alg = n(h, 'hash-alg');
      const basis = n(h, 'hash-basis');
      if (alg === view.enumValue('hash-alg', 'l4')) return `hash(l4(${basis}))`;
      if (alg === view.enumValue('hash-alg', 'sym-l4')) return `hash(sym_l4(${basis}))`;
      return `hash(Unknown hash algorithm(${alg}))`;
    }
    case 'set-masked': {
      const inner = innerAttr(k);
      if (inner.type === view.num(view.keys, 'nsh')) return setNshText(view, inner);
      const size = Math.floor(inner.payload.length / 2);
      if (size > view.struct('ovs-key-ipv6').size) return `set(${keyAttrText(f, inner, undefined, false)})`;
      const value: NlAttr = { type: inner.type, payload: inner.payload.subarray(0, size), at: 0 };
      const mask: NlAttr = { type: inner.type, payload: inner.payload.subarray(size, 2 * size), at: 0 };
      return `set(${keyAttrText(f, value, mask, false)})`;
    }
    case 'set': return `set(${keyAttrText(f, innerAttr(k), undefined, true)})`;
    case 'push-eth': {
      const at = (m: string): number => view.struct('ovs-action-push-eth').members.find((x) => x.name === m)?.offset ?? 0;
      return `push_eth(src=${eth(k, at('eth-src'))},dst=${eth(k, at('eth-dst'))})`;
    }
    case 'pop-eth': return 'pop_eth';
    case 'push-vlan': {
      const v = st('ovs-action-push-vlan');
      const tpid = n(v, 'vlan-tpid');
      return `push_vlan(${tpid !== ETH_P.P8021Q ? `tpid=0x${hex0(tpid, 4)},` : ''}${vlanTciText(n(v, 'vlan-tci'), 0xffff, false)})`;
    }
    case 'pop-vlan': return 'pop_vlan';
    case 'push-mpls': case 'add-mpls': {
      const m = st(kind === 'push-mpls' ? 'ovs-action-push-mpls' : 'ovs-action-add-mpls');
      return `${kind === 'push-mpls' ? 'push' : 'add'}_mpls(${mplsLseText(n(m, 'mpls-lse'))},eth_type=0x${n(m, 'mpls-ethertype').toString(16)})`;
    }
    case 'pop-mpls': return `pop_mpls(eth_type=0x${k.readUInt16BE(0).toString(16)})`;
    case 'sample': return sampleText(f, a);
    case 'ct': return ctText(view, a);
    case 'ct-clear': return 'ct_clear';
    case 'clone': return `clone(${actionsText(f, k)})`;
    case 'push-nsh': return pushNshText(view, innerAttr(k));
    case 'pop-nsh': return 'pop_nsh()';
    case 'check-pkt-len': return checkPktLenText(f, a);
    case 'dec-ttl': return decTtlText(f, a);
    case 'drop': return 'drop';
    case 'psample': return psampleText(view, a);
    default: return generic;
  }
}

/** actionsText is format_odp_actions(): comma-separated actions, "drop" for an empty list. */
// ovs: format_odp_actions()
export function actionsText(f: ActionFormat, actions: Buffer): string {
  if (!actions.length) return 'drop';
  const walk = nlWalk(actions);
  let s = walk.attrs.map((a) => actionText(f, a)).join(',');
  if (walk.left) s += leftoverText(actions, walk);
  return s;
}
