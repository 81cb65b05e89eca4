import * as fs from 'fs';
import * as path from 'path';
import Ajv from 'ajv';
import { parse as parseYaml } from 'yaml';
import { GENL_FLAG } from '../nl/constants';
import { errnoByName } from '../nl/errno';
import { SCALAR_SIZE, layoutStruct, type RawMember } from './struct';
import type {
  AttrKind, AttrSet, AttrSpec, FamilySpec, NlaType, OpMode, OpSpec, ParseMode, SchemaRegistry, StructSpec,
} from './model';

// Shapes of the YAML documents (already checked by the meta-schema when these are read).
interface RawChecks { min?: number; max?: number; 'min-len'?: number; 'max-len'?: number; 'x-multiple-of'?: number }
interface RawAttr {
  name: string; type: AttrKind; value?: number; struct?: string; 'sub-type'?: AttrKind;
  'nested-attributes'?: string; enum?: string; 'byte-order'?: string; checks?: RawChecks;
  'x-nla-type'?: NlaType; 'x-len'?: 'nested' | 'variable'; 'x-check-errno'?: string;
  'x-kernel-only'?: boolean; 'x-ref'?: string; 'x-policy-nested'?: boolean; 'x-indexed-array'?: boolean;
}
interface RawSet {
  name: string; 'x-parse-mode'?: ParseMode; 'x-max-type'?: number; 'x-allow-duplicates'?: boolean;
  'x-ignore-above-max'?: boolean; 'x-unpadded-last'?: boolean; attributes: RawAttr[];
}
interface RawMode {
  request?: { attributes?: string[]; 'x-required'?: string[] }; 'x-policy-set'?: string; 'x-policy-maxattr'?: number;
}
interface RawOp {
  name: string; value: number; 'attribute-set'?: string; flags?: string[]; 'x-op-flags'?: number;
  do?: RawMode; dump?: RawMode;
}
interface RawDef {
  name: string; type: 'struct' | 'flags' | 'enum' | 'const'; members?: RawMember[];
  entries?: (string | { name: string; value?: number })[]; 'value-start'?: number;
}
interface RawFamily {
  name: string; version?: number; 'fixed-header'?: string; 'x-family-id'?: number; 'x-maxattr'?: number;
  'x-main-set'?: string; definitions?: RawDef[]; 'attribute-sets': RawSet[];
  operations?: { list: RawOp[] }; 'mcast-groups'?: { list: { name: string; 'x-id': number }[] };
}

let defaultDir: string | undefined;

/** Repository folder holding the YAML files, found relative to this file (lib/ or dist/lib/). */
export function defaultSchemaDir(): string {
  if (defaultDir) return defaultDir;
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'netlink-schemas');
    if (fs.existsSync(path.join(candidate, 'meta', 'schema.yaml'))) return (defaultDir = candidate);
    dir = path.dirname(dir);
  }
  throw new Error('netlink-schemas/ not found');
}

function defaultNla(a: RawAttr): NlaType {
  if (a['x-nla-type']) return a['x-nla-type'];
  switch (a.type) {
    case 'unused': case 'pad': return 'none';
    case 'nest': return 'nested';
    default: return a.type;
  }
}

function compileAttr(fam: string, a: RawAttr, type: number, structs: Map<string, StructSpec>): AttrSpec {
  const struct = a.struct ? structs.get(a.struct) : undefined;
  if (a.struct && !struct) throw new Error(`${fam}: ${a.name}: unknown struct ${a.struct}`);
  const scalar = SCALAR_SIZE[a.type];
  const lenMode = a['x-len'] ?? 'fixed';
  let exactLen: number | undefined;
  if (lenMode === 'fixed') exactLen = struct ? struct.size : scalar ?? (a.type === 'unused' ? 0 : undefined);
  const nla = defaultNla(a);
  const c = a.checks ?? {};
  const policyLen = nla === 'unspec' ? c['min-len'] ?? 0 : c['max-len'] ?? 0;
  return {
    name: a.name,
    type,
    kind: a.type,
    lenMode,
    exactLen,
    indexedArray: a['x-indexed-array'] ?? false,
    nestedRef: a['x-ref'] ?? a['nested-attributes'],
    kernelOnly: a['x-kernel-only'] ?? false,
    struct,
    bigEndian: a['byte-order'] === 'big-endian',
    subType: a['sub-type'],
    enumName: a.enum,
    nla,
    policyLen,
    min: c.min === undefined ? undefined : BigInt(c.min),
    max: c.max === undefined ? undefined : BigInt(c.max),
    policyNested: a.type === 'nest' && a['x-policy-nested'] !== false,
    multipleOf: c['x-multiple-of'],
    checkErrno: a['x-check-errno'] ? errnoByName(a['x-check-errno']) : undefined,
    minLen: lenMode === 'variable' ? c['min-len'] : undefined,
    maxLen: lenMode === 'variable' ? c['max-len'] : undefined,
  };
}

