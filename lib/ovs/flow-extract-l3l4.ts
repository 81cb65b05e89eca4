/**
 * key_extract_l3l4() of net/openvswitch/flow.c (Linux 6.12): the network and transport fields
 * of a flow key, read from the frame at skb->network_header. What a truncated or malformed
 * header leaves in the key is the kernel's: which fields are zeroed, which keep their previous
 * values (a reused key, e.g. on ovs_flow_key_update()), and which failures are errors rather
 * than a partial key (only NSH's, and an ICMPv6 linearize failure that cannot happen here).
 */
import { Errno } from '../nl/errno';
import { SWKEY, type KeyField } from './flow-key';
import {
  EPROTO, HLEN, IP_MF, IP_OFFSET, MPLS_LS_S_MASK, PROTO, fragType,
} from './flow-extract-consts';
import { parseIcmpv6, parseIpv6Hdr } from './flow-extract-ipv6';
import { keySchema } from './flow-netlink-attrs';
import { ETH_P, NSH_M_TYPE1, NSH_M_TYPE2, ethPMpls } from './net-consts';
import type { Skb } from './skb';

/** ARPHRD_ETHER as the ARP header's hardware type. */
const ARP_HRD_ETHER = 1;

const zero = (key: Buffer, f: KeyField): void => {
  key.fill(0, f.off, f.off + f.len);
};
/** memset(&key->ip): proto, tos, ttl, frag. */
const clearIp = (key: Buffer): void => void key.fill(0, SWKEY.ipProto.off, SWKEY.ipFrag.off + 1);
/** memset(&key->tp): src, dst, flags. */
const clearTp = (key: Buffer): void => void key.fill(0, SWKEY.tpSrc.off, SWKEY.tpFlags.off + 2);
/** memset(&key->ipv4): addresses and the ct_orig / arp union (16 bytes). */
const clearIpv4 = (key: Buffer): void => void key.fill(0, SWKEY.ipv4Src.off, SWKEY.arpTha.off + SWKEY.arpTha.len);

/** check_iphdr(): a whole IPv4 header (IHL included); sets the transport header after it. */
// kernel: check_iphdr()
function checkIphdr(skb: Skb): number {
  const nh = skb.networkHeader;
  if (skb.len < nh + HLEN.IPV4) return -Errno.EINVAL; // check_header()
  const ipLen = (skb.data[nh] & 0x0f) * 4;
  if (ipLen < HLEN.IPV4 || skb.len < nh + ipLen) return -Errno.EINVAL;
  skb.transportHeader = nh + ipLen;
  return 0;
}

/** tcphdr_ok(): a TCP header whose data offset is sane and inside the frame. */
// kernel: tcphdr_ok()
function tcphdrOk(skb: Skb): boolean {
  const th = skb.transportHeader;
  if (skb.len < th + HLEN.TCP) return false;
  const tcpLen = (skb.data[th + 12] >> 4) * 4;
  return tcpLen >= HLEN.TCP && skb.len >= th + tcpLen;
}

/** pskb_may_pull(skb, transport offset + len) on a linear frame. */
const transportHas = (skb: Skb, len: number): boolean => skb.len >= skb.transportHeader + len;

/** copyPorts sets tp.src / tp.dst from the first 4 bytes of the transport header. */
function copyPorts(skb: Skb, key: Buffer): void {
  skb.data.copy(key, SWKEY.tpSrc.off, skb.transportHeader, skb.transportHeader + 4);
}

/**
 * The transport part shared by IPv4 and IPv6 (the kernel's two branches do the same for TCP, UDP
 * and SCTP): a header too short for the protocol zeroes tp.
 */
function transportPorts(skb: Skb, key: Buffer, proto: number): boolean {
  if (proto === PROTO.TCP) {
    if (tcphdrOk(skb)) {
      const th = skb.transportHeader;
      copyPorts(skb, key);
      // TCP_FLAGS_BE16(): the 12 flag bits after the data offset
      key.writeUInt16BE(((skb.data[th + 12] & 0x0f) << 8) | skb.data[th + 13], SWKEY.tpFlags.off);
    } else {
      clearTp(key);
    }
    return true;
  }
  const len = proto === PROTO.UDP ? HLEN.UDP : proto === PROTO.SCTP ? HLEN.SCTP : 0;
  if (!len) return false;
  if (transportHas(skb, len)) copyPorts(skb, key);
  else clearTp(key);
  return true;
}

