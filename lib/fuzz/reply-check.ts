/**
 * Well-formedness of what the emulator sends back: every datagram splits into whole messages,
 * every message's attributes tile its payload exactly (recursively, where the schema says an
 * attribute nests), ACK/DONE payloads and extack TLVs are where a parser expects them, and an
 * independent parser — the `netlink` npm package's — reads the same messages and attributes.
 * Also: each request that asked for an ACK got exactly one final answer.
 */
import { parseAttributes, parseMessages } from 'netlink/dist/structs';
import { GENL_HDRLEN, NLA_HDRLEN, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, NLMSG_MIN_TYPE, NLM_F, NLA_TYPE_MASK, align4 } from '../nl/constants';
import { splitDatagram, type NlMessage } from '../nl/message';
import type { AttrSet, SchemaRegistry } from '../schema/model';

/** MAX_ERRNO: a negative errno is at least -4095. */
const MAX_ERRNO = 4095;

/**
 * tileAttrs checks that `buf` is a sequence of well-formed, padded attributes, descending into
 * the ones `set` says are nests. Returns a problem description or undefined.
 */
export function tileAttrs(buf: Buffer, set: AttrSet | undefined, where: string, depth = 0): string | undefined {
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < NLA_HDRLEN) return `${where}: ${buf.length - off} stray bytes at ${off}`;
    const len = buf.readUInt16LE(off);
    const type = buf.readUInt16LE(off + 2) & NLA_TYPE_MASK;
    if (len < NLA_HDRLEN || len > buf.length - off) return `${where}: attribute ${type} at ${off} has nla_len ${len} (${buf.length - off} left)`;
    const spec = set?.byType.get(type);
    // Nests the kernel parses liberally (genl-legacy, e.g. the userspace action's arguments) are
    // stored and echoed verbatim, leftover bytes and all: only their outer length is checked.
    if (spec?.kind === 'nest' && spec.nested && spec.nested.mode !== 'genl-legacy' && depth < 32) {
      const inner = tileAttrs(buf.subarray(off + NLA_HDRLEN, off + len), spec.nested, `${where}/${spec.name}`, depth + 1);
      if (inner) return inner;
    }
    const next = off + align4(len);
    if (next > buf.length && off + len !== buf.length) return `${where}: attribute ${type} padding overruns the message`;
    off = next;
  }
  return undefined;
}

/** npmAttrs walks `buf` with the netlink package's parser (throws on malformed TLVs). */
function npmAttrs(buf: Buffer, depth = 0): void {
  parseAttributes(buf, (a) => {
    if (a.nested && depth < 16) npmAttrs(a.data, depth + 1);
  });
}

/** ReplyCheck collects the problems of one input's replies. */
export class ReplyCheck {
  constructor(readonly registry: SchemaRegistry) {}

  /** datagram checks one datagram the emulator queued. */
  datagram(d: Buffer, problems: string[]): NlMessage[] {
    const msgs = [...splitDatagram(d)];
    const covered = msgs.reduce((n, m) => n + align4(m.bytes.length), 0);
    if (covered !== d.length && align4(covered) !== align4(d.length)) problems.push(`reply datagram of ${d.length} bytes holds messages for ${covered}`);
    try {
      const theirs = parseMessages(d);
      if (theirs.length !== msgs.length) problems.push(`netlink npm parser sees ${theirs.length} messages, ours ${msgs.length}`);
    } catch (e) {
      problems.push(`netlink npm parser: ${e instanceof Error ? e.message : String(e)}`);
    }
    for (const m of msgs) this.message(m, problems);
    return msgs;
  }

  private message(m: NlMessage, problems: string[]): void {
    const b = m.bytes;
    if (m.type === NLMSG_ERROR) {
      if (b.length < NLMSG_HDRLEN + 4 + NLMSG_HDRLEN) return void problems.push(`NLMSG_ERROR of ${b.length} bytes`);
      const err = b.readInt32LE(NLMSG_HDRLEN);
      if (err > 0 || err < -MAX_ERRNO) problems.push(`NLMSG_ERROR with error ${err}`);
      const innerLen = b.readUInt32LE(NLMSG_HDRLEN + 4);
      const capped = (m.flags & NLM_F.CAPPED) !== 0;
      const tlvAt = NLMSG_HDRLEN + 4 + (capped ? NLMSG_HDRLEN : align4(innerLen));
      if (!capped && NLMSG_HDRLEN + 4 + innerLen > b.length) problems.push(`uncapped NLMSG_ERROR echoes ${innerLen} bytes in ${b.length}`);
      if (m.flags & NLM_F.ACK_TLVS) this.tlvs(b.subarray(tlvAt), 'NLMSG_ERROR extack', problems);
      else if (capped && b.length !== tlvAt) problems.push(`capped NLMSG_ERROR of ${b.length} bytes without TLVs`);
      return;
    }
    if (m.type === NLMSG_DONE) {
      if (b.length < NLMSG_HDRLEN + 4) return void problems.push(`NLMSG_DONE of ${b.length} bytes`);
      const err = b.readInt32LE(NLMSG_HDRLEN);
      if (err > 0 || err < -MAX_ERRNO) problems.push(`NLMSG_DONE with error ${err}`);
      if (m.flags & NLM_F.ACK_TLVS) this.tlvs(b.subarray(NLMSG_HDRLEN + 4), 'NLMSG_DONE extack', problems);
      return;
    }
    if (m.type < NLMSG_MIN_TYPE) return void problems.push(`reply of reserved type ${m.type}`);
    const fam = this.registry.byId(m.type);
    if (!fam) return void problems.push(`reply of unknown family ${m.type}`);
    const at = NLMSG_HDRLEN + GENL_HDRLEN + fam.hdrsize;
    if (b.length < at) return void problems.push(`${fam.name} reply of ${b.length} bytes`);
    const cmd = b.readUInt8(NLMSG_HDRLEN);
    const op = fam.ops.find((o) => o.cmd === cmd);
    const area = b.subarray(at);
    const bad = tileAttrs(area, op?.set ?? fam.mainSet, `${fam.name} cmd ${cmd}`);
    if (bad) problems.push(bad);
    try {
      npmAttrs(area);
    } catch (e) {
      problems.push(`netlink npm parser on ${fam.name} attributes: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private tlvs(buf: Buffer, where: string, problems: string[]): void {
    const bad = tileAttrs(buf, undefined, where);
    if (bad) problems.push(bad);
  }

  /**
   * answers checks the final answers (NLMSG_ERROR / NLMSG_DONE) against the request messages of
   * the datagram: at most one per request, and one for each request that set NLM_F_ACK.
   */
  answers(requests: NlMessage[], replies: NlMessage[], problems: string[]): void {
    const finals = replies.filter((m) => m.type === NLMSG_ERROR || m.type === NLMSG_DONE);
    const seqs = requests.map((r) => r.seq);
    const unique = new Set(seqs).size === seqs.length;
    if (finals.length > requests.length) problems.push(`${finals.length} final answers to ${requests.length} requests`);
    if (!unique) return;
    for (const r of requests) {
      const n = finals.filter((f) => f.seq === r.seq).length;
      if (n > 1) problems.push(`request seq ${r.seq} answered ${n} times`);
      if (n === 0 && r.flags & NLM_F.ACK) problems.push(`request seq ${r.seq} (type ${r.type}, flags 0x${r.flags.toString(16)}) asked for an ACK and got none`);
    }
  }
}
