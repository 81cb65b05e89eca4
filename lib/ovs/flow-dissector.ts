/**
 * skb->hash as the kernel computes it in software (net/core/flow_dissector.c, Linux 6.12):
 * __skb_flow_dissect() with flow_keys_dissector fills a struct flow_keys, and
 * __flow_hash_from_keys() sorts addresses and ports (so both directions of a connection hash
 * alike), runs SipHash-2-4 over the struct from `basic` to the used part of `addrs`, and
 * replaces 0 by 1.
 *
 * The structure is the kernel's: the same fields, in the same struct layout, the same stop
 * points (an IPv6 flow label ends dissection, fragments have no ports, IP-in-IP and GRE are
 * dissected to the inner header, VLAN tags are keyed by id/priority/TPID/next type), and the
 * same l4_hash rule (ports or a flow label present). The values cannot match a real kernel's:
 * its SipHash key `hashrnd` is random per boot. An emulator instance should pass its own seed
 * from {@link newFlowHashSeed}; the default seed is a fixed key, for reproducible tests.
 *
 * Not dissected (the hash then covers only what precedes them, as for any protocol the
 * kernel stops at): TIPC (its rps key), batman-adv, and DSA tags; no BPF flow dissector runs.
 */
import { randomBytes } from 'crypto';
import { ETH_P } from './net-consts';
import {
  ETH_P_X, HLEN, IP_MF, IP_OFFSET, PROTO, VLAN_PRIO_MASK, VLAN_PRIO_SHIFT, VLAN_VID_MASK,
} from './flow-extract-consts';
import { siphash64, type SiphashKey } from './siphash';
import type { Skb } from './skb';

/** Offsets in struct flow_keys (x86-64; sizeof 80, `basic` 8-byte aligned for siphash). */
const FK = {
  addrType: 2, flags: 4, nProto: 8, ipProto: 10, flowLabel: 12, vlanTci: 16, vlanTpid: 18, vlanEthType: 20,
  keyid: 32, ports: 36, portDst: 38, addrs: 44, size: 80, hashStart: 8,
} as const;
/** control.addr_type values: the dissector key ids FLOW_DISSECTOR_KEY_IPV4_ADDRS / _IPV6_ADDRS. */
const ADDR_IPV4 = 2;
const ADDR_IPV6 = 3;
const FLOW_DIS_IS_FRAGMENT = 1 << 0;
const FLOW_DIS_FIRST_FRAG = 1 << 1;
const FLOW_DIS_ENCAPSULATION = 1 << 6; // TCA_FLOWER_KEY_FLAGS_MAX << 1
const MAX_FLOW_DISSECT_HDRS = 15;
const IP6_OFFSET = 0xfff8;
const GRE = { CSUM: 0x8000, ROUTING: 0x4000, KEY: 0x2000, SEQ: 0x1000, ACK: 0x0080, VERSION: 0x0007 } as const;
const GRE_PROTO_PPP = 0x880b;
const PPP = { IP: 0x21, IPV6: 0x57, MPLS_UC: 0x281, MPLS_MC: 0x283 } as const;

/** The fixed default seed (any 16 bytes; a kernel picks them at random on boot). */
const DEFAULT_SEED: SiphashKey = Buffer.from('6f76732d6470656d752d666c6f776b65', 'hex');

/** newFlowHashSeed draws a random SipHash key, as the kernel's net_get_random_once(&hashrnd). */
export function newFlowHashSeed(): SiphashKey {
  return randomBytes(16);
}

/** enum flow_dissect_ret. */
const Ret = { OUT_GOOD: 0, OUT_BAD: 1, PROTO_AGAIN: 2, IPPROTO_AGAIN: 3, CONTINUE: 4 } as const;
type Ret = (typeof Ret)[keyof typeof Ret];

/** proto_ports_offset() (linux/in.h): where the port pair (or SPI) sits, -1 when there is none. */
function protoPortsOffset(proto: number): number {
  switch (proto) {
    case PROTO.TCP: case PROTO.UDP: case PROTO.DCCP: case PROTO.ESP: case PROTO.SCTP: case PROTO.UDPLITE:
      return 0;
    case PROTO.AH:
      return 4;
    default:
      return -1;
  }
}

/**
 * flowDissect is __skb_flow_dissect() with flow_keys_dissector (or, `symmetric`, the
 * symmetric dissector: no VLAN, flow label or GRE key id, no stop at the flow label) on an skb
 * whose data is at the MAC header; returns struct flow_keys.
 */
