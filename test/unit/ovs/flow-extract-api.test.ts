/**
 * The entry points around key_extract(): ovs_flow_key_extract()'s metadata (tunnel, priority,
 * in_port, mark, dp_hash, recirc_id, conntrack hook), ovs_flow_key_extract_userspace() for
 * OVS_PACKET_CMD_EXECUTE, and ovs_flow_key_update() / ovs_flow_key_update_l3l4()
 * (net/openvswitch/flow.c L974-1123, Linux 6.12).
 */
import { Errno } from '../../../lib/nl/errno';
import { NlError } from '../../../lib/nl/errors';
import { newSwFlowKey, SW_FLOW_KEY_INVALID, SWKEY } from '../../../lib/ovs/flow-key';
import {
  keyExtract, ovsFlowKeyExtract, ovsFlowKeyExtractUserspace, ovsFlowKeyUpdate, ovsFlowKeyUpdateL3L4,
} from '../../../lib/ovs/flow';
import { formatFlowKey } from '../../../lib/ovs/odp-format';
import { Skb } from '../../../lib/ovs/skb';
import { arp, ether, ipv4, ipv6, nd, sll, tcp, udp, MAC_A, MAC_B } from './frame-builder';
import { K, T, attrs, eth, ethType, inPort, ip4, mac, nla, putKey, st, u32 } from './key-builder';

const text = (key: Buffer): string => formatFlowKey(putKey(key, key, false), undefined);
const TCP_FRAME = ether(0x0800, ipv4({ proto: 6 }, tcp(1000, 22, 0x010)));
const noLog = (): void => undefined;

describe('ovs_flow_key_extract() metadata', () => {
  test('priority, mark from the skb; in_port; dp_hash and recirc_id reset; no tunnel', () => {
    const skb = new Skb(Buffer.from(TCP_FRAME));
    skb.priority = 0x10002;
    skb.mark = 0xbeef;
    const key = newSwFlowKey().fill(0xaa); // the kernel's key is an uninitialised stack variable
    expect(ovsFlowKeyExtract(skb, key, { inPort: 3 })).toBe(0);
    expect(text(key)).toBe('recirc_id(0),dp_hash(0),skb_priority(0x10002),in_port(3),skb_mark(0xbeef),ct_state(0),ct_zone(),' +
      'ct_mark(),ct_label(),eth(src=02:00:00:00:00:0a,dst=02:00:00:00:00:0b),eth_type(0x0800),' +
      'ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0,ttl=64,frag=no),tcp(src=1000,dst=22),tcp_flags(ack)');
    expect(key.subarray(SWKEY.tunKey.off, SWKEY.tunKey.off + SWKEY.tunKey.len).every((b) => b === 0)).toBe(true);
    expect([key[SWKEY.tunProto.off], key[SWKEY.tunOptsLen.off], key[SWKEY.ctOrigProto.off]]).toEqual([0, 0, 0]);
  });

  test('in_port defaults to OVS_CB(skb) input port', () => {
    const skb = new Skb(Buffer.from(TCP_FRAME));
    skb.inputPort = 7;
    const key = newSwFlowKey();
    expect(ovsFlowKeyExtract(skb, key)).toBe(0);
    expect(key.readUInt16LE(SWKEY.inPort.off)).toBe(7);
  });

  test('tunnel metadata: tun_key copied, options at the end of tun_opts, tun_proto = family', () => {
    const tunKey = Buffer.alloc(64);
    tunKey.writeBigUInt64BE(0x5n, 0);
    ip4('192.0.2.1').copy(tunKey, 8);
    ip4('192.0.2.2').copy(tunKey, 12);
    tunKey.writeUInt32LE((1 << 2) | (1 << 11), 40); // KEY | GENEVE_OPT
    tunKey[57] = 64; // ttl
    tunKey.writeUInt16BE(6081, 60); // tp_dst
    const options = Buffer.from('0102800100000000', 'hex');
    const key = newSwFlowKey();
    expect(ovsFlowKeyExtract(new Skb(Buffer.from(TCP_FRAME)), key, { inPort: 1, tunInfo: { key: tunKey, af: 2, options } })).toBe(0);
    expect(key.subarray(SWKEY.tunKey.off, SWKEY.tunKey.off + 64).equals(tunKey)).toBe(true);
    expect(key.subarray(255 - 8, 255).equals(options)).toBe(true);
    expect([key[SWKEY.tunOptsLen.off], key[SWKEY.tunProto.off]]).toEqual([8, 2]);
    expect(text(key)).toContain('tunnel(src=192.0.2.1,dst=192.0.2.2,ttl=64,tp_dst=6081,geneve({class=0x102,type=0x80,len=4,0}),flags(key))');
    // OVS_TUNNEL_KEY_ATTR_ID (the odp text above leaves tun_id out when there is no mask)
    expect(putKey(key, key, false).includes(Buffer.concat([Buffer.of(12, 0, T.id, 0), tunKey.subarray(0, 8)]))).toBe(true);
  });

  test('the conntrack hook runs after a successful key_extract only, with post_ct false', () => {
    const calls: boolean[] = [];
    const ctFillKey = (_s: Skb, k: Buffer, postCt: boolean): void => { calls.push(postCt); k[SWKEY.ctState.off] = 0x21; };
    const key = newSwFlowKey();
    expect(ovsFlowKeyExtract(new Skb(Buffer.from(TCP_FRAME)), key, { inPort: 1, ctFillKey })).toBe(0);
    expect(ovsFlowKeyExtract(new Skb(Buffer.alloc(10)), newSwFlowKey(), { inPort: 1, ctFillKey })).toBe(-Errno.EINVAL);
    expect(calls).toEqual([false]);
    expect(key[SWKEY.ctState.off]).toBe(0x21);
  });

  test('without conntrack the ct fields are cleared (ovs_ct_fill_key with no nf_conn)', () => {
    const key = newSwFlowKey().fill(0x55);
    expect(ovsFlowKeyExtract(new Skb(Buffer.from(TCP_FRAME)), key, { inPort: 1 })).toBe(0);
    expect([key[SWKEY.ctState.off], key.readUInt16LE(SWKEY.ctZone.off), key.readUInt32LE(SWKEY.ctMark.off), key[SWKEY.ctOrigProto.off]])
      .toEqual([0, 0, 0, 0]);
    expect(key.subarray(SWKEY.ctLabels.off, SWKEY.ctLabels.off + 16).every((b) => b === 0)).toBe(true);
  });
});

