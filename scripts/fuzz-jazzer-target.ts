/**
 * Coverage-guided fuzz targets for Jazzer.js (libFuzzer): the schema attribute walkers and the
 * flow key parser. Run through scripts/fuzz-jazzer.sh. The first input byte picks what to fuzz;
 * any exception other than NlError is a crash.
 *
 *   byte 0 < 128:  the attribute walkers — byte 1 picks an attribute set of any family, byte 2
 *                  the walker (genl-legacy parse, ovs-key parse with/without "nz"), the rest is
 *                  the attribute stream;
 *   byte 0 ≥ 128:  ovs_nla_get_match() — bytes 1..2 (LE) split the rest into KEY and MASK
 *                  (0xffff: no MASK, i.e. the exact-match mask), byte 0 bit 0 = withMask.
 */
import { NlError } from '../lib/nl/errors';
import { loadSchemas } from '../lib/schema/load';
import { parseLiberal, parseOvsKey } from '../lib/schema/validate';
import { ovsNlaGetMatch } from '../lib/ovs/flow-netlink-key';

const registry = loadSchemas();
const sets = registry.families.flatMap((f) => [...f.sets.values()]);
const quiet = (): void => undefined;

function walker(data: Buffer): void {
  const set = sets[data[1] % sets.length];
  const body = data.subarray(3);
  switch (data[2] % 3) {
    case 0: parseLiberal(body, set, set.maxType, { base: 0, extack: {} }); break;
    case 1: parseOvsKey(body, set, 0, false); break;
    default: parseOvsKey(body, set, 0, true);
  }
}

function flowKey(data: Buffer): void {
  const split = data.readUInt16LE(1);
  const rest = data.subarray(3);
  const key = split === 0xffff ? rest : rest.subarray(0, Math.min(split, rest.length));
  const mask = split === 0xffff ? undefined : rest.subarray(Math.min(split, rest.length));
  ovsNlaGetMatch(Buffer.from(key), mask && Buffer.from(mask), { withMask: (data[0] & 1) === 0, log: quiet });
}

/** fuzz is the Jazzer.js entry point. */
export function fuzz(data: Buffer): void {
  if (data.length < 3) return;
  try {
    if (data[0] < 128) walker(data);
    else flowKey(data);
  } catch (e) {
    if (!(e instanceof NlError)) throw e;
  }
}

/**
 * `node dist/scripts/fuzz-jazzer-target.js --seed DIR` writes starting inputs made by the
 * schema-driven generator (valid keys with masks, attribute streams of every set), so that
 * libFuzzer starts from deep paths instead of random bytes.
 */
function writeSeeds(dir: string): void {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const fs = require('fs') as typeof import('fs');
  const { Rng } = require('../lib/fuzz/prng') as typeof import('../lib/fuzz/prng');
  const { genKey, maskOf } = require('../lib/fuzz/gen-flow') as typeof import('../lib/fuzz/gen-flow');
  const { genAttrs } = require('../lib/fuzz/gen-attrs') as typeof import('../lib/fuzz/gen-attrs');
  const { encodeAttrs } = require('../lib/fuzz/wire') as typeof import('../lib/fuzz/wire');
  fs.mkdirSync(dir, { recursive: true });
  const rng = new Rng(1);
  const flow = registry.family('ovs_flow');
  const env = { ctx: { rng, family: flow, special: new Map(), names: ['fz0'] }, ports: [0, 1, 2], pid: 1, meterIds: [] };
  for (let i = 0; i < 200; i++) {
    const key = genKey(env);
    const k = encodeAttrs(key.attrs);
    const m = i % 4 === 0 ? undefined : encodeAttrs(maskOf(env, key.attrs));
    const head = Buffer.alloc(3);
    head[0] = 128 + (i % 2);
    head.writeUInt16LE(m ? k.length : 0xffff, 1);
    fs.writeFileSync(`${dir}/seed-key-${i}`, Buffer.concat([head, k, m ?? Buffer.alloc(0)]));
  }
  sets.forEach((set, i) => {
    const fam = registry.families.find((f) => f.name === set.family) ?? flow;
    const body = encodeAttrs(genAttrs({ rng, family: fam, special: new Map(), names: ['fz0'] }, set));
    fs.writeFileSync(`${dir}/seed-set-${i}`, Buffer.concat([Buffer.of(0, i, set.mode === 'ovs-key' ? 1 : 0), body]));
  });
}

if (require.main === module && process.argv[2] === '--seed') writeSeeds(process.argv[3] ?? 'fuzz-corpus/jazzer');
