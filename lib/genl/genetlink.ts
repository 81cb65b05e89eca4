import createDebug from 'debug';
import { GENL_HDRLEN, NLMSG_HDRLEN, NLM_F } from '../nl/constants';
import { Errno } from '../nl/errno';
import { NlError, type Extack } from '../nl/errors';
import { readGenlHeader, type NlMessage } from '../nl/message';
import { NlWriter } from '../nl/writer';
import type { FamilySpec, OpSpec, SchemaRegistry } from '../schema/model';
import { missingAttr, parseLiberal, type ParsedAttrs } from '../schema/validate';
import type { PeerCred } from '../transport/transport';
import { withTask } from '../kmsg';

const log = createDebug('ovs-dpemu:genl:genetlink');

/** ReplyChannel is how a handler answers: unicast to the requester, or multicast notification. */
export interface ReplyChannel {
  /** genlmsg_reply(): one datagram to the requester. */
  unicast(dgram: Buffer): void;
  /** nlmsg_notify(): multicast to `groupId`, and unicast to the requester when it set NLM_F_ECHO. */
  notify(groupId: number, dgram: Buffer, echo: boolean): void;
  /** genl_has_listeners(). */
  hasListeners(groupId: number): boolean;
}

/** GenlRequest is what a family handler receives (the kernel's genl_info). */
export interface GenlRequest {
  msg: NlMessage;
  cmd: number;
  family: FamilySpec;
  op: OpSpec;
  /** The family's fixed header (ovs_header), hdrsize bytes. */
  fixed: Buffer;
  /** Attributes parsed with the family policy; empty for dumps (the core does not parse them). */
  attrs: ParsedAttrs;
  /** Offset of the attribute area from the nlmsghdr, for handlers that parse nests themselves. */
  attrBase: number;
  portid: number;
  cred: PeerCred;
  extack: Extack;
  out: ReplyChannel;
}

export type DoHandler = (req: GenlRequest) => void;
/** DumpHandler yields whole messages; an NlError thrown from it ends the dump (NLMSG_DONE carries it). */
export type DumpHandler = (req: GenlRequest) => Iterable<Buffer>;

/** FamilyHandlers binds a schema family to code. */
export interface FamilyHandlers {
  doit?: Partial<Record<number, DoHandler>>;
  dumpit?: Partial<Record<number, DumpHandler>>;
  /**
   * Whether a dump callback returns 0 when done (nlctrl's family dump), so NLMSG_DONE shares
   * the last datagram; callbacks that return skb->len (OVS, nlctrl's policy dump) put DONE in a
   * datagram of its own. Per family, or per request (by its cmd).
   */
  inlineDone?: boolean | ((req: GenlRequest) => boolean);
  /**
   * Called before an op's missing `x-required` attribute is answered EINVAL, for handlers that
   * log it (ovs_flow_cmd_new's OVS_NLERR lines).
   */
  missing?: (req: GenlRequest, attr: string) => void;
}

/** DispatchResult tells the socket layer what to answer: an error/ack, or a dump to run. */
export type DispatchResult = { kind: 'done'; errno: number } | { kind: 'dump'; source: Iterator<Buffer>; req: GenlRequest; inlineDone: boolean };

/**
 * GenlMessage starts a reply in `family` for the request's socket (genlmsg_put()) and writes the
 * fixed header bytes, leaving the writer open for attributes.
 */
export function genlMessage(family: FamilySpec, cmd: number, flags: number, seq: number, portid: number, fixed?: Buffer): NlWriter {
  const w = new NlWriter();
  w.beginMessage(family.familyId, flags, seq, portid).genlHeader(cmd, family.version);
  if (family.hdrsize) w.raw(fixed ?? Buffer.alloc(family.hdrsize));
  return w;
}

/** Genetlink routes requests to registered families (the kernel's genl_rcv_msg()). */
export class Genetlink {
  private readonly families = new Map<number, { spec: FamilySpec; handlers: FamilyHandlers }>();
  /**
   * bugHook hears every non-NlError thrown by a handler or a dump (each is a bug: it is logged
   * and answered EINVAL); the fuzzer counts them as findings.
   */
  bugHook?: (error: unknown, where: 'handler' | 'dump') => void;

  constructor(readonly registry: SchemaRegistry) {}

  register(name: string, handlers: FamilyHandlers): void {
    const spec = this.registry.family(name);
    this.families.set(spec.familyId, { spec, handlers });
  }

