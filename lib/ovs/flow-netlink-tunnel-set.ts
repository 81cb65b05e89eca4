import { Errno } from '../nl/errno';
import { NlError } from '../nl/errors';
import { AttrEncoder } from '../schema/codec';
import { walkOvsAttrs, type Attr } from '../schema/validate';
import type { ActionsBuilder } from './flow-actions-buffer';
import type { ActionSchema } from './flow-actions-schema';
import type { OvsLog } from './flow-netlink-match';
import { AF_INET, AF_INET6, IP_TUNNEL_BIT } from './net-consts';

/** GENEVE_CRIT_OPT_TYPE: the critical bit of a Geneve option type (net/geneve.h). */
const GENEVE_CRIT_OPT_TYPE = 0x80;
/** IP_TUNNEL_CRIT_OPT_BIT (uapi/linux/if_tunnel.h, 6.12 bitmap). */
const IP_TUNNEL_CRIT_OPT_BIT = 16;
/** Header of one Geneve option: {be16 class; u8 type; u8 length:5 (in 4-byte words)}. */
const GENEVE_OPT_HDR = 4;
const GENEVE_OPT_LEN_MASK = 0x1f;

const bit = (b: number): number => 1 << b;
const has = (flags: number, b: number): boolean => ((flags >>> b) & 1) === 1;

/**
 * TunnelSetInfo is the tunnel metadata a set(tunnel) action keeps (struct ip_tunnel_info of its
 * metadata_dst, mode IP_TUNNEL_INFO_TX).
 */
export interface TunnelSetInfo {
  kind: 'tunnel';
  /** tun_id: 8 big-endian bytes. */
  tunId: Buffer;
  /** ip_tunnel_key.tun_flags: bit IP_TUNNEL_BIT.* set for each flag (all below 32). */
  flags: number;
  /** AF_INET or AF_INET6 (ip_tunnel_info_af). */
  proto: number;
  /** Addresses in network order: 4 bytes each for AF_INET, 16 for AF_INET6. */
  src: Buffer;
  dst: Buffer;
  tos: number;
  ttl: number;
  /** Transport ports, host order of the big-endian fields. */
  tpSrc: number;
  tpDst: number;
  /** Tunnel options (tun_info->options_len bytes). */
  opts: Buffer;
  /** IP_TUNNEL_INFO_BRIDGE: IPv4 metadata with no destination (ipv4-info-bridge). */
  bridge: boolean;
}

// kernel: validate_geneve_opts()
function validateGeneveOpts(opts: Buffer): boolean {
  let crit = false;
  let at = 0;
  while (at < opts.length) {
    if (opts.length - at < GENEVE_OPT_HDR) throw new NlError(Errno.EINVAL);
    const len = GENEVE_OPT_HDR + (opts[at + 3] & GENEVE_OPT_LEN_MASK) * 4;
    if (len > opts.length - at) throw new NlError(Errno.EINVAL);
    crit ||= (opts[at + 2] & GENEVE_CRIT_OPT_TYPE) !== 0;
    at += len;
  }
  return crit;
}

/**
 * tunFromNlattr parses the tunnel key of a set action (is_mask false): the checks of
 * ip_tun_from_nlattr() and its option parsers.
 * @throws {@link NlError} EINVAL
 */
