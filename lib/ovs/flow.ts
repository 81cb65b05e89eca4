/**
 * Flow key extraction: the packet-to-sw_flow_key half of net/openvswitch/flow.c (Linux 6.12).
 * key_extract() reads the link layer here (Ethernet, 802.1Q/802.1ad tags, 802.2 LLC/SNAP, or
 * none for L3 packets) and hands the rest to key_extract_l3l4() (flow-extract-l3l4.ts);
 * ovs_flow_key_extract() adds the metadata of a received packet, and
 * ovs_flow_key_extract_userspace() that of an OVS_PACKET_CMD_EXECUTE key.
 *
 * Like the kernel, extraction changes the skb: it sets skb->protocol and the MAC, network and
 * transport header offsets, and moves an in-band outer VLAN tag into the skb's accelerated tag
 * (`vlanTci` / `vlanTpid`), removing it from `data`. Errors are negative errnos, never
 * exceptions; the key is written in place and must start zeroed where the kernel's does
 * (ovs_flow_alloc() for EXECUTE). Fields the kernel leaves uninitialised for a protocol (its
 * key lives on the stack in ovs_vport_receive()) are left as they were.
 */
import { Errno } from '../nl/errno';
import { NlError } from '../nl/errors';
import type { Attr } from '../schema/validate';
import {
  MAC_PROTO_ETHERNET, MAC_PROTO_NONE, SW_FLOW_KEY_INVALID, SWKEY, TUN_OPTS_MAX, ovsKeyMacProto, swKeyIsNd,
} from './flow-key';
import { ARPHRD, ETH_P_X, HLEN, LLC_SAP_SNAP } from './flow-extract-consts';
import { keyExtractL3L4 } from './flow-extract-l3l4';
import { keySchema } from './flow-netlink-attrs';
import { ovsNlaGetFlowMetadata, ovsNlerr, type KeyOptions, type OvsLog } from './flow-netlink-key';
import { ETH_P, VLAN_CFI_MASK, ethProtoIs8023, ethTypeVlan } from './net-consts';
import type { Skb } from './skb';

export { skbGetHash, skbGetHashSymmetric, newFlowHashSeed } from './flow-dissector';

/**
 * TunInfo is the receive-side struct ip_tunnel_info a tunnel vport attaches to a packet: the
 * 64-byte struct ip_tunnel_key (laid out as sw_flow_key.tun_key), the address family of the
 * outer header (ip_tunnel_info_af()) and the tunnel options.
 */
export interface TunInfo {
  key: Buffer;
  af: number;
  options?: Buffer;
}

/**
 * CtFillKey is ovs_ct_fill_key() (conntrack.c): writes ct_state, ct_zone, ct_mark, ct_labels
 * and the original-direction tuple from the conntrack entry attached to the skb (`skb.ct`).
 * The conntrack implementation supplies it; the default is {@link ovsCtFillKeyUntracked}.
 */
export type CtFillKey = (skb: Skb, key: Buffer, postCt: boolean) => void;

/**
 * ovsCtFillKeyUntracked is ovs_ct_fill_key() for an skb without a conntrack entry
 * (__ovs_ct_update_key(key, state, &nf_ct_zone_dflt, NULL)): state 0 (tracked+invalid after
 * a ct action), zone 0, mark 0, labels 0, no original tuple.
 */
// kernel: ovs_ct_fill_key(), ovs_ct_update_key(), __ovs_ct_update_key() with ct == NULL
export const ovsCtFillKeyUntracked: CtFillKey = (_skb, key, postCt) => {
  const fam = keySchema().family;
  key[SWKEY.ctState.off] = postCt
    ? fam.enumValue('ct-state-flags', 'tracked') | fam.enumValue('ct-state-flags', 'invalid')
    : 0;
  key.writeUInt16LE(0, SWKEY.ctZone.off);
  key.writeUInt32LE(0, SWKEY.ctMark.off);
  key.fill(0, SWKEY.ctLabels.off, SWKEY.ctLabels.off + SWKEY.ctLabels.len);
  key[SWKEY.ctOrigProto.off] = 0;
};

