/**
 * Tunnel metadata of the flow key: OVS_KEY_ATTR_TUNNEL to sw_flow_key.tun_key / tun_opts and
 * back (net/openvswitch/flow_netlink.c, Linux 6.12: ip_tun_from_nlattr() and the option
 * parsers, __ip_tun_to_nlattr()).
 */
import type { NlWriter } from '../nl/writer';
import { SWKEY, TUN_OPTS_MAX, tunOptsOffset } from './flow-key';
import {
  checkAttrLen, einval, memsetField, nlaForEachNested, putBytes, putField, putU8, type KeyCtx, type SwFlowMatch, expectedAttrLen } from './flow-netlink-match';
import { AF_INET, AF_INET6, IP_TUNNEL_BIT, IP_TUNNEL_OPTIONS_PRESENT } from './net-consts';

/** sizeof(struct erspan_metadata) (int version + union {be32 index; erspan_md2}): 12 bytes. */
const ERSPAN_METADATA_LEN = 12;

const tunBit = (b: number): number => 1 << b;

// kernel: genev_tun_opt_from_nlattr()
function genevTunOptFromNlattr(p: Buffer, m: SwFlowMatch, isMask: boolean, ctx: KeyCtx): void {
  if (p.length > TUN_OPTS_MAX) throw einval(ctx, `Geneve option length err (len ${p.length}, max ${TUN_OPTS_MAX}).`);
  if (p.length % 4 !== 0) throw einval(ctx, `Geneve opt len ${p.length} is not a multiple of 4.`);
  if (!isMask) {
    putU8(m, SWKEY.tunOptsLen, p.length, false);
  } else {
    // The mask must have the key's length: it is the only place the two are compared.
    const keyLen = m.key[SWKEY.tunOptsLen.off];
    if (keyLen !== p.length) throw einval(ctx, `Geneve option len ${keyLen} != mask len ${p.length}`);
    putU8(m, SWKEY.tunOptsLen, 0xff, true);
  }
  putBytes(m, tunOptsOffset(p.length), p, isMask);
}

// kernel: vxlan_tun_opt_from_nlattr()
function vxlanTunOptFromNlattr(p: Buffer, m: SwFlowMatch, isMask: boolean, ctx: KeyCtx): void {
  const { vxlanSet, V, vxlanMetadataLen } = ctx.S;
  const opts = Buffer.alloc(vxlanMetadataLen); // struct vxlan_metadata { u32 gbp; }
  const rem = nlaForEachNested(p, (a) => {
    if (a.type > vxlanSet.maxType) throw einval(ctx, `VXLAN extension ${a.type} out of range max ${vxlanSet.maxType}`);
    if (!checkAttrLen(vxlanSet, a.type, a.payload.length)) {
      throw einval(ctx, `VXLAN extension ${a.type} has unexpected len ${a.payload.length} expected ${expectedAttrLen(vxlanSet, a.type)}`);
    }
    if (a.type !== V.gbp) throw einval(ctx, `Unknown VXLAN extension attribute ${a.type}`);
    a.payload.copy(opts, 0, 0, vxlanMetadataLen);
  });
  if (rem) throw einval(ctx, `VXLAN extension message has ${rem} unknown bytes.`);
  putU8(m, SWKEY.tunOptsLen, isMask ? 0xff : vxlanMetadataLen, isMask);
  putBytes(m, tunOptsOffset(vxlanMetadataLen), opts, isMask);
}

// kernel: erspan_tun_opt_from_nlattr()
function erspanTunOptFromNlattr(p: Buffer, m: SwFlowMatch, isMask: boolean, ctx: KeyCtx): void {
  if (p.length > TUN_OPTS_MAX) throw einval(ctx, `ERSPAN option length err (len ${p.length}, max ${TUN_OPTS_MAX}).`);
  // The key records sizeof(struct erspan_metadata) whatever the attribute's length, but the
  // bytes go where an option of the attribute's length would end: kept as the kernel does.
  putU8(m, SWKEY.tunOptsLen, isMask ? 0xff : ERSPAN_METADATA_LEN, isMask);
  putBytes(m, tunOptsOffset(p.length), p, isMask);
}

/**
 * ipTunFromNlattr is ip_tun_from_nlattr(): parses a TUNNEL nest into the key or the mask and
 * returns the options attribute type it held (0 for none).
 * @throws {@link NlError} EINVAL
 */
