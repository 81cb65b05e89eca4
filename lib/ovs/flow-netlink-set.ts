import { NLA_HDRLEN, NLA_TYPE_MASK, align4 } from '../nl/constants';
import { Errno } from '../nl/errno';
import { NlError } from '../nl/errors';
import type { AttrSpec } from '../schema/model';
import { walkOvsAttrs, type Attr } from '../schema/validate';
import type { ActionsBuilder } from './flow-actions-buffer';
import type { ActionSchema } from './flow-actions-schema';
import { MAC_PROTO, type ActionKeyView } from './flow-action-key';
import type { OvsLog } from './flow-netlink-match';
import { validateAndCopySetTun } from './flow-netlink-tunnel-set';
import { ETH_P, IPPROTO, NSH_CTX_HDRS_MAX_LEN, NSH_M_TYPE1, NSH_M_TYPE2, ethPMpls } from './net-consts';

/** The 20-bit IPv6 flow label; higher bits of a label or its mask are EINVAL. */
const IPV6_FLOWLABEL_MASK = 0x000fffff;

/** The list state validate_set() reads: the current MAC protocol and EtherType. */
export interface SetListState {
  macProto: number;
  ethType: number;
}

const einval = (log: OvsLog | undefined, msg?: string): NlError => {
  if (msg) log?.(msg);
  return new NlError(Errno.EINVAL);
};

/**
 * soleNested returns the one attribute nested in `a`, which must fill `a` exactly (padding
 * included), else undefined.
 */
// kernel: nla_ok(inner, nla_len(a)) && nla_total_size(nla_len(inner)) == nla_len(a)
export function soleNested(a: Attr): Attr | undefined {
  const p = a.payload;
  if (p.length < NLA_HDRLEN) return undefined;
  const len = p.readUInt16LE(0);
  if (len < NLA_HDRLEN || len > p.length || align4(len) !== p.length) return undefined;
  const rawType = p.readUInt16LE(2);
  return { type: rawType & NLA_TYPE_MASK, rawType, offset: a.offset + NLA_HDRLEN, payload: p.subarray(NLA_HDRLEN, len) };
}

/** check_attr_len() against ovs_key_lens (which has no entry, i.e. 0, for the kernel-only types). */
function keyLenOk(spec: AttrSpec | undefined, len: number): boolean {
  if (!spec || spec.kernelOnly) return len === 0;
  if (spec.lenMode !== 'fixed') return true;
  return len === (spec.exactLen ?? 0);
}

// kernel: validate_masked()
function validateMasked(data: Buffer, len: number): boolean {
  for (let i = 0; i < len; i++) if (data[i] & ~data[len + i]) return false;
  return true;
}

/**
 * validateSet checks a set or set_masked action against the flow key and the list state, and
 * appends its stored form when that is not a plain copy (set(tunnel) → set(tunnel_info), any
 * other set → set_to_masked with an all-ones mask). Returns true when the action was stored.
 * @throws {@link NlError} EINVAL, EMSGSIZE
 */
