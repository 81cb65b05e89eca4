/**
 * Kernel-differential mode: replay every request of a real-kernel capture (nlmon pcap, records
 * = 16-byte cooked header + netlink datagram) against a fresh emulator, one emulated socket per
 * kernel port id, and compare each request's final answer — errno of NLMSG_ERROR / NLMSG_DONE,
 * or no answer at all — and, where the kernel sent one, the extack message and offset.
 * Datapath ifindexes are mapped from the kernel's to the emulator's as replies reveal them.
 */
import * as fs from 'fs';
import { Emulator } from '../emulator';
import { NETLINK_GENERIC, NETLINK_OPT, NLMSGERR_ATTR, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, NLM_F, GENL_HDRLEN, align4 } from '../nl/constants';
import { errnoName } from '../nl/errno';
import { splitDatagram, type NlMessage } from '../nl/message';
import { readPcap } from '../replay/pcap';
import { loadSchemas } from '../schema/load';
import { forEachAttr } from '../schema/validate';
import type { NlSocket } from '../transport/transport';
import { FakeHost, FUZZ_CRED } from './target';
import { kmsg, resetRatelimits } from '../kmsg';

/** nlmon's cooked header before each datagram. */
const COOKED_LEN = 16;

/** Answer is a request's final answer: errno (0 = ACK / DONE 0), or none. */
export interface Answer {
  errno?: number;
  done: boolean;
  msg?: string;
  offs?: number;
}

export interface Comparison {
  seq: number;
  portid: number;
  type: number;
  name: string;
  kernel: Answer;
  emulator: Answer;
  agree: boolean;
  why?: string;
}

export interface DifferentialResult {
  file: string;
  compared: number;
  agreed: number;
  disagreements: Comparison[];
  /**
   * Cases whose kernel log lines (the transcript's `  dmesg:` lines of OVS and netlink origin)
   * differ from what the emulator logged for the same requests (`ovs-dpemu dmesg`); process
   * names are compared as COMM. Empty when the transcript records no kernel log.
   */
  logDisagreements: { name: string; kernel: string[]; emulator: string[] }[];
}