function compileSet(fam: string, raw: RawSet, structs: Map<string, StructSpec>): AttrSet {
  const attrs: AttrSpec[] = [];
  let next = 1;
  for (const a of raw.attributes) {
    const type = a.value ?? next;
    next = type + 1;
    attrs.push(compileAttr(fam, a, type, structs));
  }
  const maxType = raw['x-max-type'] ?? attrs.reduce((m, a) => Math.max(m, a.type), 0);
  return {
    name: raw.name,
    family: fam,
    mode: raw['x-parse-mode'] ?? 'decode',
    maxType,
    allowDuplicates: raw['x-allow-duplicates'] ?? false,
    ignoreAboveMax: raw['x-ignore-above-max'] ?? false,
    unpaddedLast: raw['x-unpadded-last'] ?? false,
    attrs,
    byType: new Map(attrs.map((a) => [a.type, a])),
    byName: new Map(attrs.map((a) => [a.name, a])),
  };
}

function compileEnums(defs: RawDef[]): Map<string, Map<string, number>> {
  const enums = new Map<string, Map<string, number>>();
  for (const d of defs) {
    if (d.type !== 'flags' && d.type !== 'enum') continue;
    const m = new Map<string, number>();
    let i = d['value-start'] ?? 0;
    for (const e of d.entries ?? []) {
      const name = typeof e === 'string' ? e : e.name;
      if (typeof e !== 'string' && e.value !== undefined) i = e.value;
      m.set(name, d.type === 'flags' ? 2 ** i : i);
      i++;
    }
    enums.set(d.name, m);
  }
  return enums;
}

/**
 * compileMode resolves one half of an op. Its policy is the set x-policy-set names (default: the
 * op's attribute set) up to x-policy-maxattr (default: that set's highest type); maxattr 0 means
 * no policy, as genl_cmd_full_to_split() leaves a GENL_DONT_VALIDATE_DUMP dump.
 */
function compileMode(fam: string, m: RawMode | undefined, opSet: AttrSet | undefined, sets: Map<string, AttrSet>): OpMode | undefined {
  if (!m) return undefined;
  const name = m['x-policy-set'];
  const set = name === undefined ? opSet : sets.get(name);
  if (name !== undefined && !set) throw new Error(`${fam}: unknown x-policy-set ${name}`);
  const maxType = m['x-policy-maxattr'] ?? set?.maxType ?? 0;
  return {
    requestAttrs: m.request?.attributes ?? [],
    required: m.request?.['x-required'] ?? [],
    policy: set && maxType ? { set, maxType } : undefined,
  };
}

