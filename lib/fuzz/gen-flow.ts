/**
 * Flow keys, masks and action lists consistent enough for the emulator to accept them often:
 * an EtherType matching the L3 attribute, an L4 attribute matching the IP protocol, VLAN
 * encapsulation, MPLS stacks, tunnel and conntrack metadata, then actions that fit the key.
 * Attribute numbers and struct layouts come from the ovs_flow schema.
 */
import type { AttrSet, FamilySpec } from '../schema/model';
import { encodeStruct, type StructValue } from '../schema/struct';
import { ETH_P, IPPROTO, NDISC, VLAN_CFI_MASK } from '../ovs/net-consts';
import { genAttr, structBytes, writeScalar, type GenContext } from './gen-attrs';
import type { Rng } from './prng';
import type { GenAttr } from './wire';

/** FlowEnv is the state the flow generators draw from. */
export interface FlowEnv {
  ctx: GenContext;
  /** Existing port numbers of the target datapath (plus a few that do not exist). */
  ports: readonly number[];
  /** The requester's port id (userspace action pid). */
  pid: number;
  meterIds: readonly number[];
}

/** GenKey is a key with what the action generator needs to know about it. */
export interface GenKey {
  attrs: GenAttr[];
  ethType: number;
  ipProto: number;
}

class Sets {
  readonly key: AttrSet;
  readonly tun: AttrSet;
  readonly act: AttrSet;
  constructor(readonly fam: FamilySpec) {
    this.key = fam.set('key-attrs');
    this.tun = fam.set('tunnel-key-attrs');
    this.act = fam.set('action-attrs');
  }
  k(name: string, payload?: Buffer, nested?: GenAttr[]): GenAttr {
    return at(this.key, name, payload, nested);
  }
  a(name: string, payload?: Buffer, nested?: GenAttr[]): GenAttr {
    return at(this.act, name, payload, nested);
  }
  st(name: string, v: Partial<StructValue>): Buffer {
    return encodeStruct(this.fam.struct(name), v);
  }
}

const setsCache = new WeakMap<FamilySpec, Sets>();
function sets(fam: FamilySpec): Sets {
  let s = setsCache.get(fam);
  if (!s) setsCache.set(fam, (s = new Sets(fam)));
  return s;
}

/** at builds an attribute of `set` by name. */
export function at(set: AttrSet, name: string, payload?: Buffer, nested?: GenAttr[]): GenAttr {
  const spec = set.byName.get(name);
  if (!spec) throw new Error(`fuzz: ${set.name} has no ${name}`);
  return nested ? { type: spec.type, nested } : { type: spec.type, payload: payload ?? Buffer.alloc(0) };
}

const u32 = (v: number): Buffer => writeScalar('u32', BigInt(v >>> 0), false);
const u16 = (v: number): Buffer => writeScalar('u16', BigInt(v & 0xffff), false);
const be16 = (v: number): Buffer => writeScalar('u16', BigInt(v & 0xffff), true);
const be32 = (v: number): Buffer => writeScalar('u32', BigInt(v >>> 0), true);

function ip4(rng: Rng): number {
  return rng.chance(0.7) ? (0x0a000000 | rng.below(4)) >>> 0 : rng.u32();
}

function l4(S: Sets, rng: Rng, proto: number, v6: boolean): GenAttr[] {
  const port = (): number => (rng.chance(0.7) ? rng.pick([53, 80, 443, 1000, 4789]) : rng.below(0x10000));
  switch (proto) {
    case IPPROTO.TCP:
      return [S.k('tcp', S.st('ovs-key-tcp', { 'tcp-src': port(), 'tcp-dst': port() })), ...(rng.chance(0.8) ? [S.k('tcp-flags', be16(rng.below(0x1000)))] : [])];
    case IPPROTO.UDP:
      return [S.k('udp', S.st('ovs-key-udp', { 'udp-src': port(), 'udp-dst': port() }))];
    case IPPROTO.SCTP:
      return [S.k('sctp', S.st('ovs-key-sctp', { 'sctp-src': port(), 'sctp-dst': port() }))];
    case IPPROTO.ICMP:
      return v6 ? [] : [S.k('icmp', S.st('ovs-key-icmp', { 'icmp-type': rng.pick([0, 8, 3]), 'icmp-code': 0 }))];
    case IPPROTO.ICMPV6: {
      const type = rng.pick([128, 129, NDISC.NEIGHBOUR_SOLICITATION, NDISC.NEIGHBOUR_ADVERTISEMENT]);
      const out = [S.k('icmpv6', S.st('ovs-key-icmpv6', { 'icmpv6-type': type, 'icmpv6-code': 0 }))];
      if (type >= NDISC.NEIGHBOUR_SOLICITATION && rng.chance(0.8)) out.push(S.k('nd', S.st('ovs-key-nd', { 'nd-target': rng.bytes(16), 'nd-sll': rng.bytes(6), 'nd-tll': rng.bytes(6) })));
      return out;
    }
    default:
      return [];
  }
}

