/**
 * What ovs_nla_get_match() stores and what ovs_nla_put_key() emits for accepted keys, case by
 * case (net/openvswitch/flow_netlink.c, Linux 6.12). Expected emissions are written out from the
 * kernel's rules in __ovs_nla_put_key(): RECIRC_ID, DP_HASH, PRIORITY, [TUNNEL], [IN_PORT],
 * SKB_MARK, CT_STATE, CT_ZONE, CT_MARK, CT_LABELS, [CT_ORIG_TUPLE], [ETHERNET [VLAN…ENCAP{]]
 * ETHERTYPE, L3, L4.
 */
import { decodeKey } from '../../../lib/ovs/flow-key-view';
import { IN_PORT_NONE, SWKEY, maskKey, newSwFlowKey } from '../../../lib/ovs/flow-key';
import {
  MAX_UFID_LENGTH, ovsNlaGetFlowMetadata, ovsNlaGetIdentifier, ovsNlaGetMatch, ovsNlaGetUfid, type ParsedMatch,
} from '../../../lib/ovs/flow-netlink-key';
import {
  K, N, arp, attrs, encap, eth, ethType, fill, hex, icmp, icmpv6, inPort, ipv4, ipv6, mpls, nd, nla,
  nsh, nshBase, nshMd1, putKey, st, tcp, tcpFlags, tun, tunnel, u16, u32, udp, vlan,
} from './key-builder';

const FF = (n: number): Buffer => fill(n, 0xff);
const Z = (n: number): Buffer => fill(n, 0);
const CT0 = [nla(K['ct-state'], u32(0)), nla(K['ct-zone'], u16(0)), nla(K['ct-mark'], u32(0)), nla(K['ct-labels'], Z(16))];

/** The metadata part every emission starts with (values 0 unless given). */
function meta(o: { tunnel?: Buffer; inPort?: number; ct?: Buffer[] } = {}): Buffer[] {
  return [
    nla(K['recirc-id'], u32(0)), nla(K['dp-hash'], u32(0)), nla(K.priority, u32(0)),
    ...(o.tunnel ? [o.tunnel] : []),
    ...(o.inPort === undefined ? [] : [inPort(o.inPort)]),
    nla(K['skb-mark'], u32(0)), ...(o.ct ?? CT0),
  ];
}
/** The tunnel nest every mask carries even without a tunnel (TTL is always emitted). */
const MASK_TUN = tunnel(tun.ttl(0));

const masked = (m: ParsedMatch): Buffer => maskKey(newSwFlowKey(), m.key, m.mask!.key, m.mask!.range, true);
const emitKey = (k: Buffer): string => putKey(k, k, false).toString('hex');
const emitMask = (m: ParsedMatch): string => putKey(masked(m), m.mask!.key, true).toString('hex');
const h = (...a: Buffer[]): string => attrs(...a).toString('hex');

const L2 = [inPort(1), eth()];
const ETH_FF = nla(K.ethernet, FF(12));

