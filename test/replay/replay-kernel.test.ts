/**
 * `replay --kernel` / `replay(file, { target: 'kernel' })`: a capture's requests go to this
 * host's real generic netlink instead of an emulator. This machine has no openvswitch module, but
 * its nlctrl answers: a `record` of two `genl ctrl get` lookups (one found, one ENOENT) replays
 * green against the kernel that answered it, and the same capture with one reply byte changed
 * goes red naming the attribute.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { loadSchemas } from '../../lib/schema/load';
import { LINKTYPE_NETLINK, readPcap, writePcap } from '../../lib/replay/pcap';
import { replay } from '../../lib/replay/replay';
import { readCapture } from '../../lib/replay/replay-capture';
import { replayMain } from '../../lib/replay/replay-cli';
import { formatReplayResult } from '../../lib/replay/replay-report';
import { flatten, TreeDecoder } from '../../lib/replay/replay-tree';
import { REPO } from '../helpers/served';

const CLI = path.join(REPO, 'dist', 'lib', 'cli.js');
const COOKED = 16;
const hasGenl = spawnSync('genl', ['help'], { encoding: 'utf8' }).error === undefined;
const isRoot = process.getuid?.() === 0;
const skip = !isRoot ? 'not root: binding the captured port ids and recording need it' : !hasGenl ? 'genl (iproute2) not installed' : undefined;

(skip ? describe.skip : describe)(`replay --kernel${skip ? ` (SKIPPED: ${skip})` : ''}`, () => {
  let dir: string;
  let file: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpemu-replay-kernel-'));
    file = path.join(dir, 'genl.pcap');
    const r = spawnSync(process.execPath, [CLI, 'record', '--out', file, '--', 'sh', '-c', 'genl ctrl get name nlctrl; genl ctrl get name nosuchfamily; true'], { encoding: 'utf8', timeout: 60000 });
    if (r.status !== 0) throw new Error(`record failed (${r.status}): ${r.stderr}`);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the recorded lookups (found, and ENOENT) replay green against this host\'s kernel', async () => {
    const r = await replay(file, { target: 'kernel' });
    if (!r.ok) throw new Error(formatReplayResult(r, { verbose: true }));
    expect(r.target).toBe('kernel');
    expect(r.counts).toMatchObject({ exchanges: 2, matched: 2, failed: 0, skipped: 0 });
    expect(r.exchanges.map((e) => e.request)).toEqual([expect.stringMatching(/^nlctrl GETFAMILY/), expect.stringMatching(/^nlctrl GETFAMILY/)]);
    // genl reads the NEWFAMILY reply and never the ACK its NLM_F_ACK asked for.
    expect(r.rulesApplied['unread-ack']).toBe(1);
    const out: string[] = [];
    expect(await replayMain({ files: [file], kernel: true }, (s) => out.push(s))).toBe(0);
    expect(out.join('')).toMatch(/^PASS genl\.pcap \(against this host's kernel\): 2\/2 exchanges matched/);
  });

  it('one reply byte changed: red, naming the attribute', async () => {
    const decoder = new TreeDecoder(loadSchemas());
    const reply = readCapture(fs.readFileSync(file)).records.find((x) => !x.request && x.messages[0]?.type === 0x10);
    if (!reply) throw new Error('no NEWFAMILY reply in the capture');
    const field = flatten(decoder.decodeDatagram(reply.datagram)[0]).find((f) => f.node.field === 'nlctrl/ctrl-attrs/version');
    const at = field?.node.data?.offset;
    if (at === undefined) throw new Error('no CTRL_ATTR_VERSION in the reply');
    const recs = readPcap(fs.readFileSync(file)).map((x, i) => {
      if (i + 1 !== reply.frame) return x;
      const data = Buffer.from(x.data);
      data[COOKED + at] ^= 0x40;
      return { ...x, data };
    });
    const bad = path.join(dir, 'genl-bad.pcap');
    fs.writeFileSync(bad, writePcap(recs, LINKTYPE_NETLINK));
    const r = await replay(bad, { target: 'kernel' });
    expect(r.ok).toBe(false);
    expect(r.counts).toMatchObject({ matched: 1, failed: 1 });
    expect(r.firstDifference?.path).toBe('nlctrl NEWFAMILY › VERSION');
    expect(r.firstDifference).toMatchObject({ expectedValue: expect.stringMatching(/^66\b/), gotValue: expect.stringMatching(/^2\b/) });
    expect(r.firstDifference?.sideBySide).toMatch(/replayed on this host/);
    const out: string[] = [];
    expect(await replayMain({ files: [bad], kernel: true }, (s) => out.push(s))).toBe(1);
    expect(out.join('')).toMatch(/^FAIL genl-bad\.pcap \(against this host's kernel\).*\n.*VERSION/);
  });

  it('refuses --update against the kernel', async () => {
    await expect(replay(file, { target: 'kernel', update: path.join(dir, 'x.pcap') })).rejects.toThrow(/not supported against the real kernel/);
  });
});
