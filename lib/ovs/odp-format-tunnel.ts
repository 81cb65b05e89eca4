/**
 * The nested key attributes of the odp flow format: tunnel(…) with its vxlan/geneve/erspan/gtpu
 * options, and nsh(…) (OVS lib/odp-util.c format_odp_tun_attr, format_odp_nsh_attr and friends).
 */
import { decodeStruct, type StructValue } from '../schema/struct';
import {
  checkAttrLen, flagsMaskedText, flagsText, fmtBe16, fmtBe16x, fmtBe64, fmtIn6, fmtIpv4, fmtU8u, fmtU8x,
  formatUnknownKey, generateWildcard, optBe16, optU8, type MaskNum,
} from './odp-format-fields';
import { Ds, hx, isAll, nlFind, nlWalk, padTo, putHex, type NlAttr } from './odp-format-text';
import type { OdpView } from './odp-format-view';

/** FLOW_TNL_F_* bits of OVS (include/openvswitch/packets.h) and their names (flow_tun_flag_to_string). */
const TNL_F = { OAM: 1, DONT_FRAGMENT: 2, CSUM: 4, KEY: 8 } as const;
const TNL_F_MASK = 0xf;
const TNL_F_NAMES = new Map<number, string>([[TNL_F.DONT_FRAGMENT, 'df'], [TNL_F.CSUM, 'csum'], [TNL_F.KEY, 'key'], [TNL_F.OAM, 'oam']]);
const tunFlagName = (bit: number): string | undefined => TNL_F_NAMES.get(bit);

const num = (v: StructValue, m: string): number => {
  const x = v[m];
  return typeof x === 'number' ? x : 0;
};

function structOf(view: OdpView, name: string, b: Buffer): StructValue {
  const s = view.struct(name);
  return decodeStruct(s, padTo(b, s.size));
}

// ovs: format_tun_flags()
function fmtTunFlags(ds: Ds, key: number, mask: MaskNum, verbose: boolean): void {
  if (!verbose && mask === 0) return;
  ds.put('flags(');
  ds.put(mask !== undefined ? flagsMaskedText(tunFlagName, key, mask & TNL_F_MASK, TNL_F_MASK) : flagsText(tunFlagName, key, '|'));
  ds.put('),');
}

/** formatTunAttr is format_odp_tun_attr(): the inside of tunnel(…). */
// ovs: format_odp_tun_attr()
export function formatTunAttr(view: OdpView, ds: Ds, a: NlAttr, ma: NlAttr | undefined, verbose: boolean): void {
  let flags = 0;
  let maskFlags = 0;
  for (const t of nlWalk(a.payload).attrs) {
    const mt = ma ? nlFind(ma.payload, t.type) ?? generateWildcard(view.tunnelLens, t) : undefined;
    if (!checkAttrLen(ds, t, mt, view.tunnelLens, true)) continue;
    const k = t.payload;
    const m = mt?.payload;
    switch (view.tunnelName(t.type)) {
      case 'id':
        fmtBe64(ds, 'tun_id', k.readBigUInt64BE(0), m?.readBigUInt64BE(0), verbose);
        flags |= TNL_F.KEY;
        if (mt) maskFlags |= TNL_F.KEY;
        break;
      case 'ipv4-src': fmtIpv4(ds, 'src', k, 0, m, 0, verbose); break;
      case 'ipv4-dst': fmtIpv4(ds, 'dst', k, 0, m, 0, verbose); break;
      case 'ipv6-src': fmtIn6(ds, 'ipv6_src', k, 0, m, 0, verbose); break;
      case 'ipv6-dst': fmtIn6(ds, 'ipv6_dst', k, 0, m, 0, verbose); break;
      case 'tos': fmtU8x(ds, 'tos', k[0], optU8(m, 0), verbose); break;
      case 'ttl': fmtU8u(ds, 'ttl', k[0], optU8(m, 0), verbose); break;
      case 'dont-fragment': flags |= TNL_F.DONT_FRAGMENT; break;
      case 'csum': flags |= TNL_F.CSUM; break;
      case 'oam': flags |= TNL_F.OAM; break;
      case 'tp-src': fmtBe16(ds, 'tp_src', k.readUInt16BE(0), optBe16(m, 0), verbose); break;
      case 'tp-dst': fmtBe16(ds, 'tp_dst', k.readUInt16BE(0), optBe16(m, 0), verbose); break;
      case 'vxlan-opts':
        ds.put('vxlan(');
        formatVxlanOpt(view, ds, t, mt, verbose);
        ds.put('),');
        break;
      case 'geneve-opts':
        ds.put('geneve(');
        if (m && m.length !== k.length) ds.put(`value len ${k.length} different from mask len ${m.length}`);
        else formatGeneveOpts(ds, k, m, verbose);
        ds.put('),');
        break;
      case 'pad':
        break;
      case 'erspan-opts':
        ds.put('erspan(');
        formatErspanOpt(view, ds, k, m, verbose);
        ds.put('),');
        break;
      case 'gtpu-opts': {
        ds.put('gtpu(');
        const o = structOf(view, 'gtpu-metadata', k);
        const om = m ? structOf(view, 'gtpu-metadata', m) : undefined;
        fmtU8x(ds, 'flags', num(o, 'flags'), om && num(om, 'flags'), verbose);
        fmtU8u(ds, 'msgtype', num(o, 'msgtype'), om && num(om, 'msgtype'), verbose);
        ds.chomp(',');
        ds.put('),');
        break;
      }
      default:
        formatUnknownKey(view, ds, t, mt);
    }
  }
  if (ma) {
    for (const t of nlWalk(ma.payload).attrs) {
      const n = view.tunnelName(t.type);
      if (n === 'dont-fragment') maskFlags |= TNL_F.DONT_FRAGMENT;
      else if (n === 'csum') maskFlags |= TNL_F.CSUM;
      else if (n === 'oam') maskFlags |= TNL_F.OAM;
    }
  }
  fmtTunFlags(ds, flags, ma ? maskFlags : undefined, verbose);
  ds.chomp(',');
}

