/**
 * Upcalls a request causes (an EXECUTE whose userspace action sends an ACTION upcall to another
 * socket) are compared too: the receiving socket exists in the replay because the request names
 * its port id. The capture is made here, from an emulator, in nlmon's order (the upcall is
 * queued before the request's ACK).
 */
import { NLM_F } from '../../lib/nl/constants';
import { AttrEncoder } from '../../lib/schema/codec';
import { LINKTYPE_NETLINK, writePcap, type PcapOutRecord } from '../../lib/replay/pcap';
import { cookedHeader } from '../../lib/replay/netlink-capture';
import { replay } from '../../lib/replay/replay';
import { emulator, TestSocket } from '../helpers/nltest';

const HANDLER = 200;

/** capture runs the exchanges against an emulator and writes them as nlmon would have seen them. */
function capture(): Buffer {
  const emu = emulator({ cpus: 2, host: { lookup: () => undefined, maxIfindex: () => 2 } });
  const client = new TestSocket(emu, { pid: 100, uid: 0, gid: 0, netAdmin: true });
  const handler = new TestSocket(emu, { pid: HANDLER, uid: 0, gid: 0, netAdmin: true });
  const dpFam = emu.registry.family('ovs_datapath');
  const pkFam = emu.registry.family('ovs_packet');
  const records: PcapOutRecord[] = [];
  let t = 1_700_000_000;
  const rec = (d: Buffer): void => {
    const data = Buffer.concat([cookedHeader(), d]);
    records.push({ sec: t++, nsec: 0, data, origLen: data.length });
  };
  const exchange = (req: Buffer): void => {
    rec(req);
    const replies = client.send(req);
    for (const u of handler.queue.splice(0)) rec(u);
    for (const r of replies) rec(r);
  };
  exchange(client.msg(dpFam, 'new', NLM_F.ECHO, 0, (w) => new AttrEncoder(w, dpFam.set('datapath')).string('name', 'dpx').int('upcall-pid', HANDLER)));
  const dpIfindex = emu.ovs.net.dps[0].ifindex;
  const frame = Buffer.alloc(60);
  Buffer.from('ffffffffffff020000000001', 'hex').copy(frame);
  frame.writeUInt16BE(0x0806, 12);
  exchange(client.msg(pkFam, 'execute', NLM_F.ACK, dpIfindex, (w) => {
    const e = new AttrEncoder(w, pkFam.set('packet-attrs'));
    e.binary('packet', frame);
    e.nest('key', (k) => k.int('in-port', 0));
    e.nest('actions', (a) => a.nest('userspace', (u) => u.int('pid', HANDLER).binary('userdata', Buffer.from('cafe', 'hex'))));
  }));
  return writePcap(records, LINKTYPE_NETLINK);
}

describe('replay: upcalls caused by a request', () => {
  const file = capture();

  it('the ACTION upcall an EXECUTE sends to the handler socket is compared, and matches', async () => {
    const r = await replay(file);
    expect(r.counts).toEqual({ exchanges: 2, matched: 2, failed: 0, skipped: 0, strays: 0 });
    expect(r.exchanges[1]).toMatchObject({ request: 'ovs_packet EXECUTE seq=2', compared: 2 });
  });

  it('a changed byte of the upcall\'s USERDATA goes red and is named', async () => {
    const bad = Buffer.from(file);
    const at = bad.indexOf(Buffer.from('cafe', 'hex'), bad.indexOf(Buffer.from('cafe', 'hex')) + 2);
    bad[at] = 0xbe;
    const r = await replay(bad);
    expect(r.counts.failed).toBe(1);
    expect(r.firstDifference).toMatchObject({ path: 'ovs_packet ACTION › USERDATA', expectedValue: 'befe', gotValue: 'cafe' });
    expect(r.firstDifference?.sideBySide).toMatch(/^≠ +USERDATA: befe +\| +USERDATA: cafe$/m);
  });
});
