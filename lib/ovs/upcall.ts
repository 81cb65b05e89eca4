import { NLA_HDRLEN, align4 } from '../nl/constants';
import { Errno } from '../nl/errno';
import type { FamilySpec } from '../schema/model';
import type { UpcallInfo } from './actions-env';
import { ovsMessage } from './context';
import type { Datapath } from './datapath';
import { ovsNlaPutActions } from './flow-netlink-actions-put';
import { ovsNlaPutKey } from './flow-netlink-put';
import type { Skb } from './skb';

/** OVS_PACKET_HASH_SW_BIT / OVS_PACKET_HASH_L4_BIT: flags above the 32-bit hash. */
const HASH_SW_BIT = 1n << 32n;
const HASH_L4_BIT = 1n << 33n;
/** USHRT_MAX: an upcall's packet attribute must fit a u16 nla_len. */
const USHRT_MAX = 0xffff;

/** UpcallSink delivers an upcall datagram to a port id (genlmsg_unicast): 0 or a positive errno. */
export type UpcallSink = (portid: number, dgram: Buffer) => number;

/**
 * buildUpcall is queue_userspace_packet()'s message: genl header with pid 0 and seq 0, then
 * KEY, USERDATA, [EGRESS_TUN_KEY], ACTIONS, MRU, LEN (truncated packets), HASH and, last,
 * PACKET — unpadded when the datapath negotiated OVS_DP_F_UNALIGNED.
 */
// kernel: queue_userspace_packet()
export function buildUpcall(
  fam: FamilySpec, dp: Datapath, unaligned: boolean, skb: Skb, key: Buffer, info: UpcallInfo,
): Buffer | number {
  const dpIfindex = dp.ifindex;
  if (!dpIfindex) return Errno.ENODEV;
  const frame = skb.vlanPresent ? vlanPushInside(skb) : skb.data;
  const skbLen = Math.min(frame.length, info.cutlen >>> 0);
  if (NLA_HDRLEN + skbLen > USHRT_MAX) return Errno.EFBIG;
  const set = fam.set('packet-attrs');
  const T = (n: string): number => set.byName.get(n)!.type;
  const w = ovsMessage(fam, fam.op(info.cmd).cmd, 0, 0, 0, dpIfindex);
  ovsNlaPutKey(w, T('key'), key, key, false);
  if (info.userdata) w.attr(T('userdata'), info.userdata);
  if (info.actions) ovsNlaPutActions(w, T('actions'), info.actions);
  if (info.mru) w.attrU16(T('mru'), info.mru);
  if (skbLen < frame.length) w.attrU32(T('len'), frame.length);
  let hash = BigInt(skb.hash >>> 0);
  if (skb.swHash) hash |= HASH_SW_BIT;
  if (skb.l4Hash) hash |= HASH_L4_BIT;
  w.attrU64(T('hash'), hash);
  const head = w.endMessage().finish();
  // The packet goes last, its nla_len unpadded; the message is padded only without UNALIGNED.
  const attrLen = NLA_HDRLEN + skbLen;
  const total = head.length + (unaligned ? attrLen : align4(attrLen));
  const out = Buffer.alloc(total);
  head.copy(out);
  out.writeUInt16LE(attrLen, head.length);
  out.writeUInt16LE(T('packet'), head.length + 2);
  frame.copy(out, head.length + NLA_HDRLEN, 0, skbLen);
  out.writeUInt32LE(total, 0);
  return out;
}

/** vlanPushInside is __vlan_hwaccel_push_inside(): the accelerated tag written into the frame. */
export function vlanPushInside(skb: Skb): Buffer {
  const d = skb.data;
  const out = Buffer.alloc(d.length + 4);
  d.copy(out, 0, 0, 12);
  out.writeUInt16BE(skb.vlanTpid, 12);
  out.writeUInt16BE(skb.vlanTci, 14);
  d.copy(out, 16, 12);
  return out;
}
