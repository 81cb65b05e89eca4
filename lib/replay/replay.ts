/**
 * Capture replay: feeds the requests of a netlink capture (pcap LINKTYPE_NETLINK) to a fresh
 * emulator (or, with `target: 'kernel'`, to this host's kernel: replay-kernel.ts), socket by
 * socket in capture order, and compares every reply with the captured one after the rules of
 * replay-normalise.ts. Also the library API for other projects' tests:
 *
 * ```ts
 * const r = await replay('test/captures/kernel-6.12-basic.pcap');
 * expect(r.counts.failed).toBe(0);
 * ```
 */
import * as fs from 'fs';
import createDebug from 'debug';
import { Emulator } from '../emulator';
import { NETLINK_GENERIC, NLMSG_ERROR, NLMSG_DONE, NLMSG_HDRLEN, NLM_F } from '../nl/constants';
import { loadSchemas } from '../schema/load';
import { attrsOf, readCapture, type CapturedRecord } from './replay-capture';
import { ExchangeComparer, type Difference, type GotTraffic } from './replay-diff';
import type { KernelSockets } from './replay-kernel';
import { splitDatagram } from '../nl/message';
import { familyIdIn, groupExchanges, type Exchange } from './replay-exchanges';
import { CaptureHost, ReplayDevices } from './replay-host';
import { Normaliser } from './replay-normalise';
import { ReplaySockets, skipReason, translateRequest, upcallPorts } from './replay-sockets';
import { TreeDecoder } from './replay-tree';
import { writeUpdated, type Replacement } from './replay-update';

const log = createDebug('ovs-dpemu:replay:replay');

/** ReplayOptions tune a replay. */
export interface ReplayOptions {
  /**
   * Rewrite the capture's expected replies with the emulator's: true writes over the input
   * file, a string names the file to write. The result's exchanges then all count as matched.
   */
  update?: boolean | string;
  /** Simulated CPU count (default 2, the oracle guest's). */
  cpus?: number;
  /** Folder of the YAML schemas. */
  schemaDir?: string;
  /** Called after each exchange (for progress bars). */
  onProgress?: (done: number, total: number) => void;
  /** Stop comparing after this many failed exchanges (default: never; the rest are still replayed). */
  maxFailures?: number;
  /**
   * Where the requests go: a fresh emulator (default) or `kernel`, this host's real generic
   * netlink (lib/replay/replay-kernel.ts; it changes the host's datapaths as the capture did).
   */
  target?: 'emulator' | 'kernel';
  /** Kernel target: the silence (ms) after which an exchange's replies are complete (default 50). */
  quietMs?: number;
}

/** ExchangeStatus is the verdict on one exchange. */
export type ExchangeStatus = 'matched' | 'failed' | 'skipped';

/** ExchangeResult is one request datagram and its verdict. */
export interface ExchangeResult {
  index: number;
  /** Frame number of the request in the capture (1-based, as tshark counts). */
  frame: number;
  port: number;
  /** e.g. `ovs_vport GET seq=3` */
  request: string;
  status: ExchangeStatus;
  /** Why it was skipped. */
  reason?: string;
  /** Captured datagrams compared (replies, notification copies, upcalls). */
  compared: number;
  difference?: Difference;
}

/** ReplayResult is the outcome of one capture. */
export interface ReplayResult {
  file: string;
  /** Every exchange matched (skipped ones do not count against it). */
  ok: boolean;
  counts: { exchanges: number; matched: number; failed: number; skipped: number; strays: number };
  /** Skip reasons with their counts: exchanges and kernel datagrams no exchange owns (strays). */
  skipped: { reason: string; exchanges: number; strays: number }[];
  /** The strays one by one: frame and reason. */
  strays: { frame: number; reason: string }[];
  exchanges: ExchangeResult[];
  firstDifference?: (Difference & { exchange: number; request: string });
  /** Normalisation rules that changed compared bytes, with the number of messages. */
  rulesApplied: Record<string, number>;
  /** The modelled host: interfaces attached as netdev vports, learned ifindex map (kernel → emulator). */
  host: { netdevs: string[]; ifindexMap: [number, number][] };
  /** File written by `update`. */
  updated?: string;
  /** What answered the requests. */
  target: 'emulator' | 'kernel';
}