// kernel: ip_tun_from_nlattr(), genev_tun_opt_from_nlattr(), vxlan_tun_opt_from_nlattr(), erspan_tun_opt_from_nlattr()
function tunFromNlattr(tun: Attr, S: ActionSchema, log: OvsLog | undefined): TunnelSetInfo {
  const v4Len = S.tunnel.byName.get('ipv4-src')?.exactLen ?? 0;
  const v6Len = S.struct('in6-addr').size;
  const t: TunnelSetInfo = {
    kind: 'tunnel', tunId: Buffer.alloc(S.tunnel.byName.get('id')?.exactLen ?? 0), flags: 0, proto: AF_INET,
    src: Buffer.alloc(v6Len), dst: Buffer.alloc(v6Len), tos: 0, ttl: 0, tpSrc: 0, tpDst: 0, opts: Buffer.alloc(0), bridge: false,
  };
  let ttl = false;
  let ipv4 = false;
  let ipv6 = false;
  let optsType = '';
  const setOpts = (name: string): void => {
    if (optsType) {
      log?.('Multiple metadata blocks provided');
      throw new NlError(Errno.EINVAL);
    }
    optsType = name;
  };
  walkOvsAttrs(tun.payload, S.tunnel, tun.offset + 4, (a, spec) => {
    const p = a.payload;
    switch (spec?.name) {
      case 'id': p.copy(t.tunId); t.flags |= bit(IP_TUNNEL_BIT.KEY); return;
      case 'ipv4-src': p.copy(t.src); ipv4 = true; return;
      case 'ipv4-dst': p.copy(t.dst); ipv4 = true; return;
      case 'ipv6-src': p.copy(t.src); ipv6 = true; return;
      case 'ipv6-dst': p.copy(t.dst); ipv6 = true; return;
      case 'tos': t.tos = p[0]; return;
      case 'ttl': t.ttl = p[0]; ttl = true; return;
      case 'dont-fragment': t.flags |= bit(IP_TUNNEL_BIT.DONT_FRAGMENT); return;
      case 'csum': t.flags |= bit(IP_TUNNEL_BIT.CSUM); return;
      case 'oam': t.flags |= bit(IP_TUNNEL_BIT.OAM); return;
      case 'tp-src': t.tpSrc = p.readUInt16BE(0); return;
      case 'tp-dst': t.tpDst = p.readUInt16BE(0); return;
      case 'geneve-opts':
        setOpts('geneve-opts');
        if (p.length % 4 !== 0) {
          log?.(`Geneve opt len ${p.length} is not a multiple of 4.`);
          throw new NlError(Errno.EINVAL);
        }
        t.opts = Buffer.from(p);
        t.flags |= bit(IP_TUNNEL_BIT.GENEVE_OPT);
        return;
      case 'vxlan-opts': {
        setOpts('vxlan-opts');
        const gbpSpec = S.vxlan.byName.get('gbp');
        const md = Buffer.alloc(gbpSpec?.exactLen ?? 0); // struct vxlan_metadata {u32 gbp}
        walkOvsAttrs(p, S.vxlan, a.offset + 4, (x, xs) => {
          if (x.type === 0 || xs !== gbpSpec) {
            log?.(`Unknown VXLAN extension attribute ${x.type}`);
            throw new NlError(Errno.EINVAL);
          }
          x.payload.copy(md);
        });
        t.opts = md;
        t.flags |= bit(IP_TUNNEL_BIT.VXLAN_OPT);
        return;
      }
      case 'erspan-opts': {
        setOpts('erspan-opts');
        // The key keeps sizeof(struct erspan_metadata) bytes ending where the option data ends,
        // in a zeroed tun_opts array: shorter data is zero-prefixed, longer data keeps its tail.
        const keep = S.struct('erspan-metadata').size;
        const area = Buffer.alloc(S.struct('ip-tunnel-opts').size);
        p.copy(area, area.length - p.length);
        t.opts = Buffer.from(area.subarray(area.length - keep));
        t.flags |= bit(IP_TUNNEL_BIT.ERSPAN_OPT);
        return;
      }
      case 'pad': return;
      case 'ipv4-info-bridge': t.bridge = true; ipv4 = true; return;
      default:
        log?.(`Unknown IP tunnel attribute ${a.type}`);
        throw new NlError(Errno.EINVAL);
    }
  });
  if (ipv4 && ipv6) {
    log?.('Mixed IPv4 and IPv6 tunnel attributes');
    throw new NlError(Errno.EINVAL);
  }
  if (!ipv4 && !ipv6) {
    log?.('IP tunnel dst address not specified');
    throw new NlError(Errno.EINVAL);
  }
  const zero = (b: Buffer): boolean => b.every((x) => x === 0);
  if (ipv4) {
    if (t.bridge) {
      // Every flag but KEY counts against bridge mode; the stored key keeps KEY.
      if (!zero(t.src) || !zero(t.dst) || t.tpSrc || t.tpDst || t.ttl || t.tos || (t.flags & ~bit(IP_TUNNEL_BIT.KEY))) {
        log?.('IPv4 tun info is not correct');
        throw new NlError(Errno.EINVAL);
      }
    } else if (zero(t.dst)) {
      log?.('IPv4 tunnel dst address is zero');
      throw new NlError(Errno.EINVAL);
    }
  }
  if (ipv6 && zero(t.dst)) {
    log?.('IPv6 tunnel dst address is zero');
    throw new NlError(Errno.EINVAL);
  }
  if (!ttl && !t.bridge) {
    log?.('IP tunnel TTL not specified.');
    throw new NlError(Errno.EINVAL);
  }
  t.proto = ipv6 ? AF_INET6 : AF_INET;
  if (!ipv6) {
    t.src = t.src.subarray(0, v4Len);
    t.dst = t.dst.subarray(0, v4Len);
  }
  if (optsType === 'geneve-opts' && t.opts.length && validateGeneveOpts(t.opts)) t.flags |= bit(IP_TUNNEL_CRIT_OPT_BIT);
  t.bridge = t.proto === AF_INET && zero(t.dst);
  return t;
}

