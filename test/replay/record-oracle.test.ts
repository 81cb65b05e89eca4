/**
 * Passthrough recording against the real Linux 6.12 openvswitch module (issue 6 item 2):
 * `ovs-dpemu record` ran inside the qemu oracle beside tcpdump on nlmon0
 * (test/fixtures/record/README.md). Every datagram it recorded is byte-identical to one nlmon
 * captured; each socket's datagrams come in nlmon's order.
 */
import * as fs from 'fs';
import * as path from 'path';

import { decodeCapture } from '../../lib/replay/decode';
import { netlinkRecords, type NetlinkCaptureRecord } from '../../lib/replay/netlink-capture';
import { TSHARK_SKIP, hasTshark, runTshark } from '../helpers/tshark';

const DIR = path.join(__dirname, '..', 'fixtures', 'record');
const load = (name: string): NetlinkCaptureRecord[] => [...netlinkRecords(fs.readFileSync(path.join(DIR, name)))];
const nlmon = load('nlmon.pcap');
const hex = (r: NetlinkCaptureRecord): string => r.datagram.toString('hex');
/** A socket's records are the ones carrying its port id (requests may carry 0: then the pid of the reply). */
const portOf = (r: NetlinkCaptureRecord): number => r.messages[0]?.pid ?? 0;

const recordings = [
  ['passthrough-show.pcap', 'ovs-dpctl show'],
  ['passthrough-show.pcapng', 'ovs-dpctl show (pcapng)'],
  ['passthrough-multi.pcap', 'add-if; dump-flows; show -s (3 processes)'],
  ['passthrough-genl.pcap', 'genl ctrl list'],
] as const;

describe.each(recordings)('%s: %s', (file) => {
  const rec = load(file);
  // The nlmon records of the same run: from the first recorded datagram on, as many as recorded.
  const first = nlmon.findIndex((r) => hex(r) === hex(rec[0]));
  const window = nlmon.slice(first, first + rec.length);

  it('starts where nlmon saw the command start', () => {
    expect(first).toBeGreaterThanOrEqual(0);
    expect(rec[0].direction).toBe('to-kernel');
  });

  it('the same datagrams as nlmon, byte for byte', () => {
    expect(rec.map(hex).sort()).toEqual(window.map(hex).sort());
  });

  it('each socket\'s datagrams in nlmon\'s order, with nlmon\'s direction', () => {
    for (const port of new Set(rec.map(portOf))) {
      const mine = rec.filter((r) => portOf(r) === port);
      const theirs = window.filter((r) => portOf(r) === port);
      expect(mine.map(hex)).toEqual(theirs.map(hex));
      expect(mine.map((r) => r.direction)).toEqual(theirs.map((r) => r.direction));
    }
  });

  (hasTshark ? it : it.skip)(`tshark reads it${TSHARK_SKIP}`, () => {
    expect(runTshark(path.join(DIR, file))).toEqual({ status: 0, packets: rec.length, stderr: [] });
  });
});

describe('the recordings decode', () => {
  it('ovs-dpctl show: the kernel\'s datapath and vport replies', () => {
    const msgs = [...decodeCapture(fs.readFileSync(path.join(DIR, 'passthrough-show.pcap')))];
    expect(msgs.filter((m) => m.note || m.leftover)).toEqual([]);
    const dp = msgs.find((m) => m.family === 'ovs_datapath' && m.direction === 'from-kernel' && m.cmdName === 'get')!;
    expect(dp.attrs?.find((a) => a.name === 'name')?.value).toBe('dp0');
    const vport = msgs.find((m) => m.family === 'ovs_vport' && m.direction === 'from-kernel' && m.kind === 'genl')!;
    expect(vport.attrs?.find((a) => a.name === 'type')?.text).toBe('2 (internal)');
  });

  it('pcapng: port ids and pids of the recording process', () => {
    const recs = load('passthrough-show.pcapng');
    const pids = new Set(recs.map((r) => r.meta?.pid));
    expect(pids.size).toBe(1);
    for (const r of recs.filter((x) => x.direction === 'from-kernel')) expect(r.messages[0].pid).toBe(r.meta?.portid);
  });
});
