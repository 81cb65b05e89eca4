import { genlMessage } from '../genl/genetlink';
import type { FamilySpec } from '../schema/model';
import { encodeStruct } from '../schema/struct';
import type { OvsNet } from './datapath';
import type { VportEnv } from './vport';

/** OvsContext is the state the OVS family handlers share (one per emulated network namespace). */
export interface OvsContext {
  net: OvsNet;
  vportEnv: VportEnv;
  dpFamily: FamilySpec;
  vportFamily: FamilySpec;
  /** max_meters_allowed of new datapaths; undefined = the kernel's formula on this machine's RAM. */
  maxMeters?: number;
}

/** ovsMessage starts an OVS reply: genl header plus struct ovs_header {dp_ifindex}. */
export function ovsMessage(family: FamilySpec, cmd: number, flags: number, seq: number, portid: number, dpIfindex: number) {
  const fixed = family.fixedHeader ? encodeStruct(family.fixedHeader, { 'dp-ifindex': dpIfindex }) : undefined;
  return genlMessage(family, cmd, flags, seq, portid, fixed);
}

/** headerIfindex reads ovs_header.dp_ifindex from a request's fixed header. */
export function headerIfindex(fixed: Buffer): number {
  return fixed.length >= 4 ? fixed.readInt32LE(0) : 0;
}
