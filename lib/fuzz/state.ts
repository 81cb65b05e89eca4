/**
 * What the fuzzer checks about the emulator's state: a snapshot of everything a request may
 * change (to prove that a failed request changed nothing), the global invariants of the
 * datapaths (flow count = table size, masks and UFID index consistent, unique port numbers and
 * names, meter table count) and counters that only grow.
 */
import type { Emulator } from '../emulator';
import type { Datapath } from '../ovs/datapath';
import type { Flow } from '../ovs/flow-table';

/** DP_MAX_PORTS: port numbers are below this. */
const DP_MAX_PORTS = 0xffff;

const hex = (s: string): string => Buffer.from(s, 'latin1').toString('hex');

/** Identity numbers for objects whose content is opaque (stored actions). */
class Ids {
  private readonly ids = new WeakMap<object, number>();
  private next = 1;
  of(o: unknown): number | string {
    if (typeof o !== 'object' || o === null) return String(o);
    let id = this.ids.get(o);
    if (!id) this.ids.set(o, (id = this.next++));
    return id;
  }
}

/**
 * A flow's key, mask and identifier never change once it is in the table, so its identity
 * stands for them (a flow replaced by an equal one is a change too); actions and stats may.
 */
function flowSnap(f: Flow<unknown>, ids: Ids): unknown[] {
  const s = f.stats.read();
  return [ids.of(f), ids.of(f.mask), ids.of(f.actions), String(s.packets), String(s.bytes), s.used, s.tcpFlags];
}

function dpSnap(dp: Datapath, ids: Ids): unknown {
  const st = dp.stats;
  return {
    name: dp.name, ifindex: dp.ifindex, features: dp.userFeatures, cache: dp.masksCacheSize, pids: dp.perCpuPids,
    stats: [st.nHit, st.nMissed, st.nLost, st.nMaskHit, st.nCacheHit].map(String),
    ports: [...dp.ports.values()].map((v) => [v.portNo, v.type, v.name, v.upcallPids, v.options, v.dev.ifindex, String(v.upcallSuccess), String(v.upcallFail)]),
    flows: [...dp.table.dump()].map((f) => flowSnap(f, ids)),
    meters: dp.meters.occupied().map(({ slot, meter: m }) => [slot, m.id, m.kbps, m.used, String(m.stats.nPackets), String(m.stats.nBytes),
      m.bands.map((b) => [b.type, b.rate, b.burstSize, String(b.bucket), String(b.stats.nPackets)])]),
  };
}

/** StateChecker snapshots the emulator and checks invariants between inputs. */
export class StateChecker {
  private readonly ids = new Ids();
  private readonly counters = new WeakMap<object, bigint[]>();

  constructor(readonly emu: Emulator) {}

  /** snapshot is everything a request could change, as one comparable string. */
  snapshot(): string {
    const net = this.emu.ovs.net;
    return JSON.stringify({
      dps: net.dps.map((dp) => dpSnap(dp, this.ids)),
      ct: [net.ctLimit.defaultLimit, net.ctLimit.enabled, net.ctLimit.zones()],
      conns: this.emu.conntrack.connections().length,
    });
  }

  /**
   * invariants returns the violated global invariants (empty when all hold). `cleared` tells
   * which counters a request of the input was allowed to reset (flow SET with CLEAR).
   */
  invariants(cleared: { flows: boolean }): string[] {
    const out: string[] = [];
    const net = this.emu.ovs.net;
    const names = new Map<string, string>();
    const ifindexes = new Set<number>();
    for (const dp of net.dps) {
      const where = `dp ${dp.name}`;
      if (!dp.ports.has(0)) out.push(`${where}: no local port`);
      if (ifindexes.has(dp.ifindex)) out.push(`${where}: ifindex ${dp.ifindex} shared with another datapath`);
      ifindexes.add(dp.ifindex);
      for (const [no, v] of dp.ports) {
        if (v.portNo !== no) out.push(`${where}: port ${v.name} numbered ${v.portNo} is filed under ${no}`);
        if (no < 0 || no >= DP_MAX_PORTS) out.push(`${where}: port number ${no} out of range`);
        const other = names.get(v.name);
        if (other) out.push(`${where}: port name ${v.name} also used in ${other}`);
        names.set(v.name, dp.name);
      }
      out.push(...this.tableInvariants(dp));
      const occupied = dp.meters.occupied();
      if (dp.meters.count !== occupied.length) out.push(`${where}: meter count ${dp.meters.count} but ${occupied.length} slots used`);
      if (new Set(occupied.map((o) => o.meter.id)).size !== occupied.length) out.push(`${where}: a meter id is in two slots`);
      out.push(...this.monotonic(dp, cleared));
    }
    return out;
  }

