/**
 * Key attributes to sw_flow_key fields, for keys and masks: metadata_from_nlattrs() and
 * ovs_key_from_nlattrs() of net/openvswitch/flow_netlink.c (Linux 6.12), with the NSH parser
 * they call. Every attribute a field parser consumes is cleared from the bitmap; what remains
 * is "Unknown key attributes".
 */
import type { Attr } from '../schema/validate';
import { IN_PORT_NONE, MAC_PROTO_ETHERNET, MAC_PROTO_NONE, SWKEY, type KeyField } from './flow-key';
import { bit, type Members } from './flow-netlink-attrs';
import {
  checkAttrLen, ctSupportedMask, einval, nlaForEachNested, ovsCtVerify, putField, putU16, putU32, putU8,
  type AttrBits, type KeyCtx, type SwFlowMatch, expectedAttrLen } from './flow-netlink-match';
import { ipTunFromNlattr } from './flow-netlink-tunnel';
import { ETH_P, NSH_M_TYPE1, ethProtoIs8023 } from './net-consts';

/** The payload of a[t], which the attribute bitmap says is present. */
function data(ctx: KeyCtx, t: number): Buffer {
  const a: Attr | undefined = ctx.a[t];
  if (!a) throw new Error(`key attribute ${t} flagged but not recorded`);
  return a.payload;
}

/** put copies struct member `name` of payload `p` into key field `f` (network-order bytes). */
function put(m: SwFlowMatch, f: KeyField, p: Buffer, st: Members, name: string, isMask: boolean): void {
  putField(m, f, p, isMask, st[name].offset);
}

// kernel: parse_eth_type_from_nlattrs()
function parseEthTypeFromNlattrs(m: SwFlowMatch, ctx: KeyCtx, attrs: AttrBits, isMask: boolean): void {
  const { K } = ctx.S;
  let ethType = data(ctx, K.ethertype).readUInt16BE(0);
  if (isMask) {
    ethType = 0xffff; // always exact-match the EtherType
  } else if (!ethProtoIs8023(ethType)) {
    throw einval(ctx, `EtherType ${ethType.toString(16)} is less than min ${ETH_P.P802_3_MIN.toString(16)}`);
  }
  putU16(m, SWKEY.ethType, ethType, isMask, true);
  attrs.bits &= ~bit(K.ethertype);
}

/**
 * metadataFromNlattrs is metadata_from_nlattrs(): the fields a packet does not carry (hash,
 * recirculation id, priority, port, mark, tunnel, conntrack) and mac_proto.
 * @throws {@link NlError} EINVAL
 */
