/**
 * CaptureRecorder turns datagrams into LINKTYPE_NETLINK records of a capture file, written as
 * they come (see pcap-writer.ts). It serves `serve --record` (as the shim server's tap) and
 * `record` (fed by the passthrough shim, see passthrough-recorder.ts).
 *
 * Classic pcap files are byte-compatible with nlmon captures: the cooked header is nlmon's
 * (PACKET_OUTGOING, ARPHRD_NETLINK, protocol), the netlink bytes are untouched, so the port id
 * shows only where netlink puts it (nlmsg_pid). pcapng files add per record `epb_flags`
 * (inbound = to the kernel) and a comment `ovs-dpemu: dir=… portid=… pid=… sock=…`.
 */
import createDebug from 'debug';
import { NETLINK_GENERIC } from '../nl/constants';
import type { DatagramTap, TapEvent } from '../transport/transport';
import { netlinkRecord, type NlDirection, type RecordMeta } from './netlink-capture';
import { LINKTYPE_NETLINK } from './pcap';
import { PcapFileWriter, nowNs, type CaptureFormat } from './pcap-writer';

const debug = createDebug('ovs-dpemu:replay:recorder');

/** One datagram to record. */
export interface CapturedDatagram {
  direction: NlDirection;
  datagram: Buffer;
  /** ns since the epoch; default now. */
  timeNs?: bigint;
  protocol?: number;
  /** Length before truncation, when the datagram is cut. */
  origLen?: number;
  meta?: RecordMeta;
}

/** Options of {@link CaptureRecorder}. */
export interface CaptureRecorderOptions {
  /** Default: by extension (`.pcapng` → pcapng, else classic pcap). */
  format?: CaptureFormat;
  /** shb_userappl of pcapng files. */
  application?: string;
}

/** Writes captured datagrams to a file; never throws at its callers once open. */
export class CaptureRecorder {
  private readonly out: PcapFileWriter;
  private failed = false;

  constructor(readonly path: string, opts: CaptureRecorderOptions = {}) {
    this.out = new PcapFileWriter(path, { linktype: LINKTYPE_NETLINK, format: opts.format, application: opts.application ?? 'ovs-dpemu', ifName: 'ovs-dpemu' });
  }

  /** Records written. */
  get count(): number {
    return this.out.count;
  }

  get format(): CaptureFormat {
    return this.out.format;
  }

  /** record appends one datagram. */
  record(d: CapturedDatagram): void {
    if (this.failed) return;
    try {
      this.out.write(netlinkRecord(d.datagram, d.timeNs ?? nowNs(), {
        protocol: d.protocol ?? NETLINK_GENERIC, origLen: d.origLen, dir: d.direction, meta: d.meta, pcapng: this.out.format === 'pcapng',
      }));
    } catch (e) {
      // A full disk must not take the emulator down: stop recording, say so once.
      this.failed = true;
      process.stderr.write(`ovs-dpemu: recording to ${this.path} stopped: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  }

  /** tap is the {@link DatagramTap} for a transport (ShimServer's `tap` option). */
  readonly tap: DatagramTap = (ev: TapEvent) => {
    debug('%s %d bytes portid %d', ev.direction, ev.datagram.length, ev.portid);
    this.record({ direction: ev.direction, datagram: ev.datagram, meta: { portid: ev.portid, pid: ev.pid, sock: ev.sockid, dst: ev.dst } });
  };

  /** fsync: everything recorded so far is on disk. */
  sync(): void {
    try {
      this.out.sync();
    } catch (e) {
      debug('fsync: %O', e);
    }
  }

  /** fsyncs and closes the file. */
  close(): void {
    try {
      this.out.close();
    } catch (e) {
      debug('close: %O', e);
    }
  }
}
