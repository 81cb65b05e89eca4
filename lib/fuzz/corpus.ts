/**
 * Fuzz cases on disk: a JSON file per finding (steps in hex, the socket options, what was found,
 * the seed that found it) that `ovs-dpemu fuzz --replay FILE` and the regression tests run.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { Finding, TargetOptions } from './target';

/** Step is one thing a fuzz case does: a datagram on the fuzzing socket, or a frame into a port. */
export type Step = { kind: 'send'; dgram: Buffer } | { kind: 'inject'; port: string; frame: Buffer };

/** FuzzCase is a replayable input: socket options and steps on a fresh emulator. */
export interface FuzzCase {
  opts: TargetOptions;
  steps: Step[];
}

/** SavedCase is the file format. */
export interface SavedCase {
  finding: Finding;
  signature: string;
  seed?: number;
  repro: string;
  opts: TargetOptions;
  steps: ({ send: string } | { inject: string; port: string })[];
  /** Set by hand once fixed: the case must replay without findings (regression test). */
  fixed?: string;
}

export function encodeCase(c: FuzzCase): SavedCase['steps'] {
  return c.steps.map((s) => (s.kind === 'send' ? { send: s.dgram.toString('hex') } : { inject: s.frame.toString('hex'), port: s.port }));
}

export function decodeCase(saved: Pick<SavedCase, 'opts' | 'steps'>): FuzzCase {
  return {
    opts: saved.opts ?? {},
    steps: saved.steps.map((s) => ('send' in s ? { kind: 'send', dgram: Buffer.from(s.send, 'hex') } : { kind: 'inject', port: s.port, frame: Buffer.from(s.inject, 'hex') })),
  };
}

export function loadCase(file: string): SavedCase {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as SavedCase;
}

/** saveCase writes `c` under `dir` (named after its signature) and returns the path. */
export function saveCase(dir: string, c: FuzzCase, finding: Finding, signature: string, seed?: number): string {
  fs.mkdirSync(dir, { recursive: true });
  const id = crypto.createHash('sha1').update(signature).digest('hex').slice(0, 12);
  const file = path.join(dir, `${finding.kind}-${id}.json`);
  const saved: SavedCase = {
    finding, signature, seed,
    repro: `ovs-dpemu fuzz --replay ${file}`,
    opts: c.opts,
    steps: encodeCase(c),
  };
  fs.writeFileSync(file, `${JSON.stringify(saved, null, 1)}\n`);
  return file;
}

/** listCases returns the case files of a corpus folder (none when it does not exist). */
export function listCases(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => path.join(dir, f));
}