// kernel: metadata_from_nlattrs()
export function metadataFromNlattrs(m: SwFlowMatch, ctx: KeyCtx, attrs: AttrBits, isMask: boolean): void {
  const { K, st } = ctx.S;
  const has = (t: number): boolean => (attrs.bits & bit(t)) !== 0n;
  const done = (t: number): void => { attrs.bits &= ~bit(t); };
  let macProto = MAC_PROTO_ETHERNET;

  if (has(K['dp-hash'])) { putU32(m, SWKEY.dpHash, data(ctx, K['dp-hash']).readUInt32LE(0), isMask); done(K['dp-hash']); }
  if (has(K['recirc-id'])) { putU32(m, SWKEY.recircId, data(ctx, K['recirc-id']).readUInt32LE(0), isMask); done(K['recirc-id']); }
  if (has(K.priority)) { putU32(m, SWKEY.priority, data(ctx, K.priority).readUInt32LE(0), isMask); done(K.priority); }
  if (has(K['in-port'])) {
    let inPort = data(ctx, K['in-port']).readUInt32LE(0);
    if (isMask) inPort = 0xffffffff; // always exact-match in_port
    else if (inPort >= IN_PORT_NONE) throw einval(ctx, `Port ${inPort} exceeds max allowable ${IN_PORT_NONE}`);
    putU16(m, SWKEY.inPort, inPort, isMask, false);
    done(K['in-port']);
  } else if (!isMask) {
    putU16(m, SWKEY.inPort, IN_PORT_NONE, false, false);
  }
  if (has(K['skb-mark'])) { putU32(m, SWKEY.skbMark, data(ctx, K['skb-mark']).readUInt32LE(0), isMask); done(K['skb-mark']); }
  if (has(K.tunnel)) {
    ipTunFromNlattr(data(ctx, K.tunnel), m, isMask, ctx);
    done(K.tunnel);
  }
  if (has(K['ct-state']) && ovsCtVerify(ctx, K['ct-state'])) {
    const ctState = data(ctx, K['ct-state']).readUInt32LE(0);
    if ((ctState & ~ctSupportedMask(ctx)) >>> 0) {
      throw einval(ctx, `ct_state flags ${ctState.toString(16).padStart(8, '0')} unsupported`);
    }
    putU8(m, SWKEY.ctState, ctState, isMask);
    done(K['ct-state']);
  }
  if (has(K['ct-zone']) && ovsCtVerify(ctx, K['ct-zone'])) {
    putU16(m, SWKEY.ctZone, data(ctx, K['ct-zone']).readUInt16LE(0), isMask, false);
    done(K['ct-zone']);
  }
  if (has(K['ct-mark']) && ovsCtVerify(ctx, K['ct-mark'])) {
    putU32(m, SWKEY.ctMark, data(ctx, K['ct-mark']).readUInt32LE(0), isMask);
    done(K['ct-mark']);
  }
  if (has(K['ct-labels']) && ovsCtVerify(ctx, K['ct-labels'])) {
    putField(m, SWKEY.ctLabels, data(ctx, K['ct-labels']), isMask);
    done(K['ct-labels']);
  }
  if (has(K['ct-orig-tuple-ipv4'])) {
    const p = data(ctx, K['ct-orig-tuple-ipv4']);
    put(m, SWKEY.ipv4CtOrigSrc, p, st.ct4, 'ipv4-src', isMask);
    put(m, SWKEY.ipv4CtOrigDst, p, st.ct4, 'ipv4-dst', isMask);
    put(m, SWKEY.ctOrigTpSrc, p, st.ct4, 'src-port', isMask);
    put(m, SWKEY.ctOrigTpDst, p, st.ct4, 'dst-port', isMask);
    put(m, SWKEY.ctOrigProto, p, st.ct4, 'ipv4-proto', isMask);
    done(K['ct-orig-tuple-ipv4']);
  }
  if (has(K['ct-orig-tuple-ipv6'])) {
    const p = data(ctx, K['ct-orig-tuple-ipv6']);
    put(m, SWKEY.ipv6CtOrigSrc, p, st.ct6, 'ipv6-src', isMask);
    put(m, SWKEY.ipv6CtOrigDst, p, st.ct6, 'ipv6-dst', isMask);
    put(m, SWKEY.ctOrigTpSrc, p, st.ct6, 'src-port', isMask);
    put(m, SWKEY.ctOrigTpDst, p, st.ct6, 'dst-port', isMask);
    put(m, SWKEY.ctOrigProto, p, st.ct6, 'ipv6-proto', isMask);
    done(K['ct-orig-tuple-ipv6']);
  }

  // Layer 3 packets: an EtherType without MAC addresses.
  if (!has(K.ethernet) && has(K.ethertype)) macProto = MAC_PROTO_NONE;
  putU8(m, SWKEY.macProto, isMask ? 0xff : macProto, isMask); // always exact-match mac_proto
  if (macProto === MAC_PROTO_NONE) parseEthTypeFromNlattrs(m, ctx, attrs, isMask);
}

/**
 * nshKeyPutFromNlattr is nsh_key_put_from_nlattr() for flow keys and masks (not push_nsh).
 * @throws {@link NlError} EINVAL (the kernel's -ENOTSUPP for MD type 2 becomes EINVAL in its caller)
 */