/** ExtractOptions are the inputs of ovs_flow_key_extract() that are not in the skb. */
export interface ExtractOptions {
  /** Tunnel metadata of a packet received on a tunnel vport (none: the tunnel key is zeroed). */
  tunInfo?: TunInfo;
  /** OVS_CB(skb)->input_vport->port_no (default: `skb.inputPort`). */
  inPort?: number;
  /** skb->dev->type: ARPHRD_ETHER (default) or ARPHRD_NONE (an L3 tunnel device). */
  devType?: number;
  /** Conntrack's key filler (default: no conntrack entry). */
  ctFillKey?: CtFillKey;
}

/**
 * parseVlanTag is parse_vlan_tag(): reads a tag at `pos` into key field `tci` / `tpid` (CFI set
 * to mark it present). `untag` pops it (__skb_vlan_pop + __vlan_hwaccel_put_tag: the tag
 * leaves `data` for the accelerated tag, `pos` stays); otherwise `pos` moves past it. Returns
 * the new position, or -1 when there is no (complete) tag.
 */
// kernel: parse_vlan_tag()
function parseVlanTag(skb: Skb, key: Buffer, pos: number, inner: boolean, untag: boolean): number {
  const d = skb.data;
  const tpid = d.readUInt16BE(pos);
  if (!ethTypeVlan(tpid)) return -1;
  if (skb.len - pos < HLEN.VLAN + 2) return -1;
  const tci = d.readUInt16BE(pos + 2);
  key.writeUInt16BE(tci | VLAN_CFI_MASK, (inner ? SWKEY.cvlanTci : SWKEY.vlanTci).off);
  key.writeUInt16BE(tpid, (inner ? SWKEY.cvlanTpid : SWKEY.vlanTpid).off);
  if (!untag) return pos + HLEN.VLAN;
  skb.data = Buffer.concat([d.subarray(0, pos), d.subarray(pos + HLEN.VLAN)]);
  skb.vlanTci = tci;
  skb.vlanTpid = tpid;
  return pos;
}

/** parseVlan is parse_vlan(): the outer tag (accelerated or in-band) and the inner one. */
// kernel: parse_vlan()
function parseVlan(skb: Skb, key: Buffer, pos: number): number {
  if (skb.vlanPresent) {
    key.writeUInt16BE((skb.vlanTci | VLAN_CFI_MASK) & 0xffff, SWKEY.vlanTci.off);
    key.writeUInt16BE(skb.vlanTpid, SWKEY.vlanTpid.off);
  } else {
    const p = parseVlanTag(skb, key, pos, false, true);
    if (p < 0) return pos;
    pos = p;
  }
  const p = parseVlanTag(skb, key, pos, true, false);
  return p < 0 ? pos : p;
}

/**
 * parseEthertype is parse_ethertype(): the EtherType at `pos`, or for an 802.3 length an
 * 802.2 SNAP header's EtherType (OUI 0), else ETH_P_802_2. Returns the type and the position
 * after what was consumed (the 2-byte field, and the SNAP header when it had one).
 */
// kernel: parse_ethertype()
function parseEthertype(skb: Skb, pos: number): { type: number; pos: number } {
  const d = skb.data;
  const proto = d.readUInt16BE(pos);
  pos += 2;
  if (ethProtoIs8023(proto)) return { type: proto, pos };
  if (skb.len - pos < HLEN.LLC_SNAP) return { type: ETH_P.P802_2, pos };
  if (d[pos] !== LLC_SAP_SNAP || d[pos + 1] !== LLC_SAP_SNAP || (d[pos + 3] | d[pos + 4] | d[pos + 5]) !== 0) {
    return { type: ETH_P.P802_2, pos };
  }
  pos += HLEN.LLC_SNAP;
  const type = d.readUInt16BE(pos - 2);
  return { type: ethProtoIs8023(type) ? type : ETH_P.P802_2, pos };
}

