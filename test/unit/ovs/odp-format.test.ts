/**
 * The dump-flows line (formatFlowReply) on kernel replies copied from captures, plus the
 * stats, UFID and reply-parsing helpers. Hex strings are the attribute bytes of an ovs_flow
 * reply after its ovs_header (record numbers as `nlpcap.py -o -v` prints them):
 *   test/captures/kernel-6.12-basic.pcap — Linux 6.12.117, Debian ovs-dpctl 3.1.0
 *     (scripts/basic.sh); expected lines copied from kernel-6.12-basic.out.txt.
 *   ../shared/oracle/results/selftests/capture.pcap.gz — same kernel, the kernel selftests'
 *     openvswitch.sh (its ovs-dpctl.py dumped these flows: no ovs-dpctl 3.1 output exists, so
 *     the expected lines are derived from OVS 3.1 lib/odp-util.c and lib/dpif.c).
 * odp-format-captures.test.ts checks every transcript line of the captures automatically.
 */
import {
  formatFlowKey, formatFlowReply, formatFlowStats, formatUfid, parseFlowReply, tcpFlagsLetters,
} from '../../../lib/ovs/odp-format';
import { fixed, in6 } from '../../../lib/ovs/odp-format-text';
import { hex, tlvs, u32 } from './odp-build';

const NAMES = new Map([[0, 'dp0'], [1, 'v0'], [2, 'v2']]);

/** basic.pcap record 463.1: `dump-flows` reply for the UFID flow ufid:11111111-2222-3333-4444-555555555555. */
const BASIC_463 = hex(`
  140009001111111133332222555544445555555590000100080014000000000008001300000000000800020000000000080003000100000008000f
  00000000000800160000000000060017000000000008001800000000001400190000000000000000000000000000000000100004000000000000010000000000
  020600060008000000100007000a0000010a00000206004000080009000001000206001200000000009c0007000800140000000000080013000000000008000200
  000000000c001000050004000000000008000300ffffffff08000f0000000000080016000000000006001700000000000800180000000000140019000000000000
  000000000000000000000010000400ffffffffffffffffffffffff06000600ffff000010000700ffffffffffffffffffffffff08000900ffffffff060012000000
  00000c0002000800010002000000`);
/** basic.pcap record 1172.1: `dump-flows` reply for the key-identified flow in_port(2),eth(),eth_type(0x0806),arp(). */
const BASIC_1172 = hex(`
  8c000100080014000000000008001300000000000800020000000000080003000200000008000f0000000000080016000000000006001700000000000800180000
  0000001400190000000000000000000000000000000000100004000000000000000000000000000600060008060000 1c000d000000000000000000000000000000
  00000000000000000000980007000800140000000000080013000000000008000200000000000c001000050004000000000008000300ffffffff08000f00000000
  0008001600000000000600170000000000080018000000000014001900000000000000000000000000000000001000040000000000000000000000000006000600
  ffff00001c000d000000000000000000000000000000000000000000000000000c0002000800010001000000`);
/** selftests capture record 4687.1: recirc_id(1),ct_state(+trk-inv) flow with stats (1 packet, 44 bytes) and USED=248652. */
const SELFTEST_4687_1 = hex(`
  14000900f8683eff7e41f2370100b1a001fc2e9c80000100080014000100000008001300000000000800020000000000080003000100000008000f000000000008
  00160020000000060017000000000008001800000000001400190000000000000000000000000000000000100004000000000000000000000000000600060008
  000000100007000000000000000000000000008c00070008001400ffffffff080013000000000008000200000000000c001000050004000000000008000300ffff
  ffff08000f000000000008001600300000000600170000000000080018000000000014001900000000000000000000000000000000001000040000000000000000
  000000000006000600ffff0000100007000000000000000000000000000c0005004ccb0300000000001400030001000000000000002c000000000000000c000200
  0800010002000000`);
/** selftests capture record 4687.5: ct(commit,nat(src=…)),recirc(1) with ct_state(-trk) and ipv4 dst. */
const SELFTEST_4687_5 = hex(`
  14000900b6bbb5e3fd4f66af960010a79612e3a480000100080014000000000008001300000000000800020000000000080003000100000008000f000000000008
  001600000000000600170000000000080018000000000014001900000000000000000000000000000000001000040000000000000000000000000006000600080000
  001000070000000000ac1f6e14000000008c0007000800140000000000080013000000000008000200000000000c001000050004000000000008000300ffffffff08
  000f000000000008001600200000000600170000000000080018000000000014001900000000000000000000000000000000001000040000000000000000000000
  000006000600ffff00001000070000000000ffffffff000000000c0005004ccb0300000000001400030001000000000000002c000000000000002c00020020000c00
  040001000600020000000000100006000400010008000300c0a800140800070001000000`);

