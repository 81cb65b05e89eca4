/**
 * pcap and pcapng readers/writers for the two link types the project uses: LINKTYPE_NETLINK
 * (253, nlmon captures: a 16-byte cooked header, then the netlink datagram) and
 * LINKTYPE_ETHERNET (1, frames to inject). Netlink specifics (cooked header, direction) live
 * in ./netlink-capture.ts; the incremental file writer in ./pcap-writer.ts.
 *
 * Formats: classic pcap (both byte orders, µs and ns magics) and pcapng (section, interface
 * description, enhanced and simple packet blocks; per-packet comments and `epb_flags`).
 */

export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_NETLINK = 253;

/** PcapRecord is one captured packet. */
export interface PcapRecord {
  /** Seconds and nanoseconds since the epoch. */
  sec: number;
  nsec: number;
  data: Buffer;
  /** Length on the wire (≥ data.length when the capture truncated it). */
  origLen: number;
  linktype: number;
  /** pcapng only: the packet's `opt_comment` options, joined by newlines. */
  comment?: string;
  /** pcapng only: `epb_flags` (bits 0-1 direction: 1 inbound, 2 outbound). */
  epbFlags?: number;
}

/** A record to write: the link type is the file's (or the writer's). */
export type PcapOutRecord = Omit<PcapRecord, 'linktype'>;

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BOM = 0x1a2b3c4d;
const PCAPNG_IDB = 1;
const PCAPNG_SPB = 3;
const PCAPNG_EPB = 6;
/** pcapng option codes. */
const OPT_END = 0;
const OPT_COMMENT = 1;
const EPB_FLAGS = 2;
const IF_NAME = 2;
const IF_TSRESOL = 9;
const IF_TSOFFSET = 14;
const SHB_USERAPPL = 4;

/** Default snapshot length, as tcpdump -s 0 writes it. */
export const DEFAULT_SNAPLEN = 262144;