  /** registered lists the families in id order (what nlctrl reports). */
  registered(): FamilySpec[] {
    return [...this.families.values()].map((f) => f.spec).sort((a, b) => a.familyId - b.familyId);
  }

  byName(name: string): FamilySpec | undefined {
    return this.registered().find((f) => f.name === name);
  }

  byId(id: number): FamilySpec | undefined {
    return this.families.get(id)?.spec;
  }

  /**
   * dispatch handles one request message and returns the errno to ACK with, or a dump to run.
   * Only NlError is expected from handlers; anything else is a bug, logged and answered EINVAL.
   */
  // kernel: genl_rcv_msg() → genl_family_rcv_msg()
  dispatch(msg: NlMessage, portid: number, cred: PeerCred, extack: Extack, out: ReplyChannel): DispatchResult {
    try {
      return withTask(cred.comm, () => this.route(msg, portid, cred, extack, out));
    } catch (e) {
      if (e instanceof NlError) {
        Object.assign(extack, e.extack);
        return { kind: 'done', errno: e.errno };
      }
      log('BUG: non-NlError from a handler: %O', e);
      this.bugHook?.(e, 'handler');
      return { kind: 'done', errno: Errno.EINVAL };
    }
  }

  private route(msg: NlMessage, portid: number, cred: PeerCred, extack: Extack, out: ReplyChannel): DispatchResult {
    const fam = this.families.get(msg.type);
    if (!fam) throw new NlError(Errno.ENOENT);
    const spec = fam.spec;
    const hdrlen = GENL_HDRLEN + spec.hdrsize;
    if (msg.bytes.length < NLMSG_HDRLEN + hdrlen) throw new NlError(Errno.EINVAL);
    const genl = readGenlHeader(msg);
    this.headerCheck(spec, msg, genl.cmd, genl.reserved);
    const dump = (msg.flags & NLM_F.DUMP) === NLM_F.DUMP;
    const op = spec.ops.find((o) => o.cmd === genl.cmd);
    const handler = op && (dump ? fam.handlers.dumpit?.[op.cmd] : fam.handlers.doit?.[op.cmd]);
    if (!op || !handler || !(dump ? op.dump : op.do)) throw new NlError(Errno.EOPNOTSUPP);
    if ((op.unsAdminPerm || op.adminPerm) && !cred.netAdmin) throw new NlError(Errno.EPERM);
    const attrBase = NLMSG_HDRLEN + hdrlen;
    const area = msg.bytes.subarray(attrBase);
    const set = op.set ?? spec.mainSet;
    if (!set) throw new NlError(Errno.EOPNOTSUPP);
    const attrs = dump
      ? { set, byType: new Map(), get: () => undefined }
      : parseLiberal(area, set, set.maxType, { base: attrBase, extack });
    const req: GenlRequest = {
      msg, cmd: genl.cmd, family: spec, op, fixed: msg.bytes.subarray(NLMSG_HDRLEN + GENL_HDRLEN, attrBase),
      attrs, attrBase, portid, cred, extack, out,
    };
    if (dump) {
      const source = (handler as DumpHandler)(req)[Symbol.iterator]();
      const inline = fam.handlers.inlineDone;
      return { kind: 'dump', source, req, inlineDone: typeof inline === 'function' ? inline(req) : inline ?? false };
    }
    const missing = missingAttr(attrs, op.do?.required ?? []);
    if (missing !== undefined) {
      fam.handlers.missing?.(req, missing);
      throw new NlError(Errno.EINVAL);
    }
    (handler as DoHandler)(req);
    return { kind: 'done', errno: 0 };
  }

  // kernel: genl_header_check()
  private headerCheck(spec: FamilySpec, msg: NlMessage, cmd: number, reserved: number): void {
    if (cmd < spec.resvStartOp) return;
    if (reserved) throw new NlError(Errno.EINVAL, { msg: 'genlmsghdr.reserved field is not 0' });
    let flags = msg.flags;
    if ((flags & NLM_F.DUMP) === NLM_F.DUMP) flags &= ~NLM_F.DUMP;
    if (flags & ~(NLM_F.REQUEST | NLM_F.ACK | NLM_F.ECHO)) {
      throw new NlError(Errno.EINVAL, { msg: 'ambiguous or reserved bits set in nlmsg_flags' });
    }
  }
}
