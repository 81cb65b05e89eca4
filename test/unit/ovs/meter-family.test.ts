/**
 * ovs_meter commands (net/openvswitch/meter.c, Linux 6.12): OVS's probe sequence, every errno
 * path, the replies' content, permissions and the nlctrl description of the family.
 */
import { NETLINK_OPT, NLM_F } from '../../../lib/nl/constants';
import { splitDatagram } from '../../../lib/nl/message';
import type { NlWriter } from '../../../lib/nl/writer';
import { ovsMeterExecute } from '../../../lib/ovs/meter';
import { Skb } from '../../../lib/ovs/skb';
import { forEachAttr } from '../../../lib/schema/validate';
import { emulator, errnoOf, NOBODY, TestSocket } from '../../helpers/nltest';
import { readNetlinkPcap } from './odp-pcap';

const clock = { now: 1000 };
const emu = emulator({ host: { lookup: () => undefined, maxIfindex: () => 2 }, clock: () => clock.now, maxMeters: 4 });
const dpF = emu.registry.family('ovs_datapath');
const mF = emu.registry.family('ovs_meter');
const ctrl = emu.registry.family('nlctrl');
const M = (n: string): number => mF.set('meter-attrs').byName.get(n)!.type;
const B = (n: string): number => mF.set('band-attrs').byName.get(n)!.type;
const BAND = mF.set('band-list').byName.get('band')!.type;
const DROP = mF.enumValue('meter-band-type', 'drop');
const s = new TestSocket(emu);
const nobody = new TestSocket(emu, NOBODY);
const PROBE = NLM_F.ECHO; // dpif_netlink_meter_init(): NLM_F_REQUEST | NLM_F_ECHO

s.send(s.msg(dpF, 'new', 0, 0, (w) => w.attrString(dpF.set('datapath').byName.get('name')!.type, 'm0')
  .attrU32(dpF.set('datapath').byName.get('upcall-pid')!.type, 1)));
const dp = emu.ovs.net.dps[0];
const DP = dp.ifindex;

interface Band { type?: number; rate?: number; burst?: number; nestType?: number }
function bands(w: NlWriter, ...bs: Band[]): void {
  w.nestStart(M('bands'));
  for (const b of bs) {
    w.nestStart(b.nestType ?? BAND);
    if (b.type !== undefined) w.attrU32(B('type'), b.type);
    if (b.rate !== undefined) w.attrU32(B('rate'), b.rate);
    if (b.burst !== undefined) w.attrU32(B('burst'), b.burst);
    w.nestEnd();
  }
  w.nestEnd();
}
const dropBand = (rate = 1, burst = 1): Band => ({ type: DROP, rate, burst });
const setBody = (id: number | undefined, more?: (w: NlWriter) => void, ...bs: Band[]) => (w: NlWriter): void => {
  if (id !== undefined) w.attrU32(M('id'), id);
  if (bs.length) bands(w, ...bs);
  more?.(w);
};
const idBody = (id: number) => (w: NlWriter): void => { w.attrU32(M('id'), id); };

/** Decoded reply: cmd, dp_ifindex and the attributes in order (type, payload). */
interface Reply { cmd: number; dpIfindex: number; attrs: [number, Buffer][] }
function decode(dgram: Buffer): Reply {
  const m = [...splitDatagram(dgram)][0];
  expect(m.type).toBe(mF.familyId);
  const attrs: [number, Buffer][] = [];
  forEachAttr(m.bytes.subarray(24), 24, (a) => { attrs.push([a.type, a.payload]); });
  return { cmd: m.bytes[16], dpIfindex: m.bytes.readInt32LE(20), attrs };
}
const typesOf = (r: Reply): number[] => r.attrs.map(([t]) => t);
const u32Of = (r: Reply, t: number): number | undefined => r.attrs.find(([x]) => x === t)?.[1].readUInt32LE(0);
const statsOf = (p: Buffer): [bigint, bigint] => [p.readBigUInt64LE(0), p.readBigUInt64LE(8)];
function bandStats(r: Reply): [bigint, bigint][] {
  const list = r.attrs.find(([t]) => t === M('bands'))![1];
  const out: [bigint, bigint][] = [];
  forEachAttr(list, 0, (band) => forEachAttr(band.payload, 0, (a) => { if (a.type === B('stats')) out.push(statsOf(a.payload)); }));
  return out;
}

