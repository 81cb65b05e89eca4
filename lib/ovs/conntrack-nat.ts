/**
 * NAT bindings and the OVS NAT entry point: nf_nat_setup_info() / get_unique_tuple() /
 * nf_nat_alloc_null_binding() (net/netfilter/nf_nat_core.c) and nf_ct_nat() /
 * nf_ct_nat_execute() (net/netfilter/nf_nat_ovs.c). Address and port choice is deterministic
 * here: the lowest address of a range, the packet's own port when it is in range and free,
 * else the lowest free port of the range (the kernel starts from a random offset).
 */
import { MANIP_DST, MANIP_SRC, CTINFO, IPS, IPS_NAT_MASK, ctinfo2dir, type Conn } from './conntrack-conn';
import { NF_NAT_RANGE, OVS_CT_NAT, type CtActionInfo, type NatRange } from './conntrack-action';
import { NFPROTO } from './conntrack-helpers';
import { icmpReplyTranslation, natPacket } from './conntrack-nat-pkt';
import { copyTuple, invertTuple, isIcmp, tupleEqual, type CtTuple } from './conntrack-tuple';
import { PROTO } from './flow-extract-consts';

/** NF_ACCEPT / NF_DROP as booleans: true = accept. */
export type Verdict = boolean;

/** Protocols whose ports (or ICMP id) NAT may choose. */
const PORTED: ReadonlySet<number> = new Set([PROTO.TCP, PROTO.UDP, PROTO.UDPLITE, PROTO.SCTP, PROTO.DCCP]);

/** The port (or ICMP id) of the side `manip` changes. */
function portOf(t: CtTuple, manip: number): number {
  return isIcmp(t) || manip === MANIP_SRC ? t.sport : t.dport;
}

function setPort(t: CtTuple, manip: number, port: number): void {
  if (isIcmp(t) || manip === MANIP_SRC) t.sport = port;
  else t.dport = port;
}

/** The port range nf_nat_l4proto_unique_tuple() searches when none is given. */
function defaultPortRange(t: CtTuple, manip: number): [number, number] {
  if (isIcmp(t)) return [0, 0xffff];
  if (manip === MANIP_DST) return [1, 0xffff];
  const port = t.sport;
  if (port < 1024) return port < 512 ? [1, 511] : [600, 1023];
  return [1024, 0xffff];
}

/**
 * getUniqueTuple is get_unique_tuple(): `orig` with the manipulated side taken from `range`,
 * such that its inverse (the new reply tuple) is not in use (`taken`).
 */
// kernel: get_unique_tuple(), find_best_ips_proto(), nf_nat_l4proto_unique_tuple()
function getUniqueTuple(orig: CtTuple, range: NatRange, manip: number, taken: (reply: CtTuple) => boolean): CtTuple {
  const t = copyTuple(orig);
  if (range.flags & NF_NAT_RANGE.MAP_IPS) {
    const len = t.family === NFPROTO.IPV6 ? 16 : 4;
    const addr = Buffer.from(range.minAddr.subarray(0, len));
    if (manip === MANIP_SRC) t.src = addr;
    else t.dst = addr;
  }
  const free = (x: CtTuple): boolean => {
    const r = invertTuple(x);
    return r !== undefined && !taken(r);
  };
  const ported = PORTED.has(t.proto) || isIcmp(t);
  if (!ported) return t;
  const [min, max] = range.flags & NF_NAT_RANGE.PROTO_SPECIFIED ? [range.minProto, range.maxProto] : defaultPortRange(t, manip);
  const cur = portOf(t, manip);
  const inRange = !(range.flags & NF_NAT_RANGE.PROTO_SPECIFIED) || (cur >= min && cur <= max);
  const random = range.flags & (NF_NAT_RANGE.PROTO_RANDOM | NF_NAT_RANGE.PROTO_RANDOM_FULLY);
  if (inRange && !random && free(t)) return t;
  // DNAT with a fixed port cannot move; likewise a protocol whose range is a single port.
  for (let p = min; p <= max; p++) {
    setPort(t, manip, p);
    if (free(t)) return t;
  }
  setPort(t, manip, cur);
  return t;
}

/**
 * natSetupInfo is nf_nat_setup_info(): binds the connection's `manip` side (the reply tuple
 * changes when the binding changes anything) and marks that side initialized.
 */
// kernel: nf_nat_setup_info()
export function natSetupInfo(ct: Conn, range: NatRange, manip: number, taken: (reply: CtTuple) => boolean): Verdict {
  if (ct.status & IPS.CONFIRMED) return true; // can't set up NAT for a confirmed connection
  const curr = invertTuple(ct.tuples[1]);
  if (!curr) return false;
  const next = getUniqueTuple(curr, range, manip, taken);
  if (!tupleEqual(next, curr)) {
    const reply = invertTuple(next);
    if (!reply) return false;
    ct.tuples[1] = reply;
    ct.status |= manip === MANIP_SRC ? IPS.SRC_NAT : IPS.DST_NAT;
  }
  ct.status |= manip === MANIP_SRC ? IPS.SRC_NAT_DONE : IPS.DST_NAT_DONE;
  return true;
}

