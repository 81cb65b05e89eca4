/**
 * The actions of net/openvswitch/actions.c that hand the packet (or a copy of it) out of the
 * action list or read it without re-entering it: do_output(), output_userspace(),
 * execute_hash(), execute_dec_ttl() and execute_psample().
 */
import { Errno } from '../nl/errno';
import { forEachAttr, type Attr } from '../schema/validate';
import { U32_MAX, type ExecEnv, type UpcallInfo } from './actions-env';
import { csumReplace2 } from './checksum';
import type { ActionObject } from './flow-actions-buffer';
import type { ActionSchema } from './flow-actions-schema';
import { skbGetHash, skbGetHashSymmetric } from './flow-dissector';
import { MAC_PROTO_ETHERNET, SWKEY, ovsKeyMacProto } from './flow-key';
import { jhash1word } from './flow-table';
import { ETH_P } from './net-consts';
import type { Skb } from './skb';
import { ETH_HLEN, skbTrim } from './skb-edit';

/** The action list being executed, with the flow's out-of-line objects. */
export interface ListCtx {
  env: ExecEnv;
  S: ActionSchema;
  objs?: readonly ActionObject[];
  /** sfa->orig_len of the flow (OVS_CB(skb)->acts_origlen). */
  origLen: number;
}

/** ovs_mac_header_len(): what trunc never cuts below. */
const macHeaderLen = (key: Buffer): number => (ovsKeyMacProto(key) === MAC_PROTO_ETHERNET ? ETH_HLEN : 0);

/** doOutput is do_output(): a pending trunc applied, then the vport sends the frame. */
// kernel: do_output()
export function doOutput(env: ExecEnv, skb: Skb, port: number, key: Buffer): void {
  if (skb.cutlen < skb.len) skbTrim(skb, Math.max(skb.cutlen, macHeaderLen(key)));
  env.output(port, skb, ovsKeyMacProto(key));
}

/**
 * outputUserspace is output_userspace(): an OVS_PACKET_CMD_ACTION upcall described by the
 * userspace action `a`; `list` is the action list it sits in (for OVS_USERSPACE_ATTR_ACTIONS).
 * Returns what ovs_dp_upcall() returns (0 or an errno), which the caller ignores.
 */
// kernel: output_userspace()
export function outputUserspace(c: ListCtx, skb: Skb, key: Buffer, a: Attr, list: Buffer, cutlen: number): number {
  const info: UpcallInfo = { cmd: 'action', portid: 0, mru: skb.mru, cutlen, actsOrigLen: c.origLen };
  forEachAttr(a.payload, 0, (x) => {
    switch (c.S.userspace.byType.get(x.type)?.name) {
      case 'userdata':
        info.userdata = x.payload;
        return;
      case 'pid': {
        const pid = x.payload.readUInt32LE(0);
        info.portid = c.env.upcallPortid?.(skb, pid) ?? pid;
        return;
      }
      case 'egress-tun-port': {
        const tun = c.env.egressTunInfo?.(x.payload.readUInt32LE(0), skb);
        if (tun) info.egressTunKey = tun;
        return;
      }
      case 'actions':
        info.actions = c.objs ? { bytes: list, origLen: c.origLen, objs: c.objs } : { bytes: list, origLen: c.origLen };
        return;
      default:
    }
  });
  return c.env.upcall(skb, key, info);
}

/** executeHash is execute_hash(): the skb's (or the symmetric) L4 hash into key->ovs_flow_hash. */
// kernel: execute_hash()
export function executeHash(c: ListCtx, skb: Skb, key: Buffer, a: Attr): void {
  const algs = c.S.fam.enums.get('hash-alg');
  const alg = a.payload.readUInt32LE(c.S.off('ovs-action-hash', 'hash-alg'));
  const basis = a.payload.readUInt32LE(c.S.off('ovs-action-hash', 'hash-basis'));
  const h = c.env.skbHash ?? { get: (s: Skb) => skbGetHash(s), symmetric: (s: Skb) => skbGetHashSymmetric(s) };
  let hash = 0;
  if (alg === algs?.get('l4')) hash = h.get(skb);
  else if (alg === algs?.get('sym-l4')) hash = h.symmetric(skb);
  hash = jhash1word(hash >>> 0, basis);
  key.writeUInt32LE(hash || 1, SWKEY.dpHash.off);
}

/** Offsets of the TTL fields and the IPv4 checksum. */
const IPV4_TTL = 8;
const IPV4_CHECK = 10;
const IPV6_HLIMIT = 7;

/** executeDecTtl is execute_dec_ttl(): 0, -EHOSTUNREACH (TTL would expire) or -ENOMEM. */
// kernel: execute_dec_ttl()
export function executeDecTtl(skb: Skb, key: Buffer): number {
  const d = skb.data;
  const nh = skb.networkHeader;
  if (skb.protocol === ETH_P.IPV6) {
    if (nh < 0 || d.length < nh + 40) return -Errno.ENOMEM;
    if (d[nh + IPV6_HLIMIT] <= 1) return -Errno.EHOSTUNREACH;
    key[SWKEY.ipTtl.off] = --d[nh + IPV6_HLIMIT];
  } else if (skb.protocol === ETH_P.IP) {
    if (nh < 0 || d.length < nh + 20) return -Errno.ENOMEM;
    const old = d[nh + IPV4_TTL];
    if (old <= 1) return -Errno.EHOSTUNREACH;
    d[nh + IPV4_TTL] = old - 1;
    csumReplace2(d, nh + IPV4_CHECK, old << 8, (old - 1) << 8);
    key[SWKEY.ipTtl.off] = old - 1;
  }
  return 0;
}

/** executePsample is execute_psample(): the packet offered to a psample group. */
// kernel: execute_psample()
export function executePsample(c: ListCtx, skb: Skb, a: Attr): void {
  let group = 0;
  let cookie: Buffer | undefined;
  forEachAttr(a.payload, 0, (x) => {
    const name = c.S.psample.byType.get(x.type)?.name;
    if (name === 'group') group = x.payload.readUInt32LE(0);
    else if (name === 'cookie') cookie = x.payload;
  });
  c.env.psample?.(skb, {
    group, cookie, rate: skb.probability || U32_MAX, truncSize: Math.min(skb.len, skb.cutlen), inPort: skb.inputPort,
  });
}
