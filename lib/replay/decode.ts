/**
 * Decoding of netlink captures for `ovs-dpemu decode`: every message with its direction, family
 * and command names, flags, header fields, attribute tree (decode-attrs.ts), OVS flow keys,
 * masks and actions in odp text form, NLMSG_ERROR (errno, echoed request, extack) and
 * NLMSG_DONE. Family ids are learned from the capture's CTRL_CMD_NEWFAMILY replies, as
 * Wireshark does, with the schemas' ids as the fallback. Text and JSON rendering: decode-text.ts.
 */
import {
  GENL_HDRLEN, NETLINK_GENERIC, NLMSGERR_ATTR, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, NLMSG_MIN_TYPE, NLMSG_NOOP,
  NLMSG_OVERRUN, NLM_F, NL_ATTR_TYPE, NL_POLICY_TYPE_ATTR, align4,
} from '../nl/constants';
import type { NlMessage } from '../nl/message';
import { errnoName } from '../native';
import { formatActions, formatFlowKey, formatUfid } from '../ovs/odp-format';
import { loadSchemas } from '../schema/load';
import type { AttrSet, FamilySpec, SchemaRegistry } from '../schema/model';
import { forEachAttr } from '../schema/validate';
import { decodeAttrs, type DecodeAttrOptions, type DecodedAttr, type DecodedValue } from './decode-attrs';
import { netlinkRecords, type NetlinkCaptureRecord, type NlDirection, type RecordMeta } from './netlink-capture';
import { readPcap } from './pcap';

export type { DecodedAttr, DecodedValue } from './decode-attrs';

/** GENL_ID_CTRL: nlctrl's fixed id. */
const GENL_ID_CTRL = NETLINK_GENERIC;
const CTRL_CMD_NEWFAMILY = 1;

/** DecodeOptions choose what `decode` shows. */
export interface DecodeOptions {
  /** Also records of other netlink protocols (header level), and binary values in full. */
  all?: boolean;
  /** Hex dumps longer than this are cut (default 64 bytes; `all` → never). */
  maxHex?: number;
  schemas?: SchemaRegistry;
}

/** DecodedExtack is the NLMSGERR_ATTR_* TLVs of an ACK, error or DONE. */
export interface DecodedExtack {
  msg?: string;
  offset?: number;
  /** Path of the attribute at `offset` in the echoed request (`key.ipv4`). */
  offsetPath?: string;
  cookie?: string;
  policy?: { [k: string]: DecodedValue };
  missType?: number;
  missNest?: number;
}

/** Header fields shared by messages and echoed requests. */
export interface DecodedHeader {
  len: number;
  type: number;
  flags: number;
  flagNames: string[];
  seq: number;
  pid: number;
  /** 'genl' family message, or a netlink control message. */
  kind: 'genl' | 'error' | 'ack' | 'done' | 'noop' | 'overrun' | 'other';
  family?: string;
  familyId?: number;
  cmd?: number;
  cmdName?: string;
  version?: number;
  /** The family's fixed header (ovs_header: dp-ifindex). */
  header?: { [k: string]: DecodedValue };
  attrs?: DecodedAttr[];
  /** Bytes after the last whole attribute. */
  leftover?: number;
}

/** DecodedMessage is one message of one record. */
export interface DecodedMessage extends DecodedHeader {
  /** Record number in the file (1-based, as tshark counts). */
  frame: number;
  /** Message number within the record's datagram (1-based). */
  msg: number;
  /** Seconds since the first record of the file. */
  time: number;
  /** Nanoseconds since the epoch, as a decimal string. */
  timeNs: string;
  direction: NlDirection;
  protocol: number;
  /** Recording metadata (pcapng comments written by ovs-dpemu). */
  meta?: RecordMeta;
  /** NLMSG_ERROR / NLMSG_DONE: the error code (0 = success) and its name. */
  error?: number;
  errorName?: string;
  /** NLMSG_ERROR: the request it answers (header only when capped). */
  request?: DecodedHeader;
  extack?: DecodedExtack;
  note?: string;
}

