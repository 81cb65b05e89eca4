/**
 * Byte-exact nlctrl CTRL_CMD_GETPOLICY answers against Linux 6.12.117.
 * Provenance: test/captures/kernel-6.12-getpolicy.pcap (oracle run of
 * test/captures/scripts/getpolicy-raw.sh; requests printed in kernel-6.12-getpolicy.out.txt).
 * Every GETPOLICY request of the capture is sent, in order, on one socket with NETLINK_EXT_ACK
 * and the same port id; the datagrams the emulator queues must equal the kernel's, boundaries
 * included: whole-family dumps by id and by name, single ops (present and missing commands),
 * strict-parse refusals with their extack, ENOENT / EINVAL / EOPNOTSUPP. The kernel gave the
 * families the ids the emulator uses (nlctrl 0x10, ovs_* 0x24..0x29), so nothing is mapped.
 */
import * as fs from 'fs';
import * as path from 'path';
import { NLMSG_HDRLEN } from '../../lib/nl/constants';
import { netlinkRecords, type NetlinkCaptureRecord } from '../../lib/replay/netlink-capture';
import { emulator, TestSocket } from '../helpers/nltest';

const CAPTURE = path.join(__dirname, '..', 'captures', 'kernel-6.12-getpolicy.pcap');
const OUT_TXT = path.join(__dirname, '..', 'captures', 'kernel-6.12-getpolicy.out.txt');
const GENL_ID_CTRL = 0x10;
const CTRL_CMD_GETPOLICY = 10;

interface Exchange { name: string; req: Buffer; replies: string[]; portid: number }

/** The capture's GETPOLICY requests, each with the kernel datagrams up to the next request. */
function exchanges(): Exchange[] {
  const recs: NetlinkCaptureRecord[] = [...netlinkRecords(fs.readFileSync(CAPTURE))];
  const out: Exchange[] = [];
  let cur: Exchange | undefined;
  for (const r of recs) {
    if (r.direction === 'to-kernel') {
      const m = r.messages[0];
      const isGetPolicy = m && m.type === GENL_ID_CTRL && m.bytes.length > NLMSG_HDRLEN && m.bytes[NLMSG_HDRLEN] === CTRL_CMD_GETPOLICY;
      cur = isGetPolicy ? { name: '', req: r.datagram, replies: [], portid: 0 } : undefined;
      if (cur) out.push(cur);
    } else if (cur) {
      cur.replies.push(r.datagram.toString('hex'));
      cur.portid = r.datagram.readUInt32LE(12);
    }
  }
  // Name each exchange after the script's CASE line of the same seq.
  const names = new Map<number, string>();
  for (const m of fs.readFileSync(OUT_TXT, 'utf8').matchAll(/^CASE (.*) seq=(\d+)$/gm)) names.set(Number(m[2]), m[1]);
  for (const x of out) {
    const seq = x.req.readUInt32LE(8);
    x.name = `${names.get(seq) ?? '?'} (seq ${seq})`;
  }
  return out;
}

const EXCHANGES = exchanges();

describe('golden: nlctrl GETPOLICY against Linux 6.12', () => {
  const emu = emulator();
  let sock: TestSocket | undefined;

  it('the capture holds the script\'s 84 GETPOLICY requests', () => {
    expect(EXCHANGES).toHaveLength(84);
    expect(new Set(EXCHANGES.map((x) => x.portid)).size).toBe(1);
    expect(EXCHANGES.every((x) => x.replies.length > 0 && !x.name.startsWith('?'))).toBe(true);
  });

  it.each(EXCHANGES.map((x) => [x.name, x] as const))('%s', (_n, x) => {
    sock ??= new TestSocket(emu, { pid: x.portid, uid: 0, gid: 0, netAdmin: true }).extAck();
    expect(sock.sock.portid).toBe(x.portid);
    expect(sock.send(x.req).map((b) => b.toString('hex'))).toEqual(x.replies);
  });
});

describe('GETPOLICY of a family without any policy', () => {
  it('psample: ENODATA from ctrl_dumppolicy_start(), as an NLMSG_ERROR', () => {
    const emu = emulator();
    const s = new TestSocket(emu);
    const ctrl = emu.registry.family('nlctrl');
    const r = s.send(s.msg(ctrl, 'getpolicy', 0x300 /* NLM_F_DUMP */, undefined, (w) => w.attrString(ctrl.set('policy-request-attrs').byName.get('family-name')!.type, 'psample')));
    expect(r.map((d) => [d.readUInt16LE(4), d.readInt32LE(16)])).toEqual([[2, -61]]);
  });
});
