/**
 * VLAN and MPLS actions of net/openvswitch/actions.c: push_vlan(), pop_vlan(), push_mpls()
 * (also behind add_mpls) and pop_mpls(), on top of skb_vlan_push/pop and skb_mpls_push/pop
 * (net/core/skbuff.c). The VLAN actions keep the key's outer tag in step when they can; the
 * MPLS ones mark the key invalid (re-extracted before recirculation and conntrack).
 */
import { Errno } from '../nl/errno';
import { MAC_PROTO_ETHERNET, MAC_PROTO_NONE, SW_FLOW_KEY_INVALID, SWKEY, ovsKeyMacProto } from './flow-key';
import { VLAN_CFI_MASK, ethPMpls } from './net-consts';
import type { Skb } from './skb';
import { ETH_HLEN, ETH_TLEN, skbInsert, skbRemove, skbResetMacLen, skbVlanPop, skbVlanPush } from './skb-edit';

/** MPLS_HLEN: one label stack entry. */
const MPLS_HLEN = 4;
/** ETH_P_TEB: an Ethernet frame follows (pop_mpls to Ethernet). */
export const ETH_P_TEB = 0x6558;

/** invalidateFlowKey is invalidate_flow_key(): the key no longer describes the packet. */
// kernel: invalidate_flow_key()
export function invalidateFlowKey(key: Buffer): void {
  key[SWKEY.macProto.off] |= SW_FLOW_KEY_INVALID;
}

/** isFlowKeyValid is is_flow_key_valid(). */
// kernel: is_flow_key_valid()
export function isFlowKeyValid(key: Buffer): boolean {
  return (key[SWKEY.macProto.off] & SW_FLOW_KEY_INVALID) === 0;
}

/** setKeyMacProto writes mac_proto (right before invalidate_flow_key, as the kernel does). */
export function setKeyMacProto(key: Buffer, macProto: number): void {
  key[SWKEY.macProto.off] = macProto;
}

/** pushVlan is push_vlan(): `tpid`/`tci` host order, `tci` with the CFI bit the key keeps. */
// kernel: push_vlan()
export function pushVlan(skb: Skb, key: Buffer, tpid: number, tci: number): number {
  if (skb.vlanPresent) {
    invalidateFlowKey(key);
  } else {
    key.writeUInt16BE(tci, SWKEY.vlanTci.off);
    key.writeUInt16BE(tpid, SWKEY.vlanTpid.off);
  }
  skbVlanPush(skb, tpid, tci & ~VLAN_CFI_MASK);
  skbResetMacLen(skb);
  return 0;
}

/** popVlan is pop_vlan(). */
// kernel: pop_vlan()
export function popVlan(skb: Skb, key: Buffer): number {
  const err = skbVlanPop(skb, Errno.ENOMEM);
  if (skb.vlanPresent) {
    invalidateFlowKey(key);
  } else {
    key.writeUInt16BE(0, SWKEY.vlanTci.off);
    key.writeUInt16BE(0, SWKEY.vlanTpid.off);
  }
  return err;
}

/**
 * pushMpls is push_mpls() with skb_mpls_push(): the label goes after `macLen` bytes (0: in
 * front of the whole frame, which then is an L3 MPLS packet). `lse` and `ethertype` host order.
 */
// kernel: push_mpls(), skb_mpls_push()
export function pushMpls(skb: Skb, key: Buffer, lse: number, ethertype: number, macLen: number): number {
  if (!ethPMpls(ethertype)) return -Errno.EINVAL;
  if (skb.innerNetworkHeader < 0 && skb.networkHeader >= 0) skb.innerNetworkHeader = skb.networkHeader;
  const label = Buffer.alloc(MPLS_HLEN);
  label.writeUInt32BE(lse >>> 0);
  skbInsert(skb, macLen, label);
  skb.networkHeader = macLen;
  skbResetMacLen(skb);
  if (macLen >= ETH_HLEN) skb.data.writeUInt16BE(ethertype, 2 * 6); // skb_mod_eth_type(eth_hdr)
  skb.protocol = ethertype;
  if (!macLen) setKeyMacProto(key, MAC_PROTO_NONE);
  invalidateFlowKey(key);
  return 0;
}

/** popMpls is pop_mpls() with skb_mpls_pop(): `ethertype` is the protocol under the label. */
// kernel: pop_mpls(), skb_mpls_pop()
export function popMpls(skb: Skb, key: Buffer, ethertype: number): number {
  const ethernet = ovsKeyMacProto(key) === MAC_PROTO_ETHERNET;
  if (ethPMpls(skb.protocol)) {
    const macLen = skb.macLen;
    if (skb.data.length < macLen + MPLS_HLEN) return -Errno.ENOMEM;
    skbRemove(skb, macLen, MPLS_HLEN);
    skb.networkHeader = macLen;
    // The EtherType right before the (new) network header, past any VLAN tags.
    if (ethernet && macLen >= ETH_HLEN) skb.data.writeUInt16BE(ethertype, macLen - ETH_TLEN);
    skb.protocol = ethertype;
  }
  if (ethertype === ETH_P_TEB) setKeyMacProto(key, MAC_PROTO_ETHERNET);
  invalidateFlowKey(key);
  return 0;
}
