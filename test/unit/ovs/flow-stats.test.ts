/** Per-NUMA flow stats shards (the 3.15–4.8 kernel design) and the `used` conversion. */
import { CpuTopology, FlowStats, usedTime } from '../../../lib/ovs/flow-stats';

describe('FlowStats', () => {
  it('a flow starts with node 0 only and reports nothing', () => {
    const s = new FlowStats();
    expect(s.shardCount).toBe(1);
    expect(s.read()).toEqual({ packets: 0n, bytes: 0n, used: 0, tcpFlags: 0 });
  });

  it('the first writer of any node uses the preallocated shard; a second node gets its own shard', () => {
    const s = new FlowStats();
    s.update(1, 100, 0x02, 1000);
    expect(s.shardCount).toBe(1); // first writer ever: node 0's shard, stats_last_writer = 1
    s.update(1, 60, 0x10, 1010);
    expect(s.shardCount).toBe(1); // same node keeps using it
    s.update(0, 40, 0, 1020);
    expect(s.shardCount).toBe(1); // node 0's own shard is the preallocated one
    s.update(1, 50, 0x01, 1030);
    expect(s.shardCount).toBe(2); // a different node wrote last: node 1 allocates
    expect(s.read()).toEqual({ packets: 4n, bytes: 250n, used: 1030, tcpFlags: 0x13 });
  });

  it('a failed lazy allocation falls back to node 0 and never throws', () => {
    const s = new FlowStats();
    s.update(0, 10, 0, 5);
    s.update(2, 10, 0, 6, () => false);
    expect(s.shardCount).toBe(1);
    expect(s.read().packets).toBe(2n);
  });

  it('clear zeroes every shard', () => {
    const s = new FlowStats();
    s.update(0, 10, 1, 5);
    s.update(1, 10, 2, 7);
    s.clear();
    expect(s.read()).toEqual({ packets: 0n, bytes: 0n, used: 0, tcpFlags: 0 });
  });
});

describe('topology and time', () => {
  it('CPUs map to NUMA nodes in contiguous blocks; RSS picks a CPU by hash', () => {
    const t = new CpuTopology(8, 2);
    expect([0, 3, 4, 7].map((c) => t.nodeOf(c))).toEqual([0, 0, 1, 1]);
    expect(t.cpuForHash(0xffffffff)).toBe(0xffffffff % 8);
    expect(() => new CpuTopology(2, 4)).toThrow(RangeError);
  });

  it('usedTime is monotonic ms with seconds truncated to u32, minus idle time', () => {
    expect(usedTime(5000, 7500)).toBe(5000n);
    const big = (2 ** 32 + 3) * 1000 + 250; // seconds past u32
    expect(usedTime(big - 100, big)).toBe(3n * 1000n + 250n - 100n);
  });
});
