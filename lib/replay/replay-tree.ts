/**
 * Decoded attribute trees of netlink messages, with names from the schemas (nested sets
 * followed, structs split into members, flow keys and actions also in odp text form). Replay
 * uses them to find the fields its normalisation rules touch and to show a mismatch.
 */
import { NLMSGERR_ATTR, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, NLM_F, NLA_HDRLEN, align4 } from '../nl/constants';
import { errnoName } from '../nl/errno';
import { splitDatagram, type NlMessage } from '../nl/message';
import { formatActions, formatFlowKey } from '../ovs/odp-format';
import type { AttrSet, AttrSpec, FamilySpec, SchemaRegistry, StructMember, StructSpec } from '../schema/model';
import { attrsOf, cString } from './replay-capture';

/** TreeNode is one decoded piece of a message: a header, an attribute or a struct member. */
export interface TreeNode {
  label: string;
  /** Offset from the start of the datagram. */
  offset: number;
  /** Bytes covered (an attribute: header and payload, without trailing padding). */
  length: number;
  value?: string;
  children?: TreeNode[];
  /** What the node is, for the normalisation rules: `family/set/attr`, `family/struct/member`, `nlmsghdr/field`… */
  field?: string;
  /** Offset and length of the value bytes (an attribute's payload). */
  data?: { offset: number; length: number };
}

/** memberText renders a struct member: addresses in their usual notation, numbers in decimal. */
function memberText(mb: StructMember, v: Buffer): string {
  if (mb.kind === 'binary' && mb.size === 6 && /(src|dst|sha|tha|addr)$/.test(mb.name)) return [...v].map((x) => x.toString(16).padStart(2, '0')).join(':');
  if (mb.kind === 'u32' && mb.bigEndian && /(src|dst|sip|tip|addr)$/.test(mb.name)) return [...v].join('.');
  return scalar(mb.kind, v, mb.bigEndian) ?? hexOf(v);
}

/** upper turns a schema name into the uapi style: `upcall-pid` → `UPCALL_PID`. */
const upper = (s: string): string => s.replace(/-/g, '_').toUpperCase();

const hexOf = (b: Buffer, max = 48): string => (b.length > max ? `${b.subarray(0, max).toString('hex')}… (${b.length} bytes)` : b.toString('hex') || '(empty)');

/** indexed lists of nests numbered 1..n (YNL `indexed-array`) that the schemas describe by their element set. */
const INDEXED = new Set(['nlctrl/ctrl-attrs/ops', 'nlctrl/ctrl-attrs/mcast-groups']);

function scalar(kind: string, p: Buffer, bigEndian: boolean): string | undefined {
  const be = bigEndian;
  switch (kind) {
    case 'u8': return p.length >= 1 ? String(p.readUInt8(0)) : undefined;
    case 's8': return p.length >= 1 ? String(p.readInt8(0)) : undefined;
    case 'u16': return p.length >= 2 ? String(be ? p.readUInt16BE(0) : p.readUInt16LE(0)) : undefined;
    case 's16': return p.length >= 2 ? String(be ? p.readInt16BE(0) : p.readInt16LE(0)) : undefined;
    case 'u32': return p.length >= 4 ? String(be ? p.readUInt32BE(0) : p.readUInt32LE(0)) : undefined;
    case 's32': return p.length >= 4 ? String(be ? p.readInt32BE(0) : p.readInt32LE(0)) : undefined;
    case 'u64': return p.length >= 8 ? String(be ? p.readBigUInt64BE(0) : p.readBigUInt64LE(0)) : undefined;
    case 's64': return p.length >= 8 ? String(be ? p.readBigInt64BE(0) : p.readBigInt64LE(0)) : undefined;
    default: return undefined;
  }
}

function enumText(fam: FamilySpec | undefined, spec: AttrSpec, v: string | undefined): string | undefined {
  if (v === undefined || !spec.enumName || !fam) return v;
  const entries = fam.enums.get(spec.enumName);
  const name = entries && [...entries].find(([, n]) => String(n) === v)?.[0];
  return name ? `${v} (${name})` : v;
}

/** Decoder walks messages of the families in `reg`. */
export class TreeDecoder {
  constructor(private readonly reg: SchemaRegistry) {}

  /** decodeDatagram decodes every message of a datagram. */
  decodeDatagram(dgram: Buffer): TreeNode[] {
    const out: TreeNode[] = [];
    let at = 0;
    for (const m of splitDatagram(dgram)) {
      out.push(this.decodeMessage(m, at));
      at += align4(m.bytes.length);
    }
    return out;
  }