function constName(obj: Readonly<Record<string, number>>, v: number): string | undefined {
  for (const [k, x] of Object.entries(obj)) if (x === v) return k;
  return undefined;
}

const kebab = (s: string): string => s.toLowerCase().replace(/_/g, '-');

/** flagNames names nlmsg_flags the way the message type gives them meaning. */
export function flagNames(type: number, flags: number, cmdName?: string): string[] {
  const out: string[] = [];
  let rest = flags;
  const take = (bit: number, name: string): void => {
    if ((rest & bit) === bit) {
      out.push(name);
      rest &= ~bit;
    }
  };
  for (const n of ['REQUEST', 'MULTI', 'ACK', 'ECHO', 'DUMP_INTR', 'DUMP_FILTERED'] as const) take(NLM_F[n], n);
  if (type === NLMSG_ERROR || type === NLMSG_DONE) {
    take(NLM_F.CAPPED, 'CAPPED');
    take(NLM_F.ACK_TLVS, 'ACK_TLVS');
  } else if (flags & NLM_F.REQUEST) {
    take(NLM_F.DUMP, 'DUMP');
    const get = cmdName === undefined || /get/i.test(cmdName);
    take(NLM_F.ROOT, get ? 'ROOT' : 'REPLACE');
    take(NLM_F.MATCH, get ? 'MATCH' : 'EXCL');
    take(NLM_F.CREATE, 'CREATE');
    take(NLM_F.APPEND, 'APPEND');
  }
  if (rest) out.push(`0x${rest.toString(16)}`);
  return out;
}

/** errnoText is "-19 ENODEV" style. */
function errorNameOf(err: number): string {
  return err === 0 ? 'OK' : errnoName(-err);
}

/** Decodes a capture message by message, learning family ids as it goes. */
export class CaptureDecoder {
  private readonly reg: SchemaRegistry;
  /** Family id → name, from CTRL_CMD_NEWFAMILY replies seen so far. */
  readonly familyNames = new Map<number, string>();
  private readonly attrOpts: DecodeAttrOptions;

  constructor(private readonly opts: DecodeOptions = {}) {
    this.reg = opts.schemas ?? loadSchemas();
    this.attrOpts = { maxHex: opts.all ? 0 : opts.maxHex ?? 64 };
  }

  /** familyOf resolves a genl message type to a name and, when known, its schema. */
  familyOf(id: number): { name?: string; spec?: FamilySpec } {
    const learned = this.familyNames.get(id);
    if (learned !== undefined) return { name: learned, spec: this.reg.families.find((f) => f.name === learned) };
    const spec = this.reg.byId(id);
    return { name: spec?.name, spec };
  }

  /** decodeRecord decodes every message of one captured datagram. */
  decodeRecord(rec: NetlinkCaptureRecord, firstNs: bigint): DecodedMessage[] {
    const out: DecodedMessage[] = [];
    rec.messages.forEach((m, i) => {
      const h = this.decodeMessage(m, rec.protocol, rec.direction);
      const d: DecodedMessage = {
        frame: rec.frame, msg: i + 1, time: Number(rec.timeNs - firstNs) / 1e9, timeNs: rec.timeNs.toString(),
        direction: rec.direction, protocol: rec.protocol, ...h,
      };
      if (rec.meta) d.meta = rec.meta;
      if (rec.truncated && i === rec.messages.length - 1) d.note = `record cut: ${rec.truncated} bytes not captured`;
      out.push(d);
    });
    if (rec.messages.length === 0) {
      out.push({
        frame: rec.frame, msg: 1, time: Number(rec.timeNs - firstNs) / 1e9, timeNs: rec.timeNs.toString(), direction: rec.direction,
        protocol: rec.protocol, len: rec.datagram.length, type: 0, flags: 0, flagNames: [], seq: 0, pid: 0, kind: 'other',
        note: `no netlink message in ${rec.datagram.length} bytes`,
      });
    }
    return out;
  }