describe('ovs_flow_key_extract_userspace() (OVS_PACKET_CMD_EXECUTE)', () => {
  const ct4 = (proto: number): Buffer => nla(K['ct-orig-tuple-ipv4'], st('ovs-key-ct-tuple-ipv4', {
    'ipv4-src': 0x0a000001, 'ipv4-dst': 0x0a000002, 'src-port': 1000, 'dst-port': 22, 'ipv4-proto': proto,
  }));

  test('metadata from the key, packet fields from the frame (the key\'s own eth values are ignored)', () => {
    const keyAttr = attrs(nla(K.priority, u32(7)), inPort(3), nla(K['skb-mark'], u32(9)), eth(MAC_B, MAC_B), ethType(0x86dd));
    const key = newSwFlowKey();
    expect(ovsFlowKeyExtractUserspace(keyAttr, new Skb(Buffer.from(TCP_FRAME)), key, noLog)).toBe(0);
    expect(text(key)).toBe('recirc_id(0),dp_hash(0),skb_priority(0x7),in_port(3),skb_mark(0x9),ct_state(0),ct_zone(),ct_mark(),' +
      'ct_label(),eth(src=02:00:00:00:00:0a,dst=02:00:00:00:00:0b),eth_type(0x0800),' +
      'ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0,ttl=64,frag=no),tcp(src=1000,dst=22),tcp_flags(ack)');
  });

  test('L3 key (ETHERTYPE without ETHERNET): skb->protocol from the key, no Ethernet header', () => {
    const skb = new Skb(ipv4({ proto: 17 }, udp(53, 5353)));
    const key = newSwFlowKey();
    expect(ovsFlowKeyExtractUserspace(attrs(inPort(1), ethType(0x0800)), skb, key, noLog)).toBe(0);
    expect(skb.protocol).toBe(0x0800);
    expect(text(key)).toContain('in_port(1),skb_mark(0),ct_state(0),ct_zone(),ct_mark(),ct_label(),eth_type(0x0800),' +
      'ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,tos=0,ttl=64,frag=no),udp(src=53,dst=5353)');
  });

  test('CT_ORIG_TUPLE_IPV4 with an IPv4 packet is kept', () => {
    const key = newSwFlowKey();
    expect(ovsFlowKeyExtractUserspace(attrs(inPort(1), eth(), ethType(0x0800), ct4(6)), new Skb(Buffer.from(TCP_FRAME)), key, noLog)).toBe(0);
    expect(text(key)).toContain('ct_tuple4(src=10.0.0.1,dst=10.0.0.2,proto=6,tp_src=1000,tp_dst=22)');
  });

  test('CT_ORIG_TUPLE_IPV4 with an ARP packet → EINVAL', () => {
    const r = ovsFlowKeyExtractUserspace(attrs(inPort(1), eth(), ct4(6)), new Skb(ether(0x0806, arp())), newSwFlowKey(), noLog);
    expect(r).toBeInstanceOf(NlError);
    expect((r as NlError).errno).toBe(Errno.EINVAL);
  });

  test('CT_ORIG_TUPLE_IPV6 with an ND packet → EINVAL (shared storage)', () => {
    const ct6 = nla(K['ct-orig-tuple-ipv6'], Buffer.alloc(40));
    const frame = ether(0x86dd, ipv6({ next: 58, hlim: 255 }, nd(135, 'fe80::2', sll(MAC_A))));
    const r = ovsFlowKeyExtractUserspace(attrs(inPort(1), eth(), ct6), new Skb(frame), newSwFlowKey(), noLog);
    expect((r as NlError).errno).toBe(Errno.EINVAL);
  });

  test('a malformed key (duplicate IN_PORT) → EINVAL before the packet is looked at', () => {
    const logged: string[] = [];
    const r = ovsFlowKeyExtractUserspace(attrs(inPort(1), inPort(2)), new Skb(Buffer.from(TCP_FRAME)), newSwFlowKey(), (m) => logged.push(m));
    expect((r as NlError).errno).toBe(Errno.EINVAL);
    expect(logged.length).toBe(1);
  });

  test('a frame key_extract() refuses → its errno', () => {
    const r = ovsFlowKeyExtractUserspace(attrs(inPort(1), eth()), new Skb(Buffer.alloc(13)), newSwFlowKey(), noLog);
    expect((r as NlError).errno).toBe(Errno.EINVAL);
  });
});

