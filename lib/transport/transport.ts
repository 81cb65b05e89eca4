/**
 * The contract between the emulator core and whatever carries datagrams to clients.
 *
 * Every transport (the LD_PRELOAD shim server, the in-memory test harness, replay) opens one
 * {@link NlSocket} per emulated netlink socket and hands the core a {@link DatagramSink} through
 * which replies, dump chunks, notifications and upcalls flow back. The core never touches a
 * file descriptor.
 */

/** PeerCred is what the kernel vouches for about the process that opened a socket (SO_PEERCRED). */
export interface PeerCred {
  pid: number;
  uid: number;
  gid: number;
  /** CAP_NET_ADMIN in the effective set of `pid` when the socket was opened (GENL_UNS_ADMIN_PERM). */
  netAdmin: boolean;
  /** The client's command name (/proc/PID/comm when it connected): current->comm in kernel logs. */
  comm?: string;
}

/**
 * DatagramSink is the client's receive queue as the core sees it.
 *
 * `deliver` must be synchronous: when it returns true the datagram is readable by the client.
 * It returns false when the queue is full (the datagram is dropped, as netlink_unicast drops
 * on a full socket); the core then counts the loss and later calls `signalOverrun`.
 */
export interface DatagramSink {
  deliver(datagram: Buffer): boolean;
  /** Queue the "ENOBUFS once" condition for the client; false while the queue is still full. */
  signalOverrun(): boolean;
}

/**
 * TapEvent is one datagram crossing a transport, for recorders (`serve --record`): requests as
 * the client sent them, and every datagram the client's receive queue accepted.
 */
export interface TapEvent {
  direction: 'to-kernel' | 'from-kernel';
  datagram: Buffer;
  /** Port id of the emulated socket that sent or received it (0 while unbound). */
  portid: number;
  /** The transport's id of that socket. */
  sockid: number;
  /** Process that opened the socket. */
  pid: number;
  /** Destination port id of a request sent with an explicit address. */
  dst?: number;
}

/** DatagramTap observes datagrams; it must not throw and must not re-enter the transport. */
export type DatagramTap = (ev: TapEvent) => void;

/** SendResult tells the transport whether a dump is still in progress on the socket. */
export interface SendResult {
  dumpPending: boolean;
}

/**
 * NlSocket is one emulated netlink socket. Methods throw {@link SocketError} (an errno) for
 * socket-level failures (EADDRINUSE on bind, ENOPROTOOPT on an unknown option…); netlink-level
 * errors are answered in-band as NLMSG_ERROR datagrams, as the kernel does.
 */
export interface NlSocket {
  readonly id: number;
  /** The bound port id, 0 until bound (explicitly or by autobind). */
  readonly portid: number;
  /** bind(2): `portid` 0 means autobind; `groups` is the legacy 32-bit group mask. Returns the portid. */
  bind(portid: number, groups: number): number;
  /** connect(2) with nl_pid 0: autobinds. */
  connect(): number;
  /** setsockopt(2) at SOL_NETLINK (270). `value` is the raw option buffer. */
  setNetlinkOption(name: number, value: Buffer): void;
  /** getsockopt(2) at SOL_NETLINK; returns the int value. */
  getNetlinkOption(name: number): number;
  /** sendmsg(2): one datagram, possibly several nlmsgs. Replies are delivered before it returns. */
  send(datagram: Buffer, destPortid: number): SendResult;
  /** Produce the next chunk of an unfinished dump (the kernel does this inside recvmsg). */
  refill(): SendResult;
  close(): void;
}

/** SocketError carries a positive errno for socket-level calls (bind, setsockopt…). */
export class SocketError extends Error {
  constructor(readonly errno: number, message: string) {
    super(message);
    this.name = 'SocketError';
  }
}

/** NetlinkEndpoint is what the emulator offers to transports. */
export interface NetlinkEndpoint {
  /** socket(AF_NETLINK, type, protocol). Throws SocketError(EPROTONOSUPPORT) for protocols it does not serve. */
  openSocket(cred: PeerCred, protocol: number, sink: DatagramSink): NlSocket;
  /**
   * inject makes `frame` arrive on the vport named `port`, as if the device had received it.
   * Returns an {@link InjectOutcome} or a negative errno (EPERM without CAP_NET_ADMIN, ENODEV
   * for an unknown port).
   */
  inject?(cred: PeerCred, port: string, frame: Buffer): number;
}

/** InjectOutcome says what happened to an injected frame. */
export enum InjectOutcome {
  /** It matched a flow (n_hit). */
  Hit = 1,
  /** It missed and the upcall was queued (n_missed). */
  Missed = 2,
  /** It missed and the upcall could not be delivered (n_missed and n_lost). */
  Lost = 3,
  /** Key extraction dropped it. */
  Dropped = 4,
}