  private decodeMessage(m: NlMessage, protocol: number, dir: NlDirection): DecodedHeader & Partial<DecodedMessage> {
    if (m.type === NLMSG_ERROR || m.type === NLMSG_DONE) return this.decodeControl(m, protocol);
    const base = { len: m.bytes.length, type: m.type, flags: m.flags, seq: m.seq, pid: m.pid };
    if (m.type === NLMSG_NOOP) return { ...base, kind: 'noop', flagNames: flagNames(m.type, m.flags) };
    if (m.type === NLMSG_OVERRUN) return { ...base, kind: 'overrun', flagNames: flagNames(m.type, m.flags) };
    if (protocol !== NETLINK_GENERIC || m.type < NLMSG_MIN_TYPE) return { ...base, kind: 'other', flagNames: flagNames(m.type, m.flags) };
    const g = this.decodeGenl(m.bytes, true);
    if (dir === 'from-kernel') this.learn(m.type, g);
    return g;
  }

  /** decodeGenl decodes a generic netlink message (header, genl header, fixed header, attributes). */
  private decodeGenl(b: Buffer, withAttrs: boolean): DecodedHeader {
    const type = b.readUInt16LE(4);
    const flags = b.readUInt16LE(6);
    const { name, spec } = this.familyOf(type);
    const d: DecodedHeader = {
      len: b.readUInt32LE(0), type, flags, flagNames: [], seq: b.readUInt32LE(8), pid: b.readUInt32LE(12), kind: 'genl', familyId: type,
    };
    if (name !== undefined) d.family = name;
    if (b.length >= NLMSG_HDRLEN + GENL_HDRLEN) {
      d.cmd = b[NLMSG_HDRLEN];
      d.version = b[NLMSG_HDRLEN + 1];
      const op = spec?.ops.find((o) => o.cmd === d.cmd);
      if (op) d.cmdName = op.name;
    }
    d.flagNames = flagNames(type, flags, d.cmdName);
    if (!withAttrs || d.cmd === undefined) return d;
    let at = NLMSG_HDRLEN + GENL_HDRLEN;
    const fixed = spec?.fixedHeader;
    if (fixed && b.length >= at + fixed.size) {
      const r = decodeAttrsStruct(fixed, b, at);
      d.header = r;
      at += fixed.size;
    }
    const op = spec?.ops.find((o) => o.cmd === d.cmd);
    const set: AttrSet | undefined = op?.set ?? spec?.mainSet;
    const r = decodeAttrs(b.subarray(at), set, at, this.reg, this.attrOpts);
    d.attrs = r.attrs;
    if (r.leftover) d.leftover = r.leftover;
    if (spec && set) {
      rememberPayloads(d.attrs, b);
      addOdp(spec, set, d.attrs);
    }
    return d;
  }

  /** Learns family id → name from nlctrl NEWFAMILY replies (genl_family_map in Wireshark). */
  private learn(type: number, g: DecodedHeader): void {
    if (type !== GENL_ID_CTRL || g.cmd !== CTRL_CMD_NEWFAMILY || !g.attrs) return;
    const id = g.attrs.find((a) => a.name === 'family-id')?.value;
    const name = g.attrs.find((a) => a.name === 'family-name')?.value;
    if (typeof id === 'number' && typeof name === 'string') this.familyNames.set(id, name);
  }

