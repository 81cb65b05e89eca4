/**
 * Grouping a capture into exchanges: each request datagram, the socket (port id) it came from,
 * and the kernel's datagrams to that socket that followed it until the socket's next request.
 */
import { NETLINK_GENERIC, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN } from '../nl/constants';
import type { NlMessage } from '../nl/message';
import type { Capture, CapturedRecord } from './replay-capture';

/** OVS_PACKET_CMD_ACTION (uapi openvswitch.h): an upcall a userspace action sends. */
const OVS_PACKET_CMD_ACTION = 2;
const OVS_PACKET_CMD_EXECUTE = 3;

/** Exchange is one request datagram and what the kernel sent back for it. */
export interface Exchange {
  /** 0-based position among the capture's exchanges. */
  index: number;
  request: CapturedRecord;
  /** Port id of the socket that sent it: where its replies went, else the request's nlmsg_pid. */
  port: number;
  /** Datagrams addressed to `port` after the request, until the port's next request. */
  replies: CapturedRecord[];
  /** Kernel-originated datagrams (nlmsg_pid 0: ACTION upcalls of an EXECUTE) the request caused. */
  side: CapturedRecord[];
}

/** Stray is a kernel datagram that belongs to no exchange (always reported as skipped). */
export interface Stray {
  record: CapturedRecord;
  reason: string;
  /** An upcall of real traffic (from here on, rule `traffic` applies). */
  traffic: boolean;
}

/** errorFor tells whether `m` is an NLMSG_ERROR whose embedded header is `req`'s. */
function errorFor(m: NlMessage, req: NlMessage): boolean {
  if (m.type !== NLMSG_ERROR || m.bytes.length < NLMSG_HDRLEN + 4 + NLMSG_HDRLEN) return false;
  return m.bytes.subarray(NLMSG_HDRLEN + 4, NLMSG_HDRLEN + 4 + NLMSG_HDRLEN).equals(req.bytes.subarray(0, NLMSG_HDRLEN));
}

/** Indexes to find a request's first reply without scanning the whole capture. */
class ReplyIndex {
  /** Kernel→user record indexes by the seq of their first message (nlmsg_pid ≠ 0 only). */
  private readonly bySeq = new Map<number, number[]>();
  /** Request record indexes by `pid:seq` of their first message. */
  private readonly requestsByOrigin = new Map<string, number[]>();
  /** For each record index, the index of the next request record. */
  private readonly nextRequest: number[];

  constructor(private readonly records: CapturedRecord[]) {
    this.nextRequest = new Array<number>(records.length);
    let next = records.length;
    for (let i = records.length - 1; i >= 0; i--) {
      this.nextRequest[i] = next;
      if (records[i].request) next = i;
    }
    records.forEach((r, i) => {
      const m = r.messages[0];
      if (!m || r.protocol !== NETLINK_GENERIC) return;
      if (r.request) push(this.requestsByOrigin, `${m.pid}:${m.seq}`, i);
      else if (m.pid !== 0) push(this.bySeq, m.seq, i);
    });
  }

  /**
   * portOf finds the socket of the request at `i`: the port id of its first reply. A reply
   * carrying the request's nlmsg_pid, or an NLMSG_ERROR embedding its header, is taken up to
   * the next request with the same pid and seq; a reply of the same family with another pid
   * (pyroute2 puts the process id in nlmsg_pid and binds to pid + (n << 22)) only before the
   * capture's next request.
   */
  portOf(i: number): number | undefined {
    const m = this.records[i].messages[0];
    if (!m) return undefined;
    const same = this.requestsByOrigin.get(`${m.pid}:${m.seq}`) ?? [];
    const bound = same[firstAbove(same, i)] ?? this.records.length;
    const weakBound = this.nextRequest[i];
    const list = this.bySeq.get(m.seq) ?? [];
    for (let x = firstAbove(list, i); x < list.length; x++) {
      const j = list[x];
      if (j >= bound) break;
      const rm = this.records[j].messages[0];
      if (rm.pid === m.pid || this.records[j].messages.some((x) => errorFor(x, m))) return rm.pid;
      if (j < weakBound && (rm.type === m.type || rm.type === NLMSG_DONE)) return rm.pid;
    }
    return undefined;
  }
}

/** firstAbove is the index of the first element of the sorted `list` greater than `v`. */
function firstAbove(list: number[], v: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function push<K>(map: Map<K, number[]>, k: K, v: number): void {
  const l = map.get(k);
  if (l) l.push(v);
  else map.set(k, [v]);
}

/** isExecute tells whether a request datagram holds an ovs_packet EXECUTE. */
function isExecute(r: CapturedRecord, packetId: number | undefined): boolean {
  return r.messages.some((m) => m.type === packetId && m.bytes[NLMSG_HDRLEN] === OVS_PACKET_CMD_EXECUTE);
}

/** familyIdIn is the capture's id of a family, from its nlctrl replies (undefined if it has none). */
export function familyIdIn(cap: Capture, name: string): number | undefined {
  return [...cap.familyNames].find(([, n]) => n === name)?.[0];
}

/**
 * groupExchanges splits a capture into exchanges (see {@link Exchange}). Kernel datagrams to a
 * port that never sent a request, and upcalls no request caused, are returned as strays.
 * `packetId` is the capture's ovs_packet family id (for a capture without nlctrl replies, the
 * caller's guess).
 */
export function groupExchanges(cap: Capture, packetId = familyIdIn(cap, 'ovs_packet')): { exchanges: Exchange[]; strays: Stray[] } {
  const index = new ReplyIndex(cap.records);
  const exchanges: Exchange[] = [];
  const strays: Stray[] = [];
  const latest = new Map<number, Exchange>();
  let lastRequest: Exchange | undefined;
  cap.records.forEach((rec, i) => {
    if (rec.protocol !== NETLINK_GENERIC) {
      strays.push({ record: rec, reason: `netlink protocol ${rec.protocol}, not generic netlink`, traffic: false });
      return;
    }
    const m = rec.messages[0];
    if (rec.request) {
      // A datagram without a parseable message is sent from the previous request's socket.
      const port = rec.portid ?? (m ? index.portOf(i) ?? m.pid : lastRequest?.port ?? 0);
      const ex: Exchange = { index: exchanges.length, request: rec, port, replies: [], side: [] };
      exchanges.push(ex);
      latest.set(ex.port, ex);
      lastRequest = ex;
      return;
    }
    if (!m) {
      strays.push({ record: rec, reason: 'no netlink message in the record', traffic: false });
      return;
    }
    if (m.pid !== 0) {
      const ex = latest.get(m.pid);
      if (ex) ex.replies.push(rec);
      else strays.push({ record: rec, reason: `to port ${m.pid}, which sent no captured request`, traffic: false });
      return;
    }
    // lastRequest is the most recent request record: an ACTION upcall right after an EXECUTE is its doing.
    const ofExecute = m.type === packetId && m.bytes[NLMSG_HDRLEN] === OVS_PACKET_CMD_ACTION && lastRequest && isExecute(lastRequest.request, packetId);
    if (ofExecute && lastRequest) lastRequest.side.push(rec);
    else if (m.type === packetId) strays.push({ record: rec, reason: 'upcall of traffic the replay cannot produce (no captured request caused it)', traffic: true });
    else strays.push({ record: rec, reason: 'kernel-originated message no captured request caused', traffic: false });
  });
  return { exchanges, strays };
}
