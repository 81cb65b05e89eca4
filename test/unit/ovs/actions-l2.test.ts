/**
 * Encapsulation actions (net/openvswitch/actions.c push_vlan/pop_vlan, push_mpls/pop_mpls/
 * add_mpls, push_eth/pop_eth, push_nsh/pop_nsh; Linux 6.12): exact frames on the wire, key
 * bookkeeping (kept in step for VLANs, invalidated otherwise) and push/pop symmetry.
 */
import { MAC_PROTO_ETHERNET, MAC_PROTO_NONE, SW_FLOW_KEY_INVALID, SWKEY } from '../../../lib/ovs/flow-key';
import { TestEnv, eth, hexOf, ipv4, mac, prep, udp, udp4 } from './actions-helpers';
import { be16, be32, flag, st, u32, type Tlv } from './odp-build';

const out = (port: number): Tlv => ['output', u32(port)];
const pushVlan = (tpid: number, tci: number): Tlv => ['push-vlan', st('ovs-action-push-vlan', { 'vlan-tpid': tpid, 'vlan-tci': tci })];
const popVlan: Tlv = ['pop-vlan', flag];
const pushMpls = (lse: number, type = 0x8847): Tlv => ['push-mpls', st('ovs-action-push-mpls', { 'mpls-lse': lse, 'mpls-ethertype': type })];
const addMpls = (lse: number, l3: boolean): Tlv => ['add-mpls', st('ovs-action-add-mpls', { 'mpls-lse': lse, 'mpls-ethertype': 0x8847, 'tun-flags': l3 ? 1 : 0 })];
const popMpls = (type: number): Tlv => ['pop-mpls', be16(type)];

const UDP = udp4('10.0.0.1', '10.0.0.2', 1000, 2000);
const IP = UDP.subarray(14);
/** A tag written after the MAC addresses. */
const tagged = (frame: Buffer, ...tags: [number, number][]): Buffer =>
  Buffer.concat([frame.subarray(0, 12), ...tags.map(([tpid, tci]) => Buffer.concat([be16(tpid), be16(tci)])), frame.subarray(12)]);

function run(frame: Buffer, actions: Tlv[]): { env: TestEnv; key: Buffer } {
  const env = new TestEnv();
  const p = prep(frame);
  env.run(p, actions);
  return { env, key: p.key };
}

describe('VLAN', () => {
  it('push_vlan on an untagged frame: accelerated tag without CFI, key tag with it', () => {
    const { env, key } = run(UDP, [pushVlan(0x8100, 0x1000 | 100), out(1)]);
    const s = env.sent[0];
    expect([s.skb.vlanTpid, s.skb.vlanTci]).toEqual([0x8100, 100]);
    expect(hexOf(s.wire)).toBe(hexOf(tagged(UDP, [0x8100, 100])));
    expect(key.readUInt16BE(SWKEY.vlanTci.off)).toBe(0x1000 | 100);
    expect(key.readUInt16BE(SWKEY.vlanTpid.off)).toBe(0x8100);
    expect(key[SWKEY.macProto.off] & SW_FLOW_KEY_INVALID).toBe(0);
  });

  it('a second push_vlan moves the first tag in-band and invalidates the key', () => {
    const { env, key } = run(UDP, [pushVlan(0x8100, 0x1000 | 100), pushVlan(0x88a8, 0x1000 | 7), out(1)]);
    expect(hexOf(env.sent[0].wire)).toBe(hexOf(tagged(UDP, [0x88a8, 7], [0x8100, 100])));
    expect(key[SWKEY.macProto.off] & SW_FLOW_KEY_INVALID).toBe(SW_FLOW_KEY_INVALID);
  });

  it('push then pop is the identity', () => {
    const { env, key } = run(UDP, [pushVlan(0x8100, 0x1000 | 5), popVlan, out(1)]);
    expect(hexOf(env.sent[0].wire)).toBe(hexOf(UDP));
    expect(key.readUInt16BE(SWKEY.vlanTci.off)).toBe(0);
  });

  it('pop_vlan of a double-tagged frame leaves the inner tag accelerated', () => {
    const { env, key } = run(tagged(UDP, [0x88a8, 10], [0x8100, 20]), [popVlan, out(1)]);
    const s = env.sent[0];
    expect([s.skb.vlanTpid, s.skb.vlanTci]).toEqual([0x8100, 20]);
    expect(hexOf(s.wire)).toBe(hexOf(tagged(UDP, [0x8100, 20])));
    expect(key[SWKEY.macProto.off] & SW_FLOW_KEY_INVALID).toBe(SW_FLOW_KEY_INVALID);
  });
});