  private tableInvariants(dp: Datapath): string[] {
    const out: string[] = [];
    const t = dp.table;
    const flows = [...t.dump()];
    const masks = t.masksInOrder();
    if (t.count !== flows.length) out.push(`dp ${dp.name}: flow count ${t.count} but ${flows.length} flows in the table`);
    if (dp.flowCount !== flows.length) out.push(`dp ${dp.name}: n_flows ${dp.flowCount} ≠ table size ${flows.length}`);
    if (dp.maskCount !== masks.length) out.push(`dp ${dp.name}: mask count ${dp.maskCount} ≠ ${masks.length}`);
    const inMasks = masks.reduce((n, m) => n + m.flows.size, 0);
    if (inMasks !== flows.length) out.push(`dp ${dp.name}: ${inMasks} flows under masks, ${flows.length} in the table`);
    for (const m of masks) if (m.refCount !== m.flows.size || m.refCount <= 0) out.push(`dp ${dp.name}: mask refcount ${m.refCount} with ${m.flows.size} flows`);
    let withUfid = 0;
    for (const f of flows) {
      if (!masks.includes(f.mask)) out.push(`dp ${dp.name}: a flow's mask is not in the mask array`);
      else if (f.mask.flows.get(f.maskedId) !== f) out.push(`dp ${dp.name}: a flow is not found under its masked key`);
      if (f.ufidId !== undefined) {
        withUfid++;
        const u = f.ufid;
        if (!u || t.lookupUfid(u) !== f) out.push(`dp ${dp.name}: UFID ${u?.toString('hex')} does not find its flow`);
      } else if (!f.isKeyIdentified) out.push(`dp ${dp.name}: a flow has neither UFID nor unmasked key`);
    }
    let indexed = 0;
    for (const [id, f] of t.ufidIndex()) {
      indexed++;
      if (f.ufidId !== id || !flows.includes(f)) out.push(`dp ${dp.name}: UFID index entry ${hex(id)} points at a flow not in the table`);
    }
    if (indexed !== withUfid) out.push(`dp ${dp.name}: UFID index has ${indexed} entries for ${withUfid} flows with UFID`);
    return out;
  }

  /** monotonic checks that counters of the same object never went down. */
  private monotonic(dp: Datapath, cleared: { flows: boolean }): string[] {
    const out: string[] = [];
    const check = (o: object, now: bigint[], what: string, resettable = false): void => {
      const before = this.counters.get(o);
      if (before && !resettable && now.some((v, i) => v < before[i])) out.push(`dp ${dp.name}: ${what} went down: ${before.join(',')} → ${now.join(',')}`);
      this.counters.set(o, now);
    };
    const s = dp.stats;
    check(dp.stats, [s.nHit, s.nMissed, s.nLost, s.nMaskHit, s.nCacheHit], 'datapath stats');
    for (const v of dp.ports.values()) check(v, [v.upcallSuccess, v.upcallFail], `port ${v.name} upcall stats`);
    for (const f of dp.table.dump()) {
      const r = f.stats.read();
      check(f, [r.packets, r.bytes, BigInt(r.used)], 'flow stats', cleared.flows);
    }
    for (const { meter } of dp.meters.occupied()) check(meter, [meter.stats.nPackets, meter.stats.nBytes], `meter ${meter.id} stats`);
    return out;
  }
}
