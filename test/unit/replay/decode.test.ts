/**
 * `ovs-dpemu decode` (issue 6 item 4): exact text of messages from the real-kernel capture
 * test/captures/kernel-6.12-basic.pcap, the JSON form, errors with extack (flows-errors-raw),
 * family ids learned from the capture's own nlctrl replies, and upcalls.
 */
import * as fs from 'fs';
import * as path from 'path';

import { CaptureDecoder, decodeCapture, flagNames, type DecodedMessage } from '../../../lib/replay/decode';
import { messageJson, messageText } from '../../../lib/replay/decode-text';
import { netlinkRecord, netlinkRecords } from '../../../lib/replay/netlink-capture';
import { LINKTYPE_NETLINK, readPcap, writePcap } from '../../../lib/replay/pcap';

const CAPTURES = path.join(__dirname, '..', '..', 'captures');
const load = (name: string): Buffer => fs.readFileSync(path.join(CAPTURES, name));
const basic = [...decodeCapture(load('kernel-6.12-basic.pcap'))];

function textOf(msgs: DecodedMessage[], frames: number[]): string {
  return msgs.filter((m) => frames.includes(m.frame)).flatMap(messageText).join('\n');
}

const cases: [string, number[], string][] = [
  [
    'nlctrl GETFAMILY request and NEWFAMILY reply (ops, mcast groups as indexed arrays)',
    [1, 2],
    `#1.1 0.000000 U>K nlctrl GETFAMILY v1 flags=REQUEST seq=1 pid=215 len=40
    family-name: "ovs_datapath"
#2.1 0.000399 K>U nlctrl NEWFAMILY v2 flags=0 seq=1 pid=215 len=192
    family-name: "ovs_datapath"
    family-id: 36 (0x24)
    version: 2
    hdrsize: 4
    maxattr: 9
    ops:
      [1]:
        id: 1
        flags: 0x1a
      [2]:
        id: 2
        flags: 0x1a
      [3]:
        id: 3
        flags: 0xe
      [4]:
        id: 4
        flags: 0x1a
    mcast-groups:
      [1]:
        id: 15
        name: "ovs_datapath"`,
  ],
  [
    'ovs_datapath NEW refused (EOPNOTSUPP, echoed request) and accepted',
    [33, 34, 36],
    `#33.1 0.018421 U>K ovs_datapath NEW v2 dp_ifindex=0 flags=REQUEST|ECHO seq=10 pid=215 len=48
    name: "dp0"
    upcall-pid: 0
    user-features: 0x80000003 (unaligned|vport-pids|0x80000000)
#34.1 0.019043 K>U ERROR -95 EOPNOTSUPP flags=0 seq=10 pid=215 len=68
    request: ovs_datapath NEW v2 dp_ifindex=0 flags=REQUEST|ECHO seq=10 pid=215 len=48
      name: "dp0"
      upcall-pid: 0
      user-features: 0x80000003 (unaligned|vport-pids|0x80000000)
#36.1 0.021778 K>U ovs_datapath NEW v2 dp_ifindex=3 flags=0 seq=11 pid=215 len=120
    name: "dp0"
    stats: {n-hit: 0, n-missed: 0, n-lost: 0, n-flows: 0}
    megaflow-stats: {n-mask-hit: 0, n-masks: 0, pad0: 0, n-cache-hit: 0, pad1: 0}
    user-features: 0x9 (unaligned|dispatch-upcall-per-cpu)
    masks-cache-size: 256`,
  ],
  [
    'ovs_vport dump: request, MULTI reply, NLMSG_DONE',
    [39, 40, 41],
    `#39.1 0.033473 U>K ovs_vport GET v1 dp_ifindex=3 flags=REQUEST|ACK|ECHO|DUMP seq=13 pid=215 len=24
#40.1 0.034394 K>U ovs_vport GET v1 dp_ifindex=3 flags=MULTI seq=13 pid=215 len=160
    port-no: 0
    type: 2 (internal)
    name: "dp0"
    ifindex: 3
    stats: {rx-packets: 0, tx-packets: 0, rx-bytes: 0, tx-bytes: 0, rx-errors: 0, tx-errors: 0, rx-dropped: 0, tx-dropped: 0}
    upcall-stats:
      success: 0
      fail: 0
    upcall-pid: [0]
#41.1 0.034716 K>U DONE error=0 flags=MULTI seq=13 pid=215 len=20`,
  ],
  [
    'ovs_flow NEW with UFID, key+mask and actions in odp text form',
    [406],
    `#406.1 0.972387 U>K ovs_flow NEW v1 dp_ifindex=3 flags=REQUEST|CREATE seq=17 pid=241 len=192
    ufid: ufid:11111111-2222-3333-4444-555555555555
    key: in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0,ttl=64,frag=no),tcp(src=1,dst=2)
      in-port: 1
      ethernet: {eth-src: 00:00:00:00:00:01, eth-dst: 00:00:00:00:00:02}
      ethertype: 0x0800
      ipv4: {ipv4-src: 10.0.0.1, ipv4-dst: 10.0.0.2, ipv4-proto: 6, ipv4-tos: 0, ipv4-ttl: 64, ipv4-frag: 0 (none)}
      tcp: {tcp-src: 1, tcp-dst: 2}
      tcp-flags: 0x0
    mask:
      in-port: 4294967295
      ethernet: {eth-src: ff:ff:ff:ff:ff:ff, eth-dst: ff:ff:ff:ff:ff:ff}
      ethertype: 0xffff
      ipv4: {ipv4-src: 255.255.255.255, ipv4-dst: 255.255.255.255, ipv4-proto: 255, ipv4-tos: 255, ipv4-ttl: 255, ipv4-frag: 255}
      tcp: {tcp-src: 65535, tcp-dst: 65535}
      tcp-flags: 0x0
    actions: 2
      output: 2`,
  ],
  [
    'ovs_flow dump reply: the odp line is what ovs-dpctl dump-flows printed',
    [463],
    `#463.1 1.079498 K>U ovs_flow GET v1 dp_ifindex=3 flags=MULTI seq=16 pid=244 len=356
    ufid: ufid:11111111-2222-3333-4444-555555555555
    key: in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0,ttl=64,frag=no),tcp(src=1,dst=2)
      recirc-id: 0
      dp-hash: 0
      priority: 0
      in-port: 1
      skb-mark: 0
      ct-state: 0x0
      ct-zone: 0
      ct-mark: 0
      ct-labels: {ct-labels: 00000000000000000000000000000000}
      ethernet: {eth-src: 00:00:00:00:00:01, eth-dst: 00:00:00:00:00:02}
      ethertype: 0x0800
      ipv4: {ipv4-src: 10.0.0.1, ipv4-dst: 10.0.0.2, ipv4-proto: 6, ipv4-tos: 0, ipv4-ttl: 64, ipv4-frag: 0 (none)}
      tcp: {tcp-src: 1, tcp-dst: 2}
      tcp-flags: 0x0
    mask:
      recirc-id: 0
      dp-hash: 0
      priority: 0
      tunnel:
        ttl: 0
      in-port: 4294967295
      skb-mark: 0
      ct-state: 0x0
      ct-zone: 0
      ct-mark: 0
      ct-labels: {ct-labels: 00000000000000000000000000000000}
      ethernet: {eth-src: ff:ff:ff:ff:ff:ff, eth-dst: ff:ff:ff:ff:ff:ff}
      ethertype: 0xffff
      ipv4: {ipv4-src: 255.255.255.255, ipv4-dst: 255.255.255.255, ipv4-proto: 255, ipv4-tos: 255, ipv4-ttl: 255, ipv4-frag: 255}
      tcp: {tcp-src: 65535, tcp-dst: 65535}
      tcp-flags: 0x0
    actions: 2
      output: 2`,
  ],];

