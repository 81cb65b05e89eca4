/**
 * sw_flow_key to OVS_KEY_ATTR_* attributes: ovs_nla_put_key() / __ovs_nla_put_key() of
 * net/openvswitch/flow_netlink.c and ovs_ct_put_key() of conntrack.c (Linux 6.12). The output
 * is canonical (regenerated from the key, never echoed), in the kernel's order and with its
 * presence rules, so that a key OVS hashes (upcalls, dumps) has the kernel's exact bytes.
 *
 * `swkey` is the flow's key and decides which attributes appear; `output` is what their values
 * are read from: the same key, or the mask when `isMask`.
 */
import type { NlWriter } from '../nl/writer';
import type { FamilySpec } from '../schema/model';
import {
  IN_PORT_NONE, MAC_PROTO_ETHERNET, SWKEY, ovsKeyMacProto, type KeyField,
} from './flow-key';
import { keySchema, type KeySchema, type Members, type StructKey } from './flow-netlink-attrs';
import { CT_FULL, type CtSupport } from './flow-netlink-match';
import { ipTunToNlattr } from './flow-netlink-tunnel';
import { ETH_P, IPPROTO, NDISC, NSH_M_TYPE1, ethPMpls, ethTypeVlan } from './net-consts';

/** PutOptions describe the emulated kernel for key emission. */
export interface PutOptions {
  family?: FamilySpec;
  /** Conntrack support: without it no CT attribute is emitted (the ovs_ct_put_key() stub). */
  ct?: CtSupport;
}

interface PutCtx {
  S: KeySchema;
  ct: CtSupport;
}

const be16 = (k: Buffer, f: KeyField): number => k.readUInt16BE(f.off);
const bytes = (k: Buffer, f: KeyField): Buffer => k.subarray(f.off, f.off + f.len);

/**
 * structAttr writes a struct attribute whose members are copied from key fields (network-order
 * bytes as stored); members not listed, and C padding, are zero.
 */
function structAttr(w: NlWriter, ctx: PutCtx, type: number, st: StructKey, fields: [string, Buffer][]): void {
  const m: Members = ctx.S.st[st];
  const p = Buffer.alloc(ctx.S.size[st]);
  for (const [name, v] of fields) v.copy(p, m[name].offset, 0, m[name].size);
  w.attr(type, p);
}

function u8Buf(v: number): Buffer {
  return Buffer.of(v & 0xff);
}

// kernel: ovs_ct_put_key()
function ovsCtPutKey(w: NlWriter, ctx: PutCtx, swkey: Buffer, output: Buffer): void {
  const { K } = ctx.S;
  if (!ctx.ct.enabled) return;
  w.attrU32(K['ct-state'], output[SWKEY.ctState.off]);
  w.attr(K['ct-zone'], bytes(output, SWKEY.ctZone));
  w.attr(K['ct-mark'], bytes(output, SWKEY.ctMark));
  w.attr(K['ct-labels'], bytes(output, SWKEY.ctLabels));
  if (!swkey[SWKEY.ctOrigProto.off]) return;
  const ethType = be16(swkey, SWKEY.ethType);
  if (ethType === ETH_P.IP) {
    structAttr(w, ctx, K['ct-orig-tuple-ipv4'], 'ct4', [
      ['ipv4-src', bytes(output, SWKEY.ipv4CtOrigSrc)], ['ipv4-dst', bytes(output, SWKEY.ipv4CtOrigDst)],
      ['src-port', bytes(output, SWKEY.ctOrigTpSrc)], ['dst-port', bytes(output, SWKEY.ctOrigTpDst)],
      ['ipv4-proto', bytes(output, SWKEY.ctOrigProto)],
    ]);
  } else if (ethType === ETH_P.IPV6) {
    structAttr(w, ctx, K['ct-orig-tuple-ipv6'], 'ct6', [
      ['ipv6-src', bytes(output, SWKEY.ipv6CtOrigSrc)], ['ipv6-dst', bytes(output, SWKEY.ipv6CtOrigDst)],
      ['src-port', bytes(output, SWKEY.ctOrigTpSrc)], ['dst-port', bytes(output, SWKEY.ctOrigTpDst)],
      ['ipv6-proto', bytes(output, SWKEY.ctOrigProto)],
    ]);
  }
}

// kernel: ovs_nla_put_vlan()
function ovsNlaPutVlan(w: NlWriter, ctx: PutCtx, output: Buffer, inner: boolean, isMask: boolean): void {
  const { K } = ctx.S;
  const tpid = inner ? SWKEY.cvlanTpid : SWKEY.vlanTpid;
  w.attr(K.ethertype, isMask ? Buffer.of(0xff, 0xff) : bytes(output, tpid));
  w.attr(K.vlan, bytes(output, inner ? SWKEY.cvlanTci : SWKEY.vlanTci));
}