// ovs: format_odp_tun_vxlan_opt()
function formatVxlanOpt(view: OdpView, ds: Ds, a: NlAttr, ma: NlAttr | undefined, verbose: boolean): void {
  for (const v of nlWalk(a.payload).attrs) {
    const mv = ma ? nlFind(ma.payload, v.type) ?? generateWildcard(view.vxlanLens, v) : undefined;
    if (!checkAttrLen(ds, v, mv, view.vxlanLens, true)) continue;
    if (v.type === view.num(view.vxlan, 'gbp')) {
      const key = v.payload.readUInt32LE(0);
      const mask = mv?.payload.readUInt32LE(0);
      ds.put('gbp(');
      fmtBe16(ds, 'id', key & 0xffff, mask === undefined ? undefined : mask & 0xffff, verbose);
      fmtU8x(ds, 'flags', (key >>> 16) & 0xff, mask === undefined ? undefined : (mask >>> 16) & 0xff, verbose);
      ds.chomp(',');
      ds.put('),');
    } else {
      formatUnknownKey(view, ds, v, mv);
    }
  }
  ds.chomp(',');
}

/** formatGeneveOpts is format_geneve_opts(): "{class=…,type=…,len=…,0xdata[/0xmask]}" per option. */
// ovs: format_geneve_opts()
export function formatGeneveOpts(ds: Ds, opts: Buffer, mask: Buffer | undefined, verbose: boolean): void {
  let off = 0;
  let left = opts.length;
  while (left > 0) {
    if (left < 4) {
      ds.put(`opt len ${left} less than minimum 4`);
      return;
    }
    const dataLen = (opts[off + 3] & 0x1f) * 4;
    const lenMask = mask ? ((mask[off + 3] & 0x1f) === 0x1f ? 0xff : mask[off + 3] & 0x1f) : undefined;
    const len = 4 + dataLen;
    if (len > left) {
      ds.put(`opt len ${len} greater than remaining ${left}`);
      return;
    }
    ds.put('{');
    fmtBe16x(ds, 'class', opts.readUInt16BE(off), optBe16(mask, off), verbose);
    fmtU8x(ds, 'type', opts[off + 2], optU8(mask, off + 2), verbose);
    fmtU8u(ds, 'len', dataLen, lenMask, verbose);
    const data = opts.subarray(off + 4, off + len);
    const mdata = mask?.subarray(off + 4, off + len);
    if (dataLen && (verbose || !mdata || !isAll(mdata, 0))) {
      ds.put(putHex(data));
      if (mdata && !isAll(mdata, 0xff)) ds.put(`/${putHex(mdata)}`);
    } else {
      ds.chomp(',');
    }
    ds.put('}');
    off += len;
    left -= len;
  }
}

// ovs: format_odp_tun_erspan_opt()
function formatErspanOpt(view: OdpView, ds: Ds, k: Buffer, m: Buffer | undefined, verbose: boolean): void {
  const o = structOf(view, 'erspan-metadata-v2', k);
  const om = m ? structOf(view, 'erspan-metadata-v2', m) : undefined;
  const version = num(o, 'version');
  fmtU8u(ds, 'ver', version & 0xff, om && num(om, 'version') & 0xff, verbose);
  if (version === 1) {
    const idx = num(structOf(view, 'erspan-metadata-v1', k), 'index');
    if (m) ds.put(`idx=${hx(idx)}/${hx(num(structOf(view, 'erspan-metadata-v1', m), 'index'))},`);
    else ds.put(`idx=${hx(idx)},`);
  } else if (version === 2) {
    const dir = (b: StructValue): number => (num(b, 'bits-b') >> 3) & 1;
    const hwid = (b: StructValue): number => (num(b, 'bits-b') >> 4) & 0xf;
    fmtU8u(ds, 'dir', dir(o), om && dir(om), verbose);
    fmtU8x(ds, 'hwid', hwid(o), om && hwid(om), verbose);
  }
  ds.chomp(',');
}

