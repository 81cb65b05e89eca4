import type { FamilySpec } from '../schema/model';
import type { FlowCodec } from './flow-codec';
import { maskKey, SW_FLOW_KEY_SIZE } from './flow-key';
import { ovsNlaCopyActionsForKey } from './flow-netlink-actions';
import { ovsNlaPutActions } from './flow-netlink-actions-put';
import type { FlowActions } from './flow-actions-buffer';
import { ovsNlaGetMatch, type OvsLog } from './flow-netlink-key';
import { ovsNlaPutKey } from './flow-netlink-put';

/** A probe (OVS_FLOW_ATTR_PROBE) silences the kernel's OVS_NLERR lines. */
const quiet: OvsLog = () => undefined;

/**
 * kernelFlowCodec binds the flow-netlink ports (keys, masks, actions) to the FlowCodec the
 * ovs_flow handlers use, for the Linux 6.12 personality with conntrack.
 */
export function kernelFlowCodec(family?: FamilySpec): FlowCodec<FlowActions> {
  return {
    getMatch(key, mask, log) {
      const m = ovsNlaGetMatch(key, mask, { family, log: log ? undefined : quiet });
      const mk = m.mask!;
      return { key: m.key, range: m.range, mask: { key: mk.key, start: mk.range.start, end: mk.range.end } };
    },
    getKey(key, log) {
      const m = ovsNlaGetMatch(key, undefined, { family, withMask: false, log: log ? undefined : quiet });
      return { key: m.key, range: m.range };
    },
    maskKey(key, mask) {
      return maskKey(Buffer.alloc(SW_FLOW_KEY_SIZE), key, mask.key, { start: mask.start, end: mask.end }, true);
    },
    copyActions(actions, maskedKey, log) {
      return ovsNlaCopyActionsForKey(actions, maskedKey, log);
    },
    putKey(w, attrType, swkey, output, isMask) {
      ovsNlaPutKey(w, attrType, swkey, output, isMask, { family });
    },
    putActions(w, attrType, actions) {
      ovsNlaPutActions(w, attrType, actions);
    },
  };
}
