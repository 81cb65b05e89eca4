/**
 * Test-side readers for the oracle's captures (test/captures/*.pcap, LINKTYPE_NETLINK with the
 * 16-byte nlmon cooked header) and their `.out.txt` command transcripts (`### CMD` … `### rc=N`).
 * Generic netlink family ids are learned from the nlctrl NEWFAMILY replies in the capture, as
 * oracle/tools/nlpcap.py does.
 */
import * as fs from 'fs';
import * as zlib from 'zlib';
import { forEachAttr } from '../../../lib/schema/validate';
import { loadSchemas } from '../../../lib/schema/load';

/** NlRecord is one netlink message of a capture. */
export interface NlRecord {
  frame: number;
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** Generic netlink family name, when learned. */
  family?: string;
  cmd: number;
  /** Attribute bytes after the genl header (and the ovs_header for ovs_* families). */
  attrs: Buffer;
  request: boolean;
  /** For NLMSG_ERROR records: the positive errno (0 for an ACK). */
  error?: number;
}

const NLM_F_REQUEST = 1;
const NLMSG_ERROR = 2;
const GENL_ID_CTRL = 0x10;
const COOKED_HDR = 16;
const reg = loadSchemas();

/** readNetlinkPcap lists the generic netlink messages of a capture, in order. */
export function readNetlinkPcap(path: string): NlRecord[] {
  let data = fs.readFileSync(path);
  if (data[0] === 0x1f && data[1] === 0x8b) data = zlib.gunzipSync(data);
  if (data.readUInt32LE(0) !== 0xa1b2c3d4 && data.readUInt32LE(0) !== 0xa1b23c4d) throw new Error(`${path}: not a little-endian pcap`);
  const ctrl = reg.family('nlctrl').set('ctrl-attrs');
  const idAttr = ctrl.byName.get('family-id')?.type;
  const nameAttr = ctrl.byName.get('family-name')?.type;
  const families = new Map<number, string>([[GENL_ID_CTRL, 'nlctrl']]);
  const out: NlRecord[] = [];
  let off = 24;
  for (let frame = 1; off + 16 <= data.length; frame++) {
    const caplen = data.readUInt32LE(off + 8);
    const pkt = data.subarray(off + 16, off + 16 + caplen);
    off += 16 + caplen;
    if (pkt.length < COOKED_HDR || pkt.readUInt16BE(14) !== 16) continue;
    const body = pkt.subarray(COOKED_HDR);
    for (let m = 0; m + 16 <= body.length; ) {
      const len = body.readUInt32LE(m);
      if (len < 16) break;
      const msg = body.subarray(m, m + len);
      m += (len + 3) & ~3;
      const type = msg.readUInt16LE(4);
      if (type === NLMSG_ERROR && msg.length >= 20) {
        out.push({ frame, type, flags: msg.readUInt16LE(6), seq: msg.readUInt32LE(8), pid: msg.readUInt32LE(12), cmd: 0,
          attrs: msg.subarray(16), request: false, error: -msg.readInt32LE(16) });
        continue;
      }
      const family = families.get(type);
      if (!family || msg.length < 20) continue;
      const hdr = family.startsWith('ovs_') ? 24 : 20;
      const rec: NlRecord = {
        frame, type, flags: msg.readUInt16LE(6), seq: msg.readUInt32LE(8), pid: msg.readUInt32LE(12), family,
        cmd: msg[16], attrs: msg.subarray(hdr), request: (msg.readUInt16LE(6) & NLM_F_REQUEST) !== 0,
      };
      out.push(rec);
      if (family === 'nlctrl' && !rec.request) {
        let id: number | undefined;
        let name: string | undefined;
        forEachAttr(rec.attrs, 0, (a) => {
          if (a.type === idAttr) id = a.payload.readUInt16LE(0);
          if (a.type === nameAttr) name = a.payload.toString('latin1').replace(/\0+$/, '');
        });
        if (id !== undefined && name) families.set(id, name);
      }
    }
  }
  return out;
}

/** Cmd is one `### CMD` block of an `.out.txt`. */
export interface Cmd {
  argv: string[];
  output: string[];
  rc: number;
}

/** readTranscript splits an `.out.txt` into commands (the first line, the client's version, is dropped). */
export function readTranscript(path: string): Cmd[] {
  const cmds: Cmd[] = [];
  let cur: Cmd | undefined;
  for (const line of fs.readFileSync(path, 'utf8').split('\n')) {
    const rc = /^### rc=(\d+)$/.exec(line);
    if (rc && cur) {
      cur.rc = Number(rc[1]);
      cmds.push(cur);
      cur = undefined;
    } else if (line.startsWith('### ') && !line.startsWith('### unexpected') && !line.startsWith('### UNEXPECTED')) {
      cur = { argv: line.slice(4).replace(/ \(expect failure\)$/, '').trim().split(/\s+/), output: [], rc: -1 };
    } else if (cur) {
      cur.output.push(line);
    }
  }
  return cmds;
}

/** portNamesOf collects PORT_NO → NAME from the ovs_vport replies sent to `pid`. */
export function portNamesOf(recs: NlRecord[], pid: number): Map<number, string> {
  const set = reg.family('ovs_vport').set('vport');
  const noAttr = set.byName.get('port-no')?.type;
  const nameAttr = set.byName.get('name')?.type;
  const names = new Map<number, string>();
  for (const r of recs) {
    if (r.family !== 'ovs_vport' || r.request || r.pid !== pid) continue;
    let no: number | undefined;
    let name: string | undefined;
    forEachAttr(r.attrs, 0, (a) => {
      if (a.type === noAttr) no = a.payload.readUInt32LE(0);
      if (a.type === nameAttr) name = a.payload.toString('latin1').replace(/\0+$/, '');
    });
    if (no !== undefined && name) names.set(no, name);
  }
  return names;
}