// kernel: nsh_key_put_from_nlattr()
function nshKeyPutFromNlattr(p: Buffer, m: SwFlowMatch, ctx: KeyCtx, isMask: boolean): void {
  const { nshSet, N, st } = ctx.S;
  let hasMd1 = false;
  let mdtype = 0;
  const rem = nlaForEachNested(p, (a) => {
    const t = a.type;
    const v = a.payload;
    if (t > nshSet.maxType) throw einval(ctx, `nsh attr ${t} is out of range max ${nshSet.maxType}`);
    if (!checkAttrLen(nshSet, t, v.length)) throw einval(ctx, `nsh attr ${t} has unexpected len ${v.length} expected ${expectedAttrLen(nshSet, t)}`);
    switch (t) {
      case N.base:
        mdtype = v[st.nshBase.mdtype.offset];
        put(m, SWKEY.nshFlags, v, st.nshBase, 'flags', isMask);
        put(m, SWKEY.nshTtl, v, st.nshBase, 'ttl', isMask);
        put(m, SWKEY.nshMdtype, v, st.nshBase, 'mdtype', isMask);
        put(m, SWKEY.nshNp, v, st.nshBase, 'np', isMask);
        put(m, SWKEY.nshPathHdr, v, st.nshBase, 'path-hdr', isMask);
        break;
      case N.md1: {
        hasMd1 = true;
        const at = st.nshMd1.context.offset;
        for (let i = 0; i < SWKEY.nshContext.len; i += 4) {
          putField(m, { off: SWKEY.nshContext.off + i, len: 4 }, v, isMask, at + i);
        }
        break;
      }
      case N.md2:
        throw einval(ctx); // "Not supported MD type 2 yet": -ENOTSUPP, turned into EINVAL
      default:
        throw einval(ctx, `Unknown nsh attribute ${t}`);
    }
  });
  if (rem > 0) throw einval(ctx, `nsh attribute has ${rem} unknown bytes.`);
  if (!isMask && hasMd1 && mdtype !== NSH_M_TYPE1) throw einval(ctx, `nsh attribute has unmatched MD type ${mdtype}.`);
}

/**
 * ovsKeyFromNlattrs is ovs_key_from_nlattrs(): fills the key (or the mask) from the attributes
 * flagged in `attrsIn` (the caller's bitmap is not changed).
 * @throws {@link NlError} EINVAL
 */
