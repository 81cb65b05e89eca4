/**
 * The replay's side of the emulator: one socket per captured port id (bound to it, with the
 * socket options the captured replies reveal), a monitor socket in every OVS multicast group,
 * and the rules that turn a captured request into the one to send, or skip it.
 */
import { NETLINK_GENERIC, NETLINK_OPT, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, NLM_F, align4 } from '../nl/constants';
import { splitDatagram } from '../nl/message';
import type { Emulator } from '../emulator';
import type { SchemaRegistry } from '../schema/model';
import type { NlSocket } from '../transport/transport';
import { attrsOf, cString, CTRL, GENL_ID_CTRL, type Capture } from './replay-capture';
import type { GotTraffic } from './replay-diff';
import type { Exchange } from './replay-exchanges';
import { flatten, type TreeDecoder } from './replay-tree';

/** The nlctrl lookup the oracle sends last to mark the end of a run (test/captures/README.md). */
export const ORACLE_END_MARK = 'oracle-end-mark';
/** Dumps longer than this many chunks are cut (a runaway dump is a bug, not a capture). */
const MAX_DUMP_CHUNKS = 1_000_000;

interface Queue {
  sock: NlSocket;
  queue: Buffer[];
}

/** socketOptions infers NETLINK_EXT_ACK and NETLINK_CAP_ACK from the replies a port received. */
function socketOptions(exchanges: Exchange[]): { extAck: boolean; capAck: boolean } {
  let extAck = false;
  let capAck = false;
  for (const ex of exchanges) {
    for (const r of ex.replies) {
      for (const m of r.messages) {
        if ((m.type === NLMSG_ERROR || m.type === NLMSG_DONE) && m.flags & NLM_F.ACK_TLVS) extAck = true;
        if (m.type === NLMSG_ERROR && m.flags & NLM_F.CAPPED && m.bytes.length >= 20 && m.bytes.readInt32LE(NLMSG_HDRLEN) !== 0) capAck = true;
      }
    }
  }
  return { extAck, capAck };
}

/** ReplaySockets owns the emulator sockets of one replay. */
export class ReplaySockets {
  private readonly ports = new Map<number, Queue>();
  private readonly monitor: Queue;
  private anonymous?: Queue;

  constructor(private readonly emu: Emulator, reg: SchemaRegistry, exchanges: Exchange[], upcallPorts: Iterable<number> = []) {
    const byPort = new Map<number, Exchange[]>();
    for (const ex of exchanges) {
      const l = byPort.get(ex.port);
      if (l) l.push(ex);
      else byPort.set(ex.port, [ex]);
    }
    // Sockets that only receive (upcall handlers) exist too, so upcalls reach them as they did.
    for (const p of upcallPorts) if (!byPort.has(p)) byPort.set(p, []);
    byPort.delete(0);
    for (const [port, list] of byPort) {
      const q = this.open(port);
      const o = socketOptions(list);
      if (o.extAck) q.sock.setNetlinkOption(NETLINK_OPT.EXT_ACK, u32(1));
      if (o.capAck) q.sock.setNetlinkOption(NETLINK_OPT.CAP_ACK, u32(1));
    }
    this.monitor = this.open(0);
    for (const f of reg.families) {
      if (!f.name.startsWith('ovs_')) continue;
      for (const g of f.mcastGroups) this.monitor.sock.setNetlinkOption(NETLINK_OPT.ADD_MEMBERSHIP, u32(g.id));
    }
  }

  private open(port: number): Queue {
    const queue: Buffer[] = [];
    const sock = this.emu.openSocket({ pid: port, uid: 0, gid: 0, netAdmin: true }, NETLINK_GENERIC, {
      deliver: (d) => {
        queue.push(d);
        return true;
      },
      signalOverrun: () => true,
    });
    if (port) {
      sock.bind(port, 0);
      this.ports.set(port, { sock, queue });
    } else {
      sock.connect();
    }
    return { sock, queue };
  }

  /**
   * hostChanged lets the emulator notice what changed on the modelled host before the next request
   * (netdev ports whose interface vanished are detached, as the kernel's notifier did).
   */
  hostChanged(): void {
    this.emu.detachVanishedPorts();
  }

  /** send sends a request datagram from `port` and collects everything the emulator delivered. */
  send(port: number, dgram: Buffer): GotTraffic {
    // Port 0: a request whose socket the capture does not tell; an autobound socket sends it.
    const q = port ? this.ports.get(port) ?? this.open(port) : (this.anonymous ??= this.open(0));
    const all = this.all();
    for (const x of all) x.queue.length = 0;
    let r = q.sock.send(dgram, 0);
    for (let i = 0; r.dumpPending && i < MAX_DUMP_CHUNKS; i++) r = q.sock.refill();
    const upcalls = all.filter((x) => x !== q && x !== this.monitor).flatMap((x) => x.queue);
    return { direct: [...q.queue], upcalls, notifications: [...this.monitor.queue] };
  }