describe('decode: kernel-6.12-basic.pcap', () => {
  it.each(cases)('%s', (_name, frames, text) => {
    expect(textOf(basic, frames)).toBe(text);
  });

  it('decodes every message of the capture, none of them with notes', () => {
    expect(basic).toHaveLength(2310);
    expect(basic.filter((m) => m.note || m.leftover)).toEqual([]);
    expect(new Set(basic.map((m) => m.family ?? m.kind))).toEqual(new Set(['nlctrl', 'ovs_datapath', 'ovs_vport', 'ovs_flow', 'error', 'done']));
  });

  it('--json: one object per message, with names, values and odp text', () => {
    const m = basic.find((x) => x.frame === 406)!;
    const j = JSON.parse(messageJson(m)) as DecodedMessage;
    expect(j).toMatchObject({
      frame: 406, msg: 1, direction: 'to-kernel', family: 'ovs_flow', familyId: 0x26, cmd: 1, cmdName: 'new', version: 1,
      flags: 0x401, flagNames: ['REQUEST', 'CREATE'], seq: 17, pid: 241, header: { 'dp-ifindex': 3 },
    });
    expect(j.attrs!.map((a) => a.name)).toEqual(['ufid', 'key', 'mask', 'actions']);
    expect(j.attrs![1].attrs![3]).toEqual({ name: 'ipv4', type: 7, len: 12, offset: 80, value: { 'ipv4-src': 167772161, 'ipv4-dst': 167772162, 'ipv4-proto': 6, 'ipv4-tos': 0, 'ipv4-ttl': 64, 'ipv4-frag': 0 }, text: '{ipv4-src: 10.0.0.1, ipv4-dst: 10.0.0.2, ipv4-proto: 6, ipv4-tos: 0, ipv4-ttl: 64, ipv4-frag: 0 (none)}' });
    expect(j.attrs![3].odp).toBe('2');
    expect(messageJson(m)).not.toContain('\n');
  });
});

