/**
 * Ethernet and NSH encapsulation actions of net/openvswitch/actions.c: push_eth(), pop_eth(),
 * push_nsh() (nsh_hdr_from_nlattr() in flow_netlink.c) and pop_nsh(), on top of
 * skb_eth_push/pop (net/core/skbuff.c) and nsh_push/pop (net/nsh/nsh.c). Each one changes the
 * key's mac_proto and marks the key invalid.
 */
import { Errno } from '../nl/errno';
import { forEachAttr, type Attr } from '../schema/validate';
import { invalidateFlowKey, setKeyMacProto, ETH_P_TEB } from './actions-vlan-mpls';
import type { ActionSchema } from './flow-actions-schema';
import { MAC_PROTO_ETHERNET, MAC_PROTO_NONE } from './flow-key';
import { ETH_P, ethTypeVlan } from './net-consts';
import type { Skb } from './skb';
import { ETH_ALEN, ETH_HLEN, skbInsert, skbRemove, skbResetMacLen } from './skb-edit';

/** NSH_BASE_HDR_LEN, NSH_HDR_MAX_LEN and the ver_flags_ttl_len bit fields (net/nsh.h). */
const NSH_BASE_HDR_LEN = 8;
const NSH_HDR_MAX_LEN = 256;
const NSH_FLAGS_MASK = 0x3000;
const NSH_FLAGS_SHIFT = 12;
const NSH_TTL_MASK = 0x0fc0;
const NSH_TTL_SHIFT = 6;
const NSH_LEN_MASK = 0x003f;

/** TUN_P_* next protocols of an NSH header and their EtherTypes (include/net/tun_proto.h). */
const TUN_P_ETHERNET = 3;
const TUN_P: ReadonlyMap<number, number> = new Map([
  [1, ETH_P.IP], [2, ETH_P.IPV6], [TUN_P_ETHERNET, ETH_P_TEB], [4, ETH_P.NSH], [5, ETH_P.MPLS_UC],
]);

/** tun_p_from_eth_p(): 0 when the EtherType has no TUN_P number. */
function tunPFromEthP(t: number): number {
  for (const [p, e] of TUN_P) if (e === t) return p;
  return 0;
}

/** popEth is pop_eth() with skb_eth_pop(). */
// kernel: pop_eth(), skb_eth_pop()
export function popEth(skb: Skb, key: Buffer): number {
  if (skb.data.length < ETH_HLEN || skb.vlanPresent || ethTypeVlan(skb.protocol) || skb.networkHeader < ETH_HLEN) {
    return -Errno.EPROTO;
  }
  skbRemove(skb, 0, ETH_HLEN);
  skb.macHeader = 0;
  skbResetMacLen(skb);
  setKeyMacProto(key, MAC_PROTO_NONE);
  invalidateFlowKey(key);
  return 0;
}

/** pushEth is push_eth() with skb_eth_push(): `dst`/`src` from struct ovs_action_push_eth. */
// kernel: push_eth(), skb_eth_push()
export function pushEth(skb: Skb, key: Buffer, dst: Buffer, src: Buffer): number {
  if (skb.networkHeader !== 0 || skb.vlanPresent) return -Errno.EPROTO;
  const eth = Buffer.alloc(ETH_HLEN);
  dst.copy(eth, 0, 0, ETH_ALEN);
  src.copy(eth, ETH_ALEN, 0, ETH_ALEN);
  eth.writeUInt16BE(skb.protocol, 2 * ETH_ALEN);
  skbInsert(skb, 0, eth);
  skb.macHeader = 0;
  skbResetMacLen(skb);
  setKeyMacProto(key, MAC_PROTO_ETHERNET);
  invalidateFlowKey(key);
  return 0;
}

/**
 * nshHdrFromNlattr is nsh_hdr_from_nlattr(): the header a push_nsh action describes (`nsh` is
 * its nested OVS_KEY_ATTR_NSH), or a negative errno.
 */
