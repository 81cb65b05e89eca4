/**
 * The resolved schema model: what lib/schema/load.ts builds from netlink-schemas/*.yaml.
 * Names follow YNL (family, attribute set, attribute, struct, op).
 */

/** AttrKind is the YNL attribute `type`. */
export type AttrKind =
  | 'unused' | 'pad' | 'flag'
  | 'u8' | 'u16' | 'u32' | 'u64' | 's8' | 's16' | 's32' | 's64'
  | 'string' | 'binary' | 'nest';

/** NlaType is the kernel nla_policy type the attribute is validated with ('none' = no policy entry). */
export type NlaType =
  | 'none' | 'unspec' | 'flag' | 'nested' | 'binary' | 'string' | 'nul-string'
  | 'u8' | 'u16' | 'u32' | 'u64' | 's8' | 's16' | 's32' | 's64';

/** ParseMode picks the validator rules of an attribute set (see netlink-schemas/README.md). */
export type ParseMode = 'genl-legacy' | 'ovs-key' | 'deprecated-strict' | 'strict' | 'decode';

/** StructMember is one field of a C struct, at its C offset. */
export interface StructMember {
  name: string;
  kind: 'u8' | 'u16' | 'u32' | 'u64' | 's8' | 's16' | 's32' | 's64' | 'binary';
  size: number;
  offset: number;
  bigEndian: boolean;
  /** Name of the enum or flags definition naming its values. */
  enum?: string;
}

/** StructSpec is a C struct with its sizeof computed under natural alignment. */
export interface StructSpec {
  name: string;
  size: number;
  members: StructMember[];
}

/** AttrSpec is one attribute of a set, with its compiled policy. */
export interface AttrSpec {
  name: string;
  /** Attribute number (nla_type). */
  type: number;
  kind: AttrKind;
  /** ovs-key length rule: fixed length, OVS_ATTR_NESTED or OVS_ATTR_VARIABLE. */
  lenMode: 'fixed' | 'nested' | 'variable';
  /** Byte length when lenMode is 'fixed' and the length is known (scalar size or struct size). */
  exactLen?: number;
  nested?: AttrSet;
  /** The nest holds nests numbered 1..n, each of the `nested` set (YNL indexed-array; nlctrl OPS). */
  indexedArray: boolean;
  /** Name of the nested set before resolution (`family/set` for x-ref). */
  nestedRef?: string;
  kernelOnly: boolean;
  struct?: StructSpec;
  bigEndian: boolean;
  subType?: AttrKind;
  enumName?: string;
  /** Kernel nla_policy. */
  nla: NlaType;
  /** nla_policy.len: max length for strings/binary, min length for unspec. */
  policyLen: number;
  min?: bigint;
  max?: bigint;
  /** Whether the kernel policy recurses into the nest (nested_policy set). */
  policyNested: boolean;
  /** Handler-level check: payload length a non-zero multiple of this. */
  multipleOf?: number;
  /** errno for handler-level checks. */
  checkErrno?: number;
  /** ovs-key sets: bounds of a `variable` attribute's length (checks.min-len / max-len → EINVAL). */
  minLen?: number;
  maxLen?: number;
}

/** AttrSet is an attribute space with lookup by number and by name. */
export interface AttrSet {
  name: string;
  family: string;
  mode: ParseMode;
  /** Highest attribute number (the policy's maxtype). */
  maxType: number;
  /** ovs-key sets: a repeated type is accepted (x-allow-duplicates) instead of EINVAL. */
  allowDuplicates: boolean;
  /** ovs-key sets: types above maxType are skipped (x-ignore-above-max) instead of EINVAL. */
  ignoreAboveMax: boolean;
  /** ovs-key sets: a last attribute without its padding is accepted (x-unpadded-last: `rem > 0`). */
  unpaddedLast: boolean;
  attrs: AttrSpec[];
  byType: Map<number, AttrSpec>;
  byName: Map<string, AttrSpec>;
}

/** OpPolicy is the kernel's (nla_policy array, maxattr) pair one half of an op validates with. */
export interface OpPolicy {
  /** The attribute set whose nla types form the policy array. */
  set: AttrSet;
  /** The op's maxattr: entries 0..maxType make up the policy. */
  maxType: number;
}

/** OpMode is the do or dump half of an operation. */
export interface OpMode {
  requestAttrs: string[];
  required: string[];
  /** The policy nlctrl's GETPOLICY reports for this half (x-policy-set / x-policy-maxattr); none when undefined. */
  policy?: OpPolicy;
}

/** OpSpec is one genl command. */
export interface OpSpec {
  name: string;
  cmd: number;
  set?: AttrSet;
  unsAdminPerm: boolean;
  adminPerm: boolean;
  do?: OpMode;
  dump?: OpMode;
  /** Flags word nlctrl reports for this op (GENL_CMD_CAP_* | perms | HASPOL). */
  ctrlFlags: number;
}

/** FamilySpec is one generic netlink family. */
export interface FamilySpec {
  name: string;
  version: number;
  familyId: number;
  /** Family maxattr as nlctrl reports it and as the ops parse with. */
  maxattr: number;
  /** Size of the fixed header after genlmsghdr (ovs_header = 4). */
  hdrsize: number;
  fixedHeader?: StructSpec;
  mainSet?: AttrSet;
  sets: Map<string, AttrSet>;
  structs: Map<string, StructSpec>;
  enums: Map<string, Map<string, number>>;
  ops: OpSpec[];
  /** Commands at or above this get genl_header_check() (the kernel's resv_start_op: last op + 1). */
  resvStartOp: number;
  mcastGroups: { name: string; id: number }[];
  set(name: string): AttrSet;
  op(name: string): OpSpec;
  struct(name: string): StructSpec;
  enumValue(enumName: string, entry: string): number;
}

/** SchemaRegistry holds every loaded family. */
export interface SchemaRegistry {
  families: FamilySpec[];
  family(name: string): FamilySpec;
  byId(id: number): FamilySpec | undefined;
}