// kernel: key_extract_l3l4() (ETH_P_IP branch)
function extractIpv4(skb: Skb, key: Buffer): number {
  const err = checkIphdr(skb);
  if (err) {
    clearIp(key);
    clearIpv4(key);
    skb.transportHeader = skb.networkHeader; // only -EINVAL is possible on a linear frame
    return 0;
  }
  const d = skb.data;
  const nh = skb.networkHeader;
  d.copy(key, SWKEY.ipv4Src.off, nh + 12, nh + 20);
  const proto = d[nh + 9];
  key[SWKEY.ipProto.off] = proto;
  key[SWKEY.ipTos.off] = d[nh + 1];
  key[SWKEY.ipTtl.off] = d[nh + 8];

  const frag = fragType();
  const fragOff = d.readUInt16BE(nh + 6);
  if (fragOff & IP_OFFSET) {
    key[SWKEY.ipFrag.off] = frag.later;
    clearTp(key);
    return 0;
  }
  // (skb_shinfo(skb)->gso_type & SKB_GSO_UDP also means "first": the emulator has no GSO.)
  key[SWKEY.ipFrag.off] = fragOff & IP_MF ? frag.first : frag.none;

  if (transportPorts(skb, key, proto)) return 0;
  if (proto === PROTO.ICMP) {
    if (transportHas(skb, HLEN.ICMP)) {
      key.writeUInt16BE(d[skb.transportHeader], SWKEY.tpSrc.off);
      key.writeUInt16BE(d[skb.transportHeader + 1], SWKEY.tpDst.off);
    } else {
      clearTp(key);
    }
  }
  return 0;
}

// kernel: key_extract_l3l4() (ETH_P_ARP / ETH_P_RARP branch), arphdr_ok()
function extractArp(skb: Skb, key: Buffer): void {
  const d = skb.data;
  const nh = skb.networkHeader;
  const available = skb.len >= nh + HLEN.ARP_ETH;
  if (available && d.readUInt16BE(nh) === ARP_HRD_ETHER && d.readUInt16BE(nh + 2) === ETH_P.IP &&
      d[nh + 4] === HLEN.ETH_ALEN && d[nh + 5] === 4) {
    const op = d.readUInt16BE(nh + 6);
    key[SWKEY.ipProto.off] = op <= 0xff ? op : 0; // only the low 8 bits of the opcode are matched
    d.copy(key, SWKEY.ipv4Src.off, nh + 14, nh + 18);
    d.copy(key, SWKEY.ipv4Dst.off, nh + 24, nh + 28);
    d.copy(key, SWKEY.arpSha.off, nh + 8, nh + 14);
    d.copy(key, SWKEY.arpTha.off, nh + 18, nh + 24);
  } else {
    clearIp(key);
    clearIpv4(key);
  }
}

/**
 * The MPLS label stack: up to MPLS_LABEL_DEPTH entries are kept. A stack that ends before its
 * bottom-of-stack entry keeps the entries read so far but no num_labels_mask bit (the kernel
 * returns before setting it), so the key's MPLS attribute comes out empty.
 */
// kernel: key_extract_l3l4() (eth_p_mpls branch)
function extractMpls(skb: Skb, key: Buffer): void {
  const depth = keySchema().mplsLabelDepth;
  zero(key, SWKEY.mplsNumLabelsMask);
  zero(key, SWKEY.mplsLse);
  const macLen = skb.macLen;
  skb.innerNetworkHeader = macLen;
  let count = 1;
  for (;;) {
    if (skb.len < macLen + count * HLEN.MPLS) return; // check_header() error: key left as is, success
    const at = skb.innerNetworkHeader;
    if (count <= depth) skb.data.copy(key, SWKEY.mplsLse.off + (count - 1) * HLEN.MPLS, at, at + HLEN.MPLS);
    const lse = skb.data.readUInt32BE(at);
    skb.innerNetworkHeader = macLen + count * HLEN.MPLS;
    if (lse & MPLS_LS_S_MASK) break;
    count++;
  }
  if (count > depth) count = depth;
  key.writeUInt32LE((1 << count) - 1, SWKEY.mplsNumLabelsMask.off); // GENMASK(count - 1, 0)
}