describe('decode: errors, extack, upcalls', () => {
  const raw = [...decodeCapture(load('kernel-6.12-flows-errors-raw.pcap'))];

  it('NLMSG_ERROR with extack: message, offset resolved to the attribute, policy', () => {
    const m = raw.find((x) => x.kind === 'error' && x.extack?.policy !== undefined)!;
    expect(m.extack).toEqual({
      msg: 'Attribute failed policy validation', offset: 44, offsetPath: 'ufid-flags',
      policy: { 'min-value-u': '0', 'max-value-u': '4294967295', type: 'U32' },
    });
    expect(messageText(m).slice(-4)).toEqual([
      '    extack:',
      '      msg: "Attribute failed policy validation"',
      '      offset: 44 (ufid-flags)',
      '      policy: min-value-u=0 max-value-u=4294967295 type=U32',
    ]);
  });

  it('a capped ACK names the request by its header only', () => {
    const ack = raw.find((x) => x.kind === 'ack')!;
    expect(ack.flagNames).toContain('CAPPED');
    expect(ack.request).toMatchObject({ family: 'ovs_datapath', kind: 'genl' });
    expect(ack.request!.attrs).toBeUndefined();
    expect(messageText(ack)[0]).toMatch(/^#\d+\.1 [\d.]+ K>U ACK flags=CAPPED seq=\d+ pid=\d+ len=36$/);
  });

  it('MISS upcalls: key in odp form, packet cut to 64 bytes unless --all', () => {
    const up = load('kernel-6.12-selftests-upcalls.pcap');
    const miss = [...decodeCapture(up)].find((x) => x.cmdName === 'miss')!;
    const key = miss.attrs!.find((a) => a.name === 'key')!;
    expect(key.odp).toBe('recirc_id(0),dp_hash(0),skb_priority(0),in_port(1),skb_mark(0),ct_state(0),ct_zone(),ct_mark(),ct_label(),eth(src=82:e2:8d:28:69:17,dst=33:33:00:00:00:02),eth_type(0x86dd),ipv6(src=fe80::80e2:8dff:fe28:6917,dst=ff02::2,label=0,proto=58,tclass=0,hlimit=255,frag=no),key32(00 00),icmpv6(type=133,code=0)');
    const packet = (o: { all?: boolean }): string => [...decodeCapture(up, o)].find((x) => x.cmdName === 'miss')!.attrs!.find((a) => a.name === 'packet')!.text!;
    expect(packet({})).toMatch(/^[0-9a-f]{128}… \(70 bytes\)$/);
    expect(packet({ all: true })).toMatch(/^[0-9a-f]{140}$/);
  });
});

describe('decode: family ids', () => {
  it('learns ids from the capture\'s CTRL_CMD_NEWFAMILY, not the schemas', () => {
    // Move ovs_datapath to id 0x30 in a copy of the first exchange and a later datapath request.
    const recs = readPcap(load('kernel-6.12-basic.pcap'));
    const nl = [...netlinkRecords(recs)];
    const reply = Buffer.from(nl[1].datagram);
    const at = reply.indexOf(Buffer.from([0x06, 0x00, 0x01, 0x00, 0x24, 0x00])); // CTRL_ATTR_FAMILY_ID = 0x24
    reply.writeUInt16LE(0x30, at + 4);
    const req = Buffer.from(nl.find((r) => r.messages[0].type === 0x24)!.datagram);
    req.writeUInt16LE(0x30, 4);
    const file = writePcap([netlinkRecord(nl[0].datagram, 1n), netlinkRecord(reply, 2n), netlinkRecord(req, 3n)], LINKTYPE_NETLINK);
    const msgs = [...decodeCapture(file)];
    expect(msgs[2]).toMatchObject({ family: 'ovs_datapath', familyId: 0x30, cmdName: 'new' });
    const dec = new CaptureDecoder();
    expect(dec.familyOf(0x30)).toEqual({});
    expect(dec.familyOf(0x26).name).toBe('ovs_flow');
  });

  it('flag names depend on the message type and the command', () => {
    expect(flagNames(0x24, 0x301, 'get')).toEqual(['REQUEST', 'DUMP']);
    expect(flagNames(0x24, 0x501, 'new')).toEqual(['REQUEST', 'REPLACE', 'CREATE']);
    expect(flagNames(2, 0x300)).toEqual(['CAPPED', 'ACK_TLVS']);
    expect(flagNames(0x24, 0x1000)).toEqual(['0x1000']);
  });
});

describe('decode: other netlink protocols', () => {
  it('shows only generic netlink unless --all, then the header of the others', () => {
    const route = Buffer.alloc(20);
    route.writeUInt32LE(20, 0);
    route.writeUInt16LE(0x1a, 4); // RTM_GETROUTE
    route.writeUInt16LE(0x305, 6);
    route.writeUInt32LE(7, 8);
    const nl = [...netlinkRecords(load('kernel-6.12-basic.pcap'))];
    const file = writePcap([netlinkRecord(route, 1000n, { protocol: 0 }), netlinkRecord(nl[0].datagram, 2000n)], LINKTYPE_NETLINK);
    expect([...decodeCapture(file)].map((m) => m.frame)).toEqual([2]);
    const all = [...decodeCapture(file, { all: true })];
    expect(messageText(all[0])).toEqual(['#1.1 0.000000 U>K route type 0x1a flags=REQUEST|ACK|DUMP seq=7 pid=0 len=20']);
    expect(messageText(all[1])[0]).toBe('#2.1 0.000001 U>K nlctrl GETFAMILY v1 flags=REQUEST seq=1 pid=215 len=40');
  });
});
