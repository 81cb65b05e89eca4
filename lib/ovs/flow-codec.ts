import type { NlWriter } from '../nl/writer';
import type { Attr } from '../schema/validate';
import type { KeyRange } from './flow-key';
import type { MaskSpec } from './flow-table';

/** FlowLookupKey is an unmasked key and the byte range its attributes touched. */
export interface FlowLookupKey {
  key: Buffer;
  range: KeyRange;
}

/** FlowMatch is what ovs_nla_get_match() produces: the unmasked key, its range and its mask. */
export interface FlowMatch extends FlowLookupKey {
  mask: MaskSpec;
}

/**
 * FlowCodec is the flow-netlink surface the ovs_flow handlers use (flow_netlink.c): parsing
 * keys, masks and actions with the kernel's rules, and emitting them as the kernel does.
 * `A` is the stored (converted) form of an action list.
 */
export interface FlowCodec<A> {
  /** ovs_nla_get_match() with a mask (NEW/SET): the mask is generated exact when absent. */
  getMatch(key: Attr, mask: Attr | undefined, log: boolean): FlowMatch;
  /** ovs_nla_get_match() without a mask (GET/DEL by key): the unmasked key only. */
  getKey(key: Attr, log: boolean): FlowLookupKey;
  /** maskKey is ovs_flow_mask_key(full=true): key AND mask over the whole layout. */
  maskKey(key: Buffer, mask: MaskSpec): Buffer;
  /** ovs_nla_copy_actions() validated against the masked key. */
  copyActions(actions: Attr, maskedKey: Buffer, log: boolean): A;
  /** ovs_nla_put_key(): `attrType` nest holding `swkey` (or its mask `output` when isMask). */
  putKey(w: NlWriter, attrType: number, swkey: Buffer, output: Buffer, isMask: boolean): void;
  /** ovs_nla_put_actions() inside an `attrType` nest. */
  putActions(w: NlWriter, attrType: number, actions: A): void;
}
