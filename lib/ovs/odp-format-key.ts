/**
 * Flow keys and masks in the odp text form: OVS lib/odp-util.c odp_flow_format() and
 * format_odp_key_attr__(), attribute by attribute, as ovs-dpctl 3.1 prints them.
 */
import { decodeStruct, type StructValue } from '../schema/struct';
import {
  checkAttrLen, flagsMaskedText, flagsText, fmtBe16, fmtBe16x, fmtEth, fmtIn6, fmtIpv4, fmtIpv6Label, fmtU8u, fmtU8x,
  generateWildcard, genericKey, maskAttrIsExact, maskAttrIsWildcard, tcpFlagName, type MaskNum,
} from './odp-format-fields';
import { Ds, hex0, hx, isAll, leftoverText, nlFind, nlWalk, putHex, type NlAttr } from './odp-format-text';
import { formatNshAttr, formatTunAttr } from './odp-format-tunnel';
import { ATTR_LEN_NESTED, type OdpView } from './odp-format-view';

/** PortNames maps datapath port numbers to names (odp_portno_names). */
export type PortNames = ReadonlyMap<number, string>;

// ovs: odp_portno_name_format()
export function portName(names: PortNames | undefined, port: number): string {
  return names?.get(port) ?? String(port);
}

/** ovs_key_attr_to_string(), by kernel attribute name. */
const ODP_KEY_NAMES: Record<string, string> = {
  encap: 'encap', priority: 'skb_priority', 'skb-mark': 'skb_mark', 'ct-state': 'ct_state', 'ct-zone': 'ct_zone',
  'ct-mark': 'ct_mark', 'ct-labels': 'ct_label', 'ct-orig-tuple-ipv4': 'ct_tuple4', 'ct-orig-tuple-ipv6': 'ct_tuple6',
  tunnel: 'tunnel', 'in-port': 'in_port', ethernet: 'eth', vlan: 'vlan', ethertype: 'eth_type', ipv4: 'ipv4',
  ipv6: 'ipv6', tcp: 'tcp', 'tcp-flags': 'tcp_flags', udp: 'udp', sctp: 'sctp', icmp: 'icmp', icmpv6: 'icmpv6',
  arp: 'arp', nd: 'nd', 'nd-extensions': 'nd_ext', mpls: 'mpls', 'dp-hash': 'dp_hash', 'recirc-id': 'recirc_id',
  'packet-type': 'packet_type', nsh: 'nsh', 'tunnel-info': '<error: kernel-only tunnel_info>',
};

// ovs: ovs_key_attr_to_string()
function keyAttrName(view: OdpView, type: number): string {
  if (type === 0) return 'unspec';
  const n = view.keyName(type);
  return (n && ODP_KEY_NAMES[n]) ?? `key${type}`;
}

/** ct_state bit names (odp_ct_state_to_string), from the schema's ct-state-flags. */
function ctStateName(view: OdpView): (bit: number) => string | undefined {
  const names: Record<string, string> = {
    'reply-dir': 'rpl', tracked: 'trk', new: 'new', established: 'est', related: 'rel', invalid: 'inv',
    'src-nat': 'snat', 'dst-nat': 'dnat',
  };
  const byBit = new Map(Object.entries(names).map(([k, v]) => [view.enumValue('ct-state-flags', k), v]));
  return (bit) => byBit.get(bit);
}

/** format_u128(): 128-bit host-order values (ct labels) printed as one hex number. */
// ovs: format_u128()
export function u128Text(value: Buffer, mask: Buffer | undefined, verbose: boolean): string {
  const be = (b: Buffer): Buffer => Buffer.from(b).reverse();
  if (!verbose && !(mask && !isAll(mask, 0))) return '';
  let s = putHex(be(value));
  if (mask && !isAll(mask, 0xff)) s += `/${putHex(be(mask))}`;
  return s;
}

