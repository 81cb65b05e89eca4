/**
 * pcap / pcapng I/O (issue 6 item 1): classic write→read round trips byte for byte on a real
 * nlmon capture, pcapng carries comments and direction flags, the incremental writer leaves a
 * readable file after every record, and tshark opens what we write without a word.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import {
  COOKED_HDRLEN, cookedHeader, directionOf, formatMeta, netlinkRecord, netlinkRecords, parseMeta, readCookedHeader,
} from '../../../lib/replay/netlink-capture';
import {
  LINKTYPE_ETHERNET, LINKTYPE_NETLINK, PCAP_MAGIC_NS, isPcapng, readPcap, writePcap, writePcapng,
} from '../../../lib/replay/pcap';
import { PcapFileWriter, captureFormatFor } from '../../../lib/replay/pcap-writer';
import { TSHARK_SKIP, hasTshark, runTshark } from '../../helpers/tshark';

const CAPTURES = path.join(__dirname, '..', '..', 'captures');
const basic = fs.readFileSync(path.join(CAPTURES, 'kernel-6.12-basic.pcap'));
let tmp: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dpemu-pcap-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A request datagram: nlctrl GETFAMILY (40 bytes) with the given flags/seq/pid. */
function getFamily(seq: number, pid: number, flags = 1): Buffer {
  const b = Buffer.alloc(40);
  b.writeUInt32LE(40, 0);
  b.writeUInt16LE(0x10, 4);
  b.writeUInt16LE(flags, 6);
  b.writeUInt32LE(seq, 8);
  b.writeUInt32LE(pid, 12);
  b[16] = 3;
  b[17] = 1;
  b.writeUInt16LE(17, 20);
  b.writeUInt16LE(2, 22);
  b.write('ovs_datapath\0', 24);
  return b;
}

describe('classic pcap', () => {
  it('write→read of the kernel capture is byte-identical', () => {
    const recs = readPcap(basic);
    expect(recs.length).toBe(2170);
    expect(writePcap(recs, LINKTYPE_NETLINK).equals(basic)).toBe(true);
  });

  it('reads nanosecond and big-endian files', () => {
    const data = Buffer.from('0102030405', 'hex');
    const ns = Buffer.alloc(24 + 16 + 5);
    ns.writeUInt32LE(PCAP_MAGIC_NS, 0);
    ns.writeUInt32LE(LINKTYPE_ETHERNET, 20);
    ns.writeUInt32LE(7, 24);
    ns.writeUInt32LE(123456789, 28);
    ns.writeUInt32LE(5, 32);
    ns.writeUInt32LE(60, 36);
    data.copy(ns, 40);
    expect(readPcap(ns)).toEqual([{ sec: 7, nsec: 123456789, origLen: 60, data, linktype: LINKTYPE_ETHERNET }]);

    const be = Buffer.alloc(24 + 16 + 5);
    be.writeUInt32BE(0xa1b2c3d4, 0);
    be.writeUInt32BE(LINKTYPE_NETLINK, 20);
    be.writeUInt32BE(9, 24);
    be.writeUInt32BE(5, 28);
    be.writeUInt32BE(5, 32);
    be.writeUInt32BE(5, 36);
    data.copy(be, 40);
    expect(readPcap(be)).toEqual([{ sec: 9, nsec: 5000, origLen: 5, data, linktype: LINKTYPE_NETLINK }]);
  });

  it('refuses a file that is not a capture', () => {
    expect(() => readPcap(Buffer.alloc(64, 0x41))).toThrow(/bad magic/);
  });
});

describe('pcapng', () => {
  it('write→read keeps data, ns timestamps, comments and direction flags', () => {
    const recs = readPcap(basic).slice(0, 50).map((r, i) => ({ ...r, nsec: r.nsec + 123, comment: `n=${i}`, epbFlags: 1 + (i % 2) }));
    const ng = writePcapng(recs, LINKTYPE_NETLINK, { application: 'ovs-dpemu', ifName: 'nlmon0' });
    expect(isPcapng(ng)).toBe(true);
    const back = readPcap(ng);
    expect(back).toEqual(recs.map((r) => ({ ...r, linktype: LINKTYPE_NETLINK })));
  });

  it('reads a big-endian file with microsecond interfaces', () => {
    const blk = (type: number, body: Buffer): Buffer => {
      const b = Buffer.alloc(12 + body.length);
      b.writeUInt32BE(type, 0);
      b.writeUInt32BE(b.length, 4);
      body.copy(b, 8);
      b.writeUInt32BE(b.length, b.length - 4);
      return b;
    };
    const shb = Buffer.alloc(16);
    shb.writeUInt32BE(0x1a2b3c4d, 0);
    shb.writeUInt16BE(1, 4);
    shb.writeBigInt64BE(-1n, 8);
    const idb = Buffer.alloc(8);
    idb.writeUInt16BE(LINKTYPE_NETLINK, 0);
    const epb = Buffer.alloc(20 + 8);
    const ts = 1700000000n * 1000000n + 250n; // µs
    epb.writeUInt32BE(Number(ts >> 32n), 4);
    epb.writeUInt32BE(Number(ts & 0xffffffffn), 8);
    epb.writeUInt32BE(6, 12);
    epb.writeUInt32BE(6, 16);
    Buffer.from('abcdef000000', 'hex').copy(epb, 20);
    const file = Buffer.concat([blk(0x0a0d0d0a, shb), blk(1, idb), blk(6, epb)]);
    expect(readPcap(file)).toEqual([{ sec: 1700000000, nsec: 250000, origLen: 6, data: Buffer.from('abcdef000000', 'hex'), linktype: LINKTYPE_NETLINK }]);
  });
});