// kernel: nsh_hdr_from_nlattr()
export function nshHdrFromNlattr(nsh: Attr, S: ActionSchema): Buffer | number {
  const hdr = Buffer.alloc(NSH_HDR_MAX_LEN);
  let flags = 0;
  let ttl = 0;
  let mdlen = 0;
  let err = 0;
  const base = (m: string): number => S.off('ovs-nsh-key-base', m);
  forEachAttr(nsh.payload, 0, (a) => {
    if (err) return;
    switch (S.nsh.byType.get(a.type)?.name) {
      case 'base':
        flags = a.payload[base('flags')];
        ttl = a.payload[base('ttl')];
        hdr[3] = a.payload[base('np')];
        hdr[2] = a.payload[base('mdtype')];
        a.payload.copy(hdr, 4, base('path-hdr'), base('path-hdr') + 4);
        return;
      case 'md1':
      case 'md2':
        mdlen = a.payload.length;
        if (mdlen > NSH_HDR_MAX_LEN - NSH_BASE_HDR_LEN) err = -Errno.ENOBUFS;
        else a.payload.copy(hdr, NSH_BASE_HDR_LEN);
        return;
      default:
        err = -Errno.EINVAL;
    }
  });
  if (err) return err;
  // nsh_set_flags_ttl_len(): the length in 4-byte words, in 6 bits.
  const len = ((NSH_BASE_HDR_LEN + mdlen) & 0xff) >> 2;
  hdr.writeUInt16BE(((flags << NSH_FLAGS_SHIFT) & NSH_FLAGS_MASK) | ((ttl << NSH_TTL_SHIFT) & NSH_TTL_MASK) | (len & NSH_LEN_MASK), 0);
  return hdr;
}

/** nshHdrLen is nsh_hdr_len(). */
const nshHdrLen = (b: Buffer): number => (b.readUInt16BE(0) & NSH_LEN_MASK) << 2;

/** pushNsh is push_nsh() with nsh_push(): `a` is the action's nested OVS_KEY_ATTR_NSH. */
// kernel: push_nsh(), nsh_push()
export function pushNsh(skb: Skb, key: Buffer, a: Attr, S: ActionSchema): number {
  const hdr = nshHdrFromNlattr(a, S);
  if (typeof hdr === 'number') return hdr;
  const np = skb.macLen ? TUN_P_ETHERNET : tunPFromEthP(skb.protocol);
  if (!np) return -Errno.EAFNOSUPPORT;
  const pushed = Buffer.from(hdr.subarray(0, nshHdrLen(hdr)));
  pushed[3] = np;
  skbInsert(skb, 0, pushed);
  skb.protocol = ETH_P.NSH;
  skb.macHeader = 0;
  skb.networkHeader = 0;
  skb.macLen = 0;
  setKeyMacProto(key, MAC_PROTO_NONE);
  invalidateFlowKey(key);
  return 0;
}

/** popNsh is pop_nsh() with nsh_pop(). */
// kernel: pop_nsh(), nsh_pop()
export function popNsh(skb: Skb, key: Buffer): number {
  if (skb.data.length < NSH_BASE_HDR_LEN) return -Errno.ENOMEM;
  const length = nshHdrLen(skb.data);
  if (length < NSH_BASE_HDR_LEN) return -Errno.EINVAL;
  const inner = TUN_P.get(skb.data[3]) ?? 0;
  if (skb.data.length < length) return -Errno.ENOMEM;
  if (!inner) return -Errno.EAFNOSUPPORT;
  skbRemove(skb, 0, length);
  skb.macHeader = 0;
  skb.networkHeader = 0;
  skb.macLen = 0;
  skb.protocol = inner;
  setKeyMacProto(key, inner === ETH_P_TEB ? MAC_PROTO_ETHERNET : MAC_PROTO_NONE);
  invalidateFlowKey(key);
  return 0;
}
