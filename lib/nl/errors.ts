import { errnoName } from './errno';

/**
 * Extack is the extended ACK the kernel attaches to a reply (struct netlink_ext_ack): a message,
 * the offending attribute's offset from the start of the request's nlmsghdr, the policy that
 * rejected it, and missing-attribute hints.
 */
export interface Extack {
  msg?: string;
  /** Offset of the bad attribute from the request's nlmsghdr (NLMSGERR_ATTR_OFFS). */
  offset?: number;
  /** The policy entry that rejected the attribute (NLMSGERR_ATTR_POLICY). */
  policy?: PolicyDescription;
  missType?: number;
  missNestOffset?: number;
}

/** PolicyDescription is what netlink_policy_dump_write_attr() reports about one nla_policy. */
export interface PolicyDescription {
  /** NL_ATTR_TYPE_* value, or undefined for NLA_UNSPEC (nothing is written). */
  nlAttrType?: number;
  minU?: bigint;
  maxU?: bigint;
  minS?: bigint;
  maxS?: bigint;
  minLength?: number;
  maxLength?: number;
}

/**
 * NlError is the only error that leaves the codec and the handlers: a positive errno plus the
 * extack the kernel would attach. The dispatcher turns it into NLMSG_ERROR.
 */
export class NlError extends Error {
  readonly errno: number;
  readonly extack: Extack;

  constructor(errno: number, extack: Extack = {}) {
    super(`${errnoName(errno)}${extack.msg ? `: ${extack.msg}` : ''}`);
    Object.setPrototypeOf(this, NlError.prototype);
    this.name = 'NlError';
    this.errno = errno;
    this.extack = extack;
  }
}

/** nlError is shorthand for `new NlError(errno, {msg})`. */
export function nlError(errno: number, msg?: string): NlError {
  return new NlError(errno, msg === undefined ? {} : { msg });
}
