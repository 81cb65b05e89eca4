/**
 * Golden test of key extraction against the real kernel: every ovs_packet upcall (MISS and
 * ACTION) the Debian 6.12.117 openvswitch.ko sent during the kernel selftests
 * (tools/testing/selftests/net/openvswitch/openvswitch.sh, tests upcall_interfaces and psample;
 * oracle run results/selftests, filtered to the upcalls plus the nlctrl reply naming
 * ovs_packet: test/captures/kernel-6.12-selftests-upcalls.pcap, see its README).
 *
 * The frame of each upcall's PACKET attribute is extracted with the metadata the KEY names
 * (in_port, priority, skb_mark; no tunnel, no conntrack entry) and emitted as the upcall's
 * KEY attribute; it must equal the kernel's byte for byte. The HASH attribute's flag bits
 * (software hash, L4 hash) must match too, and two upcalls must get equal hashes exactly when
 * the kernel's were equal (values differ: the kernel's SipHash key is random per boot).
 */
import * as path from 'path';
import { NlWriter } from '../../../lib/nl/writer';
import { newSwFlowKey } from '../../../lib/ovs/flow-key';
import { ovsFlowKeyExtract, skbGetHash } from '../../../lib/ovs/flow';
import { ovsNlaPutKey } from '../../../lib/ovs/flow-netlink-put';
import { formatFlowKey } from '../../../lib/ovs/odp-format';
import { Skb } from '../../../lib/ovs/skb';
import { loadSchemas } from '../../../lib/schema/load';
import { forEachAttr } from '../../../lib/schema/validate';
import { K } from './key-builder';
import { readNetlinkPcap } from './odp-pcap';

const CAPTURE = path.join(__dirname, '../../captures/kernel-6.12-selftests-upcalls.pcap');
const pkt = loadSchemas().family('ovs_packet');
const A = pkt.set('packet-attrs');
const attrNo = (name: string): number => {
  const a = A.byName.get(name);
  if (!a) throw new Error(`ovs_packet has no ${name}`);
  return a.type;
};
const PACKET = attrNo('packet');
const KEY = attrNo('key');
const HASH = attrNo('hash');
const UPCALL_CMDS = new Set([pkt.op('miss').cmd, pkt.op('action').cmd]);
const HASH_SW_BIT = 1n << 32n;
const HASH_L4_BIT = 1n << 33n;

interface Upcall {
  frame: number;
  packet: Buffer;
  key: Buffer;
  hash?: bigint;
}

function upcalls(): Upcall[] {
  return readNetlinkPcap(CAPTURE)
    .filter((r) => r.family === 'ovs_packet' && !r.request && UPCALL_CMDS.has(r.cmd))
    .map((r) => {
      const u: Partial<Upcall> = { frame: r.frame };
      forEachAttr(r.attrs, 0, (a) => {
        if (a.type === PACKET) u.packet = a.payload;
        if (a.type === KEY) u.key = a.payload;
        if (a.type === HASH) u.hash = a.payload.readBigUInt64LE(0);
      });
      if (!u.packet || !u.key) throw new Error(`frame ${r.frame}: upcall without PACKET or KEY`);
      return u as Upcall;
    });
}

/** The metadata the kernel had: in_port, priority and mark from the KEY; nothing else may be set. */
function metadataOf(key: Buffer): { inPort: number; priority: number; mark: number } {
  const m = { inPort: -1, priority: 0, mark: 0 };
  forEachAttr(key, 0, (a) => {
    if (a.type === K['in-port']) m.inPort = a.payload.readUInt32LE(0);
    if (a.type === K.priority) m.priority = a.payload.readUInt32LE(0);
    if (a.type === K['skb-mark']) m.mark = a.payload.readUInt32LE(0);
    if (a.type === K.tunnel) throw new Error('tunnel metadata is not reproduced by this test');
    if (a.type === K['ct-state'] && a.payload.readUInt32LE(0)) throw new Error('conntrack state is not reproduced by this test');
  });
  return m;
}

const ALL = upcalls();

describe('key extraction against the kernel selftests upcalls', () => {
  test('the capture holds the 8 upcalls (7 MISS, 1 ACTION)', () => {
    expect(ALL.length).toBe(8);
  });

  test.each(ALL.map((u) => [u.frame, formatFlowKey(u.key, undefined).replace(/^.*ct_label\(\),/, ''), u] as const))(
    'frame %i: %s', (_frame, _text, u) => {
      const m = metadataOf(u.key);
      const skb = new Skb(Buffer.from(u.packet));
      skb.priority = m.priority;
      skb.mark = m.mark;
      const key = newSwFlowKey();
      expect(ovsFlowKeyExtract(skb, key, { inPort: m.inPort })).toBe(0);

      const w = new NlWriter();
      ovsNlaPutKey(w, KEY, key, key, false);
      const emitted = w.finish().subarray(4); // the nest's payload
      expect(formatFlowKey(emitted, undefined)).toBe(formatFlowKey(u.key, undefined));
      expect(emitted.toString('hex')).toBe(u.key.toString('hex'));

      // queue_userspace_packet(): HASH only when skb_get_hash_raw() != 0, with the sw/l4 bits.
      expect(u.hash).toBeDefined();
      const hash = skbGetHash(skb);
      expect(hash).not.toBe(0);
      expect(skb.swHash).toBe(((u.hash ?? 0n) & HASH_SW_BIT) !== 0n);
      expect(skb.l4Hash).toBe(((u.hash ?? 0n) & HASH_L4_BIT) !== 0n);
    });

  test('equal kernel hashes ⇔ equal emulator hashes', () => {
    const ours = ALL.map((u) => {
      const skb = new Skb(Buffer.from(u.packet));
      ovsFlowKeyExtract(skb, newSwFlowKey(), { inPort: metadataOf(u.key).inPort });
      return skbGetHash(skb);
    });
    const theirs = ALL.map((u) => Number((u.hash ?? 0n) & 0xffffffffn));
    for (let i = 0; i < ALL.length; i++) {
      for (let j = i + 1; j < ALL.length; j++) expect([i, j, ours[i] === ours[j]]).toEqual([i, j, theirs[i] === theirs[j]]);
    }
  });
});
