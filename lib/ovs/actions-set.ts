/**
 * The set actions of net/openvswitch/actions.c: execute_set_action() (set(tunnel) only) and
 * execute_masked_set_action() with set_eth_addr(), set_ipv4(), set_ipv6(), set_tcp(),
 * set_udp(), set_sctp() and set_mpls(). Values arrive already masked by validation
 * (validate_masked), the mask follows the value in the attribute. Fields are rewritten in
 * `skb.data`, checksums updated incrementally, and the flow key follows each change.
 */
import { Errno } from '../nl/errno';
import type { Attr } from '../schema/validate';
import type { ExecEnv } from './actions-env';
import { CSUM_MANGLED_0, csumReplace, csumReplace2, ipv4ChangeDsfield, sctpComputeCksum } from './checksum';
import type { ActionObject } from './flow-actions-buffer';
import type { ActionSchema } from './flow-actions-schema';
import { PROTO } from './flow-extract-consts';
import { SWKEY } from './flow-key';
import { ipv6HasActiveRoutingHdr } from './ipv6-exthdr';
import { ethPMpls } from './net-consts';
import type { Skb } from './skb';
import { ETH_ALEN, ETH_HLEN, skbClearHash } from './skb-edit';

/** IP_OFFSET: the fragment offset bits of the IPv4 frag_off field. */
const IP_OFFSET = 0x1fff;
/** IPV6_FLOWINFO_FLOWLABEL (host order). */
const IPV6_FLOWLABEL = 0x000fffff;
/** Header sizes the kernel makes writable before touching them. */
const IPV4_HLEN = 20;
const IPV6_HLEN = 40;
const TCP_HLEN = 20;
const UDP_HLEN = 8;
const SCTP_HLEN = 12;
const MPLS_HLEN = 4;
const ICMP6_HLEN = 8;

/** Offsets inside the L3/L4 headers. */
const IP4 = { tos: 1, fragOff: 6, ttl: 8, proto: 9, check: 10, src: 12, dst: 16 } as const;
const IP6 = { hlimit: 7, src: 8, dst: 24 } as const;
const TCP_CHECK = 16;
const UDP_CHECK = 6;
const ICMP6_CHECK = 2;

/** Context of one set: the value and the mask half of the key attribute. */
interface SetCtx {
  env: ExecEnv;
  skb: Skb;
  key: Buffer;
  v: Buffer;
  m: Buffer;
  S: ActionSchema;
}

const ENOMEM = -Errno.ENOMEM;
const EINVAL = -Errno.EINVAL;

/** OVS_MASKED(old, key, mask): key bits where the mask is set, old bits elsewhere. */
const masked = (old: number, v: number, m: number): number => (v | (old & ~m)) >>> 0;

/** maskedBytes is OVS_MASKED over byte strings. */
function maskedBytes(old: Buffer, v: Buffer, m: Buffer): Buffer {
  const out = Buffer.alloc(v.length);
  for (let i = 0; i < v.length; i++) out[i] = (v[i] | (old[i] & ~m[i])) & 0xff;
  return out;
}

const nonZero = (b: Buffer): boolean => b.some((x) => x !== 0);

/** Untrack the packet: a rewritten address or port no longer matches its connection. */
const ctClear = (c: SetCtx): void => c.env.conntrack.clear(c.skb);

// kernel: set_eth_addr()
function setEthAddr(c: SetCtx): number {
  const d = c.skb.data;
  if (d.length < ETH_HLEN) return ENOMEM;
  const src = c.S.off('ovs-key-ethernet', 'eth-src');
  const dst = c.S.off('ovs-key-ethernet', 'eth-dst');
  maskedBytes(d.subarray(ETH_ALEN, 2 * ETH_ALEN), c.v.subarray(src, src + ETH_ALEN), c.m.subarray(src, src + ETH_ALEN)).copy(d, ETH_ALEN);
  maskedBytes(d.subarray(0, ETH_ALEN), c.v.subarray(dst, dst + ETH_ALEN), c.m.subarray(dst, dst + ETH_ALEN)).copy(d, 0);
  d.copy(c.key, SWKEY.ethSrc.off, ETH_ALEN, 2 * ETH_ALEN);
  d.copy(c.key, SWKEY.ethDst.off, 0, ETH_ALEN);
  return 0;
}

// kernel: update_ip_l4_checksum()
function updateIpL4Checksum(skb: Skb, nh: number, from: Buffer, to: Buffer): void {
  const d = skb.data;
  const th = skb.transportHeader;
  if (d.readUInt16BE(nh + IP4.fragOff) & IP_OFFSET || th < 0) return;
  const tlen = d.length - th;
  if (d[nh + IP4.proto] === PROTO.TCP) {
    if (tlen >= TCP_HLEN) csumReplace(d, th + TCP_CHECK, from, to);
  } else if (d[nh + IP4.proto] === PROTO.UDP) {
    if (tlen >= UDP_HLEN && d.readUInt16BE(th + UDP_CHECK)) {
      csumReplace(d, th + UDP_CHECK, from, to);
      if (!d.readUInt16BE(th + UDP_CHECK)) d.writeUInt16BE(CSUM_MANGLED_0, th + UDP_CHECK);
    }
  }
}