/** nf_nat_alloc_null_binding(): a binding that keeps the address (the port may still move). */
// kernel: nf_nat_alloc_null_binding(), __nf_nat_alloc_null_binding()
function nullBinding(ct: Conn, manip: number, taken: (reply: CtTuple) => boolean): Verdict {
  const addr = manip === MANIP_SRC ? ct.tuples[1].dst : ct.tuples[1].src;
  const full = Buffer.alloc(16);
  addr.copy(full);
  return natSetupInfo(ct, { flags: NF_NAT_RANGE.MAP_IPS, minAddr: full, maxAddr: full, minProto: 0, maxProto: 0 }, manip, taken);
}

const initialized = (ct: Conn, manip: number): boolean =>
  (ct.status & (manip === MANIP_SRC ? IPS.SRC_NAT_DONE : IPS.DST_NAT_DONE)) !== 0;

/** The packet being NATed: its frame, where its IP and L4 headers are. */
export interface NatPkt {
  buf: Buffer;
  l3: number;
  l4: number;
  /** The L4 protocol of the packet itself (ICMP for an ICMP error). */
  proto: number;
}

// kernel: nf_ct_nat_execute()
function natExecute(p: NatPkt, ct: Conn, ctinfo: number, range: NatRange | undefined, manip: number,
  taken: (reply: CtTuple) => boolean): Verdict {
  if (ctinfo === CTINFO.RELATED || ctinfo === CTINFO.RELATED_REPLY) {
    const icmp = ct.tuples[0].family === NFPROTO.IPV6 ? PROTO.ICMPV6 : PROTO.ICMP;
    if (p.proto === icmp) return icmpReplyTranslation(p.buf, p.l3, p.l4, ct, ctinfo, manip);
  }
  if (ctinfo === CTINFO.RELATED || ctinfo === CTINFO.RELATED_REPLY || ctinfo === CTINFO.NEW) {
    if (!initialized(ct, manip)) {
      const ok = range && range.flags & NF_NAT_RANGE.MAP_IPS ? natSetupInfo(ct, range, manip, taken) : nullBinding(ct, manip, taken);
      if (!ok) return false;
    }
  } else if (ctinfo !== CTINFO.ESTABLISHED && ctinfo !== CTINFO.ESTABLISHED_REPLY) {
    return false;
  }
  return natPacket(p.buf, p.l3, ct, ctinfo, manip);
}

/**
 * ctNat is nf_ct_nat() for an OVS ct action: which side to translate (a new binding from the
 * action's range, or the established connection's), then the packet rewritten. Returns the
 * NF_NAT_MANIP_* sides that were processed (bit per side), or undefined for NF_DROP.
 */
// kernel: nf_ct_nat()
export function ctNat(p: NatPkt, ct: Conn, ctinfo: number, info: CtActionInfo, taken: (reply: CtTuple) => boolean): number | undefined {
  let want = 0;
  if (info.nat & OVS_CT_NAT.SRC) want |= 1 << MANIP_SRC;
  if (info.nat & OVS_CT_NAT.DST) want |= 1 << MANIP_DST;
  let manip: number;
  if (ctinfo !== CTINFO.NEW && ct.status & IPS_NAT_MASK && (ctinfo !== CTINFO.RELATED || info.commit)) {
    // NAT an established or related connection like before.
    const src = (ct.status & IPS.SRC_NAT) !== 0;
    manip = ctinfo2dir(ctinfo) ? (src ? MANIP_DST : MANIP_SRC) : (src ? MANIP_SRC : MANIP_DST);
  } else if (want & (1 << MANIP_SRC)) {
    manip = MANIP_SRC;
  } else if (want & (1 << MANIP_DST)) {
    manip = MANIP_DST;
  } else {
    return 0;
  }
  let done = 0;
  if (!natExecute(p, ct, ctinfo, info.range, manip, taken)) return undefined;
  done |= 1 << manip;
  if (ct.status & IPS.DST_NAT) {
    if (ct.status & IPS.SRC_NAT) {
      const other = manip === MANIP_SRC ? MANIP_DST : MANIP_SRC;
      if (!natExecute(p, ct, ctinfo, info.range, other, taken)) return undefined;
      done |= 1 << other;
    } else if (ctinfo2dir(ctinfo) === 0) {
      if (!natExecute(p, ct, ctinfo, undefined, MANIP_SRC, taken)) return undefined;
      done |= 1 << MANIP_SRC;
    }
  }
  return done;
}
