/**
 * ovs_vport commands: one case per kernel errno path of ovs_vport_cmd_{new,set,del,get} and
 * lookup_vport() (net/openvswitch/datapath.c, vport*.c, Linux 6.12), plus reply contents.
 */
import { NLM_F } from '../../../lib/nl/constants';
import { splitDatagram } from '../../../lib/nl/message';
import type { NlWriter } from '../../../lib/nl/writer';
import { ARPHRD_ETHER, zeroStats, type HostDevice, type HostNetdevs } from '../../../lib/ovs/netdev';
import { forEachAttr } from '../../../lib/schema/validate';
import { emulator, errnoOf, TestSocket } from '../../helpers/nltest';

const dev = (name: string, ifindex: number, extra: Partial<HostDevice> = {}): HostDevice => ({
  name, ifindex, arphrd: ARPHRD_ETHER, loopback: false, hasMaster: false, stats: zeroStats, ...extra,
});
const HOST: Record<string, HostDevice> = {
  lo: dev('lo', 1, { loopback: true, arphrd: 772 }),
  eth9: dev('eth9', 2),
  eth8: dev('eth8', 3),
  ppp0: dev('ppp0', 4, { arphrd: 512 }),
  enslaved: dev('enslaved', 5, { hasMaster: true }),
};
const host: HostNetdevs = { lookup: (n) => HOST[n], maxIfindex: () => 9 };

const emu = emulator({ host, cpus: 4 });
const dpF = emu.registry.family('ovs_datapath');
const vpF = emu.registry.family('ovs_vport');
const A = (n: string): number => vpF.set('vport').byName.get(n)!.type;
const T = (n: string): number => vpF.enumValue('vport-type', n);
const s = new TestSocket(emu);
s.send(s.msg(dpF, 'new', 0, 0, (w) => w.attrString(1, 'vdp').attrU32(2, 7)));
const dpIfindex = emu.ovs.net.dps[0].ifindex;

const vnew = (fill: (w: NlWriter) => void, flags = 0, ifindex = dpIfindex): number | Buffer => {
  const r = s.send(s.msg(vpF, 'new', flags, ifindex, fill));
  if (!r.length) return 0;
  return r[0].readUInt16LE(4) === 2 ? errnoOf(r[0]) : r[0];
};
const port = (name: string, type = T('netdev'), more?: (w: NlWriter) => void) => (w: NlWriter): void => {
  w.attrString(A('name'), name).attrU32(A('type'), type).attrU32(A('upcall-pid'), 0);
  more?.(w);
};

describe('vport new', () => {
  it.each<[string, (w: NlWriter) => void, number, number | null]>([
    ['without upcall-pid → EINVAL', (w) => w.attrString(A('name'), 'x').attrU32(A('type'), T('internal')), 22, null],
    ['ifindex on a non-internal type → EOPNOTSUPP', port('eth9', T('netdev'), (w) => w.attrS32(A('ifindex'), 40)), 95, null],
    ['port number 65535 (DP_MAX_PORTS) → EFBIG', port('eth9', T('netdev'), (w) => w.attrU32(A('port-no'), 65535)), 27, null],
    ['missing datapath → ENODEV', port('eth9'), 19, 999],
    ['port-no 0 asks for the lowest free number (eth9 becomes port 1)', port('eth9', T('netdev'), (w) => w.attrU32(A('port-no'), 0)), 0, null],
    ['unknown vport type → EAFNOSUPPORT', port('eth9', 77), 97, null],
    ['netdev that does not exist → ENODEV', port('nosuch0'), 19, null],
    ['loopback as netdev → EINVAL', port('lo'), 22, null],
    ['non-Ethernet device → EINVAL', port('ppp0'), 22, null],
    ['device that already has a master → EBUSY', port('enslaved'), 16, null],
    ['the datapath\'s own internal device as netdev → EINVAL', port('vdp'), 22, null],
    ['internal port named like an existing interface → EEXIST', port('eth8', T('internal')), 17, null],
    ['internal port with an invalid name → EINVAL', port('a/b', T('internal')), 22, null],
    ['upcall-pid of 3 bytes → EINVAL', (w) => w.attrString(A('name'), 'q1').attrU32(A('type'), T('internal')).attr(A('upcall-pid'), Buffer.alloc(3)), 22, null],
    ['more upcall pids than CPUs → EINVAL', (w) => w.attrString(A('name'), 'q2').attrU32(A('type'), T('internal')).attr(A('upcall-pid'), Buffer.alloc(20)), 22, null],
    ['vxlan without options → EINVAL', port('vx0', T('vxlan')), 22, null],
    ['geneve with a 4-byte dst-port → EINVAL', port('gnv0', T('geneve'), (w) => w.nestStart(A('options')).attrU32(1, 6081).nestEnd()), 22, null],
  ])('%s', (_name, fill, errno, ifindex) => {
    const before = [...emu.ovs.net.dps[0].ports.keys()];
    expect(vnew(fill, 0, ifindex ?? dpIfindex)).toBe(errno);
    if (errno) expect([...emu.ovs.net.dps[0].ports.keys()]).toEqual(before);
  });

  it('explicit port number already used → EBUSY', () => {
    expect(vnew(port('eth8', T('netdev'), (w) => w.attrU32(A('port-no'), 7)))).toBe(0);
    expect(vnew(port('eth9', T('netdev'), (w) => w.attrU32(A('port-no'), 7)))).toBe(16);
    expect(vnew(port('eth8'))).toBe(17); // attached to this datapath already: EEXIST (kernel capture: vport_new_netdev_again)
  });

  it('auto port numbers fill the lowest gap; vxlan reply carries OPTIONS {dst-port, extension{gbp}}', () => {
    const r = vnew(port('vx1', T('vxlan'), (w) => w.nestStart(A('options')).attrU16(1, 4789).nestStart(2).attrFlag(1).nestEnd().nestEnd()), NLM_F.ECHO);
    expect(Buffer.isBuffer(r)).toBe(true);
    const msg = [...splitDatagram(r as Buffer)][0];
    const attrs = new Map<number, Buffer>();
    forEachAttr(msg.bytes.subarray(24), 24, (a) => attrs.set(a.type, a.payload));
    expect(attrs.get(A('port-no'))?.readUInt32LE(0)).toBe(2);
    expect(attrs.get(A('type'))?.readUInt32LE(0)).toBe(T('vxlan'));
    // OPTIONS = { DST_PORT u16 4789 (padded), EXTENSION { GBP flag } }
    expect(attrs.get(A('options'))?.toString('hex')).toBe('06000100b512000008000200' + '04000100');
    expect([...attrs.keys()]).toEqual([A('port-no'), A('type'), A('name'), A('ifindex'), A('stats'), A('upcall-stats'), A('upcall-pid'), A('options')]);
  });

  it('gre needs no options and reports none', () => {
    const r = vnew(port('gre0', T('gre')), NLM_F.ECHO) as Buffer;
    const attrs = new Map<number, Buffer>();
    forEachAttr([...splitDatagram(r)][0].bytes.subarray(24), 24, (a) => attrs.set(a.type, a.payload));
    expect(attrs.has(A('options'))).toBe(false);
    expect(attrs.get(A('port-no'))?.readUInt32LE(0)).toBe(3);
  });

  it('a compat tunnel\'s device as netdev → EBUSY (the datapath is its master)', () => {
    expect(vnew(port('gre0'))).toBe(16);
  });
});

