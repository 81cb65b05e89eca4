/**
 * The fuzzer's view of a request before it is serialised: a genetlink message as a tree of
 * attributes. Mutators edit the tree (lengths, flags, types, nesting) and then the bytes.
 * Serialisation honours explicit overrides (a wrong nla_len / nlmsg_len) so malformed framing
 * can be expressed.
 */
import { GENL_HDRLEN, NLA_HDRLEN, NLMSG_HDRLEN, align4 } from '../nl/constants';

/** GenAttr is one TLV: a payload, or nested TLVs. */
export interface GenAttr {
  /** nla_type including the NLA_F_* flag bits. */
  type: number;
  payload?: Buffer;
  nested?: GenAttr[];
  /** Written as nla_len instead of the real length (payload bytes are unchanged). */
  lenOverride?: number;
  /** Padding is omitted after this attribute. */
  noPad?: boolean;
}

/** GenMsg is one generic netlink request. */
export interface GenMsg {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** genlmsghdr; absent for a message that stops after the nlmsghdr. */
  genl?: { cmd: number; version: number; reserved: number };
  /** Family fixed header bytes (struct ovs_header). */
  fixed: Buffer;
  attrs: GenAttr[];
  /** Bytes after the attributes (inside nlmsg_len). */
  trailer?: Buffer;
  /** Written as nlmsg_len instead of the real length. */
  lenOverride?: number;
}

/** encodeAttr serialises one attribute with its padding. */
export function encodeAttr(a: GenAttr): Buffer {
  const body = a.nested ? Buffer.concat(a.nested.map(encodeAttr)) : a.payload ?? Buffer.alloc(0);
  const len = NLA_HDRLEN + body.length;
  const pad = a.noPad ? 0 : align4(len) - len;
  const out = Buffer.alloc(len + pad);
  out.writeUInt16LE((a.lenOverride ?? len) & 0xffff, 0);
  out.writeUInt16LE(a.type & 0xffff, 2);
  body.copy(out, NLA_HDRLEN);
  return out;
}

export function encodeAttrs(attrs: readonly GenAttr[]): Buffer {
  return Buffer.concat(attrs.map(encodeAttr));
}

/** encodeMsg serialises a message, padded to 4 bytes. */
export function encodeMsg(m: GenMsg): Buffer {
  const parts: Buffer[] = [];
  if (m.genl) {
    const g = Buffer.alloc(GENL_HDRLEN);
    g.writeUInt8(m.genl.cmd & 0xff, 0);
    g.writeUInt8(m.genl.version & 0xff, 1);
    g.writeUInt16LE(m.genl.reserved & 0xffff, 2);
    parts.push(g, m.fixed);
  }
  parts.push(encodeAttrs(m.attrs));
  if (m.trailer) parts.push(m.trailer);
  const body = Buffer.concat(parts);
  const len = NLMSG_HDRLEN + body.length;
  const out = Buffer.alloc(align4(len));
  out.writeUInt32LE((m.lenOverride ?? len) >>> 0, 0);
  out.writeUInt16LE(m.type & 0xffff, 4);
  out.writeUInt16LE(m.flags & 0xffff, 6);
  out.writeUInt32LE(m.seq >>> 0, 8);
  out.writeUInt32LE(m.pid >>> 0, 12);
  body.copy(out, NLMSG_HDRLEN);
  return out;
}

/** AttrRef points at one attribute of a tree: its list and index. */
export interface AttrRef {
  list: GenAttr[];
  index: number;
  depth: number;
}

/** attrRefs lists every attribute of the tree, depth first. */
export function attrRefs(attrs: GenAttr[], depth = 0, out: AttrRef[] = []): AttrRef[] {
  attrs.forEach((a, index) => {
    out.push({ list: attrs, index, depth });
    if (a.nested) attrRefs(a.nested, depth + 1, out);
  });
  return out;
}

/** cloneAttr deep-copies an attribute (payload bytes included). */
export function cloneAttr(a: GenAttr): GenAttr {
  return {
    ...a,
    payload: a.payload ? Buffer.from(a.payload) : undefined,
    nested: a.nested?.map(cloneAttr),
  };
}

export function cloneMsg(m: GenMsg): GenMsg {
  return {
    ...m,
    genl: m.genl ? { ...m.genl } : undefined,
    fixed: Buffer.from(m.fixed),
    attrs: m.attrs.map(cloneAttr),
    trailer: m.trailer ? Buffer.from(m.trailer) : undefined,
  };
}

/**
 * attrBoundaries gives the offsets (from the start of `buf`) where an attribute of a well-formed
 * attribute stream starts or ends, nests included: the truncation points of the mutator.
 */
export function attrBoundaries(buf: Buffer, base = 0, out: number[] = [], depth = 0): number[] {
  let off = 0;
  while (buf.length - off >= NLA_HDRLEN) {
    const len = buf.readUInt16LE(off);
    if (len < NLA_HDRLEN || len > buf.length - off) break;
    out.push(base + off);
    if (depth < 8 && len > NLA_HDRLEN + NLA_HDRLEN) attrBoundaries(buf.subarray(off + NLA_HDRLEN, off + len), base + off + NLA_HDRLEN, out, depth + 1);
    out.push(base + off + len);
    off += align4(len);
  }
  return out;
}