/** l3 generates the EtherType-specific part of a key (after ethernet/ethertype). */
function l3(S: Sets, rng: Rng, ethType: number): { attrs: GenAttr[]; proto: number } {
  const frag = (): number => (rng.chance(0.9) ? 0 : rng.below(4));
  if (ethType === ETH_P.IP) {
    const proto = rng.pick([IPPROTO.TCP, IPPROTO.UDP, IPPROTO.ICMP, IPPROTO.SCTP, 47]);
    const f = frag();
    const ip = S.k('ipv4', S.st('ovs-key-ipv4', { 'ipv4-src': ip4(rng), 'ipv4-dst': ip4(rng), 'ipv4-proto': proto, 'ipv4-tos': rng.below(4) << 2, 'ipv4-ttl': 64, 'ipv4-frag': f }));
    return { attrs: [ip, ...(f === 2 ? [] : l4(S, rng, proto, false))], proto };
  }
  if (ethType === ETH_P.IPV6) {
    const proto = rng.pick([IPPROTO.TCP, IPPROTO.UDP, IPPROTO.ICMPV6, IPPROTO.SCTP]);
    const f = frag();
    const ip = S.k('ipv6', S.st('ovs-key-ipv6', { 'ipv6-src': rng.bytes(16), 'ipv6-dst': rng.bytes(16), 'ipv6-label': rng.chance(0.9) ? rng.below(0x100000) : rng.u32(), 'ipv6-proto': proto, 'ipv6-tclass': 0, 'ipv6-hlimit': 64, 'ipv6-frag': f }));
    const ext = rng.chance(0.2) ? [S.k('ipv6-exthdrs', S.st('ovs-key-ipv6-exthdrs', { hdrs: rng.below(0x200) }))] : [];
    return { attrs: [ip, ...ext, ...(f === 2 ? [] : l4(S, rng, proto, true))], proto };
  }
  if (ethType === ETH_P.ARP || ethType === ETH_P.RARP) {
    return { attrs: [S.k('arp', S.st('ovs-key-arp', { 'arp-sip': ip4(rng), 'arp-tip': ip4(rng), 'arp-op': rng.range(0, 3), 'arp-sha': rng.bytes(6), 'arp-tha': rng.bytes(6) }))], proto: 0 };
  }
  if (ethType === ETH_P.MPLS_UC || ethType === ETH_P.MPLS_MC) {
    const n = rng.range(1, 3);
    return { attrs: [S.k('mpls', Buffer.concat(Array.from({ length: n }, (_, i) => be32(((rng.below(1 << 20)) << 12) | (i === n - 1 ? 0x100 : 0) | 64))))], proto: 0 };
  }
  if (ethType === ETH_P.NSH) {
    const nsh = sets(S.fam).fam.set('nsh-key-attrs');
    const md = rng.chance(0.5) ? [at(nsh, 'md1', S.st('ovs-nsh-key-md1', { context: rng.bytes(16) }))] : [];
    return { attrs: [S.k('nsh', undefined, [at(nsh, 'base', S.st('ovs-nsh-key-base', { flags: 0, ttl: 63, mdtype: md.length ? 1 : 2, np: rng.pick([1, 2, 3]), 'path-hdr': rng.u32() })), ...md])], proto: 0 };
  }
  return { attrs: [], proto: 0 };
}

