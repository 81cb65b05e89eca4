/**
 * One case per failure mode of the genl core and the liberal attribute walker, asserting the
 * errno and the extack TLVs the kernel (lib/nlattr.c, net/netlink/genetlink.c, Linux 6.12)
 * sends for it.
 */
import { NLMSGERR_ATTR, NLM_F, NL_ATTR_TYPE, NL_POLICY_TYPE_ATTR } from '../../../lib/nl/constants';
import { splitDatagram } from '../../../lib/nl/message';
import { NlWriter } from '../../../lib/nl/writer';
import { forEachAttr } from '../../../lib/schema/validate';
import { emulator, errnoOf, NOBODY, TestSocket } from '../../helpers/nltest';

const emu = emulator({ host: { lookup: () => undefined, maxIfindex: () => 2 } });
const dp = emu.registry.family('ovs_datapath');
const ctrl = emu.registry.family('nlctrl');
const nameAttr = dp.set('datapath').byName.get('name')!.type;
const pidAttr = dp.set('datapath').byName.get('upcall-pid')!.type;
const cacheAttr = dp.set('datapath').byName.get('masks-cache-size')!.type;

/** tlvs decodes the extack TLVs of an NLMSG_ERROR datagram. */
function tlvs(dgram: Buffer): Map<number, Buffer> {
  const m = [...splitDatagram(dgram)][0];
  const capped = (m.flags & NLM_F.CAPPED) !== 0;
  const echoed = m.bytes.readUInt32LE(20);
  const start = 20 + (capped ? 16 : echoed);
  const out = new Map<number, Buffer>();
  forEachAttr(m.bytes.subarray(start), 0, (a) => out.set(a.type, a.payload));
  return out;
}

function dpNew(s: TestSocket, fill: (w: NlWriter) => void, flags = 0): Buffer {
  return s.msg(dp, 'new', flags, 0, fill);
}

describe('genl core errors', () => {
  it('unknown family id → ENOENT', () => {
    const s = new TestSocket(emu);
    const w = new NlWriter().beginMessage(0x7f, NLM_F.REQUEST, 1, s.sock.portid).genlHeader(1, 1).raw(Buffer.alloc(4));
    const [r] = s.send(w.endMessage().finish());
    expect(errnoOf(r)).toBe(2);
  });

  it('message shorter than genl + ovs header → EINVAL', () => {
    const s = new TestSocket(emu);
    const w = new NlWriter().beginMessage(dp.familyId, NLM_F.REQUEST, 1, s.sock.portid).genlHeader(3, 2);
    const [r] = s.send(w.endMessage().finish());
    expect(errnoOf(r)).toBe(22);
  });

  it('unknown command → EOPNOTSUPP', () => {
    const s = new TestSocket(emu);
    const w = new NlWriter().beginMessage(ctrl.familyId, NLM_F.REQUEST, 1, s.sock.portid).genlHeader(7, 1);
    expect(errnoOf(s.send(w.endMessage().finish())[0])).toBe(95);
  });

  it('command ≥ resv_start_op with reserved bits → EINVAL "genlmsghdr.reserved field is not 0"', () => {
    const s = new TestSocket(emu).extAck();
    const w = new NlWriter().beginMessage(dp.familyId, NLM_F.REQUEST, 1, s.sock.portid).genlHeader(9, 2);
    const m = w.endMessage().finish();
    m.writeUInt16LE(1, 18); // genlmsghdr.reserved
    m.writeUInt32LE(m.length + 4, 0);
    const r = s.send(Buffer.concat([m, Buffer.alloc(4)]))[0];
    expect(errnoOf(r)).toBe(22);
    expect(tlvs(r).get(NLMSGERR_ATTR.MSG)?.toString()).toBe('genlmsghdr.reserved field is not 0\0');
  });

  it('do on a dump-only or do-only op with the wrong mode → EOPNOTSUPP', () => {
    const s = new TestSocket(emu);
    expect(errnoOf(s.send(s.msg(dp, 'new', NLM_F.DUMP, 0))[0])).toBe(95);
  });

  it('mutating command from a peer without CAP_NET_ADMIN → EPERM, nothing created', () => {
    const s = new TestSocket(emu, NOBODY);
    const [r] = s.send(dpNew(s, (w) => w.attrString(nameAttr, 'nopriv').attrU32(pidAttr, 0)));
    expect(errnoOf(r)).toBe(1);
    expect(emu.ovs.net.dps.map((d) => d.name)).not.toContain('nopriv');
  });

  it('GET from an unprivileged peer is allowed (→ ENODEV for a missing dp)', () => {
    const s = new TestSocket(emu, NOBODY);
    expect(errnoOf(s.send(s.msg(dp, 'get', 0, 0, (w) => w.attrString(nameAttr, 'none')))[0])).toBe(19);
  });

  it('message without NLM_F_REQUEST is not handled; ACKed only with NLM_F_ACK', () => {
    const s = new TestSocket(emu);
    const m = s.msg(dp, 'get', 0, 0);
    m.writeUInt16LE(NLM_F.ACK, 6);
    const [r] = s.send(m);
    expect(errnoOf(r)).toBe(0);
    m.writeUInt16LE(0, 6);
    expect(s.send(m)).toEqual([]);
  });

  it('two requests in one datagram get two reply datagrams, in order', () => {
    const s = new TestSocket(emu);
    const a = s.msg(dp, 'get', NLM_F.ACK, 0, (w) => w.attrString(nameAttr, 'x1'));
    const b = s.msg(ctrl, 'getfamily', 0, undefined, (w) => w.attrString(2, 'nosuch'));
    const r = s.send(Buffer.concat([a, b]));
    expect(r.map(errnoOf)).toEqual([19, 2]);
  });

  it('a truncated trailing message is ignored like netlink_rcv_skb does', () => {
    const s = new TestSocket(emu);
    const a = s.msg(dp, 'get', 0, 0, (w) => w.attrString(nameAttr, 'x1'));
    expect(s.send(Buffer.concat([a, a.subarray(0, 20)])).map(errnoOf)).toEqual([19]);
  });
});

