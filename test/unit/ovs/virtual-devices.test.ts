/**
 * Devices the emulator keeps in memory (no CAP_NET_ADMIN, --devices virtual): names checked
 * like register_netdevice(), ifindexes allocated like dev_index_reserve() (xa_alloc_cyclic from
 * net->ifindex: a freed index is not handed out again at once), a desired ifindex honoured.
 */
import { NlError } from '../../../lib/nl/errors';
import { ARPHRD_ETHER, VirtualDevices, zeroStats, type HostNetdevs } from '../../../lib/ovs/netdev';

const host = (names: Record<string, number>): HostNetdevs => ({
  lookup: (n) => (names[n] ? { name: n, ifindex: names[n], arphrd: ARPHRD_ETHER, loopback: false, hasMaster: false, stats: zeroStats } : undefined),
  maxIfindex: () => Math.max(0, ...Object.values(names)),
});

describe('VirtualDevices', () => {
  it('ifindexes continue after the host\'s and are not reused right after a delete', () => {
    const d = new VirtualDevices(host({ lo: 1, eth0: 2 }));
    const a = d.createInternal('a', 0);
    const b = d.createInternal('b', 0);
    expect([a.ifindex, b.ifindex]).toEqual([3, 4]);
    b.destroy();
    // The kernel's cyclic allocator moves on: 5, not 4 again.
    expect(d.createInternal('c', 0).ifindex).toBe(5);
    expect(d.createInternal('b', 0).ifindex).toBe(6);
  });

  it('a desired ifindex is honoured; a taken one is EBUSY; a taken name EEXIST; a bad one EINVAL', () => {
    const d = new VirtualDevices(host({ lo: 1, eth0: 2 }));
    expect(d.createInternal('x', 40).ifindex).toBe(40);
    expect(() => d.createInternal('y', 40)).toThrow(expect.objectContaining({ errno: 16 }) as NlError);
    expect(() => d.createInternal('eth0', 0)).toThrow(expect.objectContaining({ errno: 17 }) as NlError);
    expect(() => d.createInternal('a/b', 0)).toThrow(expect.objectContaining({ errno: 22 }) as NlError);
    // Allocation continues from the host's highest, not from the desired index.
    expect(d.createInternal('z', 0).ifindex).toBe(3);
  });
});
