import { Errno } from '../nl/errno';
import { IPPROTO } from './net-consts';

/** Netfilter protocol families of a ct action (uapi/linux/netfilter.h). */
export const NFPROTO = { UNSPEC: 0, IPV4: 2, IPV6: 10 } as const;

/** One registered conntrack helper (struct nf_conntrack_helper: name, tuple l3num and protonum). */
interface HelperEntry {
  name: string;
  /** NFPROTO_* the helper registered for; UNSPEC matches every family (H.245). */
  families: readonly number[];
  proto: number;
  /** A NAT counterpart is registered (NF_CT_NAT_HELPER_INIT in nf_nat_<name>). */
  nat: boolean;
}

const V4 = [NFPROTO.IPV4];
const V46 = [NFPROTO.IPV4, NFPROTO.IPV6];
const ANY = [NFPROTO.UNSPEC];

/**
 * The helpers Debian's Linux 6.12 builds as modules (CONFIG_NF_CONNTRACK_{AMANDA,FTP,H323,IRC,
 * NETBIOS_NS,SNMP,PPTP,SANE,SIP,TFTP}=m and CONFIG_NF_NAT_SNMP_BASIC=m), loaded on demand by
 * request_module("nfct-helper-<name>"), with the default ports (so the plain names). NAT helpers
 * exist for amanda, ftp, irc, sip and tftp only.
 */
const HELPERS: readonly HelperEntry[] = [
  { name: 'ftp', families: V46, proto: IPPROTO.TCP, nat: true },
  { name: 'tftp', families: V46, proto: IPPROTO.UDP, nat: true },
  { name: 'sip', families: V46, proto: IPPROTO.UDP, nat: true },
  { name: 'sip', families: V46, proto: IPPROTO.TCP, nat: true },
  { name: 'irc', families: V4, proto: IPPROTO.TCP, nat: true },
  { name: 'amanda', families: V46, proto: IPPROTO.UDP, nat: true },
  { name: 'Q.931', families: V46, proto: IPPROTO.TCP, nat: false },
  { name: 'RAS', families: V46, proto: IPPROTO.UDP, nat: false },
  { name: 'H.245', families: ANY, proto: IPPROTO.UDP, nat: false },
  { name: 'pptp', families: V4, proto: IPPROTO.TCP, nat: false },
  { name: 'snmp', families: V4, proto: IPPROTO.UDP, nat: false },
  { name: 'snmp_trap', families: V4, proto: IPPROTO.UDP, nat: false },
  { name: 'netbios-ns', families: V4, proto: IPPROTO.UDP, nat: false },
  { name: 'sane', families: V46, proto: IPPROTO.TCP, nat: false },
];

/**
 * ctHelperErrno is nf_ct_add_helper(): 0 when a helper `name` exists for the flow's family and
 * IP protocol, EINVAL when none does (nf_conntrack_helper_try_module_get() finds nothing), and
 * ENOENT when the action also NATs and the helper has no NAT module
 * (nf_nat_helper_try_module_get()).
 */
// kernel: nf_ct_add_helper() (net/netfilter/nf_conntrack_ovs.c), __nf_conntrack_helper_find()
export function ctHelperErrno(name: string, family: number, proto: number, nat: boolean): number {
  const h = HELPERS.find((e) => e.name === name && e.proto === proto &&
    (e.families.includes(NFPROTO.UNSPEC) || e.families.includes(family)));
  if (!h) return Errno.EINVAL;
  if (nat && !h.nat) return Errno.ENOENT;
  return 0;
}
