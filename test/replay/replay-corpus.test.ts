/**
 * Every real-kernel capture of test/captures/ replays green against the emulator (issue 6 item
 * 6). What cannot be replayed is pinned here with its reason: the oracle's end marker (an nlctrl
 * lookup of a family no kernel has, see test/captures/README.md), and kernel datagrams no
 * captured request caused — upcalls of real traffic (the vswitchd run's pings, the selftests'
 * packets) and, in the selftests extract, the nlctrl reply whose request the filter left out.
 */
import * as path from 'path';
import { replay, type ReplayResult } from '../../lib/replay/replay';
import { formatReplayResult } from '../../lib/replay/replay-report';

const CAPTURES = path.join(__dirname, '..', 'captures');
const END_MARK = "the oracle's end marker (nlctrl lookup of oracle-end-mark)";
const TRAFFIC = 'upcall of traffic the replay cannot produce (no captured request caused it)';

interface Expect {
  file: string;
  exchanges: number;
  /** Skipped exchanges and kernel datagrams without a request, by reason. */
  skipped: Record<string, { exchanges: number; strays: number }>;
  /** Normalisation rules that had to change compared bytes. */
  rules: string[];
}

const CORPUS: Expect[] = [
  { file: 'kernel-6.12-basic.pcap', exchanges: 1028, skipped: { [END_MARK]: { exchanges: 1, strays: 0 } }, rules: [] },
  { file: 'kernel-6.12-pyroute2-basic.pcap', exchanges: 158, skipped: { [END_MARK]: { exchanges: 1, strays: 0 } }, rules: [] },
  { file: 'kernel-6.12-flows.pcap', exchanges: 1544, skipped: { [END_MARK]: { exchanges: 1, strays: 0 } }, rules: [] },
  { file: 'kernel-6.12-flows-errors.pcap', exchanges: 1591, skipped: { [END_MARK]: { exchanges: 1, strays: 0 } }, rules: [] },
  { file: 'kernel-6.12-flows-errors-raw.pcap', exchanges: 225, skipped: { [END_MARK]: { exchanges: 1, strays: 0 } }, rules: [] },
  { file: 'kernel-6.12-flows-many.pcap', exchanges: 6284, skipped: { [END_MARK]: { exchanges: 1, strays: 0 } }, rules: [] },
  { file: 'kernel-6.12-pyroute2-flows.pcap', exchanges: 214, skipped: { [END_MARK]: { exchanges: 1, strays: 0 } }, rules: [] },
  { file: 'kernel-6.12-meter-ctlimit.pcap', exchanges: 1146, skipped: { [END_MARK]: { exchanges: 1, strays: 0 } }, rules: ['meter-used'] },
  // ct_limit GET replies around the reply skb's capacity: 653 entries fit, 654 are EMSGSIZE.
  { file: 'kernel-6.12-ct-limit-size.pcap', exchanges: 20, skipped: { [END_MARK]: { exchanges: 1, strays: 0 } }, rules: [] },
  { file: 'kernel-6.12-getpolicy.pcap', exchanges: 92, skipped: { [END_MARK]: { exchanges: 1, strays: 0 } }, rules: [] },
  {
    // vswitchd's start-up, probes, revalidator dumps and teardown replay; the 4 MISS upcalls of
    // the pings do not (the replay has no ping), and the flows and ports they hit are compared
    // under rule `traffic` from the first of them on.
    file: 'kernel-6.12-vswitchd.pcap', exchanges: 538,
    skipped: { [END_MARK]: { exchanges: 1, strays: 0 }, [TRAFFIC]: { exchanges: 0, strays: 4 } }, rules: ['meter-used', 'traffic'],
  },
  {
    // The same with veth (netdev) ports; va2 is deleted mid-run: the kernel's unsolicited vport
    // DEL is not replayed, but from then on the modelled host has no va2 and the emulator
    // detaches the port, so vswitchd's later lookups of va2 get ENODEV as they did.
    file: 'kernel-6.12-vswitchd-veth.pcap', exchanges: 494,
    skipped: {
      [END_MARK]: { exchanges: 1, strays: 0 }, [TRAFFIC]: { exchanges: 0, strays: 4 },
      'kernel-originated message no captured request caused': { exchanges: 0, strays: 1 },
    },
    rules: ['meter-used', 'traffic'],
  },
  {
    // Only upcalls (7 MISS, 1 ACTION) and the nlctrl reply naming ovs_packet: nothing to replay.
    file: 'kernel-6.12-selftests-upcalls.pcap', exchanges: 0,
    skipped: { 'to port 246, which sent no captured request': { exchanges: 0, strays: 1 }, [TRAFFIC]: { exchanges: 0, strays: 8 } }, rules: [],
  },
];

describe('replay of the real-kernel corpus (test/captures)', () => {
  it.each(CORPUS.map((c) => [c.file, c] as const))('%s replays green', async (_f, c) => {
    const r: ReplayResult = await replay(path.join(CAPTURES, c.file));
    if (!r.ok) throw new Error(formatReplayResult(r));
    const skippedExchanges = Object.values(c.skipped).reduce((n, s) => n + s.exchanges, 0);
    const strays = Object.values(c.skipped).reduce((n, s) => n + s.strays, 0);
    expect(r.counts).toEqual({ exchanges: c.exchanges, matched: c.exchanges - skippedExchanges, failed: 0, skipped: skippedExchanges, strays });
    expect(Object.fromEntries(r.skipped.map((s) => [s.reason, { exchanges: s.exchanges, strays: s.strays }]))).toEqual(c.skipped);
    expect(Object.keys(r.rulesApplied).sort()).toEqual(c.rules);
    // The modelled host reproduced the kernel's ifindexes: the learned map is the identity.
    expect(r.host.ifindexMap.filter(([k, e]) => k !== e)).toEqual([]);
  });
});
