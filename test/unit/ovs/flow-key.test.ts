/**
 * The sw_flow_key layout and the flow_table.c helpers built on it (Linux 6.12).
 * Top-level member offsets: from the BTF of Debian's 6.12.117 openvswitch.ko
 * (/lib/modules/6.12.117+deb12-amd64/kernel/net/openvswitch/openvswitch.ko.xz, struct of size 472
 * with 16 members), read with a small BTF parser.
 */
import {
  SWKEY, SW_FLOW_KEY_METADATA_SIZE, SW_FLOW_KEY_SIZE, cmpKey, cmpUnmaskedKey, flowKeyStart, maskEqual, maskKey,
  newSwFlowKey, rangeSlice, swKeyIsNd, tunOptsOffset, updateRange, type KeyRange, type SwKeyFieldName,
} from '../../../lib/ovs/flow-key';
import { decodeKey } from '../../../lib/ovs/flow-key-view';

describe('sw_flow_key layout', () => {
  it('is 472 bytes with the kernel\'s top-level member offsets', () => {
    expect(SW_FLOW_KEY_SIZE).toBe(472);
    const firsts: SwKeyFieldName[] = ['tunOpts', 'tunOptsLen', 'tunKey', 'priority', 'macProto', 'tunProto', 'dpHash', 'recircId',
      'ethSrc', 'ctState', 'ctOrigProto', 'ipProto', 'ctZone', 'tpSrc', 'ipv4Src', 'ctOrigTpSrc'];
    expect(firsts.map((f) => SWKEY[f].off)).toEqual([0, 255, 256, 320, 330, 331, 332, 336, 340, 362, 363, 364, 368, 370, 376, 448]);
    expect(SW_FLOW_KEY_METADATA_SIZE).toBe(340);
  });

  it('every field lies inside the key, and fields overlap only inside the documented unions', () => {
    const unions: [number, number][] = [[256, 320], [376, 448]]; // tun_key (aggregate + ipv4/ipv6), the L3 union
    const fields = Object.entries(SWKEY) as [SwKeyFieldName, { off: number; len: number }][];
    for (const [, f] of fields) expect(f.off + f.len).toBeLessThanOrEqual(SW_FLOW_KEY_SIZE);
    const inUnion = (f: { off: number; len: number }): boolean => unions.some(([a, b]) => f.off >= a && f.off + f.len <= b);
    for (const [na, a] of fields) {
      for (const [nb, b] of fields) {
        if (na >= nb || a.off + a.len <= b.off || b.off + b.len <= a.off) continue;
        expect([na, nb, inUnion(a) && inUnion(b)]).toEqual([na, nb, true]);
      }
    }
  });
});

describe('ranges and masking (flow_netlink.c update_range, flow_table.c)', () => {
  it.each<[string, [number, number][], KeyRange]>([
    ['a byte is widened to its word', [[255, 1]], { start: 248, end: 256 }],
    ['an empty write still marks its word', [[255, 0]], { start: 248, end: 256 }],
    ['two writes join', [[328, 2], [360, 2]], { start: 328, end: 368 }],
    ['a later lower write extends the start', [[370, 2], [264, 4]], { start: 264, end: 376 }],
  ])('%s', (_n, writes, want) => {
    const r: KeyRange = { start: 0, end: 0 };
    for (const [o, s] of writes) updateRange(r, o, s);
    expect(r).toEqual(want);
  });

  it('maskKey ANDs the range only, or everything with `full`', () => {
    const key = newSwFlowKey().fill(0xaa);
    const mask = newSwFlowKey();
    mask.fill(0x0f, 328, 336);
    const dst = newSwFlowKey().fill(0x11);
    maskKey(dst, key, mask, { start: 328, end: 336 });
    expect(dst.subarray(328, 336)).toEqual(Buffer.alloc(8, 0x0a));
    expect(dst[0]).toBe(0x11);
    maskKey(dst, key, mask, { start: 328, end: 336 }, true);
    expect(dst[0]).toBe(0);
    expect(rangeSlice(dst, { start: 328, end: 336 })).toEqual(Buffer.alloc(8, 0x0a));
  });

  it('flow_key_start skips the tunnel unless the key has one', () => {
    const k = newSwFlowKey();
    expect(flowKeyStart(k)).toBe(320);
    k[SWKEY.tunProto.off] = 2;
    expect(flowKeyStart(k)).toBe(0);
  });

  it('ovs_flow_cmp_unmasked_key compares up to the lookup\'s range end only', () => {
    const a = newSwFlowKey();
    const b = newSwFlowKey();
    a[SWKEY.ctLabels.off] = 1; // beyond the lookup range
    b[SWKEY.tunTtl.off] = 9; // before flow_key_start (no tunnel)
    expect(cmpUnmaskedKey(a, b, { start: 328, end: 384 })).toBe(true);
    b[SWKEY.ipv4Src.off] = 1;
    expect(cmpUnmaskedKey(a, b, { start: 328, end: 384 })).toBe(false);
    expect(cmpKey(a, b, 0, 8)).toBe(true);
  });

  it('mask_equal needs the same range and bytes', () => {
    const a = newSwFlowKey().fill(1, 328, 336);
    const b = Buffer.from(a);
    expect(maskEqual(a, { start: 328, end: 336 }, b, { start: 328, end: 336 })).toBe(true);
    expect(maskEqual(a, { start: 328, end: 336 }, b, { start: 320, end: 336 })).toBe(false);
  });

  it('tunnel options end at the end of tun_opts', () => {
    expect(tunOptsOffset(8)).toBe(247);
    expect(tunOptsOffset(255)).toBe(0);
  });

  it('sw_flow_key_is_nd', () => {
    const k = newSwFlowKey();
    k.writeUInt16BE(0x86dd, SWKEY.ethType.off);
    k[SWKEY.ipProto.off] = 58;
    k.writeUInt16BE(135, SWKEY.tpSrc.off);
    expect(swKeyIsNd(k)).toBe(true);
    k.writeUInt16BE(1, SWKEY.tpDst.off);
    expect(swKeyIsNd(k)).toBe(false);
  });

  it('decodeKey names fields in host order', () => {
    const k = newSwFlowKey();
    k.writeUInt16LE(7, SWKEY.inPort.off);
    k.writeUInt16BE(0x0800, SWKEY.ethType.off);
    k.writeUInt32LE(5, SWKEY.tunFlags.off);
    k[SWKEY.tunOptsLen.off] = 4;
    k.writeUInt32BE(0xdeadbeef, 251);
    expect(decodeKey(k, true)).toEqual({ inPort: 7, ethType: 0x0800, tunFlags: 5, tunOptsLen: 4, tunOpts: 'deadbeef' });
  });
});
