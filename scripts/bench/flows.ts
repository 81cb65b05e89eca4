/**
 * Flow-table benchmark, one run, figures side by side with the transport echo ceiling:
 *   - pipelined flow installs/s (OVS_FLOW_CMD_NEW, 50 per datagram as ovs-vswitchd batches),
 *   - dump of all flows (s) through the session's chunked dump,
 *   - bytes per flow at N flows (heap + external, after GC) and the process RSS,
 *   - lookups/s with 1, 16 and 64 masks, mask-cache hit (stable packet hash) and miss (hash 0).
 * Usage: node --expose-gc dist/scripts/bench/flows.js [flows=1000000]
 */
import { Emulator } from '../../lib/emulator';
import { NLM_F } from '../../lib/nl/constants';
import { NlWriter } from '../../lib/nl/writer';
import { keySchema } from '../../lib/ovs/flow-netlink-attrs';
import { ovsNlaGetMatch } from '../../lib/ovs/flow-netlink-key';
import { Flow, FlowTable } from '../../lib/ovs/flow-table';
import { encodeStruct } from '../../lib/schema/struct';
import type { FamilySpec } from '../../lib/schema/model';
import { runTransportBench } from './transport';

const S = keySchema();
const K = S.K;

/** keyAttrs writes IN_PORT, ETHERNET, ETHERTYPE, IPV4, UDP for flow i into `w` (inside a nest). */
function keyAttrs(w: NlWriter, i: number, srcMaskBits = 32): void {
  const f = S.family;
  w.attrU32(K['in-port'], 1);
  w.attr(K.ethernet, Buffer.alloc(12));
  const et = Buffer.alloc(2);
  et.writeUInt16BE(0x0800);
  w.attr(K.ethertype, et);
  const src = (0x0a000000 | (i & 0xffffff)) >>> 0;
  w.attr(K.ipv4, encodeStruct(f.struct('ovs-key-ipv4'), { 'ipv4-src': srcMaskBits ? src : 0, 'ipv4-dst': 0x0a000001, 'ipv4-proto': 17, 'ipv4-ttl': 64 }));
  w.attr(K.udp, encodeStruct(f.struct('ovs-key-udp'), { 'udp-src': 1, 'udp-dst': 2 }));
}

function maskAttrs(w: NlWriter, srcMaskBits: number): void {
  const f = S.family;
  w.attrU32(K['in-port'], 0xffffffff);
  w.attr(K.ethernet, Buffer.alloc(12, 0xff));
  w.attr(K.ethertype, Buffer.from([0xff, 0xff]));
  const m = srcMaskBits ? (0xffffffff << (32 - srcMaskBits)) >>> 0 : 0;
  w.attr(K.ipv4, encodeStruct(f.struct('ovs-key-ipv4'), { 'ipv4-src': m, 'ipv4-dst': 0xffffffff, 'ipv4-proto': 0xff, 'ipv4-frag': 0xff }));
  w.attr(K.udp, encodeStruct(f.struct('ovs-key-udp'), { 'udp-src': 0xffff, 'udp-dst': 0xffff }));
}

function flowNew(fam: FamilySpec, seq: number, dpIfindex: number, i: number, srcMaskBits: number, w = new NlWriter(256)): NlWriter {
  const A = (n: string): number => fam.set('flow-attrs').byName.get(n)!.type;
  w.beginMessage(fam.familyId, NLM_F.REQUEST | NLM_F.CREATE, seq, 0).genlHeader(fam.op('new').cmd, fam.version).s32(dpIfindex);
  w.nestStart(A('key'));
  keyAttrs(w, i, srcMaskBits);
  w.nestEnd().nestStart(A('mask'));
  maskAttrs(w, srcMaskBits);
  w.nestEnd().nestStart(A('actions')).attrU32(1, 2).nestEnd();
  return w.endMessage();
}