describe('formatFlowReply on real kernel replies', () => {
  it.each([
    ['basic 463.1, dump-flows', BASIC_463, {},
      'in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0,ttl=64,frag=no),tcp(src=1,dst=2), packets:0, bytes:0, used:never, actions:2'],
    ['basic 463.1, dump-flows -m', BASIC_463, { verbose: true, portNames: NAMES },
      'ufid:11111111-2222-3333-4444-555555555555, recirc_id(0/0),dp_hash(0/0),skb_priority(0/0),in_port(v0),skb_mark(0/0),ct_state(0/0),ct_zone(0/0),ct_mark(0/0),ct_label(0/0),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0,ttl=64,frag=no),tcp(src=1,dst=2),tcp_flags(0/0), packets:0, bytes:0, used:never, dp:ovs, actions:v2'],
    ['basic 1172.1, dump-flows: wildcarded eth stays as eth(), wildcarded arp goes', BASIC_1172, {},
      'in_port(2),eth(),eth_type(0x0806), packets:0, bytes:0, used:never, actions:1'],
    ['selftests 4687.1: ct_state masked, stats, used relative to now (dpif_flow_stats_format)', SELFTEST_4687_1, {},
      'recirc_id(0x1),in_port(1),ct_state(-inv+trk),eth(),eth_type(0x0800), packets:1, bytes:44, used:1.348s, actions:2'],
    ['selftests 4687.5: ct with nat', SELFTEST_4687_5, {},
      'in_port(1),ct_state(-trk),eth(),eth_type(0x0800),ipv4(dst=172.31.110.20), packets:1, bytes:44, used:1.348s, actions:ct(commit,nat(src=192.168.0.20)),recirc(0x1)'],
  ])('%s', (_n, attrs, opts, want) => {
    expect(formatFlowReply(attrs, { ...opts, nowMs: 250000 })).toBe(want);
  });

  it('-m with ipv4 fields whose mask is zero prints them as x/0 and leaves a zero-mask frag out (format_frag)', () => {
    const r = parseFlowReply(SELFTEST_4687_5);
    expect(r && formatFlowKey(r.key ?? Buffer.alloc(0), r.mask, { verbose: true })).toContain('ipv4(src=0.0.0.0/0.0.0.0,dst=172.31.110.20,proto=0/0,tos=0/0,ttl=0/0)');
  });
});

describe('flow line helpers', () => {
  it('formatUfid: UUID_FMT over the four host-order words (odp_format_ufid)', () => {
    expect(formatUfid(hex('11111111333322225555444455555555'))).toBe('ufid:11111111-2222-3333-4444-555555555555');
  });

  it.each([
    ['never used', { packets: 0n, bytes: 0n, used: 0n, tcpFlags: 0 }, 0, 'packets:0, bytes:0, used:never'],
    ['used 2.5 s ago', { packets: 3n, bytes: 180n, used: 7500n, tcpFlags: 0 }, 10000, 'packets:3, bytes:180, used:2.500s'],
    ['used in the future', { packets: 1n, bytes: 60n, used: 10005n, tcpFlags: 0 }, 10000n, 'packets:1, bytes:60, used:-0.005s'],
    ['64-bit counters and TCP flags', { packets: 2n ** 63n, bytes: 2n ** 64n - 1n, used: 1n, tcpFlags: 0x12 }, 1,
      'packets:9223372036854775808, bytes:18446744073709551615, used:0.000s, flags:S.'],
  ])('formatFlowStats: %s', (_n, stats, now, want) => {
    expect(formatFlowStats(stats, now)).toBe(want);
  });

  it('tcp flags in tcpdump order (packet_format_tcp_flags)', () => {
    expect(tcpFlagsLetters(0)).toBe('none');
    expect(tcpFlagsLetters(0xfff)).toBe('SFPRU.ECN[200][400][800]');
  });

  it('fixed rounds the exact binary value half to even, as glibc printf does', () => {
    expect([fixed(0.125, 2), fixed(2.5, 0), fixed(3.5, 0), fixed(0.35, 1), fixed(-0.0004, 3), fixed(49.99999998835846, 1)])
      .toEqual(['0.12', '2', '4', '0.3', '-0.000', '50.0']);
  });

  it('in6 is glibc inet_ntop', () => {
    const a = (s: string): string => in6(hex(s));
    expect([a('00000000000000000000000000000000'), a('00000000000000000000000000000001'), a('20010db8000000010000000000000001'),
      a('00000000000000000000ffff0a000001'), a('000000000000000000000000c0a80001'), a('00010000000000020000000000000003')])
      .toEqual(['::', '::1', '2001:db8:0:1::1', '::ffff:10.0.0.1', '::192.168.0.1', '1:0:0:2::3']);
  });
});

describe('parseFlowReply (dpif_netlink_flow_from_ofpbuf)', () => {
  const key = tlvs('flow-attrs', [['key', []]]);
  it.each([
    ['a UFID that is not 16 bytes', Buffer.concat([key, tlvs('flow-attrs', [['ufid', hex('01020304')]])])],
    ['neither key nor UFID', tlvs('flow-attrs', [['actions', []]])],
    ['trailing garbage', Buffer.concat([key, hex('01')])],
    ['a short USED', Buffer.concat([key, tlvs('flow-attrs', [['used', u32(1)]])])],
  ])('rejects %s', (_n, attrs) => {
    expect(parseFlowReply(attrs)).toBeUndefined();
    expect(() => formatFlowReply(attrs, { nowMs: 0 })).toThrow(/EINVAL/);
  });

  it('a reply without a key (UFID_F_OMIT_KEY) prints <empty>, no actions prints drop', () => {
    const attrs = tlvs('flow-attrs', [['ufid', hex('11111111333322225555444455555555')]]);
    expect(formatFlowReply(attrs, { nowMs: 0 })).toBe('<empty>, packets:0, bytes:0, used:never, actions:drop');
  });
});