/** format_vlan_tci(). */
// ovs: format_vlan_tci()
export function vlanTciText(tci: number, mask: number, verbose: boolean): string {
  const ds = new Ds();
  const vid = (x: number): number => x & 0x0fff;
  const pcp = (x: number): number => (x >> 13) & 7;
  if (verbose || vid(tci) || vid(mask)) {
    ds.put(`vid=${vid(tci)}`);
    if (vid(mask) !== 0x0fff) ds.put(`/0x${vid(mask).toString(16)}`);
    ds.put(',');
  }
  if (verbose || pcp(tci) || pcp(mask)) {
    ds.put(`pcp=${pcp(tci)}`);
    if (pcp(mask) !== 7) ds.put(`/0x${pcp(mask).toString(16)}`);
    ds.put(',');
  }
  if (!(tci & 0x1000)) ds.put('cfi=0,');
  ds.chomp(',');
  return ds.s;
}

/** format_mpls_lse(). */
export function mplsLseText(lse: number): string {
  return `label=${lse >>> 12},tc=${(lse >> 9) & 7},ttl=${lse & 0xff},bos=${(lse >> 8) & 1}`;
}

// ovs: format_frag()
function fmtFrag(view: OdpView, ds: Ds, key: number, mask: MaskNum): void {
  const empty = mask === 0;
  const full = mask === undefined || mask === 0xff;
  if (!empty && !full) ds.put(`error: partial mask not supported for frag (${hx(mask ?? 0)}),`);
  else if (!empty) {
    const names: Record<string, string> = { none: 'no', first: 'first', later: 'later' };
    const n = Object.entries(names).find(([e]) => view.enumValue('frag-type', e) === key)?.[1];
    ds.put(`frag=${n ?? '<error>'},`);
  }
}

/** KeyFormat carries what one format_odp_key_attr__() call needs. */
export interface KeyFormat {
  view: OdpView;
  portNames?: PortNames;
  verbose: boolean;
}

const member = (v: StructValue, m: string): number => {
  const x = v[m];
  return typeof x === 'number' ? x : 0;
};

/** A struct key/mask pair: the decoded members and the raw bytes (for addresses). */
function pair(view: OdpView, struct: string, a: NlAttr, ma: NlAttr | undefined): { k: StructValue; m?: StructValue; off: (n: string) => number } {
  const s = view.struct(struct);
  return {
    k: decodeStruct(s, a.payload),
    m: ma ? decodeStruct(s, ma.payload) : undefined,
    off: (n) => s.members.find((x) => x.name === n)?.offset ?? 0,
  };
}

/**
 * formatKeyAttr is format_odp_key_attr__(): `name(fields)` for one key attribute whose lengths
 * were checked. `ma` is its mask attribute, undefined for an exact match.
 */
