/**
 * Replay against the real kernel (`replay --kernel`, `replay(file, { target: 'kernel' })`): the
 * requests of a capture go to this host's NETLINK_GENERIC sockets instead of an emulator. One
 * socket per captured port id (bound to it), a monitor socket in every group of the host's ovs_*
 * families, replies collected until the sockets are quiet. The kernel's family and group ids are
 * learned from its own nlctrl dump (a dump, unlike a lookup by name, loads no module) and mapped
 * to the ids the comparison uses (the schemas' for families they describe, else the kernel's), so
 * decoding, normalisation and reports are the emulator replay's.
 *
 * Only this file loads the `netlink` package's native addon.
 */
import { RawNetlinkSocket } from 'netlink';
import { NETLINK_GENERIC, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, NLM_F, align4 } from '../nl/constants';
import { splitDatagram } from '../nl/message';
import type { SchemaRegistry } from '../schema/model';
import { attrsOf, cString, CTRL, GENL_ID_CTRL } from './replay-capture';
import type { GotTraffic } from './replay-diff';
import type { Exchange } from './replay-exchanges';

/** How long the sockets must stay silent after a request before its replies count as complete. */
export const DEFAULT_QUIET_MS = 50;
/** Upper bound of one exchange's collection (a dump keeps resetting the quiet timer). */
const MAX_COLLECT_MS = 10_000;

interface KSock {
  sock: RawNetlinkSocket;
  queue: Buffer[];
}

/** The host kernel's generic netlink families and multicast groups, by name. */
export interface KernelFamilies {
  families: Map<string, number>;
  groups: Map<string, number>;
}

/** unsettableOption names the socket option an exchange's captured replies show that this target cannot set. */
export function unsettableOption(ex: Exchange): string | undefined {
  for (const r of ex.replies) {
    for (const m of r.messages) {
      if ((m.type === NLMSG_ERROR || m.type === NLMSG_DONE) && m.flags & NLM_F.ACK_TLVS) return 'NETLINK_EXT_ACK';
      if (m.type === NLMSG_ERROR && m.flags & NLM_F.CAPPED && m.bytes.length >= 20 && m.bytes.readInt32LE(NLMSG_HDRLEN) !== 0) return 'NETLINK_CAP_ACK';
    }
  }
  return undefined;
}

/** KernelSockets is ReplaySockets' counterpart on the host's kernel. */
export class KernelSockets {
  private readonly ports = new Map<number, KSock>();
  /** Ports that could not be bound on this host, with the error. */
  private readonly refused = new Map<number, string>();
  private anonymous?: KSock;
  private monitor?: KSock;
  private onActivity?: () => void;
  /** Comparison id ↔ kernel id, for families and groups. */
  private readonly toKernel = new Map<number, number>();
  private readonly fromKernel = new Map<number, number>();
  private readonly groupFromKernel = new Map<number, number>();

  private constructor(readonly host: KernelFamilies, reg: SchemaRegistry, private readonly quietMs: number) {
    const regIds = new Map(reg.families.map((f) => [f.name, f.familyId]));
    for (const [name, id] of host.families) {
      const c = regIds.get(name) ?? id;
      this.toKernel.set(c, id);
      this.fromKernel.set(id, c);
    }
    const regGroups = new Map(reg.families.flatMap((f) => f.mcastGroups.map((g) => [g.name, g.id] as const)));
    for (const [name, id] of host.groups) this.groupFromKernel.set(id, regGroups.get(name) ?? id);
  }

  /**
   * open learns the host's families and opens the sockets: one per port id of `ports` (requesting
   * sockets and upcall receivers) and the monitor.
   */
  static async open(reg: SchemaRegistry, ports: Iterable<number>, quietMs = DEFAULT_QUIET_MS): Promise<KernelSockets> {
    const host = await hostFamilies(quietMs);
    const k = new KernelSockets(host, reg, quietMs);
    try {
      for (const p of ports) if (p) k.open(p);
      const mon = k.open(0);
      k.monitor = mon;
      for (const f of reg.families) {
        if (!f.name.startsWith('ovs_')) continue;
        for (const g of f.mcastGroups) {
          const id = host.groups.get(g.name);
          if (id !== undefined) mon?.sock.addMembership(id);
        }
      }
    } catch (e) {
      k.close();
      throw e;
    }
    return k;
  }

