/**
 * The pieces of replay one by one: how a capture is cut into exchanges (whose socket, which
 * replies), the normalisation rules, and the host model.
 */
import * as fs from 'fs';
import * as path from 'path';
import { NLMSG_HDRLEN } from '../../lib/nl/constants';
import { splitDatagram } from '../../lib/nl/message';
import { loadSchemas } from '../../lib/schema/load';
import { LINKTYPE_NETLINK, readPcap, writePcap } from '../../lib/replay/pcap';
import { replay, NORMALISATION_RULES } from '../../lib/replay/replay';
import { attrsOf, readCapture, CTRL, GENL_ID_CTRL } from '../../lib/replay/replay-capture';
import { groupExchanges } from '../../lib/replay/replay-exchanges';
import { CaptureHost } from '../../lib/replay/replay-host';
import { Normaliser } from '../../lib/replay/replay-normalise';
import { rulesTable } from '../../lib/replay/replay-report';
import { TreeDecoder } from '../../lib/replay/replay-tree';

const CAPTURES = path.join(__dirname, '..', 'captures');
const load = (f: string) => readCapture(fs.readFileSync(path.join(CAPTURES, f)));
const reg = loadSchemas();

describe('exchanges: which socket sent a request, which replies answer it', () => {
  it('pyroute2 puts its process id in nlmsg_pid: the socket is the port id its reply went to', () => {
    const { exchanges } = groupExchanges(load('kernel-6.12-pyroute2-basic.pcap'));
    expect(exchanges.slice(0, 3).map((e) => [e.request.messages[0].pid, e.port, e.replies.map((r) => r.frame)])).toEqual([
      [214, 214, [2]], [214, 4194518, [4]], [214, 8388822, [6]],
    ]);
  });

  it('a message without NLM_F_REQUEST that the kernel ACKs was sent by userspace; so was an unparseable datagram', () => {
    const cap = load('kernel-6.12-flows-errors-raw.pcap');
    const rec = (frame: number) => cap.records.find((r) => r.frame === frame)!;
    // Frame 41: ovs_flow NEW with flags ACK|CREATE (no REQUEST), answered by the ACK in frame 42.
    expect(rec(41).request).toBe(true);
    expect(rec(41).messages[0].flags & 1).toBe(0);
    // Frames 11 and 15: nlmsg_len below the header / beyond the datagram (no parseable message).
    expect([rec(11).request, rec(11).messages.length, rec(15).request, rec(15).messages.length]).toEqual([true, 0, true, 0]);
    const { exchanges } = groupExchanges(cap);
    expect(exchanges.find((e) => e.request.frame === 41)?.replies.map((r) => r.frame)).toEqual([42]);
    expect(exchanges.find((e) => e.request.frame === 11)?.replies).toEqual([]);
  });

  it('a dump: every chunk and NLMSG_DONE belong to the request, up to the socket\'s next request', () => {
    const { exchanges } = groupExchanges(load('kernel-6.12-flows-many.pcap'));
    const dumps = exchanges.filter((e) => e.replies.length === 30);
    expect(dumps).toHaveLength(2);
    expect(dumps.every((e) => e.replies[29].messages.length === 1 && e.replies[29].messages[0].type === 3)).toBe(true);
  });

  it('upcalls no request caused are strays, the reason given', () => {
    const { exchanges, strays } = groupExchanges(load('kernel-6.12-vswitchd.pcap'));
    expect(strays.map((s) => s.record.frame)).toHaveLength(4);
    expect(new Set(strays.map((s) => s.reason))).toEqual(new Set(['upcall of traffic the replay cannot produce (no captured request caused it)']));
    expect(exchanges.every((e) => e.side.length === 0)).toBe(true);
  });
});

