/**
 * Helpers to write OVS_KEY_ATTR_* streams in tests: attribute numbers and struct layouts come
 * from the compiled schema (keySchema()), values are written the way clients send them.
 */
import { NLA_HDRLEN, align4 } from '../../../lib/nl/constants';
import { NlWriter } from '../../../lib/nl/writer';
import { keySchema } from '../../../lib/ovs/flow-netlink-attrs';
import { ovsNlaPutKey } from '../../../lib/ovs/flow-netlink-put';
import type { CtSupport } from '../../../lib/ovs/flow-netlink-match';
import { encodeStruct, type StructValue } from '../../../lib/schema/struct';

export const S = keySchema();
export const { K, T, N, V } = S;

/** nla writes one attribute: header, payload and zero padding (nla_put). */
export function nla(type: number, payload: Buffer | number[] = []): Buffer {
  const p = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const out = Buffer.alloc(align4(NLA_HDRLEN + p.length));
  out.writeUInt16LE(NLA_HDRLEN + p.length, 0);
  out.writeUInt16LE(type, 2);
  p.copy(out, NLA_HDRLEN);
  return out;
}

/** nest writes a nest holding `children` (already encoded attributes). */
export const nest = (type: number, ...children: Buffer[]): Buffer => nla(type, Buffer.concat(children));
/** attrs is the payload of OVS_FLOW_ATTR_KEY / _MASK. */
export const attrs = (...a: Buffer[]): Buffer => Buffer.concat(a);

export const u8 = (v: number): Buffer => Buffer.of(v);
export const u16 = (v: number): Buffer => { const b = Buffer.alloc(2); b.writeUInt16LE(v); return b; };
export const be16 = (v: number): Buffer => { const b = Buffer.alloc(2); b.writeUInt16BE(v); return b; };
export const u32 = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); return b; };
export const be32 = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0); return b; };
export const be64 = (v: bigint): Buffer => { const b = Buffer.alloc(8); b.writeBigUInt64BE(v); return b; };
export const ip4 = (s: string): Buffer => Buffer.from(s.split('.').map(Number));
export const mac = (s: string): Buffer => Buffer.from(s.split(':').map((x) => parseInt(x, 16)));
export const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
export const fill = (n: number, v: number): Buffer => Buffer.alloc(n, v);

/** st encodes a schema struct (big-endian members take host-order numbers). */
export const st = (name: string, v: Partial<StructValue>): Buffer => encodeStruct(S.family.struct(name), v);

// Typical attributes.
export const inPort = (p: number): Buffer => nla(K['in-port'], u32(p));
export const eth = (src = '00:00:00:00:00:01', dst = '00:00:00:00:00:02'): Buffer =>
  nla(K.ethernet, Buffer.concat([mac(src), mac(dst)]));
export const ethType = (t: number): Buffer => nla(K.ethertype, be16(t));
export const vlan = (tci: number): Buffer => nla(K.vlan, be16(tci));
export const encap = (...children: Buffer[]): Buffer => nest(K.encap, ...children);
export const ipv4 = (v: Partial<StructValue> = {}): Buffer =>
  nla(K.ipv4, st('ovs-key-ipv4', { 'ipv4-src': 0x0a000001, 'ipv4-dst': 0x0a000002, 'ipv4-proto': 6, 'ipv4-ttl': 64, ...v }));
export const ipv6 = (v: Partial<StructValue> = {}): Buffer => nla(K.ipv6, st('ovs-key-ipv6', { 'ipv6-hlimit': 64, ...v }));
export const tcp = (src = 1, dst = 2): Buffer => nla(K.tcp, st('ovs-key-tcp', { 'tcp-src': src, 'tcp-dst': dst }));
export const tcpFlags = (f = 0): Buffer => nla(K['tcp-flags'], be16(f));
export const udp = (src = 1, dst = 53): Buffer => nla(K.udp, st('ovs-key-udp', { 'udp-src': src, 'udp-dst': dst }));
export const sctp = (src = 1, dst = 2): Buffer => nla(K.sctp, st('ovs-key-sctp', { 'sctp-src': src, 'sctp-dst': dst }));
export const icmp = (type = 8, code = 0): Buffer => nla(K.icmp, st('ovs-key-icmp', { 'icmp-type': type, 'icmp-code': code }));
export const icmpv6 = (type = 128, code = 0): Buffer =>
  nla(K.icmpv6, st('ovs-key-icmpv6', { 'icmpv6-type': type, 'icmpv6-code': code }));
export const nd = (v: Partial<StructValue> = {}): Buffer => nla(K.nd, st('ovs-key-nd', v));
export const arp = (v: Partial<StructValue> = {}): Buffer => nla(K.arp, st('ovs-key-arp', { 'arp-op': 1, ...v }));
export const mpls = (...lse: number[]): Buffer => nla(K.mpls, Buffer.concat(lse.map(be32)));
export const tunnel = (...children: Buffer[]): Buffer => nest(K.tunnel, ...children);
export const tun = {
  id: (v: bigint) => nla(T.id, be64(v)),
  src4: (s: string) => nla(T['ipv4-src'], ip4(s)),
  dst4: (s: string) => nla(T['ipv4-dst'], ip4(s)),
  src6: (b: Buffer) => nla(T['ipv6-src'], b),
  dst6: (b: Buffer) => nla(T['ipv6-dst'], b),
  tos: (v: number) => nla(T.tos, u8(v)),
  ttl: (v: number) => nla(T.ttl, u8(v)),
  df: () => nla(T['dont-fragment']),
  csum: () => nla(T.csum),
  oam: () => nla(T.oam),
  tpSrc: (v: number) => nla(T['tp-src'], be16(v)),
  tpDst: (v: number) => nla(T['tp-dst'], be16(v)),
  geneve: (b: Buffer) => nla(T['geneve-opts'], b),
  vxlan: (...c: Buffer[]) => nest(T['vxlan-opts'], ...c),
  gbp: (v: number) => nla(V.gbp, u32(v)),
  erspan: (b: Buffer) => nla(T['erspan-opts'], b),
  pad: () => nla(T.pad),
  bridge: () => nla(T['ipv4-info-bridge']),
};
export const nsh = (...children: Buffer[]): Buffer => nest(K.nsh, ...children);
export const nshBase = (v: Partial<StructValue> = {}): Buffer =>
  nla(N.base, st('ovs-nsh-key-base', { mdtype: 1, np: 3, ttl: 63, 'path-hdr': 0x123456, ...v }));
export const nshMd1 = (ctx: Buffer = hex('00000001000000020000000300000004')): Buffer => nla(N.md1, ctx);

/** putKey returns the payload of ovs_nla_put_key(swkey, output, isMask) (the nest's content). */
export function putKey(swkey: Buffer, output: Buffer, isMask: boolean, ct?: CtSupport): Buffer {
  const w = new NlWriter();
  ovsNlaPutKey(w, isMask ? 'mask' : 'key', swkey, output, isMask, { ct });
  return w.finish().subarray(NLA_HDRLEN);
}