describe('netlink records', () => {
  it('the cooked header is nlmon\'s', () => {
    expect(cookedHeader().toString('hex')).toBe(readPcap(basic)[0].data.subarray(0, COOKED_HDRLEN).toString('hex'));
    expect(readCookedHeader(cookedHeader(0, 0))).toEqual({ pkttype: 0, hatype: 824, protocol: 0 });
  });

  it('direction: NLM_F_REQUEST on the first message', () => {
    const dirs = [...netlinkRecords(basic)].slice(0, 4).map((r) => r.direction);
    expect(dirs).toEqual(['to-kernel', 'from-kernel', 'to-kernel', 'from-kernel']);
    expect(directionOf(getFamily(1, 0, 0))).toBe('from-kernel');
    expect(directionOf(Buffer.alloc(3))).toBe('from-kernel');
  });

  it('messages, frames and times of a record', () => {
    const recs = [...netlinkRecords(basic)];
    expect(recs).toHaveLength(2170);
    expect(recs[1]).toMatchObject({ frame: 2, protocol: 16, pkttype: 4, truncated: 0 });
    expect(recs[1].messages.map((m) => [m.type, m.seq, m.pid])).toEqual([[0x10, 1, 215]]);
    expect(recs[1].timeNs).toBe(BigInt(recs[1].sec) * 1000000000n + BigInt(recs[1].nsec));
  });

  it('metadata travels in pcapng comments and epb_flags', () => {
    const req = netlinkRecord(getFamily(5, 77), 1000000001n, { dir: 'to-kernel', meta: { portid: 77, pid: 12, sock: 3 }, pcapng: true });
    const rep = netlinkRecord(getFamily(5, 77, 0), 1000000002n, { dir: 'from-kernel', meta: { portid: 77, groups: 4 }, pcapng: true });
    expect(req.comment).toBe('ovs-dpemu: dir=to-kernel portid=77 pid=12 sock=3');
    expect(parseMeta(rep.comment)).toEqual({ dir: 'from-kernel', portid: 77, groups: 4 });
    expect(parseMeta('some other comment')).toBeUndefined();
    expect(formatMeta('to-kernel', {})).toBe('ovs-dpemu: dir=to-kernel');
    const recs = [...netlinkRecords(writePcapng([req, rep], LINKTYPE_NETLINK))];
    expect(recs.map((r) => [r.direction, r.meta, r.sec, r.nsec])).toEqual([
      ['to-kernel', { portid: 77, pid: 12, sock: 3 }, 1, 1],
      ['from-kernel', { portid: 77, groups: 4 }, 1, 2],
    ]);
  });

  it('other protocols are skipped unless asked for', () => {
    const route = { ...netlinkRecord(getFamily(1, 1), 0n, { protocol: 0 }) };
    const file = writePcap([route, netlinkRecord(getFamily(2, 1), 0n)], LINKTYPE_NETLINK);
    expect([...netlinkRecords(file)].map((r) => r.frame)).toEqual([2]);
    expect([...netlinkRecords(file, { protocol: 'all' })].map((r) => r.protocol)).toEqual([0, 16]);
  });
});

describe('PcapFileWriter', () => {
  it.each(['a.pcap', 'b.pcapng'])('%s is readable after every record', (name) => {
    const file = path.join(tmp, name);
    const w = new PcapFileWriter(file, { linktype: LINKTYPE_NETLINK });
    expect(w.format).toBe(captureFormatFor(name));
    expect(readPcap(fs.readFileSync(file))).toEqual([]);
    for (let i = 1; i <= 3; i++) {
      w.write(netlinkRecord(getFamily(i, 9), BigInt(i) * 1000n, { dir: 'to-kernel', pcapng: w.format === 'pcapng' }));
      // No close: what a killed writer leaves behind.
      const recs = [...netlinkRecords(fs.readFileSync(file))];
      expect(recs.map((r) => r.messages[0].seq)).toEqual(Array.from({ length: i }, (_, k) => k + 1));
    }
    w.close();
    w.write(netlinkRecord(getFamily(9, 9), 0n));
    expect(readPcap(fs.readFileSync(file))).toHaveLength(3);
    expect(w.count).toBe(3);
  });
});

(hasTshark ? describe : describe.skip)(`tshark reads our files${TSHARK_SKIP}`, () => {
  it.each(['pcap', 'pcapng'] as const)('%s written from the kernel capture: exit 0, 2170 packets, no warnings', (format) => {
    const recs = readPcap(basic);
    const file = path.join(tmp, `tshark.${format}`);
    fs.writeFileSync(file, format === 'pcap' ? writePcap(recs, LINKTYPE_NETLINK) : writePcapng(recs.map((r) => ({ ...r, comment: 'ovs-dpemu: dir=to-kernel', epbFlags: 1 })), LINKTYPE_NETLINK, { application: 'ovs-dpemu' }));
    expect(runTshark(file)).toEqual({ status: 0, packets: 2170, stderr: [] });
  });

  it('incrementally written files', () => {
    const file = path.join(tmp, 'inc.pcapng');
    const w = new PcapFileWriter(file, { linktype: LINKTYPE_NETLINK, application: 'ovs-dpemu', ifName: 'nlmon0' });
    for (let i = 1; i <= 5; i++) w.write(netlinkRecord(getFamily(i, 9), BigInt(i) * 1000n, { dir: 'to-kernel', pcapng: true, meta: { portid: 9 } }));
    expect(runTshark(file)).toEqual({ status: 0, packets: 5, stderr: [] });
    w.close();
  });
});
