/**
 * ovs_datapath commands and the socket-level behaviour around them: notifications on the
 * ovs_datapath group, echo, capped ACKs, dump errors in NLMSG_DONE (datapath.c and
 * af_netlink.c, Linux 6.12).
 */
import { NETLINK_OPT, NLM_F, NLMSG_DONE } from '../../../lib/nl/constants';
import { splitDatagram } from '../../../lib/nl/message';
import type { NlWriter } from '../../../lib/nl/writer';
import { forEachAttr } from '../../../lib/schema/validate';
import { doneErrno, emulator, errnoOf, messages, TestSocket } from '../../helpers/nltest';

const emu = emulator({ host: { lookup: () => undefined, maxIfindex: () => 2 }, cpus: 4 });
const dpF = emu.registry.family('ovs_datapath');
const vpF = emu.registry.family('ovs_vport');
const A = (n: string): number => dpF.set('datapath').byName.get(n)!.type;
const F = (n: string): number => dpF.enumValue('user-features', n);

function attrsOf(dgram: Buffer): Map<number, Buffer> {
  const m = new Map<number, Buffer>();
  forEachAttr([...splitDatagram(dgram)][0].bytes.subarray(24), 24, (a) => m.set(a.type, a.payload));
  return m;
}
const named = (name: string, more?: (w: NlWriter) => void) => (w: NlWriter): void => {
  w.attrString(A('name'), name);
  more?.(w);
};

