/**
 * Conntrack zone limits (net/openvswitch/conntrack.c, Linux 6.12): the per-namespace table and
 * the ovs_ct_limit commands as `ovs-appctl dpctl/ct-{set,get,del}-limits` use them.
 */
import { splitDatagram } from '../../../lib/nl/message';
import type { NlWriter } from '../../../lib/nl/writer';
import { CT_LIMIT_HASH_BUCKETS, CtLimitInfo, checkZoneId } from '../../../lib/ovs/ct-limit';
import { decodeStruct, encodeStruct } from '../../../lib/schema/struct';
import { emulator, errnoOf, NOBODY, TestSocket } from '../../helpers/nltest';
import { readNetlinkPcap } from './odp-pcap';

describe('CtLimitInfo', () => {
  it('a zone without its own limit has the default (0 = unlimited at first)', () => {
    const t = new CtLimitInfo();
    expect(t.limitOf(7)).toBe(0);
    t.defaultLimit = 10;
    t.set(5, 100);
    expect([t.limitOf(5), t.limitOf(7)]).toEqual([100, 10]);
    t.del(5);
    expect(t.limitOf(5)).toBe(10);
  });

  it('walks bucket by bucket (zone & 511), newest first within a bucket; a replaced zone keeps its place', () => {
    const t = new CtLimitInfo();
    for (const [z, l] of [[5, 1], [517, 2], [0, 3], [1029, 4]]) t.set(z, l);
    t.set(517, 20);
    expect(t.zones()).toEqual([{ zone: 0, limit: 3 }, { zone: 1029, limit: 4 }, { zone: 517, limit: 20 }, { zone: 5, limit: 1 }]);
    expect(CT_LIMIT_HASH_BUCKETS).toBe(512);
  });

  it.each<[number, boolean]>([[0, true], [65535, true], [65536, false], [-1, false], [-2, false]])('zone id %d valid: %s', (z, ok) => {
    expect(checkZoneId(z)).toBe(ok);
  });

  it('exceeds(): only once enabled, only for limited zones, only above the limit', () => {
    const t = new CtLimitInfo();
    t.set(5, 2);
    expect(t.exceeds(5, 3)).toBe(false);
    t.enabled = true;
    expect([t.exceeds(5, 2), t.exceeds(5, 3), t.exceeds(6, 1000)]).toEqual([false, true, false]);
    t.defaultLimit = 1;
    expect(t.exceeds(6, 2)).toBe(true);
  });
});

