import { CSUM_MANGLED_0, ipv4HeaderChecksum, l4Checksum } from './checksum';
import type { Skb } from './skb';

/** VIRTIO_NET_HDR_GSO_* (the GSO types a netdev port's packet socket reports). */
export const GSO = { TCPV4: 1, UDP: 3, TCPV6: 4, UDP_L4: 5, ECN: 0x80 } as const;

const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const TCP_FIN = 0x01;
const TCP_PSH = 0x08;
const TCP_CWR = 0x80;

/**
 * skbGsoSegment is __skb_gso_segment() (tcp_gso_segment(), __udp_gso_segment() under
 * inet_gso_segment()/ipv6_gso_segment()) for a super-packet a netdev port received: one packet
 * per `gso.size` bytes of payload, each with a copy of the headers, IPv4 total length and id
 * (incremented per segment) or IPv6 payload length, TCP sequence number (FIN and PSH only on
 * the last segment, CWR only on the first) or UDP length, and complete checksums. The kernel
 * segments a GSO packet before it queues it to userspace (queue_gso_packets()).
 * Returns undefined when the packet is not one of those (legacy UFO, headers not where key
 * extraction left them): the caller then handles it whole.
 */
// kernel: queue_gso_packets() → __skb_gso_segment()
export function skbGsoSegment(skb: Skb): Skb[] | undefined {
  const gso = skb.gso;
  if (!gso) return [skb];
  const type = gso.type & ~GSO.ECN;
  const d = skb.data;
  const nh = skb.networkHeader;
  const th = skb.transportHeader;
  if (nh < 0 || th <= nh || th + 8 > d.length || !gso.size) return undefined;
  const v4 = d[nh] >> 4 === 4;
  const proto = v4 ? d[nh + 9] : IPPROTO_TCP;
  const tcp = (type === GSO.TCPV4 && v4 && proto === IPPROTO_TCP) || (type === GSO.TCPV6 && !v4);
  const udp = type === GSO.UDP_L4 && (!v4 || proto === IPPROTO_UDP);
  if (!tcp && !udp) return undefined;
  const l4len = tcp ? (d[th + 12] >> 4) * 4 : 8;
  const hdrLen = th + l4len;
  if (hdrLen > d.length) return undefined;
  const payload = d.length - hdrLen;
  const n = Math.max(1, Math.ceil(payload / gso.size));
  const [src, dst] = v4 ? [d.subarray(nh + 12, nh + 16), d.subarray(nh + 16, nh + 20)] : [d.subarray(nh + 8, nh + 24), d.subarray(nh + 24, nh + 40)];
  const id0 = v4 ? d.readUInt16BE(nh + 4) : 0;
  const seq0 = tcp ? d.readUInt32BE(th + 4) : 0;
  const segs: Skb[] = [];
  for (let i = 0; i < n; i++) {
    const chunk = d.subarray(hdrLen + i * gso.size, Math.min(d.length, hdrLen + (i + 1) * gso.size));
    const seg = skb.clone();
    seg.gso = undefined;
    const b = Buffer.concat([d.subarray(0, hdrLen), chunk]);
    seg.data = b;
    if (v4) {
      b.writeUInt16BE(b.length - nh, nh + 2);
      b.writeUInt16BE((id0 + i) & 0xffff, nh + 4);
      b.writeUInt16BE(ipv4HeaderChecksum(b, nh), nh + 10);
    } else {
      b.writeUInt16BE(b.length - nh - 40, nh + 4);
    }
    if (tcp) {
      b.writeUInt32BE((seq0 + i * gso.size) >>> 0, th + 4);
      let flags = d[th + 13];
      if (i < n - 1) flags &= ~(TCP_FIN | TCP_PSH);
      if (i > 0) flags &= ~TCP_CWR;
      b[th + 13] = flags;
      b.writeUInt16BE(l4Checksum(b, th, 16, IPPROTO_TCP, src, dst), th + 16);
    } else {
      b.writeUInt16BE(b.length - th, th + 4);
      const c = l4Checksum(b, th, 6, IPPROTO_UDP, src, dst);
      b.writeUInt16BE(c === 0 ? CSUM_MANGLED_0 : c, th + 6);
    }
    segs.push(seg);
  }
  return segs;
}
