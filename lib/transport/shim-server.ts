/**
 * ShimServer: the emulator's side of the LD_PRELOAD shim (shim/ovsdpemu-preload.c).
 *
 * Each emulated netlink socket of a client is a SOCK_SEQPACKET *data connection*: the server
 * writes netlink datagrams into it, the client's kernel queues them (that queue is the netlink
 * receive queue, bounded by our SO_SNDBUF). Requests arrive on a per-process *control
 * connection* and are answered only after their replies have been written to the data
 * connection, which is what makes replies readable when the client's send() returns.
 * Wire format: shim/PROTOCOL.md, ./shim-wire.ts.
 */
import { randomBytes } from 'crypto';
import createDebug from 'debug';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { FdWatcher, NativeBinding, NativeError, POLL_DISCONNECT, POLL_READABLE, check, errnoName, native } from '../native';
import { CAP_NET_ADMIN, hasEffectiveCap, procComm } from './peer-caps';
import {
  ConnKind,
  OVERRUN_MARKER,
  Op,
  REP_DUMP_PENDING,
  REQ_HAS_ADDR,
  REQ_UNSPEC,
  REQ_LEN,
  Reply,
  Request,
  decodeHello,
  decodeRequest,
  encodeHelloReply,
  encodeReply,
} from './shim-wire';
import { DatagramSink, DatagramTap, NetlinkEndpoint, NlSocket, PeerCred, SendResult, SocketError } from './transport';

const debug = createDebug('ovs-dpemu:transport:shim-server');
const E = os.constants.errno;

/** SOL_NETLINK option numbers the server itself looks at (uapi linux/netlink.h). */
const NETLINK_ADD_MEMBERSHIP = 1;
const NETLINK_DROP_MEMBERSHIP = 2;

/** Largest control datagram accepted: the shim's control SO_SNDBUF (4 MiB) bounds requests. */
const MAX_CONTROL_DATAGRAM = (4 << 20) + REQ_LEN;
/** Clients send nothing but the hello on a data connection. */
const MAX_DATA_DATAGRAM = 64 * 1024;

/** Options of {@link ShimServer}. */
export interface ShimServerOptions {
  /** Filesystem path of the SOCK_SEQPACKET listener (see socket-path.ts for the default rule). */
  path: string;
  /**
   * Capacity of each client's receive queue: SO_SNDBUF of our end of the data connection
   * (a connected SEQPACKET pair is bounded by the sender's buffer, not the receiver's).
   * Default 4 MiB, what ovs-vswitchd asks of its netlink sockets with SO_RCVBUFFORCE.
   */
  queueBytes?: number;
  /** Mode of the socket file. Default 0o666: any process may open a netlink socket. */
  mode?: number;
  /**
   * Sees every request (before its replies) and every datagram a client's queue accepted
   * (replies, dump chunks, notifications, upcalls; not the overrun marker, not dropped ones).
   */
  tap?: DatagramTap;
}

/** A request seen but not yet tapped: it is tapped once its socket's portid is known. */
interface HeldRequest {
  readonly st: SocketState;
  readonly datagram: Buffer;
  readonly dst?: number;
}

/** Where a data connection's datagrams go; shared with its sink, which may outlive it. */
interface Pipe {
  readonly fd: number;
  closed: boolean;
}

/** The state of one emulated netlink socket (a data connection past its hello). */
interface SocketState {
  readonly sockid: number;
  readonly token: Buffer;
  readonly pipe: Pipe;
  readonly sock: NlSocket;
  /** Reads the data connection now (a pending hang-up closes the socket synchronously). */
  readonly poll: () => void;
  /** The opener's credentials (connect(2) to a non-zero address needs CAP_NET_ADMIN). */
  readonly cred: PeerCred;
  /** nl_groups of getsockname: the low 32 multicast groups joined (kernel: groups[0]). */
  groups: number;
  /** connect(2) destination (kernel: dst_portid, and dst_group as a group number). */
  dstPortid: number;
  dstGroup: number;
}

/** One accepted connection: kind is decided by its hello. */
interface Conn {
  readonly fd: number;
  readonly watcher: FdWatcher;
  readonly cred: PeerCred;
  kind: 'pending' | 'control' | 'data';
  state?: SocketState;
}

/** Serves emulated netlink sockets to LD_PRELOAD'ed clients from a {@link NetlinkEndpoint}. */
export class ShimServer {
  private readonly nat: NativeBinding = native();
  private listenFd = -1;
  private listenWatcher: FdWatcher | undefined;
  private listenIno = 0;
  private nextSockid = 1;
  private readonly conns = new Set<Conn>();
  /** Open emulated sockets by sockid (the key control requests carry). */
  private readonly sockets = new Map<number, SocketState>();
  private held: HeldRequest | undefined;

