import { GENL_HDRLEN, NLMSG_HDRLEN, align4 } from './constants';

/** NlMessage is one nlmsghdr-framed message inside a datagram. */
export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** The whole message (header included), nlmsg_len bytes. */
  bytes: Buffer;
}

/**
 * splitDatagram yields the messages of a request datagram the way netlink_rcv_skb() walks an
 * skb: it stops silently at a header shorter than NLMSG_HDRLEN or a length that overruns the
 * datagram, and steps by NLMSG_ALIGN(nlmsg_len).
 */
export function* splitDatagram(dgram: Buffer): Generator<NlMessage> {
  let off = 0;
  while (dgram.length - off >= NLMSG_HDRLEN) {
    const len = dgram.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || len > dgram.length - off) return;
    yield {
      type: dgram.readUInt16LE(off + 4),
      flags: dgram.readUInt16LE(off + 6),
      seq: dgram.readUInt32LE(off + 8),
      pid: dgram.readUInt32LE(off + 12),
      bytes: dgram.subarray(off, off + len),
    };
    off += Math.min(align4(len), dgram.length - off);
  }
}

/** GenlHeader is struct genlmsghdr. */
export interface GenlHeader {
  cmd: number;
  version: number;
  reserved: number;
}

/** readGenlHeader reads the genl header of a message known to be long enough. */
export function readGenlHeader(msg: NlMessage): GenlHeader {
  const b = msg.bytes;
  return {
    cmd: b.readUInt8(NLMSG_HDRLEN),
    version: b.readUInt8(NLMSG_HDRLEN + 1),
    reserved: b.readUInt16LE(NLMSG_HDRLEN + 2),
  };
}

/** genlPayloadOffset is where the family's fixed header starts in a genl message. */
export const GENL_PAYLOAD_OFFSET = NLMSG_HDRLEN + GENL_HDRLEN;
