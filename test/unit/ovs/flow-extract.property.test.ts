/**
 * Properties of key extraction over mutated frames (valid frames of every protocol the parser
 * knows, cut at any length, with random bytes overwritten, optionally with an accelerated VLAN
 * tag or as an L3 packet): it never throws, fails only with the kernel's -EINVAL, its key can
 * always be emitted, and re-extracting the same skb (ovs_flow_key_update after a recirculation
 * with no header change) reproduces the key and the skb's header offsets. skb_get_hash never
 * throws and is never 0.
 */
import fc from 'fast-check';
import { Errno } from '../../../lib/nl/errno';
import { newSwFlowKey } from '../../../lib/ovs/flow-key';
import { ovsFlowKeyExtract, ovsFlowKeyUpdate, skbGetHash, skbGetHashSymmetric } from '../../../lib/ovs/flow';
import { Skb } from '../../../lib/ovs/skb';
import {
  ah6, arp, ether, frag6, icmp, ipv4, ipv6, lse, nd, nshHdr, opt6, sctp, sll, tcp, tll, udp,
} from './frame-builder';
import { putKey } from './key-builder';

const L3: Buffer[] = [
  ipv4({ proto: 6 }, tcp(1, 2)), ipv4({ proto: 17, options: Buffer.alloc(8) }, udp(1, 2)), ipv4({ proto: 132 }, sctp(1, 2)),
  ipv4({ proto: 1 }, icmp(8)), ipv4({ proto: 47 }, Buffer.concat([Buffer.from('2000080000000005', 'hex'), ipv4({ proto: 17 }, udp(3, 4))])),
  ipv4({ proto: 4 }, ipv4({ proto: 6 }, tcp(5, 6))),
  ipv6({ next: 0 }, opt6(60, opt6(43, opt6(44, frag6(6, 0, true, tcp(1, 2)))))),
  ipv6({ next: 51 }, ah6(17, udp(1, 2))), ipv6({ next: 44 }, frag6(17, 9, false, udp(1, 2))),
  ipv6({ next: 58, hlim: 255 }, nd(135, 'fe80::1', sll('02:00:00:00:00:01'), tll('02:00:00:00:00:02'))),
  ipv6({ next: 58, label: 7 }, icmp(128)), ipv6({ next: 41 }, ipv6({ next: 17 }, udp(1, 2))),
];
const FRAMES: Buffer[] = [
  ...L3.map((p) => ether(p[0] >> 4 === 6 ? 0x86dd : 0x0800, p)),
  ether(0x0806, arp()), ether(0x8035, arp({ op: 3 })),
  ether(0x8847, Buffer.concat([lse(1, 0, false, 1), lse(2, 0, false, 2), lse(3, 0, false, 3), lse(4, 0, true, 4), L3[0]])),
  ether(0x894f, nshHdr({}, Buffer.alloc(16, 3))), ether(0x894f, nshHdr({ mdtype: 2 }, Buffer.alloc(8))),
  ether(0x0800, L3[1], { tags: [[0x88a8, 5], [0x8100, 6]] }), ether(0x86dd, L3[6], { tags: [[0x8100, 9]] }),
  ether(0x0030, Buffer.concat([Buffer.from('aaaa03000000', 'hex'), Buffer.of(8, 0), L3[0]])),
  ether(0x0010, Buffer.from('424203000000000000000000', 'hex')),
];

const mutated = fc.record({
  frame: fc.oneof(fc.constantFrom(...FRAMES), fc.constantFrom(...L3)),
  cut: fc.nat(),
  flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
  accel: fc.option(fc.tuple(fc.constantFrom(0x8100, 0x88a8), fc.integer({ min: 0, max: 0xffff })), { nil: undefined }),
  l3: fc.option(fc.constantFrom(0x0800, 0x86dd, 0x0806, 0x8847, 0x894f, 0x8100, 0x1234), { nil: undefined }),
});

test('extraction never throws, is idempotent, and its key always emits', () => {
  fc.assert(fc.property(mutated, (m) => {
    const data = Buffer.from(m.frame.subarray(0, m.frame.length - (m.cut % (m.frame.length + 1))));
    for (const [at, v] of m.flips) if (data.length) data[at % data.length] = v;
    const skb = new Skb(data);
    if (m.accel) [skb.vlanTpid, skb.vlanTci] = m.accel;
    if (m.l3 !== undefined) skb.protocol = m.l3;
    const key = newSwFlowKey();
    const err = ovsFlowKeyExtract(skb, key, { inPort: 1, devType: m.l3 === undefined ? 1 : 0xfffe });
    expect([0, -Errno.EINVAL]).toContain(err);
    expect(skbGetHash(skb)).not.toBe(0);
    expect(skbGetHashSymmetric(skb)).not.toBe(0);
    if (err) return;
    putKey(key, key, false);
    const again = Buffer.from(key);
    const offsets = [skb.networkHeader, skb.transportHeader, skb.macLen, skb.protocol, skb.len];
    expect(ovsFlowKeyUpdate(skb, again)).toBe(0);
    expect(again.equals(key)).toBe(true);
    expect([skb.networkHeader, skb.transportHeader, skb.macLen, skb.protocol, skb.len]).toEqual(offsets);
  }), { numRuns: 3000 });
});