// kernel: __skb_flow_dissect()
export function flowDissect(skb: Skb, symmetric = false): Buffer {
  const k = Buffer.alloc(FK.size);
  const d = skb.data;
  const has = (off: number, len: number): boolean => off >= 0 && off + len <= d.length;
  let proto = skb.vlanPresent ? skb.vlanTpid : skb.protocol;
  let nhoff = skb.networkHeader >= 0 ? skb.networkHeader : 0;
  let ipProto = 0;
  let vlanDepth = 0; // dissector_vlan: 0 = none yet, 1 = VLAN, 2 = CVLAN
  let numHdrs = 0;
  let flags = 0;
  const allowed = (): boolean => ++numHdrs <= MAX_FLOW_DISSECT_HDRS;

  const l3 = (): Ret => {
    switch (proto) {
      case ETH_P.IP: {
        const ihl = has(nhoff, HLEN.IPV4) ? d[nhoff] & 0x0f : 0;
        if (ihl < 5) return Ret.OUT_BAD;
        const iph = nhoff;
        nhoff += ihl * 4;
        ipProto = d[iph + 9];
        d.copy(k, FK.addrs, iph + 12, iph + 20);
        k.writeUInt16LE(ADDR_IPV4, FK.addrType);
        const fragOff = d.readUInt16BE(iph + 6);
        if (fragOff & (IP_MF | IP_OFFSET)) {
          flags |= FLOW_DIS_IS_FRAGMENT;
          if (!(fragOff & IP_OFFSET)) flags |= FLOW_DIS_FIRST_FRAG;
          return Ret.OUT_GOOD; // no FLOW_DISSECTOR_F_PARSE_1ST_FRAG
        }
        return Ret.CONTINUE;
      }
      case ETH_P.IPV6: {
        if (!has(nhoff, HLEN.IPV6)) return Ret.OUT_BAD;
        const iph = nhoff;
        ipProto = d[iph + 6];
        nhoff += HLEN.IPV6;
        d.copy(k, FK.addrs, iph + 8, iph + 40);
        k.writeUInt16LE(ADDR_IPV6, FK.addrType);
        const label = d.readUInt32BE(iph) & 0x000fffff;
        if (!symmetric && label) {
          k.writeUInt32LE(label, FK.flowLabel);
          return Ret.OUT_GOOD; // FLOW_DISSECTOR_F_STOP_AT_FLOW_LABEL
        }
        return Ret.CONTINUE;
      }
      case ETH_P.P8021Q:
      case ETH_P.P8021AD: {
        const savedTpid = proto;
        let tci: number;
        if (vlanDepth === 0 && skb.vlanPresent) {
          proto = skb.protocol;
          tci = skb.vlanTci;
        } else {
          if (!has(nhoff, HLEN.VLAN)) return Ret.OUT_BAD;
          tci = d.readUInt16BE(nhoff);
          proto = d.readUInt16BE(nhoff + 2);
          nhoff += HLEN.VLAN;
        }
        if (vlanDepth >= 2) return Ret.PROTO_AGAIN;
        vlanDepth++;
        if (vlanDepth === 1 && !symmetric) {
          // struct flow_dissector_key_vlan: vlan_id:12, vlan_dei:1 (not set), vlan_priority:3
          k.writeUInt16LE((tci & VLAN_VID_MASK) | (((tci & VLAN_PRIO_MASK) >> VLAN_PRIO_SHIFT) << 13), FK.vlanTci);
          k.writeUInt16BE(savedTpid, FK.vlanTpid);
          k.writeUInt16BE(proto, FK.vlanEthType);
        }
        return Ret.PROTO_AGAIN;
      }
      case ETH_P_X.PPP_SES: {
        if (!has(nhoff, 8)) return Ret.OUT_BAD;
        if (d[nhoff] !== 0x11 || d[nhoff + 1] !== 0) return Ret.OUT_BAD; // is_pppoe_ses_hdr_valid()
        const ppp = d.readUInt16BE(nhoff + 6);
        nhoff += 8;
        if (ppp === PPP.IP) proto = ETH_P.IP;
        else if (ppp === PPP.IPV6) proto = ETH_P.IPV6;
        else if (ppp === PPP.MPLS_UC) proto = ETH_P.MPLS_UC;
        else if (ppp === PPP.MPLS_MC) proto = ETH_P.MPLS_MC;
        else return (ppp & 0x0101) === 0x0001 ? Ret.OUT_GOOD : Ret.OUT_BAD; // ppp_proto_is_valid()
        return Ret.PROTO_AGAIN;
      }
      case ETH_P_X.PRP:
      case ETH_P_X.HSR:
        if (!has(nhoff, 6)) return Ret.OUT_BAD;
        proto = d.readUInt16BE(nhoff + 4);
        nhoff += 6;
        return Ret.PROTO_AGAIN;
      case ETH_P.MPLS_UC:
      case ETH_P.MPLS_MC:
        nhoff += HLEN.MPLS; // the MPLS keys are not dissected: stop after the first entry
        return Ret.OUT_GOOD;
      case ETH_P.ARP:
      case ETH_P.RARP:
        return Ret.OUT_GOOD;
      default:
        return Ret.OUT_BAD;
    }
  };

  // kernel: __skb_flow_dissect_gre()
  const gre = (): Ret => {
    if (!has(nhoff, 4)) return Ret.OUT_BAD;
    const gflags = d.readUInt16BE(nhoff);
    if (gflags & GRE.ROUTING) return Ret.OUT_GOOD;
    const ver = gflags & GRE.VERSION;
    if (ver > 1) return Ret.OUT_GOOD;
    proto = d.readUInt16BE(nhoff + 2);
    if (ver && !(proto === GRE_PROTO_PPP && gflags & GRE.KEY)) return Ret.OUT_GOOD;
    let off = 4;
    if (gflags & GRE.CSUM) off += 4;
    if (gflags & GRE.KEY) {
      if (!has(nhoff + off, 4)) return Ret.OUT_BAD;
      if (!symmetric) {
        d.copy(k, FK.keyid, nhoff + off, nhoff + off + 4);
        if (ver) k.writeUInt16BE(0, FK.keyid); // GRE_PPTP_KEY_MASK: the low 16 bits only
      }
      off += 4;
    }
    if (gflags & GRE.SEQ) off += 4;
    if (ver === 0) {
      if (proto === ETH_P_X.TEB) {
        if (!has(nhoff + off, HLEN.ETH)) return Ret.OUT_BAD;
        proto = d.readUInt16BE(nhoff + off + 12);
        off += HLEN.ETH;
      }
    } else {
      if (gflags & GRE.ACK) off += 4;
      if (!has(nhoff + off, 4)) return Ret.OUT_BAD;
      const ppp = d.readUInt16BE(nhoff + off + 2);
      if (ppp === PPP.IP) proto = ETH_P.IP;
      else if (ppp === PPP.IPV6) proto = ETH_P.IPV6;
      off += 4;
    }
    nhoff += off;
    flags |= FLOW_DIS_ENCAPSULATION;
    return Ret.PROTO_AGAIN;
  };

  const l4 = (): Ret => {
    switch (ipProto) {
      case PROTO.GRE:
        return gre();
      case PROTO.HOPOPTS:
      case PROTO.ROUTING:
      case PROTO.DSTOPTS:
        if (proto !== ETH_P.IPV6) return Ret.CONTINUE;
        if (!has(nhoff, 2)) return Ret.OUT_BAD;
        ipProto = d[nhoff];
        nhoff += (d[nhoff + 1] + 1) << 3;
        return Ret.IPPROTO_AGAIN;
      case PROTO.FRAGMENT: {
        if (proto !== ETH_P.IPV6) return Ret.CONTINUE;
        if (!has(nhoff, 8)) return Ret.OUT_BAD;
        flags |= FLOW_DIS_IS_FRAGMENT;
        const fh = nhoff;
        nhoff += 8;
        ipProto = d[fh];
        if (!(d.readUInt16BE(fh + 2) & IP6_OFFSET)) flags |= FLOW_DIS_FIRST_FRAG;
        return Ret.OUT_GOOD;
      }
      case PROTO.IPIP:
        proto = ETH_P.IP;
        flags |= FLOW_DIS_ENCAPSULATION;
        return Ret.PROTO_AGAIN;
      case PROTO.IPV6:
        proto = ETH_P.IPV6;
        flags |= FLOW_DIS_ENCAPSULATION;
        return Ret.PROTO_AGAIN;
      case PROTO.MPLS:
        proto = ETH_P.MPLS_UC;
        return Ret.PROTO_AGAIN;
      default:
        return Ret.CONTINUE; // TCP, ICMP, ESP, AH, L2TP: only keys this dissector does not use
    }
  };

  dissect: for (;;) {
    const r = l3(); // proto_again:
    if (r === Ret.PROTO_AGAIN && allowed()) continue;
    if (r !== Ret.CONTINUE && r !== Ret.IPPROTO_AGAIN) break;
    for (;;) { // ip_proto_again:
      const r4 = l4();
      if (!(flags & FLOW_DIS_IS_FRAGMENT)) {
        // __skb_flow_dissect_ports()
        const poff = protoPortsOffset(ipProto);
        if (poff >= 0 && has(nhoff + poff, 4)) d.copy(k, FK.ports, nhoff + poff, nhoff + poff + 4);
        else k.writeUInt32LE(0, FK.ports);
      }
      if (r4 === Ret.PROTO_AGAIN && allowed()) continue dissect;
      if (r4 === Ret.IPPROTO_AGAIN && allowed()) continue;
      break dissect;
    }
  }
  k.writeUInt32LE(flags, FK.flags);
  k.writeUInt16BE(proto, FK.nProto);
  k[FK.ipProto] = ipProto;
  return k;
}