// kernel: nsh_key_to_nlattr()
function nshKeyToNlattr(w: NlWriter, ctx: PutCtx, output: Buffer, isMask: boolean): void {
  const { K, N } = ctx.S;
  w.nestStart(K.nsh);
  w.attr(N.base, bytes(output, SWKEY.nshBase));
  if (isMask || output[SWKEY.nshMdtype.off] === NSH_M_TYPE1) w.attr(N.md1, bytes(output, SWKEY.nshContext));
  // MD type 2 is not supported in keys.
  w.nestEnd();
}

function popcount(v: number): number {
  let n = 0;
  for (let x = v >>> 0; x; x &= x - 1) n++;
  return n;
}

/** The L3 attribute after ETHERTYPE. */
function putL3(w: NlWriter, ctx: PutCtx, output: Buffer, isMask: boolean, ethType: number): void {
  const { K, mplsLseLen } = ctx.S;
  if (ethType === ETH_P.IP) {
    structAttr(w, ctx, K.ipv4, 'ipv4', [
      ['ipv4-src', bytes(output, SWKEY.ipv4Src)], ['ipv4-dst', bytes(output, SWKEY.ipv4Dst)],
      ['ipv4-proto', bytes(output, SWKEY.ipProto)], ['ipv4-tos', bytes(output, SWKEY.ipTos)],
      ['ipv4-ttl', bytes(output, SWKEY.ipTtl)], ['ipv4-frag', bytes(output, SWKEY.ipFrag)],
    ]);
  } else if (ethType === ETH_P.IPV6) {
    structAttr(w, ctx, K.ipv6, 'ipv6', [
      ['ipv6-src', bytes(output, SWKEY.ipv6Src)], ['ipv6-dst', bytes(output, SWKEY.ipv6Dst)],
      ['ipv6-label', bytes(output, SWKEY.ipv6Label)], ['ipv6-proto', bytes(output, SWKEY.ipProto)],
      ['ipv6-tclass', bytes(output, SWKEY.ipTos)], ['ipv6-hlimit', bytes(output, SWKEY.ipTtl)],
      ['ipv6-frag', bytes(output, SWKEY.ipFrag)],
    ]);
    structAttr(w, ctx, K['ipv6-exthdrs'], 'exthdrs', [['hdrs', bytes(output, SWKEY.ipv6Exthdrs)]]);
  } else if (ethType === ETH_P.NSH) {
    nshKeyToNlattr(w, ctx, output, isMask);
  } else if (ethType === ETH_P.ARP || ethType === ETH_P.RARP) {
    const op = Buffer.alloc(2);
    op.writeUInt16BE(output[SWKEY.ipProto.off]); // htons(ip.proto)
    structAttr(w, ctx, K.arp, 'arp', [
      ['arp-sip', bytes(output, SWKEY.ipv4Src)], ['arp-tip', bytes(output, SWKEY.ipv4Dst)], ['arp-op', op],
      ['arp-sha', bytes(output, SWKEY.arpSha)], ['arp-tha', bytes(output, SWKEY.arpTha)],
    ]);
  } else if (ethPMpls(ethType)) {
    const n = popcount(output.readUInt32LE(SWKEY.mplsNumLabelsMask.off));
    w.attr(K.mpls, output.subarray(SWKEY.mplsLse.off, SWKEY.mplsLse.off + n * mplsLseLen));
  }
}

/** The L4 attributes of IP flows that are not later fragments. */
function putL4(w: NlWriter, ctx: PutCtx, swkey: Buffer, output: Buffer, ethType: number): void {
  const { K } = ctx.S;
  const proto = swkey[SWKEY.ipProto.off];
  const ports = (t: number, st: 'tcp' | 'udp' | 'sctp'): void =>
    structAttr(w, ctx, t, st, [[`${st}-src`, bytes(output, SWKEY.tpSrc)], [`${st}-dst`, bytes(output, SWKEY.tpDst)]]);
  const icmp = (t: number, st: 'icmp' | 'icmpv6'): void =>
    structAttr(w, ctx, t, st, [
      [`${st}-type`, u8Buf(be16(output, SWKEY.tpSrc))], [`${st}-code`, u8Buf(be16(output, SWKEY.tpDst))],
    ]);
  if (proto === IPPROTO.TCP) {
    ports(K.tcp, 'tcp');
    w.attr(K['tcp-flags'], bytes(output, SWKEY.tpFlags));
  } else if (proto === IPPROTO.UDP) {
    ports(K.udp, 'udp');
  } else if (proto === IPPROTO.SCTP) {
    ports(K.sctp, 'sctp');
  } else if (ethType === ETH_P.IP && proto === IPPROTO.ICMP) {
    icmp(K.icmp, 'icmp');
  } else if (ethType === ETH_P.IPV6 && proto === IPPROTO.ICMPV6) {
    icmp(K.icmpv6, 'icmpv6');
    const type = be16(swkey, SWKEY.tpSrc);
    if (type === NDISC.NEIGHBOUR_SOLICITATION || type === NDISC.NEIGHBOUR_ADVERTISEMENT) {
      structAttr(w, ctx, K.nd, 'nd', [
        ['nd-target', bytes(output, SWKEY.ndTarget)], ['nd-sll', bytes(output, SWKEY.ndSll)],
        ['nd-tll', bytes(output, SWKEY.ndTll)],
      ]);
    }
  }
}