// kernel: validate_set()
export function validateSet(a: Attr, key: ActionKeyView, st: SetListState, masked: boolean,
  b: ActionsBuilder, S: ActionSchema, log: OvsLog | undefined): boolean {
  const k = soleNested(a);
  if (!k) throw einval(log);
  const keyLen = masked ? k.payload.length >> 1 : k.payload.length;
  if (k.type > S.keys.maxType) throw einval(log);
  const spec = S.keys.byType.get(k.type);
  if (!keyLenOk(spec, keyLen)) throw einval(log);
  if (masked && !validateMasked(k.payload, keyLen)) throw einval(log);
  const v = k.payload;
  const ip = st.ethType === ETH_P.IP || st.ethType === ETH_P.IPV6;
  switch (spec?.name) {
    case 'priority':
    case 'skb-mark':
    case 'ct-mark':
    case 'ct-labels':
      break;
    case 'ethernet':
      if (st.macProto !== MAC_PROTO.ETHERNET) throw einval(log);
      break;
    case 'tunnel':
      if (masked) throw einval(log); // masked tunnel set not supported
      validateAndCopySetTun(k, b, S, log);
      return true;
    case 'ipv4': {
      if (st.ethType !== ETH_P.IP) throw einval(log);
      const proto = S.off('ovs-key-ipv4', 'ipv4-proto');
      const frag = S.off('ovs-key-ipv4', 'ipv4-frag');
      if (masked) {
        if (v[keyLen + proto] || v[keyLen + frag]) throw einval(log); // non-writeable fields
      } else if (v[proto] !== key.ipProto || v[frag] !== key.ipFrag) {
        throw einval(log);
      }
      break;
    }
    case 'ipv6': {
      if (st.ethType !== ETH_P.IPV6) throw einval(log);
      const proto = S.off('ovs-key-ipv6', 'ipv6-proto');
      const frag = S.off('ovs-key-ipv6', 'ipv6-frag');
      const label = S.off('ovs-key-ipv6', 'ipv6-label');
      if (masked) {
        if (v[keyLen + proto] || v[keyLen + frag]) throw einval(log);
        if (v.readUInt32BE(keyLen + label) & ~IPV6_FLOWLABEL_MASK) throw einval(log);
      } else if (v[proto] !== key.ipProto || v[frag] !== key.ipFrag) {
        throw einval(log);
      }
      if (v.readUInt32BE(label) & ~IPV6_FLOWLABEL_MASK) throw einval(log);
      break;
    }
    case 'tcp':
      if (!ip || key.ipProto !== IPPROTO.TCP) throw einval(log);
      break;
    case 'udp':
      if (!ip || key.ipProto !== IPPROTO.UDP) throw einval(log);
      break;
    case 'sctp':
      if (!ip || key.ipProto !== IPPROTO.SCTP) throw einval(log);
      break;
    case 'mpls':
      if (!ethPMpls(st.ethType)) throw einval(log);
      if (keyLen !== S.struct('ovs-key-mpls').size) throw einval(log);
      break;
    default:
      throw einval(log);
  }
  if (masked) return false;
  // Convert a non-masked, non-tunnel set to a masked one (value, then an all-ones mask).
  const m = b.nestStart(S.setToMasked);
  const at = b.add(k.type, undefined, keyLen * 2);
  const out = b.payload(at, keyLen * 2);
  v.copy(out, 0, 0, keyLen);
  out.fill(0xff, keyLen);
  if (spec.name === 'ipv6') {
    // Clear the non-writeable bits of the otherwise writeable flow label.
    const o = keyLen + S.off('ovs-key-ipv6', 'ipv6-label');
    out.writeUInt32BE((out.readUInt32BE(o) & IPV6_FLOWLABEL_MASK) >>> 0, o);
  }
  b.nestEnd(m);
  return true;
}

/**
 * validatePushNsh checks the argument of push_nsh: exactly one nsh key attribute holding a base
 * header and MD type 1 or 2 context that agree with each other.
 * @throws {@link NlError} EINVAL
 */
// kernel: validate_push_nsh(), nsh_key_put_from_nlattr() with is_push_nsh
export function validatePushNsh(a: Attr, S: ActionSchema, log: OvsLog | undefined): void {
  const k = soleNested(a);
  if (!k || k.type !== S.num(S.keys, 'nsh')) throw einval(log);
  let hasBase = false;
  let hasMd1 = false;
  let hasMd2 = false;
  let mdtype = 0;
  const mdtypeOff = S.off('ovs-nsh-key-base', 'mdtype');
  walkOvsAttrs(k.payload, S.nsh, k.offset + NLA_HDRLEN, (n, spec) => {
    switch (n.type === 0 ? undefined : spec?.name) {
      case 'base':
        hasBase = true;
        mdtype = n.payload[mdtypeOff];
        return;
      case 'md1':
        hasMd1 = true;
        return;
      case 'md2':
        hasMd2 = true;
        if (n.payload.length > NSH_CTX_HDRS_MAX_LEN || n.payload.length <= 0) throw einval(log, `Invalid MD length ${n.payload.length} for MD type ${mdtype}`);
        return;
      default:
        throw einval(log, `Unknown nsh attribute ${n.type}`);
    }
  });
  if (hasMd1 && hasMd2) throw einval(log, 'invalid nsh attribute: md1 and md2 are exclusive.');
  if ((hasMd1 && mdtype !== NSH_M_TYPE1) || (hasMd2 && mdtype !== NSH_M_TYPE2)) throw einval(log, `nsh attribute has unmatched MD type ${mdtype}.`);
  if (!hasBase || (!hasMd1 && !hasMd2)) throw einval(log, 'push_nsh: missing base or metadata attributes');
}
