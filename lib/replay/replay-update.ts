/**
 * `replay --update`: a copy of the capture whose expected replies are the emulator's. Requests,
 * skipped exchanges and strays stay as captured; each replayed exchange's replies take the
 * place of its captured ones (the k-th new datagram gets the k-th old one's timestamp and cooked
 * header), or follow the request when it had none. Classic pcap in, classic pcap out (as nlmon
 * writes it); pcapng in, pcapng out with the records' comments kept.
 */
import { EPB_INBOUND, EPB_OUTBOUND, formatMeta } from './netlink-capture';
import { LINKTYPE_NETLINK, writePcap, writePcapng, type PcapOutRecord } from './pcap';
import type { Capture, CapturedRecord } from './replay-capture';
import type { Exchange } from './replay-exchanges';

/** Replacement is what the emulator sent for one exchange. */
export interface Replacement {
  datagrams: Buffer[];
  /** Port id of the socket that received them. */
  port: number;
}

function record(like: CapturedRecord, datagram: Buffer, pcapng: boolean, port?: number): PcapOutRecord {
  const data = Buffer.concat([like.cooked, datagram]);
  const r: PcapOutRecord = { sec: like.sec, nsec: like.nsec, data, origLen: data.length };
  if (pcapng) {
    r.epbFlags = EPB_OUTBOUND;
    if (port !== undefined) r.comment = formatMeta('from-kernel', { portid: port });
  }
  return r;
}

function kept(rec: CapturedRecord, pcapng: boolean): PcapOutRecord {
  const r: PcapOutRecord = { sec: rec.sec, nsec: rec.nsec, data: Buffer.concat([rec.cooked, rec.datagram]), origLen: rec.origLen };
  if (rec.comment !== undefined) r.comment = rec.comment;
  if (pcapng) r.epbFlags = rec.request ? EPB_INBOUND : EPB_OUTBOUND;
  return r;
}

/** writeUpdated builds the updated capture file. */
export function writeUpdated(cap: Capture, replacements: Map<Exchange, Replacement>): Buffer {
  const dropped = new Set<CapturedRecord>();
  const at = new Map<CapturedRecord, PcapOutRecord[]>();
  const after = new Map<CapturedRecord, PcapOutRecord[]>();
  for (const [ex, rep] of replacements) {
    const old = [...ex.replies, ...ex.side].sort((a, b) => a.frame - b.frame);
    for (const r of old) dropped.add(r);
    const like = (i: number): CapturedRecord => old[Math.min(i, old.length - 1)] ?? ex.request;
    const recs = rep.datagrams.map((d, i) => record(like(i), d, cap.pcapng, rep.port));
    if (old.length) at.set(old[0], recs);
    else after.set(ex.request, recs);
  }
  const out: PcapOutRecord[] = [];
  for (const rec of cap.records) {
    out.push(...(at.get(rec) ?? []));
    if (!dropped.has(rec)) out.push(kept(rec, cap.pcapng));
    out.push(...(after.get(rec) ?? []));
  }
  return cap.pcapng ? writePcapng(out, LINKTYPE_NETLINK, { application: 'ovs-dpemu replay --update' }) : writePcap(out, LINKTYPE_NETLINK);
}