function tunnelKey(env: FlowEnv): GenAttr {
  const { rng } = env.ctx;
  const S = sets(env.ctx.family);
  const t = S.tun;
  const attrs: GenAttr[] = [at(t, 'id', writeScalar('u64', rng.u64() & 0xffffffn, true))];
  if (rng.chance(0.8)) attrs.push(at(t, 'ipv4-dst', be32(ip4(rng))), at(t, 'ipv4-src', be32(ip4(rng))));
  else attrs.push(at(t, 'ipv6-dst', rng.bytes(16)), at(t, 'ipv6-src', rng.bytes(16)));
  attrs.push(at(t, 'ttl', Buffer.of(64)));
  if (rng.chance(0.3)) attrs.push(at(t, 'dont-fragment'));
  if (rng.chance(0.3)) attrs.push(at(t, 'csum'));
  if (rng.chance(0.3)) attrs.push(at(t, 'tp-dst', be16(4789)));
  if (rng.chance(0.2)) attrs.push(at(t, 'geneve-opts', Buffer.concat([be16(0x0102), Buffer.of(0x80, 1), rng.bytes(4)])));
  else if (rng.chance(0.1)) attrs.push(at(t, 'vxlan-opts', undefined, [at(env.ctx.family.set('vxlan-ext-attrs'), 'gbp', u32(rng.below(0x10000)))]));
  return S.k('tunnel', undefined, attrs);
}

/** genKey builds a flow key; `mdOnly` keeps to metadata (EXECUTE keys). */
export function genKey(env: FlowEnv): GenKey {
  const { rng } = env.ctx;
  const S = sets(env.ctx.family);
  const attrs: GenAttr[] = [];
  if (rng.chance(0.3)) attrs.push(S.k('priority', u32(rng.below(8))));
  attrs.push(S.k('in-port', u32(rng.chance(0.9) ? rng.pick(env.ports) : rng.below(0x10000))));
  if (rng.chance(0.2)) attrs.push(S.k('skb-mark', u32(rng.below(16))));
  if (rng.chance(0.2)) attrs.push(S.k('recirc-id', u32(rng.below(8))));
  if (rng.chance(0.1)) attrs.push(S.k('dp-hash', u32(rng.u32())));
  if (rng.chance(0.15)) attrs.push(tunnelKey(env));
  if (rng.chance(0.2)) {
    const ctState = env.ctx.family.enums.get('ct-state-flags');
    attrs.push(S.k('ct-state', u32(rng.chance(0.7) ? (ctState?.get('tracked') ?? 0) | (ctState?.get('new') ?? 0) : rng.below(0x100))));
    attrs.push(S.k('ct-zone', u16(rng.below(4))), S.k('ct-mark', u32(rng.below(4))));
    if (rng.chance(0.3)) attrs.push(S.k('ct-labels', structBytes(env.ctx, env.ctx.family.struct('ovs-key-ct-labels'))));
  }
  const l2 = rng.chance(0.92);
  let ethType = rng.pick<number>([ETH_P.IP, ETH_P.IP, ETH_P.IPV6, ETH_P.ARP, ETH_P.MPLS_UC, ETH_P.P8021Q, ETH_P.NSH, 0x88cc]);
  if (l2) attrs.push(S.k('ethernet', S.st('ovs-key-ethernet', { 'eth-src': rng.bytes(6), 'eth-dst': rng.bytes(6) })));
  else if (ethType === ETH_P.P8021Q || ethType === ETH_P.NSH) ethType = ETH_P.IP;
  if (ethType === ETH_P.P8021Q) {
    const inner = rng.pick<number>([ETH_P.IP, ETH_P.IPV6, ETH_P.ARP]);
    const body = l3(S, rng, inner);
    attrs.push(S.k('ethertype', be16(ETH_P.P8021Q)), S.k('vlan', be16(VLAN_CFI_MASK | rng.below(4096))));
    attrs.push(S.k('encap', undefined, [S.k('ethertype', be16(inner)), ...body.attrs]));
    return { attrs, ethType: inner, ipProto: body.proto };
  }
  const body = l3(S, rng, ethType);
  attrs.push(S.k('ethertype', be16(ethType)), ...body.attrs);
  if (body.proto === IPPROTO.TCP && rng.chance(0.05)) attrs.push(S.k('ct-orig-tuple-ipv4', structBytes(env.ctx, env.ctx.family.struct('ovs-key-ct-tuple-ipv4'))));
  return { attrs, ethType, ipProto: body.proto };
}

