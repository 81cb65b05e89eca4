/**
 * Wire format between the LD_PRELOAD shim and {@link ShimServer} (documented in
 * shim/PROTOCOL.md, mirrored by shim/shim.h). Fixed little-endian headers, one message per
 * SOCK_SEQPACKET datagram.
 */

/** First four bytes of every hello and hello reply: "DPEM". */
export const DPEM_MAGIC = 0x4d455044;
/** Protocol version carried in the hello. */
export const DPEM_VERSION = 1;

/** What a new connection to the server is for (hello `kind`). */
export enum ConnKind {
  Data = 1,
  Control = 2,
  /** Passthrough recording: the shim copies kernel datagrams to `ovs-dpemu record` (PROTOCOL.md). */
  Record = 3,
}

/** Control operations. */
export enum Op {
  Send = 1,
  Bind = 2,
  Connect = 3,
  SetSockopt = 4,
  GetSockopt = 5,
  Refill = 6,
  GetName = 7,
  /** The client closed its last fd of the socket: look for the data connection's hang-up now. */
  Closed = 8,
  /**
   * A frame enters a vport as if received (`ovs-dpemu inject`). Payload: the port name,
   * NUL, the frame. Answer: value = the InjectOutcome, status -errno on failure.
   */
  Inject = 9,
}

/** Request flag: SEND/CONNECT carry an address in arg0 (portid) / arg1 (groups). */
export const REQ_HAS_ADDR = 0x1;
/** Request flag: CONNECT to AF_UNSPEC (disconnect). */
export const REQ_UNSPEC = 0x2;
/** Reply flag: the socket still has a dump in progress. */
export const REP_DUMP_PENDING = 0x1;

export const HELLO_LEN = 16;
export const HELLO_REPLY_LEN = 24;
export const REQ_LEN = 24;
export const REP_LEN = 16;

/**
 * Datagram written into a data connection to mean "ENOBUFS once". Netlink datagrams are never
 * shorter than a 16-byte nlmsghdr, so any datagram of 1..15 bytes is the marker; we use 8.
 */
export const OVERRUN_MARKER: Buffer = (() => {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(DPEM_MAGIC, 0);
  b.writeUInt32LE(1, 4);
  return b;
})();

/** A decoded hello (client → server, first datagram of every connection). */
export interface Hello {
  kind: number;
  protocol: number;
  sockType: number;
}

/** Decodes a hello; undefined when it is not one (wrong size, magic or version). */
export function decodeHello(b: Buffer): Hello | undefined {
  if (b.length !== HELLO_LEN || b.readUInt32LE(0) !== DPEM_MAGIC || b.readUInt16LE(4) !== DPEM_VERSION) return undefined;
  return { kind: b.readUInt16LE(6), protocol: b.readUInt32LE(8), sockType: b.readUInt32LE(12) };
}

/** Encodes a hello (used by tests and tools that speak the protocol directly). */
export function encodeHello(h: Hello): Buffer {
  const b = Buffer.alloc(HELLO_LEN);
  b.writeUInt32LE(DPEM_MAGIC, 0);
  b.writeUInt16LE(DPEM_VERSION, 4);
  b.writeUInt16LE(h.kind, 6);
  b.writeUInt32LE(h.protocol >>> 0, 8);
  b.writeUInt32LE(h.sockType >>> 0, 12);
  return b;
}

/** Encodes the hello reply: status 0 or -errno; sockid and 8-byte token for data connections. */
export function encodeHelloReply(status: number, sockid: number, token: Buffer): Buffer {
  const b = Buffer.alloc(HELLO_REPLY_LEN);
  b.writeUInt32LE(DPEM_MAGIC, 0);
  b.writeInt32LE(status, 4);
  b.writeUInt32LE(sockid >>> 0, 8);
  b.writeUInt32LE(DPEM_VERSION, 12);
  token.copy(b, 16, 0, 8);
  return b;
}

/** A decoded control request; `payload` is a view into the received datagram. */
export interface Request {
  op: number;
  flags: number;
  sockid: number;
  token: Buffer;
  arg0: number;
  arg1: number;
  payload: Buffer;
}

/** Decodes a control request; undefined when the datagram is shorter than the header. */
export function decodeRequest(b: Buffer): Request | undefined {
  if (b.length < REQ_LEN) return undefined;
  return {
    op: b.readUInt16LE(0),
    flags: b.readUInt16LE(2),
    sockid: b.readUInt32LE(4),
    token: b.subarray(8, 16),
    arg0: b.readUInt32LE(16),
    arg1: b.readUInt32LE(20),
    payload: b.subarray(REQ_LEN),
  };
}

/** Encodes a control request (for tests / direct protocol users). */
export function encodeRequest(r: Omit<Request, 'payload'> & { payload?: Buffer }): Buffer {
  const b = Buffer.alloc(REQ_LEN);
  b.writeUInt16LE(r.op, 0);
  b.writeUInt16LE(r.flags, 2);
  b.writeUInt32LE(r.sockid >>> 0, 4);
  r.token.copy(b, 8, 0, 8);
  b.writeUInt32LE(r.arg0 >>> 0, 16);
  b.writeUInt32LE(r.arg1 >>> 0, 20);
  return r.payload !== undefined ? Buffer.concat([b, r.payload]) : b;
}

/** A control reply. */
export interface Reply {
  op: number;
  flags: number;
  status: number;
  value: number;
  value2: number;
}

/** Encodes a control reply. */
export function encodeReply(r: Reply): Buffer {
  const b = Buffer.alloc(REP_LEN);
  b.writeUInt16LE(r.op, 0);
  b.writeUInt16LE(r.flags, 2);
  b.writeInt32LE(r.status, 4);
  b.writeUInt32LE(r.value >>> 0, 8);
  b.writeUInt32LE(r.value2 >>> 0, 12);
  return b;
}

/** Decodes a control reply (for tests / direct protocol users). */
export function decodeReply(b: Buffer): Reply | undefined {
  if (b.length !== REP_LEN) return undefined;
  return { op: b.readUInt16LE(0), flags: b.readUInt16LE(2), status: b.readInt32LE(4), value: b.readUInt32LE(8), value2: b.readUInt32LE(12) };
}