describe('exact-match mask (no OVS_FLOW_ATTR_MASK)', () => {
  const key = [...L2, ethType(0x0800), ipv4(), tcp(), tcpFlags(0x12)];
  const m = ovsNlaGetMatch(attrs(...key), undefined);

  it('is 0xff over every field the key names, in_port and mac_proto, and always over both TCIs', () => {
    const want = newSwFlowKey();
    for (const f of ['inPort', 'macProto', 'ethSrc', 'ethDst', 'vlanTci', 'cvlanTci', 'ethType', 'ipProto', 'ipTos', 'ipTtl',
      'ipFrag', 'tpSrc', 'tpDst', 'tpFlags', 'ipv4Src', 'ipv4Dst'] as const) {
      want.fill(0xff, SWKEY[f].off, SWKEY[f].off + SWKEY[f].len);
    }
    expect(decodeKey(m.mask!.key, true)).toEqual(decodeKey(want, true));
    expect(m.mask!.key).toEqual(want);
  });

  it('covers the words from phy.in_port to the IPv4 addresses (update_range)', () => {
    expect(m.range).toEqual({ start: SWKEY.inPort.off & ~7, end: 384 });
    expect(m.mask!.range).toEqual({ start: 328, end: 384 });
  });

  it('re-emits as the kernel does: TUNNEL{TTL=0} and IN_PORT 0xffffffff in the mask', () => {
    expect(emitKey(masked(m))).toBe(h(...meta({ inPort: 1 }), eth(), ethType(0x0800), ipv4(), tcp(), tcpFlags(0x12)));
    expect(emitMask(m)).toBe(h(...meta({ tunnel: MASK_TUN, inPort: 0xffffffff }), ETH_FF, ethType(0xffff),
      nla(K.ipv4, FF(12)), nla(K.tcp, FF(4)), tcpFlags(0xffff)));
  });

  it('keeps only the supported ct_state bits', () => {
    const c = ovsNlaGetMatch(attrs(...L2, ethType(0x0806), arp(), nla(K['ct-state'], u32(0x21))), undefined);
    expect(c.mask!.key[SWKEY.ctState.off]).toBe(0xff);
    expect(c.key[SWKEY.ctState.off]).toBe(0x21);
  });

  it('matches the whole tunnel key, zero fields included', () => {
    const t = ovsNlaGetMatch(attrs(tunnel(tun.id(5n), tun.dst4('192.0.2.1'), tun.ttl(64), tun.csum()), ...L2, ethType(0x0806), arp()), undefined);
    expect(t.mask!.range.start).toBe(SWKEY.tunKey.off);
    expect(emitKey(t.key)).toBe(h(...meta({ tunnel: tunnel(tun.id(5n), tun.dst4('192.0.2.1'), tun.ttl(64), tun.csum()), inPort: 1 }),
      eth(), ethType(0x0806), arp()));
    expect(emitMask(t)).toBe(h(...meta({
      tunnel: tunnel(nla(0, FF(8)), nla(1, FF(4)), nla(2, FF(4)), tun.tos(0xff), tun.ttl(0xff), tun.csum(), tun.tpSrc(0xffff), tun.tpDst(0xffff)),
      inPort: 0xffffffff,
    }), ETH_FF, ethType(0xffff), nla(K.arp, hex('ffffffffffffffff00ffffffffffffffffffffffffff0000'))));
  });
});

