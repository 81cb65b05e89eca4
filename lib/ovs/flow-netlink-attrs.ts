/**
 * The flow key attribute sets of the ovs_flow schema, compiled once into the lookup tables the
 * key codec uses: attribute numbers by name, struct member offsets by name, and the few
 * numbers derived from the schema (MPLS depth, supported ct_state bits, frag types). Nothing
 * here is typed by hand: a name missing from the schema fails at load time.
 */
import { loadSchemas } from '../schema/load';
import type { AttrSet, FamilySpec, StructMember } from '../schema/model';

const KEY_ATTRS = [
  'encap', 'priority', 'in-port', 'ethernet', 'vlan', 'ethertype', 'ipv4', 'ipv6', 'tcp', 'udp', 'icmp',
  'icmpv6', 'arp', 'nd', 'skb-mark', 'tunnel', 'sctp', 'tcp-flags', 'dp-hash', 'recirc-id', 'mpls',
  'ct-state', 'ct-zone', 'ct-mark', 'ct-labels', 'ct-orig-tuple-ipv4', 'ct-orig-tuple-ipv6', 'nsh',
  'ipv6-exthdrs',
] as const;
const TUN_ATTRS = [
  'id', 'ipv4-src', 'ipv4-dst', 'tos', 'ttl', 'dont-fragment', 'csum', 'oam', 'geneve-opts', 'tp-src',
  'tp-dst', 'vxlan-opts', 'ipv6-src', 'ipv6-dst', 'pad', 'erspan-opts', 'ipv4-info-bridge',
] as const;
const NSH_ATTRS = ['base', 'md1', 'md2'] as const;
const VXLAN_ATTRS = ['gbp'] as const;

export type KeyAttrName = (typeof KEY_ATTRS)[number];
export type TunAttrName = (typeof TUN_ATTRS)[number];
export type NshAttrName = (typeof NSH_ATTRS)[number];

const STRUCTS = {
  ethernet: 'ovs-key-ethernet', ipv4: 'ovs-key-ipv4', ipv6: 'ovs-key-ipv6', exthdrs: 'ovs-key-ipv6-exthdrs',
  tcp: 'ovs-key-tcp', udp: 'ovs-key-udp', sctp: 'ovs-key-sctp', icmp: 'ovs-key-icmp', icmpv6: 'ovs-key-icmpv6',
  arp: 'ovs-key-arp', nd: 'ovs-key-nd', ct4: 'ovs-key-ct-tuple-ipv4', ct6: 'ovs-key-ct-tuple-ipv6',
  nshBase: 'ovs-nsh-key-base', nshMd1: 'ovs-nsh-key-md1',
} as const;
export type StructKey = keyof typeof STRUCTS;

/** Member offsets of one schema struct, by member name. */
export type Members = Readonly<Record<string, StructMember>>;

/** KeySchema is everything the key codec reads from netlink-schemas/ovs_flow.yaml. */
export interface KeySchema {
  family: FamilySpec;
  keySet: AttrSet;
  tunSet: AttrSet;
  vxlanSet: AttrSet;
  nshSet: AttrSet;
  /** OVS_KEY_ATTR_* numbers. */
  K: Readonly<Record<KeyAttrName, number>>;
  /** OVS_TUNNEL_KEY_ATTR_* numbers. */
  T: Readonly<Record<TunAttrName, number>>;
  /** OVS_NSH_KEY_ATTR_* numbers. */
  N: Readonly<Record<NshAttrName, number>>;
  /** OVS_VXLAN_EXT_* numbers. */
  V: Readonly<Record<(typeof VXLAN_ATTRS)[number], number>>;
  /** OVS_FLOW_ATTR_KEY / OVS_FLOW_ATTR_MASK. */
  flowAttr: { key: number; mask: number };
  /** Payload structs by schema name (ovs-key-ipv4, ...). */
  st: Readonly<Record<StructKey, Members>>;
  /** sizeof() of the same structs (C alignment included: ovs_key_arp is 24). */
  size: Readonly<Record<StructKey, number>>;
  /** Size of one struct ovs_key_mpls and MPLS_LABEL_DEPTH (max-len / element size). */
  mplsLseLen: number;
  mplsLabelDepth: number;
  /** sizeof(struct vxlan_metadata): the gbp word. */
  vxlanMetadataLen: number;
  /** CT_SUPPORTED_MASK with conntrack: every OVS_CS_F_* bit the schema lists. */
  ctSupportedMask: number;
  /** OVS_FRAG_TYPE_LATER and OVS_FRAG_TYPE_MAX. */
  fragLater: number;
  fragMax: number;
}