function readClassic(b: Buffer): PcapRecord[] {
  let le = true;
  let magic = b.readUInt32LE(0);
  if (magic !== PCAP_MAGIC_US && magic !== PCAP_MAGIC_NS) {
    le = false;
    magic = b.readUInt32BE(0);
  }
  if (magic !== PCAP_MAGIC_US && magic !== PCAP_MAGIC_NS) throw new Error(`pcap: bad magic 0x${b.readUInt32LE(0).toString(16)}`);
  const u32 = (o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const nano = magic === PCAP_MAGIC_NS;
  const linktype = u32(20) & 0x0fffffff;
  const out: PcapRecord[] = [];
  let off = 24;
  while (off + 16 <= b.length) {
    const incl = u32(off + 8);
    if (off + 16 + incl > b.length) throw new Error(`pcap: record at ${off} overruns the file`);
    out.push({ sec: u32(off), nsec: nano ? u32(off + 4) : u32(off + 4) * 1000, origLen: u32(off + 12), data: b.subarray(off + 16, off + 16 + incl), linktype });
    off += 16 + incl;
  }
  return out;
}

interface NgIface {
  linktype: number;
  tsresol: number;
  tsoffset: bigint;
}

/** Walks the options of a pcapng block body from `from` to `to`. */
function ngOptions(b: Buffer, le: boolean, from: number, to: number, fn: (code: number, value: Buffer) => void): void {
  for (let o = from; o + 4 <= to;) {
    const code = le ? b.readUInt16LE(o) : b.readUInt16BE(o);
    const olen = le ? b.readUInt16LE(o + 2) : b.readUInt16BE(o + 2);
    if (code === OPT_END || o + 4 + olen > to) break;
    fn(code, b.subarray(o + 4, o + 4 + olen));
    o += 4 + ((olen + 3) & ~3);
  }
}

function ngTime(iface: NgIface, ts: bigint): { sec: number; nsec: number } {
  const per = iface.tsresol & 0x80 ? 2n ** BigInt(iface.tsresol & 0x7f) : 10n ** BigInt(iface.tsresol);
  return { sec: Number(ts / per + iface.tsoffset), nsec: Number(((ts % per) * 1000000000n) / per) };
}

function readNg(b: Buffer): PcapRecord[] {
  const out: PcapRecord[] = [];
  let le = b.readUInt32LE(8) === PCAPNG_BOM;
  const ifaces: NgIface[] = [];
  let off = 0;
  while (off + 12 <= b.length) {
    const u32 = (o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const type = b.readUInt32LE(off) === PCAPNG_SHB ? PCAPNG_SHB : u32(off);
    if (type === PCAPNG_SHB) {
      le = b.readUInt32LE(off + 8) === PCAPNG_BOM;
      ifaces.length = 0;
    }
    const len = le ? b.readUInt32LE(off + 4) : b.readUInt32BE(off + 4);
    if (len < 12 || off + len > b.length) throw new Error(`pcapng: block at ${off} has a bad length`);
    if (type === PCAPNG_IDB) {
      const iface: NgIface = { linktype: le ? b.readUInt16LE(off + 8) : b.readUInt16BE(off + 8), tsresol: 6, tsoffset: 0n };
      ngOptions(b, le, off + 16, off + len - 4, (code, v) => {
        if (code === IF_TSRESOL && v.length === 1) iface.tsresol = v[0];
        if (code === IF_TSOFFSET && v.length === 8) iface.tsoffset = le ? v.readBigInt64LE(0) : v.readBigInt64BE(0);
      });
      ifaces.push(iface);
    } else if (type === PCAPNG_EPB) {
      const iface = ifaces[u32(off + 8)] ?? { linktype: 0, tsresol: 6, tsoffset: 0n };
      const ts = (BigInt(u32(off + 12)) << 32n) | BigInt(u32(off + 16));
      const caplen = u32(off + 20);
      const rec: PcapRecord = { ...ngTime(iface, ts), origLen: u32(off + 24), data: b.subarray(off + 28, off + 28 + caplen), linktype: iface.linktype };
      const comments: string[] = [];
      ngOptions(b, le, off + 28 + ((caplen + 3) & ~3), off + len - 4, (code, v) => {
        if (code === OPT_COMMENT) comments.push(v.toString('utf8'));
        if (code === EPB_FLAGS && v.length === 4) rec.epbFlags = le ? v.readUInt32LE(0) : v.readUInt32BE(0);
      });
      if (comments.length) rec.comment = comments.join('\n');
      out.push(rec);
    } else if (type === PCAPNG_SPB) {
      // Simple packet block: no timestamp, snaplen of interface 0 bounds the data.
      const iface = ifaces[0] ?? { linktype: 0, tsresol: 6, tsoffset: 0n };
      const orig = u32(off + 8);
      out.push({ sec: 0, nsec: 0, origLen: orig, data: b.subarray(off + 12, off + 12 + Math.min(orig, len - 16)), linktype: iface.linktype });
    }
    off += len;
  }
  return out;
}

/** isPcapng tells a pcapng file from a classic one by its first block. */
export function isPcapng(b: Buffer): boolean {
  return b.length >= 4 && b.readUInt32LE(0) === PCAPNG_SHB;
}

/** readPcap reads a classic pcap or a pcapng file's packets. */
export function readPcap(b: Buffer): PcapRecord[] {
  if (b.length < 24) throw new Error('pcap: file too short');
  return isPcapng(b) ? readNg(b) : readClassic(b);
}

/** pcapHeader is the 24-byte global header of a classic, little-endian pcap. */
export function pcapHeader(linktype: number, opts: { nanoseconds?: boolean; snaplen?: number } = {}): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(opts.nanoseconds ? PCAP_MAGIC_NS : PCAP_MAGIC_US, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(opts.snaplen ?? DEFAULT_SNAPLEN, 16);
  head.writeUInt32LE(linktype, 20);
  return head;
}

/** pcapRecordBytes is one classic record (16-byte header + data). */
export function pcapRecordBytes(r: PcapOutRecord, nanoseconds = false): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt32LE(r.sec >>> 0, 0);
  h.writeUInt32LE(nanoseconds ? r.nsec : Math.floor(r.nsec / 1000), 4);
  h.writeUInt32LE(r.data.length, 8);
  h.writeUInt32LE(Math.max(r.origLen, r.data.length), 12);
  return Buffer.concat([h, r.data]);
}

/** writePcap writes a classic, microsecond, little-endian pcap of one link type. */
export function writePcap(records: readonly PcapOutRecord[], linktype: number, snaplen = DEFAULT_SNAPLEN): Buffer {
  return Buffer.concat([pcapHeader(linktype, { snaplen }), ...records.map((r) => pcapRecordBytes(r))]);
}

function ngOption(code: number, value: Buffer): Buffer {
  const o = Buffer.alloc(4 + ((value.length + 3) & ~3));
  o.writeUInt16LE(code, 0);
  o.writeUInt16LE(value.length, 2);
  value.copy(o, 4);
  return o;
}

function ngBlock(type: number, body: Buffer[]): Buffer {
  const len = 12 + body.reduce((n, p) => n + p.length, 0);
  const head = Buffer.alloc(8);
  head.writeUInt32LE(type, 0);
  head.writeUInt32LE(len, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt32LE(len, 0);
  return Buffer.concat([head, ...body, tail]);
}

function ngOptions0(opts: Buffer[]): Buffer[] {
  return opts.length ? [...opts, Buffer.alloc(4)] : [];
}

/** PcapngHeaderOptions name the writer and its one interface. */
export interface PcapngHeaderOptions {
  snaplen?: number;
  /** shb_userappl, e.g. "ovs-dpemu 0.1.0". */
  application?: string;
  /** if_name of interface 0, e.g. "nlmon0". */
  ifName?: string;
}

/** pcapngHeader is a section header block and one interface (ns timestamps) of `linktype`. */
export function pcapngHeader(linktype: number, opts: PcapngHeaderOptions = {}): Buffer {
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(PCAPNG_BOM, 0);
  shb.writeUInt16LE(1, 4);
  shb.writeUInt16LE(0, 6);
  shb.writeBigInt64LE(-1n, 8); // section length unknown
  const shbOpts = opts.application ? [ngOption(SHB_USERAPPL, Buffer.from(opts.application))] : [];
  const idb = Buffer.alloc(8);
  idb.writeUInt16LE(linktype, 0);
  idb.writeUInt32LE(opts.snaplen ?? DEFAULT_SNAPLEN, 4);
  const idbOpts = [ngOption(IF_TSRESOL, Buffer.from([9]))];
  if (opts.ifName) idbOpts.unshift(ngOption(IF_NAME, Buffer.from(opts.ifName)));
  return Buffer.concat([ngBlock(PCAPNG_SHB, [shb, ...ngOptions0(shbOpts)]), ngBlock(PCAPNG_IDB, [idb, ...ngOptions0(idbOpts)])]);
}

/** pcapngRecordBytes is one enhanced packet block on interface 0 (ns resolution). */
export function pcapngRecordBytes(r: PcapOutRecord): Buffer {
  const fixed = Buffer.alloc(20);
  const ts = BigInt(r.sec) * 1000000000n + BigInt(r.nsec);
  fixed.writeUInt32LE(0, 0);
  fixed.writeUInt32LE(Number(ts >> 32n), 4);
  fixed.writeUInt32LE(Number(ts & 0xffffffffn), 8);
  fixed.writeUInt32LE(r.data.length, 12);
  fixed.writeUInt32LE(Math.max(r.origLen, r.data.length), 16);
  const data = Buffer.alloc((r.data.length + 3) & ~3);
  r.data.copy(data);
  const opts: Buffer[] = [];
  if (r.epbFlags !== undefined) {
    const f = Buffer.alloc(4);
    f.writeUInt32LE(r.epbFlags >>> 0, 0);
    opts.push(ngOption(EPB_FLAGS, f));
  }
  if (r.comment) opts.push(ngOption(OPT_COMMENT, Buffer.from(r.comment, 'utf8')));
  return ngBlock(PCAPNG_EPB, [fixed, data, ...ngOptions0(opts)]);
}

/** writePcapng writes a little-endian pcapng with one interface of `linktype`. */
export function writePcapng(records: readonly PcapOutRecord[], linktype: number, opts: PcapngHeaderOptions = {}): Buffer {
  return Buffer.concat([pcapngHeader(linktype, opts), ...records.map(pcapngRecordBytes)]);
}