  private open(port: number): KSock | undefined {
    let sock: RawNetlinkSocket;
    try {
      sock = new RawNetlinkSocket(NETLINK_GENERIC, { ...(port ? { localPort: port } : {}), recvBufferSize: 0, sendBufferSize: 0 });
    } catch (e) {
      this.refused.set(port, e instanceof Error ? e.message : String(e));
      return undefined;
    }
    const q: KSock = { sock, queue: [] };
    sock.on('message', (msg) => {
      q.queue.push(Buffer.from(msg));
      this.onActivity?.();
    });
    sock.on('error', () => this.onActivity?.());
    if (port) this.ports.set(port, q);
    return q;
  }

  /** refusedPort says why a captured port id cannot be bound on this host (undefined: it can). */
  refusedPort(port: number): string | undefined {
    if (!port || this.ports.has(port)) return undefined;
    if (!this.refused.has(port)) this.open(port);
    const why = this.refused.get(port);
    return why === undefined ? undefined : `port id ${port} cannot be bound on this host (${why})`;
  }

  /** kernelFamilyId maps a comparison family id to the kernel's (requests). */
  kernelFamilyId(id: number): number {
    return this.toKernel.get(id) ?? id;
  }

  /** send sends a request (family ids of the comparison) and collects what the kernel delivered. */
  async send(port: number, dgram: Buffer): Promise<GotTraffic> {
    const q = port ? this.ports.get(port) ?? this.open(port) : (this.anonymous ??= this.open(0));
    if (!q) throw new Error(`port id ${port}: ${this.refused.get(port) ?? 'cannot be bound'}`);
    const all = this.all();
    for (const x of all) x.queue.length = 0;
    const out = rewriteTypes(dgram, (t) => this.kernelFamilyId(t), false);
    await new Promise<void>((resolve, reject) => q.sock.send(out, { port: 0 }, (err) => (err ? reject(new Error(`send from port ${port}: ${err.code}`)) : resolve())));
    await this.settle();
    const back = (b: Buffer): Buffer => this.toComparison(b);
    const upcalls = all.filter((x) => x !== q && x !== this.monitor).flatMap((x) => x.queue).map(back);
    return { direct: q.queue.map(back), upcalls, notifications: (this.monitor?.queue ?? []).map(back) };
  }

  /** settle waits until no socket received anything for quietMs (at most MAX_COLLECT_MS). */
  private settle(): Promise<void> {
    const start = Date.now();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        this.onActivity = undefined;
        resolve();
      };
      const arm = (): void => {
        clearTimeout(timer);
        timer = setTimeout(done, Math.max(0, Math.min(this.quietMs, start + MAX_COLLECT_MS - Date.now())));
      };
      this.onActivity = arm;
      arm();
    });
  }

  /** toComparison rewrites a kernel datagram's family and group ids to the comparison's. */
  private toComparison(b: Buffer): Buffer {
    const out = rewriteTypes(b, (t) => this.fromKernel.get(t) ?? t, true);
    let at = 0;
    for (const m of splitDatagram(out)) {
      if (m.type === GENL_ID_CTRL && m.bytes.length >= NLMSG_HDRLEN + 4 && m.bytes[NLMSG_HDRLEN] === CTRL.CMD_NEWFAMILY) {
        for (const a of attrsOf(m.bytes, NLMSG_HDRLEN + 4)) {
          if (a.type === CTRL.ATTR_FAMILY_ID && a.payload.length >= 2) {
            out.writeUInt16LE(this.fromKernel.get(a.payload.readUInt16LE(0)) ?? a.payload.readUInt16LE(0), at + a.offset + 4);
          }
          if (a.type !== CTRL.ATTR_MCAST_GROUPS) continue;
          for (const g of attrsOf(a.payload)) {
            for (const x of attrsOf(g.payload)) {
              if (x.type !== CTRL.ATTR_MCAST_GRP_ID || x.payload.length < 4) continue;
              const off = at + a.offset + 4 + g.offset + 4 + x.offset + 4;
              out.writeUInt32LE(this.groupFromKernel.get(x.payload.readUInt32LE(0)) ?? x.payload.readUInt32LE(0), off);
            }
          }
        }
      }
      at += align4(m.bytes.length);
    }
    return out;
  }

  private all(): KSock[] {
    return [...this.ports.values(), ...(this.monitor ? [this.monitor] : []), ...(this.anonymous ? [this.anonymous] : [])];
  }

  close(): void {
    for (const x of this.all()) x.sock.close();
    this.ports.clear();
    this.monitor = undefined;
    this.anonymous = undefined;
  }
}