describe('key fields and their emission', () => {
  it('no IN_PORT: in_port is DP_MAX_PORTS, left out of the key, 0xffff0000 in a mask without in_port', () => {
    const m = ovsNlaGetMatch(attrs(eth(), ethType(0x0806), arp()), undefined);
    expect(m.key.readUInt16LE(SWKEY.inPort.off)).toBe(IN_PORT_NONE);
    expect(emitKey(m.key)).toBe(h(...meta(), eth(), ethType(0x0806), arp()));
    expect(emitKey(masked(m))).toBe(h(...meta({ inPort: 0 }), eth(), ethType(0x0806), arp()));
    expect(emitMask(m)).toBe(h(...meta({ tunnel: MASK_TUN, inPort: 0xffff0000 }), ETH_FF, ethType(0xffff),
      nla(K.arp, hex('ffffffffffffffff00ffffffffffffffffffffffffff0000'))));
  });

  it('no IN_PORT but an in_port mask: the mask says 0xffffffff and the masked key has no IN_PORT', () => {
    const m = ovsNlaGetMatch(attrs(eth(), ethType(0x0806), arp()), attrs(inPort(5), ethType(0xffff)));
    expect(emitKey(masked(m))).toBe(h(...meta(), eth('00:00:00:00:00:00', '00:00:00:00:00:00'), ethType(0x0806), nla(K.arp, Z(24))));
    expect(emitMask(m)).toBe(h(...meta({ tunnel: MASK_TUN, inPort: 0xffffffff }), nla(K.ethernet, Z(12)), ethType(0xffff), nla(K.arp, Z(24))));
  });

  it('ETHERNET without ETHERTYPE is 802.2: no ETHERTYPE in the key, 0xffff in an exact mask', () => {
    const m = ovsNlaGetMatch(attrs(...L2), attrs(inPort(1), ETH_FF, ethType(0x1234)));
    expect(m.key.readUInt16BE(SWKEY.ethType.off)).toBe(0x0004);
    expect(emitKey(m.key)).toBe(h(...meta({ inPort: 1 }), eth()));
    expect(emitMask(m)).toBe(h(...meta({ tunnel: MASK_TUN, inPort: 0xffffffff }), ETH_FF, ethType(0xffff)));
  });

  it('802.2 without an EtherType mask: the masked key shows ETHERTYPE 0', () => {
    const m = ovsNlaGetMatch(attrs(...L2), undefined);
    expect(m.mask!.key.readUInt16BE(SWKEY.ethType.off)).toBe(0);
    expect(emitKey(masked(m))).toBe(h(...meta({ inPort: 1 }), eth(), ethType(0)));
  });

  it('ETHERTYPE without ETHERNET is a layer 3 flow (mac_proto none): no ETHERNET emitted', () => {
    const key = [inPort(1), ethType(0x0800), ipv4({ 'ipv4-proto': 17 }), udp()];
    const m = ovsNlaGetMatch(attrs(...key), undefined);
    expect(m.key[SWKEY.macProto.off]).toBe(0);
    expect(m.mask!.key[SWKEY.macProto.off]).toBe(0xff);
    expect(emitKey(m.key)).toBe(h(...meta({ inPort: 1 }), ...key.slice(1)));
  });

  it('a later IPv4 fragment needs no transport attribute and emits none', () => {
    const key = [...L2, ethType(0x0800), ipv4({ 'ipv4-frag': 2 })];
    const m = ovsNlaGetMatch(attrs(...key), undefined);
    expect(emitKey(m.key)).toBe(h(...meta({ inPort: 1 }), ...key.slice(1)));
  });

  it('ICMP type and code live in tp.src/tp.dst as htons()', () => {
    const m = ovsNlaGetMatch(attrs(...L2, ethType(0x0800), ipv4({ 'ipv4-proto': 1 }), icmp(8, 3)), undefined);
    expect(m.key.readUInt16BE(SWKEY.tpSrc.off)).toBe(8);
    expect(m.key.readUInt16BE(SWKEY.tpDst.off)).toBe(3);
    expect(emitKey(m.key)).toBe(h(...meta({ inPort: 1 }), eth(), ethType(0x0800), ipv4({ 'ipv4-proto': 1 }), icmp(8, 3)));
  });

  it('IPv6 always emits IPV6_EXTHDRS; a neighbour advertisement emits ND', () => {
    const v6 = ipv6({ 'ipv6-proto': 58, 'ipv6-label': 0xabcde, 'ipv6-src': fill(16, 0x20) });
    const ndv = nd({ 'nd-target': fill(16, 0xfe), 'nd-sll': fill(6, 0xaa), 'nd-tll': fill(6, 0xbb) });
    const m = ovsNlaGetMatch(attrs(...L2, ethType(0x86dd), v6, icmpv6(136), ndv), undefined);
    expect(emitKey(m.key)).toBe(h(...meta({ inPort: 1 }), eth(), ethType(0x86dd), v6, nla(K['ipv6-exthdrs'], u16(0)), icmpv6(136), ndv));
  });

  it('IPV6_EXTHDRS is stored in host order and emitted back', () => {
    const m = ovsNlaGetMatch(attrs(...L2, ethType(0x86dd), ipv6(), nla(K['ipv6-exthdrs'], u16(0x41))), undefined);
    expect(m.key.readUInt16LE(SWKEY.ipv6Exthdrs.off)).toBe(0x41);
    expect(emitKey(m.key)).toBe(h(...meta({ inPort: 1 }), eth(), ethType(0x86dd), ipv6(), nla(K['ipv6-exthdrs'], u16(0x41))));
  });

  it('an ARP opcode mask of 0xffff is stored in ip.proto and comes back as 0x00ff', () => {
    const m = ovsNlaGetMatch(attrs(...L2, ethType(0x0806), arp({ 'arp-op': 2 })),
      attrs(inPort(1), ethType(0xffff), nla(K.arp, st('ovs-key-arp', { 'arp-op': 0xffff }))));
    expect(m.mask!.key[SWKEY.ipProto.off]).toBe(0xff);
    expect(emitMask(m)).toContain(nla(K.arp, st('ovs-key-arp', { 'arp-op': 0xff })).toString('hex'));
  });

  it('MPLS: the label count comes from num_labels_mask, so a one-label mask shortens the masked key', () => {
    const m = ovsNlaGetMatch(attrs(...L2, ethType(0x8847), mpls(0x11111140, 0x22222141)), attrs(inPort(1), ethType(0xffff), mpls(0xffffffff)));
    expect(m.key.readUInt32LE(SWKEY.mplsNumLabelsMask.off)).toBe(3);
    expect(m.mask!.key.readUInt32LE(SWKEY.mplsNumLabelsMask.off)).toBe(1);
    expect(emitKey(m.key)).toBe(h(...meta({ inPort: 1 }), eth(), ethType(0x8847), mpls(0x11111140, 0x22222141)));
    expect(emitKey(masked(m))).toBe(h(...meta({ inPort: 1 }), nla(K.ethernet, Z(12)), ethType(0x8847), mpls(0x11111140)));
  });

  it('NSH: BASE, and MD1 when the key is MD type 1; masks always carry MD1', () => {
    const key = [...L2, ethType(0x894f), nsh(nshBase(), nshMd1())];
    const m = ovsNlaGetMatch(attrs(...key), undefined);
    expect(emitKey(m.key)).toBe(h(...meta({ inPort: 1 }), ...key.slice(1)));
    const noMd = ovsNlaGetMatch(attrs(...L2, ethType(0x894f), nsh(nshBase({ mdtype: 2 }))), undefined);
    expect(emitKey(noMd.key)).toBe(h(...meta({ inPort: 1 }), eth(), ethType(0x894f), nsh(nshBase({ mdtype: 2 }))));
    expect(emitMask(noMd)).toContain(nsh(nla(N.base, FF(8)), nla(N.md1, Z(16))).toString('hex'));
  });

  it('conntrack: CT_* stored and emitted; the original tuple only for IPv4/IPv6 with a protocol', () => {
    const tuple = nla(K['ct-orig-tuple-ipv4'], st('ovs-key-ct-tuple-ipv4', {
      'ipv4-src': 0x0a000001, 'ipv4-dst': 0x0a000002, 'src-port': 1000, 'dst-port': 80, 'ipv4-proto': 6,
    }));
    const ct = [nla(K['ct-state'], u32(0x22)), nla(K['ct-zone'], u16(7)), nla(K['ct-mark'], u32(9)), nla(K['ct-labels'], fill(16, 3))];
    const m = ovsNlaGetMatch(attrs(...L2, ...ct, tuple, ethType(0x0800), ipv4(), tcp(), tcpFlags()), undefined);
    expect(emitKey(m.key)).toBe(h(...meta({ inPort: 1, ct: [...ct, tuple] }), eth(), ethType(0x0800), ipv4(), tcp(), tcpFlags()));
  });

  it('without conntrack nothing CT is emitted', () => {
    const m = ovsNlaGetMatch(attrs(...L2, ethType(0x0806), arp()), undefined, { ct: { enabled: false, labels: false } });
    expect(putKey(m.key, m.key, false, { enabled: false, labels: false }).toString('hex'))
      .toBe(h(...meta({ inPort: 1, ct: [] }), eth(), ethType(0x0806), arp()));
  });

  it('GET/DEL (withMask: false) build no mask at all', () => {
    const m = ovsNlaGetMatch(attrs(...L2, ethType(0x0806), arp()), attrs(nla(K['skb-mark'], u32(1))), { withMask: false });
    expect(m.mask).toBeNull();
    expect(m.maskAttrs).toBe(0n);
  });

  it('an all-zero mask attribute is dropped (nz), a zero-length type 0 included', () => {
    const m = ovsNlaGetMatch(attrs(...L2, ethType(0x0806), arp()), attrs(inPort(1), ethType(0xffff), nla(K.arp, Z(24)), nla(0)));
    expect(m.maskAttrs).toBe((1n << BigInt(K['in-port'])) | (1n << BigInt(K.ethertype)));
  });
});

