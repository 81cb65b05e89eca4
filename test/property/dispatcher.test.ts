/**
 * Property tests: whatever bytes a client sends, the emulator answers without throwing,
 * only well-formed netlink comes back, and a request answered with an error leaves the
 * datapath state exactly as it was.
 */
import fc from 'fast-check';
import { NLM_F, NLMSG_DONE, NLMSG_ERROR } from '../../lib/nl/constants';
import { NlError } from '../../lib/nl/errors';
import { splitDatagram } from '../../lib/nl/message';
import { NlWriter } from '../../lib/nl/writer';
import { parseLiberal, parseOvsKey } from '../../lib/schema/validate';
import { emulator, TestSocket } from '../helpers/nltest';
import type { Emulator } from '../../lib/emulator';

const host = { lookup: () => undefined, maxIfindex: () => 2 };

/** snapshot is everything a request could change, as comparable data. */
function snapshot(emu: Emulator): string {
  return JSON.stringify(emu.ovs.net.dps.map((dp) => ({
    name: dp.name, ifindex: dp.ifindex, features: dp.userFeatures, cache: dp.masksCacheSize, pids: dp.perCpuPids,
    ports: [...dp.ports.values()].map((v) => [v.portNo, v.type, v.name, v.upcallPids, v.options]),
  })));
}

/** A request in one of the emulator's families, with arbitrary header bytes and attributes. */
const familyRequest = (emu: Emulator) => fc.record({
  family: fc.constantFrom(...emu.registry.families.map((f) => f.familyId), 0x7f),
  cmd: fc.integer({ min: 0, max: 12 }),
  version: fc.integer({ min: 0, max: 3 }),
  flags: fc.constantFrom(NLM_F.REQUEST, NLM_F.REQUEST | NLM_F.ACK, NLM_F.REQUEST | NLM_F.ECHO, NLM_F.REQUEST | NLM_F.DUMP, NLM_F.REQUEST | NLM_F.CREATE, 0),
  dpIfindex: fc.constantFrom(0, 3, 4, -1),
  attrs: fc.array(fc.record({ type: fc.integer({ min: 0, max: 12 }), payload: fc.uint8Array({ maxLength: 24 }) }), { maxLength: 6 }),
  trailer: fc.uint8Array({ maxLength: 6 }),
});

describe('dispatcher properties', () => {
  it('arbitrary datagrams: no throw, replies parse, errors change nothing', () => {
    const emu = emulator({ host });
    const s = new TestSocket(emu);
    // A datapath and a port to mutate.
    s.send(s.msg(emu.registry.family('ovs_datapath'), 'new', 0, 0, (w) => w.attrString(1, 'pdp').attrU32(2, 0)));
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 96 }).map((b) => Buffer.from(b)), familyRequest(emu).map((r) => {
      const w = new NlWriter().beginMessage(r.family, r.flags, 7, s.sock.portid).genlHeader(r.cmd, r.version).s32(r.dpIfindex);
      for (const a of r.attrs) w.attr(a.type, Buffer.from(a.payload));
      return Buffer.concat([w.endMessage().finish(), Buffer.from(r.trailer)]);
    })), (dgram) => {
      const before = snapshot(emu);
      const replies = s.send(dgram);
      const msgs = replies.flatMap((d) => [...splitDatagram(d)]);
      // Every reply datagram parses completely into messages.
      for (const d of replies) expect([...splitDatagram(d)].reduce((n, m) => n + ((m.bytes.length + 3) & ~3), 0)).toBe(d.length);
      const failed = msgs.some((m) => (m.type === NLMSG_ERROR || m.type === NLMSG_DONE) && m.bytes.readInt32LE(16) < 0);
      if (failed && msgs.length === 1) expect(snapshot(emu)).toBe(before);
    }), { numRuns: 3000, seed: 20261121 });
  });

  it('the attribute walkers throw nothing but NlError on arbitrary bytes', () => {
    const emu = emulator({ host });
    const sets = emu.registry.families.flatMap((f) => [...f.sets.values()]);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 128 }), fc.integer({ min: 0, max: sets.length - 1 }), (bytes, i) => {
      const set = sets[i];
      for (const parse of [() => parseLiberal(Buffer.from(bytes), set, set.maxType, { base: 0, extack: {} }), () => parseOvsKey(Buffer.from(bytes), set, 0, i % 2 === 0)]) {
        try {
          parse();
        } catch (e) {
          expect(e).toBeInstanceOf(NlError);
        }
      }
    }), { numRuns: 5000, seed: 7 });
  });
});
