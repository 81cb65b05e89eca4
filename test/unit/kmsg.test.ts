/**
 * The emulated kernel log: dmesg's line format, the file `ovs-dpemu dmesg` prints, marks for
 * reading what one request logged, ___ratelimit() (burst of 10 per 5 s, then "FUNC: N callbacks
 * suppressed"), and current->comm in lib/nlattr.c's warnings.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { current, Kmsg, kmsg, Ratelimit, withTask } from '../../lib/kmsg';
import { loadSchemas } from '../../lib/schema/load';
import { parseLiberal } from '../../lib/schema/validate';

describe('Kmsg', () => {
  it('lines carry dmesg\'s [seconds.micros] stamp and go to the file, in order', () => {
    const k = new Kmsg();
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kmsg-')), 'k.kmsg');
    k.openFile(file);
    k.print('openvswitch: netlink: one');
    k.print('netlink: two');
    k.closeFile();
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^\[ {4}0\.\d{6}\] openvswitch: netlink: one$/);
    expect(lines[1]).toMatch(/^\[ {4}0\.\d{6}\] netlink: two$/);
    expect(lines[2]).toBe('');
    expect(k.lines()).toEqual(lines.slice(0, 2));
  });

  it('since(mark) is what was printed after the mark; the ring keeps the last 4096', () => {
    const k = new Kmsg();
    k.print('a');
    const mark = k.count;
    k.print('b');
    k.print('c');
    expect(k.since(mark).map((l) => l.replace(/^\[[ \d.]+\] /, ''))).toEqual(['b', 'c']);
    for (let i = 0; i < 5000; i++) k.print(`n${i}`);
    const all = k.lines();
    expect(all).toHaveLength(4096);
    expect(all[all.length - 1]).toMatch(/ n4999$/);
    expect(all[0]).toMatch(/ n904$/);
  });
});

describe('Ratelimit (___ratelimit with the default state)', () => {
  it('10 per 5 s; the next interval first reports how many were suppressed', () => {
    let t = 1000;
    const r = new Ratelimit('validate_nla', 5000, 10, () => t);
    const mark = kmsg.count;
    const allowed = Array.from({ length: 13 }, () => r.allow());
    expect(allowed.filter(Boolean)).toHaveLength(10);
    expect(allowed.slice(10)).toEqual([false, false, false]);
    t += 4999;
    expect(r.allow()).toBe(false);
    t += 1;
    expect(r.allow()).toBe(true);
    expect(kmsg.since(mark).map((l) => l.replace(/^\[[ \d.]+\] /, ''))).toEqual(['validate_nla: 4 callbacks suppressed']);
  });
});

describe('lib/nlattr.c warnings name the client (current->comm)', () => {
  const set = loadSchemas().family('ovs_vport').set('vport');
  const port = set.byName.get('port-no')!.type;

  it('an integer attribute of the wrong size, and bytes left over', () => {
    // PORT_NO (a u32) with 8 bytes of payload (accepted by the legacy parser, with a warning),
    // then 3 stray bytes.
    const buf = Buffer.alloc(12 + 3);
    buf.writeUInt16LE(12, 0);
    buf.writeUInt16LE(port, 2);
    const mark = kmsg.count;
    withTask('ovs-dpctl', () => parseLiberal(buf, set, set.maxType, { base: 20, extack: {} }));
    expect(current.comm).toBe('');
    expect(kmsg.since(mark).map((l) => l.replace(/^\[[ \d.]+\] /, ''))).toEqual([
      `netlink: 'ovs-dpctl': attribute type ${port} has an invalid length.`,
      "netlink: 3 bytes leftover after parsing attributes in process `ovs-dpctl'.",
    ]);
  });
});
