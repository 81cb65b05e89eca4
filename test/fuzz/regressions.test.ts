/**
 * Past findings stay fixed: every saved case of test/fuzz-corpus/ replays without findings, and
 * each emulator fix has a direct test named after the behaviour.
 */
import * as path from 'path';
import { decodeCase, listCases, loadCase } from '../../lib/fuzz/corpus';
import { runCase } from '../../lib/fuzz/replay';
import { FakeHost } from '../../lib/fuzz/target';
import { NETLINK_OPT, NLM_F, NLMSG_ERROR } from '../../lib/nl/constants';
import { NlWriter } from '../../lib/nl/writer';
import { splitDatagram } from '../../lib/nl/message';
import { emulator, errnoOf, TestSocket } from '../helpers/nltest';

const CORPUS = path.join(__dirname, '..', 'fuzz-corpus');

describe('fuzz corpus replays clean', () => {
  const files = listCases(CORPUS);
  it('has saved cases', () => expect(files.length).toBeGreaterThan(0));
  it.each(files.map((f) => [path.basename(f), f]))('%s', (_name, file) => {
    const saved = loadCase(file);
    expect(saved.fixed).toBeTruthy();
    expect(runCase(decodeCase(saved)).map((f) => `${f.kind}: ${f.detail.split('\n')[0]}`)).toEqual([]);
  });
});

describe('fixes found by the fuzzer', () => {
  it('NlWriter pads an attribute whose padding crosses the buffer end (no RangeError)', () => {
    const w = new NlWriter(8);
    w.attr(1, Buffer.alloc(1)); // 5 bytes then 3 of padding: 8; the next attr grows the buffer
    w.attr(2, Buffer.alloc(5));
    const b = w.finish();
    expect(b.length).toBe(8 + 12);
    expect(b.subarray(17)).toEqual(Buffer.alloc(3));
  });

  it('uncapped error ACK of a request with unaligned nlmsg_len → request echoed padded, extack TLVs aligned', () => {
    const emu = emulator();
    const s = new TestSocket(emu).extAck();
    const dp = emu.registry.family('ovs_datapath');
    // DP NEW with a 1-byte USER_FEATURES attribute (ERANGE + extack), nlmsg_len not a multiple of 4.
    const w = new NlWriter();
    w.beginMessage(dp.familyId, NLM_F.REQUEST | NLM_F.ACK, 9, 0).genlHeader(dp.op('new').cmd, dp.version).s32(0);
    w.attrString(dp.set('datapath').byName.get('name')!.type, 'x');
    const req = Buffer.from(w.endMessage().finish());
    const uf = Buffer.from([5, 0, dp.set('datapath').byName.get('user-features')!.type, 0, 1]);
    const dgram = Buffer.concat([req, uf]);
    dgram.writeUInt32LE(dgram.length, 0); // 5 bytes past an aligned end: nlmsg_len % 4 = 1
    const [ack] = s.send(dgram);
    const m = [...splitDatagram(ack)][0];
    expect(m.type).toBe(NLMSG_ERROR);
    expect(m.flags & NLM_F.ACK_TLVS).toBeTruthy();
    const echoed = m.bytes.readUInt32LE(20);
    expect(echoed % 4).toBe(1);
    const tlvAt = 20 + ((echoed + 3) & ~3);
    const tlvLen = m.bytes.readUInt16LE(tlvAt);
    expect(tlvLen).toBeGreaterThanOrEqual(4);
    expect(tlvAt + tlvLen).toBeLessThanOrEqual(m.bytes.length);
    expect(m.bytes.subarray(20 + echoed, tlvAt)).toEqual(Buffer.alloc(tlvAt - 20 - echoed));
    expect(errnoOf(ack)).toBe(34);
  });
});

/** setup: an emulator with one extack socket and helpers to add datapaths and vports. */
const setup = () => {
  const emu = emulator({ host: new FakeHost() });
  const s = new TestSocket(emu).extAck();
  const dpf = emu.registry.family('ovs_datapath');
  const vpf = emu.registry.family('ovs_vport');
  const D = dpf.set('datapath').byName;
  const V = vpf.set('vport').byName;
  const newDp = (name: string): number => {
    s.send(s.msg(dpf, 'new', NLM_F.ACK, 0, (w) => w.attrString(D.get('name')!.type, name).attrU32(D.get('upcall-pid')!.type, 1)));
    return emu.ovs.net.dps.find((d) => d.name === name)!.ifindex;
  };
  const addPort = (dp: number, name: string, type: string, fill?: (w: NlWriter) => void): number => errnoOf(s.send(s.msg(vpf, 'new', NLM_F.ACK, dp, (w) => {
    w.attrString(V.get('name')!.type, name).attrU32(V.get('type')!.type, vpf.enumValue('vport-type', type)).attrU32(V.get('upcall-pid')!.type, 1);
    fill?.(w);
  }))[0]);
  return { emu, s, newDp, addPort, V, vpf, dpf, D };
};

describe('fixes found by the long fuzz run', () => {
  it('datapath with desired ifindex INT_MAX, then an internal port → its ifindex wraps below INT_MAX', () => {
    const { emu, s, dpf, vpf, D, V } = setup();
    expect(errnoOf(s.send(s.msg(dpf, 'new', NLM_F.ACK, 0, (w) => w.attrString(D.get('name')!.type, 'd1').attrU32(D.get('upcall-pid')!.type, 1)
      .attrS32(D.get('ifindex')!.type, 0x7fffffff)))[0])).toBe(0);
    expect(emu.ovs.net.dps[0].ifindex).toBe(0x7fffffff);
    expect(errnoOf(s.send(s.msg(vpf, 'new', NLM_F.ACK, 0x7fffffff, (w) => w.attrString(V.get('name')!.type, 'p1')
      .attrU32(V.get('type')!.type, vpf.enumValue('vport-type', 'internal')).attrU32(V.get('upcall-pid')!.type, 1)))[0])).toBe(0);
    const ifindex = emu.ovs.net.dps[0].ports.get(1)!.dev.ifindex;
    expect(ifindex).toBeGreaterThan(0);
    expect(ifindex).toBeLessThan(0x7fffffff);
  });
});