// ovs: format_odp_key_attr__()
export function formatKeyAttr(f: KeyFormat, ds: Ds, a: NlAttr, ma: NlAttr | undefined): void {
  const { view, verbose } = f;
  const isExact = ma ? maskAttrIsExact(view, ma) : true;
  const k = a.payload;
  const m = ma?.payload;
  const maskEmpty = !m || isAll(m, 0);
  const u32Masked = (): void => {
    ds.put(hx(k.readUInt32LE(0)));
    if (!isExact && m) ds.put(`/${hx(m.readUInt32LE(0))}`);
  };
  const name = view.keyName(a.type);
  ds.put(`${keyAttrName(view, a.type)}(`);
  switch (name) {
    case 'encap':
      if (m?.length && k.length) formatFlow({ ...f, portNames: undefined }, ds, k, m);
      else if (k.length) formatFlow({ ...f, portNames: undefined }, ds, k, undefined);
      break;
    case 'priority': case 'skb-mark': case 'dp-hash': case 'recirc-id':
      u32Masked();
      break;
    case 'ct-mark':
      if (verbose || !maskEmpty) u32Masked();
      break;
    case 'ct-state': {
      const key = k.readUInt32LE(0);
      const mask = maskEmpty || !m ? 0 : m.readUInt32LE(0);
      if (verbose) ds.put(hx(key) + (isExact ? '' : `/${hx(mask)}`));
      else if (!isExact) ds.put(flagsMaskedText(ctStateName(view), key, mask, 0xffffffff));
      else ds.put(flagsText(ctStateName(view), key, '|'));
      break;
    }
    case 'ct-zone':
      if (verbose || !maskEmpty) {
        ds.put(hx(k.readUInt16LE(0)));
        if (!isExact && m) ds.put(`/${hx(m.readUInt16LE(0))}`);
      }
      break;
    case 'ct-labels':
      ds.put(u128Text(k, m, verbose));
      break;
    case 'ct-orig-tuple-ipv4': {
      const p = pair(view, 'ovs-key-ct-tuple-ipv4', a, ma);
      fmtIpv4(ds, 'src', k, p.off('ipv4-src'), m, p.off('ipv4-src'), verbose);
      fmtIpv4(ds, 'dst', k, p.off('ipv4-dst'), m, p.off('ipv4-dst'), verbose);
      fmtU8u(ds, 'proto', member(p.k, 'ipv4-proto'), p.m && member(p.m, 'ipv4-proto'), verbose);
      fmtBe16(ds, 'tp_src', member(p.k, 'src-port'), p.m && member(p.m, 'src-port'), verbose);
      fmtBe16(ds, 'tp_dst', member(p.k, 'dst-port'), p.m && member(p.m, 'dst-port'), verbose);
      ds.chomp(',');
      break;
    }
    case 'ct-orig-tuple-ipv6': {
      const p = pair(view, 'ovs-key-ct-tuple-ipv6', a, ma);
      fmtIn6(ds, 'src', k, p.off('ipv6-src'), m, p.off('ipv6-src'), verbose);
      fmtIn6(ds, 'dst', k, p.off('ipv6-dst'), m, p.off('ipv6-dst'), verbose);
      fmtU8u(ds, 'proto', member(p.k, 'ipv6-proto'), p.m && member(p.m, 'ipv6-proto'), verbose);
      fmtBe16(ds, 'src_port', member(p.k, 'src-port'), p.m && member(p.m, 'src-port'), verbose);
      fmtBe16(ds, 'dst_port', member(p.k, 'dst-port'), p.m && member(p.m, 'dst-port'), verbose);
      ds.chomp(',');
      break;
    }
    case 'tunnel':
      formatTunAttr(view, ds, a, ma, verbose);
      break;
    case 'in-port':
      if (isExact) ds.put(portName(f.portNames, k.readUInt32LE(0)));
      else ds.put(`${k.readUInt32LE(0)}/${hx(m ? m.readUInt32LE(0) : 0)}`);
      break;
    case 'packet-type': {
      const v = k.readUInt32BE(0);
      const pm = m ? m.readUInt32BE(0) : 0xffffffff;
      fmtBe16(ds, 'ns', v >>> 16, pm >>> 16, verbose);
      fmtBe16x(ds, 'id', v & 0xffff, pm & 0xffff, verbose);
      ds.chomp(',');
      break;
    }
    case 'ethernet': {
      const p = pair(view, 'ovs-key-ethernet', a, ma);
      fmtEth(ds, 'src', k, p.off('eth-src'), m, p.off('eth-src'), verbose);
      fmtEth(ds, 'dst', k, p.off('eth-dst'), m, p.off('eth-dst'), verbose);
      ds.chomp(',');
      break;
    }
    case 'vlan':
      ds.put(vlanTciText(k.readUInt16BE(0), m ? m.readUInt16BE(0) : 0xffff, verbose));
      break;
    case 'mpls': {
      if (!k.length || k.length % 4) {
        ds.put(`(bad key length ${k.length})`);
        return;
      }
      if (!isExact && m && m.length !== k.length) {
        ds.put(`(key length ${k.length} != mask length ${m.length})`);
        return;
      }
      const parts: string[] = [];
      for (let i = 0; i < k.length; i += 4) {
        const lse = k.readUInt32BE(i);
        if (isExact || !m) parts.push(mplsLseText(lse));
        else {
          const ml = m.readUInt32BE(i);
          parts.push(`label=${lse >>> 12}/0x${(ml >>> 12).toString(16)},tc=${(lse >> 9) & 7}/${((ml >> 9) & 7).toString(16)},` +
            `ttl=${lse & 0xff}/0x${(ml & 0xff).toString(16)},bos=${(lse >> 8) & 1}/${((ml >> 8) & 1).toString(16)}`);
        }
      }
      ds.put(parts.join(','));
      break;
    }
    case 'ethertype':
      ds.put(`0x${hex0(k.readUInt16BE(0), 4)}`);
      if (!isExact && m) ds.put(`/0x${hex0(m.readUInt16BE(0), 4)}`);
      break;
    case 'ipv4': {
      const p = pair(view, 'ovs-key-ipv4', a, ma);
      fmtIpv4(ds, 'src', k, p.off('ipv4-src'), m, p.off('ipv4-src'), verbose);
      fmtIpv4(ds, 'dst', k, p.off('ipv4-dst'), m, p.off('ipv4-dst'), verbose);
      fmtU8u(ds, 'proto', member(p.k, 'ipv4-proto'), p.m && member(p.m, 'ipv4-proto'), verbose);
      fmtU8x(ds, 'tos', member(p.k, 'ipv4-tos'), p.m && member(p.m, 'ipv4-tos'), verbose);
      fmtU8u(ds, 'ttl', member(p.k, 'ipv4-ttl'), p.m && member(p.m, 'ipv4-ttl'), verbose);
      fmtFrag(view, ds, member(p.k, 'ipv4-frag'), p.m && member(p.m, 'ipv4-frag'));
      ds.chomp(',');
      break;
    }
    case 'ipv6': {
      const p = pair(view, 'ovs-key-ipv6', a, ma);
      fmtIn6(ds, 'src', k, p.off('ipv6-src'), m, p.off('ipv6-src'), verbose);
      fmtIn6(ds, 'dst', k, p.off('ipv6-dst'), m, p.off('ipv6-dst'), verbose);
      fmtIpv6Label(ds, 'label', member(p.k, 'ipv6-label'), p.m && member(p.m, 'ipv6-label'), verbose);
      fmtU8u(ds, 'proto', member(p.k, 'ipv6-proto'), p.m && member(p.m, 'ipv6-proto'), verbose);
      fmtU8x(ds, 'tclass', member(p.k, 'ipv6-tclass'), p.m && member(p.m, 'ipv6-tclass'), verbose);
      fmtU8u(ds, 'hlimit', member(p.k, 'ipv6-hlimit'), p.m && member(p.m, 'ipv6-hlimit'), verbose);
      fmtFrag(view, ds, member(p.k, 'ipv6-frag'), p.m && member(p.m, 'ipv6-frag'));
      ds.chomp(',');
      break;
    }
    case 'tcp': case 'udp': case 'sctp': {
      const p = pair(view, `ovs-key-${name}`, a, ma);
      fmtBe16(ds, 'src', member(p.k, `${name}-src`), p.m && member(p.m, `${name}-src`), verbose);
      fmtBe16(ds, 'dst', member(p.k, `${name}-dst`), p.m && member(p.m, `${name}-dst`), verbose);
      ds.chomp(',');
      break;
    }
    case 'tcp-flags':
      if (!isExact && m) ds.put(flagsMaskedText(tcpFlagName, k.readUInt16BE(0), m.readUInt16BE(0) & 0x0fff, 0x0fff));
      else ds.put(flagsText(tcpFlagName, k.readUInt16BE(0), '|'));
      break;
    case 'icmp': case 'icmpv6': {
      const p = pair(view, `ovs-key-${name}`, a, ma);
      fmtU8u(ds, 'type', member(p.k, `${name}-type`), p.m && member(p.m, `${name}-type`), verbose);
      fmtU8u(ds, 'code', member(p.k, `${name}-code`), p.m && member(p.m, `${name}-code`), verbose);
      ds.chomp(',');
      break;
    }
    case 'arp': {
      const p = pair(view, 'ovs-key-arp', a, ma);
      fmtIpv4(ds, 'sip', k, p.off('arp-sip'), m, p.off('arp-sip'), verbose);
      fmtIpv4(ds, 'tip', k, p.off('arp-tip'), m, p.off('arp-tip'), verbose);
      fmtBe16(ds, 'op', member(p.k, 'arp-op'), p.m && member(p.m, 'arp-op'), verbose);
      fmtEth(ds, 'sha', k, p.off('arp-sha'), m, p.off('arp-sha'), verbose);
      fmtEth(ds, 'tha', k, p.off('arp-tha'), m, p.off('arp-tha'), verbose);
      ds.chomp(',');
      break;
    }
    case 'nd': {
      const p = pair(view, 'ovs-key-nd', a, ma);
      fmtIn6(ds, 'target', k, p.off('nd-target'), m, p.off('nd-target'), verbose);
      fmtEth(ds, 'sll', k, p.off('nd-sll'), m, p.off('nd-sll'), verbose);
      fmtEth(ds, 'tll', k, p.off('nd-tll'), m, p.off('nd-tll'), verbose);
      ds.chomp(',');
      break;
    }
    case 'nd-extensions': {
      const p = pair(view, 'ovs-key-nd-extensions', a, ma);
      ds.put(`nd_reserved=0x${member(p.k, 'nd-reserved').toString(16)},`);
      fmtU8u(ds, 'nd_options_type', member(p.k, 'nd-options-type'), p.m && member(p.m, 'nd-options-type'), verbose);
      ds.chomp(',');
      break;
    }
    case 'nsh':
      formatNshAttr(view, ds, a, ma);
      break;
    default:
      ds.put(genericKey(a));
      if (!isExact && ma) ds.put(`/${genericKey(ma)}`);
  }
  ds.put(')');
}

