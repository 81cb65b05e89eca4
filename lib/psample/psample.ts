/**
 * net/psample/psample.c: the psample generic netlink family and psample_sample_packet(), which
 * the OVS psample action calls. A sample is multicast to the "packets" group; the family
 * itself only answers a GET_GROUP dump, empty here since no in-kernel user registers groups.
 */
import { NLA_HDRLEN, align4 } from '../nl/constants';
import { genlMessage, type FamilyHandlers } from '../genl/genetlink';
import type { FamilySpec } from '../schema/model';

/** PSAMPLE_MAX_PACKET_SIZE: a sample message never exceeds a u16 length. */
const PSAMPLE_MAX_PACKET_SIZE = 0xffff;

/** PsampleMetadata is struct psample_metadata as execute_psample() fills it. */
export interface PsampleMetadata {
  /** Ingress ifindex (0: none). */
  inIfindex: number;
  /** Bytes of the packet to include (min(skb->len, cutlen) for OVS). */
  truncSize: number;
  userCookie?: Buffer;
  /** The rate is a probability out of U32_MAX (OVS always). */
  rateAsProbability: boolean;
}

/** PsampleGroup is struct psample_group: OVS passes a fresh one per sample, so seq is 0. */
export interface PsampleGroup {
  groupNum: number;
  seq: number;
}

const nlaTotal = (len: number): number => align4(NLA_HDRLEN + len);

/**
 * psampleSampleMessage builds the PSAMPLE_CMD_SAMPLE message psample_sample_packet()
 * multicasts: the packet `data` (skb->data, its length skb->len), its EtherType `proto` (host
 * order), the sample `rate`, `timestampNs` (CLOCK_REALTIME), in the kernel's attribute order.
 * On x86-64 the u64 attributes take no PAD (efficient unaligned access).
 */
// kernel: psample_sample_packet()
export function psampleSampleMessage(fam: FamilySpec, group: PsampleGroup, data: Buffer, proto: number, rate: number, md: PsampleMetadata, timestampNs: bigint): Buffer {
  const set = fam.set('psample-attrs');
  const T = (n: string): number => set.byName.get(n)!.type;
  const cookieLen = md.userCookie?.length ?? 0;
  const metaLen = (md.inIfindex ? nlaTotal(2) : 0) + 4 * nlaTotal(4) + nlaTotal(8) + nlaTotal(2) +
    (cookieLen ? nlaTotal(cookieLen) : 0) + (md.rateAsProbability ? nlaTotal(0) : 0);
  let dataLen = Math.min(data.length, md.truncSize);
  if (metaLen + nlaTotal(dataLen) > PSAMPLE_MAX_PACKET_SIZE) dataLen = PSAMPLE_MAX_PACKET_SIZE - metaLen - NLA_HDRLEN - 4;
  const w = genlMessage(fam, fam.op('sample').cmd, 0, 0, 0);
  if (md.inIfindex) w.attrU16(T('iifindex'), md.inIfindex);
  w.attrU32(T('sample-rate'), rate >>> 0);
  w.attrU32(T('origsize'), data.length);
  w.attrU32(T('sample-group'), group.groupNum >>> 0);
  w.attrU32(T('group-seq'), group.seq++ >>> 0);
  w.attrU64(T('timestamp'), timestampNs);
  w.attrU16(T('proto'), proto & 0xffff);
  if (dataLen > 0) w.attr(T('data'), data.subarray(0, dataLen));
  if (md.userCookie && cookieLen) w.attr(T('user-cookie'), md.userCookie);
  if (md.rateAsProbability) w.attr(T('sample-probability'), Buffer.alloc(0));
  return w.endMessage().finish();
}

/** psampleHandlers: GET_GROUP dumps the registered groups; none are (OVS registers none). */
// kernel: psample_nl_cmd_get_group_dumpit()
export function psampleHandlers(fam: FamilySpec): FamilyHandlers {
  return {
    dumpit: {
      [fam.op('get-group').cmd]: function* () {
        // No psample_group on psample_groups_list: the dump ends at once.
      },
    },
  };
}
