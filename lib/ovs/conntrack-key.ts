/**
 * How conntrack results reach the flow key (net/openvswitch/conntrack.c): ovs_ct_update_key(),
 * __ovs_ct_update_key() with the original-direction tuple, ovs_ct_fill_key() (also what key
 * extraction calls) and ovs_nat_update_key().
 */
import { CTINFO, IPS, MANIP_DST, MANIP_SRC, OVS_CS_F, OVS_CS_F_NAT_MASK, isConfirmed, skbCt, type Conn } from './conntrack-conn';
import { NFPROTO } from './conntrack-helpers';
import { isIcmp } from './conntrack-tuple';
import { PROTO } from './flow-extract-consts';
import { SWKEY, keyEthType, swKeyIsNd } from './flow-key';
import { ETH_P } from './net-consts';
import type { Skb } from './skb';

/** ovs_ct_get_state(): the ct_state bits of a ctinfo. */
// kernel: ovs_ct_get_state()
function ctGetState(ctinfo: number): number {
  let s = OVS_CS_F.TRACKED;
  if (ctinfo === CTINFO.ESTABLISHED_REPLY || ctinfo === CTINFO.RELATED_REPLY) s |= OVS_CS_F.REPLY_DIR;
  if (ctinfo === CTINFO.ESTABLISHED || ctinfo === CTINFO.ESTABLISHED_REPLY) s |= OVS_CS_F.ESTABLISHED;
  else if (ctinfo === CTINFO.RELATED || ctinfo === CTINFO.RELATED_REPLY) s |= OVS_CS_F.RELATED;
  else if (ctinfo === CTINFO.NEW) s |= OVS_CS_F.NEW;
  return s;
}

/** ovs_ct_get_labels(): an unconfirmed related connection shows its master's labels. */
function ctLabels(ct: Conn | undefined): Buffer {
  const c = ct?.master && !isConfirmed(ct) ? ct.master : ct;
  return c?.labels ?? Buffer.alloc(16);
}

/** __ovs_ct_update_key(): state, zone, mark, labels and the original tuple. */
// kernel: __ovs_ct_update_key(), __ovs_ct_update_key_orig_tp()
function updateKeyFields(key: Buffer, state: number, zone: number, conn: Conn | undefined): void {
  key[SWKEY.ctState.off] = state;
  key.writeUInt16LE(zone, SWKEY.ctZone.off);
  key.writeUInt32LE(conn?.mark ?? 0, SWKEY.ctMark.off);
  ctLabels(conn).copy(key, SWKEY.ctLabels.off);
  if (conn) {
    const orig = (conn.master ?? conn).tuples[0];
    const ethType = keyEthType(key);
    const v4 = ethType === ETH_P.IP && orig.family === NFPROTO.IPV4;
    const v6 = ethType === ETH_P.IPV6 && !swKeyIsNd(key) && orig.family === NFPROTO.IPV6;
    if (v4 || v6) {
      orig.src.copy(key, v4 ? SWKEY.ipv4CtOrigSrc.off : SWKEY.ipv6CtOrigSrc.off);
      orig.dst.copy(key, v4 ? SWKEY.ipv4CtOrigDst.off : SWKEY.ipv6CtOrigDst.off);
      key[SWKEY.ctOrigProto.off] = orig.proto;
      const icmp = isIcmp(orig);
      key.writeUInt16BE(icmp ? orig.dport >> 8 : orig.sport, SWKEY.ctOrigTpSrc.off);
      key.writeUInt16BE(icmp ? orig.dport & 0xff : orig.dport, SWKEY.ctOrigTpDst.off);
      return;
    }
  }
  key[SWKEY.ctOrigProto.off] = 0;
}

/**
 * ctUpdateKey is ovs_ct_update_key(): the key's ct fields from the skb's conntrack reference.
 * `zone` is the action's zone (used when a ct action found no connection: +trk+inv).
 */
// kernel: ovs_ct_update_key()
export function ctUpdateKey(skb: Skb, zone: number, key: Buffer, postCt: boolean, keepNatFlags: boolean): void {
  const s = skbCt(skb.ct);
  const ct = s?.conn ?? undefined;
  let state = 0;
  let z = 0;
  if (s && ct) {
    state = ctGetState(s.ctinfo);
    if (!isConfirmed(ct)) state |= OVS_CS_F.NEW;
    if (ct.master) state |= OVS_CS_F.RELATED;
    if (keepNatFlags) {
      state |= key[SWKEY.ctState.off] & OVS_CS_F_NAT_MASK;
    } else {
      if (ct.status & IPS.SRC_NAT) state |= OVS_CS_F.SRC_NAT;
      if (ct.status & IPS.DST_NAT) state |= OVS_CS_F.DST_NAT;
    }
    z = ct.zone;
  } else if (postCt) {
    state = OVS_CS_F.TRACKED | OVS_CS_F.INVALID;
    z = zone;
  }
  updateKeyFields(key, state, z, ct);
}

/**
 * ctFillKey is ovs_ct_fill_key(): the ct fields of a key being extracted for `skb` (all zero
 * for a packet that never went through conntrack).
 */
// kernel: ovs_ct_fill_key()
export function ctFillKey(skb: Skb, key: Buffer, postCt = false): void {
  ctUpdateKey(skb, 0, key, postCt, false);
}

/** ovs_nat_update_key() for one side: the NAT flag, the rewritten address and port. */
// kernel: ovs_nat_update_key()
function natUpdateSide(skb: Skb, key: Buffer, manip: number): void {
  const src = manip === MANIP_SRC;
  key[SWKEY.ctState.off] |= src ? OVS_CS_F.SRC_NAT : OVS_CS_F.DST_NAT;
  const d = skb.data;
  const nh = skb.networkHeader;
  const ethType = keyEthType(key);
  if (ethType === ETH_P.IP) d.copy(key, src ? SWKEY.ipv4Src.off : SWKEY.ipv4Dst.off, nh + (src ? 12 : 16), nh + (src ? 16 : 20));
  else if (ethType === ETH_P.IPV6) d.copy(key, src ? SWKEY.ipv6Src.off : SWKEY.ipv6Dst.off, nh + (src ? 8 : 24), nh + (src ? 24 : 40));
  else return;
  const proto = key[SWKEY.ipProto.off];
  if (proto !== PROTO.UDP && proto !== PROTO.TCP && proto !== PROTO.SCTP) return;
  const th = skb.transportHeader;
  if (th < 0 || d.length < th + 4) return;
  key.writeUInt16BE(d.readUInt16BE(th + (src ? 0 : 2)), src ? SWKEY.tpSrc.off : SWKEY.tpDst.off);
}

/** natUpdateKey applies ovs_nat_update_key() for the sides ovs_ct_nat() processed (bit per side). */
// kernel: ovs_ct_nat()
export function natUpdateKey(skb: Skb, key: Buffer, done: number): void {
  if (done & (1 << MANIP_SRC)) natUpdateSide(skb, key, MANIP_SRC);
  if (done & (1 << MANIP_DST)) natUpdateSide(skb, key, MANIP_DST);
}
