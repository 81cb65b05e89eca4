/**
 * Cross-checks the numbers in netlink-schemas/ against the C header of this machine.
 *
 * At test time a C program is generated from <linux/openvswitch.h> (enum members, *_MAX macros,
 * flag macros, versions, struct sizes), compiled with `cc` in a temp dir and run; its output is
 * compared with the compiled schemas in both directions. Values the local header is too old to
 * know are pinned to Linux 6.12 in UAPI_6_12 below.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadSchemas } from '../../../lib/schema/load';

interface HeaderFacts {
  path: string;
  /** Enum members and integer macros of the header, by C name. */
  values: Map<string, number>;
  /** sizeof(struct X) for every `struct ovs_*` the header defines, by C struct name. */
  sizes: Map<string, number>;
}

/** Reads the header through the preprocessor, then compiles and runs a program printing its values. */
function probeHeader(): HeaderFacts {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ovs-uapi-'));
  try {
    const probe = path.join(dir, 'probe.c');
    fs.writeFileSync(probe, '#include <linux/openvswitch.h>\n');
    const pre = execFileSync('cc', ['-E', '-dD', probe], { encoding: 'utf8' });

    // Keep only the text that comes from linux/openvswitch.h (linemarkers: # <n> "<file>" ...).
    let current = '';
    let headerPath = '';
    const own: string[] = [];
    for (const line of pre.split('\n')) {
      const m = /^# \d+ "([^"]+)"/.exec(line);
      if (m) { current = m[1]; continue; }
      if (current.endsWith('/linux/openvswitch.h')) { headerPath = current; own.push(line); }
    }
    const text = own.join('\n');
    if (!headerPath) throw new Error('linux/openvswitch.h not found by cc -E');

    const enumMembers = new Set<string>();
    for (const body of text.matchAll(/enum\s*\w*\s*\{([^}]*)\}/g)) {
      for (const item of body[1].split(',')) {
        const id = /^\s*([A-Za-z_]\w*)/.exec(item)?.[1];
        if (id && id.startsWith('OVS_')) enumMembers.add(id);
      }
    }
    const macros = new Set<string>();
    for (const m of text.matchAll(/^#define\s+(OVS_\w+)\s+\S/gm)) {
      if (/_(ATTR|EXT)_MAX$|^OVS_(CS_F|UFID_F|DP_F)_|_VERSION$/.test(m[1])) macros.add(m[1]);
    }
    const structs = new Set<string>();
    for (const m of text.matchAll(/struct\s+(ovs_\w+)\s*\{/g)) structs.add(m[1]);

    const lines = [
      '#include <stdio.h>',
      '#include <linux/openvswitch.h>',
      'int main(void) {',
      ...[...enumMembers, ...macros].map((n) => `  printf("V ${n} %lld\\n", (long long)(${n}));`),
      ...[...structs].map((n) => `  printf("S ${n} %zu\\n", sizeof(struct ${n}));`),
      '  return 0;',
      '}',
    ];
    const src = path.join(dir, 'dump.c');
    const exe = path.join(dir, 'dump');
    fs.writeFileSync(src, lines.join('\n') + '\n');
    execFileSync('cc', ['-o', exe, src]);
    const out = execFileSync(exe, { encoding: 'utf8' });
    const values = new Map<string, number>();
    const sizes = new Map<string, number>();
    for (const l of out.trim().split('\n')) {
      const [kind, name, v] = l.split(' ');
      (kind === 'V' ? values : sizes).set(name, Number(v));
    }
    return { path: headerPath, values, sizes };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// Linux 6.12 include/uapi/linux/openvswitch.h values that the linux-libc-dev 6.1 header of this
// machine lacks (or has an older value for). Line numbers are in that 6.12 file.
const UAPI_6_12: Record<string, number> = {
  OVS_VPORT_ATTR_UPCALL_STATS: 10,     // openvswitch.h:280
  OVS_VPORT_ATTR_MAX: 10,              // openvswitch.h:284 (enum ends at :281)
  OVS_VPORT_UPCALL_ATTR_SUCCESS: 0,    // openvswitch.h:292
  OVS_VPORT_UPCALL_ATTR_FAIL: 1,       // openvswitch.h:293
  OVS_VPORT_UPCALL_ATTR_MAX: 1,        // openvswitch.h:297
  OVS_HASH_ALG_SYM_L4: 1,              // openvswitch.h:769
  OVS_PSAMPLE_ATTR_GROUP: 1,           // openvswitch.h:934 (explicit "= 1")
  OVS_PSAMPLE_ATTR_COOKIE: 2,          // openvswitch.h:935
  OVS_PSAMPLE_ATTR_MAX: 2,             // openvswitch.h:941
  OVS_ACTION_ATTR_DROP: 24,            // openvswitch.h:1034
  OVS_ACTION_ATTR_PSAMPLE: 25,         // openvswitch.h:1035
  OVS_ACTION_ATTR_MAX: 25,             // openvswitch.h:1047 (enum ends at :1037)
  OVS_PACKET_ATTR_MAX: 11,             // openvswitch.h:211 (HASH at :207 is the last)
};
// Names of kernels newer than 6.12, which the schemas deliberately leave out.
const AFTER_6_12 = new Set(['OVS_PACKET_ATTR_UPCALL_PID']);

type Target = [family: string, set: string];
/** C prefix → attribute set(s) it numbers (longest prefixes first where they overlap). */
const ATTR_PREFIXES: [string, Target[]][] = [
  ['OVS_DP_ATTR_', [['ovs_datapath', 'datapath']]],
  ['OVS_VPORT_UPCALL_ATTR_', [['ovs_vport', 'upcall-stats']]],
  ['OVS_VPORT_ATTR_', [['ovs_vport', 'vport']]],
  ['OVS_TUNNEL_KEY_ATTR_', [['ovs_flow', 'tunnel-key-attrs']]],
  ['OVS_TUNNEL_ATTR_', [['ovs_vport', 'vport-options']]],
  ['OVS_VXLAN_EXT_', [['ovs_vport', 'vxlan-ext'], ['ovs_flow', 'vxlan-ext-attrs']]],
  ['OVS_FLOW_ATTR_', [['ovs_flow', 'flow-attrs']]],
  ['OVS_KEY_ATTR_', [['ovs_flow', 'key-attrs']]],
  ['OVS_NSH_KEY_ATTR_', [['ovs_flow', 'nsh-key-attrs']]],
  ['OVS_ACTION_ATTR_', [['ovs_flow', 'action-attrs']]],
  ['OVS_USERSPACE_ATTR_', [['ovs_flow', 'userspace-attrs']]],
  ['OVS_SAMPLE_ATTR_', [['ovs_flow', 'sample-attrs']]],
  ['OVS_CHECK_PKT_LEN_ATTR_', [['ovs_flow', 'check-pkt-len-attrs']]],
  ['OVS_DEC_TTL_ATTR_', [['ovs_flow', 'dec-ttl-attrs']]],
  ['OVS_CT_ATTR_', [['ovs_flow', 'ct-attrs']]],
  ['OVS_NAT_ATTR_', [['ovs_flow', 'nat-attrs']]],
  ['OVS_PSAMPLE_ATTR_', [['ovs_flow', 'psample-attrs']]],
  ['OVS_PACKET_ATTR_', [['ovs_packet', 'packet-attrs']]],
  ['OVS_METER_ATTR_', [['ovs_meter', 'meter-attrs']]],
  ['OVS_BAND_ATTR_', [['ovs_meter', 'band-attrs']]],
  ['OVS_CT_LIMIT_ATTR_', [['ovs_ct_limit', 'ct-limit-attrs']]],
];
const CMD_PREFIXES: [string, string][] = [
  ['OVS_DP_CMD_', 'ovs_datapath'],
  ['OVS_VPORT_CMD_', 'ovs_vport'],
  ['OVS_FLOW_CMD_', 'ovs_flow'],
  ['OVS_PACKET_CMD_', 'ovs_packet'],
  ['OVS_METER_CMD_', 'ovs_meter'],
  ['OVS_CT_LIMIT_CMD_', 'ovs_ct_limit'],
];
/** C prefix → [family, enum/flags definition]. */
const DEF_PREFIXES: [string, string, string][] = [
  ['OVS_FRAG_TYPE_', 'ovs_flow', 'frag-type'],
  ['OVS_HASH_ALG_', 'ovs_flow', 'hash-alg'],
  ['OVS_CS_F_', 'ovs_flow', 'ct-state-flags'],
  ['OVS_UFID_F_', 'ovs_flow', 'ufid-flags'],
  ['OVS_DP_F_', 'ovs_datapath', 'user-features'],
  ['OVS_VPORT_TYPE_', 'ovs_vport', 'vport-type'],
  ['OVS_METER_BAND_TYPE_', 'ovs_meter', 'meter-band-type'],
];
const VERSIONS: [string, string][] = [
  ['OVS_DATAPATH_VERSION', 'ovs_datapath'],
  ['OVS_VPORT_VERSION', 'ovs_vport'],
  ['OVS_FLOW_VERSION', 'ovs_flow'],
  ['OVS_PACKET_VERSION', 'ovs_packet'],
];
// Names recognised but not numbered by any schema set (struct/macro names of those families).
const NOT_YET: string[] = [];

const schemaName = (cName: string, prefix: string): string => cName.slice(prefix.length).toLowerCase().replace(/_/g, '-');
/** The *_ATTR_MAX / *_EXT_MAX macros (not members such as OVS_NAT_ATTR_IP_MAX). */
const isMax = (n: string): boolean => /_(ATTR|EXT)_MAX$/.test(n);

describe('uapi numbers (linux/openvswitch.h) vs netlink-schemas', () => {
  const reg = loadSchemas();
  const hdr = probeHeader();

  /** Values expected of the schemas: the local header, overridden by the pinned 6.12 table. */
  const expected = new Map<string, number>();
  for (const [n, v] of hdr.values) if (!AFTER_6_12.has(n)) expected.set(n, v);
  for (const [n, v] of Object.entries(UAPI_6_12)) expected.set(n, v);

  it('finds the header and a sane number of names', () => {
    expect(hdr.path).toMatch(/linux\/openvswitch\.h$/);
    expect(hdr.values.get('OVS_KEY_ATTR_IPV6_EXTHDRS')).toBe(32);
    expect(hdr.values.size).toBeGreaterThan(200);
  });

  it('the pinned 6.12 table agrees with the local header wherever the header has the name', () => {
    for (const [n, v] of Object.entries(UAPI_6_12)) {
      const local = hdr.values.get(n);
      if (local === undefined) continue;
      // An older header may have a smaller *_MAX; a member itself never changes its number.
      if (isMax(n)) expect([n, local <= v]).toEqual([n, true]);
      else expect([n, local]).toEqual([n, v]);
    }
  });

  it('every OVS_*_ATTR_* / OVS_*_CMD_* / OVS_VXLAN_EXT_* name of the header is covered by a mapping', () => {
    const unmapped = [...expected.keys()].filter((n) =>
      /^OVS_\w*_(ATTR|CMD)_\w+$|^OVS_VXLAN_EXT_/.test(n) &&
      !ATTR_PREFIXES.some(([p]) => n.startsWith(p)) &&
      !CMD_PREFIXES.some(([p]) => n.startsWith(p)) &&
      !NOT_YET.some((p) => n.startsWith(p)));
    expect(unmapped).toEqual([]);
  });

  describe.each(ATTR_PREFIXES)('%s', (prefix, targets) => {
    const names = [...expected.keys()].filter((n) =>
      n.startsWith(prefix) && !ATTR_PREFIXES.some(([p]) => p !== prefix && p.length > prefix.length && n.startsWith(p)));
    const members = names.filter((n) => !isMax(n) && !n.endsWith('_UNSPEC'));

    it.each(targets)('numbers %s/%s like the uapi, in both directions', (family, setName) => {
      const set = reg.family(family).set(setName);
      const want = new Map(members.map((n) => [schemaName(n, prefix), expected.get(n)!]));
      const have = new Map(set.attrs.map((a) => [a.name, a.type]));
      expect(Object.fromEntries(have)).toEqual(Object.fromEntries(want));
      // UNSPEC (0) is never an attribute of the schema; sets without UNSPEC start their enum at 0.
      if (names.some((n) => n.endsWith('_UNSPEC'))) expect(set.byType.has(0)).toBe(false);
      const maxName = names.find((n) => n === `${prefix}MAX`);
      if (maxName) expect(set.maxType).toBe(expected.get(maxName));
      else expect(set.maxType).toBe(Math.max(...want.values()));
    });
  });

  it.each(CMD_PREFIXES)('%s commands match the ops of %s', (prefix, family) => {
    const fam = reg.family(family);
    const want = Object.fromEntries([...expected].filter(([n]) => n.startsWith(prefix) && !n.endsWith('_UNSPEC'))
      .map(([n, v]) => [schemaName(n, prefix), v]));
    const have = Object.fromEntries(fam.ops.map((o) => [o.name, o.cmd]));
    expect(have).toEqual(want);
  });

  it.each(DEF_PREFIXES)('%s values match %s definition %s', (prefix, family, def) => {
    const fam = reg.family(family);
    const want = Object.fromEntries([...expected]
      .filter(([n]) => n.startsWith(prefix) && !isMax(n) && n !== 'OVS_CS_F_NAT_MASK')
      .map(([n, v]) => [schemaName(n, prefix), v]));
    expect(Object.keys(want).length).toBeGreaterThan(1);
    expect(Object.fromEntries(fam.enums.get(def) ?? [])).toEqual(want);
  });

  it.each(VERSIONS)('%s is the version of %s', (macro, family) => {
    expect(reg.family(family).version).toBe(expected.get(macro));
  });

  it('every struct ovs_* of the header exists in the schemas with the same sizeof', () => {
    const found: Record<string, number | undefined> = {};
    const want: Record<string, number> = {};
    for (const [cName, size] of hdr.sizes) {
      const name = cName.replace(/_/g, '-');
      const spec = reg.families.map((f) => f.structs.get(name)).find((s) => s !== undefined);
      found[cName] = spec?.size;
      want[cName] = size;
    }
    expect(found).toEqual(want);
    expect(hdr.sizes.get('ovs_key_arp')).toBe(24);
  });

  it('pins the family maxattr of Linux 6.12: ovs_flow 11, ovs_packet 11; key-attrs max type 32', () => {
    expect(reg.family('ovs_flow').maxattr).toBe(11);
    expect(reg.family('ovs_packet').maxattr).toBe(11);
    expect(reg.family('ovs_flow').set('key-attrs').maxType).toBe(32);
    // The families' main sets are what the ops parse with.
    expect(reg.family('ovs_flow').mainSet?.name).toBe('flow-attrs');
    expect(reg.family('ovs_packet').mainSet?.name).toBe('packet-attrs');
  });
});
