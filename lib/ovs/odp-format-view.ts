/**
 * The kernel's flow attributes as OVS userspace 3.1 sees them. Numbers and lengths come from
 * netlink-schemas/ovs_flow.yaml; this file only says where OVS's own enums (include/linux/
 * openvswitch.h of OVS, `#ifndef __KERNEL__` parts) put a different meaning on a kernel number:
 *
 * - actions: OVS 3.1 numbers TUNNEL_PUSH, TUNNEL_POP, DROP, LB_OUTPUT right after ADD_MPLS, where
 *   Linux 6.12 has DEC_TTL, DROP, PSAMPLE. ovs-dpctl 3.1 therefore prints a kernel `dec_ttl` as a
 *   tnl_push, a kernel `drop` as tnl_pop(reason) and a kernel `psample` as a badly sized DROP.
 *   OVS ≥ 3.4 (dialect 'ovs-3.4') numbers them like the kernel.
 * - key attributes: OVS knows types up to TUNNEL_INFO; the kernel's IPV6_EXTHDRS is "key32".
 * - tunnel attributes: OVS's GTPU_OPTS takes the kernel's IPV4_INFO_BRIDGE number.
 */
import { loadSchemas } from '../schema/load';
import type { AttrSet, AttrSpec, FamilySpec, StructSpec } from '../schema/model';
import { layoutStruct } from '../schema/struct';

/** Length-table entries of odp-util.h (struct attr_len_tbl). */
export const ATTR_LEN_INVALID = -1;
export const ATTR_LEN_VARIABLE = -2;
export const ATTR_LEN_NESTED = -3;

/** OdpDialect picks how actions 23..25 of the kernel are numbered (see the file comment). */
export type OdpDialect = 'ovs-3.1' | 'ovs-3.4';

/** LenTable is an attr_len_tbl with its max type: `len` is 0 for types the table leaves out. */
export interface LenTable {
  max: number;
  len(type: number): number;
  /** The table of a nested attribute's content (tbl[type].next). */
  next(type: number): LenTable | undefined;
}

/** Action kinds of format_odp_action(), by OVS's name for the action. */
export type ActionKind =
  | 'output' | 'userspace' | 'set' | 'push-vlan' | 'pop-vlan' | 'sample' | 'recirc' | 'hash'
  | 'push-mpls' | 'pop-mpls' | 'set-masked' | 'ct' | 'trunc' | 'push-eth' | 'pop-eth' | 'ct-clear'
  | 'push-nsh' | 'pop-nsh' | 'meter' | 'clone' | 'check-pkt-len' | 'add-mpls' | 'dec-ttl' | 'drop'
  | 'psample' | 'tnl-push' | 'tnl-pop' | 'lb-output';

/** OdpView is what the formatter needs from the schema, under one dialect. */
export interface OdpView {
  fam: FamilySpec;
  keys: AttrSet;
  tunnel: AttrSet;
  vxlan: AttrSet;
  nsh: AttrSet;
  actions: AttrSet;
  userspace: AttrSet;
  sample: AttrSet;
  cpl: AttrSet;
  decTtl: AttrSet;
  ct: AttrSet;
  nat: AttrSet;
  psample: AttrSet;
  keyLens: LenTable;
  tunnelLens: LenTable;
  vxlanLens: LenTable;
  nshLens: LenTable;
  /** Number of a kernel attribute in `set`. */
  num(set: AttrSet, name: string): number;
  /** Kernel attribute name of a key type OVS knows (≤ keyLens.max), else undefined. */
  keyName(type: number): string | undefined;
  /** Tunnel attribute name as OVS 3.1 reads the number ('gtpu-opts' for the kernel's info-bridge). */
  tunnelName(type: number): string | undefined;
  /** odp_action_len() and the action's kind, for an action type. */
  action(type: number): { kind?: ActionKind; len: number };
  struct(name: string): StructSpec;
  enumValue(enumName: string, entry: string): number;
}

function specLen(a: AttrSpec): number {
  if (a.lenMode === 'nested') return ATTR_LEN_NESTED;
  if (a.lenMode === 'variable') return ATTR_LEN_VARIABLE;
  return a.exactLen ?? 0;
}

