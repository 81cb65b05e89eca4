/**
 * Test support for action execution: frame builders whose checksums come from a plain RFC 1071
 * routine and a bitwise CRC32c written here (independent of lib/ovs/checksum.ts), a recording
 * ExecEnv, and stored actions built through the real validator (ovsNlaCopyActions) from
 * attributes written by schema name.
 */
import { ActionExecState, type ExecEnv, type PsampleInfo, type UpcallInfo } from '../../../lib/ovs/actions-env';
import { ovsExecuteActions } from '../../../lib/ovs/actions';
import { ConnTracker } from '../../../lib/ovs/conntrack-exec';
import { actionKeyViewOf } from '../../../lib/ovs/flow-action-key';
import { newSwFlowKey } from '../../../lib/ovs/flow-key';
import { ovsFlowKeyExtract } from '../../../lib/ovs/flow';
import { ovsNlaCopyActions, type FlowActions } from '../../../lib/ovs/flow-netlink-actions';
import { Skb } from '../../../lib/ovs/skb';
import { vlanHwaccelPushInside } from '../../../lib/ovs/skb-edit';
import { acts, ip4, ip6, mac, type Tlv } from './odp-build';

export { ip4, ip6, mac };

/** rfc1071 is the Internet checksum of the concatenated buffers, computed the textbook way. */
export function rfc1071(...parts: Buffer[]): number {
  const b = Buffer.concat(parts);
  let sum = 0;
  for (let i = 0; i < b.length; i += 2) sum += (b[i] << 8) + (i + 1 < b.length ? b[i + 1] : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** crc32cBitwise is CRC32c (Castagnoli) bit by bit, as RFC 3309 describes it. */
export function crc32cBitwise(b: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of b) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ~crc >>> 0;
}

const u16be = (v: number): Buffer => { const b = Buffer.alloc(2); b.writeUInt16BE(v); return b; };
const u32be = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0); return b; };

export const MAC_A = '00:00:00:00:00:0a';
export const MAC_B = '00:00:00:00:00:0b';

export function eth(type: number, dst = MAC_B, src = MAC_A): Buffer {
  return Buffer.concat([mac(dst), mac(src), u16be(type)]);
}

export interface Ip4Opts { src: string; dst: string; proto: number; ttl?: number; tos?: number; id?: number; frag?: number }

export function ipv4(o: Ip4Opts, payload: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h[1] = o.tos ?? 0;
  h.writeUInt16BE(20 + payload.length, 2);
  h.writeUInt16BE(o.id ?? 0x1234, 4);
  h.writeUInt16BE(o.frag ?? 0x4000, 6);
  h[8] = o.ttl ?? 64;
  h[9] = o.proto;
  ip4(o.src).copy(h, 12);
  ip4(o.dst).copy(h, 16);
  h.writeUInt16BE(rfc1071(h), 10);
  return Buffer.concat([h, payload]);
}

export interface Ip6Opts { src: string; dst: string; nh: number; hlim?: number; tclass?: number; label?: number; ext?: Buffer }

export function ipv6(o: Ip6Opts, payload: Buffer): Buffer {
  const h = Buffer.alloc(40);
  h.writeUInt32BE(((6 << 28) | ((o.tclass ?? 0) << 20) | (o.label ?? 0)) >>> 0, 0);
  const ext = o.ext ?? Buffer.alloc(0);
  h.writeUInt16BE(ext.length + payload.length, 4);
  h[6] = o.nh;
  h[7] = o.hlim ?? 64;
  ip6(o.src).copy(h, 8);
  ip6(o.dst).copy(h, 24);
  return Buffer.concat([h, ext, payload]);
}

/** Pseudo-headers of RFC 793 / RFC 8200. */
const pseudo4 = (src: string, dst: string, proto: number, len: number): Buffer =>
  Buffer.concat([ip4(src), ip4(dst), Buffer.of(0, proto), u16be(len)]);
const pseudo6 = (src: string, dst: string, proto: number, len: number): Buffer =>
  Buffer.concat([ip6(src), ip6(dst), u32be(len), Buffer.of(0, 0, 0, proto)]);

export interface L4Addr { src: string; dst: string; v6?: boolean }

const pseudo = (a: L4Addr, proto: number, len: number): Buffer =>
  (a.v6 ? pseudo6 : pseudo4)(a.src, a.dst, proto, len);

export function tcp(a: L4Addr, sport: number, dport: number, flags: number, payload: Buffer = Buffer.alloc(0), seq = 1000, ack = 0): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt32BE(seq, 4);
  h.writeUInt32BE(ack, 8);
  h[12] = 5 << 4;
  h[13] = flags;
  h.writeUInt16BE(8192, 14);
  const seg = Buffer.concat([h, payload]);
  seg.writeUInt16BE(rfc1071(pseudo(a, 6, seg.length), seg), 16);
  return seg;
}

export function udp(a: L4Addr, sport: number, dport: number, payload: Buffer = Buffer.from('hello'), withCsum = true): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt16BE(8 + payload.length, 4);
  const d = Buffer.concat([h, payload]);
  if (withCsum) d.writeUInt16BE(rfc1071(pseudo(a, 17, d.length), d) || 0xffff, 6);
  return d;
}

export function icmp(type: number, code: number, rest: Buffer, body: Buffer = Buffer.alloc(0)): Buffer {
  const d = Buffer.concat([Buffer.of(type, code, 0, 0), rest, body]);
  d.writeUInt16BE(rfc1071(d), 2);
  return d;
}

