import createDebug from 'debug';
import { buildAck, writeDone } from '../nl/ack';
import { DUMP_CHUNK_BYTES, NETLINK_OPT, NLMSG_MIN_TYPE, NLM_F } from '../nl/constants';
import { Errno } from '../nl/errno';
import { NlError, type Extack } from '../nl/errors';
import { splitDatagram, type NlMessage } from '../nl/message';
import { NlWriter } from '../nl/writer';
import type { Genetlink, GenlRequest, ReplyChannel } from '../genl/genetlink';
import { SocketError, type DatagramSink, type NlSocket, type PeerCred, type SendResult } from './transport';

const log = createDebug('ovs-dpemu:transport:session');

/** SessionHost is what a session needs from the emulator: port ids, groups, genl routing. */
export interface SessionHost {
  readonly genl: Genetlink;
  claimPortid(s: Session, portid: number): void;
  autobindPortid(s: Session): number;
  releasePortid(s: Session): void;
  lookupPortid(portid: number): Session | undefined;
  join(s: Session, group: number): void;
  leave(s: Session, group: number): void;
  groupMembers(group: number): Iterable<Session>;
}

interface RunningDump {
  req: GenlRequest;
  source: Iterator<Buffer>;
  /** A message that did not fit the previous chunk. */
  carry?: Buffer;
  /** A built chunk the client's queue had no room for. */
  blocked?: Buffer;
  inlineDone: boolean;
  /** The source is exhausted (or failed with `errno`); only NLMSG_DONE is left to send. */
  exhausted: boolean;
  errno: number;
  extack?: Extack;
  finished: boolean;
}

let nextSocketId = 1;
/** nlmsg_total_size(sizeof(int)): the room NLMSG_DONE needs. */
const DONE_LEN = 20;

/**
 * Session is one emulated netlink socket (struct netlink_sock): its port id, groups, options
 * and the dump in progress. It follows netlink_rcv_skb() for requests and netlink_dump() for
 * dump continuation.
 */
export class Session implements NlSocket {
  readonly id = nextSocketId++;
  portid = 0;
  readonly groups = new Set<number>();
  private readonly opts = new Map<number, number>();
  private dump?: RunningDump;
  private overrun = false;
  private closed = false;

  constructor(private readonly host: SessionHost, readonly cred: PeerCred, readonly sink: DatagramSink) {}

  // --- socket calls -------------------------------------------------------------------------

  bind(portid: number, groups: number): number {
    if (this.portid && portid && portid !== this.portid) throw new SocketError(Errno.EINVAL, 'already bound');
    if (!this.portid) {
      if (portid) this.host.claimPortid(this, portid);
      else this.host.autobindPortid(this);
    }
    for (let bit = 0; bit < 32; bit++) if (groups & (1 << bit)) this.host.join(this, bit + 1);
    return this.portid;
  }

  connect(): number {
    if (!this.portid) this.host.autobindPortid(this);
    return this.portid;
  }

  setNetlinkOption(name: number, value: Buffer): void {
    if (value.length < 4) throw new SocketError(Errno.EINVAL, 'option value too short');
    const v = value.readUInt32LE(0);
    switch (name) {
      case NETLINK_OPT.ADD_MEMBERSHIP:
      case NETLINK_OPT.DROP_MEMBERSHIP:
        if (!v) throw new SocketError(Errno.EINVAL, 'group 0');
        if (!this.portid) this.host.autobindPortid(this);
        if (name === NETLINK_OPT.ADD_MEMBERSHIP) this.host.join(this, v);
        else this.host.leave(this, v);
        return;
      case NETLINK_OPT.PKTINFO:
      case NETLINK_OPT.BROADCAST_ERROR:
      case NETLINK_OPT.NO_ENOBUFS:
      case NETLINK_OPT.LISTEN_ALL_NSID:
      case NETLINK_OPT.CAP_ACK:
      case NETLINK_OPT.EXT_ACK:
      case NETLINK_OPT.GET_STRICT_CHK:
        this.opts.set(name, v ? 1 : 0);
        return;
      default:
        throw new SocketError(Errno.ENOPROTOOPT, `unknown SOL_NETLINK option ${name}`);
    }
  }

  getNetlinkOption(name: number): number {
    if (!Object.values(NETLINK_OPT).includes(name as never)) throw new SocketError(Errno.ENOPROTOOPT, `unknown option ${name}`);
    return this.opts.get(name) ?? 0;
  }

  private opt(name: number): boolean {
    return this.opts.get(name) === 1;
  }

  send(datagram: Buffer, destPortid: number): SendResult {
    if (!this.portid) this.host.autobindPortid(this);
    if (destPortid) {
      // A user-to-user unicast: the kernel queues the datagram on the peer socket as is.
      const peer = this.host.lookupPortid(destPortid);
      if (!peer) throw new SocketError(Errno.ECONNREFUSED, `no socket with port id ${destPortid}`);
      peer.deliver(datagram);
      return this.result();
    }
    for (const msg of splitDatagram(datagram)) this.receive(msg);
    return this.result();
  }

  refill(): SendResult {
    this.pumpDump();
    return this.result();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.dump = undefined;
    for (const g of [...this.groups]) this.host.leave(this, g);
    this.host.releasePortid(this);
  }

