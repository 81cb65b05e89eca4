/**
 * Real-kernel captures against what ovs-dpctl printed. For every capture in test/captures whose
 * transcript comes from Debian's ovs-dpctl 3.1.0 (kernel-6.12-*.pcap + .out.txt, recorded by the
 * oracle: Linux 6.12.117 openvswitch.ko, nlmon + tcpdump), this replays the formatting:
 *
 * - each `dump-flows` / `get-flow` is paired with the ovs_flow GET request the process sent
 *   (same order), and the kernel's replies to it are formatted with formatFlowReply (`-m`:
 *   verbose, with the port names the same process received) → exactly the printed lines (a
 *   `filter=` dump prints a subsequence);
 * - each "failed to put[…] / flow_del / flow_get" warning is dpif.c log_flow_message(): the
 *   request's key and mask through odp_flow_format(verbose) and its actions — some request of
 *   the capture must format to exactly that text.
 * New captures dropped into test/captures are picked up automatically.
 */
import * as fs from 'fs';
import * as path from 'path';
import { formatActions, formatFlowKey, formatFlowReply, formatUfid } from '../../../lib/ovs/odp-format';
import { loadSchemas } from '../../../lib/schema/load';
import { portNamesOf, readNetlinkPcap, readTranscript, type Cmd, type NlRecord } from './odp-pcap';

const DIR = path.join(__dirname, '../../captures');
const flow = loadSchemas().family('ovs_flow');
const GET = flow.op('get').cmd;
const LOG_LINE = /^\d{4}-\d\d-\d\dT[\d:]+Z\|\d+\|/;
const WARN = /\|dpif\|WARN\|[^:]+: failed to (put\S*|flow_del|flow_get) \([^)]*\) (.*)$/;
/** `used:` depends on the clock when ovs-dpctl printed; compare it as a placeholder. */
const noTime = (s: string): string => s.replace(/used:-?\d+\.\d{3}s/g, 'used:<t>');

const captures = fs.readdirSync(DIR)
  .filter((f) => /^kernel-6\.12-.*\.pcap$/.test(f) && fs.existsSync(path.join(DIR, f.replace(/\.pcap$/, '.out.txt'))))
  .filter((f) => fs.readFileSync(path.join(DIR, f.replace(/\.pcap$/, '.out.txt')), 'utf8').startsWith('ovs-dpctl (Open vSwitch) 3.1'));

interface Pair {
  cmd: Cmd;
  req: NlRecord;
  replies: NlRecord[];
}

/**
 * pairFlowReads pairs the dump-flows/get-flow commands with the ovs_flow GET requests, in order.
 * A command that succeeded sent one; a failed one sent one only if the kernel answered it with
 * an error (get-flow of an unknown UFID), not when ovs-dpctl gave up before (unknown datapath).
 */
function pairFlowReads(recs: NlRecord[], cmds: Cmd[]): Pair[] {
  const reads = cmds.filter((c) => c.argv.includes('dump-flows') || c.argv.includes('get-flow'));
  const reqs = recs.filter((r) => r.family === 'ovs_flow' && r.request && r.cmd === GET);
  const failed = (r: NlRecord): boolean => recs.some((e) => e.error && e.pid === r.pid && e.seq === r.seq && recs.indexOf(e) > recs.indexOf(r));
  const pairs: Pair[] = [];
  let i = 0;
  for (const cmd of reads) {
    const req = reqs[i];
    if (!req || (cmd.rc !== 0 && !failed(req))) continue;
    i++;
    const at = recs.indexOf(req);
    const replies = recs.slice(at + 1).filter((r) => r.family === 'ovs_flow' && !r.request && r.pid === req.pid && r.seq === req.seq);
    pairs.push({ cmd, req, replies });
  }
  expect(i).toBe(reqs.length);
  return pairs;
}

/**
 * What log_flow_message() prints after "(error) " for one request: `[ufid ]KEY[, stats][, actions:…]`
 * (a failed put shows zero stats when ovs-dpctl ran with -s, so both forms are listed).
 */
function logTexts(r: NlRecord): string[] {
  const a = new Map<string, Buffer>();
  for (const name of ['key', 'mask', 'actions', 'ufid']) {
    const spec = flow.set('flow-attrs').byName.get(name);
    const hit = spec && findAttr(r.attrs, spec.type);
    if (hit) a.set(name, hit);
  }
  const ufid = a.get('ufid');
  const head = (ufid?.length === 16 ? `${formatUfid(ufid)} ` : '') + formatFlowKey(a.get('key') ?? Buffer.alloc(0), a.get('mask'), { verbose: true });
  const stats = ', packets:0, bytes:0, used:never';
  if (r.cmd === GET) return [head + stats];
  const acts = a.get('actions');
  const tail = acts ? `, actions:${formatActions(acts)}` : '';
  return [head + tail, head + stats + tail];
}

function findAttr(b: Buffer, type: number): Buffer | undefined {
  let hit: Buffer | undefined;
  for (let off = 0; off + 4 <= b.length; off += (b.readUInt16LE(off) + 3) & ~3) {
    const len = b.readUInt16LE(off);
    if (len < 4) break;
    if ((b.readUInt16LE(off + 2) & 0x3fff) === type) hit = b.subarray(off + 4, off + len);
  }
  return hit;
}

describe.each(captures.map((c) => [c]))('%s', (file) => {
  const recs = readNetlinkPcap(path.join(DIR, file));
  const cmds = readTranscript(path.join(DIR, file.replace(/\.pcap$/, '.out.txt')));

  it('dump-flows / get-flow lines are the kernel replies, formatted', () => {
    const pairs = pairFlowReads(recs, cmds);
    let checked = 0;
    for (const { cmd, req, replies } of pairs) {
      if (cmd.rc !== 0) continue;
      const label = cmd.argv.join(' ');
      if (cmd.argv.includes('wc')) {
        expect([label, cmd.output.filter((l) => l.trim()).map(Number)]).toEqual([label, [replies.length]]);
        checked++;
        continue;
      }
      const verbose = cmd.argv.includes('-m') || cmd.argv.includes('--more');
      const names = verbose ? portNamesOf(recs, req.pid) : undefined;
      const printed = cmd.output.filter((l) => l && !LOG_LINE.test(l) && !l.startsWith('ovs-dpctl:')).map(noTime);
      const formatted = replies.map((r) => noTime(formatFlowReply(r.attrs, { verbose, portNames: names, nowMs: 0 })));
      if (cmd.argv.some((a) => a.startsWith('filter='))) {
        let j = 0;
        for (const line of printed) {
          while (j < formatted.length && formatted[j] !== line) j++;
          expect([label, j < formatted.length ? line : `not among the replies: ${line}`]).toEqual([label, line]);
          j++;
        }
      } else {
        expect([label, printed]).toEqual([label, formatted]);
      }
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('"failed to …" warnings show the request as log_flow_message() does', () => {
    const requests = recs.filter((r) => r.family === 'ovs_flow' && r.request).flatMap(logTexts);
    const warnings = cmds.flatMap((c) => c.output).map((l) => WARN.exec(l)?.[2]).filter((t): t is string => t !== undefined);
    for (const w of warnings) expect(requests.includes(w) ? w : `no request formats as: ${w}`).toBe(w);
  });
});