/** maskOf derives a mask from a key: exact, fully wildcarded, or random bytes per attribute. */
export function maskOf(env: FlowEnv, key: GenAttr[]): GenAttr[] {
  const { rng } = env.ctx;
  const style = rng.below(4);
  const inPort = env.ctx.family.set('key-attrs').byName.get('in-port')?.type;
  const walk = (attrs: GenAttr[]): GenAttr[] => attrs.map((a) => {
    if (a.nested) return { type: a.type, nested: walk(a.nested) };
    const p = Buffer.from(a.payload ?? Buffer.alloc(0));
    // Style 3: match on the input port only, so that frames injected into it hit the flow.
    if (style === 3) p.fill(a.type === inPort ? 0xff : 0);
    else if (style === 0) p.fill(0xff);
    else if (style === 1) for (let i = 0; i < p.length; i++) p[i] = rng.chance(0.5) ? 0xff : rng.u32() & 0xff;
    else for (let i = 0; i < p.length; i++) p[i] = rng.chance(0.7) ? 0xff : 0;
    return { type: a.type, payload: p };
  });
  return walk(key);
}

function setAction(env: FlowEnv, key: GenKey, masked: boolean): GenAttr {
  const { rng } = env.ctx;
  const S = sets(env.ctx.family);
  const pool = key.attrs.filter((a) => !a.nested && rng.chance(0.5));
  const src = pool.length ? rng.pick(pool) : S.k('skb-mark', u32(rng.below(16)));
  const payload = Buffer.from(src.payload ?? Buffer.alloc(0));
  for (let i = 0; i < payload.length; i++) if (rng.chance(0.3)) payload[i] = rng.u32() & 0xff;
  if (!masked) return S.a('set', undefined, [{ type: src.type, payload }]);
  const mask = Buffer.alloc(payload.length, 0xff);
  for (let i = 0; i < payload.length; i++) if (rng.chance(0.3)) mask[i] = 0;
  for (let i = 0; i < payload.length; i++) payload[i] &= mask[i];
  return S.a('set-masked', undefined, [{ type: src.type, payload: Buffer.concat([payload, mask]) }]);
}