function compileFamily(raw: RawFamily): FamilySpec {
  const structs = new Map<string, StructSpec>();
  for (const d of raw.definitions ?? []) {
    if (d.type === 'struct') structs.set(d.name, layoutStruct(d.name, d.members ?? []));
  }
  const sets = new Map(raw['attribute-sets'].map((s) => [s.name, compileSet(raw.name, s, structs)]));
  const mainSet = raw['x-main-set'] ? sets.get(raw['x-main-set']) : undefined;
  const fixedHeader = raw['fixed-header'] ? structs.get(raw['fixed-header']) : undefined;
  const enums = compileEnums(raw.definitions ?? []);
  const ops: OpSpec[] = (raw.operations?.list ?? []).map((o) => {
    const set = o['attribute-set'] ? sets.get(o['attribute-set']) : undefined;
    const unsAdminPerm = o.flags?.includes('uns-admin-perm') ?? false;
    const adminPerm = o.flags?.includes('admin-perm') ?? false;
    const ctrlFlags = o['x-op-flags'] ?? ((o.do ? GENL_FLAG.CMD_CAP_DO : 0) | (o.dump ? GENL_FLAG.CMD_CAP_DUMP : 0) |
      (set && (o.do || o.dump) ? GENL_FLAG.CMD_CAP_HASPOL : 0) | (unsAdminPerm ? GENL_FLAG.UNS_ADMIN_PERM : 0) |
      (adminPerm ? GENL_FLAG.ADMIN_PERM : 0));
    return { name: o.name, cmd: o.value, set, unsAdminPerm, adminPerm, do: compileMode(raw.name, o.do, set, sets), dump: compileMode(raw.name, o.dump, set, sets), ctrlFlags };
  });
  const fam: FamilySpec = {
    name: raw.name,
    version: raw.version ?? 1,
    familyId: raw['x-family-id'] ?? 0,
    maxattr: raw['x-maxattr'] ?? mainSet?.maxType ?? 0,
    hdrsize: fixedHeader?.size ?? 0,
    fixedHeader,
    mainSet,
    sets,
    structs,
    enums,
    ops,
    resvStartOp: ops.reduce((m, o) => Math.max(m, o.cmd + 1), 0),
    mcastGroups: (raw['mcast-groups']?.list ?? []).map((g) => ({ name: g.name, id: g['x-id'] })),
    set(name) {
      const s = sets.get(name);
      if (!s) throw new Error(`${raw.name}: no attribute set ${name}`);
      return s;
    },
    op(name) {
      const o = ops.find((x) => x.name === name);
      if (!o) throw new Error(`${raw.name}: no op ${name}`);
      return o;
    },
    struct(name) {
      const s = structs.get(name);
      if (!s) throw new Error(`${raw.name}: no struct ${name}`);
      return s;
    },
    enumValue(enumName, entry) {
      const v = enums.get(enumName)?.get(entry);
      if (v === undefined) throw new Error(`${raw.name}: no ${enumName}.${entry}`);
      return v;
    },
  };
  return fam;
}

/** resolveNests links every nest attribute to its set (same family, or `family/set` via x-ref). */
function resolveNests(families: FamilySpec[]): void {
  for (const fam of families) {
    for (const set of fam.sets.values()) {
      for (const a of set.attrs) {
        if (!a.nestedRef) continue;
        const [f, s] = a.nestedRef.includes('/') ? a.nestedRef.split('/') : [fam.name, a.nestedRef];
        const target = families.find((x) => x.name === f)?.sets.get(s);
        if (!target) throw new Error(`${fam.name}/${set.name}.${a.name}: unresolved nest ${a.nestedRef}`);
        a.nested = target;
      }
    }
  }
}

const cache = new Map<string, SchemaRegistry>();

/**
 * loadSchemas reads netlink-schemas/*.yaml, validates each file against meta/schema.yaml and
 * compiles the families. Results are cached per folder (the files are read-only data).
 */
export function loadSchemas(dir: string = defaultSchemaDir()): SchemaRegistry {
  const hit = cache.get(dir);
  if (hit) return hit;
  const meta = parseYaml(fs.readFileSync(path.join(dir, 'meta', 'schema.yaml'), 'utf8')) as object;
  const validate = new Ajv({ allErrors: true, strict: false }).compile(meta);
  const families: FamilySpec[] = [];
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
    const doc: unknown = parseYaml(fs.readFileSync(path.join(dir, file), 'utf8'));
    if (!validate(doc)) {
      const why = (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`).join('; ');
      throw new Error(`netlink-schemas/${file}: ${why}`);
    }
    families.push(compileFamily(doc as RawFamily));
  }
  resolveNests(families);
  const reg: SchemaRegistry = {
    families,
    family(name) {
      const f = families.find((x) => x.name === name);
      if (!f) throw new Error(`no family ${name} in ${dir}`);
      return f;
    },
    byId(id) {
      return families.find((x) => x.familyId === id);
    },
  };
  cache.set(dir, reg);
  return reg;
}