// kernel: key_extract_l3l4() (ETH_P_IPV6 branch)
function extractIpv6(skb: Skb, key: Buffer): number {
  const nhLen = parseIpv6Hdr(skb, key);
  if (nhLen < 0) {
    if (nhLen === -Errno.EINVAL) {
      clearIp(key);
      key.fill(0, SWKEY.ipv6Src.off, SWKEY.ipv6Dst.off + SWKEY.ipv6Dst.len); // memset(&key->ipv6.addr)
    } else if (nhLen !== -EPROTO) {
      return nhLen;
    }
    skb.transportHeader = skb.networkHeader;
    return 0;
  }
  if (key[SWKEY.ipFrag.off] === fragType().later) {
    clearTp(key);
    return 0;
  }
  const proto = key[SWKEY.ipProto.off];
  if (transportPorts(skb, key, proto)) return 0;
  if (proto === PROTO.ICMPV6) {
    if (transportHas(skb, HLEN.ICMPV6)) return parseIcmpv6(skb, key);
    clearTp(key);
  }
  return 0;
}

/**
 * parseNsh is parse_nsh(): the NSH base header and MD type 1 context. Unlike the other
 * protocols, a short or malformed NSH header is an error (-EINVAL): the packet is dropped.
 */
// kernel: parse_nsh()
function parseNsh(skb: Skb, key: Buffer): number {
  const d = skb.data;
  const nh = skb.networkHeader;
  if (skb.len < nh + HLEN.NSH_BASE) return -Errno.EINVAL;
  const verFlagsTtlLen = d.readUInt16BE(nh);
  const version = (verFlagsTtlLen & 0xc000) >> 14;
  const length = (verFlagsTtlLen & 0x003f) << 2;
  if (version !== 0) return -Errno.EINVAL;
  if (skb.len < nh + length) return -Errno.EINVAL;

  key[SWKEY.nshFlags.off] = (verFlagsTtlLen & 0x3000) >> 12;
  key[SWKEY.nshTtl.off] = (verFlagsTtlLen & 0x0fc0) >> 6;
  key[SWKEY.nshMdtype.off] = d[nh + 2];
  key[SWKEY.nshNp.off] = d[nh + 3];
  d.copy(key, SWKEY.nshPathHdr.off, nh + 4, nh + 8);
  switch (d[nh + 2]) {
    case NSH_M_TYPE1:
      if (length !== HLEN.NSH_M_TYPE1) return -Errno.EINVAL;
      d.copy(key, SWKEY.nshContext.off, nh + HLEN.NSH_BASE, nh + HLEN.NSH_M_TYPE1);
      return 0;
    case NSH_M_TYPE2:
      zero(key, SWKEY.nshContext);
      return 0;
    default:
      return -Errno.EINVAL;
  }
}

/**
 * keyExtractL3L4 is key_extract_l3l4(): the fields after the link layer, by key->eth.type;
 * skb->network_header must be set (key_extract() does it). Returns 0 or a negative errno.
 */
// kernel: key_extract_l3l4()
export function keyExtractL3L4(skb: Skb, key: Buffer): number {
  const type = key.readUInt16BE(SWKEY.ethType.off);
  if (type === ETH_P.IP) return extractIpv4(skb, key);
  if (type === ETH_P.ARP || type === ETH_P.RARP) {
    extractArp(skb, key);
    return 0;
  }
  if (ethPMpls(type)) {
    extractMpls(skb, key);
    return 0;
  }
  if (type === ETH_P.IPV6) return extractIpv6(skb, key);
  if (type === ETH_P.NSH) return parseNsh(skb, key);
  return 0;
}