/** flow_keys_hash_length(): from `basic` to the end, minus the unused part of `addrs`. */
function hashLength(k: Buffer): number {
  const addrType = k.readUInt16LE(FK.addrType);
  const unused = addrType === ADDR_IPV4 ? 32 - 8 : addrType === ADDR_IPV6 ? 0 : 32;
  return FK.size - FK.hashStart - unused;
}

/** __flow_hash_consistentify(): the smaller address (and port) first, as host-order words. */
function consistentify(k: Buffer): void {
  const swap = (a: number, b: number, n: number): void => {
    const t = Buffer.from(k.subarray(a, a + n));
    k.copy(k, a, b, b + n);
    t.copy(k, b);
  };
  const addrType = k.readUInt16LE(FK.addrType);
  if (addrType === ADDR_IPV4) {
    if (k.readUInt32LE(FK.addrs + 4) < k.readUInt32LE(FK.addrs)) swap(FK.addrs, FK.addrs + 4, 4);
  } else if (addrType === ADDR_IPV6) {
    // memcmp(dst, src) < 0
    if (k.compare(k, FK.addrs, FK.addrs + 16, FK.addrs + 16, FK.addrs + 32) < 0) swap(FK.addrs, FK.addrs + 16, 16);
  } else {
    return;
  }
  if (k.readUInt16LE(FK.portDst) < k.readUInt16LE(FK.ports)) swap(FK.ports, FK.portDst, 2);
}