  constructor(
    private readonly endpoint: NetlinkEndpoint,
    private readonly opts: ShimServerOptions,
  ) {}

  /** The listening path. */
  get path(): string {
    return this.opts.path;
  }

  /** Number of emulated sockets currently open (data connections past their hello). */
  get socketCount(): number {
    return this.sockets.size;
  }

  /**
   * Starts listening. Creates the directory, replaces a stale socket file, and throws if
   * another live server answers at the path or the path is not a socket.
   */
  listen(): void {
    if (this.listenFd >= 0) throw new Error('ShimServer: already listening');
    const p = this.opts.path;
    fs.mkdirSync(path.dirname(p), { recursive: true, mode: 0o755 });
    this.removeStale(p);
    this.listenFd = check(this.nat.seqpacketListen(p), `listen ${p}`);
    fs.chmodSync(p, this.opts.mode ?? 0o666);
    this.listenIno = fs.statSync(p).ino;
    this.listenWatcher = new this.nat.FdWatcher(this.listenFd, () => this.acceptAll());
    check(this.listenWatcher.start(POLL_READABLE), 'poll listener');
    debug('listening on %s', p);
  }

  /** Stops serving: closes every emulated socket and connection, removes the socket file. */
  close(): void {
    for (const c of [...this.conns]) this.closeConn(c);
    if (this.listenFd < 0) return;
    this.listenWatcher?.close();
    this.listenWatcher = undefined;
    this.nat.close(this.listenFd);
    this.listenFd = -1;
    // Only unlink what is still ours: a successor may already have replaced the file.
    try {
      if (fs.statSync(this.opts.path).ino === this.listenIno) fs.unlinkSync(this.opts.path);
    } catch {
      /* already gone */
    }
    debug('closed %s', this.opts.path);
  }