/**
 * ovsNlaPutKeyAttrs is __ovs_nla_put_key(): the key attributes without the enclosing nest.
 */
// kernel: __ovs_nla_put_key()
export function ovsNlaPutKeyAttrs(w: NlWriter, swkey: Buffer, output: Buffer, isMask: boolean, opts: PutOptions = {}): void {
  const ctx: PutCtx = { S: keySchema(opts.family), ct: opts.ct ?? CT_FULL };
  const { K } = ctx.S;
  let encap = false;
  let inEncap = false;

  w.attr(K['recirc-id'], bytes(output, SWKEY.recircId));
  w.attr(K['dp-hash'], bytes(output, SWKEY.dpHash));
  w.attr(K.priority, bytes(output, SWKEY.priority));
  const tunProto = swkey[SWKEY.tunProto.off];
  if (tunProto || isMask) ipTunToNlattr(w, ctx, output, swkey[SWKEY.tunOptsLen.off], tunProto);
  if (swkey.readUInt16LE(SWKEY.inPort.off) === IN_PORT_NONE) {
    if (isMask && output.readUInt16LE(SWKEY.inPort.off) === 0xffff) w.attrU32(K['in-port'], 0xffffffff);
  } else {
    const upper = isMask ? 0xffff0000 : 0;
    w.attrU32(K['in-port'], (upper | output.readUInt16LE(SWKEY.inPort.off)) >>> 0);
  }
  w.attr(K['skb-mark'], bytes(output, SWKEY.skbMark));
  ovsCtPutKey(w, ctx, swkey, output);

  const ethType = be16(swkey, SWKEY.ethType);
  body: {
    if (ovsKeyMacProto(swkey) === MAC_PROTO_ETHERNET) {
      structAttr(w, ctx, K.ethernet, 'ethernet', [['eth-src', bytes(output, SWKEY.ethSrc)], ['eth-dst', bytes(output, SWKEY.ethDst)]]);
      if (be16(swkey, SWKEY.vlanTci) || ethTypeVlan(ethType)) {
        ovsNlaPutVlan(w, ctx, output, false, isMask);
        w.nestStart(K.encap);
        encap = true;
        if (!be16(swkey, SWKEY.vlanTci)) break body;
        if (be16(swkey, SWKEY.cvlanTci) || ethTypeVlan(ethType)) {
          ovsNlaPutVlan(w, ctx, output, true, isMask);
          w.nestStart(K.encap);
          inEncap = true;
          if (!be16(swkey, SWKEY.cvlanTci)) break body;
        }
      }
      if (ethType === ETH_P.P802_2) {
        // 802.2: no ETHERTYPE in the key; in the mask only when the type is matched at all.
        if (isMask && be16(output, SWKEY.ethType)) w.attr(K.ethertype, bytes(output, SWKEY.ethType));
        break body;
      }
    }
    w.attr(K.ethertype, bytes(output, SWKEY.ethType));
    // A third tag: nothing is known about the rest of the packet.
    if (ethTypeVlan(ethType)) break body;
    putL3(w, ctx, output, isMask, ethType);
    if ((ethType === ETH_P.IP || ethType === ETH_P.IPV6) && swkey[SWKEY.ipFrag.off] !== ctx.S.fragLater) {
      putL4(w, ctx, swkey, output, ethType);
    }
  }
  if (inEncap) w.nestEnd();
  if (encap) w.nestEnd();
}

/**
 * ovsNlaPutKey is ovs_nla_put_key(): a nest of type `attr` (OVS_FLOW_ATTR_KEY / _MASK by name,
 * or any attribute number, e.g. OVS_PACKET_ATTR_KEY of an upcall) holding the key attributes.
 */
// kernel: ovs_nla_put_key()
export function ovsNlaPutKey(
  w: NlWriter, attr: 'key' | 'mask' | number, swkey: Buffer, output: Buffer, isMask: boolean, opts: PutOptions = {},
): void {
  const type = typeof attr === 'number' ? attr : keySchema(opts.family).flowAttr[attr];
  w.nestStart(type);
  ovsNlaPutKeyAttrs(w, swkey, output, isMask, opts);
  w.nestEnd();
}
