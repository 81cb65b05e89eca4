/**
 * Small builders for test frames: each returns the header bytes followed by its payload, with
 * the fields a test does not name set to ordinary values. Nothing is checksummed (key
 * extraction never looks at checksums).
 */
import { hex, ip4, mac } from './key-builder';

export const MAC_A = '02:00:00:00:00:0a';
export const MAC_B = '02:00:00:00:00:0b';

const be16 = (v: number): Buffer => { const b = Buffer.alloc(2); b.writeUInt16BE(v); return b; };
const be32 = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0); return b; };

/** ip6 parses a compressed IPv6 address ("fe80::1"). */
export function ip6(s: string): Buffer {
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const words = (x: string | undefined): number[] => (x ? x.split(':').map((w) => parseInt(w, 16)) : []);
  const h = words(head);
  const t = words(tail);
  const all = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  return Buffer.concat(all.map(be16));
}

export interface EthOpts {
  src?: string;
  dst?: string;
  /** In-band VLAN tags, outermost first: [tpid, tci]. */
  tags?: [number, number][];
}

/** ether is an Ethernet frame: dst, src, tags, then `type` (omitted when null) and payload. */
export function ether(type: number | null, payload: Buffer = Buffer.alloc(0), o: EthOpts = {}): Buffer {
  return Buffer.concat([
    mac(o.dst ?? MAC_B), mac(o.src ?? MAC_A),
    ...(o.tags ?? []).map(([tpid, tci]) => Buffer.concat([be16(tpid), be16(tci)])),
    type === null ? Buffer.alloc(0) : be16(type), payload,
  ]);
}

export interface Ip4Opts {
  src?: string;
  dst?: string;
  proto?: number;
  tos?: number;
  ttl?: number;
  /** The whole flags + fragment offset word. */
  fragOff?: number;
  /** IHL field (default from the options' length). */
  ihl?: number;
  options?: Buffer;
}

/** ipv4 is an IPv4 header (20 bytes plus options) and payload. */
export function ipv4(o: Ip4Opts, payload: Buffer = Buffer.alloc(0)): Buffer {
  const opts = o.options ?? Buffer.alloc(0);
  const h = Buffer.alloc(20);
  h[0] = 0x40 | (o.ihl ?? 5 + opts.length / 4);
  h[1] = o.tos ?? 0;
  h.writeUInt16BE(20 + opts.length + payload.length, 2);
  h.writeUInt16BE(0x1234, 4);
  h.writeUInt16BE(o.fragOff ?? 0x4000, 6);
  h[8] = o.ttl ?? 64;
  h[9] = o.proto ?? 6;
  ip4(o.src ?? '10.0.0.1').copy(h, 12);
  ip4(o.dst ?? '10.0.0.2').copy(h, 16);
  return Buffer.concat([h, opts, payload]);
}

export interface Ip6Opts {
  src?: string;
  dst?: string;
  next?: number;
  tclass?: number;
  hlim?: number;
  label?: number;
}

/** ipv6 is an IPv6 header and payload. */
export function ipv6(o: Ip6Opts, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(40);
  h.writeUInt32BE(((6 << 28) | ((o.tclass ?? 0) << 20) | (o.label ?? 0)) >>> 0, 0);
  h.writeUInt16BE(payload.length, 4);
  h[6] = o.next ?? 6;
  h[7] = o.hlim ?? 64;
  ip6(o.src ?? '2001:db8::1').copy(h, 8);
  ip6(o.dst ?? '2001:db8::2').copy(h, 24);
  return Buffer.concat([h, payload]);
}

/** opt6 is a hop-by-hop / routing / destination options header of (units + 1) * 8 bytes. */
export function opt6(next: number, payload: Buffer = Buffer.alloc(0), units = 0): Buffer {
  const h = Buffer.alloc((units + 1) * 8);
  h[0] = next;
  h[1] = units;
  h[2] = 1; // a PadN option / routing type: content is not looked at
  return Buffer.concat([h, payload]);
}

/** frag6 is an IPv6 fragment header: offset in 8-byte units, M flag. */
export function frag6(next: number, offset: number, more: boolean, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(8);
  h[0] = next;
  h.writeUInt16BE((offset << 3) | (more ? 1 : 0), 2);
  h.writeUInt32BE(0xabcd, 4);
  return Buffer.concat([h, payload]);
}