/** The kernel log lines of a case that are the datapath's or the netlink parser's, comm-neutral. */
export function datapathLog(lines: string[]): string[] {
  return lines.filter((l) => /^(openvswitch: |netlink: )/.test(l))
    .map((l) => l.replace(/^netlink: '[^']*':/, "netlink: 'COMM':").replace(/in process `[^']*'\.$/, 'in process `COMM\'.'));
}

function answerOf(m: NlMessage | undefined): Answer {
  if (!m) return { done: false };
  const b = m.bytes;
  const err = b.length >= NLMSG_HDRLEN + 4 ? -b.readInt32LE(NLMSG_HDRLEN) : undefined;
  const a: Answer = { errno: err, done: m.type === NLMSG_DONE };
  if (m.flags & NLM_F.ACK_TLVS) {
    let at = NLMSG_HDRLEN + 4;
    if (m.type === NLMSG_ERROR) at += m.flags & NLM_F.CAPPED ? NLMSG_HDRLEN : align4(b.readUInt32LE(NLMSG_HDRLEN + 4));
    for (let off = at; off + 4 <= b.length;) {
      const len = b.readUInt16LE(off);
      const type = b.readUInt16LE(off + 2) & 0x3fff;
      if (len < 4 || off + len > b.length) break;
      const p = b.subarray(off + 4, off + len);
      if (type === NLMSGERR_ATTR.MSG) a.msg = p.toString('utf8').replace(/\0+$/, '');
      if (type === NLMSGERR_ATTR.OFFS && p.length >= 4) a.offs = p.readUInt32LE(0);
      off += align4(len);
    }
  }
  return a;
}

export function formatAnswer(a: Answer): string {
  if (a.errno === undefined) return 'none';
  let s = `${a.done ? 'done=' : ''}${a.errno}${a.errno ? ` (${errnoName(a.errno)})` : ''}`;
  if (a.msg !== undefined) s += ` extack="${a.msg}"`;
  if (a.offs !== undefined) s += ` offs=${a.offs}`;
  return s;
}

/**
 * caseNames reads `CASE <name> seq=<a,b>` lines of an ovs-raw-requests transcript, and the
 * `  dmesg: …` lines that follow each (the kernel log the case caused).
 */
function caseNames(transcript: string | undefined): { names: Map<number, string>; dmesg: Map<string, string[]> } {
  const names = new Map<number, string>();
  const dmesg = new Map<string, string[]>();
  if (!transcript || !fs.existsSync(transcript)) return { names, dmesg };
  let current: string | undefined;
  for (const line of fs.readFileSync(transcript, 'utf8').split('\n')) {
    const m = /^CASE (\S+) seq=([\d,]+)/.exec(line);
    if (m) {
      for (const s of m[2].split(',')) names.set(Number(s), m[1]);
      current = m[1];
      dmesg.set(current, []);
    } else if (current && line.startsWith('  dmesg: ')) {
      dmesg.get(current)!.push(line.slice('  dmesg: '.length));
    } else if (!line.startsWith('  ')) {
      current = undefined;
    }
  }
  return { names, dmesg };
}

function isFinal(m: NlMessage): boolean {
  return m.type === NLMSG_ERROR || m.type === NLMSG_DONE;
}

/**
 * netdevNames lists the interfaces the capture adds as `netdev` vports with success (veth ends
 * its script made beforehand), so that the emulator's host has them too.
 */
function netdevNames(dgrams: Buffer[]): string[] {
  const reg = loadSchemas();
  const vp = reg.family('ovs_vport');
  const set = vp.set('vport');
  const nameType = set.byName.get('name')?.type;
  const typeType = set.byName.get('type')?.type;
  const netdev = vp.enumValue('vport-type', 'netdev');
  const names = new Set<string>();
  const pending = new Map<number, string>();
  for (const d of dgrams) {
    for (const m of splitDatagram(d)) {
      const name = pending.get(m.seq);
      if (name !== undefined && !(m.flags & NLM_F.REQUEST)) {
        // The kernel's answer: an error drops the name, a reply or an ACK keeps it.
        if (m.type !== NLMSG_ERROR || m.bytes.readInt32LE(NLMSG_HDRLEN) === 0) names.add(name);
        pending.delete(m.seq);
      }
      if (m.type !== vp.familyId || !(m.flags & NLM_F.REQUEST) || m.bytes[NLMSG_HDRLEN] !== vp.op('new').cmd) continue;
      let newName: string | undefined;
      let type: number | undefined;
      forEachAttr(m.bytes.subarray(NLMSG_HDRLEN + GENL_HDRLEN + vp.hdrsize), 0, (a) => {
        if (a.type === nameType) newName = a.payload.toString('utf8').replace(/\0.*$/s, '');
        if (a.type === typeType && a.payload.length >= 4) type = a.payload.readUInt32LE(0);
      });
      if (newName && type === netdev) pending.set(m.seq, newName);
    }
  }
  return [...names];
}

/** runDifferential replays `pcapFile` and compares; `transcript` names the cases (optional). */
export function runDifferential(pcapFile: string, transcript = pcapFile.replace(/\.pcap$/, '.out.txt')): DifferentialResult {
  const { names, dmesg } = caseNames(transcript);
  // Each capture was recorded on a freshly booted kernel: ratelimited warnings start afresh.
  resetRatelimits();
  /** What the emulator logged per case name (see DifferentialResult.logDisagreements). */
  const logged = new Map<string, string[]>();
  const dgrams = readPcap(fs.readFileSync(pcapFile)).map((r) => r.data.subarray(COOKED_LEN)).filter((d) => d.length >= NLMSG_HDRLEN);
  const emu = new Emulator({ cpus: 2, host: new FakeHost(['lo', 'eth0', ...netdevNames(dgrams)]), maxMeters: 200000 });
  // Requests carry NLM_F_REQUEST (the raw script also sends some without it, with nlmsg_pid 0);
  // the kernel's messages never do, and only its upcalls (ovs_packet MISS/ACTION) have pid 0.
  const packetId = emu.registry.family('ovs_packet').familyId;
  const isRequest = (d: Buffer): boolean => {
    if (d.readUInt16LE(6) & NLM_F.REQUEST) return true;
    const upcall = d.readUInt16LE(4) === packetId && d.length > NLMSG_HDRLEN && d[NLMSG_HDRLEN] <= 2;
    return d.readUInt32LE(12) === 0 && !upcall && d.readUInt16LE(4) !== NLMSG_ERROR && d.readUInt16LE(4) !== NLMSG_DONE;
  };
  const sockets = new Map<number, { s: NlSocket; q: Buffer[] }>();
  const socketFor = (portid: number): { s: NlSocket; q: Buffer[] } => {
    let e = sockets.get(portid);
    if (!e) {
      const q: Buffer[] = [];
      const s = emu.openSocket({ ...FUZZ_CRED, pid: portid }, NETLINK_GENERIC, { deliver: (d) => (q.push(d), true), signalOverrun: () => true });
      s.bind(portid, 0);
      const on = Buffer.alloc(4);
      on.writeUInt32LE(1);
      s.setNetlinkOption(NETLINK_OPT.EXT_ACK, on);
      sockets.set(portid, (e = { s, q }));
    }
    return e;
  };
  const ifindexMap = new Map<number, number>();
  const result: DifferentialResult = { file: pcapFile, compared: 0, agreed: 0, disagreements: [], logDisagreements: [] };
  let lastPortid = 0;
  dgrams.forEach((d, i) => {
    if (!isRequest(d)) return;
    const reqs = [...splitDatagram(d)];
    // The kernel's replies to this datagram: the following non-request records, up to the next request.
    const kernelMsgs: NlMessage[] = [];
    for (let j = i + 1; j < dgrams.length && !isRequest(dgrams[j]); j++) kernelMsgs.push(...splitDatagram(dgrams[j]));
    const seqs = new Set(reqs.map((r) => r.seq).concat(d.length >= 12 ? [d.readUInt32LE(8)] : []));
    const portid = kernelMsgs.find((m) => seqs.has(m.seq))?.pid ?? lastPortid;
    lastPortid = portid;
    const { s, q } = socketFor(portid);
    const out = Buffer.from(d);
    for (const r of reqs) {
      const fam = emu.registry.byId(r.type);
      const at = (r.bytes.byteOffset - d.byteOffset) + NLMSG_HDRLEN + GENL_HDRLEN;
      if (fam?.hdrsize === 4 && r.bytes.length >= NLMSG_HDRLEN + GENL_HDRLEN + 4) {
        const k = out.readInt32LE(at);
        let e = ifindexMap.get(k);
        if (e === undefined && k > 0) {
          // Learned elsewhere (pyroute2 finds datapaths through rtnetlink): the one datapath
          // of the emulator no kernel ifindex maps to yet.
          const mapped = new Set(ifindexMap.values());
          const free = emu.ovs.net.dps.filter((dp) => !mapped.has(dp.ifindex));
          if (free.length === 1) ifindexMap.set(k, (e = free[0].ifindex));
        }
        if (e !== undefined) out.writeInt32LE(e, at);
      }
    }
    const mark = kmsg.count;
    let res = s.send(out, 0);
    for (let n = 0; res.dumpPending && n < 100000; n++) res = s.refill();
    const caseName = names.get(reqs[0]?.seq ?? -1);
    if (caseName) logged.set(caseName, [...(logged.get(caseName) ?? []), ...kmsg.since(mark).map((l) => l.replace(/^\[[ \d.]+\] /, ''))]);
    const emuMsgs = q.splice(0).flatMap((x) => [...splitDatagram(x)]);
    for (const r of reqs) {
      const kFinal = kernelMsgs.find((m) => m.seq === r.seq && isFinal(m));
      const eFinal = emuMsgs.find((m) => m.seq === r.seq && isFinal(m));
      // Learn the datapath ifindex from the first family replies (ovs_header after genl).
      const kRep = kernelMsgs.find((m) => m.seq === r.seq && !isFinal(m) && emu.registry.byId(m.type)?.hdrsize === 4);
      const eRep = emuMsgs.find((m) => m.seq === r.seq && !isFinal(m) && m.type === kRep?.type);
      if (kRep && eRep && kRep.bytes.length >= 24 && eRep.bytes.length >= 24) {
        const k = kRep.bytes.readInt32LE(NLMSG_HDRLEN + GENL_HDRLEN);
        const e = eRep.bytes.readInt32LE(NLMSG_HDRLEN + GENL_HDRLEN);
        if (k && e) ifindexMap.set(k, e);
      }
      const kernel = answerOf(kFinal);
      const emulator = answerOf(eFinal);
      let why: string | undefined;
      if (kernel.errno !== emulator.errno || kernel.done !== emulator.done) why = 'errno';
      else if (kernel.msg !== undefined && kernel.msg !== emulator.msg) why = 'extack message';
      else if (kernel.offs !== undefined && kernel.offs !== emulator.offs) why = 'extack offset';
      const c: Comparison = { seq: r.seq, portid, type: r.type, name: names.get(r.seq) ?? `${emu.registry.byId(r.type)?.name ?? `type ${r.type}`} seq ${r.seq}`, kernel, emulator, agree: !why, why };
      result.compared++;
      if (c.agree) result.agreed++;
      else result.disagreements.push(c);
    }
  });
  for (const { s } of sockets.values()) s.close();
  for (const [name, lines] of dmesg) {
    const kernel = datapathLog(lines);
    const emulator = datapathLog(logged.get(name) ?? []);
    if (kernel.join('\n') !== emulator.join('\n')) result.logDisagreements.push({ name, kernel, emulator });
  }
  return result;
}

export function formatDifferential(r: DifferentialResult): string {
  const lines = [`${r.file}: ${r.agreed}/${r.compared} requests agree (${((100 * r.agreed) / Math.max(1, r.compared)).toFixed(1)} %)`];
  for (const c of r.disagreements) lines.push(`  DIFF ${c.name} [${c.why}]: kernel ${formatAnswer(c.kernel)} · emulator ${formatAnswer(c.emulator)}`);
  for (const c of r.logDisagreements) lines.push(`  LOG ${c.name}: kernel ${JSON.stringify(c.kernel)} · emulator ${JSON.stringify(c.emulator)}`);
  return `${lines.join('\n')}\n`;
}