// kernel: set_ip_addr()
function setIpAddr(c: SetCtx, nh: number, at: number, to: Buffer): void {
  const d = c.skb.data;
  const from = Buffer.from(d.subarray(at, at + 4));
  updateIpL4Checksum(c.skb, nh, from, to);
  csumReplace(d, nh + IP4.check, from, to);
  skbClearHash(c.skb);
  ctClear(c);
  to.copy(d, at);
}

// kernel: set_ipv4()
function setIpv4(c: SetCtx): number {
  const nh = c.skb.networkHeader;
  if (nh < 0 || c.skb.data.length < nh + IPV4_HLEN) return ENOMEM;
  const o = (m: string): number => c.S.off('ovs-key-ipv4', m);
  for (const [field, at, keyOff] of [['ipv4-src', IP4.src, SWKEY.ipv4Src.off], ['ipv4-dst', IP4.dst, SWKEY.ipv4Dst.off]] as const) {
    const mask = c.m.readUInt32BE(o(field));
    if (!mask) continue;
    const d = c.skb.data;
    const now = masked(d.readUInt32BE(nh + at), c.v.readUInt32BE(o(field)), mask);
    if (now !== d.readUInt32BE(nh + at)) {
      const to = Buffer.alloc(4);
      to.writeUInt32BE(now);
      setIpAddr(c, nh, nh + at, to);
      to.copy(c.key, keyOff);
    }
  }
  const d = c.skb.data;
  const tosMask = c.m[o('ipv4-tos')];
  if (tosMask) {
    ipv4ChangeDsfield(d, nh, ~tosMask & 0xff, c.v[o('ipv4-tos')]);
    c.key[SWKEY.ipTos.off] = d[nh + IP4.tos];
  }
  const ttlMask = c.m[o('ipv4-ttl')];
  if (ttlMask) {
    const ttl = masked(d[nh + IP4.ttl], c.v[o('ipv4-ttl')], ttlMask) & 0xff;
    csumReplace2(d, nh + IP4.check, d[nh + IP4.ttl] << 8, ttl << 8);
    d[nh + IP4.ttl] = ttl;
    c.key[SWKEY.ipTtl.off] = ttl;
  }
  return 0;
}

// kernel: update_ipv6_checksum()
function updateIpv6Checksum(skb: Skb, l4: number, from: Buffer, to: Buffer): void {
  const d = skb.data;
  const th = skb.transportHeader;
  if (l4 === PROTO.FRAGMENT || th < 0) return;
  const tlen = d.length - th;
  if (l4 === PROTO.TCP) {
    if (tlen >= TCP_HLEN) csumReplace(d, th + TCP_CHECK, from, to);
  } else if (l4 === PROTO.UDP) {
    if (tlen >= UDP_HLEN && d.readUInt16BE(th + UDP_CHECK)) {
      csumReplace(d, th + UDP_CHECK, from, to);
      if (!d.readUInt16BE(th + UDP_CHECK)) d.writeUInt16BE(CSUM_MANGLED_0, th + UDP_CHECK);
    }
  } else if (l4 === PROTO.ICMPV6) {
    if (tlen >= ICMP6_HLEN) csumReplace(d, th + ICMP6_CHECK, from, to);
  }
}

// kernel: set_ipv6_addr()
function setIpv6Addr(c: SetCtx, at: number, to: Buffer, recalc: boolean): void {
  const d = c.skb.data;
  if (recalc) updateIpv6Checksum(c.skb, c.key[SWKEY.ipProto.off], Buffer.from(d.subarray(at, at + 16)), to);
  skbClearHash(c.skb);
  ctClear(c);
  to.copy(d, at);
}

