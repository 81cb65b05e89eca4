import { check, native, POLL_READABLE, type NativeBinding } from '../native';
import { ConnKind, decodeReply, encodeHello, encodeRequest, HELLO_REPLY_LEN, Op, type Reply } from './shim-wire';
import { NETLINK_GENERIC } from '../nl/constants';

/** SOCK_RAW, informational in the data hello. */
const SOCK_RAW = 3;

/** waitReadable resolves when `fd` has a datagram (libuv poll; the process keeps running). */
function recvOne(nat: NativeBinding, fd: number, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const tryRead = (): boolean => {
      const r = nat.recv(fd, max);
      if (typeof r === 'number') {
        if (r === -11) return false;
        reject(new Error(`recv: errno ${-r}`));
        return true;
      }
      resolve(r);
      return true;
    };
    if (tryRead()) return;
    const w = new nat.FdWatcher(fd, () => {
      if (tryRead()) w.close();
    });
    w.start(POLL_READABLE);
  });
}

/**
 * ShimClient speaks the shim protocol directly (no LD_PRELOAD): it opens one emulated netlink
 * socket (data connection) and a control connection, for tools such as `ovs-dpemu inject`.
 */
export class ShimClient {
  private readonly nat = native();
  private data = -1;
  private ctrl = -1;
  private sockid = 0;
  private token = Buffer.alloc(8);

  constructor(readonly path: string) {}

  async open(): Promise<void> {
    const nat = this.nat;
    this.data = check(nat.seqpacketConnect(this.path), `connect ${this.path}`);
    check(nat.send(this.data, encodeHello({ kind: ConnKind.Data, protocol: NETLINK_GENERIC, sockType: SOCK_RAW })), 'hello');
    const hr = await recvOne(nat, this.data, HELLO_REPLY_LEN);
    if (hr.readInt32LE(4) < 0) throw new Error(`emulator refused the socket: errno ${-hr.readInt32LE(4)}`);
    this.sockid = hr.readUInt32LE(8);
    this.token = Buffer.from(hr.subarray(16, 24));
    this.ctrl = check(nat.seqpacketConnect(this.path), `connect ${this.path}`);
    check(nat.send(this.ctrl, encodeHello({ kind: ConnKind.Control, protocol: 0, sockType: 0 })), 'hello');
    await recvOne(nat, this.ctrl, HELLO_REPLY_LEN);
  }

  /** request sends one control request and waits for its answer. */
  async request(op: Op, payload: Buffer, arg0 = 0, arg1 = 0): Promise<Reply> {
    check(this.nat.send(this.ctrl, encodeRequest({ op, flags: 0, sockid: this.sockid, token: this.token, arg0, arg1, payload })), 'request');
    const rep = decodeReply(await recvOne(this.nat, this.ctrl, 64));
    if (!rep) throw new Error('short answer from the emulator');
    return rep;
  }

  close(): void {
    for (const fd of [this.ctrl, this.data]) if (fd >= 0) this.nat.close(fd);
    this.ctrl = this.data = -1;
  }
}