  /** label names a message without decoding it: `ovs_vport GET`, `NLMSG_ERROR`, `type 99`. */
  label(m: NlMessage): string {
    if (m.type === NLMSG_ERROR) return 'NLMSG_ERROR';
    if (m.type === NLMSG_DONE) return 'NLMSG_DONE';
    const fam = this.reg.byId(m.type);
    if (!fam) return `type ${m.type}`;
    if (m.bytes.length < NLMSG_HDRLEN + 4) return fam.name;
    const cmd = m.bytes[NLMSG_HDRLEN];
    const op = fam.ops.find((o) => o.cmd === cmd);
    return `${fam.name} ${op ? upper(op.name) : `cmd ${cmd}`}`;
  }

  /** decodeMessage decodes one message found `at` bytes into its datagram. */
  decodeMessage(m: NlMessage, at: number): TreeNode {
    if (m.type === NLMSG_ERROR || m.type === NLMSG_DONE) return this.control(m, at);
    const fam = this.reg.byId(m.type);
    const b = m.bytes;
    const hdr = this.header(m, at);
    if (!fam || b.length < NLMSG_HDRLEN + 4) return { label: fam ? fam.name : `type ${m.type}`, offset: at, length: b.length, children: [hdr, this.raw(b, NLMSG_HDRLEN, at)] };
    const cmd = b[NLMSG_HDRLEN];
    const op = fam.ops.find((o) => o.cmd === cmd);
    const label = this.label(m);
    const g = at + NLMSG_HDRLEN;
    const children: TreeNode[] = [hdr, {
      label: 'genlmsghdr', offset: g, length: 4, children: [
        { label: 'cmd', offset: g, length: 1, value: String(cmd), field: 'genlmsghdr/cmd' },
        { label: 'version', offset: g + 1, length: 1, value: String(b[NLMSG_HDRLEN + 1]), field: 'genlmsghdr/version' },
        { label: 'reserved', offset: g + 2, length: 2, value: String(b.readUInt16LE(NLMSG_HDRLEN + 2)), field: 'genlmsghdr/reserved' },
      ],
    }];
    let off = NLMSG_HDRLEN + 4;
    if (fam.fixedHeader && b.length >= off + fam.fixedHeader.size) {
      children.push(this.struct(fam, fam.fixedHeader, b.subarray(off, off + fam.fixedHeader.size), at + off, upper(fam.fixedHeader.name).replace('OVS_HEADER', 'ovs_header')));
      off += fam.fixedHeader.size;
    } else if (fam.hdrsize) {
      return { label, offset: at, length: b.length, children: [...children, this.raw(b, off, at)] };
    }
    const set = op?.set ?? fam.mainSet;
    children.push(...(set ? this.attrs(fam, set, b.subarray(off), at + off) : [this.raw(b, off, at)]));
    return { label, offset: at, length: b.length, children, field: `msg/${fam.name}/${op?.name ?? cmd}` };
  }

  private header(m: NlMessage, at: number): TreeNode {
    const f = (label: string, o: number, len: number, value: string): TreeNode => ({ label, offset: at + o, length: len, value, field: `nlmsghdr/${label}` });
    return {
      label: 'nlmsghdr', offset: at, length: NLMSG_HDRLEN, children: [
        f('len', 0, 4, String(m.bytes.readUInt32LE(0))),
        f('type', 4, 2, String(m.type)),
        f('flags', 6, 2, `0x${m.flags.toString(16)}${flagNames(m)}`),
        f('seq', 8, 4, String(m.seq)),
        f('pid', 12, 4, String(m.pid)),
      ],
    };
  }

  private raw(b: Buffer, from: number, at: number): TreeNode {
    return { label: 'payload', offset: at + from, length: b.length - from, value: hexOf(b.subarray(from)), field: 'raw' };
  }

