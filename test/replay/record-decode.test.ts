/**
 * `ovs-dpemu decode` on the command line (issue 6 item 4): the text is the library's, `--json`
 * prints one object per message, a file that is not a capture fails with a message.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import { decodeCapture } from '../../lib/replay/decode';
import { messageText } from '../../lib/replay/decode-text';
import { REPO } from '../helpers/served';

const CLI = path.join(REPO, 'dist', 'lib', 'cli.js');
const FILE = path.join(REPO, 'test', 'captures', 'kernel-6.12-pyroute2-basic.pcap');
const decode = (...args: string[]): ReturnType<typeof spawnSync> => spawnSync(process.execPath, [CLI, 'decode', ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });

it('text: what the library renders, message by message', () => {
  const r = decode(FILE);
  expect(r.status).toBe(0);
  expect(r.stdout).toBe(`${[...decodeCapture(fs.readFileSync(FILE))].flatMap(messageText).join('\n')}\n`);
});

it('--json: one parseable object per message', () => {
  const r = decode(FILE, '--json');
  const lines = String(r.stdout).trim().split('\n');
  expect(lines).toHaveLength([...decodeCapture(fs.readFileSync(FILE))].length);
  const objs = lines.map((l) => JSON.parse(l) as { frame: number; family?: string });
  expect(objs[0]).toMatchObject({ frame: 1, family: 'nlctrl' });
});

it('--json through a slow pipe reader: nothing is lost when the pipe fills', () => {
  // The reader sleeps first, so the 64 KiB pipe buffer fills and writes would see EAGAIN.
  const r = spawnSync('sh', ['-c', `"${process.execPath}" "${CLI}" decode --json "${FILE}" | (sleep 1; cat)`], { encoding: 'utf8', maxBuffer: 1 << 28 });
  expect(r.status).toBe(0);
  expect(String(r.stdout).trim().split('\n')).toHaveLength([...decodeCapture(fs.readFileSync(FILE))].length);
});

it('a file that is not a capture: exit 1 and a message', () => {
  const r = decode(path.join(REPO, 'package.json'));
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/^ovs-dpemu: decode: pcap: bad magic 0x[0-9a-f]+\n$/);
});