describe('vport lookup, set, del', () => {
  const req = (cmd: string, fill: (w: NlWriter) => void, ifindex = dpIfindex): number | Buffer => {
    const r = s.send(s.msg(vpF, cmd, NLM_F.ECHO, ifindex, fill));
    return r[0].readUInt16LE(4) === 2 ? errnoOf(r[0]) : r[0];
  };
  it.each<[string, string, (w: NlWriter) => void, number, number | null]>([
    ['get with IFINDEX → EOPNOTSUPP', 'get', (w) => w.attrString(A('name'), 'vdp').attrS32(A('ifindex'), 3), 95, null],
    ['get with neither name nor port → EINVAL', 'get', () => undefined, 22, null],
    ['get by name in another datapath ifindex → ENODEV', 'get', (w) => w.attrString(A('name'), 'vdp'), 19, 4242],
    ['get port 70000 → EFBIG', 'get', (w) => w.attrU32(A('port-no'), 70000), 27, null],
    ['get a free port number → ENODEV', 'get', (w) => w.attrU32(A('port-no'), 99), 19, null],
    ['set with another type → EINVAL', 'set', (w) => w.attrU32(A('port-no'), 7).attrU32(A('type'), T('internal')), 22, null],
    ['set with options → EOPNOTSUPP', 'set', (w) => w.attrU32(A('port-no'), 7).nestStart(A('options')).nestEnd(), 95, null],
    ['del of the local port → EINVAL', 'del', (w) => w.attrU32(A('port-no'), 0), 22, null],
  ])('%s', (_n, cmd, fill, errno, ifindex) => {
    expect(req(cmd, fill, ifindex ?? dpIfindex)).toBe(errno);
  });

  it('set replaces the upcall pids; without VPORT_PIDS the reply carries the first as one u32', () => {
    const r = req('set', (w) => w.attrU32(A('port-no'), 7).attr(A('upcall-pid'), Buffer.from('0900000008000000', 'hex'))) as Buffer;
    expect(emu.ovs.net.dps[0].ports.get(7)?.upcallPids).toEqual([9, 8]);
    const attrs = new Map<number, Buffer>();
    forEachAttr([...splitDatagram(r)][0].bytes.subarray(24), 24, (a) => attrs.set(a.type, a.payload));
    expect(attrs.get(A('upcall-pid'))?.toString('hex')).toBe('09000000');
  });

  it('del by name frees the netdev for another datapath port', () => {
    expect(Buffer.isBuffer(req('del', (w) => w.attrString(A('name'), 'eth8')))).toBe(true);
    expect(vnew(port('eth8'))).toBe(0);
  });
});
