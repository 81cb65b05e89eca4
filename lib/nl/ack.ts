import { NLMSGERR_ATTR, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, NLM_F, NL_POLICY_TYPE_ATTR } from './constants';
import type { Extack, PolicyDescription } from './errors';
import type { NlMessage } from './message';
import { NlWriter } from './writer';

/** AckOptions are the socket options that shape an ACK (NETLINK_CAP_ACK, NETLINK_EXT_ACK). */
export interface AckOptions {
  capAck: boolean;
  extAck: boolean;
}

function hasTlvs(err: number, extack: Extack | undefined, extAck: boolean): boolean {
  if (!extAck || !extack) return false;
  if (extack.msg) return true;
  if (!err) return false;
  return extack.offset !== undefined || extack.policy?.nlAttrType !== undefined ||
    extack.missType !== undefined || extack.missNestOffset !== undefined;
}

function writePolicy(w: NlWriter, p: PolicyDescription): void {
  if (p.nlAttrType === undefined) return;
  w.nestStart(NLMSGERR_ATTR.POLICY, true);
  if (p.minU !== undefined) w.attrU64(NL_POLICY_TYPE_ATTR.MIN_VALUE_U, p.minU);
  if (p.maxU !== undefined) w.attrU64(NL_POLICY_TYPE_ATTR.MAX_VALUE_U, p.maxU);
  if (p.minS !== undefined) w.attrS64(NL_POLICY_TYPE_ATTR.MIN_VALUE_S, p.minS);
  if (p.maxS !== undefined) w.attrS64(NL_POLICY_TYPE_ATTR.MAX_VALUE_S, p.maxS);
  if (p.minLength !== undefined) w.attrU32(NL_POLICY_TYPE_ATTR.MIN_LENGTH, p.minLength);
  if (p.maxLength !== undefined) w.attrU32(NL_POLICY_TYPE_ATTR.MAX_LENGTH, p.maxLength);
  w.attrU32(NL_POLICY_TYPE_ATTR.TYPE, p.nlAttrType);
  w.nestEnd();
}

/** writeExtackTlvs appends the NLMSGERR_ATTR_* TLVs. Offsets and policy only accompany errors. */
// kernel: netlink_ack_tlv_fill()
function writeExtackTlvs(w: NlWriter, err: number, extack: Extack): void {
  if (extack.msg) w.attrString(NLMSGERR_ATTR.MSG, extack.msg);
  if (!err) return;
  if (extack.offset !== undefined) w.attrU32(NLMSGERR_ATTR.OFFS, extack.offset);
  if (extack.policy) writePolicy(w, extack.policy);
  if (extack.missType !== undefined) w.attrU32(NLMSGERR_ATTR.MISS_TYPE, extack.missType);
  if (extack.missNestOffset !== undefined) w.attrU32(NLMSGERR_ATTR.MISS_NEST, extack.missNestOffset);
}

/**
 * buildAck makes the NLMSG_ERROR datagram answering `req`: `errno` 0 is an ACK. Errors echo the
 * whole request unless NETLINK_CAP_ACK is set; ACKs (and capped errors) echo only the header and
 * carry NLM_F_CAPPED. Extack TLVs follow when NETLINK_EXT_ACK is set.
 */
// kernel: netlink_ack()
export function buildAck(req: NlMessage, portid: number, errno: number, extack: Extack | undefined, opt: AckOptions): Buffer {
  const err = -errno;
  const capped = !err || opt.capAck;
  const tlvs = hasTlvs(err, extack, opt.extAck);
  const flags = (capped ? NLM_F.CAPPED : 0) | (tlvs ? NLM_F.ACK_TLVS : 0);
  const w = new NlWriter(64 + (capped ? 0 : req.bytes.length));
  w.beginMessage(NLMSG_ERROR, flags, req.seq, portid).s32(err);
  w.raw(req.bytes.subarray(0, NLMSG_HDRLEN));
  if (!capped) {
    // nlmsg_append() pads the echoed request to 4 bytes, so the TLVs after it stay aligned.
    const body = req.bytes.subarray(NLMSG_HDRLEN);
    w.raw(body);
    if (body.length % 4) w.raw(Buffer.alloc(4 - (body.length % 4)));
  }
  if (tlvs && extack) writeExtackTlvs(w, err, extack);
  return w.endMessage().finish();
}

/**
 * writeDone appends NLMSG_DONE to a dump datagram: its int payload is the dump's result (0 or a
 * negative errno) and, with NETLINK_EXT_ACK, the extack TLVs.
 */
// kernel: netlink_dump_done()
export function writeDone(w: NlWriter, req: NlMessage, portid: number, errno: number, extack: Extack | undefined, extAck: boolean): void {
  const err = -errno;
  const tlvs = hasTlvs(err, extack, extAck);
  w.beginMessage(NLMSG_DONE, NLM_F.MULTI | (tlvs ? NLM_F.ACK_TLVS : 0), req.seq, portid).s32(err);
  if (tlvs && extack) writeExtackTlvs(w, err, extack);
  w.endMessage();
}