describe('VLAN tags', () => {
  const inner = [ethType(0x0800), ipv4({ 'ipv4-proto': 17 }), udp()];

  it('one tag: the key and an exact mask nest as the client sent them', () => {
    const key = [...L2, ethType(0x8100), vlan(0x1005), encap(...inner)];
    const m = ovsNlaGetMatch(attrs(...key), undefined);
    expect(decodeKey(m.key, true)).toMatchObject({ vlanTpid: 0x8100, vlanTci: 0x1005, ethType: 0x0800 });
    expect(emitKey(m.key)).toBe(h(...meta({ inPort: 1 }), ...key.slice(1)));
    expect(emitMask(m)).toBe(h(...meta({ tunnel: MASK_TUN, inPort: 0xffffffff }), ETH_FF, ethType(0xffff), vlan(0xffff),
      encap(ethType(0xffff), nla(K.ipv4, FF(12)), nla(K.udp, FF(4)))));
  });

  it('two tags (802.1ad outside, 802.1Q inside)', () => {
    const key = [...L2, ethType(0x88a8), vlan(0x1064), encap(ethType(0x8100), vlan(0x100a), encap(...inner))];
    const m = ovsNlaGetMatch(attrs(...key), undefined);
    expect(decodeKey(m.key, true)).toMatchObject({ vlanTpid: 0x88a8, vlanTci: 0x1064, cvlanTpid: 0x8100, cvlanTci: 0x100a, ethType: 0x0800 });
    expect(emitKey(m.key)).toBe(h(...meta({ inPort: 1 }), ...key.slice(1)));
  });

  it('a third tag is kept as the EtherType and emission stops there', () => {
    const key = [...L2, ethType(0x88a8), vlan(0x1064), encap(ethType(0x8100), vlan(0x100a), encap(ethType(0x8100)))];
    const m = ovsNlaGetMatch(attrs(...key), undefined);
    expect(m.key.readUInt16BE(SWKEY.ethType.off)).toBe(0x8100);
    expect(emitKey(m.key)).toBe(h(...meta({ inPort: 1 }), ...key.slice(1)));
  });

  it('truncated header (TCI 0, empty ENCAP): stored as 802.2 with the TPID, emitted without the tag', () => {
    const m = ovsNlaGetMatch(attrs(...L2, ethType(0x8100), vlan(0), encap()), attrs(inPort(1), ETH_FF));
    expect(decodeKey(m.key, true)).toMatchObject({ vlanTpid: 0x8100, ethType: 0x0004 });
    expect(m.key.readUInt16BE(SWKEY.vlanTci.off)).toBe(0);
    expect(emitKey(m.key)).toBe(h(...meta({ inPort: 1 }), eth()));
  });

  it('a mask whose VLAN is all-zero takes the key\'s TCI (the kernel reuses a[] across key and mask)', () => {
    const m = ovsNlaGetMatch(attrs(...L2, ethType(0x8100), vlan(0x1005), encap(...inner)),
      attrs(inPort(1), ethType(0xffff), vlan(0), encap(ethType(0xffff))));
    expect(m.mask!.key.readUInt16BE(SWKEY.vlanTci.off)).toBe(0x1005);
  });

  it('a mask without any VLAN part still matches both TCIs exactly', () => {
    const m = ovsNlaGetMatch(attrs(...L2, ethType(0x8100), vlan(0x1005), encap(...inner)), attrs(inPort(1)));
    expect(m.mask!.key.readUInt16BE(SWKEY.vlanTci.off)).toBe(0xffff);
    expect(m.mask!.key.readUInt16BE(SWKEY.cvlanTci.off)).toBe(0xffff);
    expect(emitMask(m)).toBe(h(...meta({ tunnel: MASK_TUN, inPort: 0xffffffff }), nla(K.ethernet, Z(12)), ethType(0xffff), vlan(0xffff),
      encap(ethType(0))));
  });
});