describe('OVS probe_broken_meters__() then FEATURES (REQUEST|ECHO, as dpif-netlink sends)', () => {
  const probe = (id: number) => setBody(id, (w) => w.attrFlag(M('kbps')), dropBand(1, 1));

  it('SET 54545401 and 54545402: each answered with a SET reply holding only the id', () => {
    for (const id of [54545401, 54545402]) {
      const r = s.send(s.msg(mF, 'set', PROBE, DP, probe(id)));
      expect(r).toHaveLength(1);
      const d = decode(r[0]);
      expect([d.cmd, d.dpIfindex, d.attrs]).toEqual([mF.op('set').cmd, DP, [[M('id'), Buffer.from(new Uint32Array([id]).buffer)]]]);
    }
  });

  it('GET both: both exist (no "broken meters"), with zero stats, USED = creation time and one band', () => {
    for (const id of [54545401, 54545402]) {
      const d = decode(s.send(s.msg(mF, 'get', PROBE, DP, idBody(id)))[0]);
      expect(typesOf(d)).toEqual([M('id'), M('stats'), M('used'), M('bands')]);
      expect(u32Of(d, M('id'))).toBe(id);
      expect(d.attrs[2][1].readBigUInt64LE(0)).toBe(1000n);
      expect(bandStats(d)).toEqual([[0n, 0n]]);
    }
  });

  it('DEL both: the reply carries the deleted meter\'s stats; the meters are gone', () => {
    for (const id of [54545401, 54545402]) {
      const d = decode(s.send(s.msg(mF, 'del', PROBE, DP, idBody(id)))[0]);
      expect(d.cmd).toBe(mF.op('del').cmd);
      expect(typesOf(d)).toEqual([M('id'), M('stats'), M('used'), M('bands')]);
      expect(dp.meters.lookup(id)).toBeUndefined();
    }
    expect(dp.meters.count).toBe(0);
  });

  it('FEATURES: MAX_METERS (the emulator option), MAX_BANDS 1, BANDS{ {TYPE DROP} }', () => {
    const d = decode(s.send(s.msg(mF, 'features', PROBE, DP))[0]);
    expect(typesOf(d)).toEqual([M('max-meters'), M('max-bands'), M('bands')]);
    expect([u32Of(d, M('max-meters')), u32Of(d, M('max-bands'))]).toEqual([4, 1]);
    const list = d.attrs[2][1];
    expect(list).toEqual(Buffer.from([12, 0, BAND, 0, 8, 0, B('type'), 0, DROP, 0, 0, 0]));
  });
});