/** genActions builds an action list for `key`. */
export function genActions(env: FlowEnv, key: GenKey, depth = 0): GenAttr[] {
  const { rng } = env.ctx;
  const S = sets(env.ctx.family);
  const n = rng.weighted([1, 5, 3, 2, 1]);
  const out: GenAttr[] = [];
  const sub = (): GenAttr[] => (depth < 3 ? genActions(env, key, depth + 1) : [S.a('output', u32(rng.pick(env.ports)))]);
  for (let i = 0; i < n; i++) {
    const kind = rng.below(24);
    switch (kind) {
      case 0: case 1: case 2: case 3: out.push(S.a('output', u32(rng.chance(0.95) ? rng.pick(env.ports) : rng.below(0x10000)))); break;
      case 4: {
        const us = env.ctx.family.set('userspace-attrs');
        const attrs = [at(us, 'pid', u32(rng.chance(0.9) ? env.pid : rng.u32()))];
        if (rng.chance(0.5)) attrs.push(at(us, 'userdata', rng.bytes(rng.below(12))));
        if (rng.chance(0.2)) attrs.push(at(us, 'actions'));
        out.push(S.a('userspace', undefined, attrs));
        break;
      }
      case 5: out.push(setAction(env, key, false)); break;
      case 6: out.push(setAction(env, key, true)); break;
      case 7: out.push(S.a('push-vlan', S.st('ovs-action-push-vlan', { 'vlan-tpid': ETH_P.P8021Q, 'vlan-tci': VLAN_CFI_MASK | rng.below(4096) }))); break;
      case 8: out.push(S.a('pop-vlan')); break;
      case 9: {
        const ss = env.ctx.family.set('sample-attrs');
        out.push(S.a('sample', undefined, [at(ss, 'probability', u32(rng.pick([0, 0x7fffffff, 0xffffffff]))), at(ss, 'actions', undefined, sub())]));
        break;
      }
      case 10: out.push(S.a('recirc', u32(rng.below(8)))); break;
      case 11: out.push(S.a('hash', S.st('ovs-action-hash', { 'hash-alg': rng.below(2), 'hash-basis': rng.u32() }))); break;
      case 12: out.push(S.a('push-mpls', S.st('ovs-action-push-mpls', { 'mpls-lse': ((rng.below(1 << 20) << 12) | 0x140) >>> 0, 'mpls-ethertype': ETH_P.MPLS_UC }))); break;
      case 13: out.push(S.a('pop-mpls', be16(rng.pick<number>([ETH_P.IP, ETH_P.IPV6])))); break;
      case 14: out.push(S.a('trunc', S.st('ovs-action-trunc', { 'max-len': rng.range(14, 1500) }))); break;
      case 15: out.push(rng.chance(0.5) ? S.a('ct-clear') : ct(env)); break;
      case 16: out.push(ct(env)); break;
      case 17: out.push(S.a('meter', u32(env.meterIds.length && rng.chance(0.8) ? rng.pick(env.meterIds) : rng.below(4)))); break;
      case 18: out.push(S.a('clone', undefined, sub())); break;
      case 19: {
        const cs = env.ctx.family.set('check-pkt-len-attrs');
        out.push(S.a('check-pkt-len', undefined, [at(cs, 'pkt-len', u16(rng.range(1, 1500))), at(cs, 'actions-if-greater', undefined, sub()), at(cs, 'actions-if-less-equal', undefined, sub())]));
        break;
      }
      case 20: out.push(S.a('dec-ttl', undefined, [at(env.ctx.family.set('dec-ttl-attrs'), 'action', undefined, sub())])); break;
      case 21: out.push(S.a('push-eth', S.st('ovs-action-push-eth', { 'eth-src': rng.bytes(6), 'eth-dst': rng.bytes(6) }))); break;
      case 22: out.push(S.a('pop-eth')); break;
      default: {
        // Anything else the schema knows, generated generically.
        const spec = rng.pick(S.act.attrs);
        out.push(genAttr(env.ctx, S.act, spec, depth + 1));
      }
    }
  }
  if (rng.chance(0.05)) out.push(S.a('drop', u32(rng.below(3))));
  return out;
}

function ct(env: FlowEnv): GenAttr {
  const { rng } = env.ctx;
  const S = sets(env.ctx.family);
  const cs = env.ctx.family.set('ct-attrs');
  const attrs: GenAttr[] = [];
  const commit = rng.chance(0.5);
  if (commit) attrs.push(at(cs, rng.chance(0.8) ? 'commit' : 'force-commit'));
  if (rng.chance(0.6)) attrs.push(at(cs, 'zone', u16(rng.below(4))));
  if (commit && rng.chance(0.3)) attrs.push(at(cs, 'mark', S.st('ovs-ct-md-mark', { value: 1, mask: 0xff })));
  if (commit && rng.chance(0.2)) attrs.push(at(cs, 'labels', S.st('ovs-ct-md-labels', { value: Buffer.alloc(16, 1), mask: Buffer.alloc(16, 0xff) })));
  if (rng.chance(0.3)) {
    const ns = env.ctx.family.set('nat-attrs');
    const nat: GenAttr[] = [];
    if (rng.chance(0.8)) nat.push(at(ns, rng.chance(0.5) ? 'src' : 'dst'));
    if (rng.chance(0.6)) nat.push(at(ns, 'ip-min', rng.bytes(rng.chance(0.8) ? 4 : 16)));
    if (rng.chance(0.4)) nat.push(at(ns, 'proto-min', u16(1000)), at(ns, 'proto-max', u16(2000)));
    attrs.push(at(cs, 'nat', undefined, nat));
  }
  if (rng.chance(0.05)) attrs.push(at(cs, 'helper', Buffer.from('ftp\0')));
  return S.a('ct', undefined, attrs);
}

/** genUfid is a 16-byte UFID (or, rarely, a shorter or longer one). */
export function genUfid(rng: Rng): Buffer {
  return rng.bytes(rng.chance(0.9) ? 16 : rng.range(0, 20));
}