/** describeRequest names a request datagram for reports. */
function describeRequest(rec: CapturedRecord, decoder: TreeDecoder, translate: (t: number) => number): string {
  if (!rec.messages.length) return `${rec.datagram.length}-byte datagram without a parseable message`;
  return rec.messages.map((m) => {
    const dump = (m.flags & NLM_F.DUMP) === NLM_F.DUMP && m.type !== NLMSG_ERROR && m.type !== NLMSG_DONE ? ' dump' : '';
    return `${decoder.label({ ...m, type: translate(m.type) })}${dump} seq=${m.seq}`;
  }).join(' + ');
}

/** replay replays one capture file (path or contents) against a fresh emulator, or the host's kernel (`target: 'kernel'`). */
export async function replay(file: string | Buffer, options: ReplayOptions = {}): Promise<ReplayResult> {
  const name = typeof file === 'string' ? file : '(buffer)';
  if (typeof file !== 'string' && options.update === true) throw new Error('replay: update needs a file name for a capture given as a buffer');
  const target = options.target ?? 'emulator';
  if (target === 'kernel' && options.update) throw new Error('replay: update is not supported against the real kernel (record the capture again instead)');
  const cap = readCapture(typeof file === 'string' ? await fs.promises.readFile(file) : file);
  const reg = loadSchemas(options.schemaDir);
  const { exchanges, strays } = groupExchanges(cap, familyIdIn(cap, 'ovs_packet') ?? reg.family('ovs_packet').familyId);
  const host = new CaptureHost(reg, cap, exchanges);
  let now = 0;
  const emuIdByName = new Map(reg.families.map((f) => [f.name, f.familyId]));
  const groupByName = new Map(reg.families.flatMap((f) => f.mcastGroups.map((g) => [g.name, g.id] as const)));
  // Against the kernel, ids are compared in the schemas' numbering too; families and groups the
  // schemas do not describe keep the host kernel's ids (replay-kernel.ts translates both ways).
  let kernel: KernelSockets | undefined;
  let available = emuIdByName;
  let unsettable: ((ex: Exchange) => string | undefined) | undefined;
  if (target === 'kernel') {
    const k = await import('./replay-kernel');
    const familyIdLocal = (id: number): number => emuIdByName.get(cap.familyNames.get(id) ?? '') ?? id;
    const ports = new Set([...exchanges.map((e) => e.port), ...upcallPorts(exchanges, familyIdLocal, reg, new TreeDecoder(reg))]);
    kernel = await k.KernelSockets.open(reg, ports, options.quietMs);
    available = kernel.host.families;
    unsettable = k.unsettableOption;
  }
  const hostFamilies = kernel?.host;
  const familyId = (id: number): number => {
    const n = cap.familyNames.get(id) ?? '';
    return emuIdByName.get(n) ?? hostFamilies?.families.get(n) ?? id;
  };
  const groupId = (id: number): number => {
    const n = cap.groupNames.get(id) ?? '';
    return groupByName.get(n) ?? hostFamilies?.groups.get(n) ?? id;
  };
  const identity = [...cap.familyNames.keys()].every((id) => familyId(id) === id);
  const decoder = new TreeDecoder(reg);
  const norm = new Normaliser(decoder, familyId, groupId, identity);
  const flowSet = reg.family('ovs_flow').set('flow-attrs');
  const comparer = new ExchangeComparer(norm, decoder, flowSet.byName.get('ufid')?.type ?? -1, flowSet.byName.get('key')?.type ?? -1);
  const newEmulator = (): Emulator => new Emulator({
    cpus: options.cpus ?? 2, host, devices: new ReplayDevices(host), schemaDir: options.schemaDir,
    clock: () => now, maxMeters: maxMetersOf(cap, reg),
  });
  const sockets: { send(port: number, dgram: Buffer): GotTraffic | Promise<GotTraffic>; close(): void; hostChanged?(): void } =
    kernel ?? new ReplaySockets(newEmulator(), reg, exchanges, upcallPorts(exchanges, familyId, reg, decoder));
  const lastOfPort = new Map(exchanges.map((e) => [e.port, e]));
  const skipWhat = kernel ? 'this host\'s kernel does not have' : undefined;
  const recIndex = new Map(cap.records.map((r, i) => [r, i]));
  const trafficAt = strays.filter((s) => s.traffic).map((s) => recIndex.get(s.record) ?? 0);
  const flowId = emuIdByName.get('ovs_flow');
  const results: ExchangeResult[] = [];
  const replacements = new Map<Exchange, Replacement>();
  let failures = 0;
  try {
    for (const ex of exchanges) {
      const at = recIndex.get(ex.request) ?? 0;
      const request = describeRequest(ex.request, decoder, familyId);
      const compared = ex.replies.length + ex.side.length;
      const base = { index: ex.index, frame: ex.request.frame, port: ex.port, request, compared };
      const skip = skipReason(ex, cap, available, skipWhat) ?? kernel?.refusedPort(ex.port) ?? kernelOnly(unsettable?.(ex));
      if (skip) {
        results.push({ ...base, status: 'skipped', reason: skip, compared: 0 });
        options.onProgress?.(ex.index + 1, exchanges.length);
        continue;
      }
      if (!norm.tainted && trafficAt.some((i) => i < at)) norm.tainted = true;
      host.enter(ex, at);
      sockets.hostChanged?.();
      // CLOCK_MONOTONIC follows the capture: its time since the first record, plus 1 s (0 means "never").
      now = Math.floor(ex.request.timeMs) + 1000;
      const got = await sockets.send(ex.port, translateRequest(ex.request.datagram, familyId, (k) => norm.requestIfindex(k), reg));
      if (options.update) {
        // One copy of the notifications the capture had copies of, then the replies, then upcalls.
        const copies = ex.replies.length > got.direct.length ? got.notifications : [];
        replacements.set(ex, { datagrams: [...copies, ...got.direct, ...got.upcalls], port: ex.port });
        results.push({ ...base, status: 'matched' });
      } else if (options.maxFailures !== undefined && failures >= options.maxFailures) {
        results.push({ ...base, status: 'skipped', reason: `not compared: more than ${options.maxFailures} failures`, compared: 0 });
      } else {
        const m = ex.request.messages[0];
        const flowDump = m !== undefined && familyId(m.type) === flowId && (m.flags & NLM_F.DUMP) === NLM_F.DUMP;
        const unread = unreadAck(ex, lastOfPort.get(ex.port) === ex, got);
        const out = comparer.exchange(ex.replies, ex.side, unread ? { ...got, direct: got.direct.slice(0, -1) } : got, ex.request, flowDump);
        if (out.ok && unread) norm.used.set('unread-ack', (norm.used.get('unread-ack') ?? 0) + 1);
        if (!out.ok) failures++;
        results.push({ ...base, status: out.ok ? 'matched' : 'failed', difference: out.difference });
        if (!out.ok) log('exchange %d (frame %d, %s) failed at %s', ex.index, ex.request.frame, request, out.difference?.path);
      }
      options.onProgress?.(ex.index + 1, exchanges.length);
    }
  } finally {
    sockets.close();
  }
  let updated: string | undefined;
  if (options.update) {
    updated = typeof options.update === 'string' ? options.update : name;
    await fs.promises.writeFile(updated, writeUpdated(cap, replacements));
  }
  return summarise(name, results, strays.map((s) => ({ frame: s.record.frame, reason: s.reason })), norm, host, target, updated);
}