// kernel: ovs_key_from_nlattrs()
export function ovsKeyFromNlattrs(m: SwFlowMatch, ctx: KeyCtx, attrsIn: bigint, isMask: boolean): void {
  const { K, st } = ctx.S;
  const attrs: AttrBits = { bits: attrsIn };
  const has = (t: number): boolean => (attrs.bits & bit(t)) !== 0n;
  const done = (t: number): void => { attrs.bits &= ~bit(t); };

  metadataFromNlattrs(m, ctx, attrs, isMask);

  if (has(K.ethernet)) {
    const p = data(ctx, K.ethernet);
    put(m, SWKEY.ethSrc, p, st.ethernet, 'eth-src', isMask);
    put(m, SWKEY.ethDst, p, st.ethernet, 'eth-dst', isMask);
    done(K.ethernet);
    // VLAN is parsed before this point since it may occur several times.
    if (has(K.vlan)) throw einval(ctx, 'VLAN attribute unexpected.');
    if (has(K.ethertype)) parseEthTypeFromNlattrs(m, ctx, attrs, isMask);
    else if (!isMask) putU16(m, SWKEY.ethType, ETH_P.P802_2, false, true);
  } else if (!m.key.readUInt16BE(SWKEY.ethType.off)) {
    throw einval(ctx, 'Either Ethernet header or EtherType is required.');
  }

  if (has(K.ipv4)) {
    const p = data(ctx, K.ipv4);
    const frag = p[st.ipv4['ipv4-frag'].offset];
    if (!isMask && frag > ctx.S.fragMax) throw einval(ctx, `IPv4 frag type ${frag} is out of range max ${ctx.S.fragMax}`);
    put(m, SWKEY.ipProto, p, st.ipv4, 'ipv4-proto', isMask);
    put(m, SWKEY.ipTos, p, st.ipv4, 'ipv4-tos', isMask);
    put(m, SWKEY.ipTtl, p, st.ipv4, 'ipv4-ttl', isMask);
    put(m, SWKEY.ipFrag, p, st.ipv4, 'ipv4-frag', isMask);
    put(m, SWKEY.ipv4Src, p, st.ipv4, 'ipv4-src', isMask);
    put(m, SWKEY.ipv4Dst, p, st.ipv4, 'ipv4-dst', isMask);
    done(K.ipv4);
  }

  if (has(K.ipv6)) {
    const p = data(ctx, K.ipv6);
    const frag = p[st.ipv6['ipv6-frag'].offset];
    if (!isMask && frag > ctx.S.fragMax) throw einval(ctx, `IPv6 frag type ${frag} is out of range max ${ctx.S.fragMax}`);
    const label = p.readUInt32BE(st.ipv6['ipv6-label'].offset);
    if (!isMask && label & 0xfff00000) throw einval(ctx, `IPv6 flow label ${label.toString(16)} is out of range (max=fffff)`);
    put(m, SWKEY.ipv6Label, p, st.ipv6, 'ipv6-label', isMask);
    put(m, SWKEY.ipProto, p, st.ipv6, 'ipv6-proto', isMask);
    put(m, SWKEY.ipTos, p, st.ipv6, 'ipv6-tclass', isMask);
    put(m, SWKEY.ipTtl, p, st.ipv6, 'ipv6-hlimit', isMask);
    put(m, SWKEY.ipFrag, p, st.ipv6, 'ipv6-frag', isMask);
    put(m, SWKEY.ipv6Src, p, st.ipv6, 'ipv6-src', isMask);
    put(m, SWKEY.ipv6Dst, p, st.ipv6, 'ipv6-dst', isMask);
    done(K.ipv6);
  }

  if (has(K['ipv6-exthdrs'])) {
    putField(m, SWKEY.ipv6Exthdrs, data(ctx, K['ipv6-exthdrs']), isMask); // u16, host order both sides
    done(K['ipv6-exthdrs']);
  }

  if (has(K.arp)) {
    const p = data(ctx, K.arp);
    const op = p.readUInt16BE(st.arp['arp-op'].offset);
    if (!isMask && op & 0xff00) throw einval(ctx, `Unknown ARP opcode (opcode=${op}).`);
    put(m, SWKEY.ipv4Src, p, st.arp, 'arp-sip', isMask);
    put(m, SWKEY.ipv4Dst, p, st.arp, 'arp-tip', isMask);
    putU8(m, SWKEY.ipProto, op, isMask); // ip.proto = ntohs(arp_op), truncated to u8
    put(m, SWKEY.arpSha, p, st.arp, 'arp-sha', isMask);
    put(m, SWKEY.arpTha, p, st.arp, 'arp-tha', isMask);
    done(K.arp);
  }

  if (has(K.nsh)) {
    nshKeyPutFromNlattr(data(ctx, K.nsh), m, ctx, isMask);
    done(K.nsh);
  }

  if (has(K.mpls)) {
    const p = data(ctx, K.mpls);
    const { mplsLseLen, mplsLabelDepth } = ctx.S;
    const count = Math.floor(p.length / mplsLseLen);
    if (count === 0 || count > mplsLabelDepth || p.length % mplsLseLen) throw einval(ctx);
    for (let i = 0; i < count; i++) {
      putField(m, { off: SWKEY.mplsLse.off + i * mplsLseLen, len: mplsLseLen }, p, isMask, i * mplsLseLen);
    }
    putU32(m, SWKEY.mplsNumLabelsMask, 2 ** count - 1, isMask); // GENMASK(label_count - 1, 0)
    done(K.mpls);
  }

  const l4 = (t: number, s: Members, src: string, dst: string): void => {
    if (!has(t)) return;
    const p = data(ctx, t);
    put(m, SWKEY.tpSrc, p, s, src, isMask);
    put(m, SWKEY.tpDst, p, s, dst, isMask);
    done(t);
  };
  l4(K.tcp, st.tcp, 'tcp-src', 'tcp-dst');
  if (has(K['tcp-flags'])) { putField(m, SWKEY.tpFlags, data(ctx, K['tcp-flags']), isMask); done(K['tcp-flags']); }
  l4(K.udp, st.udp, 'udp-src', 'udp-dst');
  l4(K.sctp, st.sctp, 'sctp-src', 'sctp-dst');

  const icmp = (t: number, s: Members, type: string, code: string): void => {
    if (!has(t)) return;
    const p = data(ctx, t);
    putU16(m, SWKEY.tpSrc, p[s[type].offset], isMask, true); // htons(type)
    putU16(m, SWKEY.tpDst, p[s[code].offset], isMask, true); // htons(code)
    done(t);
  };
  icmp(K.icmp, st.icmp, 'icmp-type', 'icmp-code');
  icmp(K.icmpv6, st.icmpv6, 'icmpv6-type', 'icmpv6-code');

  if (has(K.nd)) {
    const p = data(ctx, K.nd);
    put(m, SWKEY.ndTarget, p, st.nd, 'nd-target', isMask);
    put(m, SWKEY.ndSll, p, st.nd, 'nd-sll', isMask);
    put(m, SWKEY.ndTll, p, st.nd, 'nd-tll', isMask);
    done(K.nd);
  }

  if (attrs.bits !== 0n) throw einval(ctx, `Unknown key attributes ${attrs.bits.toString(16)}`);
}