  /** NLMSG_ERROR and NLMSG_DONE: error code, echoed request, extack TLVs. */
  private decodeControl(m: NlMessage, protocol: number): DecodedHeader & Partial<DecodedMessage> {
    const b = m.bytes;
    const d: DecodedHeader & Partial<DecodedMessage> = {
      len: b.length, type: m.type, flags: m.flags, flagNames: flagNames(m.type, m.flags), seq: m.seq, pid: m.pid,
      kind: m.type === NLMSG_DONE ? 'done' : 'error',
    };
    if (b.length < NLMSG_HDRLEN + 4) {
      if (m.type === NLMSG_ERROR) d.note = 'NLMSG_ERROR without error code';
      return d;
    }
    const err = b.readInt32LE(NLMSG_HDRLEN);
    d.error = err;
    d.errorName = errorNameOf(err);
    let tlvAt = NLMSG_HDRLEN + 4;
    if (m.type === NLMSG_ERROR) {
      if (err === 0) d.kind = 'ack';
      const reqAt = NLMSG_HDRLEN + 4;
      if (b.length >= reqAt + NLMSG_HDRLEN) {
        const capped = (m.flags & NLM_F.CAPPED) !== 0;
        const reqLen = b.readUInt32LE(reqAt);
        const echoed = capped ? NLMSG_HDRLEN : Math.min(reqLen, b.length - reqAt);
        const req = b.subarray(reqAt, reqAt + echoed);
        const rtype = req.readUInt16LE(4);
        if (protocol === NETLINK_GENERIC && rtype >= NLMSG_MIN_TYPE) d.request = this.decodeGenl(req, !capped && echoed === reqLen);
        else {
          d.request = { len: reqLen, type: rtype, flags: req.readUInt16LE(6), flagNames: flagNames(rtype, req.readUInt16LE(6)), seq: req.readUInt32LE(8), pid: req.readUInt32LE(12), kind: 'other' };
        }
        tlvAt = reqAt + align4(echoed);
      }
    }
    if (m.flags & NLM_F.ACK_TLVS && tlvAt < b.length) d.extack = decodeExtack(b.subarray(tlvAt), d.request);
    return d;
  }
}

function decodeAttrsStruct(spec: NonNullable<FamilySpec['fixedHeader']>, b: Buffer, at: number): { [k: string]: DecodedValue } {
  const out: { [k: string]: DecodedValue } = {};
  for (const m of spec.members) {
    const o = at + m.offset;
    switch (m.kind) {
      case 'u8': out[m.name] = b.readUInt8(o); break;
      case 's8': out[m.name] = b.readInt8(o); break;
      case 'u16': out[m.name] = m.bigEndian ? b.readUInt16BE(o) : b.readUInt16LE(o); break;
      case 's16': out[m.name] = m.bigEndian ? b.readInt16BE(o) : b.readInt16LE(o); break;
      case 'u32': out[m.name] = m.bigEndian ? b.readUInt32BE(o) : b.readUInt32LE(o); break;
      case 's32': out[m.name] = m.bigEndian ? b.readInt32BE(o) : b.readInt32LE(o); break;
      case 'u64': out[m.name] = (m.bigEndian ? b.readBigUInt64BE(o) : b.readBigUInt64LE(o)).toString(); break;
      case 's64': out[m.name] = (m.bigEndian ? b.readBigInt64BE(o) : b.readBigInt64LE(o)).toString(); break;
      case 'binary': out[m.name] = b.subarray(o, o + m.size).toString('hex'); break;
    }
  }
  return out;
}

