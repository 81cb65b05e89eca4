/**
 * Reader and replayer for test/captures/kernel-6.12-meter-ctlimit.out.txt: ovs_meter and
 * ovs_ct_limit requests answered by Linux 6.12.117's openvswitch.ko in the qemu oracle
 * (test/captures/scripts/meter-ctlimit-raw.{sh,py}; the capture beside it holds the same
 * messages). Each case has the request bytes and every answer message the kernel queued for
 * it, so a replay can compare the emulator's answers byte for byte.
 */
import * as fs from 'fs';
import * as path from 'path';
import { NLMSG_ERROR } from '../../../lib/nl/constants';
import { forEachAttr } from '../../../lib/schema/validate';
import type { FamilySpec } from '../../../lib/schema/model';

export const TRANSCRIPT = path.join(__dirname, '../../captures/kernel-6.12-meter-ctlimit.out.txt');

/** KernelCase is one request of the transcript with the kernel's answers. */
export interface KernelCase {
  kind: 'case' | 'exec';
  name: string;
  seq: number;
  /** dp_ifindex of the request header, in the kernel's numbering. */
  dp: number;
  req: Buffer;
  rsp: Buffer[];
  dmesg: string[];
  /** EXEC: the meter and the frame length. */
  meter?: number;
  len?: number;
}

/** TranscriptItem is a case or a comment line (`# …`), in file order. */
export type TranscriptItem = KernelCase | { kind: 'comment'; text: string };

export interface Transcript {
  /** Datapath name → the kernel's ifindex. */
  dps: Map<string, number>;
  items: TranscriptItem[];
}

export function readTranscript(file = TRANSCRIPT): Transcript {
  const dps = new Map<string, number>();
  const items: TranscriptItem[] = [];
  let cur: KernelCase | undefined;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /^DP (\S+) (\d+)$/.exec(line))) dps.set(m[1], Number(m[2]));
    else if ((m = /^CASE (\S+) seq=(\d+) dp=(\d+)$/.exec(line))) {
      items.push(cur = { kind: 'case', name: m[1], seq: Number(m[2]), dp: Number(m[3]), req: Buffer.alloc(0), rsp: [], dmesg: [] });
    } else if ((m = /^EXEC (\S+) meter=(\d+) len=(\d+) seq=(\d+) dp=(\d+)$/.exec(line))) {
      items.push(cur = {
        kind: 'exec', name: m[1], meter: Number(m[2]), len: Number(m[3]), seq: Number(m[4]), dp: Number(m[5]),
        req: Buffer.alloc(0), rsp: [], dmesg: [],
      });
    } else if ((m = /^ {2}REQ ([0-9a-f]+)$/.exec(line)) && cur) cur.req = Buffer.from(m[1], 'hex');
    else if ((m = /^ {2}RSP ([0-9a-f]+)$/.exec(line)) && cur) cur.rsp.push(Buffer.from(m[1], 'hex'));
    else if ((m = /^ {2}dmesg: (.*)$/.exec(line)) && cur) cur.dmesg.push(m[1]);
    else if (line.startsWith('#')) {
      items.push({ kind: 'comment', text: line });
      cur = undefined;
    }
  }
  return { dps, items };
}

export const isCase = (i: TranscriptItem): i is KernelCase => i.kind !== 'comment';

/**
 * Normaliser maps a message between the kernel's and the emulator's numbering: nlmsg_pid
 * (the requester's port id) becomes 0, dp_ifindex values are translated, and the u64 payload
 * of every OVS_METER_ATTR_USED (ms since boot) becomes 0.
 */
export class Normaliser {
  constructor(private readonly meter: FamilySpec, private readonly ovsFamilies: Set<number>) {}

  /** ovsHeaderAt is where a message's ovs_header sits, if it has one. */
  private dpAt(msg: Buffer): number[] {
    const type = msg.readUInt16LE(4);
    if (this.ovsFamilies.has(type) && msg.length >= 24) return [20];
    if (type === NLMSG_ERROR && msg.length >= 20 + 24 && this.ovsFamilies.has(msg.readUInt16LE(24))) return [40];
    return [];
  }

  /** rewrite returns a copy with pid 0 (outer and echoed request), dp_ifindex mapped, USED zeroed. */
  rewrite(msg: Buffer, dpMap: (ifindex: number) => number): Buffer {
    const b = Buffer.from(msg);
    b.writeUInt32LE(0, 12);
    if (b.readUInt16LE(4) === NLMSG_ERROR && b.length >= 36) b.writeUInt32LE(0, 32);
    for (const at of this.dpAt(b)) b.writeInt32LE(dpMap(b.readInt32LE(at)), at);
    if (b.readUInt16LE(4) === this.meter.familyId && b.length > 24) {
      const used = this.meter.set('meter-attrs').byName.get('used')!.type;
      forEachAttr(b.subarray(24), 24, (a) => {
        if (a.type === used && a.payload.length === 8) a.payload.fill(0);
      });
    }
    return b;
  }
}