const gc = (): void => (global as { gc?: () => void }).gc?.();
const memBytes = (): number => {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external + m.arrayBuffers;
};
const fmt = (n: number): string => (n >= 100 ? n.toFixed(0) : n.toFixed(2));

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 1_000_000);
  const echo = (await runTransportBench({ rounds: 20000 })).find((r) => r.name === 'raw C↔Node')!.perSecond;
  const emu = new Emulator({ cpus: 2, host: { lookup: () => undefined, maxIfindex: () => 100 } });
  const dpF = emu.registry.family('ovs_datapath');
  const fam = emu.registry.family('ovs_flow');
  const queue: Buffer[] = [];
  const sock = emu.openSocket({ pid: 1, uid: 0, gid: 0, netAdmin: true }, 16, { deliver: (d) => (queue.push(d), true), signalOverrun: () => true });
  sock.connect();
  const dpw = new NlWriter().beginMessage(dpF.familyId, NLM_F.REQUEST, 1, 0).genlHeader(1, 2).s32(0);
  dpw.attrString(1, 'bench').attrU32(2, 0);
  sock.send(dpw.endMessage().finish(), 0);
  const dp = emu.ovs.net.dps[0];
  const before = memBytes();

  // Pipelined installs: 50 NEWs per datagram.
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i += 50) {
    const w = new NlWriter(50 * 200);
    for (let j = i; j < Math.min(n, i + 50); j++) flowNew(fam, j, dp.ifindex, j, 32, w);
    sock.send(w.finish(), 0);
    if (queue.length) throw new Error('unexpected reply (an install failed)');
  }
  const installSec = Number(process.hrtime.bigint() - t0) / 1e9;
  const perFlow = (memBytes() - before) / n;

  // Dump everything.
  t0 = process.hrtime.bigint();
  const dw = new NlWriter().beginMessage(fam.familyId, NLM_F.REQUEST | NLM_F.DUMP, 9, 0).genlHeader(fam.op('get').cmd, fam.version).s32(dp.ifindex);
  let r = sock.send(dw.endMessage().finish(), 0);
  let msgs = 0;
  for (;;) {
    for (const d of queue.splice(0)) for (let o = 0; o < d.length; o += (d.readUInt32LE(o) + 3) & ~3) msgs++;
    if (!r.dumpPending) break;
    r = sock.refill();
  }
  const dumpSec = Number(process.hrtime.bigint() - t0) / 1e9;
  if (msgs !== n + 1) throw new Error(`dump returned ${msgs - 1} flows, expected ${n}`);
  const rss = process.memoryUsage().rss;

  // Lookups with 1, 16, 64 masks (separate datapath tables, one flow per mask).
  const lookups: string[] = [];
  for (const masks of [1, 16, 64]) {
    const t = new FlowTable<number>(2, 256);
    const keys: Buffer[] = [];
    for (let m = 0; m < masks; m++) {
      const bits = 32 - (m % 33);
      const kw = new NlWriter();
      keyAttrs(kw, m, bits);
      const mw = new NlWriter();
      maskAttrs(mw, bits);
      const match = ovsNlaGetMatch(kw.finish(), mw.finish());
      const maskKey = Buffer.from(match.mask!.key);
      const masked = Buffer.from(match.key.map((b, i) => b & maskKey[i]));
      // Distinct masks: vary which high byte of the mask range is cleared.
      maskKey[match.mask!.range.start + (m % 8)] ^= m < 8 ? 0 : m;
      t.insert(new Flow(masked, Buffer.of(m + 1), undefined, 0, match.key.length), { key: maskKey, start: match.mask!.range.start, end: match.mask!.range.end });
      keys.push(match.key);
    }
    const probe = keys[keys.length - 1];
    for (const [label, hash] of [['cache hit', 0x9e3779b9], ['cache miss', 0]] as const) {
      const iters = 200000;
      t0 = process.hrtime.bigint();
      let found = 0;
      for (let i = 0; i < iters; i++) if (t.lookupStats(probe, hash, 0).flow) found++;
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      lookups.push(`lookups/s, ${String(masks).padStart(2)} masks, ${label.padEnd(10)} ${fmt(iters / s).padStart(12)}  ${(iters / s / echo).toFixed(3).padStart(8)}  (found ${found})`);
    }
  }

  console.log(`flows: ${n}; transport echo ceiling (raw C↔Node round trips/s): ${fmt(echo)}`);
  console.log(`${'measure'.padEnd(36)} ${'figure'.padStart(12)}  ${'vs echo'.padStart(8)}`);
  console.log(`${'flow installs/s (50 per datagram)'.padEnd(36)} ${fmt(n / installSec).padStart(12)}  ${(n / installSec / echo).toFixed(3).padStart(8)}`);
  console.log(`${`dump of ${n} flows (s)`.padEnd(36)} ${dumpSec.toFixed(2).padStart(12)}  ${(n / dumpSec / echo).toFixed(3).padStart(8)}  (flows/s vs echo)`);
  console.log(`${'bytes per flow (heap+external)'.padEnd(36)} ${fmt(perFlow).padStart(12)}`);
  console.log(`${'process RSS (MiB)'.padEnd(36)} ${(rss / 2 ** 20).toFixed(0).padStart(12)}`);
  for (const l of lookups) console.log(l);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
