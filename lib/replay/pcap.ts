/**
 * pcap and pcapng readers/writers for the two link types the project uses: LINKTYPE_NETLINK
 * (253, nlmon captures: a 16-byte cooked header, then the netlink datagram) and
 * LINKTYPE_ETHERNET (1, frames to inject).
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
}

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;

function readClassic(b: Buffer): PcapRecord[] {
  let le = true;
  let magic = b.readUInt32LE(0);
  if (magic !== PCAP_MAGIC_US && magic !== PCAP_MAGIC_NS) {
    le = false;
    magic = b.readUInt32BE(0);
  }
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

function readNg(b: Buffer): PcapRecord[] {
  const out: PcapRecord[] = [];
  let le = b.readUInt32LE(8) === 0x1a2b3c4d;
  const ifaces: { linktype: number; tsresol: number }[] = [];
  let off = 0;
  while (off + 12 <= b.length) {
    const u32 = (o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const type = u32(off);
    if (type === PCAPNG_SHB) {
      le = b.readUInt32LE(off + 8) === 0x1a2b3c4d;
      ifaces.length = 0;
    }
    const len = u32(off + 4);
    if (len < 12 || off + len > b.length) throw new Error(`pcapng: block at ${off} has a bad length`);
    if (type === 1) {
      let tsresol = 6;
      for (let o = off + 16; o + 4 <= off + len - 4;) {
        const code = le ? b.readUInt16LE(o) : b.readUInt16BE(o);
        const olen = le ? b.readUInt16LE(o + 2) : b.readUInt16BE(o + 2);
        if (code === 0) break;
        if (code === 9 && olen === 1) tsresol = b[o + 4];
        o += 4 + ((olen + 3) & ~3);
      }
      ifaces.push({ linktype: le ? b.readUInt16LE(off + 8) : b.readUInt16BE(off + 8), tsresol });
    } else if (type === 6) {
      const iface = ifaces[u32(off + 8)] ?? { linktype: 0, tsresol: 6 };
      const ts = (BigInt(u32(off + 12)) << 32n) | BigInt(u32(off + 16));
      const per = iface.tsresol & 0x80 ? 2n ** BigInt(iface.tsresol & 0x7f) : 10n ** BigInt(iface.tsresol);
      const caplen = u32(off + 20);
      out.push({
        sec: Number(ts / per), nsec: Number(((ts % per) * 1000000000n) / per), origLen: u32(off + 24),
        data: b.subarray(off + 28, off + 28 + caplen), linktype: iface.linktype,
      });
    }
    off += len;
  }
  return out;
}

/** readPcap reads a classic pcap or a pcapng file's packets. */
export function readPcap(b: Buffer): PcapRecord[] {
  if (b.length < 24) throw new Error('pcap: file too short');
  return b.readUInt32LE(0) === PCAPNG_SHB ? readNg(b) : readClassic(b);
}

/** writePcap writes a classic, microsecond, little-endian pcap of one link type. */
export function writePcap(records: readonly Omit<PcapRecord, 'linktype'>[], linktype: number, snaplen = 262144): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(PCAP_MAGIC_US, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(snaplen, 16);
  head.writeUInt32LE(linktype, 20);
  const parts: Buffer[] = [head];
  for (const r of records) {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(r.sec >>> 0, 0);
    h.writeUInt32LE(Math.floor(r.nsec / 1000), 4);
    h.writeUInt32LE(r.data.length, 8);
    h.writeUInt32LE(r.origLen, 12);
    parts.push(h, r.data);
  }
  return Buffer.concat(parts);
}
