/**
 * ovs_ct_limit byte for byte against Linux 6.12.117: every ct_limit request of
 * test/captures/kernel-6.12-meter-ctlimit.out.txt (qemu oracle, Debian 6.12.117-1~deb12u1
 * openvswitch.ko with CONFIG_NETFILTER_CONNCOUNT; `ORACLE/run.sh
 * test/captures/scripts/meter-ctlimit-raw.sh OUT`) is replayed in order; replies, ACKs and
 * errors (with extack) must equal the kernel's, port ids and dp_ifindex normalised, and the
 * OVS_NLERR lines the kernel logged must be the ones the emulator logs. No connection was
 * tracked in the guest, so every count is 0.
 */
import { ctLimitHandlers } from '../../../lib/ovs/ct-limit-family';
import { splitDatagram } from '../../../lib/nl/message';
import { emulator, TestSocket } from '../../helpers/nltest';
import { isCase, Normaliser, readTranscript, type KernelCase } from './meter-transcript';

const emu = emulator({ host: { lookup: () => undefined, maxIfindex: () => 2 } });
const ctF = emu.registry.family('ovs_ct_limit');
const logs: string[] = [];
emu.genl.register('ovs_ct_limit', ctLimitHandlers({ family: ctF, limits: emu.ovs.net.ctLimit, log: (m) => logs.push(m) }));
const s = new TestSocket(emu).extAck();
const norm = new Normaliser(emu.registry.family('ovs_meter'), new Set(emu.registry.families.filter((f) => f.name.startsWith('ovs_')).map((f) => f.familyId)));
const cases = readTranscript().items.filter(isCase).filter((c) => c.kind === 'case' && c.req.readUInt16LE(4) === ctF.familyId);
const same = (i: number): number => i;

describe('ovs_ct_limit replies equal Linux 6.12 (kernel-6.12-meter-ctlimit transcript)', () => {
  it('the transcript holds the ct_limit cases', () => {
    expect(cases.length).toBeGreaterThan(25);
  });

  // No datapath is needed: the family never looks dp_ifindex up, it only copies it.
  it.each(cases.map((c) => [c.name, c] as [string, KernelCase]))('%s', (_n, c) => {
    logs.length = 0;
    const got = s.send(norm.rewrite(c.req, same));
    for (const d of got) expect([...splitDatagram(d)]).toHaveLength(1);
    expect(got.map((d) => norm.rewrite(d, same).toString('hex'))).toEqual(c.rsp.map((r) => norm.rewrite(r, same).toString('hex')));
    expect(logs.map((l) => `netlink: ${l}`)).toEqual(c.dmesg.filter((l) => l.startsWith('netlink: ') && !l.includes("'python3'")));
  });
});