// kernel: ip_tun_from_nlattr()
export function ipTunFromNlattr(p: Buffer, m: SwFlowMatch, isMask: boolean, ctx: KeyCtx): number {
  const { tunSet, T } = ctx.S;
  let ttl = false;
  let ipv4 = false;
  let ipv6 = false;
  let infoBridge = false;
  let flags = 0;
  let optsType = 0;
  const rem = nlaForEachNested(p, (a) => {
    const t = a.type;
    const v = a.payload;
    if (t > tunSet.maxType) throw einval(ctx, `Tunnel attr ${t} out of range max ${tunSet.maxType}`);
    if (!checkAttrLen(tunSet, t, v.length)) throw einval(ctx, `Tunnel attr ${t} has unexpected len ${v.length} expected ${expectedAttrLen(tunSet, t)}`);
    switch (t) {
      case T.id: putField(m, SWKEY.tunId, v, isMask); flags |= tunBit(IP_TUNNEL_BIT.KEY); break;
      case T['ipv4-src']: putField(m, SWKEY.tunIpv4Src, v, isMask); ipv4 = true; break;
      case T['ipv4-dst']: putField(m, SWKEY.tunIpv4Dst, v, isMask); ipv4 = true; break;
      case T['ipv6-src']: putField(m, SWKEY.tunIpv6Src, v, isMask); ipv6 = true; break;
      case T['ipv6-dst']: putField(m, SWKEY.tunIpv6Dst, v, isMask); ipv6 = true; break;
      case T.tos: putU8(m, SWKEY.tunTos, v[0], isMask); break;
      case T.ttl: putU8(m, SWKEY.tunTtl, v[0], isMask); ttl = true; break;
      case T['dont-fragment']: flags |= tunBit(IP_TUNNEL_BIT.DONT_FRAGMENT); break;
      case T.csum: flags |= tunBit(IP_TUNNEL_BIT.CSUM); break;
      case T['tp-src']: putField(m, SWKEY.tunTpSrc, v, isMask); break;
      case T['tp-dst']: putField(m, SWKEY.tunTpDst, v, isMask); break;
      case T.oam: flags |= tunBit(IP_TUNNEL_BIT.OAM); break;
      case T['geneve-opts']:
        if (optsType) throw einval(ctx, 'Multiple metadata blocks provided');
        genevTunOptFromNlattr(v, m, isMask, ctx);
        flags |= tunBit(IP_TUNNEL_BIT.GENEVE_OPT);
        optsType = t;
        break;
      case T['vxlan-opts']:
        if (optsType) throw einval(ctx, 'Multiple metadata blocks provided');
        vxlanTunOptFromNlattr(v, m, isMask, ctx);
        flags |= tunBit(IP_TUNNEL_BIT.VXLAN_OPT);
        optsType = t;
        break;
      case T.pad: break;
      case T['erspan-opts']:
        if (optsType) throw einval(ctx, 'Multiple metadata blocks provided');
        erspanTunOptFromNlattr(v, m, isMask, ctx);
        flags |= tunBit(IP_TUNNEL_BIT.ERSPAN_OPT);
        optsType = t;
        break;
      case T['ipv4-info-bridge']: infoBridge = true; ipv4 = true; break;
      default: throw einval(ctx, `Unknown IP tunnel attribute ${t}`);
    }
  });

  // SW_FLOW_KEY_BITMAP_COPY: the whole unsigned long is copied.
  const fl = Buffer.alloc(SWKEY.tunFlags.len);
  fl.writeUInt32LE(flags >>> 0, 0);
  putField(m, SWKEY.tunFlags, fl, isMask);
  if (isMask) memsetField(m, SWKEY.tunProto, 0xff, true);
  else putU8(m, SWKEY.tunProto, ipv6 ? AF_INET6 : AF_INET, false);

  if (rem > 0) throw einval(ctx, `IP tunnel attribute has ${rem} unknown bytes.`);
  if (ipv4 && ipv6) throw einval(ctx, 'Mixed IPv4 and IPv6 tunnel attributes');
  if (!isMask) {
    const k = m.key;
    if (!ipv4 && !ipv6) throw einval(ctx, 'IP tunnel dst address not specified');
    if (ipv4) {
      if (infoBridge) {
        const rest = flags & ~tunBit(IP_TUNNEL_BIT.KEY);
        if (k.readUInt32BE(SWKEY.tunIpv4Src.off) || k.readUInt32BE(SWKEY.tunIpv4Dst.off) ||
            k.readUInt16BE(SWKEY.tunTpSrc.off) || k.readUInt16BE(SWKEY.tunTpDst.off) ||
            k[SWKEY.tunTtl.off] || k[SWKEY.tunTos.off] || rest) {
          throw einval(ctx, 'IPv4 tun info is not correct');
        }
      } else if (!k.readUInt32BE(SWKEY.tunIpv4Dst.off)) {
        throw einval(ctx, 'IPv4 tunnel dst address is zero');
      }
    }
    if (ipv6 && isZero(k, SWKEY.tunIpv6Dst.off, SWKEY.tunIpv6Dst.len)) throw einval(ctx, 'IPv6 tunnel dst address is zero');
    if (!ttl && !infoBridge) throw einval(ctx, 'IP tunnel TTL not specified.');
  }
  return optsType;
}