/** flowHashFromKeys is __flow_hash_from_keys(): never 0. */
// kernel: __flow_hash_from_keys()
export function flowHashFromKeys(keys: Buffer, seed: SiphashKey = DEFAULT_SEED): number {
  consistentify(keys);
  const hash = siphash64(keys, seed, FK.hashStart, FK.hashStart + hashLength(keys))[1];
  return hash || 1;
}

/**
 * skbGetHash is skb_get_hash(): the skb's hash, computing it in software (and setting
 * `hash`, `swHash` and `l4Hash`, as __skb_get_hash_net() does) unless one is already set.
 * Call it as the kernel does: on the skb as key extraction left it (data at the MAC header,
 * network header and skb->protocol set, an outer VLAN tag in the accelerated tag).
 */
// kernel: skb_get_hash(), __skb_get_hash_net()
export function skbGetHash(skb: Skb, seed: SiphashKey = DEFAULT_SEED): number {
  if (!skb.l4Hash && !skb.swHash) {
    const keys = flowDissect(skb);
    skb.hash = flowHashFromKeys(keys, seed);
    skb.swHash = true;
    // flow_keys_have_l4(): ports or a flow label
    skb.l4Hash = keys.readUInt32LE(FK.ports) !== 0 || keys.readUInt32LE(FK.flowLabel) !== 0;
  }
  return skb.hash;
}

/** skbGetHashSymmetric is __skb_get_hash_symmetric() (the hash action's sym_l4): not stored. */
// kernel: __skb_get_hash_symmetric_net()
export function skbGetHashSymmetric(skb: Skb, seed: SiphashKey = DEFAULT_SEED): number {
  return flowHashFromKeys(flowDissect(skb, true), seed);
}