/**
 * formatFlow is odp_flow_format(): every key attribute in order, each with its mask; in
 * non-verbose mode fully wildcarded ones are left out (but an Ethernet header stays, as "eth()"),
 * and a mask-only EtherType is appended as ",eth_type(0/0x…)".
 */
// ovs: odp_flow_format()
export function formatFlow(f: KeyFormat, ds: Ds, key: Buffer, mask: Buffer | undefined): void {
  const { view, verbose } = f;
  if (!key.length) {
    ds.put('<empty>');
    return;
  }
  const masked = mask !== undefined && mask.length > 0;
  const ethertype = view.num(view.keys, 'ethertype');
  let hasEthType = false;
  let hasPacketType = false;
  let first = true;
  const walk = nlWalk(key);
  for (const a of walk.attrs) {
    let ma = masked ? nlFind(mask, a.type) : undefined;
    if (!checkAttrLen(ds, a, ma, view.keyLens, false)) continue;
    const name = view.keyName(a.type);
    if (name === 'ethertype') hasEthType = true;
    else if (name === 'packet-type') hasPacketType = true;
    const nested = view.keyLens.len(a.type) === ATTR_LEN_NESTED;
    const wildcard = masked ? (ma ? maskAttrIsWildcard(view, ma) : true) : false;
    if (verbose || !wildcard || nested) {
      if (wildcard && !ma) ma = generateWildcard(view.keyLens, a);
      if (!first) ds.put(',');
      formatKeyAttr(f, ds, a, ma);
      first = false;
    } else if (name === 'ethernet' && !hasPacketType) {
      if (!first) ds.put(',');
      ds.put('eth()');
    } else if (name === 'packet-type' && wildcard) {
      hasPacketType = false;
    }
  }
  if (walk.left) ds.put(leftoverText(key, walk));
  if (!hasEthType && mask) {
    const ma = nlFind(mask, ethertype);
    if (ma) ds.put(`,eth_type(0/0x${hex0(ma.payload.readUInt16BE(0), 4)})`);
  }
}