// kernel: set_ipv6()
function setIpv6(c: SetCtx): number {
  const nh = c.skb.networkHeader;
  if (nh < 0 || c.skb.data.length < nh + IPV6_HLEN) return ENOMEM;
  const o = (m: string): number => c.S.off('ovs-key-ipv6', m);
  for (const [field, at, keyOff] of [['ipv6-src', IP6.src, SWKEY.ipv6Src.off], ['ipv6-dst', IP6.dst, SWKEY.ipv6Dst.off]] as const) {
    const mask = c.m.subarray(o(field), o(field) + 16);
    if (!nonZero(mask)) continue;
    const d = c.skb.data;
    const now = maskedBytes(d.subarray(nh + at, nh + at + 16), c.v.subarray(o(field), o(field) + 16), mask);
    if (now.equals(d.subarray(nh + at, nh + at + 16))) continue;
    // A routing header with segments left: the final destination is not this address.
    const recalc = field === 'ipv6-src' || !ipv6HasActiveRoutingHdr(d, nh);
    setIpv6Addr(c, nh + at, now, recalc);
    now.copy(c.key, keyOff);
  }
  const d = c.skb.data;
  const tcMask = c.m[o('ipv6-tclass')];
  if (tcMask) {
    // set_ipv6_dsfield(), ipv6_change_dsfield()
    const first = d.readUInt16BE(nh);
    const tclass = masked((first >> 4) & 0xff, c.v[o('ipv6-tclass')], tcMask) & 0xff;
    const keep = ((((~tcMask & 0xff) << 4) | 0xf00f) & 0xffff);
    d.writeUInt16BE(((first & keep) | (tclass << 4)) & 0xffff, nh);
    c.key[SWKEY.ipTos.off] = (d.readUInt16BE(nh) >> 4) & 0xff;
  }
  const flMask = c.m.readUInt32BE(o('ipv6-label'));
  if (flMask) {
    // set_ipv6_fl(): the 24 bits after the version nibble; the 4 tclass bits are never masked.
    const ofl = (d[nh + 1] << 16) | (d[nh + 2] << 8) | d[nh + 3];
    const fl = masked(ofl, c.v.readUInt32BE(o('ipv6-label')), flMask);
    d[nh + 1] = (fl >> 16) & 0xff;
    d[nh + 2] = (fl >> 8) & 0xff;
    d[nh + 3] = fl & 0xff;
    c.key.writeUInt32BE((d.readUInt32BE(nh) & IPV6_FLOWLABEL) >>> 0, SWKEY.ipv6Label.off);
  }
  const hlMask = c.m[o('ipv6-hlimit')];
  if (hlMask) {
    d[nh + IP6.hlimit] = masked(d[nh + IP6.hlimit], c.v[o('ipv6-hlimit')], hlMask) & 0xff;
    c.key[SWKEY.ipTtl.off] = d[nh + IP6.hlimit];
  }
  return 0;
}

/** set_tp_port(): the port rewritten with its checksum (no pseudo-header involved). */
// kernel: set_tp_port()
function setTpPort(c: SetCtx, at: number, port: number, check: number): void {
  const d = c.skb.data;
  ctClear(c);
  const from = Buffer.from(d.subarray(at, at + 2));
  const to = Buffer.alloc(2);
  to.writeUInt16BE(port);
  csumReplace(d, check, from, to);
  to.copy(d, at);
}

/** Ports of a tcp/udp/sctp set: masked new values and the key struct member offsets. */
function newPorts(c: SetCtx, struct: string, prefix: string, th: number): [number, number] {
  const d = c.skb.data;
  const src = c.S.off(struct, `${prefix}-src`);
  const dst = c.S.off(struct, `${prefix}-dst`);
  return [
    masked(d.readUInt16BE(th), c.v.readUInt16BE(src), c.m.readUInt16BE(src)) & 0xffff,
    masked(d.readUInt16BE(th + 2), c.v.readUInt16BE(dst), c.m.readUInt16BE(dst)) & 0xffff,
  ];
}

// kernel: set_udp()
function setUdp(c: SetCtx): number {
  const th = c.skb.transportHeader;
  if (th < 0 || c.skb.data.length < th + UDP_HLEN) return ENOMEM;
  const [src, dst] = newPorts(c, 'ovs-key-udp', 'udp', th);
  const d = c.skb.data;
  if (d.readUInt16BE(th + UDP_CHECK)) {
    if (src !== d.readUInt16BE(th)) {
      setTpPort(c, th, src, th + UDP_CHECK);
      c.key.writeUInt16BE(src, SWKEY.tpSrc.off);
    }
    if (dst !== d.readUInt16BE(th + 2)) {
      setTpPort(c, th + 2, dst, th + UDP_CHECK);
      c.key.writeUInt16BE(dst, SWKEY.tpDst.off);
    }
    if (!d.readUInt16BE(th + UDP_CHECK)) d.writeUInt16BE(CSUM_MANGLED_0, th + UDP_CHECK);
  } else {
    d.writeUInt16BE(src, th);
    d.writeUInt16BE(dst, th + 2);
    c.key.writeUInt16BE(src, SWKEY.tpSrc.off);
    c.key.writeUInt16BE(dst, SWKEY.tpDst.off);
    ctClear(c);
  }
  skbClearHash(c.skb);
  return 0;
}