/** relabel words a difference found against the kernel as such (the comparer says "emulator"). */
function relabel(d: Difference): Difference {
  const fix = (t: string): string => t.replace(/the emulator/g, 'the replayed kernel').replace(/emulator's/g, 'replayed kernel\'s');
  return { ...d, path: fix(d.path), sideBySide: fix(d.sideBySide).replace(/^(.*?) {3}emulator$/m, '$1   replayed on this host') };
}

function kernelOnly(option: string | undefined): string | undefined {
  return option && `its captured acks need ${option} on the socket, which the netlink package cannot set`;
}

/**
 * unreadAck (rule `unread-ack`): the last datagram delivered is an ACK (error 0) the capture does
 * not have, for a request with NLM_F_ACK whose socket read a reply and then nothing more (its
 * last exchange, no NLMSG_ERROR captured). A passthrough recording (`record`) holds only what the
 * client read, and iproute2's genl reads the reply and never the ACK; the kernel sent it anyway.
 */
function unreadAck(ex: Exchange, last: boolean, got: GotTraffic): boolean {
  const req = ex.request.messages;
  if (!last || req.length !== 1 || !(req[0].flags & NLM_F.ACK) || !ex.replies.length) return false;
  if (ex.replies.some((r) => r.messages.some((m) => m.type === NLMSG_ERROR))) return false;
  const tail = got.direct[got.direct.length - 1];
  if (!tail) return false;
  const msgs = [...splitDatagram(tail)];
  return msgs.length === 1 && msgs[0].type === NLMSG_ERROR && msgs[0].bytes.length >= NLMSG_HDRLEN + 4 && msgs[0].bytes.readInt32LE(NLMSG_HDRLEN) === 0 && msgs[0].seq === req[0].seq;
}

