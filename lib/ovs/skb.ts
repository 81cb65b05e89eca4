/**
 * Skb is the emulator's struct sk_buff: the frame bytes plus the metadata the OVS datapath reads
 * and writes (net/openvswitch/datapath.h `struct ovs_skb_cb`, and the skb fields key extraction
 * and the actions use). One object travels from a vport (or OVS_PACKET_CMD_EXECUTE) through key
 * extraction, the flow table and the actions; clones are made with {@link Skb.clone}.
 *
 * `data` always holds the frame from its first byte (skb->data at the MAC header when the
 * packet has one); offsets are relative to it. A VLAN tag may live in `data` (in-band) or in
 * `vlanTci`/`vlanTpid` (the skb's accelerated tag, as a NIC that strips tags would leave it).
 */
export class Skb {
  /** skb->protocol: the EtherType (host order) of the network header. */
  protocol = 0;
  /** Offsets into `data`, -1 when not set (skb_reset_*_header / skb_set_*_header). */
  macHeader = 0;
  networkHeader = -1;
  transportHeader = -1;
  /** skb->mac_len. */
  macLen = 0;
  /**
   * skb->inner_network_header (offset into `data`, -1 = unset): key extraction of an MPLS packet
   * leaves it just past the last label stack entry it read (skb_set_inner_network_header).
   */
  innerNetworkHeader = -1;
  /** Accelerated VLAN tag (skb_vlan_tag_present() is vlanTpid != 0): the raw TCI and the TPID. */
  vlanTci = 0;
  vlanTpid = 0;
  /** skb->hash and its flags (__skb_get_hash / skb_set_hash). */
  hash = 0;
  l4Hash = false;
  swHash = false;
  /** skb->mark, skb->priority. */
  mark = 0;
  priority = 0;
  /** IPCB/IP6CB ignore_df, set when OVS_PACKET_ATTR_MRU is given. */
  ignoreDf = false;
  /**
   * OVS_CB(skb): input port number (-1 = none), mru, cutlen, sampling probability. cutlen is
   * U32_MAX (no truncation pending) as ovs_vport_receive() and packet execute set it.
   */
  inputPort = -1;
  mru = 0;
  cutlen = 0xffffffff;
  probability = 0;
  /** The CPU the packet is processed on (RSS), for per-CPU stats and upcall dispatch. */
  cpu = 0;
  /** Conntrack state attached to the skb (nf_ct), opaque to everything but conntrack. */
  ct: unknown = undefined;
  /** Egress tunnel metadata set by a SET(tunnel) action (skb_dst tunnel info), opaque here. */
  tunnelInfo: unknown = undefined;
  /** GSO state of a super-packet a netdev port received (segmented by the device it leaves on). */
  gso: { type: number; size: number; hdrLen: number } | undefined = undefined;

  constructor(public data: Buffer) {}

  /** len is skb->len. */
  get len(): number {
    return this.data.length;
  }

  /** vlanPresent is skb_vlan_tag_present(). */
  get vlanPresent(): boolean {
    return this.vlanTpid !== 0;
  }

  /** clone is skb_clone()+copy: an independent frame and metadata (actions may modify it). */
  clone(): Skb {
    const c = new Skb(Buffer.from(this.data));
    Object.assign(c, { ...this, data: c.data });
    return c;
  }
}