describe('tunnel metadata', () => {
  const base = [...L2, ethType(0x0806), arp()];
  const keyTun = (...t: Buffer[]): ParsedMatch => ovsNlaGetMatch(attrs(tunnel(...t), ...base), undefined);

  it('IPv4: every field in ip_tun_to_nlattr order; zero addresses, TOS and ports left out', () => {
    const t = [tun.id(0x1234n), tun.src4('192.0.2.2'), tun.dst4('192.0.2.1'), tun.tos(4), tun.ttl(9), tun.df(), tun.csum(),
      tun.tpSrc(1000), tun.tpDst(4789), tun.oam()];
    const m = keyTun(...[...t].reverse(), tun.pad());
    expect(m.key[SWKEY.tunProto.off]).toBe(2);
    expect(emitKey(m.key)).toBe(h(...meta({ tunnel: tunnel(...t), inPort: 1 }), ...base.slice(1)));
    const z = keyTun(tun.dst4('192.0.2.1'), tun.ttl(0), tun.tos(0), tun.tpSrc(0));
    expect(emitKey(z.key)).toBe(h(...meta({ tunnel: tunnel(tun.dst4('192.0.2.1'), tun.ttl(0)), inPort: 1 }), ...base.slice(1)));
  });

  it('IPv6 addresses', () => {
    const src = fill(16, 0x20);
    const dst = fill(16, 0x30);
    const m = keyTun(tun.dst6(dst), tun.src6(src), tun.ttl(1));
    expect(m.key[SWKEY.tunProto.off]).toBe(10);
    expect(emitKey(m.key)).toBe(h(...meta({ tunnel: tunnel(tun.src6(src), tun.dst6(dst), tun.ttl(1)), inPort: 1 }), ...base.slice(1)));
  });

  it('Geneve options are stored at the end of tun_opts and emitted with their length', () => {
    const opts = hex('0102030405060708');
    const m = keyTun(tun.dst4('192.0.2.1'), tun.ttl(1), tun.geneve(opts));
    expect(m.key[SWKEY.tunOptsLen.off]).toBe(8);
    expect(m.key.subarray(247, 255)).toEqual(opts);
    expect(m.range.start).toBe(240);
    expect(emitKey(m.key)).toBe(h(...meta({ tunnel: tunnel(tun.dst4('192.0.2.1'), tun.ttl(1), tun.geneve(opts)), inPort: 1 }), ...base.slice(1)));
    expect(emitMask(m)).toContain(tun.geneve(FF(8)).toString('hex'));
  });

  it('VXLAN GBP', () => {
    const m = keyTun(tun.dst4('192.0.2.1'), tun.ttl(1), tun.vxlan(tun.gbp(0x800a)));
    expect(m.key[SWKEY.tunOptsLen.off]).toBe(4);
    expect(emitKey(m.key)).toBe(h(...meta({ tunnel: tunnel(tun.dst4('192.0.2.1'), tun.ttl(1), tun.vxlan(tun.gbp(0x800a))), inPort: 1 }), ...base.slice(1)));
  });

  it('ERSPAN options record sizeof(erspan_metadata) = 12 whatever their length (re-emitted 12 long)', () => {
    const m = keyTun(tun.dst4('192.0.2.1'), tun.ttl(1), tun.erspan(hex('0000000200000011')));
    expect(m.key[SWKEY.tunOptsLen.off]).toBe(12);
    expect(emitKey(m.key)).toBe(h(...meta({
      tunnel: tunnel(tun.dst4('192.0.2.1'), tun.ttl(1), tun.erspan(hex('000000000000000200000011'))), inPort: 1,
    }), ...base.slice(1)));
  });

  it('info-bridge: no address or TTL needed; it is not emitted back (mode 0)', () => {
    const m = keyTun(tun.bridge(), tun.id(7n));
    expect(emitKey(m.key)).toBe(h(...meta({ tunnel: tunnel(tun.id(7n), tun.ttl(0)), inPort: 1 }), ...base.slice(1)));
  });
});

