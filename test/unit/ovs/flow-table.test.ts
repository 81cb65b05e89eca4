/** The megaflow classifier (flow_table.c semantics) on synthetic 16-byte keys. */
import { flowKeyStart, SW_FLOW_KEY_SIZE } from '../../../lib/ovs/flow-key';
import { Flow, FlowTable, type MaskSpec } from '../../../lib/ovs/flow-table';

/** Test keys put their bytes where unmasked compares start for tunnel-less keys. */
const BASE = flowKeyStart(Buffer.alloc(SW_FLOW_KEY_SIZE));
const key = (...bytes: number[]): Buffer => {
  const b = Buffer.alloc(SW_FLOW_KEY_SIZE);
  bytes.forEach((v, i) => { b[BASE + i] = v; });
  return b;
};
/** A mask matching the first `n` test bytes exactly, range rounded to 8 like the kernel's. */
const prefixMask = (n: number): MaskSpec => {
  const k = Buffer.alloc(SW_FLOW_KEY_SIZE);
  k.fill(0xff, BASE, BASE + n);
  return { key: k, start: BASE, end: BASE + Math.ceil(n / 8) * 8 };
};
const R = { start: BASE, end: BASE + 16 };
const and = (k: Buffer, m: MaskSpec): Buffer => Buffer.from(k.map((v, i) => v & m.key[i]));

function add(t: FlowTable<string>, k: Buffer, m: MaskSpec, name: string, ufid?: Buffer): Flow<string> {
  const f = new Flow(and(k, m), ufid, ufid ? undefined : { key: k, start: R.start, end: R.end }, name, SW_FLOW_KEY_SIZE);
  t.insert(f, m);
  return f;
}

describe('FlowTable', () => {
  it('finds a packet through the first mask that matches, counting probed masks', () => {
    const t = new FlowTable<string>(2);
    add(t, key(1, 2, 3), prefixMask(3), 'exact3');
    add(t, key(1), prefixMask(1), 'wild');
    expect(t.lookup(key(1, 2, 3, 9))?.actions).toBe('exact3');
    expect(t.lookup(key(1, 7))?.actions).toBe('wild');
    const r = t.lookupStats(key(1, 7), 0, 0);
    expect([r.flow?.actions, r.nMaskHit, r.nCacheHit]).toEqual(['wild', 2, 0]);
    expect([t.count, t.maskCount]).toEqual([2, 2]);
  });

  it('shares equal masks between flows and frees a mask with its last flow', () => {
    const t = new FlowTable<string>(1);
    const a = add(t, key(1), prefixMask(1), 'a');
    add(t, key(2), prefixMask(1), 'b');
    const c = add(t, key(3, 3), prefixMask(2), 'c');
    expect(t.maskCount).toBe(2);
    t.remove(a);
    expect(t.maskCount).toBe(2);
    t.remove(c);
    expect(t.maskCount).toBe(1);
    expect(t.lookup(key(2))?.actions).toBe('b');
    expect(t.lookup(key(3, 3))).toBeUndefined();
  });

  it('deleting a mask moves the last mask into its slot (tbl_mask_array_del_mask)', () => {
    const t = new FlowTable<string>(1);
    const a = add(t, key(1), prefixMask(1), 'm1');
    add(t, key(1, 1), prefixMask(2), 'm2');
    add(t, key(1, 1, 1), prefixMask(3), 'm3');
    t.remove(a);
    expect(t.masksInOrder().map((m) => m.end === BASE + 8 && m.key[BASE + 2] === 0xff)).toEqual([true, false]);
  });

  it('exact lookups see only key-identified flows; UFID flows are found by UFID', () => {
    const t = new FlowTable<string>(1);
    const ufid = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    add(t, key(5, 5), prefixMask(2), 'byufid', ufid);
    add(t, key(6, 6), prefixMask(2), 'bykey');
    expect(t.lookupExact(key(5, 5), R)).toBeUndefined();
    expect(t.lookupExact(key(6, 6), R)?.actions).toBe('bykey');
    expect(t.lookupExact(key(6, 6, 1), R)).toBeUndefined(); // unmasked key differs within the range
    expect(t.lookupExact(key(6, 6, 1), { start: BASE, end: BASE })?.actions).toBe('bykey'); // beyond the lookup range: not compared
    expect(t.lookupUfid(ufid)?.actions).toBe('byufid');
    expect(t.lookupUfid(Buffer.from('00', 'hex'))).toBeUndefined();
  });

  it('the mask cache remembers the mask index per packet hash: second lookup is a cache hit on one mask', () => {
    const t = new FlowTable<string>(2, 256);
    add(t, key(1, 1, 1), prefixMask(3), 'a');
    add(t, key(2), prefixMask(1), 'b');
    const first = t.lookupStats(key(2, 9), 0x1234, 1);
    expect([first.flow?.actions, first.nMaskHit, first.nCacheHit]).toEqual(['b', 2, 0]);
    const second = t.lookupStats(key(2, 9), 0x1234, 1);
    expect([second.flow?.actions, second.nMaskHit, second.nCacheHit]).toEqual(['b', 1, 1]);
    // Another CPU has its own cache.
    expect(t.lookupStats(key(2, 9), 0x1234, 0).nCacheHit).toBe(0);
    // Hash 0 bypasses the cache; so does a cache of size 0.
    expect(t.lookupStats(key(2, 9), 0, 1).nMaskHit).toBe(2);
    t.resizeMasksCache(0);
    t.lookupStats(key(2, 9), 0x1234, 1);
    expect(t.lookupStats(key(2, 9), 0x1234, 1).nCacheHit).toBe(0);
  });

  it('rebalance orders masks by hits since the last rebalance', () => {
    const t = new FlowTable<string>(1);
    add(t, key(1, 1, 1), prefixMask(3), 'cold');
    add(t, key(2), prefixMask(1), 'hot');
    for (let i = 0; i < 5; i++) t.lookup(key(2));
    t.rebalance();
    expect(t.masksInOrder()[0].end).toBe(BASE + 8);
    expect(t.masksInOrder()[0].key[BASE + 1]).toBe(0);
    expect(t.lookupStats(key(2), 0, 0).nMaskHit).toBe(1);
  });

  it('flush empties everything; dump skips flows removed during the walk', () => {
    const t = new FlowTable<string>(1);
    const flows = [1, 2, 3].map((i) => add(t, key(i), prefixMask(1), `f${i}`));
    const it = t.dump();
    expect(it.next().value?.actions).toBe('f1');
    t.remove(flows[1]);
    expect([...it].map((f) => f.actions)).toEqual(['f3']);
    t.flush();
    expect([t.count, t.maskCount, t.lookup(key(1))]).toEqual([0, 0, undefined]);
  });
});