  private removeStale(p: string): void {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      return;
    }
    if (!st.isSocket()) throw new Error(`ShimServer: ${p} exists and is not a socket`);
    const fd = this.nat.seqpacketConnect(p);
    if (fd >= 0) {
      this.nat.close(fd);
      throw new Error(`ShimServer: another emulator is listening at ${p}`);
    }
    // Only "nobody listens" makes the file stale; anything else (EAGAIN: backlog full,
    // EPROTOTYPE: a stream listener, EACCES) means someone owns it.
    if (fd !== -E.ECONNREFUSED) throw new NativeError(-fd, `probe ${p}`);
    debug('removing stale socket %s', p);
    fs.unlinkSync(p);
  }

  private acceptAll(): void {
    for (;;) {
      const fd = this.nat.accept(this.listenFd);
      if (fd < 0) {
        if (fd !== -E.EAGAIN) debug('accept: %s', errnoName(-fd));
        return;
      }
      const pc = this.nat.peerCred(fd);
      if (typeof pc === 'number') {
        debug('SO_PEERCRED: %s', errnoName(-pc));
        this.nat.close(fd);
        continue;
      }
      // Kernel-verified identity, taken now while the client is blocked in its hello.
      const cred: PeerCred = { ...pc, netAdmin: hasEffectiveCap(pc.pid, CAP_NET_ADMIN), comm: procComm(pc.pid) };
      const conn: Conn = { fd, cred, kind: 'pending', watcher: new this.nat.FdWatcher(fd, () => this.onReadable(conn)) };
      this.conns.add(conn);
      conn.watcher.start(POLL_READABLE | POLL_DISCONNECT);
    }
  }

  private onReadable(conn: Conn): void {
    // A data connection carries nothing from the client after the hello: readable means EOF
    // (every client fd closed), and the netlink socket goes away with it.
    const max = conn.kind === 'control' ? MAX_CONTROL_DATAGRAM : MAX_DATA_DATAGRAM;
    while (this.conns.has(conn)) {
      const b = this.nat.recv(conn.fd, max);
      if (b === -E.EAGAIN) return;
      if (typeof b === 'number' || b.length === 0) {
        if (typeof b === 'number') debug('fd %d: recv: %s', conn.fd, errnoName(-b));
        return this.closeConn(conn);
      }
      if (conn.kind === 'pending') this.onHello(conn, b);
      else if (conn.kind === 'control') this.onRequest(conn, b);
      else debug('socket %d: ignoring %d unexpected bytes', conn.state?.sockid, b.length);
    }
  }

  private onHello(conn: Conn, b: Buffer): void {
    const hello = decodeHello(b);
    if (hello === undefined || (hello.kind !== ConnKind.Data && hello.kind !== ConnKind.Control)) {
      debug('fd %d: bad hello from pid %d', conn.fd, conn.cred.pid);
      return this.closeConn(conn);
    }
    if (hello.kind === ConnKind.Control) {
      conn.kind = 'control';
      this.reply(conn, encodeHelloReply(0, 0, Buffer.alloc(8)));
      return;
    }
    const pipe: Pipe = { fd: conn.fd, closed: false };
    const owner: { state?: SocketState } = {};
    let sock: NlSocket;
    try {
      sock = this.endpoint.openSocket(conn.cred, hello.protocol, this.sinkFor(pipe, owner));
    } catch (e) {
      if (!(e instanceof SocketError)) debug('openSocket threw %O', e);
      this.nat.send(conn.fd, encodeHelloReply(e instanceof SocketError ? -e.errno : -E.EINVAL, 0, Buffer.alloc(8)));
      return this.closeConn(conn);
    }
    const sockid = this.nextSockid;
    this.nextSockid = (this.nextSockid % 0xffffffff) + 1;
    const state: SocketState = {
      sockid,
      token: randomBytes(8),
      pipe,
      sock,
      poll: () => this.onReadable(conn),
      cred: conn.cred,
      groups: 0,
      dstPortid: 0,
      dstGroup: 0,
    };
    conn.kind = 'data';
    conn.state = state;
    owner.state = state;
    this.sockets.set(sockid, state);
    this.nat.setSndBuf(conn.fd, this.opts.queueBytes ?? 4 << 20);
    this.reply(conn, encodeHelloReply(0, sockid, state.token));
    debug('socket %d opened by pid %d uid %d (netAdmin %s)', sockid, conn.cred.pid, conn.cred.uid, conn.cred.netAdmin);
  }

  /** The client's receive queue as the core sees it: synchronous, never blocking. */
  private sinkFor(pipe: Pipe, owner: { readonly state?: SocketState }): DatagramSink {
    const nat = this.nat;
    const tapped = (datagram: Buffer): void => {
      const st = owner.state;
      if (this.opts.tap === undefined || st === undefined) return;
      this.releaseHeld(); // a request's replies come after it
      this.opts.tap({ direction: 'from-kernel', datagram, portid: st.sock.portid, sockid: st.sockid, pid: st.cred.pid });
    };
    return {
      deliver(datagram: Buffer): boolean {
        // The fd number may already belong to someone else once the connection is closed.
        if (pipe.closed) return false;
        const n = nat.send(pipe.fd, datagram);
        if (n >= 0) {
          tapped(datagram);
          return true;
        }
        if (n !== -E.EAGAIN) debug('fd %d: deliver: %s', pipe.fd, errnoName(-n));
        return false;
      },
      signalOverrun(): boolean {
        return !pipe.closed && nat.send(pipe.fd, OVERRUN_MARKER) >= 0;
      },
    };
  }

  private onRequest(conn: Conn, b: Buffer): void {
    const req = decodeRequest(b);
    if (req === undefined) {
      debug('fd %d: short request', conn.fd);
      return this.closeConn(conn);
    }
    const rep: Reply = { op: req.op, flags: 0, status: 0, value: 0, value2: 0 };
    // The token proves the requester read the hello of that socket's data connection.
    const st = this.sockets.get(req.sockid);
    if (st === undefined || !st.token.equals(req.token)) rep.status = -E.EBADF;
    else if (req.op === Op.Closed) st.poll(); // kernel: close() releases the portid before returning
    else {
      try {
        this.dispatch(st, req, rep);
      } catch (e) {
        if (e instanceof SocketError) rep.status = -e.errno;
        else {
          // Not a socket-level errno: a bug in the core. Answer EINVAL as the dispatcher would.
          debug('socket %d: op %d threw %O', st.sockid, req.op, e);
          rep.status = -E.EINVAL;
        }
      }
    }
    this.reply(conn, encodeReply(rep));
  }

  private dispatch(dc: SocketState, req: Request, rep: Reply): void {
    const s = dc.sock;
    const pending = (r: SendResult): void => {
      rep.flags = r.dumpPending ? REP_DUMP_PENDING : 0;
    };
    switch (req.op) {
      case Op.Send: {
        // kernel: netlink_sendmsg() — no address means the connect(2) destination.
        const dst = req.flags & REQ_HAS_ADDR ? req.arg0 : dc.dstPortid;
        // Tapped once the portid is known (autobind happens inside send), before any reply.
        if (this.opts.tap) this.held = { st: dc, datagram: req.payload, dst: dst || undefined };
        try {
          pending(s.send(req.payload, dst));
          this.releaseHeld();
        } finally {
          this.held = undefined; // a send that failed at the socket level never reached netlink
        }
        rep.value = s.portid;
        return;
      }
      case Op.Refill:
        pending(s.refill());
        return;
      case Op.Bind:
        rep.value = s.bind(req.arg0, req.arg1);
        dc.groups = req.arg1 >>> 0; // kernel: netlink_bind() replaces groups[0]'s low 32 bits
        return;
      case Op.Connect:
        if (req.flags & REQ_UNSPEC) {
          dc.dstPortid = 0;
          dc.dstGroup = 0;
        } else {
          // kernel: netlink_connect(); genetlink has no NL_CFG_F_NONROOT_SEND.
          if ((req.arg0 !== 0 || req.arg1 !== 0) && !dc.cred.netAdmin) throw new SocketError(E.EPERM, 'connect: EPERM');
          s.connect();
          dc.dstPortid = req.arg0;
          dc.dstGroup = req.arg1 === 0 ? 0 : 32 - Math.clz32(req.arg1 & -req.arg1); // ffs()
        }
        rep.value = s.portid;
        return;
      case Op.SetSockopt:
        s.setNetlinkOption(req.arg0, req.payload);
        this.trackMembership(dc, req.arg0, req.payload);
        return;
      case Op.GetSockopt:
        rep.value = s.getNetlinkOption(req.arg0) >>> 0;
        return;
      case Op.GetName:
        if (req.arg0 === 0) {
          rep.value = s.portid;
          rep.value2 = dc.groups;
        } else {
          rep.value = dc.dstPortid;
          rep.value2 = dc.dstGroup > 0 && dc.dstGroup <= 32 ? (1 << (dc.dstGroup - 1)) >>> 0 : 0;
        }
        return;
      case Op.Inject: {
        if (!this.endpoint.inject) throw new SocketError(E.EOPNOTSUPP, 'inject: not supported');
        const nul = req.payload.indexOf(0);
        if (nul <= 0) throw new SocketError(E.EINVAL, 'inject: no port name');
        const r = this.endpoint.inject(dc.cred, req.payload.toString('utf8', 0, nul), req.payload.subarray(nul + 1));
        if (r < 0) throw new SocketError(-r, 'inject failed');
        rep.value = r;
        return;
      }
      default:
        throw new SocketError(E.EOPNOTSUPP, `unknown op ${req.op}`);
    }
  }

  /** Taps the held request, if any, with its socket's current portid. */
  private releaseHeld(): void {
    const h = this.held;
    if (h === undefined || this.opts.tap === undefined) return;
    this.held = undefined;
    this.opts.tap({ direction: 'to-kernel', datagram: h.datagram, portid: h.st.sock.portid, sockid: h.st.sockid, pid: h.st.cred.pid, dst: h.dst });
  }

  private trackMembership(dc: SocketState, name: number, value: Buffer): void {
    if (name !== NETLINK_ADD_MEMBERSHIP && name !== NETLINK_DROP_MEMBERSHIP) return;
    const group = value.length >= 4 ? value.readUInt32LE(0) : 0;
    if (group < 1 || group > 32) return;
    const bit = (1 << (group - 1)) >>> 0;
    dc.groups = (name === NETLINK_ADD_MEMBERSHIP ? dc.groups | bit : dc.groups & ~bit) >>> 0;
  }

  private reply(conn: Conn, b: Buffer): void {
    // The client waits for each answer before its next request: the queue never fills.
    const n = this.nat.send(conn.fd, b);
    if (n !== b.length) {
      debug('fd %d: reply: %s', conn.fd, n < 0 ? errnoName(-n) : 'short');
      this.closeConn(conn);
    }
  }

  private closeConn(conn: Conn): void {
    if (!this.conns.delete(conn)) return;
    conn.watcher.close();
    const st = conn.state;
    if (st !== undefined) {
      st.pipe.closed = true;
      this.sockets.delete(st.sockid);
    }
    this.nat.close(conn.fd);
    if (st === undefined) return;
    try {
      st.sock.close();
    } catch (e) {
      debug('socket %d: close threw %O', st.sockid, e);
    }
    debug('socket %d closed', st.sockid);
  }
}