function table(set: AttrSet, max: number, override: Record<string, number>, next: Record<string, LenTable> = {}): LenTable {
  return {
    max,
    len(type) {
      if (type > max) return ATTR_LEN_INVALID;
      const a = set.byType.get(type);
      if (!a) return 0;
      return override[a.name] ?? specLen(a);
    },
    next(type) {
      const a = set.byType.get(type);
      return a ? next[a.name] : undefined;
    },
  };
}

/**
 * OVS userspace structs the formatter reads (not kernel uapi, so not in the schema): the
 * userspace action cookie (odp-util.h), the tunnel push header (OVS openvswitch.h), the erspan
 * and geneve option layouts (packets.h) and ovs_key_nd_extensions.
 */
const USER_STRUCTS: StructSpec[] = [
  layoutStruct('ovs-key-nd-extensions', [
    { name: 'nd-reserved', type: 'u32', 'byte-order': 'big-endian' }, { name: 'nd-options-type', type: 'u8' },
  ]),
  layoutStruct('user-action-cookie-head', [
    { name: 'type', type: 'u16' }, { name: 'ofp-in-port', type: 'u32' }, { name: 'ofproto-uuid', type: 'binary', len: 16, 'x-align': 4 },
  ]),
  layoutStruct('user-action-cookie-sflow', [
    { name: 'vlan-tci', type: 'u16', 'byte-order': 'big-endian' }, { name: 'output', type: 'u32' },
  ]),
  layoutStruct('user-action-cookie-slow-path', [{ name: 'unused', type: 'u16' }, { name: 'reason', type: 'u32' }]),
  layoutStruct('user-action-cookie-ipfix', [{ name: 'output-odp-port', type: 'u32' }]),
  layoutStruct('user-action-cookie-flow-sample', [
    { name: 'probability', type: 'u16' }, { name: 'collector-set-id', type: 'u32' }, { name: 'obs-domain-id', type: 'u32' },
    { name: 'obs-point-id', type: 'u32' }, { name: 'output-odp-port', type: 'u32' }, { name: 'direction', type: 'u32' },
  ]),
  layoutStruct('user-action-cookie-controller', [
    { name: 'dont-send', type: 'u8' }, { name: 'continuation', type: 'u8' }, { name: 'reason', type: 'u16' },
    { name: 'recirc-id', type: 'u32' }, { name: 'rule-cookie', type: 'binary', len: 8, 'x-align': 4 },
    { name: 'controller-id', type: 'u16' }, { name: 'max-len', type: 'u16' },
  ]),
  layoutStruct('ovs-action-push-tnl-head', [
    { name: 'tnl-port', type: 'u32' }, { name: 'out-port', type: 'u32' }, { name: 'header-len', type: 'u32' }, { name: 'tnl-type', type: 'u32' },
  ]),
  layoutStruct('erspan-metadata-v1', [{ name: 'version', type: 's32' }, { name: 'index', type: 'u32', 'byte-order': 'big-endian' }]),
  layoutStruct('erspan-metadata-v2', [
    { name: 'version', type: 's32' }, { name: 'timestamp', type: 'u32', 'byte-order': 'big-endian' },
    { name: 'sgt', type: 'u16', 'byte-order': 'big-endian' },
    // Little-endian bitfields: hwid_upper:2, ft:5, p:1 then o:1, gra:2, dir:1, hwid:4.
    { name: 'bits-a', type: 'u8' }, { name: 'bits-b', type: 'u8' },
  ]),
  layoutStruct('gtpu-metadata', [{ name: 'flags', type: 'u8' }, { name: 'msgtype', type: 'u8' }]),
];

/** The user_action_cookie variants (one union in C); the cookie is the head plus the largest. */
export const COOKIE_VARIANTS = ['sflow', 'slow-path', 'flow-sample', 'ipfix', 'controller'] as const;

const SHARED_ACTIONS: readonly ActionKind[] = [
  'output', 'userspace', 'set', 'push-vlan', 'pop-vlan', 'sample', 'recirc', 'hash', 'push-mpls', 'pop-mpls',
  'set-masked', 'ct', 'trunc', 'push-eth', 'pop-eth', 'ct-clear', 'push-nsh', 'pop-nsh', 'meter', 'clone',
  'check-pkt-len', 'add-mpls',
];

