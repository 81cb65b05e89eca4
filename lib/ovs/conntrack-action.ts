import { Errno } from '../nl/errno';
import { NlError } from '../nl/errors';
import type { NlWriter } from '../nl/writer';
import { AttrEncoder } from '../schema/codec';
import { walkOvsAttrs, type Attr } from '../schema/validate';
import type { ActionsBuilder } from './flow-actions-buffer';
import type { ActionSchema } from './flow-actions-schema';
import type { ActionKeyView } from './flow-action-key';
import { ctHelperErrno, NFPROTO } from './conntrack-helpers';
import type { OvsLog } from './flow-netlink-match';
import { ETH_P } from './net-consts';

/** enum ovs_ct_nat (conntrack.c). */
export const OVS_CT_NAT = { NAT: 1, SRC: 2, DST: 4 } as const;
/** NF_NAT_RANGE_* flags of struct nf_nat_range2 (uapi/linux/netfilter/nf_nat.h). */
export const NF_NAT_RANGE = { MAP_IPS: 1, PROTO_SPECIFIED: 2, PROTO_RANDOM: 4, PERSISTENT: 8, PROTO_RANDOM_FULLY: 16 } as const;

/** NatRange is struct nf_nat_range2 as parse_nat() fills it (ports in host order). */
export interface NatRange {
  flags: number;
  /** union nf_inet_addr: 16 bytes, an IPv4 address in the first 4. */
  minAddr: Buffer;
  maxAddr: Buffer;
  minProto: number;
  maxProto: number;
}

/** CtActionInfo is the parsed ct action the kernel keeps (struct ovs_conntrack_info). */
export interface CtActionInfo {
  kind: 'ct';
  /** NFPROTO_IPV4 / NFPROTO_IPV6, from the flow key's EtherType. */
  family: number;
  commit: boolean;
  force: boolean;
  zone: number;
  /** struct md_mark {u32 value, mask} as received; a zero mask means "no mark". */
  mark?: Buffer;
  /** struct md_labels {value[16], mask[16]} as received; absent means no labels. */
  labels?: Buffer;
  helper?: string;
  eventmask?: number;
  /** Timeout policy name ('' = none). */
  timeout: string;
  /** OVS_CT_NAT bits (0 = no nat). */
  nat: number;
  range: NatRange;
}

/** The C string at the start of `b` (up to its first NUL). */
const cString = (b: Buffer): string => {
  const nul = b.indexOf(0);
  return b.subarray(0, nul < 0 ? b.length : nul).toString('latin1');
};

// kernel: key_to_nfproto()
function keyToNfproto(key: ActionKeyView): number {
  if (key.ethType === ETH_P.IP) return NFPROTO.IPV4;
  if (key.ethType === ETH_P.IPV6) return NFPROTO.IPV6;
  return NFPROTO.UNSPEC;
}

// kernel: parse_nat()
function parseNat(a: Attr, info: CtActionInfo, S: ActionSchema, log: OvsLog | undefined): void {
  const addrLen = natAddrLen(info, S);
  let haveIpMax = false;
  let haveProtoMax = false;
  const r = info.range;
  walkOvsAttrs(a.payload, S.nat, a.offset + 4, (n, spec) => {
    const name = n.type === 0 ? undefined : spec?.name;
    if ((name === 'ip-min' || name === 'ip-max') && n.payload.length !== addrLen) {
      log?.(`NAT attribute type ${n.type} has unexpected length (${n.payload.length} != ${addrLen})`, 'conntrack');
      throw new NlError(Errno.EINVAL);
    }
    switch (name) {
      case 'src':
      case 'dst':
        if (info.nat) {
          log?.('Only one type of NAT may be specified', 'conntrack');
          throw new NlError(Errno.ERANGE);
        }
        info.nat |= OVS_CT_NAT.NAT | (name === 'src' ? OVS_CT_NAT.SRC : OVS_CT_NAT.DST);
        return;
      case 'ip-min':
      case 'ip-max': {
        const dst = name === 'ip-min' ? r.minAddr : r.maxAddr;
        dst.fill(0);
        n.payload.copy(dst);
        if (name === 'ip-max') haveIpMax = true;
        r.flags |= NF_NAT_RANGE.MAP_IPS;
        return;
      }
      case 'proto-min':
      case 'proto-max':
        if (name === 'proto-min') r.minProto = n.payload.readUInt16LE(0);
        else { r.maxProto = n.payload.readUInt16LE(0); haveProtoMax = true; }
        r.flags |= NF_NAT_RANGE.PROTO_SPECIFIED;
        return;
      case 'persistent': r.flags |= NF_NAT_RANGE.PERSISTENT; return;
      case 'proto-hash': r.flags |= NF_NAT_RANGE.PROTO_RANDOM; return;
      case 'proto-random': r.flags |= NF_NAT_RANGE.PROTO_RANDOM_FULLY; return;
      default:
        log?.(`Unknown nat attribute (${n.type})`, 'conntrack');
        throw new NlError(Errno.EINVAL);
    }
  }, false, (why, n, expected) => {
    if (why === 'max') log?.(`Unknown NAT attribute (type=${n.type}, max=${S.nat.maxType})`, 'conntrack');
    else log?.(`NAT attribute type ${n.type} has unexpected length (${n.payload.length} != ${S.nat.byType.get(n.type)?.name === 'ip-min' || S.nat.byType.get(n.type)?.name === 'ip-max' ? addrLen : expected})`, 'conntrack');
  });
  if (!info.nat) {
    if (r.flags) {
      log?.('NAT flags may be given only when NAT range (SRC or DST) is also specified.', 'conntrack');
      throw new NlError(Errno.EINVAL);
    }
    info.nat = OVS_CT_NAT.NAT;
  } else if (!info.commit) {
    log?.('NAT attributes may be specified only when CT COMMIT flag is also specified.', 'conntrack');
    throw new NlError(Errno.EINVAL);
  }
  if (r.flags & NF_NAT_RANGE.MAP_IPS && !haveIpMax) r.minAddr.copy(r.maxAddr);
  if (r.flags & NF_NAT_RANGE.PROTO_SPECIFIED && !haveProtoMax) r.maxProto = r.minProto;
}

