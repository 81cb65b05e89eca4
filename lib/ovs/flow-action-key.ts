import { MAC_PROTO_ETHERNET, MAC_PROTO_NONE, SW_FLOW_KEY_INVALID, SWKEY } from './flow-key';

/**
 * What action validation reads from the flow key. ovs_nla_copy_actions() is given the *masked*
 * key (the packet key for OVS_PACKET_CMD_EXECUTE), so every field here is the key value AND its
 * mask: a wildcarded EtherType is 0, a wildcarded IP protocol is 0, and so on.
 */

/** MAC_PROTO_* of sw_flow_key.mac_proto (net/openvswitch/flow.h). */
export const MAC_PROTO = { NONE: MAC_PROTO_NONE, ETHERNET: MAC_PROTO_ETHERNET } as const;

/** ActionKeyView is the part of struct sw_flow_key that __ovs_nla_copy_actions() looks at. */
export interface ActionKeyView {
  /** key->eth.type, host order of the big-endian field. */
  ethType: number;
  /** key->eth.vlan.tci, host order; VLAN_CFI_MASK (0x1000) marks a present tag. */
  vlanTci: number;
  /** ovs_key_mac_proto(key): MAC_PROTO.ETHERNET, or MAC_PROTO.NONE for an L3 flow. */
  macProto: number;
  /** key->ip.proto. */
  ipProto: number;
  /** key->ip.frag (OVS_FRAG_TYPE_*). */
  ipFrag: number;
  /** key->mpls.num_labels_mask (one bit per label stack entry present in the key). */
  mplsNumLabelsMask: number;
  /** key->nsh.base.np (next protocol of an NSH flow). */
  nshNp: number;
}

/** actionKeyView fills the fields a caller does not give with zeros (an Ethernet flow by default). */
export function actionKeyView(fields: Partial<ActionKeyView> = {}): ActionKeyView {
  return {
    ethType: 0, vlanTci: 0, macProto: MAC_PROTO.ETHERNET, ipProto: 0, ipFrag: 0, mplsNumLabelsMask: 0, nshNp: 0,
    ...fields,
  };
}

/**
 * actionKeyViewOf reads the view from a (masked) sw_flow_key buffer of lib/ovs/flow-key.ts.
 */
// kernel: ovs_key_mac_proto(), key->eth.type, key->eth.vlan.tci, key->ip, key->mpls, key->nsh
export function actionKeyViewOf(key: Buffer): ActionKeyView {
  return {
    ethType: key.readUInt16BE(SWKEY.ethType.off),
    vlanTci: key.readUInt16BE(SWKEY.vlanTci.off),
    macProto: key[SWKEY.macProto.off] & ~SW_FLOW_KEY_INVALID,
    ipProto: key[SWKEY.ipProto.off],
    ipFrag: key[SWKEY.ipFrag.off],
    mplsNumLabelsMask: key.readUInt32LE(SWKEY.mplsNumLabelsMask.off),
    nshNp: key[SWKEY.nshNp.off],
  };
}