describe('normalisation rules', () => {
  const decoder = new TreeDecoder(reg);
  const norm = (): Normaliser => new Normaliser(decoder, (id) => id, (id) => id, true);
  // Frame 43 of the basic capture: ovs_vport GET reply of dp0's local port (dp_ifindex 3, IFINDEX 3).
  const vport = load('kernel-6.12-basic.pcap').records[42].messages[0];
  const ifindexAttr = attrsOf(vport.bytes, NLMSG_HDRLEN + 8).find((a) => a.type === 8)!;
  const withIfindex = (dp: number, ifindex: number): typeof vport => {
    const b = Buffer.from(vport.bytes);
    b.writeInt32LE(dp, NLMSG_HDRLEN + 4);
    b.writeInt32LE(ifindex, ifindexAttr.offset + 4);
    return { ...vport, bytes: b };
  };

  it('every rule has fields, an action and a reason (the README table is generated from them)', () => {
    for (const r of NORMALISATION_RULES) expect([r.id, r.fields, r.action, r.reason].every((x) => x.length > 0)).toBe(true);
    expect(rulesTable().split('\n')).toHaveLength(NORMALISATION_RULES.length + 2);
  });

  it('ifindex: a kernel↔emulator bijection learned on first sight', () => {
    const n = norm();
    const first = n.compare(vport, withIfindex(7, 7));
    expect(first.equal).toBe(true);
    expect(first.learned).toEqual([[3, 7]]);
    n.commit(first);
    expect(n.compare(vport, withIfindex(7, 7)).equal).toBe(true);
    expect(n.compare(vport, withIfindex(8, 8)).equal).toBe(false);
    // Another kernel ifindex may not map to an emulator ifindex already taken.
    expect(n.compare(withIfindex(5, 5), withIfindex(7, 7)).equal).toBe(false);
    // Within one message the bijection holds too: kernel 3 and 3 cannot become 7 and 9.
    expect(norm().compare(vport, withIfindex(7, 9)).equal).toBe(false);
  });

  it('flow-used: OVS_FLOW_ATTR_USED values are not compared, its presence is', () => {
    // A flow the vswitchd run's pings hit (ovs_flow 0x26, OVS_FLOW_ATTR_USED = 5).
    const flow = load('kernel-6.12-vswitchd.pcap').records.flatMap((r) => r.messages).find((m) => m.type === 0x26 && attrsOf(m.bytes, 24).some((a) => a.type === 5))!;
    const used = attrsOf(flow.bytes, 24).find((a) => a.type === 5)!;
    const b = Buffer.from(flow.bytes);
    b.writeBigUInt64LE(123456789n, used.offset + 4);
    const pair = norm().compare(flow, { ...flow, bytes: b });
    expect(pair.equal).toBe(true);
    // Without USED the message is shorter: a difference.
    const without = Buffer.concat([flow.bytes.subarray(0, used.offset), flow.bytes.subarray(used.offset + 12)]);
    without.writeUInt32LE(without.length, 0);
    expect(norm().compare(flow, { ...flow, bytes: without }).equal).toBe(false);
  });

  it('netdev-stats: STATS of a netdev vport are the host interface\'s counters, not compared', () => {
    const netdev = load('kernel-6.12-flows.pcap').records.flatMap((r) => r.messages)
      .find((m) => m.type === 0x25 && !(m.flags & 1) && attrsOf(m.bytes, 24).some((a) => a.type === 2 && a.payload.readUInt32LE(0) === 1))!;
    const stats = attrsOf(netdev.bytes, 24).find((a) => a.type === 6)!;
    const b = Buffer.from(netdev.bytes);
    b.writeBigUInt64LE(99n, stats.offset + 4);
    expect(norm().compare(netdev, { ...netdev, bytes: b }).equal).toBe(true);
    // The same change in an internal port's STATS is a difference.
    const v = Buffer.from(vport.bytes);
    v.writeBigUInt64LE(99n, attrsOf(vport.bytes, NLMSG_HDRLEN + 8).find((a) => a.type === 6)!.offset + 4);
    expect(norm().compare(vport, { ...vport, bytes: v }).equal).toBe(false);
  });

  it('family-id: a capture whose families and groups got other ids replays green through the name map', async () => {
    // Renumber ovs_datapath 0x24 → 0x3a and its multicast group 15 → 40, everywhere in the capture.
    const recs = readPcap(fs.readFileSync(path.join(CAPTURES, 'kernel-6.12-basic.pcap')));
    const out = recs.map((r) => {
      const data = Buffer.from(r.data);
      const d = data.subarray(16);
      let at = 0;
      for (const m of splitDatagram(d)) {
        if (m.type === 0x24) d.writeUInt16LE(0x3a, at + 4);
        if (m.type === 2 && m.bytes.length >= 36 && m.bytes.readUInt16LE(20) === 0x24) d.writeUInt16LE(0x3a, at + 20);
        if (m.type === GENL_ID_CTRL && !(m.flags & 1)) {
          for (const a of attrsOf(m.bytes, NLMSG_HDRLEN + 4)) {
            if (a.type === CTRL.ATTR_FAMILY_ID && a.payload.readUInt16LE(0) === 0x24) d.writeUInt16LE(0x3a, at + a.offset + 4);
            if (a.type !== CTRL.ATTR_MCAST_GROUPS) continue;
            for (const g of attrsOf(a.payload)) {
              const id = attrsOf(g.payload).find((x) => x.type === CTRL.ATTR_MCAST_GRP_ID);
              if (id && id.payload.readUInt32LE(0) === 15) d.writeUInt32LE(40, at + a.offset + 4 + g.offset + 4 + id.offset + 4);
            }
          }
        }
        at += (m.bytes.length + 3) & ~3;
      }
      return { ...r, data };
    });
    const r = await replay(writePcap(out, LINKTYPE_NETLINK));
    if (!r.ok) throw new Error(`${r.firstDifference?.path}\n${r.firstDifference?.sideBySide}`);
    // Counted where an attribute changed (CTRL_ATTR_FAMILY_ID, CTRL_ATTR_MCAST_GRP_ID); nlmsg_type is translated per datagram.
    expect(r.rulesApplied['family-id']).toBeGreaterThan(0);
  });
});

describe('host model', () => {
  it('netdev vports: interfaces exist where the kernel attached them; ifindexes from its replies', async () => {
    // flows.sh: add-if dp0 v0, add-if dp0 v2 (v1 is v0's veth peer), add-if dp0 int0,type=internal.
    const r = await replay(path.join(CAPTURES, 'kernel-6.12-flows.pcap'));
    expect(r.host.netdevs).toEqual(['v0', 'v2']);
  });

  it('internal devices get the kernel\'s ifindexes (vswitchd: ovs-system 3, br0 4, p1 5, p2 6)', async () => {
    const r = await replay(path.join(CAPTURES, 'kernel-6.12-vswitchd.pcap'));
    expect(r.ok).toBe(true);
    expect(r.host.ifindexMap).toEqual([[3, 3], [4, 4], [5, 5], [6, 6]]);
  });

  it('the plan follows each creation, in order: one ifindex per datapath the kernel made', () => {
    const cap = load('kernel-6.12-meter-ctlimit.pcap');
    const host = new CaptureHost(reg, cap, groupExchanges(cap).exchanges);
    const first = [host.plannedIfindex('mdp'), host.plannedIfindex('mdp2'), host.plannedIfindex('mdp'), host.plannedIfindex('nosuch')];
    expect(first).toEqual([3, 4, 0, 0]);
  });
});