  /** control decodes NLMSG_ERROR (error, the echoed request, extack) and NLMSG_DONE. */
  private control(m: NlMessage, at: number): TreeNode {
    const b = m.bytes;
    const isErr = m.type === NLMSG_ERROR;
    const children: TreeNode[] = [this.header(m, at)];
    if (b.length < NLMSG_HDRLEN + 4) return { label: isErr ? 'NLMSG_ERROR' : 'NLMSG_DONE', offset: at, length: b.length, children };
    const err = b.readInt32LE(NLMSG_HDRLEN);
    children.push({ label: 'error', offset: at + NLMSG_HDRLEN, length: 4, value: err ? `${err} (${errnoName(-err)})` : '0', field: 'nlmsgerr/error' });
    let off = NLMSG_HDRLEN + 4;
    if (isErr && b.length >= off + NLMSG_HDRLEN) {
      const len = b.readUInt32LE(off);
      const capped = (m.flags & NLM_F.CAPPED) !== 0;
      const end = capped ? off + NLMSG_HDRLEN : Math.min(b.length, off + len);
      const inner: NlMessage = {
        type: b.readUInt16LE(off + 4), flags: b.readUInt16LE(off + 6), seq: b.readUInt32LE(off + 8), pid: b.readUInt32LE(off + 12), bytes: b.subarray(off, end),
      };
      const req = capped ? { label: `${this.label(inner)}, header only`, offset: at + off, length: NLMSG_HDRLEN, children: [this.header(inner, at + off)] } : this.decodeMessage(inner, at + off);
      children.push({ ...req, label: `request: ${req.label}`, field: 'nlmsgerr/request' });
      off = capped ? end : off + align4(len);
    }
    if (off < b.length) children.push(...this.extack(b.subarray(off), at + off));
    return { label: isErr ? (err ? 'NLMSG_ERROR' : 'NLMSG_ERROR (ACK)') : 'NLMSG_DONE', offset: at, length: b.length, children };
  }

  private extack(b: Buffer, at: number): TreeNode[] {
    const names: Record<number, string> = {};
    for (const [k, v] of Object.entries(NLMSGERR_ATTR)) names[v] = `NLMSGERR_ATTR_${k}`;
    return attrsOf(b).map((a) => {
      const base = { label: names[a.type] ?? `attr ${a.type}`, offset: at + a.offset, length: NLA_HDRLEN + a.payload.length, data: { offset: at + a.offset + NLA_HDRLEN, length: a.payload.length }, field: `extack/${a.type}` };
      if (a.type === NLMSGERR_ATTR.MSG) return { ...base, value: JSON.stringify(cString(a.payload)) };
      if (a.type === NLMSGERR_ATTR.POLICY) {
        return { ...base, children: attrsOf(a.payload).map((p) => ({ label: `policy attr ${p.type}`, offset: at + a.offset + NLA_HDRLEN + p.offset, length: NLA_HDRLEN + p.payload.length, value: p.payload.length === 8 ? String(p.payload.readBigUInt64LE(0)) : p.payload.length === 4 ? String(p.payload.readUInt32LE(0)) : hexOf(p.payload) })) };
      }
      return { ...base, value: a.payload.length === 4 ? String(a.payload.readUInt32LE(0)) : hexOf(a.payload) };
    });
  }

  private struct(fam: FamilySpec | undefined, s: StructSpec, p: Buffer, at: number, label: string): TreeNode {
    return {
      label, offset: at, length: p.length, data: { offset: at, length: p.length },
      children: s.members.filter((mb) => mb.offset + mb.size <= p.length).map((mb) => {
        const v = p.subarray(mb.offset, mb.offset + mb.size);
        return {
          label: mb.name, offset: at + mb.offset, length: mb.size, value: memberText(mb, v),
          field: `${fam?.name ?? ''}/${s.name}/${mb.name}`, data: { offset: at + mb.offset, length: mb.size },
        };
      }),
    };
  }

  /** attrs decodes the attributes of `set` laid out in `p` (which starts `at` bytes into the datagram). */
  attrs(fam: FamilySpec | undefined, set: AttrSet, p: Buffer, at: number): TreeNode[] {
    const raw = attrsOf(p);
    const nodes = raw.map((a) => this.attr(fam, set, a.type, a.payload, at + a.offset));
    let end = 0;
    for (const a of raw) end = a.offset + align4(NLA_HDRLEN + a.payload.length);
    if (end < p.length) nodes.push({ label: 'trailing bytes', offset: at + end, length: p.length - end, value: hexOf(p.subarray(end)), field: 'raw' });
    if (set.family === 'ovs_flow' || set.family === 'ovs_packet') this.odpText(set, raw, nodes);
    return nodes;
  }

