import { NLA_HDRLEN, align4 } from '../nl/constants';
import { Errno } from '../nl/errno';
import { NlError } from '../nl/errors';
import type { Attr } from '../schema/validate';
import type { CtActionInfo } from './conntrack-action';
import type { TunnelSetInfo } from './flow-netlink-tunnel-set';

/** ActionObject is what the kernel keeps behind a pointer inside a stored action. */
export type ActionObject = CtActionInfo | TunnelSetInfo;

/**
 * FlowActions is a flow's converted action list, as ovs_nla_copy_actions() leaves it in
 * sw_flow_actions: `bytes` are the attributes the kernel keeps (set → set_to_masked, sample with
 * its sample_arg, clone with its exec flag, check_pkt_len with its arg, …). Where the kernel
 * stores a struct with pointers (ct: struct ovs_conntrack_info, set(tunnel): struct
 * ovs_tunnel_info) the payload here is a host-order u32 index into `objs`.
 */
export interface FlowActions {
  readonly bytes: Buffer;
  /** sfa->orig_len: the length of the request's action list (reply sizing). */
  readonly origLen: number;
  readonly objs?: readonly ActionObject[];
}

/** NestMark is where add_nested_action_start() put a nest header. */
export interface NestMark {
  at: number;
  /** Kernel-only bytes (out-of-line objects) already counted when the nest started. */
  extra: number;
}

const U16_MAX = 0xffff;

/**
 * ActionsBuilder is the growing sw_flow_actions buffer of __ovs_nla_copy_actions(): attributes
 * are appended 4-byte aligned with zeroed padding (__add_action), copied verbatim
 * (copy_action) or opened and closed as nests whose kernel length must fit a u16
 * (add_nested_action_end → EMSGSIZE). Lengths are counted as the kernel would store them,
 * i.e. with the full size of the structs it keeps where this buffer keeps an index.
 */
export class ActionsBuilder {
  private buf = Buffer.alloc(256);
  private len = 0;
  private extra = 0;
  private readonly objects: ActionObject[] = [];

  private reserve(n: number): number {
    const at = this.len;
    if (at + n > this.buf.length) {
      const grown = Buffer.alloc(Math.max(at + n, this.buf.length * 2));
      this.buf.copy(grown, 0, 0, at);
      this.buf = grown;
    }
    this.len = at + n;
    return at;
  }

  /** add appends one attribute with `data` (or `len` zero bytes) and returns its payload offset. */
  // kernel: __add_action()
  add(type: number, data?: Buffer, len = data?.length ?? 0): number {
    const at = this.reserve(align4(NLA_HDRLEN + len));
    this.buf.writeUInt16LE(NLA_HDRLEN + len, at);
    this.buf.writeUInt16LE(type, at + 2);
    data?.copy(this.buf, at + NLA_HDRLEN, 0, len);
    return at + NLA_HDRLEN;
  }

  /** payload gives write access to `len` bytes at `at` (returned by add). */
  payload(at: number, len: number): Buffer {
    return this.buf.subarray(at, at + len);
  }

  /** copy appends a request attribute as is: its raw type word (flags included) and payload. */
  // kernel: copy_action()
  copy(a: Attr): void {
    const at = this.reserve(align4(NLA_HDRLEN + a.payload.length));
    this.buf.writeUInt16LE(NLA_HDRLEN + a.payload.length, at);
    this.buf.writeUInt16LE(a.rawType, at + 2);
    a.payload.copy(this.buf, at + NLA_HDRLEN);
  }

  /** addObject appends an attribute standing for a kernel struct of `kernelSize` bytes. */
  addObject(type: number, obj: ActionObject, kernelSize: number): void {
    const idx = Buffer.alloc(4);
    idx.writeUInt32LE(this.objects.length);
    this.objects.push(obj);
    this.add(type, idx);
    this.extra += align4(kernelSize) - idx.length;
  }

  // kernel: add_nested_action_start()
  nestStart(type: number): NestMark {
    const m = { at: this.len, extra: this.extra };
    this.add(type);
    return m;
  }

  /** nestEnd patches the nest length; a nest the kernel could not describe in a u16 is EMSGSIZE. */
  // kernel: add_nested_action_end()
  nestEnd(m: NestMark): void {
    const len = this.len - m.at;
    if (len + this.extra - m.extra > U16_MAX) throw new NlError(Errno.EMSGSIZE);
    this.buf.writeUInt16LE(len, m.at);
  }

  /** finish returns the stored form (a right-sized copy). */
  finish(origLen: number): FlowActions {
    const bytes = Buffer.from(this.buf.subarray(0, this.len));
    return this.objects.length ? { bytes, origLen, objs: this.objects } : { bytes, origLen };
  }
}