describe('MPLS', () => {
  const LSE = (100 << 12) | 0x100 | 64;

  it('push_mpls goes after the MAC header and rewrites the EtherType; the key is invalid', () => {
    const { env, key } = run(UDP, [pushMpls(LSE), out(1)]);
    expect(hexOf(env.sent[0].wire)).toBe(hexOf(Buffer.concat([eth(0x8847), be32(LSE), IP])));
    expect(env.sent[0].skb.protocol).toBe(0x8847);
    expect(key[SWKEY.macProto.off]).toBe(MAC_PROTO_ETHERNET | SW_FLOW_KEY_INVALID);
  });

  it('push_mpls then pop_mpls(IPv4) is the identity', () => {
    const { env } = run(UDP, [pushMpls(LSE), popMpls(0x0800), out(1)]);
    expect(hexOf(env.sent[0].wire)).toBe(hexOf(UDP));
  });

  it('recirculation after push_mpls re-extracts the key (MPLS EtherType and label)', () => {
    const { env } = run(UDP, [pushMpls(LSE), ['recirc', u32(7)]]);
    const k = env.recircs[0].key;
    expect(k.readUInt16BE(SWKEY.ethType.off)).toBe(0x8847);
    expect(k.readUInt32BE(SWKEY.mplsLse.off)).toBe(LSE);
    expect(k.readUInt32LE(SWKEY.recircId.off)).toBe(7);
    expect(k[SWKEY.macProto.off]).toBe(MAC_PROTO_ETHERNET);
  });

  it('add_mpls without the L3 flag puts the label in front of the whole frame (an L3 packet)', () => {
    const { env, key } = run(UDP, [addMpls(LSE, false), out(1)]);
    expect(hexOf(env.sent[0].wire)).toBe(hexOf(Buffer.concat([be32(LSE), UDP])));
    expect(env.sent[0].macProto).toBe(MAC_PROTO_NONE);
    expect(key[SWKEY.macProto.off]).toBe(MAC_PROTO_NONE | SW_FLOW_KEY_INVALID);
  });

  it('add_mpls (L2) then pop_mpls(TEB) restores the Ethernet frame', () => {
    const { env } = run(UDP, [addMpls(LSE, false), popMpls(0x6558), out(1)]);
    expect(hexOf(env.sent[0].wire)).toBe(hexOf(UDP));
    expect(env.sent[0].macProto).toBe(MAC_PROTO_ETHERNET);
  });

  it('add_mpls with the L3 flag behaves as push_mpls', () => {
    const { env } = run(UDP, [addMpls(LSE, true), out(1)]);
    expect(hexOf(env.sent[0].wire)).toBe(hexOf(Buffer.concat([eth(0x8847), be32(LSE), IP])));
  });
});

describe('Ethernet and NSH', () => {
  const pushEth = (dst: string, src: string): Tlv => ['push-eth', st('ovs-action-push-eth', { 'eth-src': mac(src), 'eth-dst': mac(dst) })];

  it('pop_eth leaves the IP packet; push_eth adds a header with the packet EtherType', () => {
    const popped = run(UDP, [['pop-eth', flag], out(1)]);
    expect(hexOf(popped.env.sent[0].wire)).toBe(hexOf(IP));
    expect(popped.env.sent[0].macProto).toBe(MAC_PROTO_NONE);
    const again = run(UDP, [['pop-eth', flag], pushEth('02:00:00:00:00:02', '02:00:00:00:00:01'), out(1)]);
    expect(hexOf(again.env.sent[0].wire)).toBe(hexOf(Buffer.concat([eth(0x0800, '02:00:00:00:00:02', '02:00:00:00:00:01'), IP])));
  });

  const ctx = Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex');
  /** An MD type 1 NSH header: ttl 63, length 6 words, np as given, SPI 0x123 / SI 255. */
  const nshHdr = (np: number): Buffer => Buffer.concat([be16((63 << 6) | 6), Buffer.of(1, np), be32((0x123 << 8) | 255), ctx]);

  it('push_nsh (MD1) over an IPv4 packet: np = IPv4, then push_eth', () => {
    const base = st('ovs-nsh-key-base', { flags: 0, ttl: 63, mdtype: 1, np: 0, 'path-hdr': (0x123 << 8) | 255 });
    const { env } = run(UDP, [['pop-eth', flag], ['push-nsh', [['nsh', [['base', base], ['md1', ctx]]]]],
      pushEth('02:00:00:00:00:02', '02:00:00:00:00:01'), out(1)]);
    expect(hexOf(env.sent[0].wire)).toBe(hexOf(Buffer.concat([eth(0x894f, '02:00:00:00:00:02', '02:00:00:00:00:01'), nshHdr(1), IP])));
  });

  it('pop_eth + pop_nsh of an NSH packet leave the inner IPv4 packet', () => {
    const frame = Buffer.concat([eth(0x894f), nshHdr(1), ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17 }, udp({ src: '10.0.0.1', dst: '10.0.0.2' }, 1000, 2000))]);
    const { env } = run(frame, [['pop-eth', flag], ['pop-nsh', flag], out(1)]);
    expect(hexOf(env.sent[0].wire)).toBe(hexOf(IP));
    expect(env.sent[0].skb.protocol).toBe(0x0800);
  });
});
