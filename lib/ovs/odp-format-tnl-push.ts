/**
 * tnl_push(…) of OVS lib/odp-util.c (format_odp_tnl_push_action / format_odp_tnl_push_header).
 * The kernel never sends OVS's userspace TUNNEL_PUSH action, but OVS 3.1 gives that number to
 * what Linux 6.12 calls DEC_TTL, so this is how ovs-dpctl 3.1 shows a kernel dec_ttl action: the
 * nested dec_ttl attributes read as struct ovs_action_push_tnl. OVS reads the whole struct (528
 * bytes) whatever the attribute's size; the bytes after the attribute come from the rest of the
 * action list here and are zero past its end (in OVS they are whatever follows in memory).
 */
import { loadSchemas } from '../schema/load';
import { decodeStruct } from '../schema/struct';
import { formatGeneveOpts } from './odp-format-tunnel';
import { Ds, eth, hex0, hx, in6, ip4, padTo } from './odp-format-text';
import { portName, type PortNames } from './odp-format-key';
import { ETH_P } from './net-consts';
import type { OdpView } from './odp-format-view';

/** TNL_PUSH_HEADER_SIZE of OVS's struct ovs_action_push_tnl. */
const TNL_PUSH_HEADER_SIZE = 512;
/** OVS userspace vport types beyond the kernel's enum (OVS include/linux/openvswitch.h). */
const OVS_VPORT_TYPE = { ERSPAN: 107, IP6ERSPAN: 108, IP6GRE: 109, GTPU: 110 } as const;
/** GRE header flag bits (OVS lib/packets.h). */
const GRE = { CSUM: 0x8000, KEY: 0x2000, SEQ: 0x1000 } as const;
/** Packet header sizes walked by format_odp_tnl_push_header(). */
const HDR = { ETH: 14, IPV4: 20, IPV6: 40, UDP: 8, GRE_BASE: 4, ERSPAN_GRE: 8 } as const;

// ovs: format_udp_tnl_push_header()
function udpText(h: Buffer, at: number): string {
  return `udp(src=${h.readUInt16BE(at)},dst=${h.readUInt16BE(at + 2)},csum=0x${h.readUInt16BE(at + 6).toString(16)}),`;
}

// ovs: format_odp_tnl_push_header()
function headerText(headerLen: number, tnlType: number, h: Buffer): string {
  const ds = new Ds();
  const ethType = h.readUInt16BE(12);
  ds.put(`header(size=${headerLen},type=${tnlType},eth(dst=${eth(h, 0)},src=${eth(h, 6)},dl_type=0x${hex0(ethType, 4)}),`);
  const l3 = HDR.ETH;
  let l4: number;
  if (ethType === ETH_P.IP) {
    ds.put(`ipv4(src=${ip4(h, l3 + 12)},dst=${ip4(h, l3 + 16)},proto=${h[l3 + 9]},tos=${hx(h[l3 + 1])},ttl=${h[l3 + 8]},` +
      `frag=0x${h.readUInt16BE(l3 + 6).toString(16)}),`);
    l4 = l3 + HDR.IPV4;
  } else {
    const flow = h.readUInt32BE(l3);
    ds.put(`ipv6(src=${in6(h, l3 + 8)},dst=${in6(h, l3 + 24)},label=${flow & 0xfffff},proto=${h[l3 + 6]},` +
      `tclass=0x${((flow >>> 20) & 0xff).toString(16)},hlimit=${h[l3 + 7]}),`);
    l4 = l3 + HDR.IPV6;
  }
  if (tnlType === vportType('vxlan')) {
    ds.put(udpText(h, l4));
    const v = l4 + HDR.UDP;
    ds.put(`vxlan(flags=0x${h.readUInt32BE(v).toString(16)},vni=0x${(h.readUInt32BE(v + 4) >>> 8).toString(16)})`);
  } else if (tnlType === vportType('geneve')) {
    ds.put(udpText(h, l4));
    const g = l4 + HDR.UDP;
    const optLen = h[g] & 0x3f;
    ds.put(`geneve(${h[g + 1] & 0x80 ? 'oam,' : ''}${h[g + 1] & 0x40 ? 'crit,' : ''}vni=0x${(h.readUInt32BE(g + 4) >>> 8).toString(16)}`);
    if (optLen) {
      ds.put(',options(');
      formatGeneveOpts(ds, h.subarray(g + 8, g + 8 + optLen * 4), undefined, false);
      ds.put(')');
    }
    ds.put(')');
  } else if (tnlType === vportType('gre') || tnlType === OVS_VPORT_TYPE.IP6GRE) {
    const flags = h.readUInt16BE(l4);
    ds.put(`gre((flags=0x${flags.toString(16)},proto=0x${h.readUInt16BE(l4 + 2).toString(16)})`);
    let o = l4 + HDR.GRE_BASE;
    if (flags & GRE.CSUM) {
      ds.put(`,csum=0x${h.readUInt16BE(o).toString(16)}`);
      o += 4;
    }
    if (flags & GRE.KEY) {
      ds.put(`,key=0x${h.readUInt32BE(o).toString(16)}`);
      o += 4;
    }
    if (flags & GRE.SEQ) ds.put(`,seq=0x${h.readUInt32BE(o).toString(16)}`);
    ds.put(')');
  } else if (tnlType === OVS_VPORT_TYPE.ERSPAN || tnlType === OVS_VPORT_TYPE.IP6ERSPAN) {
    const e = l4 + HDR.ERSPAN_GRE;
    const ver = h[e] >> 4;
    const sid = ((h[e + 2] & 3) << 8) + h[e + 3];
    if (ver === 1) {
      ds.put(`erspan(ver=1,sid=0x${sid.toString(16)},idx=0x${h.readUInt32BE(e + 4).toString(16)})`);
    } else if (ver === 2) {
      const b6 = h[e + 4 + 6];
      const b7 = h[e + 4 + 7];
      ds.put(`erspan(ver=2,sid=0x${sid.toString(16)},dir=${(b7 >> 3) & 1},hwid=0x${(((b6 & 3) << 4) + (b7 >> 4)).toString(16)})`);
    }
  } else if (tnlType === OVS_VPORT_TYPE.GTPU) {
    ds.put(udpText(h, l4));
    const g = l4 + HDR.UDP;
    ds.put(`gtpu(flags=0x${h[g].toString(16)},msgtype=${h[g + 1]},teid=0x${h.readUInt32BE(g + 4).toString(16)})`);
  }
  ds.put(')');
  return ds.s;
}

/** OVS_VPORT_TYPE_* shared with the kernel, from netlink-schemas/ovs_vport.yaml. */
function vportType(name: string): number {
  return loadSchemas().family('ovs_vport').enumValue('vport-type', name);
}

/**
 * tnlPushText is format_odp_tnl_push_action() over `data`: the action's payload followed by
 * whatever bytes the caller has after it.
 */
// ovs: format_odp_tnl_push_action()
export function tnlPushText(view: OdpView, data: Buffer, names: PortNames | undefined): string {
  const head = view.struct('ovs-action-push-tnl-head');
  const b = padTo(data, head.size + TNL_PUSH_HEADER_SIZE);
  const v = decodeStruct(head, b);
  const n = (m: string): number => {
    const x = v[m];
    return typeof x === 'number' ? x : 0;
  };
  return `tnl_push(tnl_port(${portName(names, n('tnl-port'))}),` +
    `${headerText(n('header-len'), n('tnl-type'), b.subarray(head.size))},out_port(${portName(names, n('out-port'))}))`;
}