/** The NAT address length of the flow's family: the schema's ip-min bounds are in_addr .. in6_addr. */
function natAddrLen(info: CtActionInfo, S: ActionSchema): number {
  const spec = S.nat.byName.get('ip-min');
  const len = info.family === NFPROTO.IPV6 ? spec?.maxLen : spec?.minLen;
  if (len === undefined) throw new Error('ovs_flow/nat-attrs: ip-min needs min-len and max-len');
  return len;
}

/** cStringAttr writes a NUL-terminated byte string (nla_put_string of a char array). */
const cStringAttr = (e: AttrEncoder, name: string, s: string): void => {
  e.binary(name, Buffer.from(`${s}\0`, 'latin1'));
};

/** True when any byte of the mask half of a struct md_mark / md_labels is set. */
const maskNonzero = (b: Buffer, maskOff: number): boolean => b.subarray(maskOff).some((x) => x !== 0);

// kernel: parse_ct()
function parseCt(a: Attr, info: CtActionInfo, S: ActionSchema, log: OvsLog | undefined): void {
  const markMask = S.off('ovs-ct-md-mark', 'mask');
  const labelsMask = S.off('ovs-ct-md-labels', 'mask');
  walkOvsAttrs(a.payload, S.ct, a.offset + 4, (c, spec) => {
    const p = c.payload;
    switch (c.type === 0 ? undefined : spec?.name) {
      case 'force-commit':
        info.force = true;
        info.commit = true;
        return;
      case 'commit':
        info.commit = true;
        return;
      case 'zone':
        info.zone = p.readUInt16LE(0);
        return;
      case 'mark':
        if (!maskNonzero(p, markMask)) {
          log?.('ct_mark mask cannot be 0', 'conntrack');
          throw new NlError(Errno.EINVAL);
        }
        info.mark = Buffer.from(p);
        return;
      case 'labels':
        if (!maskNonzero(p, labelsMask)) {
          log?.('ct_labels mask cannot be 0', 'conntrack');
          throw new NlError(Errno.EINVAL);
        }
        info.labels = Buffer.from(p);
        return;
      case 'helper':
        if (!p.includes(0)) {
          log?.('Invalid conntrack helper', 'conntrack');
          throw new NlError(Errno.EINVAL);
        }
        info.helper = cString(p);
        return;
      case 'nat':
        parseNat(c, info, S, log);
        return;
      case 'eventmask':
        info.eventmask = p.readUInt32LE(0);
        return;
      case 'timeout':
        if (!p.includes(0)) {
          log?.('Invalid conntrack timeout', 'conntrack');
          throw new NlError(Errno.EINVAL);
        }
        info.timeout = cString(p);
        return;
      default:
        log?.(`Unknown conntrack attr (${c.type})`, 'conntrack');
        throw new NlError(Errno.EINVAL);
    }
  }, false, (why, c, expected) => {
    if (why === 'max') log?.(`Unknown conntrack attr (type=${c.type}, max=${S.ct.maxType})`, 'conntrack');
    else log?.(`Conntrack attr type has unexpected length (type=${c.type}, length=${c.payload.length}, expected=${expected})`, 'conntrack');
  });
  if (!info.commit && info.mark && maskNonzero(info.mark, markMask)) {
    log?.(`Setting conntrack mark requires 'commit' flag.`, 'conntrack');
    throw new NlError(Errno.EINVAL);
  }
  if (!info.commit && info.labels && maskNonzero(info.labels, labelsMask)) {
    log?.(`Setting conntrack labels requires 'commit' flag.`, 'conntrack');
    throw new NlError(Errno.EINVAL);
  }
}