/**
 * keyExtract is key_extract(): the packet fields of `key` from the frame in `skb.data` (from
 * its MAC header, or its network header when the key's mac_proto is NONE, the EtherType then
 * being skb->protocol). Returns 0, or -EINVAL (short Ethernet header, VLAN protocol without
 * Ethernet, bad NSH header) with the key partly written, as the kernel leaves it.
 */
// kernel: key_extract()
export function keyExtract(skb: Skb, key: Buffer): number {
  key.writeUInt16BE(0, SWKEY.tpFlags.off); // used by the stats of every flow
  skb.macHeader = 0;
  key.fill(0, SWKEY.vlanTpid.off, SWKEY.cvlanTci.off + SWKEY.cvlanTci.len); // clear_vlan()

  if (ovsKeyMacProto(key) === MAC_PROTO_NONE) {
    if (ethTypeVlan(skb.protocol)) return -Errno.EINVAL;
    skb.networkHeader = 0;
    key.writeUInt16BE(skb.protocol, SWKEY.ethType.off);
  } else {
    if (skb.len < HLEN.ETH) return -Errno.EINVAL; // check_header()
    skb.data.copy(key, SWKEY.ethSrc.off, 6, 12);
    skb.data.copy(key, SWKEY.ethDst.off, 0, 6);
    const afterVlan = parseVlan(skb, key, 2 * HLEN.ETH_ALEN);
    const { type, pos } = parseEthertype(skb, afterVlan);
    key.writeUInt16BE(type, SWKEY.ethType.off);
    // Double-tagged packets keep the inner TPID in skb->protocol for a later pop_vlan.
    skb.protocol = key.readUInt16BE(SWKEY.cvlanTci.off) & VLAN_CFI_MASK ? key.readUInt16BE(SWKEY.cvlanTpid.off) : type;
    skb.networkHeader = pos;
  }
  skb.macLen = skb.networkHeader - skb.macHeader; // skb_reset_mac_len()
  return keyExtractL3L4(skb, key);
}

/** keyExtractMacProto is key_extract_mac_proto(): the key's mac_proto from the device type. */
// kernel: key_extract_mac_proto()
function keyExtractMacProto(skb: Skb, devType: number): number {
  if (devType === ARPHRD.ETHER) return MAC_PROTO_ETHERNET;
  if (devType === ARPHRD.NONE) return skb.protocol === ETH_P_X.TEB ? MAC_PROTO_ETHERNET : MAC_PROTO_NONE;
  return -Errno.EINVAL; // the kernel WARNs: OVS ports are Ethernet or ARPHRD_NONE devices
}

/**
 * ovsFlowKeyExtract is ovs_flow_key_extract(): the whole key of a packet received on a vport —
 * tunnel metadata, priority, in_port, mark, dp_hash 0, recirc_id 0, mac_proto, the packet
 * fields and, on success, the conntrack fields. Returns 0 or a negative errno (the packet is
 * then dropped). The emulator has no TC, so the tc_skb_ext path (recirc_id from a TC chain,
 * post-ct state) never applies.
 */
