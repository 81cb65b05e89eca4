/**
 * What a netdev port does with the metadata its packet socket reports: partial checksums
 * completed as skb_checksum_help() does (checked by verifying the result independently: the
 * ones' complement sum of pseudo-header and segment must be 0xffff), the accelerated VLAN tag
 * and GSO state copied onto the skb, and the virtio_net_hdr written in front of sent frames.
 */
import type { PacketFrame } from '../../../lib/native';
import { completeChecksum, skbSetup, vnetHeader, VNET_HDR_LEN } from '../../../lib/ovs/vport-netdev';
import { Skb } from '../../../lib/ovs/skb';

/** A 14+20+8+payload UDP/IPv4 frame 10.0.0.1:1234 → 10.0.0.2:7000 with the checksum field as given. */
function udpFrame(payload: Buffer, check: number): Buffer {
  const f = Buffer.alloc(14 + 20 + 8 + payload.length);
  f.writeUInt16BE(0x0800, 12);
  f[14] = 0x45;
  f.writeUInt16BE(20 + 8 + payload.length, 16);
  f[22] = 64;
  f[23] = 17;
  Buffer.from([10, 0, 0, 1, 10, 0, 0, 2]).copy(f, 26);
  f.writeUInt16BE(1234, 34);
  f.writeUInt16BE(7000, 36);
  f.writeUInt16BE(8 + payload.length, 38);
  f.writeUInt16BE(check, 40);
  payload.copy(f, 42);
  return f;
}

/** Plain 32-bit accumulate-and-fold, written independently of lib/ovs/checksum.ts. */
function sum16(bytes: number[]): number {
  let s = 0;
  for (let i = 0; i < bytes.length; i += 2) s += (bytes[i] << 8) | (bytes[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

const pseudo = (f: Buffer): number[] => [...f.subarray(26, 34), 0, 17, ...f.subarray(38, 40)];
/** What the sending stack leaves in a CHECKSUM_PARTIAL UDP header: the folded pseudo-header sum. */
const partialCheck = (f: Buffer): number => sum16(pseudo(f));
const verifies = (f: Buffer): boolean => sum16([...pseudo(f), ...f.subarray(34)]) === 0xffff;

describe('completeChecksum (skb_checksum_help)', () => {
  it('turns a partial UDP checksum into the full one', () => {
    const f = udpFrame(Buffer.from('hello, datapath!'), 0);
    f.writeUInt16BE(partialCheck(f), 40);
    expect(verifies(f)).toBe(false);
    expect(completeChecksum(f, 34, 6)).toBe(true);
    expect(verifies(f)).toBe(true);
  });

  it('odd-length payloads are padded with a zero byte', () => {
    const f = udpFrame(Buffer.from('odd'), 0);
    f.writeUInt16BE(partialCheck(f), 40);
    completeChecksum(f, 34, 6);
    expect(verifies(f)).toBe(true);
  });

  it('a result of 0 is stored as 0xffff (CSUM_MANGLED_0)', () => {
    // Choose the last payload word so that the segment sums to 0xffff: the checksum folds to 0.
    const f = udpFrame(Buffer.alloc(4), 0);
    f.writeUInt16BE(partialCheck(f), 40);
    const rest = sum16([...f.subarray(34)]);
    f.writeUInt16BE(0xffff - rest, 44);
    completeChecksum(f, 34, 6);
    expect(f.readUInt16BE(40)).toBe(0xffff);
    expect(verifies(f)).toBe(true);
  });

  it('offsets past the frame leave it untouched', () => {
    const f = udpFrame(Buffer.from('x'), 0x1234);
    const copy = Buffer.from(f);
    expect(completeChecksum(f, f.length, 6)).toBe(false);
    expect(completeChecksum(f, 34, f.length)).toBe(false);
    expect(f).toEqual(copy);
  });
});

function frame(vnet: number[], status: number, vlanTci: number, vlanTpid: number, data: Buffer): PacketFrame {
  return { vnet: Buffer.from(vnet), frame: data, status, vlanTci, vlanTpid };
}

describe('skbSetup', () => {
  it('NEEDS_CSUM: the checksum at csum_start + csum_offset is completed before the datapath sees it', () => {
    const f = udpFrame(Buffer.from('partial'), 0);
    f.writeUInt16BE(partialCheck(f), 40);
    // flags NEEDS_CSUM, no GSO, hdr_len 0, gso_size 0, csum_start 34, csum_offset 6 (little-endian)
    const init = skbSetup(frame([1, 0, 0, 0, 0, 0, 34, 0, 6, 0], 0, 0, 0, f));
    expect(verifies(f)).toBe(true);
    const skb = new Skb(f);
    init(skb);
    expect({ vlan: skb.vlanPresent, gso: skb.gso }).toEqual({ vlan: false, gso: undefined });
  });

  it('an accelerated 802.1ad tag with its TPID; GSO state kept', () => {
    // TP_STATUS_VLAN_VALID | TP_STATUS_VLAN_TPID_VALID; GSO TCPV4, hdr_len 66, gso_size 1448
    const init = skbSetup(frame([0, 1, 66, 0, 0xa8, 0x05, 0, 0, 0, 0], 0x50, 0x2005, 0x88a8, Buffer.alloc(60)));
    const skb = new Skb(Buffer.alloc(60));
    init(skb);
    expect({ tci: skb.vlanTci, tpid: skb.vlanTpid, gso: skb.gso }).toEqual({ tci: 0x2005, tpid: 0x88a8, gso: { type: 1, size: 1448, hdrLen: 66 } });
  });

  it('VLAN_VALID without TPID_VALID (old kernels) means 802.1Q; tag 0 is still a tag', () => {
    const init = skbSetup(frame(Array(10).fill(0), 0x10, 0, 0, Buffer.alloc(60)));
    const skb = new Skb(Buffer.alloc(60));
    init(skb);
    expect({ present: skb.vlanPresent, tci: skb.vlanTci, tpid: skb.vlanTpid }).toEqual({ present: true, tci: 0, tpid: 0x8100 });
  });

  it('no VLAN status: no tag', () => {
    const skb = new Skb(Buffer.alloc(60));
    skbSetup(frame(Array(10).fill(0), 0x1, 5, 0x8100, Buffer.alloc(60)))(skb);
    expect(skb.vlanPresent).toBe(false);
  });
});

describe('vnetHeader', () => {
  it('all zero for an ordinary frame (checksums are complete)', () => {
    expect(vnetHeader(undefined)).toEqual(Buffer.alloc(VNET_HDR_LEN));
  });

  it('GSO type, hdr_len and gso_size little-endian, no NEEDS_CSUM', () => {
    expect([...vnetHeader({ type: 4, size: 1428, hdrLen: 86 })]).toEqual([0, 4, 86, 0, 0x94, 0x05, 0, 0, 0, 0]);
  });
});