/**
 * ctCopyAction validates a ct action against the (masked) flow key and appends the stored form:
 * the parsed struct, kept out of line.
 * @throws {@link NlError} EINVAL (family not IP, bad attribute, unknown helper, …), ERANGE (two
 * NAT types), ENOENT (helper without NAT support in a NAT action), EMSGSIZE.
 */
// kernel: ovs_ct_copy_action()
export function ctCopyAction(a: Attr, key: ActionKeyView, b: ActionsBuilder, S: ActionSchema, log: OvsLog | undefined): void {
  const family = keyToNfproto(key);
  if (family === NFPROTO.UNSPEC) {
    log?.('ct family unspecified', 'conntrack');
    throw new NlError(Errno.EINVAL);
  }
  const addr = (): Buffer => Buffer.alloc(S.struct('in6-addr').size);
  const info: CtActionInfo = {
    kind: 'ct', family, commit: false, force: false, zone: 0, timeout: '', nat: 0,
    range: { flags: 0, minAddr: addr(), maxAddr: addr(), minProto: 0, maxProto: 0 },
  };
  parseCt(a, info, S, log);
  // nf_ct_set_timeout(): a missing policy is only logged; the name is kept and reported back.
  if (info.timeout) log?.(`Failed to associated timeout policy '${info.timeout}'`, 'conntrack');
  if (info.helper !== undefined) {
    const err = ctHelperErrno(info.helper, family, key.ipProto, info.nat !== 0);
    if (err) {
      log?.(`Failed to add ${info.helper} helper ${-err}`, 'conntrack');
      throw new NlError(err);
    }
  }
  b.addObject(S.num(S.actions, 'ct'), info, S.struct('ovs-conntrack-info').size);
}

// kernel: ovs_ct_nat_to_attr()
function natToAttr(e: AttrEncoder, info: CtActionInfo, S: ActionSchema): void {
  e.nest('nat', (n) => {
    if (info.nat & OVS_CT_NAT.SRC) n.flag('src');
    else if (info.nat & OVS_CT_NAT.DST) n.flag('dst');
    else return;
    const r = info.range;
    if (r.flags & NF_NAT_RANGE.MAP_IPS) {
      const len = natAddrLen(info, S);
      const min = r.minAddr.subarray(0, len);
      const max = r.maxAddr.subarray(0, len);
      n.binary('ip-min', min);
      if (!max.equals(min)) n.binary('ip-max', max);
    }
    if (r.flags & NF_NAT_RANGE.PROTO_SPECIFIED) {
      n.int('proto-min', r.minProto);
      if (r.maxProto !== r.minProto) n.int('proto-max', r.maxProto);
    }
    if (r.flags & NF_NAT_RANGE.PERSISTENT) n.flag('persistent');
    if (r.flags & NF_NAT_RANGE.PROTO_RANDOM) n.flag('proto-hash');
    if (r.flags & NF_NAT_RANGE.PROTO_RANDOM_FULLY) n.flag('proto-random');
  });
}

/** ctActionToAttr re-encodes a stored ct action from its parsed form, in the kernel's order. */
// kernel: ovs_ct_action_to_attr()
export function ctActionToAttr(w: NlWriter, info: CtActionInfo, S: ActionSchema): void {
  new AttrEncoder(w, S.actions).nest('ct', (e) => {
    if (info.commit) e.flag(info.force ? 'force-commit' : 'commit');
    e.int('zone', info.zone);
    if (info.mark && maskNonzero(info.mark, S.off('ovs-ct-md-mark', 'mask'))) e.binary('mark', info.mark);
    if (info.labels && maskNonzero(info.labels, S.off('ovs-ct-md-labels', 'mask'))) e.binary('labels', info.labels);
    if (info.helper !== undefined) cStringAttr(e, 'helper', info.helper);
    if (info.eventmask !== undefined) e.int('eventmask', info.eventmask);
    if (info.timeout) cStringAttr(e, 'timeout', info.timeout);
    if (info.nat) natToAttr(e, info, S);
  });
}