/**
 * validateAndCopySetTun checks the tunnel key of `set` (whose single nested attribute is the
 * tunnel key) and appends the stored set(tunnel_info) action.
 * @throws {@link NlError} EINVAL, EMSGSIZE
 */
// kernel: validate_and_copy_set_tun()
export function validateAndCopySetTun(tun: Attr, b: ActionsBuilder, S: ActionSchema, log: OvsLog | undefined): void {
  const info = tunFromNlattr(tun, S, log);
  const m = b.nestStart(S.num(S.actions, 'set'));
  b.addObject(S.num(S.keys, 'tunnel-info'), info, S.struct('ovs-tunnel-info').size);
  b.nestEnd(m);
}

const be16 = (v: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
};

/** tunToNlattr writes the tunnel key nest of a stored set(tunnel) action. */
// kernel: ip_tun_to_nlattr(), __ip_tun_to_nlattr(), vxlan_opt_to_nlattr()
export function tunToNlattr(keys: AttrEncoder, t: TunnelSetInfo): void {
  keys.nest('tunnel', (e) => {
    if (has(t.flags, IP_TUNNEL_BIT.KEY)) e.binary('id', t.tunId);
    if (t.bridge) {
      e.flag('ipv4-info-bridge');
      return;
    }
    const v6 = t.proto === AF_INET6;
    if (t.src.some((x) => x !== 0)) e.binary(v6 ? 'ipv6-src' : 'ipv4-src', t.src);
    if (t.dst.some((x) => x !== 0)) e.binary(v6 ? 'ipv6-dst' : 'ipv4-dst', t.dst);
    if (t.tos) e.int('tos', t.tos);
    e.int('ttl', t.ttl);
    if (has(t.flags, IP_TUNNEL_BIT.DONT_FRAGMENT)) e.flag('dont-fragment');
    if (has(t.flags, IP_TUNNEL_BIT.CSUM)) e.flag('csum');
    if (t.tpSrc) e.binary('tp-src', be16(t.tpSrc));
    if (t.tpDst) e.binary('tp-dst', be16(t.tpDst));
    if (has(t.flags, IP_TUNNEL_BIT.OAM)) e.flag('oam');
    if (t.opts.length) {
      if (has(t.flags, IP_TUNNEL_BIT.GENEVE_OPT)) e.binary('geneve-opts', t.opts);
      else if (has(t.flags, IP_TUNNEL_BIT.VXLAN_OPT)) e.nest('vxlan-opts', (x) => x.binary('gbp', t.opts));
      else if (has(t.flags, IP_TUNNEL_BIT.ERSPAN_OPT)) e.binary('erspan-opts', t.opts);
    }
  });
}
