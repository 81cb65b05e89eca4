/**
 * The psample family against the real 6.12 kernel's bytes (test/fixtures/psample, from the
 * oracle's run of the kernel selftest `psample`): nlctrl's description of the family, and the
 * PSAMPLE_CMD_SAMPLE messages the OVS psample action multicasts to the "packets" group: the
 * same attributes in the same order, lengths and padding; only the CLOCK_REALTIME timestamp
 * differs from run to run.
 */
import * as fs from 'fs';
import * as path from 'path';
import { NETLINK_OPT } from '../../lib/nl/constants';
import { psampleSampleMessage } from '../../lib/psample/psample';
import { forEachAttr } from '../../lib/schema/validate';
import { emulator, TestSocket } from '../helpers/nltest';
import { key, num, u32 } from '../unit/ovs/odp-build';

const FIX = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'psample', 'kernel-6.12-psample.json'), 'utf8')) as { getfamily: string; samples: string[] };
const hex = (s: string): Buffer => Buffer.from(s, 'hex');

/** The attributes of a genl message (after nlmsghdr + genlmsghdr), by type. */
function attrsOf(msg: Buffer): Map<number, Buffer> {
  const m = new Map<number, Buffer>();
  forEachAttr(msg.subarray(20), 20, (a) => m.set(a.type, a.payload));
  return m;
}
/** The message with the TIMESTAMP payload (attribute 13) zeroed. */
function noTimestamp(msg: Buffer): Buffer {
  const out = Buffer.from(msg);
  forEachAttr(out.subarray(20), 20, (a) => {
    if (a.type === 13) a.payload.fill(0);
  });
  return out;
}

describe('psample against the 6.12 kernel', () => {
  const emu = emulator();
  const fam = emu.registry.family('psample');

  it('nlctrl GETFAMILY psample: the kernel\'s reply (id 0x23, version 1, GET_GROUP dump only, groups config/packets)', () => {
    const s = new TestSocket(emu);
    const ctrl = emu.registry.family('nlctrl');
    const kernel = hex(FIX.getfamily);
    const req = s.msg(ctrl, 'getfamily', 0, undefined, (w) => w.attrString(ctrl.set('ctrl-attrs').byName.get('family-name')!.type, 'psample'));
    const [reply] = s.send(req);
    // The kernel's reply went to seq 0 from pid 29362642; ours answers this request.
    const want = Buffer.from(kernel);
    want.writeUInt32LE(req.readUInt32LE(8), 8);
    want.writeUInt32LE(s.sock.portid, 12);
    expect(reply.toString('hex')).toBe(want.toString('hex'));
  });

  it.each(FIX.samples.map((h, i) => [i + 1, h] as const))('sample %d: psample_sample_packet() builds the kernel\'s message', (_i, h) => {
    const kernel = hex(h);
    const a = attrsOf(kernel);
    const data = a.get(6)!;
    const origsize = a.get(2)!.readUInt32LE(0);
    // The frame as the datapath had it: origsize bytes, of which the kernel sent the first data.length.
    const frame = Buffer.concat([data, Buffer.alloc(origsize - data.length)]);
    const msg = psampleSampleMessage(fam, { groupNum: a.get(3)!.readUInt32LE(0), seq: 0 }, frame, a.get(14)!.readUInt16LE(0), a.get(5)!.readUInt32LE(0),
      { inIfindex: a.get(0)!.readUInt16LE(0), truncSize: data.length, userCookie: a.get(15), rateAsProbability: a.has(16) }, a.get(13)!.readBigUInt64LE(0));
    expect(msg.toString('hex')).toBe(kernel.toString('hex'));
  });

  it('the psample action of an executed packet reaches a "packets" listener as the kernel sent it', () => {
    const s = new TestSocket(emu);
    const dpF = emu.registry.family('ovs_datapath');
    const vpF = emu.registry.family('ovs_vport');
    const pkF = emu.registry.family('ovs_packet');
    s.send(s.msg(dpF, 'new', 0, 0, (w) => w.attrString(1, 'psample').attrU32(2, 0)));
    const dp = emu.ovs.net.dps[emu.ovs.net.dps.length - 1];
    const V = (n: string): number => vpF.set('vport').byName.get(n)!.type;
    // Ports 1 and 2 with the ifindexes the kernel's c0 and s0 had.
    for (const [name, ifindex] of [['c0', 43], ['s0', 45]] as const) {
      s.send(s.msg(vpF, 'new', 0, dp.ifindex, (w) => w.attrString(V('name'), name).attrU32(V('type'), vpF.enumValue('vport-type', 'internal'))
        .attrU32(V('upcall-pid'), 0).attrS32(V('ifindex'), ifindex)));
    }
    const listener = new TestSocket(emu).setOpt(NETLINK_OPT.ADD_MEMBERSHIP, fam.mcastGroups.find((g) => g.name === 'packets')!.id);
    // Sample 2: the echo reply from s0 (port 2), whole, group 2, cookie eeff0c.
    const kernel = hex(FIX.samples[1]);
    const frame = attrsOf(kernel).get(6)!;
    const P = (n: string): number => pkF.set('packet-attrs').byName.get(n)!.type;
    const k = key([['in-port', u32(2)], ['ethernet', Buffer.concat([frame.subarray(6, 12), frame.subarray(0, 6)])], ['ethertype', Buffer.from([8, 0])]]);
    const psample = Buffer.concat([
      Buffer.from([8, 0, num('psample-attrs', 'group'), 0]), u32(2),
      Buffer.from([7, 0, num('psample-attrs', 'cookie'), 0]), hex('eeff0c00'),
    ]);
    // nla_parse_nested() (strict) wants NLA_F_NESTED on the action, as ovs-dpctl.py sets it.
    const action = Buffer.concat([Buffer.alloc(4), psample]);
    action.writeUInt16LE(action.length, 0);
    action.writeUInt16LE(num('action-attrs', 'psample') | 0x8000, 2);
    const r = s.send(s.msg(pkF, 'execute', 4, dp.ifindex, (w) => w.attr(P('packet'), frame).attr(P('key'), k).attr(P('actions'), action)));
    expect(r.map((d) => d.readInt32LE(16))).toEqual([0]);
    expect(listener.queue).toHaveLength(1);
    expect(noTimestamp(listener.queue[0]).toString('hex')).toBe(noTimestamp(kernel).toString('hex'));
  });
});