function summarise(file: string, exchanges: ExchangeResult[], strays: { frame: number; reason: string }[], norm: Normaliser, host: CaptureHost, target: 'emulator' | 'kernel', updated?: string): ReplayResult {
  const count = (s: ExchangeStatus): number => exchanges.filter((e) => e.status === s).length;
  const reasons = new Map<string, { exchanges: number; strays: number }>();
  for (const e of exchanges) if (e.status === 'skipped' && e.reason) reasons.set(e.reason, { exchanges: (reasons.get(e.reason)?.exchanges ?? 0) + 1, strays: reasons.get(e.reason)?.strays ?? 0 });
  for (const { reason: r } of strays) reasons.set(r, { exchanges: reasons.get(r)?.exchanges ?? 0, strays: (reasons.get(r)?.strays ?? 0) + 1 });
  if (target === 'kernel') for (const e of exchanges) if (e.difference) e.difference = relabel(e.difference);
  const first = exchanges.find((e) => e.difference);
  return {
    file,
    ok: count('failed') === 0,
    counts: { exchanges: exchanges.length, matched: count('matched'), failed: count('failed'), skipped: count('skipped'), strays: strays.length },
    skipped: [...reasons].map(([reason, n]) => ({ reason, ...n })),
    strays,
    exchanges,
    firstDifference: first?.difference ? { ...first.difference, exchange: first.index, request: first.request } : undefined,
    rulesApplied: Object.fromEntries(norm.used),
    host: { netdevs: host.netdevNames(), ifindexMap: [...norm.ifindex.forward] },
    updated,
    target,
  };
}

/** maxMetersOf reads OVS_METER_ATTR_MAX_METERS from the capture's meter FEATURES replies. */
function maxMetersOf(cap: ReturnType<typeof readCapture>, reg: ReturnType<typeof loadSchemas>): number | undefined {
  const fam = reg.family('ovs_meter');
  const id = familyIdIn(cap, 'ovs_meter') ?? fam.familyId;
  const attr = fam.set('meter-attrs').byName.get('max-meters')?.type;
  for (const r of cap.records) {
    if (r.request || r.protocol !== NETLINK_GENERIC) continue;
    for (const m of r.messages) {
      if (m.type !== id) continue;
      const a = attrsOf(m.bytes, NLMSG_HDRLEN + 8).find((x) => x.type === attr);
      if (a && a.payload.length >= 4) return a.payload.readUInt32LE(0);
    }
  }
  return undefined;
}

export { NORMALISATION_RULES } from './replay-normalise';
export type { Difference } from './replay-diff';
