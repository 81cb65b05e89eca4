import { align4 } from '../nl/constants';
import { Errno } from '../nl/errno';
import { NlError } from '../nl/errors';
import type { NlWriter } from '../nl/writer';
import type { FamilyHandlers, GenlRequest } from '../genl/genetlink';
import type { FamilySpec } from '../schema/model';
import { decodeStruct, encodeStruct } from '../schema/struct';
import type { Attr } from '../schema/validate';
import { headerIfindex, ovsMessage } from './context';
import { checkZoneId, OVS_CT_LIMIT_DEFAULT, OVS_ZONE_LIMIT_DEFAULT_ZONE, type CtLimitInfo } from './ct-limit';
import { ovsNlerr } from './flow-netlink-match';


/** CtLimitContext is what the ovs_ct_limit handlers need. */
export interface CtLimitContext {
  family: FamilySpec;
  /** The zone limits of the namespace the requests come from (ovs_net->ct_limit_info). */
  limits: CtLimitInfo;
  /** OVS_NLERR sink (the kernel's rate-limited pr_info; never sent to the client). */
  log?: (msg: string) => void;
}

/**
 * Room of the GET reply skb: ovs_ct_limit_cmd_reply_start() allocates
 * genlmsg_new(NLMSG_DEFAULT_SIZE) = alloc_skb(3780); x86-64 6.12 rounds the head up to the
 * kmalloc-8k object (SKB_DATA_ALIGN(3780) + 320 bytes of skb_shared_info = 4160 → 8192), less
 * the shared info: 7872 bytes from the nlmsghdr on. An entry that does not fit makes
 * nla_put_nohdr() fail: the whole GET is EMSGSIZE (at most 653 entries fit).
 */
const GET_REPLY_ROOM = 8192 - 320;

/** ZoneLimitEntry is one struct ovs_zone_limit of a request. */
interface ZoneLimitEntry {
  zoneId: number;
  limit: number;
}

/**
 * ovs_ct_limit handlers (net/openvswitch/conntrack.c, ovs_ct_limit_cmd_*). The limits belong
 * to the network namespace, not to a datapath: dp_ifindex is never looked up, only copied into
 * the reply. Every command answers with a unicast reply; SET and DEL replies are empty.
 */
export function ctLimitHandlers(ctx: CtLimitContext): FamilyHandlers {
  const fam = ctx.family;
  const set = fam.set('ct-limit-attrs');
  const zoneLimitType = set.byName.get('zone-limit')!.type;
  const struct = fam.struct('ovs-zone-limit');
  const info = ctx.limits;
  // conntrack.c has no pr_fmt: its OVS_NLERR lines read "netlink: …".
  const log = ctx.log ?? ((m: string): void => ovsNlerr(m, 'conntrack'));
  const cmd = (n: string): number => fam.op(n).cmd;

  // kernel: ovs_ct_limit_cmd_reply_start()
  const start = (req: GenlRequest, command: number): NlWriter =>
    ovsMessage(fam, command, 0, req.msg.seq, req.portid, headerIfindex(req.fixed));

  /**
   * entries walks the packed struct ovs_zone_limit array the way the kernel does: over
   * NLA_ALIGN(nla_len) bytes, one struct per NLA_ALIGN(sizeof) step, logging what is left.
   * Only zone_id and limit are read, and both lie inside the payload whenever a struct is taken.
   */
  function entries(attr: Attr, what: string): ZoneLimitEntry[] {
    let rem = align4(attr.payload.length);
    const buf = Buffer.alloc(rem);
    attr.payload.copy(buf);
    const out: ZoneLimitEntry[] = [];
    for (let off = 0; rem >= struct.size; off += align4(struct.size)) {
      const v = decodeStruct(struct, buf, off);
      out.push({ zoneId: v['zone-id'] as number, limit: v.limit as number });
      rem -= align4(struct.size);
    }
    if (rem) log(`${what} zone limit has ${rem} unknown bytes`);
    return out;
  }

  /** zoneLimit requires OVS_CT_LIMIT_ATTR_ZONE_LIMIT (SET, DEL). */
  function zoneLimit(req: GenlRequest): Attr {
    const a = req.attrs.get('zone-limit');
    if (!a) throw new NlError(Errno.EINVAL);
    return a;
  }

  // kernel: nla_put_nohdr() into the reply skb
  const put = (w: NlWriter, zoneId: number, limit: number, count: number): void => {
    if (w.length + align4(struct.size) > GET_REPLY_ROOM) throw new NlError(Errno.EMSGSIZE);
    w.raw(encodeStruct(struct, { 'zone-id': zoneId, limit, count }));
  };
  // kernel: ovs_ct_limit_get_default_limit()
  const putDefault = (w: NlWriter): void => put(w, OVS_ZONE_LIMIT_DEFAULT_ZONE, info.defaultLimit, 0);
  // kernel: __ovs_ct_limit_get_zone_limit()
  const putZone = (w: NlWriter, zone: number, limit: number): void => put(w, zone, limit, info.count(zone));

  return {
    doit: {
      // kernel: ovs_ct_limit_cmd_set() → ovs_ct_limit_set_zone_limit()
      [cmd('set')]: (req) => {
        for (const z of entries(zoneLimit(req), 'set')) {
          if (z.zoneId === OVS_ZONE_LIMIT_DEFAULT_ZONE) info.defaultLimit = z.limit;
          else if (!checkZoneId(z.zoneId)) log('zone id is out of range');
          else info.set(z.zoneId, z.limit);
        }
        info.enabled = true;
        req.out.unicast(start(req, cmd('set')).endMessage().finish());
      },
      // kernel: ovs_ct_limit_cmd_del() → ovs_ct_limit_del_zone_limit()
      [cmd('del')]: (req) => {
        for (const z of entries(zoneLimit(req), 'del')) {
          if (z.zoneId === OVS_ZONE_LIMIT_DEFAULT_ZONE) info.defaultLimit = OVS_CT_LIMIT_DEFAULT;
          else if (!checkZoneId(z.zoneId)) log('zone id is out of range');
          else info.del(z.zoneId);
        }
        req.out.unicast(start(req, cmd('del')).endMessage().finish());
      },
      // kernel: ovs_ct_limit_cmd_get()
      [cmd('get')]: (req) => {
        const w = start(req, cmd('get'));
        w.nestStart(zoneLimitType);
        const asked = req.attrs.get('zone-limit');
        if (asked) {
          // kernel: ovs_ct_limit_get_zone_limit()
          for (const z of entries(asked, 'get')) {
            if (z.zoneId === OVS_ZONE_LIMIT_DEFAULT_ZONE) putDefault(w);
            else if (!checkZoneId(z.zoneId)) log('zone id is out of range');
            else putZone(w, z.zoneId, info.limitOf(z.zoneId));
          }
        } else {
          // kernel: ovs_ct_limit_get_all_zone_limit()
          putDefault(w);
          for (const z of info.zones()) putZone(w, z.zone, z.limit);
        }
        w.nestEnd();
        req.out.unicast(w.endMessage().finish());
      },
    },
  };
}