function numbers<N extends string>(set: AttrSet, names: readonly N[]): Record<N, number> {
  const out = {} as Record<N, number>;
  for (const n of names) {
    const a = set.byName.get(n);
    if (!a) throw new Error(`${set.family}/${set.name}: no attribute ${n}`);
    out[n] = a.type;
  }
  return out;
}

function members(fam: FamilySpec, name: string): Members {
  return Object.fromEntries(fam.struct(name).members.map((m) => [m.name, m]));
}

function mapStructs<T>(fn: (schemaName: string) => T): Record<StructKey, T> {
  const out = {} as Record<StructKey, T>;
  for (const k of Object.keys(STRUCTS) as StructKey[]) out[k] = fn(STRUCTS[k]);
  return out;
}

function compile(fam: FamilySpec): KeySchema {
  const keySet = fam.set('key-attrs');
  const tunSet = fam.set('tunnel-key-attrs');
  const vxlanSet = fam.set('vxlan-ext-attrs');
  const nshSet = fam.set('nsh-key-attrs');
  const flowAttrs = numbers(fam.set('flow-attrs'), ['key', 'mask'] as const);
  const mpls = keySet.byName.get('mpls');
  const gbp = vxlanSet.byName.get('gbp');
  if (!mpls || !gbp) throw new Error('ovs_flow schema lacks mpls or vxlan gbp');
  const mplsLseLen = fam.struct('ovs-key-mpls').size;
  let ctSupportedMask = 0;
  for (const v of fam.enums.get('ct-state-flags')?.values() ?? []) ctSupportedMask |= v;
  const fragTypes = [...(fam.enums.get('frag-type')?.values() ?? [])];
  return {
    family: fam,
    keySet,
    tunSet,
    vxlanSet,
    nshSet,
    K: numbers(keySet, KEY_ATTRS),
    T: numbers(tunSet, TUN_ATTRS),
    N: numbers(nshSet, NSH_ATTRS),
    V: numbers(vxlanSet, VXLAN_ATTRS),
    flowAttr: flowAttrs,
    st: mapStructs((n) => members(fam, n)),
    size: mapStructs((n) => fam.struct(n).size),
    mplsLseLen,
    mplsLabelDepth: Math.floor(mpls.policyLen / mplsLseLen),
    vxlanMetadataLen: gbp.exactLen ?? 0,
    ctSupportedMask,
    fragLater: fam.enumValue('frag-type', 'later'),
    fragMax: Math.max(...fragTypes),
  };
}

const compiled = new WeakMap<FamilySpec, KeySchema>();
/** The tables of the repository's own schemas (read-only data, compiled on first use). */
let defaultSchema: KeySchema | undefined;

/**
 * keySchema compiles (once per loaded family) the key tables of `family`, by default the
 * ovs_flow family of the repository's netlink-schemas/.
 */
export function keySchema(family?: FamilySpec): KeySchema {
  if (!family) return (defaultSchema ??= keySchema(loadSchemas().family('ovs_flow')));
  let s = compiled.get(family);
  if (!s) compiled.set(family, (s = compile(family)));
  return s;
}

const BITS: readonly bigint[] = Array.from({ length: 64 }, (_, i) => 1n << BigInt(i));

/** bit is the u64 attribute bitmap bit of type `t` (1ULL << t); types are at most 16 bits wide. */
export function bit(t: number): bigint {
  return BITS[t] ?? 1n << BigInt(t);
}