export const icmpEcho = (type: number, id: number, seq = 1): Buffer => icmp(type, 0, Buffer.concat([u16be(id), u16be(seq)]), Buffer.from('ping'));

export function icmp6(a: L4Addr, type: number, code: number, rest: Buffer, body: Buffer = Buffer.alloc(0)): Buffer {
  const d = Buffer.concat([Buffer.of(type, code, 0, 0), rest, body]);
  d.writeUInt16BE(rfc1071(pseudo({ ...a, v6: true }, 58, d.length), d), 2);
  return d;
}

export function sctp(sport: number, dport: number, chunk: Buffer = Buffer.from('0001000800000000', 'hex')): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt32BE(0xdeadbeef, 4);
  const d = Buffer.concat([h, chunk]);
  d.writeUInt32LE(crc32cBitwise(d), 8);
  return d;
}

/** TCP flag bits. */
export const F = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16 } as const;

/** Ethernet + IPv4 frames. */
export const tcp4 = (src: string, dst: string, sport: number, dport: number, flags: number, ip: Partial<Ip4Opts> = {}, payload?: Buffer): Buffer =>
  Buffer.concat([eth(0x0800), ipv4({ src, dst, proto: 6, ...ip }, tcp({ src, dst }, sport, dport, flags, payload))]);
export const udp4 = (src: string, dst: string, sport: number, dport: number, ip: Partial<Ip4Opts> = {}, csum = true): Buffer =>
  Buffer.concat([eth(0x0800), ipv4({ src, dst, proto: 17, ...ip }, udp({ src, dst }, sport, dport, undefined, csum))]);
export const icmp4 = (src: string, dst: string, msg: Buffer, ip: Partial<Ip4Opts> = {}): Buffer =>
  Buffer.concat([eth(0x0800), ipv4({ src, dst, proto: 1, ...ip }, msg)]);

/** Packet is a prepared skb and its extracted key. */
export interface Packet {
  skb: Skb;
  key: Buffer;
}

/** prep extracts the key of a frame received on `inPort`, as ovs_vport_receive() does. */
export function prep(frame: Buffer, inPort = 1): Packet {
  const skb = new Skb(Buffer.from(frame));
  skb.inputPort = inPort;
  const key = newSwFlowKey();
  const err = ovsFlowKeyExtract(skb, key, { inPort });
  if (err) throw new Error(`key extraction failed: ${err}`);
  return { skb, key };
}

/** stored validates `items` (action-attrs, by name) against the packet's key. */
export function stored(key: Buffer, items: Tlv[]): FlowActions {
  const payload = acts(items);
  return ovsNlaCopyActions({ type: 2, rawType: 2, offset: 0, payload }, actionKeyViewOf(key), { log: false });
}

export interface Sent {
  port: number;
  /** The frame as the device would put it on the wire (accelerated tag written in-band). */
  wire: Buffer;
  skb: Skb;
  macProto: number;
}

/** TestEnv records everything the actions hand out. */
export class TestEnv implements ExecEnv {
  sent: Sent[] = [];
  upcalls: { skb: Skb; key: Buffer; info: UpcallInfo; data: Buffer }[] = [];
  drops: { reason: number; data: Buffer }[] = [];
  recircs: { key: Buffer; data: Buffer }[] = [];
  psamples: PsampleInfo[] = [];
  logs: string[] = [];
  readonly state = new ActionExecState();
  clock = 1_000_000;
  randomValue = 0;
  dropMeters = new Set<number>();
  meters: number[] = [];
  conntrack: ConnTracker;
  /** What a recirculated packet runs (undefined: just record it). */
  onRecirc?: (skb: Skb, key: Buffer) => void;
  upcallErrno = 0;
  skbHash?: { get(skb: Skb): number; symmetric(skb: Skb): number };
  upcallPortid?: (skb: Skb, pid: number) => number | undefined;

  constructor(conntrack?: ConnTracker) {
    this.conntrack = conntrack ?? new ConnTracker({ now: () => this.clock });
  }

  output(port: number, skb: Skb, macProto: number): void {
    const wire = skb.clone();
    vlanHwaccelPushInside(wire);
    this.sent.push({ port, wire: wire.data, skb, macProto });
  }
  upcall(skb: Skb, key: Buffer, info: UpcallInfo): number {
    this.upcalls.push({ skb, key: Buffer.from(key), info, data: Buffer.from(skb.data.subarray(0, Math.min(skb.len, info.cutlen))) });
    return this.upcallErrno;
  }
  recirc(skb: Skb, key: Buffer): void {
    this.recircs.push({ key: Buffer.from(key), data: Buffer.from(skb.data) });
    this.onRecirc?.(skb, key);
  }
  meter(id: number): boolean {
    this.meters.push(id);
    return this.dropMeters.has(id);
  }
  random(): number {
    return this.randomValue;
  }
  now(): number {
    return this.clock;
  }
  log(msg: string): void {
    this.logs.push(msg);
  }
  drop(skb: Skb, reason: number): void {
    this.drops.push({ reason, data: Buffer.from(skb.data) });
  }
  psample(_skb: Skb, info: PsampleInfo): void {
    this.psamples.push(info);
  }

  /** run executes `items` on the packet. */
  run(p: Packet, items: Tlv[]): number {
    return ovsExecuteActions(this, p.skb, stored(p.key, items), p.key);
  }
}

/** hexOf shows a frame as hex (for readable failures). */
export const hexOf = (b: Buffer): string => b.toString('hex');
