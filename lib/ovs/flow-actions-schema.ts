import { loadSchemas } from '../schema/load';
import type { AttrSet, FamilySpec, StructSpec } from '../schema/model';

/**
 * ActionSchema gathers what the action code needs from netlink-schemas/ovs_flow.yaml: the
 * attribute sets, attribute numbers by name, struct layouts, and the kernel-internal attribute
 * numbers that continue the uapi enums under `#ifdef __KERNEL__`.
 */
export interface ActionSchema {
  fam: FamilySpec;
  actions: AttrSet;
  keys: AttrSet;
  tunnel: AttrSet;
  vxlan: AttrSet;
  nsh: AttrSet;
  userspace: AttrSet;
  sample: AttrSet;
  cpl: AttrSet;
  decTtl: AttrSet;
  ct: AttrSet;
  nat: AttrSet;
  psample: AttrSet;
  /** Attribute number of `name` in `set` (throws on a name the schema lacks). */
  num(set: AttrSet, name: string): number;
  /** Byte offset of a struct member. */
  off(struct: string, member: string): number;
  struct(name: string): StructSpec;
  /** OVS_ACTION_ATTR_SET_TO_MASKED: the member after __OVS_ACTION_ATTR_MAX. */
  setToMasked: number;
  /** OVS_SAMPLE_ATTR_ARG: the member after __OVS_SAMPLE_ATTR_MAX. */
  sampleArg: number;
  /** OVS_CHECK_PKT_LEN_ATTR_ARG: the member after __OVS_CHECK_PKT_LEN_ATTR_MAX. */
  cplArg: number;
  /**
   * OVS_CLONE_ATTR_EXEC: first member of the kernel-only enum ovs_clone_attr (the uapi header
   * and the schema have no such set; a clone arrives as a bare action list).
   */
  cloneExec: number;
}

/** The kernel enums go on past their `__*_MAX` sentinel (max + 1): the kernel-only member is max + 2. */
const afterMax = (set: AttrSet): number => set.maxType + 2;

function build(fam: FamilySpec): ActionSchema {
  const s = (n: string): AttrSet => fam.set(n);
  const num = (set: AttrSet, name: string): number => {
    const a = set.byName.get(name);
    if (!a) throw new Error(`${set.family}/${set.name}: no attribute ${name}`);
    return a.type;
  };
  const offsets = new Map<string, number>();
  for (const st of fam.structs.values()) for (const m of st.members) offsets.set(`${st.name}.${m.name}`, m.offset);
  return {
    fam,
    actions: s('action-attrs'),
    keys: s('key-attrs'),
    tunnel: s('tunnel-key-attrs'),
    vxlan: s('vxlan-ext-attrs'),
    nsh: s('nsh-key-attrs'),
    userspace: s('userspace-attrs'),
    sample: s('sample-attrs'),
    cpl: s('check-pkt-len-attrs'),
    decTtl: s('dec-ttl-attrs'),
    ct: s('ct-attrs'),
    nat: s('nat-attrs'),
    psample: s('psample-attrs'),
    num,
    off(struct, member) {
      const o = offsets.get(`${struct}.${member}`);
      if (o === undefined) throw new Error(`ovs_flow: no member ${struct}.${member}`);
      return o;
    },
    struct: (n) => fam.struct(n),
    setToMasked: afterMax(s('action-attrs')),
    sampleArg: afterMax(s('sample-attrs')),
    cplArg: afterMax(s('check-pkt-len-attrs')),
    cloneExec: 1,
  };
}

const cache = new WeakMap<FamilySpec, ActionSchema>();

/** actionSchema returns the (cached) action schema of an ovs_flow family, by default the shipped one. */
export function actionSchema(fam: FamilySpec = loadSchemas().family('ovs_flow')): ActionSchema {
  let s = cache.get(fam);
  if (!s) cache.set(fam, (s = build(fam)));
  return s;
}