describe('liberal attribute parsing (nla_parse_deprecated)', () => {
  const s = new TestSocket(emu).extAck();
  const base = 20; // nlmsghdr + genlmsghdr + ovs_header = 24; attributes start there

  it('dp new without upcall-pid → EINVAL (no extack)', () => {
    const r = s.send(dpNew(s, (w) => w.attrString(nameAttr, 'a')))[0];
    expect(errnoOf(r)).toBe(22);
    expect([...tlvs(r).keys()]).toEqual([]);
  });

  it('u32 attribute of 2 bytes → ERANGE with offset and u32 policy', () => {
    const r = s.send(dpNew(s, (w) => w.attrString(nameAttr, 'a').attr(pidAttr, Buffer.alloc(2))))[0];
    expect(errnoOf(r)).toBe(34);
    const t = tlvs(r);
    expect(t.get(NLMSGERR_ATTR.MSG)?.toString()).toBe('Attribute failed policy validation\0');
    expect(t.get(NLMSGERR_ATTR.OFFS)?.readUInt32LE(0)).toBe(base + 4 + 8);
    const pol = new Map<number, Buffer>();
    forEachAttr(t.get(NLMSGERR_ATTR.POLICY)!, 0, (a) => pol.set(a.type, a.payload));
    expect(pol.get(NL_POLICY_TYPE_ATTR.TYPE)?.readUInt32LE(0)).toBe(NL_ATTR_TYPE.U32);
    expect(pol.get(NL_POLICY_TYPE_ATTR.MAX_VALUE_U)?.readBigUInt64LE(0)).toBe(0xffffffffn);
  });

  it('u32 attribute of 8 bytes is accepted (value read from the start)', () => {
    expect(s.send(dpNew(s, (w) => w.attrString(nameAttr, 'long8').attr(pidAttr, Buffer.alloc(8))))).toEqual([]);
    // 8 bytes of pids = two upcall pids for the local port, both 0.
    expect(emu.ovs.net.dps.find((d) => d.name === 'long8')?.local.upcallPids).toEqual([0, 0]);
  });

  it('name without NUL → EINVAL', () => {
    const r = s.send(dpNew(s, (w) => w.attr(nameAttr, Buffer.from('abc')).attrU32(pidAttr, 0)))[0];
    expect(errnoOf(r)).toBe(22);
  });

  it('name of 16 characters → EINVAL (no NUL within len+1 bytes) with max-length 15', () => {
    const r = s.send(dpNew(s, (w) => w.attrString(nameAttr, 'x'.repeat(16)).attrU32(pidAttr, 0)))[0];
    expect(errnoOf(r)).toBe(22);
    const pol = new Map<number, Buffer>();
    forEachAttr(tlvs(r).get(NLMSGERR_ATTR.POLICY)!, 0, (a) => pol.set(a.type, a.payload));
    expect(pol.get(NL_POLICY_TYPE_ATTR.MAX_LENGTH)?.readUInt32LE(0)).toBe(15);
    expect(pol.get(NL_POLICY_TYPE_ATTR.TYPE)?.readUInt32LE(0)).toBe(NL_ATTR_TYPE.NUL_STRING);
  });

  it('masks-cache-size 8192 → ERANGE "integer out of range"', () => {
    const r = s.send(dpNew(s, (w) => w.attrString(nameAttr, 'c').attrU32(pidAttr, 0).attrU32(cacheAttr, 8192)))[0];
    expect(errnoOf(r)).toBe(34);
    expect(tlvs(r).get(NLMSGERR_ATTR.MSG)?.toString()).toBe('integer out of range\0');
  });

  it('masks-cache-size 100 (in range, not a power of two) → EINVAL', () => {
    expect(errnoOf(s.send(dpNew(s, (w) => w.attrString(nameAttr, 'c').attrU32(pidAttr, 0).attrU32(cacheAttr, 100)))[0])).toBe(22);
  });

  it('unknown attribute types and type 0 are ignored; duplicates keep the last', () => {
    const r = s.send(dpNew(s, (w) => w.attrU32(0, 1).attrU32(200, 1).attrString(nameAttr, 'first').attrString(nameAttr, 'dupe').attrU32(pidAttr, 0), NLM_F.ECHO))[0];
    expect(r.subarray(28, 33).toString()).toBe('dupe\0');
  });

  it('trailing garbage after the attributes → success, ACK carries "bytes leftover" warning', () => {
    const m = dpNew(s, (w) => w.attrString(nameAttr, 'trail').attrU32(pidAttr, 0).raw(Buffer.from([1, 2, 3, 4, 5, 6])), NLM_F.ACK);
    const r = s.send(m)[0];
    expect(errnoOf(r)).toBe(0);
    expect(tlvs(r).get(NLMSGERR_ATTR.MSG)?.toString()).toBe('bytes leftover after parsing attributes\0');
  });

  it('flag with payload and nest of 2 bytes → ERANGE', () => {
    const vport = emu.registry.family('ovs_vport');
    const opt = vport.set('vport').byName.get('options')!.type;
    const r = s.send(s.msg(vport, 'new', 0, 0, (w) => w.attr(opt, Buffer.alloc(2))))[0];
    expect(errnoOf(r)).toBe(34);
  });
});