// kernel: set_tcp()
function setTcp(c: SetCtx): number {
  const th = c.skb.transportHeader;
  if (th < 0 || c.skb.data.length < th + TCP_HLEN) return ENOMEM;
  const [src, dst] = newPorts(c, 'ovs-key-tcp', 'tcp', th);
  const d = c.skb.data;
  if (src !== d.readUInt16BE(th)) {
    setTpPort(c, th, src, th + TCP_CHECK);
    c.key.writeUInt16BE(src, SWKEY.tpSrc.off);
  }
  if (dst !== d.readUInt16BE(th + 2)) {
    setTpPort(c, th + 2, dst, th + TCP_CHECK);
    c.key.writeUInt16BE(dst, SWKEY.tpDst.off);
  }
  skbClearHash(c.skb);
  return 0;
}

// kernel: set_sctp()
function setSctp(c: SetCtx): number {
  const th = c.skb.transportHeader;
  if (th < 0 || c.skb.data.length < th + SCTP_HLEN) return ENOMEM;
  const d = c.skb.data;
  const oldCsum = d.readUInt32LE(th + 8);
  const oldCorrect = sctpComputeCksum(d, th);
  const [src, dst] = newPorts(c, 'ovs-key-sctp', 'sctp', th);
  d.writeUInt16BE(src, th);
  d.writeUInt16BE(dst, th + 2);
  const newCsum = sctpComputeCksum(d, th);
  // Carry any checksum errors through.
  d.writeUInt32LE((oldCsum ^ oldCorrect ^ newCsum) >>> 0, th + 8);
  skbClearHash(c.skb);
  ctClear(c);
  c.key.writeUInt16BE(src, SWKEY.tpSrc.off);
  c.key.writeUInt16BE(dst, SWKEY.tpDst.off);
  return 0;
}

// kernel: set_mpls(), skb_mpls_update_lse()
function setMpls(c: SetCtx): number {
  const nh = c.skb.networkHeader;
  if (nh < 0 || c.skb.data.length < nh + MPLS_HLEN) return ENOMEM;
  const d = c.skb.data;
  const lse = masked(d.readUInt32BE(nh), c.v.readUInt32BE(0), c.m.readUInt32BE(0));
  if (!ethPMpls(c.skb.protocol)) return EINVAL;
  d.writeUInt32BE(lse, nh);
  c.key.writeUInt32BE(lse, SWKEY.mplsLse.off);
  return 0;
}

/** setMetaU32 is OVS_SET_MASKED on skb->priority / skb->mark with the key's phy field following. */
function setMeta(c: SetCtx, field: 'priority' | 'mark', keyOff: number): number {
  const now = masked(c.skb[field], c.v.readUInt32LE(0), c.m.readUInt32LE(0));
  c.skb[field] = now;
  c.key.writeUInt32LE(now, keyOff);
  return 0;
}

/**
 * executeMaskedSet is execute_masked_set_action(): `a` is the key attribute nested in a
 * set_masked / set_to_masked action (value, then mask). Returns 0 or a negative errno;
 * attributes the kernel has no case for are ignored.
 */
// kernel: execute_masked_set_action()
export function executeMaskedSet(env: ExecEnv, skb: Skb, key: Buffer, a: Attr, S: ActionSchema): number {
  const half = a.payload.length >> 1;
  const c: SetCtx = { env, skb, key, v: a.payload.subarray(0, half), m: a.payload.subarray(half), S };
  switch (S.keys.byType.get(a.type)?.name) {
    case 'priority': return setMeta(c, 'priority', SWKEY.priority.off);
    case 'skb-mark': return setMeta(c, 'mark', SWKEY.skbMark.off);
    case 'ethernet': return setEthAddr(c);
    case 'ipv4': return setIpv4(c);
    case 'ipv6': return setIpv6(c);
    case 'tcp': return setTcp(c);
    case 'udp': return setUdp(c);
    case 'sctp': return setSctp(c);
    case 'mpls': return setMpls(c);
    // Masked tunnel data, conntrack fields and NSH cannot be set.
    case 'tunnel-info':
    case 'ct-state':
    case 'ct-zone':
    case 'ct-mark':
    case 'ct-labels':
    case 'ct-orig-tuple-ipv4':
    case 'ct-orig-tuple-ipv6':
    case 'nsh':
      return EINVAL;
    default:
      return 0;
  }
}

/**
 * executeSet is execute_set_action(): only set(tunnel_info) runs unmasked; it attaches the
 * stored tunnel metadata to the skb (skb_dst_set of the metadata_dst).
 */
// kernel: execute_set_action()
export function executeSet(skb: Skb, a: Attr, objs: readonly ActionObject[] | undefined, S: ActionSchema): number {
  if (a.type !== S.num(S.keys, 'tunnel-info')) return EINVAL;
  const info = objs?.[a.payload.readUInt32LE(0)];
  if (info?.kind !== 'tunnel') return EINVAL;
  skb.tunnelInfo = info;
  return 0;
}
