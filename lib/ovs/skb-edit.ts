/**
 * Growing and shrinking an {@link Skb}'s frame the way skb_push/skb_pull plus memmove leave the
 * header offsets (net/core/skbuff.c, include/linux/if_vlan.h). The kernel keeps header offsets
 * relative to skb->head, so bytes that do not move keep their offsets; here offsets are
 * relative to the first byte of `data`, so every header at or after the edit point shifts.
 */
import type { Skb } from './skb';
import { ETH_P, ethProtoIs8023, ethTypeVlan } from './net-consts';

/** ETH_HLEN, ETH_ALEN, ETH_TLEN, VLAN_HLEN (uapi/linux/if_ether.h, linux/if_vlan.h). */
export const ETH_HLEN = 14;
export const ETH_ALEN = 6;
export const ETH_TLEN = 2;
export const VLAN_HLEN = 4;
/** ETH_P_802_3: the pseudo protocol of a raw 802.3 frame (first payload bytes 0xffff). */
const ETH_P_802_3 = 0x0001;

/** shift moves every set header offset at or beyond `at` by `n`. */
function shift(skb: Skb, at: number, n: number): void {
  if (skb.networkHeader >= at) skb.networkHeader = Math.max(0, skb.networkHeader + n);
  if (skb.transportHeader >= at) skb.transportHeader = Math.max(0, skb.transportHeader + n);
  if (skb.innerNetworkHeader >= at) skb.innerNetworkHeader = Math.max(0, skb.innerNetworkHeader + n);
}

/** skbInsert opens `bytes` at offset `at` of the frame (the bytes before `at` move to the front). */
export function skbInsert(skb: Skb, at: number, bytes: Buffer): void {
  skb.data = Buffer.concat([skb.data.subarray(0, at), bytes, skb.data.subarray(at)]);
  shift(skb, at, bytes.length);
}

/** skbRemove takes `n` bytes out at offset `at` (the bytes before `at` move back). */
export function skbRemove(skb: Skb, at: number, n: number): void {
  skb.data = Buffer.concat([skb.data.subarray(0, at), skb.data.subarray(at + n)]);
  shift(skb, at, -n);
}

/** skbTrim is pskb_trim(): the frame cut to `len` bytes. */
export function skbTrim(skb: Skb, len: number): void {
  if (len < skb.data.length) skb.data = Buffer.from(skb.data.subarray(0, len));
}

/** skbResetMacLen is skb_reset_mac_len(): mac_len = network header - mac header. */
export function skbResetMacLen(skb: Skb): void {
  skb.macLen = skb.networkHeader >= 0 ? skb.networkHeader - skb.macHeader : 0;
}

/** skbClearHash is skb_clear_hash(). */
export function skbClearHash(skb: Skb): void {
  skb.hash = 0;
  skb.swHash = false;
  skb.l4Hash = false;
}

/** vlanSetEncapProto is vlan_set_encap_proto(): skb->protocol from a removed tag's inner type. */
// kernel: vlan_set_encap_proto()
function vlanSetEncapProto(skb: Skb, proto: number, next: Buffer): void {
  if (ethProtoIs8023(proto)) skb.protocol = proto;
  else if (next.length >= 2 && next.readUInt16BE(0) === 0xffff) skb.protocol = ETH_P_802_3;
  else skb.protocol = ETH_P.P802_2;
}

/**
 * vlanInsertTag is __vlan_insert_tag(): a tag {tpid, tci} written in-band after the MAC
 * addresses. skb->protocol is not changed.
 */
// kernel: __vlan_insert_tag(), __vlan_insert_inner_tag()
export function vlanInsertTag(skb: Skb, tpid: number, tci: number): void {
  const tag = Buffer.alloc(VLAN_HLEN);
  tag.writeUInt16BE(tpid, 0);
  tag.writeUInt16BE(tci & 0xffff, 2);
  // skb_push + memmove of the addresses: the headers stay on their bytes.
  skbInsert(skb, 2 * ETH_ALEN, tag);
}

/**
 * skbVlanPopInband is __skb_vlan_pop(): the outer in-band tag removed; returns its TCI, or
 * undefined when the frame is too short to hold one (-ENOMEM in the kernel).
 */
// kernel: __skb_vlan_pop(), vlan_remove_tag()
export function skbVlanPopInband(skb: Skb): number | undefined {
  if (skb.data.length < ETH_HLEN + VLAN_HLEN) return undefined;
  const tci = skb.data.readUInt16BE(ETH_HLEN);
  const proto = skb.data.readUInt16BE(ETH_HLEN + 2);
  skbRemove(skb, 2 * ETH_ALEN, VLAN_HLEN);
  vlanSetEncapProto(skb, proto, skb.data.subarray(ETH_HLEN));
  if (skb.networkHeader < ETH_HLEN) skb.networkHeader = ETH_HLEN;
  skbResetMacLen(skb);
  return tci;
}

/** skbVlanPop is skb_vlan_pop(): 0 or a negative errno. */
// kernel: skb_vlan_pop()
export function skbVlanPop(skb: Skb, enomem: number): number {
  if (skb.vlanPresent) {
    skb.vlanTci = 0;
    skb.vlanTpid = 0;
  } else {
    if (!ethTypeVlan(skb.protocol)) return 0;
    if (skbVlanPopInband(skb) === undefined) return -enomem;
  }
  // Move the next tag to the accelerated slot.
  if (!ethTypeVlan(skb.protocol)) return 0;
  const proto = skb.protocol;
  const tci = skbVlanPopInband(skb);
  if (tci === undefined) return -enomem;
  skb.vlanTpid = proto;
  skb.vlanTci = tci;
  return 0;
}

/** skbVlanPush is skb_vlan_push(): a present accelerated tag goes in-band, the new one takes its place. */
// kernel: skb_vlan_push()
export function skbVlanPush(skb: Skb, tpid: number, tci: number): void {
  if (skb.vlanPresent) {
    vlanInsertTag(skb, skb.vlanTpid, skb.vlanTci);
    skb.protocol = skb.vlanTpid;
    if (skb.networkHeader >= 0) skb.networkHeader -= VLAN_HLEN;
  }
  skb.vlanTpid = tpid;
  skb.vlanTci = tci & 0xffff;
}

/**
 * vlanHwaccelPushInside is __vlan_hwaccel_push_inside(): the accelerated tag written into the
 * frame (as a transmitting device or an upcall does) and cleared. A no-op without a tag.
 */
// kernel: __vlan_hwaccel_push_inside()
export function vlanHwaccelPushInside(skb: Skb): void {
  if (!skb.vlanPresent) return;
  vlanInsertTag(skb, skb.vlanTpid, skb.vlanTci);
  skb.protocol = skb.vlanTpid;
  skb.vlanTpid = 0;
  skb.vlanTci = 0;
}
