import { NLM_F } from '../nl/constants';
import { Errno } from '../nl/errno';
import { NlError } from '../nl/errors';
import type { FamilyHandlers, GenlRequest } from '../genl/genetlink';
import { AttrEncoder, attrS32, attrString, attrU32 } from '../schema/codec';
import { DP_MAX_PORTS, OVSP_LOCAL, type Datapath } from './datapath';
import { headerIfindex, ovsMessage, type OvsContext } from './context';
import { createVport, upcallPidsFrom, type Vport } from './vport';

/** vportFillInfo builds an ovs_vport message describing `v` (replies, dumps, notifications). */
// kernel: ovs_vport_cmd_fill_info()
export function vportFillInfo(ctx: OvsContext, dp: Datapath, v: Vport, portid: number, seq: number, flags: number, cmd: number): Buffer {
  const fam = ctx.vportFamily;
  const vportPids = ctx.dpFamily.enumValue('user-features', 'vport-pids');
  v.dev.refresh?.();
  const w = ovsMessage(fam, cmd, flags, seq, portid, dp.ifindex);
  const e = new AttrEncoder(w, fam.set('vport'));
  e.int('port-no', v.portNo).int('type', v.type).string('name', v.name).int('ifindex', v.dev.ifindex);
  if (v.dev.netnsid !== undefined) e.int('netnsid', v.dev.netnsid);
  const s = v.dev.stats();
  e.struct('stats', {
    'rx-packets': s.rxPackets, 'tx-packets': s.txPackets, 'rx-bytes': s.rxBytes, 'tx-bytes': s.txBytes,
    'rx-errors': s.rxErrors, 'tx-errors': s.txErrors, 'rx-dropped': s.rxDropped, 'tx-dropped': s.txDropped,
  });
  e.nest('upcall-stats', (u) => u.int('success', v.upcallSuccess).int('fail', v.upcallFail));
  // kernel: ovs_vport_get_upcall_portids()
  if (dp.userFeatures & vportPids) e.u32Array('upcall-pid', v.upcallPids);
  else e.u32Array('upcall-pid', [v.upcallPids[0] ?? 0]);
  if (v.options) {
    const o = v.options;
    e.nest('options', (n) => {
      if (o.dstPort !== undefined) n.int('dst-port', o.dstPort);
      if (o.gbp) n.nest('extension', (x) => x.flag('gbp'));
    });
  }
  return w.endMessage().finish();
}

/** ovs_vport handlers (net/openvswitch/datapath.c, ovs_vport_cmd_*). */
export function vportHandlers(ctx: OvsContext): FamilyHandlers {
  const fam = ctx.vportFamily;
  const group = fam.mcastGroups[0]?.id ?? 0;

  const fill = (dp: Datapath, v: Vport, portid: number, seq: number, flags: number, cmd: number): Buffer =>
    vportFillInfo(ctx, dp, v, portid, seq, flags, cmd);

  function notify(req: GenlRequest, dgram: Buffer): void {
    req.out.notify(group, dgram, (req.msg.flags & NLM_F.ECHO) !== 0);
  }

  // kernel: lookup_vport()
  function lookup(req: GenlRequest): { dp: Datapath; vport: Vport } {
    const a = req.attrs;
    if (a.get('ifindex')) throw new NlError(Errno.EOPNOTSUPP);
    const dpIfindex = headerIfindex(req.fixed);
    const name = attrString(a.get('name'));
    if (name !== undefined) {
      const found = ctx.net.locateVport(name);
      if (!found || (dpIfindex && dpIfindex !== found.dp.ifindex)) throw new NlError(Errno.ENODEV);
      return found;
    }
    const portNo = attrU32(a.get('port-no'));
    if (portNo === undefined) throw new NlError(Errno.EINVAL);
    if (portNo >= DP_MAX_PORTS) throw new NlError(Errno.EFBIG);
    const dp = ctx.net.byIfindex(dpIfindex);
    if (!dp) throw new NlError(Errno.ENODEV);
    const vport = dp.ports.get(portNo);
    if (!vport) throw new NlError(Errno.ENODEV);
    return { dp, vport };
  }

  const cmd = (n: string): number => fam.op(n).cmd;

  return {
    doit: {
      // kernel: ovs_vport_cmd_new()
      [cmd('new')]: (req) => {
        const a = req.attrs;
        const type = attrU32(a.get('type')) ?? 0;
        if (a.get('ifindex') && type !== ctx.vportEnv.types.internal) throw new NlError(Errno.EOPNOTSUPP);
        let portNo = attrU32(a.get('port-no')) ?? 0;
        if (portNo >= DP_MAX_PORTS) throw new NlError(Errno.EFBIG);
        const dp = ctx.net.byIfindex(headerIfindex(req.fixed));
        if (!dp) throw new NlError(Errno.ENODEV);
        if (portNo) {
          if (dp.ports.has(portNo)) throw new NlError(Errno.EBUSY);
        } else {
          portNo = dp.lowestFreePort();
        }
        const vport = createVport({
          name: attrString(a.get('name')) ?? '', type, options: a.get('options'), portNo,
          upcallPids: a.get('upcall-pid')!, desiredIfindex: attrS32(a.get('ifindex')) ?? 0, master: dp,
        }, ctx.vportEnv);
        dp.addPort(vport);
        notify(req, fill(dp, vport, req.portid, req.msg.seq, 0, cmd('new')));
      },
      // kernel: ovs_vport_cmd_set()
      [cmd('set')]: (req) => {
        const { dp, vport } = lookup(req);
        const type = attrU32(req.attrs.get('type'));
        if (type !== undefined && type !== vport.type) throw new NlError(Errno.EINVAL);
        // No in-tree vport type implements set_options().
        if (req.attrs.get('options')) throw new NlError(Errno.EOPNOTSUPP);
        const pidAttr = req.attrs.get('upcall-pid');
        if (pidAttr) vport.upcallPids = upcallPidsFrom(pidAttr, ctx.vportEnv);
        notify(req, fill(dp, vport, req.portid, req.msg.seq, 0, cmd('set')));
      },
      // kernel: ovs_vport_cmd_del()
      [cmd('del')]: (req) => {
        const { dp, vport } = lookup(req);
        if (vport.portNo === OVSP_LOCAL) throw new NlError(Errno.EINVAL);
        const reply = fill(dp, vport, req.portid, req.msg.seq, 0, cmd('del'));
        dp.removePort(vport.portNo);
        vport.destroy();
        notify(req, reply);
      },
      // kernel: ovs_vport_cmd_get()
      [cmd('get')]: (req) => {
        const { dp, vport } = lookup(req);
        req.out.unicast(fill(dp, vport, req.portid, req.msg.seq, 0, cmd('get')));
      },
    },
    dumpit: {
      // kernel: ovs_vport_cmd_dump()
      [cmd('get')]: function* (req) {
        const dp = ctx.net.byIfindex(headerIfindex(req.fixed));
        if (!dp) throw new NlError(Errno.ENODEV);
        for (const v of dp.portsInDumpOrder()) yield fill(dp, v, req.portid, req.msg.seq, NLM_F.MULTI, cmd('get'));
      },
    },
  };
}
