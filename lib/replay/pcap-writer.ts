/**
 * PcapFileWriter appends records to a capture file as they come: every record is one write(2)
 * straight to the file (no userspace buffering), so a server killed with SIGKILL leaves a file
 * that ends on a record boundary; close() and sync() fsync it.
 */
import * as fs from 'fs';
import { pcapHeader, pcapngHeader, pcapngRecordBytes, pcapRecordBytes, type PcapOutRecord } from './pcap';

/** 'pcap' = classic microsecond pcap (what tcpdump -i nlmon0 writes); 'pcapng' adds comments. */
export type CaptureFormat = 'pcap' | 'pcapng';

/** captureFormatFor picks the format from a file name: `.pcapng` → pcapng, anything else classic. */
export function captureFormatFor(file: string): CaptureFormat {
  return /\.pcapng$/i.test(file) ? 'pcapng' : 'pcap';
}

/** PcapFileWriterOptions choose the format and link type. */
export interface PcapFileWriterOptions {
  linktype: number;
  format?: CaptureFormat;
  snaplen?: number;
  /** pcapng: shb_userappl and if_name. */
  application?: string;
  ifName?: string;
}

/** Writes a capture file record by record. */
export class PcapFileWriter {
  private fd: number;
  readonly format: CaptureFormat;
  private n = 0;

  constructor(readonly path: string, opts: PcapFileWriterOptions) {
    this.format = opts.format ?? captureFormatFor(path);
    this.fd = fs.openSync(path, 'w', 0o644);
    const head = this.format === 'pcapng'
      ? pcapngHeader(opts.linktype, { snaplen: opts.snaplen, application: opts.application, ifName: opts.ifName })
      : pcapHeader(opts.linktype, { snaplen: opts.snaplen });
    this.writeAll(head);
  }

  /** Records written so far. */
  get count(): number {
    return this.n;
  }

  /** Whether the file is still open. */
  get open(): boolean {
    return this.fd >= 0;
  }

  /** Appends one record (comment and epbFlags are only kept in pcapng). */
  write(r: PcapOutRecord): void {
    if (this.fd < 0) return;
    this.writeAll(this.format === 'pcapng' ? pcapngRecordBytes(r) : pcapRecordBytes(r));
    this.n++;
  }

  /** fsync(2): what is written survives a crash of the machine too. */
  sync(): void {
    if (this.fd >= 0) fs.fsyncSync(this.fd);
  }

  /** fsyncs and closes; later writes are ignored. */
  close(): void {
    if (this.fd < 0) return;
    try {
      fs.fsyncSync(this.fd);
    } finally {
      fs.closeSync(this.fd);
      this.fd = -1;
    }
  }

  private writeAll(b: Buffer): void {
    for (let off = 0; off < b.length;) off += fs.writeSync(this.fd, b, off, b.length - off);
  }
}

let realBaseNs: bigint | undefined;
let hrBase = 0n;

/** nowNs is CLOCK_REALTIME in nanoseconds, with hrtime's resolution between calls. */
export function nowNs(): bigint {
  if (realBaseNs === undefined) {
    realBaseNs = BigInt(Date.now()) * 1000000n;
    hrBase = process.hrtime.bigint();
  }
  return realBaseNs + (process.hrtime.bigint() - hrBase);
}