/** ah6 is an authentication header of (units + 2) * 4 bytes. */
export function ah6(next: number, payload: Buffer = Buffer.alloc(0), units = 4): Buffer {
  const h = Buffer.alloc((units + 2) * 4);
  h[0] = next;
  h[1] = units;
  return Buffer.concat([h, payload]);
}

/** tcp is a TCP header: ports, the 12 flag bits, data offset in words. */
export function tcp(src: number, dst: number, flags = 0x002, doff = 5): Buffer {
  const h = Buffer.alloc(Math.max(20, doff * 4));
  h.writeUInt16BE(src, 0);
  h.writeUInt16BE(dst, 2);
  h.writeUInt32BE(1000, 4);
  h.writeUInt16BE(((doff & 0xf) << 12) | (flags & 0x0fff), 12);
  h.writeUInt16BE(65535, 14);
  return h;
}

export const udp = (src: number, dst: number, payload: Buffer = Buffer.alloc(0)): Buffer =>
  Buffer.concat([be16(src), be16(dst), be16(8 + payload.length), be16(0), payload]);
export const sctp = (src: number, dst: number): Buffer => Buffer.concat([be16(src), be16(dst), be32(1), be32(0)]);
/** icmp / icmpv6: type, code, checksum and a 4-byte rest of header. */
export const icmp = (type: number, code = 0, rest: Buffer = Buffer.alloc(4)): Buffer =>
  Buffer.concat([Buffer.of(type, code, 0, 0), rest]);

export interface ArpOpts {
  hrd?: number;
  pro?: number;
  hln?: number;
  pln?: number;
  op?: number;
  sha?: string;
  sip?: string;
  tha?: string;
  tip?: string;
}

/** arp is an ARP packet for IPv4 over Ethernet (28 bytes) unless told otherwise. */
export function arp(o: ArpOpts = {}): Buffer {
  return Buffer.concat([
    be16(o.hrd ?? 1), be16(o.pro ?? 0x0800), Buffer.of(o.hln ?? 6, o.pln ?? 4), be16(o.op ?? 1),
    mac(o.sha ?? MAC_A), ip4(o.sip ?? '10.0.0.1'), mac(o.tha ?? '00:00:00:00:00:00'), ip4(o.tip ?? '10.0.0.2'),
  ]);
}

/** ndOpt is one ND option: type, length in 8-byte units, content padded to the length. */
export function ndOpt(type: number, units: number, content: Buffer): Buffer {
  const b = Buffer.alloc(Math.max(2, units * 8));
  b[0] = type;
  b[1] = units;
  content.copy(b, 2, 0, Math.max(0, b.length - 2));
  return b;
}
export const sll = (m: string): Buffer => ndOpt(1, 1, mac(m));
export const tll = (m: string): Buffer => ndOpt(2, 1, mac(m));

/** nd is an NS (135) / NA (136) message: ICMPv6 header, reserved word, target, options. */
export function nd(type: number, target: string, ...opts: Buffer[]): Buffer {
  return Buffer.concat([Buffer.of(type, 0, 0, 0), Buffer.alloc(4), ip6(target), ...opts]);
}

/** lse is one MPLS label stack entry. */
export function lse(label: number, tc: number, bos: boolean, ttl: number): Buffer {
  return be32((label << 12) | (tc << 9) | ((bos ? 1 : 0) << 8) | ttl);
}

/** nshHdr is an NSH header: version, flags, ttl, length in words, MD type, next protocol, SPI/SI, context. */
export function nshHdr(o: { ver?: number; flags?: number; ttl?: number; len?: number; mdtype?: number; np?: number; spi?: number; si?: number }, ctx: Buffer): Buffer {
  const len = o.len ?? (8 + ctx.length) / 4;
  const h = Buffer.alloc(8);
  h.writeUInt16BE(((o.ver ?? 0) << 14) | ((o.flags ?? 0) << 12) | ((o.ttl ?? 63) << 6) | len, 0);
  h[2] = o.mdtype ?? 1;
  h[3] = o.np ?? 1;
  h.writeUInt32BE((((o.spi ?? 0x123) << 8) | (o.si ?? 255)) >>> 0, 4);
  return Buffer.concat([h, ctx]);
}

export { hex };