describe('flow replies whose converted actions outgrow 64 KiB', () => {
  it('flow NEW with ECHO of 16 382 empty ct() (each echoed with its zone: 196 KB) → installed, echo without ACTIONS', () => {
    const emu = emulator({ host: new FakeHost() });
    const s = new TestSocket(emu);
    const dpf = emu.registry.family('ovs_datapath');
    const fl = emu.registry.family('ovs_flow');
    const D = dpf.set('datapath').byName;
    const K = fl.set('key-attrs').byName;
    const F = fl.set('flow-attrs').byName;
    const ct = fl.set('action-attrs').byName.get('ct')!.type;
    s.send(s.msg(dpf, 'new', NLM_F.ACK, 0, (w) => w.attrString(D.get('name')!.type, 'd1').attrU32(D.get('upcall-pid')!.type, 1)));
    const dp = emu.ovs.net.dps[0];
    const replies = s.send(s.msg(fl, 'new', NLM_F.ACK | NLM_F.ECHO | NLM_F.CREATE, dp.ifindex, (w) => {
      w.nestStart(F.get('key')!.type).attrU32(K.get('in-port')!.type, 0).attr(K.get('ethernet')!.type, Buffer.alloc(12))
        .attr(K.get('ethertype')!.type, Buffer.from([0x08, 0x00])).attr(K.get('ipv4')!.type, Buffer.from([10, 0, 0, 1, 10, 0, 0, 2, 17, 0, 64, 0]))
        .attr(K.get('udp')!.type, Buffer.from([0, 1, 0, 2])).nestEnd();
      w.nestStart(F.get('actions')!.type);
      for (let i = 0; i < 16382; i++) w.attr(ct, Buffer.alloc(0));
      w.nestEnd();
    }));
    expect(errnoOf(replies[replies.length - 1])).toBe(0);
    expect(dp.flowCount).toBe(1);
    const msgs = replies.flatMap((d) => [...splitDatagram(d)]);
    const echo = msgs.find((m) => m.type === fl.familyId)!;
    const types: number[] = [];
    for (let off = 24; off + 4 <= echo.bytes.length; off += (echo.bytes.readUInt16LE(off) + 3) & ~3) types.push(echo.bytes.readUInt16LE(off + 2) & 0x3fff);
    expect(types).toContain(F.get('key')!.type);
    expect(types).not.toContain(F.get('actions')!.type);
    expect(errnoOf(replies[replies.length - 1])).toBe(0);
  });
});

describe('ovs_ct_limit GET reply room', () => {
  const get = (n: number): number => {
    const emu = emulator();
    const s = new TestSocket(emu);
    const ct = emu.registry.family('ovs_ct_limit');
    const zl = ct.struct('ovs-zone-limit');
    const entries = Buffer.alloc(n * zl.size);
    for (let i = 0; i < n; i++) entries.writeInt32LE(i, i * zl.size);
    const replies = s.send(s.msg(ct, 'get', NLM_F.ACK, 0, (w) => w.attr(ct.set('ct-limit-attrs').byName.get('zone-limit')!.type, entries)));
    return errnoOf(replies[replies.length - 1]);
  };
  it('GET of 653 zones fits the reply skb → answered', () => expect(get(653)).toBe(0));
  it('GET of 654 zones (or 5000: a reply nest past 64 KiB) → EMSGSIZE, no RangeError', () => {
    expect(get(654)).toBe(90);
    expect(get(5000)).toBe(90);
  });
});

describe('fixes found by the kernel-differential run', () => {

  it('netdev vport added twice to the same datapath → EEXIST (kernel: __netdev_upper_dev_link)', () => {
    const { newDp, addPort } = setup();
    const dp = newDp('d1');
    expect(addPort(dp, 'r0', 'netdev')).toBe(0);
    expect(addPort(dp, 'r0', 'netdev')).toBe(17);
  });

  it('netdev vport already in another datapath → EBUSY', () => {
    const { newDp, addPort } = setup();
    const a = newDp('d1');
    const b = newDp('d2');
    expect(addPort(a, 'r0', 'netdev')).toBe(0);
    expect(addPort(b, 'r0', 'netdev')).toBe(16);
  });

  it('vxlan vport with a 1-byte OVS_TUNNEL_ATTR_DST_PORT → EINVAL without extack (nla_find_nested, no policy)', () => {
    const { newDp, s, vpf, V } = setup();
    const dp = newDp('d1');
    s.setOpt(NETLINK_OPT.EXT_ACK, 1);
    const opt = vpf.set('vport-options').byName.get('dst-port')!.type;
    const [ack] = s.send(s.msg(vpf, 'new', NLM_F.ACK, dp, (w) => {
      w.attrString(V.get('name')!.type, 'vx1').attrU32(V.get('type')!.type, vpf.enumValue('vport-type', 'vxlan')).attrU32(V.get('upcall-pid')!.type, 1);
      w.nestStart(V.get('options')!.type).attr(opt, Buffer.of(0x12)).nestEnd();
    }));
    expect(errnoOf(ack)).toBe(22);
    expect([...splitDatagram(ack)][0].flags & NLM_F.ACK_TLVS).toBe(0);
  });
});
