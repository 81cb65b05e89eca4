/**
 * Netlink core constants from the uapi headers <linux/netlink.h> and <linux/genetlink.h>.
 * These belong to the socket layer rather than to any family, so they live here instead of
 * in netlink-schemas/.
 */

/** Byte sizes of the fixed headers. */
export const NLMSG_HDRLEN = 16; // sizeof(struct nlmsghdr)
export const GENL_HDRLEN = 4; // sizeof(struct genlmsghdr)
export const NLA_HDRLEN = 4; // sizeof(struct nlattr)
export const NLMSGERR_LEN = 4 + NLMSG_HDRLEN; // struct nlmsgerr {int error; struct nlmsghdr msg}

/** nlmsghdr.nlmsg_flags */
export const NLM_F = {
  REQUEST: 0x01,
  MULTI: 0x02,
  ACK: 0x04,
  ECHO: 0x08,
  DUMP_INTR: 0x10,
  DUMP_FILTERED: 0x20,
  ROOT: 0x100,
  MATCH: 0x200,
  DUMP: 0x300,
  // NEW requests
  REPLACE: 0x100,
  EXCL: 0x200,
  CREATE: 0x400,
  APPEND: 0x800,
  // ACK flags
  CAPPED: 0x100,
  ACK_TLVS: 0x200,
} as const;

/** Reserved message types; families start at NLMSG_MIN_TYPE. */
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;
export const NLMSG_MIN_TYPE = 0x10;

/** nlattr.nla_type flag bits and the mask that strips them (NLA_TYPE_MASK). */
export const NLA_F_NESTED = 1 << 15;
export const NLA_F_NET_BYTEORDER = 1 << 14;
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

/** enum nlmsgerr_attrs: extended ACK TLVs. */
export const NLMSGERR_ATTR = { MSG: 1, OFFS: 2, COOKIE: 3, POLICY: 4, MISS_TYPE: 5, MISS_NEST: 6 } as const;

/** enum netlink_policy_type_attr: policy description inside NLMSGERR_ATTR_POLICY. */
export const NL_POLICY_TYPE_ATTR = {
  TYPE: 1,
  MIN_VALUE_S: 2,
  MAX_VALUE_S: 3,
  MIN_VALUE_U: 4,
  MAX_VALUE_U: 5,
  MIN_LENGTH: 6,
  MAX_LENGTH: 7,
  POLICY_IDX: 8,
  POLICY_MAXTYPE: 9,
  BITFIELD32_MASK: 10,
  PAD: 11,
  MASK: 12,
} as const;

/** enum netlink_attribute_type (NL_ATTR_TYPE_*). */
export const NL_ATTR_TYPE = {
  INVALID: 0,
  FLAG: 1,
  U8: 2,
  U16: 3,
  U32: 4,
  U64: 5,
  S8: 6,
  S16: 7,
  S32: 8,
  S64: 9,
  BINARY: 10,
  STRING: 11,
  NUL_STRING: 12,
  NESTED: 13,
  NESTED_ARRAY: 14,
  BITFIELD32: 15,
} as const;

/** Socket options at SOL_NETLINK. */
export const SOL_NETLINK = 270;
export const NETLINK_OPT = {
  ADD_MEMBERSHIP: 1,
  DROP_MEMBERSHIP: 2,
  PKTINFO: 3,
  BROADCAST_ERROR: 4,
  NO_ENOBUFS: 5,
  LISTEN_ALL_NSID: 8,
  LIST_MEMBERSHIPS: 9,
  CAP_ACK: 10,
  EXT_ACK: 11,
  GET_STRICT_CHK: 12,
} as const;

export const NETLINK_GENERIC = 16;

/** Netlink protocol numbers (uapi NETLINK_*) by name, for captures that hold several. */
export const NETLINK_PROTOCOL_NAMES: Readonly<Record<number, string>> = {
  0: 'route', 2: 'usersock', 4: 'sock_diag', 5: 'nflog', 6: 'xfrm', 7: 'selinux', 8: 'iscsi', 9: 'audit',
  10: 'fib_lookup', 11: 'connector', 12: 'netfilter', 15: 'kobject_uevent', 16: 'generic', 18: 'scsitransport',
  19: 'ecryptfs', 20: 'rdma', 21: 'crypto', 22: 'smc',
};

/** genl op flags as nlctrl reports them (GENL_*). */
export const GENL_FLAG = {
  ADMIN_PERM: 0x01,
  CMD_CAP_DO: 0x02,
  CMD_CAP_DUMP: 0x04,
  CMD_CAP_HASPOL: 0x08,
  UNS_ADMIN_PERM: 0x10,
} as const;

/** NLMSG_GOODSIZE-ish dump chunk: the kernel fills one skb of max_recvmsg_len (≤ 32 KiB) per dump round. */
export const DUMP_CHUNK_BYTES = 32768 - 320;

/** nlmsg_align / nla_align: round up to 4. */
export function align4(n: number): number {
  return (n + 3) & ~3;
}
