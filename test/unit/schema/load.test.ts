import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { defaultSchemaDir, loadSchemas } from '../../../lib/schema/load';
import { decodeStruct, encodeStruct } from '../../../lib/schema/struct';

// Family ids, versions, maxattr and op flags as Linux 6.12.117 reported them in
// ../shared/captures/kernel-6.12-basic.pcap (CTRL_CMD_NEWFAMILY replies, frames 2–8).
const KERNEL_FAMILIES = [
  { name: 'ovs_datapath', id: 0x24, version: 2, maxattr: 9, ops: [[1, 0x1a], [2, 0x1a], [3, 0x0e], [4, 0x1a]], groups: [['ovs_datapath', 15]] },
  { name: 'ovs_vport', id: 0x25, version: 1, maxattr: 10, ops: [[1, 0x1a], [2, 0x1a], [3, 0x0e], [4, 0x1a]], groups: [['ovs_vport', 21]] },
  { name: 'ovs_flow', id: 0x26, version: 1, maxattr: 11, ops: [[1, 0x1a], [2, 0x1a], [3, 0x0e], [4, 0x1a]], groups: [['ovs_flow', 22]] },
  { name: 'ovs_packet', id: 0x27, version: 1, maxattr: 11, ops: [[3, 0x1a]], groups: [] },
  { name: 'ovs_meter', id: 0x28, version: 1, maxattr: 9, ops: [[1, 0x0a], [2, 0x1a], [4, 0x0a], [3, 0x1a]], groups: [['ovs_meter', 23]] },
  { name: 'ovs_ct_limit', id: 0x29, version: 1, maxattr: 1, ops: [[1, 0x1a], [2, 0x1a], [3, 0x0a]], groups: [['ovs_ct_limit', 24]] },
] as const;

describe('schema loader', () => {
  const reg = loadSchemas();

  it.each(KERNEL_FAMILIES)('$name compiles to what nlctrl of Linux 6.12 reports', (k) => {
    const f = reg.family(k.name);
    expect(f.familyId).toBe(k.id);
    expect(f.version).toBe(k.version);
    expect(f.maxattr).toBe(k.maxattr);
    expect(f.hdrsize).toBe(4);
    expect(f.ops.filter((o) => o.do || o.dump).map((o) => [o.cmd, o.ctrlFlags])).toEqual(k.ops);
    expect(f.mcastGroups.map((g) => [g.name, g.id])).toEqual(k.groups);
  });

  it('nlctrl lists GETFAMILY (do+dump) and GETPOLICY (dump) like the kernel', () => {
    const f = reg.family('nlctrl');
    expect([f.familyId, f.version, f.maxattr, f.hdrsize]).toEqual([0x10, 2, 0, 0]);
    expect(f.ops.filter((o) => o.ctrlFlags).map((o) => [o.cmd, o.ctrlFlags])).toEqual([[3, 0x0e], [10, 0x0c]]);
  });

  it('derives C struct sizes with natural alignment', () => {
    const dp = reg.family('ovs_datapath');
    expect(dp.struct('ovs-dp-stats').size).toBe(32);
    expect(dp.struct('ovs-dp-megaflow-stats').size).toBe(32);
    expect(reg.family('ovs_vport').struct('ovs-vport-stats').size).toBe(64);
  });

  it('round-trips 64-bit struct members as exact bigint', () => {
    const s = reg.family('ovs_datapath').struct('ovs-dp-megaflow-stats');
    const v = { 'n-mask-hit': 0xfedcba9876543210n, 'n-masks': 7, 'n-cache-hit': 2n ** 63n + 1n };
    const b = encodeStruct(s, v);
    expect(b.toString('hex')).toBe('1032547698badcfe' + '07000000' + '00000000' + '0100000000000080' + '0000000000000000');
    expect(decodeStruct(s, b)).toEqual({ ...v, pad0: 0, pad1: 0n });
  });

  it('implicit attribute numbering starts at 1 and follows explicit values', () => {
    const vp = reg.family('ovs_vport');
    expect(vp.set('vport').byName.get('upcall-stats')?.type).toBe(10);
    expect(vp.set('upcall-stats').byName.get('success')?.type).toBe(0);
    expect(vp.set('upcall-stats').byName.get('fail')?.type).toBe(1);
  });

  it('rejects a schema file that breaks the meta-schema', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'schemas-'));
    fs.mkdirSync(path.join(dir, 'meta'));
    fs.copyFileSync(path.join(defaultSchemaDir(), 'meta', 'schema.yaml'), path.join(dir, 'meta', 'schema.yaml'));
    fs.writeFileSync(path.join(dir, 'bad.yaml'), 'name: bad\nprotocol: genetlink-legacy\ndoc: x\nattribute-sets:\n  - name: s\n    attributes:\n      - { name: a, type: u32, x-typo: 1 }\n');
    expect(() => loadSchemas(dir)).toThrow(/bad\.yaml.*additional properties/);
  });
});
