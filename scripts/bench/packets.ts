/**
 * Packet-path benchmark, one run, side by side:
 *   - OVS_PACKET_CMD_EXECUTE round trips/s through the shim (with NLM_F_ACK so each has an
 *     answer), next to the raw echo ceiling over the same kind of socket,
 *   - in-process packets/s through key extraction + megaflow lookup (mask-cache hit) + actions,
 *   - MISS upcalls/s delivered to one handler socket.
 * Usage: node dist/scripts/bench/packets.js [rounds=20000]
 */
import { Emulator } from '../../lib/emulator';
import { NLM_F } from '../../lib/nl/constants';
import { NlWriter } from '../../lib/nl/writer';
import { keySchema } from '../../lib/ovs/flow-netlink-attrs';
import { runTransportBench, formatBench } from './transport';

const S = keySchema();

/** An ARP request frame (42 bytes) from 02:00:00:00:00:01 for 10.0.0.2. */
const FRAME = Buffer.from('ffffffffffff020000000001080600010800060400010200000000010a0000010000000000000a000002', 'hex');

function emulator(): { emu: Emulator; send: (b: Buffer) => Buffer[]; dpIfindex: number; portid: number } {
  const emu = new Emulator({ cpus: 2, host: { lookup: () => undefined, maxIfindex: () => 100 } });
  const queue: Buffer[] = [];
  const sock = emu.openSocket({ pid: 77, uid: 0, gid: 0, netAdmin: true }, 16, { deliver: (d) => (queue.push(d), true), signalOverrun: () => true });
  const portid = sock.connect();
  const dpF = emu.registry.family('ovs_datapath');
  const w = new NlWriter().beginMessage(dpF.familyId, NLM_F.REQUEST, 1, 0).genlHeader(1, 2).s32(0);
  // The local port's upcall pid is this socket: misses become upcalls to it.
  w.attrString(1, 'bench').attrU32(2, portid);
  sock.send(w.endMessage().finish(), 0);
  const send = (b: Buffer): Buffer[] => {
    sock.send(b, 0);
    return queue.splice(0);
  };
  return { emu, send, dpIfindex: emu.ovs.net.dps[0].ifindex, portid };
}

/** executeRequest is OVS_PACKET_CMD_EXECUTE of FRAME from port 0 with actions output:0. */
function executeRequest(emu: Emulator, dpIfindex: number, flags: number): Buffer {
  const fam = emu.registry.family('ovs_packet');
  const A = (n: string): number => fam.set('packet-attrs').byName.get(n)!.type;
  const w = new NlWriter().beginMessage(fam.familyId, NLM_F.REQUEST | flags, 1, 0).genlHeader(fam.op('execute').cmd, fam.version).s32(dpIfindex);
  w.attr(A('packet'), FRAME);
  w.nestStart(A('key')).attrU32(S.K['in-port'], 0).nestEnd();
  w.nestStart(A('actions')).attrU32(1, 0).nestEnd();
  return w.endMessage().finish();
}

function flowNewArp(emu: Emulator, dpIfindex: number): Buffer {
  const fam = emu.registry.family('ovs_flow');
  const A = (n: string): number => fam.set('flow-attrs').byName.get(n)!.type;
  const w = new NlWriter().beginMessage(fam.familyId, NLM_F.REQUEST | NLM_F.CREATE, 2, 0).genlHeader(fam.op('new').cmd, fam.version).s32(dpIfindex);
  const et = Buffer.from([0x08, 0x06]);
  w.nestStart(A('key')).attrU32(S.K['in-port'], 0).attr(S.K.ethernet, Buffer.alloc(12)).attr(S.K.ethertype, et).attr(S.K.arp, Buffer.alloc(24)).nestEnd();
  w.nestStart(A('mask')).attrU32(S.K['in-port'], 0xffffffff).attr(S.K.ethertype, Buffer.from([0xff, 0xff])).nestEnd();
  w.nestStart(A('actions')).attrU32(1, 0).nestEnd();
  return w.endMessage().finish();
}

function rate(n: number, fn: () => void): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return (n * 1e9) / Number(process.hrtime.bigint() - t0);
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 20000);
  const e = emulator();
  const rows = await runTransportBench({ rounds, endpoint: e.emu, request: executeRequest(e.emu, e.dpIfindex, NLM_F.ACK), label: 'shim EXECUTE' });
  const echo = rows.find((r) => r.name === 'raw C↔Node')!.perSecond;
  console.log(formatBench(rows));

  // Upcalls: no flow, every packet misses and is queued to the handler socket.
  const p = emulator();
  const dp = p.emu.ovs.net.dps[0];
  const local = dp.ports.get(0)!;
  let upcalls = 0;
  const up = rate(rounds, () => {
    p.emu.packets.receive(dp, local, FRAME);
  });
  upcalls = Number(dp.stats.nMissed) - Number(dp.stats.nLost);
  // Hits: one megaflow, the mask cache warm after the first packet.
  p.send(flowNewArp(p.emu, p.dpIfindex));
  const hit = rate(rounds, () => {
    p.emu.packets.receive(dp, local, FRAME);
  });
  if (dp.stats.nHit !== BigInt(rounds)) throw new Error(`expected ${rounds} hits, got ${dp.stats.nHit}`);
  console.log('');
  console.log(`${'measure'.padEnd(44)} ${'per second'.padStart(12)}  ${'vs echo'.padStart(8)}`);
  console.log(`${'in-process packets, lookup hit + output'.padEnd(44)} ${hit.toFixed(0).padStart(12)}  ${(hit / echo).toFixed(3).padStart(8)}`);
  console.log(`${`MISS upcalls to one socket (${upcalls} queued)`.padEnd(44)} ${up.toFixed(0).padStart(12)}  ${(up / echo).toFixed(3).padStart(8)}`);
  console.log(`mask-cache hits: ${dp.stats.nCacheHit} of ${rounds}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