function isZero(b: Buffer, off: number, len: number): boolean {
  for (let i = off; i < off + len; i++) if (b[i]) return false;
  return true;
}

/**
 * ipTunToNlattr is ip_tun_to_nlattr(): writes OVS_KEY_ATTR_TUNNEL for the tunnel fields of
 * `output` (a key or a mask). `optsLen` and `tunProto` come from the flow's key (`swkey`), as
 * in the kernel, even when `output` is the mask.
 */
// kernel: ip_tun_to_nlattr(), __ip_tun_to_nlattr()
export function ipTunToNlattr(
  w: NlWriter, ctx: Pick<KeyCtx, 'S'>, output: Buffer, optsLen: number, tunProto: number, bridge = false,
): void {
  const { K, T, V } = ctx.S;
  const flags = output.readUInt32LE(SWKEY.tunFlags.off);
  const has = (b: number): boolean => (flags & tunBit(b)) !== 0;
  const field = (f: { off: number; len: number }): Buffer => output.subarray(f.off, f.off + f.len);
  w.nestStart(K.tunnel);
  if (has(IP_TUNNEL_BIT.KEY)) w.attr(T.id, field(SWKEY.tunId));
  if (bridge) {
    w.attrFlag(T['ipv4-info-bridge']);
    w.nestEnd();
    return;
  }
  if (tunProto === AF_INET) {
    if (output.readUInt32BE(SWKEY.tunIpv4Src.off)) w.attr(T['ipv4-src'], field(SWKEY.tunIpv4Src));
    if (output.readUInt32BE(SWKEY.tunIpv4Dst.off)) w.attr(T['ipv4-dst'], field(SWKEY.tunIpv4Dst));
  } else if (tunProto === AF_INET6) {
    if (!isZero(output, SWKEY.tunIpv6Src.off, SWKEY.tunIpv6Src.len)) w.attr(T['ipv6-src'], field(SWKEY.tunIpv6Src));
    if (!isZero(output, SWKEY.tunIpv6Dst.off, SWKEY.tunIpv6Dst.len)) w.attr(T['ipv6-dst'], field(SWKEY.tunIpv6Dst));
  }
  if (output[SWKEY.tunTos.off]) w.attrU8(T.tos, output[SWKEY.tunTos.off]);
  w.attrU8(T.ttl, output[SWKEY.tunTtl.off]);
  if (has(IP_TUNNEL_BIT.DONT_FRAGMENT)) w.attrFlag(T['dont-fragment']);
  if (has(IP_TUNNEL_BIT.CSUM)) w.attrFlag(T.csum);
  if (output.readUInt16BE(SWKEY.tunTpSrc.off)) w.attr(T['tp-src'], field(SWKEY.tunTpSrc));
  if (output.readUInt16BE(SWKEY.tunTpDst.off)) w.attr(T['tp-dst'], field(SWKEY.tunTpDst));
  if (has(IP_TUNNEL_BIT.OAM)) w.attrFlag(T.oam);
  if (optsLen && (flags & IP_TUNNEL_OPTIONS_PRESENT)) {
    // TUN_METADATA_OPTS(output, swkey->tun_opts_len)
    const opts = output.subarray(tunOptsOffset(optsLen), TUN_OPTS_MAX);
    // The kernel's if / else-if chain only stops early on -EMSGSIZE, so every set bit emits.
    if (has(IP_TUNNEL_BIT.GENEVE_OPT)) w.attr(T['geneve-opts'], opts);
    if (has(IP_TUNNEL_BIT.VXLAN_OPT)) {
      w.nestStart(T['vxlan-opts']);
      w.attrU32(V.gbp, output.readUInt32LE(tunOptsOffset(optsLen))); // opts->gbp
      w.nestEnd();
    }
    if (has(IP_TUNNEL_BIT.ERSPAN_OPT)) w.attr(T['erspan-opts'], opts);
  }
  w.nestEnd();
}
