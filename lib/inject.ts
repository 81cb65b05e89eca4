import * as fs from 'fs';
import { ShimClient } from './transport/shim-client';
import { Op } from './transport/shim-wire';
import { InjectOutcome } from './transport/transport';
import { LINKTYPE_ETHERNET, readPcap } from './replay/pcap';

/** InjectOptions of `ovs-dpemu inject`. */
export interface InjectOptions {
  socket: string;
  port: string;
  frames: Buffer[];
  /** Times to send the whole frame list (default 1). */
  count?: number;
  /** Frames per second (default: as fast as the emulator answers). */
  rate?: number;
  onProgress?: (sent: number, total: number) => void;
}

/** InjectSummary counts what the datapath did with the frames. */
export interface InjectSummary {
  sent: number;
  hit: number;
  missed: number;
  lost: number;
  dropped: number;
}

/** framesFromPcap reads the Ethernet frames of a pcap/pcapng file. */
export function framesFromPcap(file: string): Buffer[] {
  const recs = readPcap(fs.readFileSync(file));
  const bad = recs.find((r) => r.linktype !== LINKTYPE_ETHERNET);
  if (bad) throw new Error(`${file}: link type ${bad.linktype} is not Ethernet (1)`);
  return recs.map((r) => Buffer.from(r.data));
}

/** framesFromHex parses hex strings (spaces and colons allowed) into frames. */
export function framesFromHex(hex: readonly string[]): Buffer[] {
  return hex.map((h) => {
    const clean = h.replace(/[\s:]/g, '');
    if (!/^([0-9a-fA-F]{2})+$/.test(clean)) throw new Error(`not a hex frame: ${h}`);
    return Buffer.from(clean, 'hex');
  });
}

/**
 * inject sends frames into a vport of a running emulator, as if its device received them, and
 * counts hits, misses (upcalls queued), losses (upcalls that could not be delivered) and drops.
 */
export async function inject(o: InjectOptions): Promise<InjectSummary> {
  const client = new ShimClient(o.socket);
  await client.open();
  const sum: InjectSummary = { sent: 0, hit: 0, missed: 0, lost: 0, dropped: 0 };
  const total = o.frames.length * (o.count ?? 1);
  const name = Buffer.from(`${o.port}\0`);
  const start = Date.now();
  try {
    for (let i = 0; i < total; i++) {
      if (o.rate) {
        const due = start + (i * 1000) / o.rate;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const rep = await client.request(Op.Inject, Buffer.concat([name, o.frames[i % o.frames.length]]));
      if (rep.status < 0) throw new Error(`inject into ${o.port}: errno ${-rep.status}`);
      sum.sent++;
      if (rep.value === InjectOutcome.Hit) sum.hit++;
      else if (rep.value === InjectOutcome.Missed) sum.missed++;
      else if (rep.value === InjectOutcome.Lost) {
        sum.missed++;
        sum.lost++;
      } else sum.dropped++;
      if (o.onProgress && (sum.sent % 1000 === 0 || sum.sent === total)) o.onProgress(sum.sent, total);
    }
  } finally {
    client.close();
  }
  return sum;
}