describe('datapath commands', () => {
  const s = new TestSocket(emu);
  const listener = new TestSocket(emu);
  listener.setOpt(NETLINK_OPT.ADD_MEMBERSHIP, dpF.mcastGroups[0].id);

  it('NEW is multicast to the ovs_datapath group and echoed only with NLM_F_ECHO', () => {
    expect(s.send(s.msg(dpF, 'new', 0, 0, named('d1', (w) => w.attrU32(A('upcall-pid'), 5))))).toEqual([]);
    const note = listener.queue.splice(0);
    expect(note).toHaveLength(1);
    expect(note[0].readUInt32LE(12)).toBe(s.sock.portid); // nlmsg_pid: the requester
    expect(note[0][16]).toBe(dpF.op('new').cmd);
    const echoed = s.send(s.msg(dpF, 'get', NLM_F.ECHO, 0, named('d1')));
    expect(echoed).toHaveLength(1);
    expect(listener.queue.splice(0)).toEqual([]); // GET is unicast only
  });

  it('NEW of an existing name → EEXIST; old clients (genl version 1) reset its features', () => {
    s.send(s.msg(dpF, 'set', 0, 0, named('d1', (w) => w.attrU32(A('user-features'), F('unaligned')))));
    expect(emu.ovs.net.dps[0].userFeatures).toBe(F('unaligned'));
    const req = s.msg(dpF, 'new', 0, 0, named('d1', (w) => w.attrU32(A('upcall-pid'), 0)));
    expect(errnoOf(s.send(req)[0])).toBe(17);
    expect(emu.ovs.net.dps[0].userFeatures).toBe(F('unaligned'));
    req[17] = 1; // genlmsghdr.version < OVS_DP_VER_FEATURES
    expect(errnoOf(s.send(req)[0])).toBe(17);
    expect(emu.ovs.net.dps[0].userFeatures).toBe(0);
  });

  it('SET replaces the features (absent → 0) and PER_CPU_PIDS appear only in per-CPU mode', () => {
    const pids = Buffer.from('0a0000000b000000', 'hex');
    const r = s.send(s.msg(dpF, 'set', NLM_F.ECHO, 0, named('d1', (w) => w.attrU32(A('user-features'), F('unaligned') | F('dispatch-upcall-per-cpu')).attr(A('per-cpu-pids'), pids))));
    expect(attrsOf(r[0]).get(A('per-cpu-pids'))).toEqual(pids);
    const r2 = s.send(s.msg(dpF, 'set', NLM_F.ECHO, 0, named('d1')));
    expect(attrsOf(r2[0]).get(A('user-features'))?.readUInt32LE(0)).toBe(0);
    expect(attrsOf(r2[0]).has(A('per-cpu-pids'))).toBe(false);
  });

  it.each<[string, (w: NlWriter) => void, number]>([
    ['unknown feature bit → EOPNOTSUPP', (w) => w.attrU32(A('user-features'), 1 << 20), 95],
    ['per-CPU pids of 6 bytes → EINVAL, features unchanged', (w) => w.attrU32(A('user-features'), F('dispatch-upcall-per-cpu')).attr(A('per-cpu-pids'), Buffer.alloc(6)), 22],
    ['masks-cache-size 3 → EINVAL', (w) => w.attrU32(A('masks-cache-size'), 3), 22],
  ])('SET %s', (_n, more, errno) => {
    const before = { userFeatures: emu.ovs.net.dps[0].userFeatures, masksCacheSize: emu.ovs.net.dps[0].masksCacheSize };
    expect(errnoOf(s.send(s.msg(dpF, 'set', 0, 0, named('d1', more)))[0])).toBe(errno);
    expect(emu.ovs.net.dps[0].userFeatures).toBe(before.userFeatures);
    expect(emu.ovs.net.dps[0].masksCacheSize).toBe(before.masksCacheSize);
  });

  it('lookup by name only finds local ports; by header ifindex otherwise', () => {
    s.send(s.msg(vpF, 'new', 0, emu.ovs.net.dps[0].ifindex, (w) => w.attrString(3, 'int1').attrU32(2, 2).attrU32(5, 0)));
    expect(errnoOf(s.send(s.msg(dpF, 'get', 0, 0, named('int1')))[0])).toBe(19);
    expect(s.send(s.msg(dpF, 'get', 0, emu.ovs.net.dps[0].ifindex))).toHaveLength(1);
    expect(errnoOf(s.send(s.msg(dpF, 'get', 0, 12345))[0])).toBe(19);
  });

  it('vport dump of a missing datapath → NLMSG_DONE carrying -ENODEV', () => {
    const r = messages(s.send(s.msg(vpF, 'get', NLM_F.DUMP, 4242)));
    expect(r).toHaveLength(1);
    expect(r[0].type).toBe(NLMSG_DONE);
    expect(doneErrno(r[0])).toBe(19);
  });

  it('a dump while another runs on the socket → EBUSY; NLM_F_ACK on a dump start is not answered', () => {
    const t = new TestSocket(emu);
    t.capacity = 0; // nothing can be read: the dump stays pending
    t.sock.send(t.msg(dpF, 'get', NLM_F.DUMP | NLM_F.ACK, 0), 0);
    t.capacity = Infinity;
    const second = t.send(t.msg(dpF, 'get', NLM_F.DUMP, 0));
    expect(second.map((d) => d.readUInt16LE(4))).toContain(2);
    expect(errnoOf(second.find((d) => d.readUInt16LE(4) === 2)!)).toBe(16);
  });

  it('NETLINK_CAP_ACK: errors echo only the request header and carry NLM_F_CAPPED', () => {
    const t = new TestSocket(emu).setOpt(NETLINK_OPT.CAP_ACK, 1);
    const req = t.msg(dpF, 'get', 0, 0, named('nonesuch'));
    const [r] = t.send(req);
    expect(r.readUInt16LE(6)).toBe(NLM_F.CAPPED);
    expect(r.length).toBe(16 + 4 + 16);
    expect(r.subarray(20)).toEqual(req.subarray(0, 16));
  });

  it('DEL tears down every port and notifies; the name is free again', () => {
    const r = s.send(s.msg(dpF, 'del', NLM_F.ECHO, 0, named('d1')));
    expect(r[0][16]).toBe(dpF.op('del').cmd);
    expect(listener.queue.splice(0).map((d) => d[16])).toContain(dpF.op('del').cmd);
    expect(emu.ovs.net.dps).toHaveLength(0);
    expect(s.send(s.msg(dpF, 'new', 0, 0, named('int1', (w) => w.attrU32(A('upcall-pid'), 0))))).toEqual([]);
  });
});