describe('errno paths', () => {
  beforeAll(() => {
    s.send(s.msg(mF, 'set', 0, DP, setBody(1, undefined, dropBand())));
  });
  const bad = DP + 100;
  it.each<[string, string, number, (w: NlWriter) => void, number]>([
    ['FEATURES on an unknown datapath → ENODEV', 'features', bad, () => undefined, 19],
    ['SET without ID → EINVAL', 'set', DP, setBody(undefined, undefined, dropBand()), 22],
    ['SET without BANDS → EINVAL', 'set', DP, setBody(3), 22],
    ['SET with two bands → EINVAL', 'set', DP, setBody(3, undefined, dropBand(), dropBand()), 22],
    ['SET with rate 0 → EINVAL', 'set', DP, setBody(3, undefined, dropBand(0, 1)), 22],
    ['SET with a band without TYPE → EINVAL', 'set', DP, setBody(3, undefined, { rate: 1, burst: 1 }), 22],
    ['SET with a band without RATE → EINVAL', 'set', DP, setBody(3, undefined, { type: DROP, burst: 1 }), 22],
    ['SET with a band without BURST → EINVAL', 'set', DP, setBody(3, undefined, { type: DROP, rate: 1 }), 22],
    ['SET with two bands on an unknown datapath → EINVAL (bands are checked first)', 'set', bad, setBody(3, undefined, dropBand(), dropBand()), 22],
    ['SET on an unknown datapath → ENODEV', 'set', bad, setBody(3, undefined, dropBand()), 19],
    ['SET of id 1025 while 1 holds slot 1 → EBUSY', 'set', DP, setBody(1025, undefined, dropBand()), 16],
    ['SET with a 2-byte RATE in the band → ERANGE', 'set', DP, (w) => {
      w.attrU32(M('id'), 3).nestStart(M('bands')).nestStart(BAND).attrU32(B('type'), DROP).attrU16(B('rate'), 1).attrU32(B('burst'), 1).nestEnd().nestEnd();
    }, 34],
    ['GET without ID → EINVAL', 'get', DP, () => undefined, 22],
    ['GET without ID on an unknown datapath → EINVAL', 'get', bad, () => undefined, 22],
    ['GET on an unknown datapath → ENODEV', 'get', bad, idBody(1), 19],
    ['GET of an unknown id → ENOENT', 'get', DP, idBody(777), 2],
    ['GET of 1025 (slot 1 holds meter 1) → ENOENT', 'get', DP, idBody(1025), 2],
    ['DEL without ID → EINVAL', 'del', DP, () => undefined, 22],
    ['DEL on an unknown datapath → ENODEV', 'del', bad, idBody(1), 19],
  ])('%s', (_n, op, dpIfindex, body, errno) => {
    const before = dp.meters.occupied().map((o) => [o.slot, o.meter]);
    const r = s.send(s.msg(mF, op, NLM_F.ACK, dpIfindex, body));
    expect(r).toHaveLength(1);
    expect(errnoOf(r[0])).toBe(errno);
    expect(dp.meters.occupied().map((o) => [o.slot, o.meter])).toEqual(before); // nothing changed
  });

  it('the table full (count would reach max_meters_allowed 4) → EFBIG', () => {
    for (const id of [2, 3]) s.send(s.msg(mF, 'set', 0, DP, setBody(id, undefined, dropBand())));
    expect(errnoOf(s.send(s.msg(mF, 'set', NLM_F.ACK, DP, setBody(4, undefined, dropBand())))[0])).toBe(27);
    // Replacing an existing meter still works at the limit.
    expect(errnoOf(s.send(s.msg(mF, 'set', NLM_F.ACK, DP, setBody(3, undefined, dropBand(5, 5))))[1])).toBe(0);
    for (const id of [2, 3]) s.send(s.msg(mF, 'del', 0, DP, idBody(id)));
  });

  it('DEL of an unknown id succeeds; its reply holds the ovs_header alone', () => {
    const r = s.send(s.msg(mF, 'del', NLM_F.ACK, DP, idBody(777)));
    expect(r).toHaveLength(2);
    expect(decode(r[0])).toEqual({ cmd: mF.op('del').cmd, dpIfindex: DP, attrs: [] });
    expect(errnoOf(r[1])).toBe(0);
  });

  it('SET and DEL need CAP_NET_ADMIN (EPERM); GET and FEATURES do not', () => {
    expect(errnoOf(nobody.send(nobody.msg(mF, 'set', 0, DP, setBody(9, undefined, dropBand())))[0])).toBe(1);
    expect(errnoOf(nobody.send(nobody.msg(mF, 'del', 0, DP, idBody(1)))[0])).toBe(1);
    expect(decode(nobody.send(nobody.msg(mF, 'get', 0, DP, idBody(1)))[0]).cmd).toBe(mF.op('get').cmd);
    expect(decode(nobody.send(nobody.msg(mF, 'features', 0, DP))[0]).cmd).toBe(mF.op('features').cmd);
  });
});