describe('flow identifier', () => {
  it.each([
    ['UFID of 0 bytes is treated as absent', 0, false],
    ['UFID of 1 byte is used', 1, true],
    ['UFID of 16 bytes is used', MAX_UFID_LENGTH, true],
    ['UFID of 17 bytes is treated as absent', MAX_UFID_LENGTH + 1, false],
  ])('%s', (_n, len, used) => {
    const logs: string[] = [];
    const u = ovsNlaGetUfid(fill(len, 0xab), (m) => logs.push(m));
    expect(u !== undefined).toBe(used);
    expect(logs.length).toBe(used ? 0 : 1);
    const key = newSwFlowKey();
    key[400] = 1;
    const id = ovsNlaGetIdentifier(fill(len, 0xab), key, () => undefined);
    if (used) expect(id.ufid).toEqual(fill(len, 0xab));
    else expect(id.unmaskedKey).toEqual(key);
  });
});

describe('ovs_nla_get_flow_metadata (OVS_PACKET_CMD_EXECUTE keys)', () => {
  it('fills only metadata; packet fields are left for key extraction', () => {
    const md = ovsNlaGetFlowMetadata(attrs(tunnel(tun.dst4('192.0.2.1'), tun.ttl(5)), inPort(3), nla(K['skb-mark'], u32(7)),
      nla(K['ct-state'], u32(0x21)), eth(), ethType(0x0800), ipv4(), tcp()));
    const k = md.key;
    expect(k.readUInt32BE(SWKEY.tunIpv4Dst.off)).toBe(0xc0000201);
    expect([k[SWKEY.tunTtl.off], k[SWKEY.tunProto.off], k[SWKEY.ctState.off], k[SWKEY.macProto.off]]).toEqual([5, 2, 0x21, 1]);
    expect(k.readUInt32LE(SWKEY.skbMark.off)).toBe(7);
    expect(k.readUInt16LE(SWKEY.inPort.off)).toBe(3);
    expect(k.subarray(SWKEY.ethSrc.off)).toEqual(Buffer.alloc(k.length - SWKEY.ethSrc.off).fill(0, 0).fill(0x21, SWKEY.ctState.off - SWKEY.ethSrc.off, SWKEY.ctState.off - SWKEY.ethSrc.off + 1));
  });

  it('a layer 3 key gets its EtherType; no IN_PORT means DP_MAX_PORTS; CT fields are reset', () => {
    const key = newSwFlowKey().fill(0x55);
    const md = ovsNlaGetFlowMetadata(attrs(ethType(0x86dd), ipv6()), { key });
    expect(md.key.readUInt16BE(SWKEY.ethType.off)).toBe(0x86dd);
    expect(md.key[SWKEY.macProto.off]).toBe(0);
    expect(md.key.readUInt16LE(SWKEY.inPort.off)).toBe(IN_PORT_NONE);
    expect(md.key.readUInt32LE(SWKEY.ctMark.off)).toBe(0);
    expect(md.key[SWKEY.ctOrigProto.off]).toBe(0);
    expect(md.attrs).toBe((1n << BigInt(K.ethertype)) | (1n << BigInt(K.ipv6)));
  });
});

