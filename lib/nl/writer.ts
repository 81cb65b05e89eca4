import { NLA_HDRLEN, NLA_F_NESTED, NLMSG_HDRLEN, align4 } from './constants';

/**
 * NlWriter builds netlink datagrams: one or more nlmsghdr-framed messages, each holding
 * attributes (TLVs) that may nest. Lengths are back-patched when a message or nest ends, and
 * padding is zeroed, as nla_put()/nlmsg_end() do in the kernel.
 */
export class NlWriter {
  private buf: Buffer;
  private len = 0;
  private readonly msgStarts: number[] = [];
  private readonly nestStarts: number[] = [];

  constructor(initialSize = 512) {
    this.buf = Buffer.alloc(initialSize);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.len;
  }

  private reserve(n: number): number {
    const at = this.len;
    const need = at + n;
    if (need > this.buf.length) {
      const grown = Buffer.alloc(Math.max(need, this.buf.length * 2));
      this.buf.copy(grown, 0, 0, at);
      this.buf = grown;
    }
    this.len = need;
    return at;
  }

  /** beginMessage opens an nlmsghdr; its length is patched by endMessage. */
  beginMessage(type: number, flags: number, seq: number, pid: number): this {
    this.padTo4();
    const at = this.reserve(NLMSG_HDRLEN);
    this.msgStarts.push(at);
    this.buf.writeUInt32LE(0, at);
    this.buf.writeUInt16LE(type, at + 4);
    this.buf.writeUInt16LE(flags, at + 6);
    this.buf.writeUInt32LE(seq >>> 0, at + 8);
    this.buf.writeUInt32LE(pid >>> 0, at + 12);
    return this;
  }

  /** endMessage patches nlmsg_len (unpadded length, as nlmsg_end does) and pads to 4. */
  endMessage(): this {
    const at = this.msgStarts.pop();
    if (at === undefined) throw new Error('endMessage without beginMessage');
    this.padTo4();
    this.buf.writeUInt32LE(this.len - at, at);
    return this;
  }

  /** cancelMessage drops the open message (genlmsg_cancel), e.g. when a dump chunk is full. */
  cancelMessage(): this {
    const at = this.msgStarts.pop();
    if (at === undefined) throw new Error('cancelMessage without beginMessage');
    this.len = at;
    return this;
  }

  /** genlHeader writes struct genlmsghdr {cmd, version, reserved}. */
  genlHeader(cmd: number, version: number): this {
    const at = this.reserve(4);
    this.buf.writeUInt8(cmd, at);
    this.buf.writeUInt8(version, at + 1);
    this.buf.writeUInt16LE(0, at + 2);
    return this;
  }

  /** raw appends bytes without framing (fixed headers such as ovs_header, nlmsgerr). */
  raw(bytes: Buffer): this {
    const at = this.reserve(bytes.length);
    bytes.copy(this.buf, at);
    return this;
  }

  s32(v: number): this {
    const at = this.reserve(4);
    this.buf.writeInt32LE(v, at);
    return this;
  }

  u32(v: number): this {
    const at = this.reserve(4);
    this.buf.writeUInt32LE(v >>> 0, at);
    return this;
  }

  private padTo4(): void {
    const pad = align4(this.len) - this.len;
    if (!pad) return;
    // reserve() may replace this.buf: take the offset first, then fill the current buffer.
    const at = this.reserve(pad);
    this.buf.fill(0, at, this.len);
  }

  /** attr writes one TLV with `payload` and pads it to 4 bytes (nla_put). */
  attr(type: number, payload: Buffer): this {
    const at = this.reserve(NLA_HDRLEN + payload.length);
    this.buf.writeUInt16LE(NLA_HDRLEN + payload.length, at);
    this.buf.writeUInt16LE(type, at + 2);
    payload.copy(this.buf, at + NLA_HDRLEN);
    this.padTo4();
    return this;
  }

  attrU8(type: number, v: number): this {
    return this.attr(type, Buffer.of(v & 0xff));
  }

  attrU16(type: number, v: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(v);
    return this.attr(type, b);
  }

  attrU32(type: number, v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    return this.attr(type, b);
  }

  attrS32(type: number, v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    return this.attr(type, b);
  }

  attrU64(type: number, v: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(v);
    return this.attr(type, b);
  }

  attrS64(type: number, v: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(v);
    return this.attr(type, b);
  }

  /** attrString writes a NUL-terminated string (nla_put_string). */
  attrString(type: number, s: string): this {
    return this.attr(type, Buffer.concat([Buffer.from(s, 'utf8'), Buffer.alloc(1)]));
  }

  attrFlag(type: number): this {
    return this.attr(type, Buffer.alloc(0));
  }

  /** nestStart opens a nest (nla_nest_start_noflag unless `flagged`); nestEnd patches its length. */
  nestStart(type: number, flagged = false): this {
    const at = this.reserve(NLA_HDRLEN);
    this.buf.writeUInt16LE(0, at);
    this.buf.writeUInt16LE(flagged ? type | NLA_F_NESTED : type, at + 2);
    this.nestStarts.push(at);
    return this;
  }

  /** openNestLength is what the innermost open nest's nla_len would be if it ended now. */
  get openNestLength(): number {
    const at = this.nestStarts[this.nestStarts.length - 1];
    return at === undefined ? 0 : this.len - at;
  }

  /** nestCancel drops the innermost open nest and everything written into it (nla_nest_cancel). */
  nestCancel(): this {
    const at = this.nestStarts.pop();
    if (at === undefined) throw new Error('nestCancel without nestStart');
    this.len = at;
    return this;
  }

  nestEnd(): this {
    const at = this.nestStarts.pop();
    if (at === undefined) throw new Error('nestEnd without nestStart');
    this.buf.writeUInt16LE(this.len - at, at);
    return this;
  }

  /** finish returns a copy of the bytes written (the datagram). */
  finish(): Buffer {
    if (this.msgStarts.length || this.nestStarts.length) throw new Error('unterminated message or nest');
    return Buffer.from(this.buf.subarray(0, this.len));
  }
}
