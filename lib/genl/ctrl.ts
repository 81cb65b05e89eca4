import { NLM_F } from '../nl/constants';
import { Errno } from '../nl/errno';
import { NlError } from '../nl/errors';
import { attrString, attrU16, AttrEncoder } from '../schema/codec';
import type { FamilySpec } from '../schema/model';
import { getPolicyDump } from './ctrl-policy';
import { genlMessage, type FamilyHandlers, type Genetlink, type GenlRequest } from './genetlink';

/**
 * The generic netlink controller: family and multicast-group discovery, as
 * net/netlink/genetlink.c answers CTRL_CMD_GETFAMILY, and policy dumps (CTRL_CMD_GETPOLICY,
 * ./ctrl-policy.ts).
 */
export function ctrlHandlers(genl: Genetlink): FamilyHandlers {
  const ctrl = genl.registry.family('nlctrl');
  const newFamily = ctrl.op('newfamily').cmd;
  const opAttrs = ctrl.set('op-attrs');
  const grpAttrs = ctrl.set('mcast-group-attrs');
  const getPolicy = ctrl.op('getpolicy').cmd;

  // kernel: ctrl_fill_info()
  function fillInfo(f: FamilySpec, req: GenlRequest, flags: number): Buffer {
    const w = genlMessage(ctrl, newFamily, flags, req.msg.seq, req.portid);
    const e = new AttrEncoder(w, ctrl.set('ctrl-attrs'));
    e.string('family-name', f.name).int('family-id', f.familyId).int('version', f.version)
      .int('hdrsize', f.hdrsize).int('maxattr', f.maxattr);
    const ops = f.ops.filter((o) => o.ctrlFlags);
    if (ops.length) {
      e.indexedNest('ops', ops, opAttrs, (o, op) => o.int('id', op.cmd).int('flags', op.ctrlFlags));
    }
    if (f.mcastGroups.length) {
      e.indexedNest('mcast-groups', f.mcastGroups, grpAttrs, (g, grp) => g.int('id', grp.id).string('name', grp.name));
    }
    return w.endMessage().finish();
  }

  return {
    /**
     * ctrl_dumpfamily() returns 0 once done, so NLMSG_DONE shares the last datagram;
     * ctrl_dumppolicy() returns skb->len, so its NLMSG_DONE comes in a datagram of its own.
     */
    inlineDone: (req) => req.cmd !== getPolicy,
    doit: {
      // kernel: ctrl_getfamily()
      [ctrl.op('getfamily').cmd]: (req) => {
        let res: FamilySpec | undefined;
        let errno: number = Errno.EINVAL;
        const id = attrU16(req.attrs.get('family-id'));
        if (id !== undefined) {
          res = genl.byId(id);
          errno = Errno.ENOENT;
        }
        const name = attrString(req.attrs.get('family-name'));
        if (name !== undefined) {
          res = genl.byName(name);
          errno = Errno.ENOENT;
        }
        if (!res) throw new NlError(errno);
        req.out.unicast(fillInfo(res, req, 0));
      },
    },
    dumpit: {
      // kernel: ctrl_dumpfamily()
      [ctrl.op('getfamily').cmd]: function* (req) {
        for (const f of genl.registered()) yield fillInfo(f, req, NLM_F.MULTI);
      },
      // kernel: ctrl_dumppolicy_start(), ctrl_dumppolicy()
      [getPolicy]: (req) => getPolicyDump(genl, req),
    },
  };
}