describe('replies and state', () => {
  it('every command replies without ECHO or ACK; nothing is multicast to the ovs_meter group', () => {
    const listener = new TestSocket(emu);
    listener.setOpt(NETLINK_OPT.ADD_MEMBERSHIP, mF.mcastGroups[0].id);
    expect(s.send(s.msg(mF, 'set', 0, DP, setBody(20, undefined, dropBand())))).toHaveLength(1);
    expect(s.send(s.msg(mF, 'get', 0, DP, idBody(20)))).toHaveLength(1);
    expect(s.send(s.msg(mF, 'del', 0, DP, idBody(20)))).toHaveLength(1);
    expect(s.send(s.msg(mF, 'features', 0, DP))).toHaveLength(1);
    expect(listener.queue).toEqual([]);
  });

  it('SET of an existing meter answers with the old meter\'s stats (ID twice); the new one starts at 0', () => {
    clock.now = 2000;
    s.send(s.msg(mF, 'set', 0, DP, setBody(30, (w) => w.attr(M('stats'), Buffer.from('07000000000000008403000000000000', 'hex')), dropBand(1, 1))));
    clock.now = 2500;
    expect(ovsMeterExecute(dp, new Skb(Buffer.alloc(60)), undefined, 30, clock.now)).toBe(false);
    expect(ovsMeterExecute(dp, new Skb(Buffer.alloc(60)), undefined, 30, clock.now)).toBe(true);
    clock.now = 3000;
    const d = decode(s.send(s.msg(mF, 'set', 0, DP, setBody(30, undefined, dropBand(2, 2))))[0]);
    expect(typesOf(d)).toEqual([M('id'), M('id'), M('stats'), M('used'), M('bands')]);
    expect(statsOf(d.attrs[2][1])).toEqual([9n, 1020n]); // 7/900 from STATS + 2 packets of 60
    expect(d.attrs[3][1].readBigUInt64LE(0)).toBe(2500n); // the last packet
    expect(bandStats(d)).toEqual([[1n, 60n]]);
    const g = decode(s.send(s.msg(mF, 'get', 0, DP, idBody(30)))[0]);
    expect(statsOf(g.attrs[1][1])).toEqual([0n, 0n]);
    expect(g.attrs[2][1].readBigUInt64LE(0)).toBe(3000n);
  });

  it('SET with CLEAR: the next SET of that id replies with the id alone', () => {
    s.send(s.msg(mF, 'set', 0, DP, setBody(30, (w) => w.attrFlag(M('clear')), dropBand())));
    expect(typesOf(decode(s.send(s.msg(mF, 'set', 0, DP, setBody(30, undefined, dropBand())))[0]))).toEqual([M('id')]);
  });

  it('a band nest of any type counts as a band; an empty BANDS makes a meter without bands', () => {
    s.send(s.msg(mF, 'set', 0, DP, setBody(31, undefined, { ...dropBand(3, 4), nestType: 7 })));
    expect(dp.meters.lookup(31)?.bands).toMatchObject([{ type: DROP, rate: 3, burstSize: 4 }]);
    s.send(s.msg(mF, 'del', 0, DP, idBody(31))); // room under max_meters_allowed 4
    s.send(s.msg(mF, 'set', 0, DP, (w) => w.attrU32(M('id'), 32).nestStart(M('bands')).nestEnd()));
    const g = decode(s.send(s.msg(mF, 'get', 0, DP, idBody(32)))[0]);
    expect(g.attrs[3]).toEqual([M('bands'), Buffer.alloc(0)]);
  });

  it('meters belong to their datapath: a new datapath starts with an empty table', () => {
    s.send(s.msg(dpF, 'new', 0, 0, (w) => w.attrString(dpF.set('datapath').byName.get('name')!.type, 'm1')
      .attrU32(dpF.set('datapath').byName.get('upcall-pid')!.type, 1)));
    const dp2 = emu.ovs.net.dps.find((d) => d.name === 'm1')!;
    expect(errnoOf(s.send(s.msg(mF, 'get', 0, dp2.ifindex, idBody(32)))[0])).toBe(2);
    expect(dp2.meters.maxMetersAllowed).toBe(4);
  });
});

describe('nlctrl', () => {
  // Linux 6.12.117's CTRL_CMD_NEWFAMILY answer for ovs_meter in ../shared/captures/kernel-6.12-basic.pcap.
  it('GETFAMILY ovs_meter equals the kernel\'s reply after the genl header', () => {
    const recs = readNetlinkPcap(`${__dirname}/../../captures/kernel-6.12-basic.pcap`);
    const kernel = recs.find((r) => r.family === 'nlctrl' && !r.request && r.attrs.includes(Buffer.from('ovs_meter\0')));
    expect(kernel).toBeDefined();
    const nameAttr = ctrl.set('ctrl-attrs').byName.get('family-name')!.type;
    const r = s.send(s.msg(ctrl, 'getfamily', 0, undefined, (w) => w.attrString(nameAttr, 'ovs_meter')));
    expect(r[0].subarray(20).toString('hex')).toBe(kernel!.attrs.toString('hex'));
  });
});
