/**
 * A tracked connection (struct nf_conn) of the emulator's connection tracker and the constants
 * around it: ip_conntrack_info, ip_conntrack_status bits (uapi nf_conntrack_common.h) and the
 * OVS ct_state bits (uapi openvswitch.h OVS_CS_F_*).
 */
import type { CtTuple } from './conntrack-tuple';

/** enum ip_conntrack_info. */
export const CTINFO = {
  ESTABLISHED: 0,
  RELATED: 1,
  NEW: 2,
  IS_REPLY: 3,
  ESTABLISHED_REPLY: 3,
  RELATED_REPLY: 4,
  UNTRACKED: 7,
} as const;

/** CTINFO2DIR(): 0 original, 1 reply. */
export const ctinfo2dir = (ctinfo: number): number => (ctinfo >= CTINFO.IS_REPLY ? 1 : 0);

/** enum ip_conntrack_status bits. */
export const IPS = {
  EXPECTED: 1 << 0,
  SEEN_REPLY: 1 << 1,
  ASSURED: 1 << 2,
  CONFIRMED: 1 << 3,
  SRC_NAT: 1 << 4,
  DST_NAT: 1 << 5,
  SRC_NAT_DONE: 1 << 7,
  DST_NAT_DONE: 1 << 8,
} as const;
export const IPS_NAT_MASK = IPS.SRC_NAT | IPS.DST_NAT;

/** OVS_CS_F_* (uapi/linux/openvswitch.h). */
export const OVS_CS_F = {
  NEW: 0x01,
  ESTABLISHED: 0x02,
  RELATED: 0x04,
  REPLY_DIR: 0x08,
  INVALID: 0x10,
  TRACKED: 0x20,
  SRC_NAT: 0x40,
  DST_NAT: 0x80,
} as const;
export const OVS_CS_F_NAT_MASK = OVS_CS_F.SRC_NAT | OVS_CS_F.DST_NAT;

/** enum nf_nat_manip_type. */
export const MANIP_SRC = 0;
export const MANIP_DST = 1;

/** enum tcp_conntrack states (sNO … sS2). */
export const TCP_CT = { NONE: 0, SYN_SENT: 1, SYN_RECV: 2, ESTABLISHED: 3, FIN_WAIT: 4, CLOSE_WAIT: 5, LAST_ACK: 6, TIME_WAIT: 7, CLOSE: 8, SYN_SENT2: 9 } as const;

/** Conn is struct nf_conn: both directions' tuples, status, marks and protocol state. */
export interface Conn {
  zone: number;
  /** tuplehash[IP_CT_DIR_ORIGINAL], tuplehash[IP_CT_DIR_REPLY] (the reply one NAT-adjusted). */
  tuples: [CtTuple, CtTuple];
  /** IPS_* bits. */
  status: number;
  mark: number;
  /** The 16 label bytes, once the labels extension exists. */
  labels?: Buffer;
  /** Monotonic ms after which the connection is gone. */
  expires: number;
  /** TCP state (TCP_CT), for TCP connections. */
  tcpState: number;
  /** The master of an expected (related) connection; helpers are not run, so always unset. */
  master?: Conn;
  /** Attributes a committing ct action attached (reported, not acted upon). */
  helper?: string;
  eventmask?: number;
  timeoutPolicy?: string;
}

/** SkbCt is skb->_nfct: the connection and the packet's ctinfo, or untracked. */
export interface SkbCt {
  kind: 'nfct';
  conn: Conn | null;
  ctinfo: number;
}

/** skbCt is nf_ct_get(): the skb's conntrack reference, if it carries one. */
export function skbCt(v: unknown): SkbCt | undefined {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'nfct' ? (v as SkbCt) : undefined;
}

export const isConfirmed = (c: Conn): boolean => (c.status & IPS.CONFIRMED) !== 0;