  private result(): SendResult {
    return { dumpPending: this.dump !== undefined };
  }

  // --- delivery ------------------------------------------------------------------------------

  /** deliver queues a datagram for the client; false when its queue is full. */
  deliver(dgram: Buffer): boolean {
    if (this.overrun && this.sink.signalOverrun()) this.overrun = false;
    return this.sink.deliver(dgram);
  }

  /**
   * deliverFromKernel is netlink_unicast() from a kernel socket (upcalls): a full queue drops the
   * datagram, marks the overrun (ENOBUFS for the reader) and answers EAGAIN.
   */
  deliverFromKernel(dgram: Buffer): number {
    if (this.deliver(dgram)) return 0;
    if (!this.opt(NETLINK_OPT.NO_ENOBUFS)) this.overrun = !this.sink.signalOverrun();
    return Errno.EAGAIN;
  }

  /** deliverBroadcast is netlink_broadcast_deliver(): a full queue means overrun (ENOBUFS later). */
  deliverBroadcast(dgram: Buffer): void {
    if (this.deliver(dgram)) return;
    if (!this.opt(NETLINK_OPT.NO_ENOBUFS)) this.overrun = !this.sink.signalOverrun();
  }

  // --- requests ------------------------------------------------------------------------------

  private ackOpts() {
    return { capAck: this.opt(NETLINK_OPT.CAP_ACK), extAck: this.opt(NETLINK_OPT.EXT_ACK) };
  }

  private ack(msg: NlMessage, errno: number, extack: Extack | undefined): void {
    this.deliver(buildAck(msg, this.portid, errno, extack, this.ackOpts()));
  }

  // kernel: netlink_rcv_skb()
  private receive(msg: NlMessage): void {
    if (!(msg.flags & NLM_F.REQUEST) || msg.type < NLMSG_MIN_TYPE) {
      if (msg.flags & NLM_F.ACK) this.ack(msg, 0, undefined);
      return;
    }
    const extack: Extack = {};
    const result = this.host.genl.dispatch(msg, this.portid, this.cred, extack, this.channel());
    if (result.kind === 'dump') {
      this.startDump(msg, result.req, result.source, result.inlineDone, extack);
      return;
    }
    if (msg.flags & NLM_F.ACK || result.errno) this.ack(msg, result.errno, extack);
  }

  private channel(): ReplyChannel {
    return {
      unicast: (dgram) => {
        if (!this.deliver(dgram)) log('socket %d: reply dropped, queue full', this.id);
      },
      notify: (group, dgram, echo) => {
        for (const s of this.host.groupMembers(group)) if (!(echo && s === this)) s.deliverBroadcast(dgram);
        if (echo) this.deliver(dgram);
      },
      hasListeners: (group) => [...this.host.groupMembers(group)].length > 0,
    };
  }

  // kernel: __netlink_dump_start()
  private startDump(msg: NlMessage, req: GenlRequest, source: Iterator<Buffer>, inlineDone: boolean, extack: Extack): void {
    if (this.dump) {
      this.ack(msg, Errno.EBUSY, extack);
      return;
    }
    this.dump = { req, source, inlineDone, exhausted: false, errno: 0, finished: false };
    // The kernel queues one skb here and the rest from recvmsg(); queueing what fits now gives
    // the client the same datagrams with fewer refill round trips through the shim.
    this.pumpDump();
  }

  /** pumpDump produces up to `chunks` dump datagrams, stopping when the client's queue is full. */
  // kernel: netlink_dump()
  private pumpDump(chunks = 16): void {
    const d = this.dump;
    if (!d) return;
    for (let i = 0; i < chunks; i++) {
      const chunk = d.blocked ?? this.buildChunk(d);
      if (!this.deliver(chunk)) {
        d.blocked = chunk;
        return;
      }
      d.blocked = undefined;
      if (d.finished) {
        this.dump = undefined;
        return;
      }
    }
  }

  private buildChunk(d: RunningDump): Buffer {
    const w = new NlWriter(DUMP_CHUNK_BYTES + 64);
    try {
      while (!d.exhausted) {
        const next = d.carry ?? this.nextMessage(d);
        d.carry = undefined;
        if (!next) {
          d.exhausted = true;
          break;
        }
        if (w.length && w.length + next.length > DUMP_CHUNK_BYTES) {
          d.carry = next;
          break;
        }
        w.raw(next);
      }
    } catch (e) {
      if (!(e instanceof NlError)) {
        log('BUG: non-NlError from a dump: %O', e);
        this.host.genl.bugHook?.(e, 'dump');
      }
      d.errno = e instanceof NlError ? e.errno : Errno.EINVAL;
      d.extack = e instanceof NlError ? e.extack : undefined;
      d.exhausted = true;
    }
    const roomForDone = w.length + DONE_LEN <= DUMP_CHUNK_BYTES;
    if (d.exhausted && (w.length === 0 || d.errno !== 0 || (d.inlineDone && roomForDone))) {
      writeDone(w, d.req.msg, this.portid, d.errno, d.extack, this.opt(NETLINK_OPT.EXT_ACK));
      d.finished = true;
    }
    return w.finish();
  }

  private nextMessage(d: RunningDump): Buffer | undefined {
    const r = d.source.next();
    return r.done ? undefined : r.value;
  }
}