// kernel: ovs_flow_key_extract()
export function ovsFlowKeyExtract(skb: Skb, key: Buffer, opts: ExtractOptions = {}): number {
  const tun = opts.tunInfo;
  if (tun) {
    key[SWKEY.tunProto.off] = tun.af;
    tun.key.copy(key, SWKEY.tunKey.off, 0, SWKEY.tunKey.len);
    const optLen = tun.options?.length ?? 0;
    if (tun.options && optLen) tun.options.copy(key, SWKEY.tunOpts.off + TUN_OPTS_MAX - optLen);
    key[SWKEY.tunOptsLen.off] = optLen;
  } else {
    key[SWKEY.tunProto.off] = 0;
    key[SWKEY.tunOptsLen.off] = 0;
    key.fill(0, SWKEY.tunKey.off, SWKEY.tunKey.off + SWKEY.tunKey.len);
  }
  key.writeUInt32LE(skb.priority >>> 0, SWKEY.priority.off);
  key.writeUInt16LE((opts.inPort ?? skb.inputPort) & 0xffff, SWKEY.inPort.off);
  key.writeUInt32LE(skb.mark >>> 0, SWKEY.skbMark.off);
  key.writeUInt32LE(0, SWKEY.dpHash.off);
  const macProto = keyExtractMacProto(skb, opts.devType ?? ARPHRD.ETHER);
  if (macProto < 0) return macProto;
  key[SWKEY.macProto.off] = macProto;
  key.writeUInt32LE(0, SWKEY.recircId.off);

  const err = keyExtract(skb, key);
  if (!err) (opts.ctFillKey ?? ovsCtFillKeyUntracked)(skb, key, false); // must follow key_extract()
  return err;
}

/**
 * ovsFlowKeyExtractUserspace is ovs_flow_key_extract_userspace(): an OVS_PACKET_CMD_EXECUTE
 * key — metadata from the OVS_PACKET_ATTR_KEY attributes (ovs_nla_get_flow_metadata()),
 * packet fields from the frame (skb->protocol is first set to the key's eth.type, which
 * matters for L3 packets), then the check that a conntrack original tuple only comes with a
 * packet of its family (and not with an ND packet, whose fields share its storage). `key`
 * should be zeroed, as ovs_flow_alloc() returns it. Returns 0 or the NlError to answer with.
 */
// kernel: ovs_flow_key_extract_userspace()
export function ovsFlowKeyExtractUserspace(
  keyAttr: Attr | Buffer, skb: Skb, key: Buffer, log: OvsLog = ovsNlerr, opts: Omit<KeyOptions, 'log'> = {},
): number | NlError {
  let attrs: bigint;
  try {
    attrs = ovsNlaGetFlowMetadata(keyAttr, { ...opts, log, key }).attrs;
  } catch (e) {
    if (e instanceof NlError) return e;
    throw e;
  }
  skb.protocol = key.readUInt16BE(SWKEY.ethType.off);
  const err = keyExtract(skb, key);
  if (err) return new NlError(-err);

  const { K } = keySchema(opts.family);
  const ethType = key.readUInt16BE(SWKEY.ethType.off);
  if (attrs & (1n << BigInt(K['ct-orig-tuple-ipv4'])) && ethType !== ETH_P.IP) return new NlError(Errno.EINVAL);
  if (attrs & (1n << BigInt(K['ct-orig-tuple-ipv6'])) && (ethType !== ETH_P.IPV6 || swKeyIsNd(key))) {
    return new NlError(Errno.EINVAL);
  }
  return 0;
}

/**
 * ovsFlowKeyUpdate is ovs_flow_key_update(): re-extracts the packet fields after actions
 * changed the headers (e.g. before a recirculation), clearing SW_FLOW_KEY_INVALID on success.
 */
// kernel: ovs_flow_key_update()
export function ovsFlowKeyUpdate(skb: Skb, key: Buffer): number {
  const res = keyExtract(skb, key);
  if (!res) key[SWKEY.macProto.off] &= ~SW_FLOW_KEY_INVALID;
  return res;
}

/**
 * ovsFlowKeyUpdateL3L4 is ovs_flow_key_update_l3l4(): only the L3/L4 fields, from the headers
 * the skb's offsets point at (conntrack after reassembly).
 */
// kernel: ovs_flow_key_update_l3l4()
export function ovsFlowKeyUpdateL3L4(skb: Skb, key: Buffer): number {
  // A kernel skb always has a network header here; an emulator skb without one is a caller bug.
  if (skb.networkHeader < 0 || skb.networkHeader > skb.len) return -Errno.EINVAL;
  return keyExtractL3L4(skb, key);
}
