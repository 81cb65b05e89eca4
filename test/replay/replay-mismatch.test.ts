/**
 * A capture with one reply changed goes red, and the report names the first differing field:
 * the decoded path (names from the schemas), the byte offset, both values, the trees side by
 * side. The `replay` command's exit status and JSON report follow.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadSchemas } from '../../lib/schema/load';
import { LINKTYPE_NETLINK, readPcap, writePcap } from '../../lib/replay/pcap';
import { replay } from '../../lib/replay/replay';
import { readCapture } from '../../lib/replay/replay-capture';
import { replayMain } from '../../lib/replay/replay-cli';
import { flatten, TreeDecoder } from '../../lib/replay/replay-tree';

const CAPTURES = path.join(__dirname, '..', 'captures');
const BASIC = path.join(CAPTURES, 'kernel-6.12-basic.pcap');
const COOKED = 16;
const decoder = new TreeDecoder(loadSchemas());

/** edit rewrites one record of a capture; `fn` gets the datagram (without the cooked header). */
function edit(file: string, frame: number, fn: (dgram: Buffer) => Buffer | undefined): Buffer {
  const recs = readPcap(fs.readFileSync(file));
  const out = recs.flatMap((r, i) => {
    if (i + 1 !== frame) return [r];
    const d = fn(Buffer.from(r.data.subarray(COOKED)));
    if (!d) return [];
    const data = Buffer.concat([r.data.subarray(0, COOKED), d]);
    return [{ ...r, data, origLen: data.length }];
  });
  return writePcap(out, LINKTYPE_NETLINK);
}

/** fieldAt finds the first kernel datagram with a field at `suffix` (a path below the message). */
function fieldAt(file: string, suffix: string): { frame: number; offset: number } {
  for (const r of readCapture(fs.readFileSync(file)).records) {
    if (r.request) continue;
    for (const t of decoder.decodeDatagram(r.datagram)) {
      const hit = flatten(t).find((f) => f.path.slice(1).join(' › ') === suffix);
      if (hit) return { frame: r.frame, offset: hit.node.data?.offset ?? hit.node.offset };
    }
  }
  throw new Error(`no ${suffix} in ${file}`);
}

describe('replay: one changed reply byte goes red and names the field', () => {
  it('vport STATS rx-packets 0 → 1: path, offset, values, trees side by side', async () => {
    const { frame, offset } = fieldAt(BASIC, 'STATS › rx-packets');
    const r = await replay(edit(BASIC, frame, (d) => {
      d[offset] = 1;
      return d;
    }));
    expect(r.ok).toBe(false);
    expect(r.counts.failed).toBe(1);
    const d = r.firstDifference!;
    expect(d).toMatchObject({ kind: 'differs', frame, path: 'ovs_vport GET › STATS › rx-packets', offset, expectedValue: '1', gotValue: '0' });
    expect(d.sideBySide).toMatch(/^≠ +rx-packets: 1 +\| +rx-packets: 0$/m);
    expect(d.sideBySide).toMatch(/^ +NAME: "dp0" +\| +NAME: "dp0"$/m);
  });

  it('an errno changed (ENODEV → ENOENT) names NLMSG_ERROR › error', async () => {
    const { frame } = fieldAt(BASIC, 'error');
    const r = await replay(edit(BASIC, frame, (d) => {
      d.writeInt32LE(-2, 16);
      return d;
    }));
    expect(r.firstDifference).toMatchObject({ frame, path: 'NLMSG_ERROR › error', offset: 16, expectedValue: '-2 (ENOENT)', gotValue: '-19 (ENODEV)' });
  });

  it('a flow key byte in a dump: the flow is paired with the emulator\'s and the KEY field named', async () => {
    const file = path.join(CAPTURES, 'kernel-6.12-flows.pcap');
    const { frame, offset } = fieldAt(file, 'KEY › ARP › arp-tip');
    const r = await replay(edit(file, frame, (d) => {
      d[offset + 3] ^= 0xff;
      return d;
    }));
    expect(r.counts.failed).toBe(1);
    expect(r.firstDifference).toMatchObject({ frame, path: 'ovs_flow GET › KEY › ARP › arp-tip', offset: offset + 3, expectedValue: '10.0.0.253', gotValue: '10.0.0.2' });
    expect(r.firstDifference?.sideBySide).toContain('arp(sip=10.0.0.1,tip=10.0.0.2,op=1/0xff)');
  });

  it('a reply removed from the capture: the emulator sent one more', async () => {
    const { frame } = fieldAt(BASIC, 'error');
    const r = await replay(edit(BASIC, frame, () => undefined));
    expect(r.firstDifference).toMatchObject({ kind: 'extra', path: 'NLMSG_ERROR (more than the kernel sent)' });
  });
});

describe('ovs-dpemu replay (command)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpemu-replay-'));
  const bad = path.join(dir, 'bad.pcap');
  const good = path.join(CAPTURES, 'kernel-6.12-pyroute2-basic.pcap');
  beforeAll(() => {
    const { frame, offset } = fieldAt(BASIC, 'STATS › rx-packets');
    fs.writeFileSync(bad, edit(BASIC, frame, (d) => {
      d[offset] = 7;
      return d;
    }));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('exit 0 and a PASS line when every exchange matches', async () => {
    let out = '';
    expect(await replayMain({ files: [good] }, (s) => (out += s))).toBe(0);
    expect(out).toBe("PASS kernel-6.12-pyroute2-basic.pcap: 157/158 exchanges matched, 0 failed, 1 skipped (skipped: 1 the oracle's end marker (nlctrl lookup of oracle-end-mark))\n");
  });

  it('exit 1, one summary line per file and the first difference', async () => {
    let out = '';
    expect(await replayMain({ files: [good, bad] }, (s) => (out += s))).toBe(1);
    const lines = out.split('\n');
    expect(lines[0]).toMatch(/^PASS kernel-6.12-pyroute2-basic.pcap/);
    expect(lines[1]).toMatch(/^FAIL bad.pcap: 1026\/1028 exchanges matched, 1 failed, 1 skipped/);
    expect(lines[2]).toMatch(/^exchange \d+ \(frame \d+, port 215, ovs_vport GET dump seq=13\): differs at ovs_vport GET › STATS › rx-packets \(captured frame \d+, message 0, byte \d+\): captured 7, emulator 0$/);
  });

  it('--json: a structured report', async () => {
    let out = '';
    expect(await replayMain({ files: [bad], json: true }, (s) => (out += s))).toBe(1);
    const j = JSON.parse(out) as { ok: boolean; results: { counts: { failed: number }; firstDifference: { path: string }; exchanges: { status: string }[] }[] };
    expect(j.ok).toBe(false);
    expect(j.results[0].counts.failed).toBe(1);
    expect(j.results[0].firstDifference.path).toBe('ovs_vport GET › STATS › rx-packets');
    expect(j.results[0].exchanges.map((e) => e.status).sort()).toEqual(['failed', 'skipped']);
  });

  it('exit 2 for a file that is not a capture', async () => {
    const junk = path.join(dir, 'junk.pcap');
    fs.writeFileSync(junk, Buffer.alloc(40, 0x55));
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await replayMain({ files: [junk] }, () => undefined)).toBe(2);
      expect(String(err.mock.calls[0]?.[0])).toMatch(/replay: .*junk.pcap: pcap: bad magic/);
    } finally {
      err.mockRestore();
    }
  });
});