function sharedKind(name: string): ActionKind | undefined {
  return SHARED_ACTIONS.find((k) => k === name);
}

const cache = new Map<OdpDialect, OdpView>();

/** odpView builds (once per dialect) the formatter's view of the ovs_flow schema. */
export function odpView(dialect: OdpDialect = 'ovs-3.1'): OdpView {
  const hit = cache.get(dialect);
  if (hit) return hit;
  const fam = loadSchemas().family('ovs_flow');
  const set = (name: string): AttrSet => fam.set(name);
  const num = (s: AttrSet, name: string): number => {
    const a = s.byName.get(name);
    if (!a) throw new Error(`ovs_flow/${s.name}: no ${name}`);
    return a.type;
  };
  const keys = set('key-attrs');
  const tunnel = set('tunnel-key-attrs');
  const vxlan = set('vxlan-ext-attrs');
  const nsh = set('nsh-key-attrs');
  const actions = set('action-attrs');
  const structs = new Map(USER_STRUCTS.map((s) => [s.name, s]));

  const vxlanLens = table(vxlan, vxlan.maxType, {});
  const nshLens = table(nsh, nsh.maxType, {});
  // OVS_TUNNEL_KEY_ATTR_MAX of OVS is its GTPU_OPTS, the kernel's ipv4-info-bridge number.
  const tunnelLens = table(tunnel, num(tunnel, 'ipv4-info-bridge'), { pad: 0, 'ipv4-info-bridge': ATTR_LEN_VARIABLE },
    { 'vxlan-opts': vxlanLens });
  // OVS_KEY_ATTR_MAX of OVS is TUNNEL_INFO; nd_ext is OVS's struct, tunnel_info has no entry.
  const keyLens = table(keys, num(keys, 'tunnel-info'),
    { 'nd-extensions': structs.get('ovs-key-nd-extensions')?.size ?? 0, 'tunnel-info': 0 },
    { tunnel: tunnelLens, nsh: nshLens });

  const lastShared = num(actions, 'add-mpls');
  const u32Len = actions.byName.get('output')?.exactLen ?? 0;
  const userOnly: ActionKind[] = dialect === 'ovs-3.1'
    ? ['tnl-push', 'tnl-pop', 'drop', 'lb-output']
    : ['dec-ttl', 'drop', 'psample', 'tnl-push', 'tnl-pop', 'lb-output'];
  const userLen: Partial<Record<ActionKind, number>> = {
    'tnl-push': ATTR_LEN_VARIABLE, 'tnl-pop': u32Len, drop: u32Len, 'lb-output': u32Len,
    'dec-ttl': ATTR_LEN_VARIABLE, psample: ATTR_LEN_VARIABLE,
  };
  const actionMax = lastShared + userOnly.length;

  const view: OdpView = {
    fam, keys, tunnel, vxlan, nsh, actions,
    userspace: set('userspace-attrs'), sample: set('sample-attrs'), cpl: set('check-pkt-len-attrs'),
    decTtl: set('dec-ttl-attrs'), ct: set('ct-attrs'), nat: set('nat-attrs'), psample: set('psample-attrs'),
    keyLens, tunnelLens, vxlanLens, nshLens, num,
    keyName(type) {
      return type <= keyLens.max ? keys.byType.get(type)?.name : undefined;
    },
    tunnelName(type) {
      if (type > tunnelLens.max) return undefined;
      const name = tunnel.byType.get(type)?.name;
      return name === 'ipv4-info-bridge' ? 'gtpu-opts' : name;
    },
    action(type) {
      // ovs: odp_action_len()
      if (type === 0 || type > actionMax) return { len: ATTR_LEN_INVALID };
      if (type > lastShared) {
        const kind = userOnly[type - lastShared - 1];
        return { kind, len: userLen[kind] ?? ATTR_LEN_INVALID };
      }
      const a = actions.byType.get(type);
      if (!a) return { len: ATTR_LEN_INVALID };
      const len = specLen(a);
      return { kind: sharedKind(a.name), len: len === ATTR_LEN_NESTED ? ATTR_LEN_VARIABLE : len };
    },
    struct(name) {
      return structs.get(name) ?? fam.struct(name);
    },
    enumValue: (e, entry) => fam.enumValue(e, entry),
  };
  cache.set(dialect, view);
  return view;
}