/** addOdp attaches the odp text form to top-level flow keys (with their mask), actions and UFIDs. */
function addOdp(spec: FamilySpec, set: AttrSet, attrs: DecodedAttr[]): void {
  const payloadOf = (a: DecodedAttr | undefined): Buffer | undefined => (a ? rawOf.get(a) : undefined);
  for (const a of attrs) {
    const s = set.byType.get(a.type);
    const nested = s?.nested;
    const raw = payloadOf(a);
    if (!s || raw === undefined) continue;
    try {
      if (nested?.family === 'ovs_flow' && nested.name === 'key-attrs' && s.name === 'key') {
        const mask = spec.name === 'ovs_flow' ? payloadOf(attrs.find((x) => x.name === 'mask')) : undefined;
        a.odp = formatFlowKey(raw, mask);
      } else if (nested?.family === 'ovs_flow' && nested.name === 'action-attrs') {
        a.odp = formatActions(raw);
      } else if (spec.name === 'ovs_flow' && s.name === 'ufid' && raw.length === 16) {
        a.odp = formatUfid(raw);
      }
    } catch (e) {
      a.note = `odp: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
}

/** Payloads of decoded attributes, kept off the JSON. */
const rawOf = new WeakMap<DecodedAttr, Buffer>();

/** rememberPayloads records each top-level attribute's payload for addOdp. */
function rememberPayloads(attrs: DecodedAttr[], msg: Buffer): void {
  for (const a of attrs) rawOf.set(a, msg.subarray(a.offset + 4, a.offset + 4 + a.len));
}

function findPath(attrs: DecodedAttr[] | undefined, offset: number, prefix = ''): string | undefined {
  for (const a of attrs ?? []) {
    const p = prefix ? `${prefix}.${a.name}` : a.name;
    if (a.offset === offset) return p;
    if (offset > a.offset && offset < a.offset + 4 + a.len) return findPath(a.attrs, offset, p) ?? p;
  }
  return undefined;
}

function decodeExtack(b: Buffer, request: DecodedHeader | undefined): DecodedExtack {
  const x: DecodedExtack = {};
  forEachAttr(b, 0, (a) => {
    const p = a.payload;
    switch (a.type) {
      case NLMSGERR_ATTR.MSG: {
        const nul = p.indexOf(0);
        x.msg = p.toString('utf8', 0, nul < 0 ? p.length : nul);
        break;
      }
      case NLMSGERR_ATTR.OFFS:
        if (p.length >= 4) {
          x.offset = p.readUInt32LE(0);
          const path = findPath(request?.attrs, x.offset);
          if (path) x.offsetPath = path;
        }
        break;
      case NLMSGERR_ATTR.COOKIE: x.cookie = p.toString('hex'); break;
      case NLMSGERR_ATTR.MISS_TYPE: if (p.length >= 4) x.missType = p.readUInt32LE(0); break;
      case NLMSGERR_ATTR.MISS_NEST: if (p.length >= 4) x.missNest = p.readUInt32LE(0); break;
      case NLMSGERR_ATTR.POLICY: {
        const pol: { [k: string]: DecodedValue } = {};
        forEachAttr(p, 0, (q) => {
          const name = kebab(constName(NL_POLICY_TYPE_ATTR, q.type) ?? `attr-${q.type}`);
          const v = q.payload.length === 8 ? (q.type === NL_POLICY_TYPE_ATTR.MIN_VALUE_S || q.type === NL_POLICY_TYPE_ATTR.MAX_VALUE_S
            ? q.payload.readBigInt64LE(0) : q.payload.readBigUInt64LE(0)).toString()
            : q.payload.length === 4 ? q.payload.readUInt32LE(0) : q.payload.toString('hex');
          pol[name] = q.type === NL_POLICY_TYPE_ATTR.TYPE && typeof v === 'number' ? constName(NL_ATTR_TYPE, v) ?? v : v;
        });
        x.policy = pol;
        break;
      }
    }
  });
  return x;
}

/** decodeCapture decodes a capture file's bytes message by message. */
export function* decodeCapture(file: Buffer, opts: DecodeOptions = {}): Generator<DecodedMessage> {
  const recs = readPcap(file);
  const dec = new CaptureDecoder(opts);
  const first = recs.length ? BigInt(recs[0].sec) * 1000000000n + BigInt(recs[0].nsec) : 0n;
  for (const r of netlinkRecords(recs, { protocol: opts.all ? 'all' : NETLINK_GENERIC })) yield* dec.decodeRecord(r, first);
}