describe('ovs_flow_key_update() / ovs_flow_key_update_l3l4()', () => {
  const tagged = ether(0x0800, ipv4({ proto: 17 }, udp(1, 2)), { tags: [[0x8100, 42]] });

  test('re-extraction after the tag moved to the accelerated tag gives the same key and clears INVALID', () => {
    const skb = new Skb(Buffer.from(tagged));
    const key = newSwFlowKey();
    expect(ovsFlowKeyExtract(skb, key, { inPort: 1 })).toBe(0);
    const first = Buffer.from(key);
    key[SWKEY.macProto.off] |= SW_FLOW_KEY_INVALID;
    expect(ovsFlowKeyUpdate(skb, key)).toBe(0);
    expect(key.equals(first)).toBe(true);
  });

  test('a failed update keeps SW_FLOW_KEY_INVALID', () => {
    const skb = new Skb(Buffer.from(TCP_FRAME));
    const key = newSwFlowKey();
    expect(ovsFlowKeyExtract(skb, key, { inPort: 1 })).toBe(0);
    key[SWKEY.macProto.off] |= SW_FLOW_KEY_INVALID;
    skb.data = skb.data.subarray(0, 12);
    expect(ovsFlowKeyUpdate(skb, key)).toBe(-Errno.EINVAL);
    expect(key[SWKEY.macProto.off] & SW_FLOW_KEY_INVALID).toBe(SW_FLOW_KEY_INVALID);
  });

  test('update_l3l4 re-reads only the network and transport headers', () => {
    const skb = new Skb(Buffer.from(TCP_FRAME));
    const key = newSwFlowKey();
    expect(ovsFlowKeyExtract(skb, key, { inPort: 1 })).toBe(0);
    ip4('10.9.9.9').copy(skb.data, 14 + 16);
    mac(MAC_B).copy(skb.data, 6); // not re-read
    expect(ovsFlowKeyUpdateL3L4(skb, key)).toBe(0);
    expect(text(key)).toContain(`eth(src=${MAC_A},dst=${MAC_B}),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.9.9.9,`);
  });

  test('key_extract() keeps fields other protocols leave alone (a reused key)', () => {
    const key = newSwFlowKey();
    key[SWKEY.macProto.off] = 1; // Ethernet
    key.writeUInt16BE(0x1234, SWKEY.tpSrc.off); // tp is not touched for ARP
    key.writeUInt16BE(0x0002, SWKEY.tpFlags.off);
    expect(keyExtract(new Skb(ether(0x0806, arp())), key)).toBe(0);
    expect(key.readUInt16BE(SWKEY.tpSrc.off)).toBe(0x1234);
    expect(key.readUInt16BE(SWKEY.tpFlags.off)).toBe(0); // always reset
  });
});
