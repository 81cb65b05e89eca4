/**
 * ovs_meter byte for byte against Linux 6.12.117: every meter request of
 * test/captures/kernel-6.12-meter-ctlimit.out.txt (qemu oracle, Debian 6.12.117-1~deb12u1
 * openvswitch.ko, 2 GiB guest; `ORACLE/run.sh test/captures/scripts/meter-ctlimit-raw.sh OUT`)
 * is replayed in order and the emulator's answers must equal the kernel's: replies, ACKs,
 * errors with their extack, with port ids, dp_ifindex and USED (ms since boot) normalised.
 * The OVS_PACKET_CMD_EXECUTE cases that fed packets through meters are replayed by calling
 * ovsMeterExecute() with a frame of the same length (the clock stands still: the kernel sent
 * them within a few ms, which refills no bucket enough to change a verdict).
 */
import { NLM_F } from '../../../lib/nl/constants';
import { splitDatagram } from '../../../lib/nl/message';
import type { NlWriter } from '../../../lib/nl/writer';
import { ovsMeterExecute } from '../../../lib/ovs/meter';
import { Skb } from '../../../lib/ovs/skb';
import { emulator, TestSocket } from '../../helpers/nltest';
import { isCase, Normaliser, readTranscript, type KernelCase } from './meter-transcript';

const clock = { now: 5000 };
const emu = emulator({ host: { lookup: () => undefined, maxIfindex: () => 2 }, clock: () => clock.now, maxMeters: 200000 });
const dpF = emu.registry.family('ovs_datapath');
const mF = emu.registry.family('ovs_meter');
const M = (n: string): number => mF.set('meter-attrs').byName.get(n)!.type;
const B = (n: string): number => mF.set('band-attrs').byName.get(n)!.type;
const BAND = mF.set('band-list').byName.get('band')!.type;
const s = new TestSocket(emu).extAck();
const norm = new Normaliser(mF, new Set(emu.registry.families.filter((f) => f.name.startsWith('ovs_')).map((f) => f.familyId)));
const transcript = readTranscript();

for (const name of transcript.dps.keys()) {
  s.send(s.msg(dpF, 'new', 0, 0, (w) => w.attrString(dpF.set('datapath').byName.get('name')!.type, name)
    .attrU32(dpF.set('datapath').byName.get('upcall-pid')!.type, 1)));
}
const dpByKernel = new Map([...transcript.dps].map(([name, k]) => [k, emu.ovs.net.dps.find((d) => d.name === name)!]));
const toEmu = new Map([...dpByKernel].map(([k, dp]) => [k, dp.ifindex]));
const toKernel = new Map([...toEmu].map(([k, e]) => [e, k]));
const k2e = (i: number): number => toEmu.get(i) ?? i;
const e2k = (i: number): number => toKernel.get(i) ?? i;

function oneBand(w: NlWriter, rate: number, burst: number): void {
  w.nestStart(M('bands')).nestStart(BAND).attrU32(B('type'), 1).attrU32(B('rate'), rate).attrU32(B('burst'), burst).nestEnd().nestEnd();
}

/** replay sends a kernel request and returns the emulator's answers, normalised to the kernel's numbering. */
function replay(c: KernelCase): string[] {
  const got = s.send(norm.rewrite(c.req, k2e));
  for (const d of got) expect([...splitDatagram(d)]).toHaveLength(1); // each answer its own datagram
  return got.map((d) => norm.rewrite(d, e2k).toString('hex'));
}

type Step = [string, () => void];
const steps: Step[] = [];
for (const item of transcript.items) {
  if (!isCase(item)) {
    // The oracle sent these 1023 SETs without printing them (ids 1024..2046 on mdp2).
    if (item.text.startsWith('# 1023 meters set')) {
      steps.push(['growth: SET ids 1024..2046 on mdp2 (unprinted)', () => {
        const dp = dpByKernel.get(transcript.dps.get('mdp2')!)!;
        for (let id = 1024; id <= 2046; id++) {
          const r = s.send(s.msg(mF, 'set', NLM_F.ACK, dp.ifindex, (w) => { w.attrU32(M('id'), id); oneBand(w, 1, 1); }));
          expect(r).toHaveLength(2);
        }
        expect(dp.meters.count).toBe(1023);
        expect(dp.meters.nMeters).toBe(1024);
      }]);
    }
    continue;
  }
  const c = item;
  if (c.kind === 'exec') {
    steps.push([`${c.name}: EXECUTE ${c.len}-byte frame through meter ${c.meter}`, () => {
      ovsMeterExecute(dpByKernel.get(c.dp)!, new Skb(Buffer.alloc(c.len!)), undefined, c.meter!, clock.now);
    }]);
  } else if (c.req.readUInt16LE(4) === mF.familyId) {
    steps.push([c.name, () => {
      expect(replay(c)).toEqual(c.rsp.map((r) => norm.rewrite(r, (i) => i).toString('hex')));
    }]);
  }
}

describe('ovs_meter replies equal Linux 6.12 (kernel-6.12-meter-ctlimit transcript)', () => {
  it('the transcript holds the OVS probe, errors, token buckets and the growth cases', () => {
    expect(steps.length).toBeGreaterThan(80);
    expect(steps.map(([n]) => n)).toEqual(expect.arrayContaining(['probe_set_54545401', 'features', 'set_1025_clash', 'get_1024_after_growth']));
  });
  it.each(steps)('%s', (_name, run) => run());
});
