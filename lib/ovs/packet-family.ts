import { Errno } from '../nl/errno';
import { NlError } from '../nl/errors';
import type { FamilyHandlers } from '../genl/genetlink';
import type { FamilySpec } from '../schema/model';
import { attrU16 } from '../schema/codec';
import { OVSP_LOCAL, type OvsNet } from './datapath';
import { headerIfindex } from './context';
import { ovsNlaCopyActionsForKey } from './flow-netlink-actions';
import { ovsFlowKeyExtractUserspace } from './flow';
import { newSwFlowKey, SWKEY } from './flow-key';
import type { OvsLog } from './flow-netlink-key';
import type { PacketPath } from './dp-process';
import { Skb } from './skb';

/** U32_MAX: OVS_CB(skb)->cutlen of an executed packet. */
const CUTLEN_NONE = 0xffffffff;
const quiet: OvsLog = () => undefined;

/** ovs_packet handlers: OVS_PACKET_CMD_EXECUTE (MISS and ACTION only go to userspace). */
export function packetHandlers(net: OvsNet, family: FamilySpec, path: PacketPath): FamilyHandlers {
  return {
    doit: {
      // kernel: ovs_packet_cmd_execute()
      [family.op('execute').cmd]: (req) => {
        const a = req.attrs;
        const log = a.get('probe') ? quiet : undefined;
        const pkt = a.get('packet');
        const keyAttr = a.get('key');
        const actsAttr = a.get('actions');
        if (!pkt || !keyAttr || !actsAttr) throw new NlError(Errno.EINVAL);
        const skb = new Skb(Buffer.from(pkt.payload));
        const mru = attrU16(a.get('mru'));
        if (mru !== undefined) skb.ignoreDf = true;
        skb.mru = mru ?? 0;
        skb.cutlen = CUTLEN_NONE;
        const hashAttr = a.get('hash');
        if (hashAttr) {
          const h = hashAttr.payload.readBigUInt64LE(0);
          skb.hash = Number(h & 0xffffffffn);
          skb.swHash = (h & (1n << 32n)) !== 0n;
          skb.l4Hash = (h & (1n << 33n)) !== 0n;
        }
        const key = newSwFlowKey();
        const err = ovsFlowKeyExtractUserspace(keyAttr, skb, key, log);
        if (err instanceof NlError) throw err;
        const acts = ovsNlaCopyActionsForKey(actsAttr, key, log ?? true);
        skb.priority = key.readUInt32LE(SWKEY.priority.off);
        skb.mark = key.readUInt32LE(SWKEY.skbMark.off);
        const dp = net.byIfindex(headerIfindex(req.fixed));
        if (!dp) throw new NlError(Errno.ENODEV);
        const vport = dp.ports.get(key.readUInt16LE(SWKEY.inPort.off)) ?? dp.ports.get(OVSP_LOCAL);
        if (!vport) throw new NlError(Errno.ENODEV);
        skb.inputPort = vport.portNo;
        path.execute(dp, skb, acts, key);
      },
    },
  };
}