/**
 * rewriteTypes returns a copy of a datagram with each message's nlmsg_type mapped (genl ids
 * only) and, for kernel datagrams, the type of the request an NLMSG_ERROR embeds.
 */
function rewriteTypes(dgram: Buffer, map: (t: number) => number, embedded: boolean): Buffer {
  const out = Buffer.from(dgram);
  let at = 0;
  for (const m of splitDatagram(dgram)) {
    if (m.type >= GENL_ID_CTRL) out.writeUInt16LE(map(m.type), at + 4);
    if (embedded && m.type === NLMSG_ERROR && m.bytes.length >= NLMSG_HDRLEN + 4 + NLMSG_HDRLEN) {
      const t = m.bytes.readUInt16LE(NLMSG_HDRLEN + 8);
      if (t >= GENL_ID_CTRL) out.writeUInt16LE(map(t), at + NLMSG_HDRLEN + 8);
    }
    at += align4(m.bytes.length);
  }
  return out;
}

/** hostFamilies dumps the kernel's nlctrl families (CTRL_CMD_GETFAMILY with NLM_F_DUMP). */
async function hostFamilies(quietMs: number): Promise<KernelFamilies> {
  const sock = new RawNetlinkSocket(NETLINK_GENERIC, { recvBufferSize: 0, sendBufferSize: 0 });
  const families = new Map<string, number>([['nlctrl', GENL_ID_CTRL]]);
  const groups = new Map<string, number>();
  try {
    const seq = 1;
    const req = Buffer.alloc(NLMSG_HDRLEN + 4);
    req.writeUInt32LE(req.length, 0);
    req.writeUInt16LE(GENL_ID_CTRL, 4);
    req.writeUInt16LE(NLM_F.REQUEST | NLM_F.DUMP, 6);
    req.writeUInt32LE(seq, 8);
    req[NLMSG_HDRLEN] = CTRL.CMD_GETFAMILY;
    req[NLMSG_HDRLEN + 1] = 1;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('nlctrl dump: no NLMSG_DONE from the kernel')), Math.max(1000, quietMs * 20));
      const fail = (e: Error): void => {
        clearTimeout(timer);
        reject(e);
      };
      sock.on('error', fail);
      sock.on('message', (msg) => {
        for (const m of splitDatagram(Buffer.from(msg))) {
          if (m.seq !== seq) continue;
          if (m.type === NLMSG_DONE || m.type === NLMSG_ERROR) {
            clearTimeout(timer);
            if (m.type === NLMSG_ERROR && m.bytes.length >= NLMSG_HDRLEN + 4 && m.bytes.readInt32LE(NLMSG_HDRLEN) !== 0) reject(new Error(`nlctrl dump: error ${m.bytes.readInt32LE(NLMSG_HDRLEN)}`));
            else resolve();
            return;
          }
          if (m.type !== GENL_ID_CTRL || m.bytes.length < NLMSG_HDRLEN + 4) continue;
          const attrs = attrsOf(m.bytes, NLMSG_HDRLEN + 4);
          const id = attrs.find((a) => a.type === CTRL.ATTR_FAMILY_ID);
          const name = attrs.find((a) => a.type === CTRL.ATTR_FAMILY_NAME);
          if (id && name && id.payload.length >= 2) families.set(cString(name.payload), id.payload.readUInt16LE(0));
          const grps = attrs.find((a) => a.type === CTRL.ATTR_MCAST_GROUPS);
          for (const g of grps ? attrsOf(grps.payload) : []) {
            const inner = attrsOf(g.payload);
            const gid = inner.find((a) => a.type === CTRL.ATTR_MCAST_GRP_ID);
            const gname = inner.find((a) => a.type === CTRL.ATTR_MCAST_GRP_NAME);
            if (gid && gname && gid.payload.length >= 4) groups.set(cString(gname.payload), gid.payload.readUInt32LE(0));
          }
        }
      });
      sock.send(req, { port: 0 }, (err) => (err ? fail(new Error(`nlctrl dump: send: ${err.code}`)) : undefined));
    });
  } finally {
    sock.close();
  }
  return { families, groups };
}