  private all(): Queue[] {
    return [...this.ports.values(), this.monitor, ...(this.anonymous ? [this.anonymous] : [])];
  }

  close(): void {
    for (const x of this.all()) x.sock.close();
  }
}

const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
};

/**
 * translateRequest rewrites a captured request for the emulator: family ids by name and the
 * ovs_header's dp_ifindex through the learned ifindex map (rules family-id and ifindex).
 */
export function translateRequest(dgram: Buffer, familyId: (id: number) => number, ifindex: (k: number) => number, reg: SchemaRegistry): Buffer {
  let out: Buffer | undefined;
  let at = 0;
  for (const m of splitDatagram(dgram)) {
    const id = familyId(m.type);
    const fam = m.type >= 0x10 ? reg.byId(id) : undefined;
    const dp = fam?.fixedHeader && m.bytes.length >= NLMSG_HDRLEN + 8 ? m.bytes.readInt32LE(NLMSG_HDRLEN + 4) : 0;
    if (id !== m.type || ifindex(dp) !== dp) {
      out ??= Buffer.from(dgram);
      out.writeUInt16LE(id, at + 4);
      if (dp) out.writeInt32LE(ifindex(dp), at + NLMSG_HDRLEN + 4);
    }
    at += align4(m.bytes.length);
  }
  return out ?? dgram;
}

/**
 * upcallPorts lists the port ids the capture's requests name as upcall destinations: vport and
 * datapath UPCALL_PID, OVS_DP_ATTR_PER_CPU_PIDS, and the pid of userspace actions in EXECUTE.
 */
export function upcallPorts(exchanges: Exchange[], familyId: (id: number) => number, reg: SchemaRegistry, decoder: TreeDecoder): Set<number> {
  const out = new Set<number>();
  const ids = new Map(['ovs_vport', 'ovs_datapath', 'ovs_packet'].map((n) => [reg.family(n).familyId, n]));
  const PIDS = new Set(['ovs_vport/vport/upcall-pid', 'ovs_datapath/datapath/upcall-pid', 'ovs_datapath/datapath/per-cpu-pids', 'ovs_flow/userspace-attrs/pid']);
  for (const ex of exchanges) {
    for (const m of ex.request.messages) {
      const type = familyId(m.type);
      if (!ids.has(type)) continue;
      for (const f of flatten(decoder.decodeMessage({ ...m, type }, 0))) {
        const d = f.node.data;
        if (!PIDS.has(f.node.field ?? '') || !d) continue;
        for (let o = d.offset; o + 4 <= d.offset + d.length; o += 4) out.add(m.bytes.readUInt32LE(o));
      }
    }
  }
  out.delete(0);
  return out;
}

/**
 * skipReason says why an exchange cannot be replayed (undefined: replay it). `emulated` are the
 * families the target has; `lacks` words their absence in reasons.
 */
export function skipReason(ex: Exchange, cap: Capture, emulated: Map<string, number>, lacks = 'the emulator does not implement'): string | undefined {
  const m = ex.request.messages[0];
  if (!m) return undefined;
  const name = cap.familyNames.get(m.type);
  if (name && !emulated.has(name)) return `request to ${name}, a family ${lacks}`;
  if (m.type !== GENL_ID_CTRL || m.bytes.length < NLMSG_HDRLEN + 4 || m.bytes[NLMSG_HDRLEN] !== CTRL.CMD_GETFAMILY) return undefined;
  if ((m.flags & NLM_F.DUMP) === NLM_F.DUMP) return 'nlctrl dump: it lists every family of the capture\'s host';
  const attrs = attrsOf(m.bytes, NLMSG_HDRLEN + 4);
  const nameAttr = attrs.find((a) => a.type === CTRL.ATTR_FAMILY_NAME);
  const idAttr = attrs.find((a) => a.type === CTRL.ATTR_FAMILY_ID);
  const asked = nameAttr ? cString(nameAttr.payload) : idAttr && idAttr.payload.length >= 2 ? cap.familyNames.get(idAttr.payload.readUInt16LE(0)) : undefined;
  if (asked === ORACLE_END_MARK) return 'the oracle\'s end marker (nlctrl lookup of oracle-end-mark)';
  const found = ex.replies.some((r) => r.messages.some((x) => x.type === GENL_ID_CTRL));
  if (asked !== undefined && !emulated.has(asked) && found) return `nlctrl lookup of a family ${lacks}`;
  return undefined;
}