/** NshKey is struct ovs_key_nsh as the formatter fills it. */
export interface NshKey {
  flags: number; ttl: number; mdtype: number; np: number; pathHdr: number; context: number[];
}

export const nshZero = (): NshKey => ({ flags: 0, ttl: 0, mdtype: 0, np: 0, pathHdr: 0, context: [0, 0, 0, 0] });
export const nshOnes = (): NshKey => ({
  flags: 0xff, ttl: 0xff, mdtype: 0xff, np: 0xff, pathHdr: 0xffffffff, context: [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
});

/** nshBase copies an ovs_nsh_key_base (schema struct) into `into`. */
export function nshBase(view: OdpView, into: NshKey, b: Buffer): void {
  const v = decodeStruct(view.struct('ovs-nsh-key-base'), b);
  into.flags = num(v, 'flags');
  into.ttl = num(v, 'ttl');
  into.mdtype = num(v, 'mdtype');
  into.np = num(v, 'np');
  into.pathHdr = num(v, 'path-hdr');
}

/** nshMd1 copies the four big-endian context words of an ovs_nsh_key_md1. */
export function nshMd1(into: NshKey, b: Buffer): void {
  for (let i = 0; i < 4; i++) into.context[i] = b.readUInt32BE(i * 4);
}

// ovs: format_nsh_key()
function formatNshKey(ds: Ds, k: NshKey): void {
  ds.put(`flags=${k.flags},ttl=${k.ttl},mdtype=${k.mdtype},np=${k.np},spi=0x${(k.pathHdr >>> 8).toString(16)},si=${k.pathHdr & 0xff}`);
  if (k.mdtype === 1) k.context.forEach((c, i) => ds.put(`,c${i + 1}=0x${c.toString(16)}`));
}

/** formatNshKeyMask is format_nsh_key_mask(): only the fields whose mask is non-zero. */
// ovs: format_nsh_key_mask()
export function formatNshKeyMask(ds: Ds, k: NshKey, m: NshKey): void {
  let first = true;
  const sep = (): void => {
    if (!first) ds.put(',');
    first = false;
  };
  const u8 = (name: string, v: number, mask: number): void => {
    if (!mask) return;
    sep();
    ds.put(mask === 0xff ? `${name}=${v}` : `${name}=0x${v.toString(16).padStart(2, '0')}/0x${mask.toString(16).padStart(2, '0')}`);
  };
  const be32 = (name: string, v: number, mask: number): void => {
    if (!mask) return;
    sep();
    ds.put(mask >>> 0 === 0xffffffff ? `${name}=0x${v.toString(16)}` : `${name}=0x${v.toString(16)}/0x${mask.toString(16).padStart(8, '0')}`);
  };
  const spiMask = m.pathHdr >>> 8;
  u8('flags', k.flags, m.flags);
  u8('ttl', k.ttl, m.ttl);
  u8('mdtype', k.mdtype, m.mdtype);
  u8('np', k.np, m.np);
  be32('spi', k.pathHdr >>> 8, spiMask === 0xffffff ? 0xffffffff : spiMask);
  u8('si', k.pathHdr & 0xff, m.pathHdr & 0xff);
  k.context.forEach((c, i) => be32(`c${i + 1}`, c, m.context[i]));
}

/** formatNshAttr is format_odp_nsh_attr(): the inside of nsh(…) in a flow key. */
// ovs: format_odp_nsh_attr()
export function formatNshAttr(view: OdpView, ds: Ds, a: NlAttr, ma: NlAttr | undefined): void {
  const k = nshZero();
  const m = nshOnes();
  for (const n of nlWalk(a.payload).attrs) {
    const mn = ma ? nlFind(ma.payload, n.type) : undefined;
    if (!checkAttrLen(ds, n, mn, view.nshLens, true)) continue;
    if (n.type === view.num(view.nsh, 'base')) {
      nshBase(view, k, n.payload);
      if (mn) nshBase(view, m, mn.payload);
    } else if (n.type === view.num(view.nsh, 'md1')) {
      nshMd1(k, n.payload);
      if (mn) nshMd1(m, mn.payload);
    }
  }
  if (ma) formatNshKeyMask(ds, k, m);
  else formatNshKey(ds, k);
}