describe('ovs_ct_limit commands', () => {
  const emu = emulator({ host: { lookup: () => undefined, maxIfindex: () => 2 } });
  const F = emu.registry.family('ovs_ct_limit');
  const ZL = F.set('ct-limit-attrs').byName.get('zone-limit')!.type;
  const st = F.struct('ovs-zone-limit');
  const s = new TestSocket(emu);
  const info = emu.ovs.net.ctLimit;
  const zones = (...z: [number, number?][]) => (w: NlWriter): void => {
    w.attr(ZL, Buffer.concat(z.map(([zoneId, limit]) => encodeStruct(st, { 'zone-id': zoneId, limit: limit ?? 0 }))));
  };
  /** reply decodes a GET reply into [zone, limit, count] triples. */
  function reply(dgram: Buffer): { cmd: number; dpIfindex: number; zones: [number, number, number][] } {
    const m = [...splitDatagram(dgram)][0];
    expect(m.type).toBe(F.familyId);
    const out: [number, number, number][] = [];
    const body = m.bytes.subarray(24);
    if (body.length) {
      expect(body.readUInt16LE(2)).toBe(ZL);
      for (let off = 4; off < body.readUInt16LE(0); off += st.size) {
        const v = decodeStruct(st, body, off);
        out.push([v['zone-id'] as number, v.limit as number, v.count as number]);
      }
    }
    return { cmd: m.bytes[16], dpIfindex: m.bytes.readInt32LE(20), zones: out };
  }

  it('GET of a fresh namespace: the default zone alone, unlimited', () => {
    expect(reply(s.send(s.msg(F, 'get', 0, 0))[0]).zones).toEqual([[-1, 0, 0]]);
    expect(info.enabled).toBe(false);
  });

  it('ct-set-limits default=10 zone=5,limit=100 zone=70000: out-of-range zones are skipped; SET replies empty', () => {
    const r = s.send(s.msg(F, 'set', 0, 7, zones([-1, 10], [5, 100], [70000, 1])));
    expect(reply(r[0])).toEqual({ cmd: F.op('set').cmd, dpIfindex: 7, zones: [] });
    expect(info.enabled).toBe(true);
    expect([info.defaultLimit, info.limitOf(5), info.zones().length]).toEqual([10, 100, 1]);
  });

  it('GET reports counts from the conntrack callback (zones only; the default zone has none)', () => {
    info.count = (zone) => zone * 2;
    expect(reply(s.send(s.msg(F, 'get', 0, 0))[0]).zones).toEqual([[-1, 10, 0], [5, 100, 10]]);
    expect(reply(s.send(s.msg(F, 'get', 0, 0, zones([6], [-1], [5])))[0]).zones).toEqual([[6, 10, 12], [-1, 10, 0], [5, 100, 10]]);
    info.count = () => 0;
  });

  it('DEL of the default zone restores "unlimited"; DEL of a zone falls back to the default', () => {
    s.send(s.msg(F, 'del', 0, 0, zones([-1], [5])));
    expect(reply(s.send(s.msg(F, 'get', 0, 0))[0]).zones).toEqual([[-1, 0, 0]]);
  });

  it.each<[string, string, (w: NlWriter) => void, number]>([
    ['SET without ZONE_LIMIT → EINVAL', 'set', () => undefined, 22],
    ['DEL without ZONE_LIMIT → EINVAL', 'del', () => undefined, 22],
    ['SET with a 2-byte ZONE_LIMIT → ERANGE (NLA_NESTED policy)', 'set', (w) => w.attr(ZL, Buffer.alloc(2)), 34],
    ['GET with a 2-byte ZONE_LIMIT → ERANGE', 'get', (w) => w.attr(ZL, Buffer.alloc(2)), 34],
  ])('%s', (_n, op, body, errno) => {
    expect(errnoOf(s.send(s.msg(F, op, 0, 0, body))[0])).toBe(errno);
    expect(info.zones()).toEqual([]);
  });

  it('no datapath is needed: dp_ifindex is only copied into the reply', () => {
    expect(reply(s.send(s.msg(F, 'get', 0, 12345))[0]).dpIfindex).toBe(12345);
  });

  it('SET and DEL need CAP_NET_ADMIN (EPERM); GET does not', () => {
    const nobody = new TestSocket(emu, NOBODY);
    expect(errnoOf(nobody.send(nobody.msg(F, 'set', 0, 0, zones([5, 1])))[0])).toBe(1);
    expect(errnoOf(nobody.send(nobody.msg(F, 'del', 0, 0, zones([5])))[0])).toBe(1);
    expect(reply(nobody.send(nobody.msg(F, 'get', 0, 0))[0]).cmd).toBe(F.op('get').cmd);
  });

  it('limits belong to the emulated namespace: another emulator does not see them', () => {
    s.send(s.msg(F, 'set', 0, 0, zones([9, 9])));
    expect(emulator({ host: { lookup: () => undefined, maxIfindex: () => 2 } }).ovs.net.ctLimit.zones()).toEqual([]);
  });

  // Linux 6.12.117's CTRL_CMD_NEWFAMILY answer for ovs_ct_limit in ../shared/captures/kernel-6.12-basic.pcap.
  it('nlctrl GETFAMILY ovs_ct_limit equals the kernel\'s reply after the genl header', () => {
    const ctrl = emu.registry.family('nlctrl');
    const recs = readNetlinkPcap(`${__dirname}/../../captures/kernel-6.12-basic.pcap`);
    const kernel = recs.find((r) => r.family === 'nlctrl' && !r.request && r.attrs.includes(Buffer.from('ovs_ct_limit\0')));
    expect(kernel).toBeDefined();
    const r = s.send(s.msg(ctrl, 'getfamily', 0, undefined, (w) => w.attrString(ctrl.set('ctrl-attrs').byName.get('family-name')!.type, 'ovs_ct_limit')));
    expect(r[0].subarray(20).toString('hex')).toBe(kernel!.attrs.toString('hex'));
  });
});