  private attr(fam: FamilySpec | undefined, set: AttrSet, type: number, p: Buffer, at: number): TreeNode {
    const spec = set.byType.get(type);
    const node: TreeNode = {
      label: spec ? upper(spec.name) : `attr ${type}`, offset: at, length: NLA_HDRLEN + p.length,
      field: `${set.family}/${set.name}/${spec?.name ?? type}`, data: { offset: at + NLA_HDRLEN, length: p.length },
    };
    const pAt = at + NLA_HDRLEN;
    if (!spec) return { ...node, value: hexOf(p) };
    const owner = this.reg.families.find((f) => f.name === set.family) ?? fam;
    if (spec.nested && INDEXED.has(`${set.family}/${set.name}/${spec.name}`)) {
      const nested = spec.nested;
      return { ...node, children: attrsOf(p).map((e) => ({ label: `[${e.type}]`, offset: pAt + e.offset, length: NLA_HDRLEN + e.payload.length, children: this.attrs(owner, nested, e.payload, pAt + e.offset + NLA_HDRLEN) })) };
    }
    if (spec.kind === 'nest' && spec.nested) return { ...node, children: this.attrs(owner, spec.nested, p, pAt) };
    if (spec.struct && p.length >= spec.struct.size) return { ...this.struct(owner, spec.struct, p, pAt, node.label), offset: at, length: node.length, field: node.field, data: node.data };
    switch (spec.kind) {
      case 'flag': return { ...node, value: p.length ? `flag + ${hexOf(p)}` : 'true' };
      case 'string': return { ...node, value: JSON.stringify(cString(p)) };
      case 'binary':
        if (spec.subType === 'u32' && p.length % 4 === 0) return { ...node, value: `[${Array.from({ length: p.length / 4 }, (_, i) => p.readUInt32LE(i * 4)).join(', ')}]` };
        return { ...node, value: hexOf(p) };
      default: {
        const v = scalar(spec.kind, p, spec.bigEndian);
        const exact = spec.exactLen === undefined || p.length === spec.exactLen;
        return { ...node, value: v === undefined || !exact ? hexOf(p) : enumText(owner, spec, v) };
      }
    }
  }

  /** odpText adds the odp form of KEY (with MASK) and ACTIONS of flow and packet messages. */
  private odpText(set: AttrSet, raw: { type: number; payload: Buffer }[], nodes: TreeNode[]): void {
    const num = (n: string): number | undefined => set.byName.get(n)?.type;
    const key = raw.find((a) => a.type === num('key'));
    const mask = raw.find((a) => a.type === num('mask'));
    const acts = raw.find((a) => a.type === num('actions'));
    const at = (a: { type: number } | undefined): TreeNode | undefined => (a ? nodes[raw.indexOf(a as (typeof raw)[number])] : undefined);
    const safe = (f: () => string): string => {
      try {
        return f();
      } catch (e) {
        return `(odp format failed: ${e instanceof Error ? e.message : String(e)})`;
      }
    };
    const k = at(key);
    if (k && key && (set.name === 'flow-attrs' || set.name === 'packet-attrs')) k.value = safe(() => formatFlowKey(key.payload, mask?.payload));
    const a = at(acts);
    if (a && acts && (set.name === 'flow-attrs' || set.name === 'packet-attrs')) a.value = safe(() => formatActions(acts.payload));
  }
}

function flagNames(m: NlMessage): string {
  const names: string[] = [];
  const f = m.flags;
  const pairs: [number, string][] = [[NLM_F.REQUEST, 'REQUEST'], [NLM_F.MULTI, 'MULTI'], [NLM_F.ACK, 'ACK'], [NLM_F.ECHO, 'ECHO'], [NLM_F.DUMP_INTR, 'DUMP_INTR']];
  for (const [bit, n] of pairs) if (f & bit) names.push(n);
  if (m.type === NLMSG_ERROR) {
    if (f & NLM_F.CAPPED) names.push('CAPPED');
    if (f & NLM_F.ACK_TLVS) names.push('ACK_TLVS');
  } else if (f & NLM_F.REQUEST) {
    if ((f & NLM_F.DUMP) === NLM_F.DUMP) names.push('DUMP');
    else if (f & 0xf00) names.push(`0x${(f & 0xf00).toString(16)}`);
  }
  return names.length ? ` (${names.join('|')})` : '';
}

/** flatten lists a tree's nodes depth first with their paths. */
export function flatten(node: TreeNode, path: string[] = []): { path: string[]; node: TreeNode; depth: number }[] {
  const p = [...path, node.label];
  const out = [{ path: p, node, depth: path.length }];
  for (const c of node.children ?? []) out.push(...flatten(c, p));
  return out;
}

/** nodeAt finds the deepest node covering byte `offset`, with its path. */
export function nodeAt(root: TreeNode, offset: number): { path: string[]; node: TreeNode } {
  let node = root;
  const path = [root.label];
  for (;;) {
    const next = node.children?.find((c) => offset >= c.offset && offset < c.offset + Math.max(c.length, 1));
    if (!next) return { path, node };
    node = next;
    path.push(next.label);
  }
}
