/**
 * The normalisation rules of replay: which bytes of a captured reply may differ from the
 * emulator's and why. Each rule is data in {@link NORMALISATION_RULES} (shown by `replay
 * --verbose` and in the README) and code in {@link Normaliser.slots}.
 */
import { NLMSG_ERROR, NLMSG_HDRLEN, NLA_HDRLEN, align4 } from '../nl/constants';
import { splitDatagram, type NlMessage } from '../nl/message';
import { flatten, type TreeDecoder, type TreeNode } from './replay-tree';

/** NormalisationRule documents one rule. */
export interface NormalisationRule {
  id: string;
  /** The fields it touches. */
  fields: string;
  /** What replay does with them. */
  action: string;
  reason: string;
}

/** The rules, in the order the README lists them. */
export const NORMALISATION_RULES: readonly NormalisationRule[] = [
  { id: 'portid', fields: 'nlmsg_pid of replies', action: 'none: each socket is bound to its captured port id, so replies must carry it', reason: '(listed because it is not normalised)' },
  { id: 'seq', fields: 'nlmsg_seq', action: 'none: requests are replayed with their captured seq', reason: '(listed because it is not normalised)' },
  { id: 'family-id', fields: 'nlmsg_type of genl messages (also inside NLMSG_ERROR), CTRL_ATTR_FAMILY_ID, CTRL_ATTR_MCAST_GRP_ID', action: 'captured id → the emulator\'s id of the family / group of the same name (names from the capture\'s CTRL_CMD_NEWFAMILY replies); requests are translated the same way', reason: 'generic netlink ids are assigned when a family registers' },
  { id: 'ifindex', fields: 'ovs_header.dp_ifindex, OVS_VPORT_ATTR_IFINDEX, OVS_DP_ATTR_IFINDEX', action: 'a kernel↔emulator bijection learned on first sight (identity when the modelled host reproduced the capture\'s ifindexes); requests\' dp_ifindex is translated through it', reason: 'ifindexes depend on every device the capture\'s host ever created' },
  { id: 'flow-used', fields: 'OVS_FLOW_ATTR_USED', action: 'value ignored (presence compared)', reason: 'jiffies of the capture\'s host, converted to ms since its boot' },
  { id: 'meter-used', fields: 'OVS_METER_ATTR_USED', action: 'value ignored (presence compared)', reason: 'CLOCK_MONOTONIC ms of the capture\'s host' },
  { id: 'netdev-stats', fields: 'OVS_VPORT_ATTR_STATS of vports of type netdev', action: 'value ignored', reason: 'counters of the host\'s real interfaces, which see traffic outside the datapath' },
  { id: 'upcall-hash', fields: 'OVS_PACKET_ATTR_HASH of MISS/ACTION upcalls', action: 'value ignored', reason: 'the skb hash: the flow dissector\'s siphash key is random per boot' },
  { id: 'traffic', fields: 'after the first upcall no request caused (real traffic): datapath STATS n-hit/n-missed/n-lost, MEGAFLOW_STATS n-mask-hit/n-cache-hit, vport STATS and UPCALL_STATS; flow STATS, USED, TCP_FLAGS', action: 'values ignored; the flow attributes are removed before comparing (the kernel omits them for flows never hit)', reason: 'packets the replay cannot produce hit flows and ports' },
  { id: 'flow-dump-order', fields: 'ovs_flow dump replies', action: 'compared as a set keyed by UFID (else KEY); how the messages are split into datagrams is not compared', reason: 'the kernel walks a flow table hashed with a random seed' },
  { id: 'notification-copies', fields: 'multicast notifications (the groups of every ovs_* family)', action: 'each captured copy must equal what the emulator multicast to a monitor socket joined to every group; the number of copies is not compared', reason: 'nlmon records one copy per listening socket, and group memberships (setsockopt) are not in the capture' },
  { id: 'unread-ack', fields: 'the ACK (NLMSG_ERROR 0) of an NLM_F_ACK request, in the last exchange of a socket whose captured replies hold no NLMSG_ERROR', action: 'not compared when it is the last datagram delivered', reason: '`record` captures what the client read, and a client may stop after the reply (iproute2\'s genl never reads the ACK)' },
  { id: 'internal-mac', fields: 'MACs of internal ports', action: 'none needed: they appear only in frames of traffic the replay cannot produce (skipped upcalls)', reason: 'random eth_hw_addr_random() MACs' },
];

type SlotKind = 'mask' | 'drop' | 'ifindex' | 'family' | 'group';

/** Slot is a field of one message that a rule touches (offsets from the message start). */
interface Slot {
  kind: SlotKind;
  /** The rule (id in NORMALISATION_RULES) that made the slot. */
  rule: string;
  offset: number;
  length: number;
  /** Pairs a field of the captured message with the emulator's: field name and occurrence. */
  key: string;
}

/** Bijection is a one-to-one value map learned on first sight. */
export class Bijection {
  readonly forward = new Map<number, number>();
  private readonly backward = new Map<number, number>();
  identity = true;

  set(k: number, e: number): void {
    this.forward.set(k, e);
    this.backward.set(e, k);
    if (k !== e) this.identity = false;
  }
  reverseHas(e: number): boolean {
    return this.backward.has(e);
  }
}

/** NormalisedMessage is a pair of messages after the rules, ready for a byte comparison. */
export interface NormalisedPair {
  equal: boolean;
  expected: Buffer;
  got: Buffer;
  /** Decoded trees (of the original bytes, offsets from the message start). */
  expectedTree: TreeNode;
  gotTree: TreeNode;
  /** Bijection entries this comparison would add. */
  learned: [number, number][];
}

const ofKind = (field: string | undefined, names: string[]): boolean => field !== undefined && names.includes(field);
const MASK_ALWAYS = ['ovs_flow/flow-attrs/used', 'ovs_meter/meter-attrs/used'];
const IFINDEX = ['ovs_datapath/ovs-header/dp-ifindex', 'ovs_vport/ovs-header/dp-ifindex', 'ovs_flow/ovs-header/dp-ifindex', 'ovs_packet/ovs-header/dp-ifindex',
  'ovs_meter/ovs-header/dp-ifindex', 'ovs_ct_limit/ovs-header/dp-ifindex', 'ovs_vport/vport/ifindex', 'ovs_datapath/datapath/ifindex'];
const TRAFFIC_MASK = ['ovs_datapath/ovs-dp-stats/n-hit', 'ovs_datapath/ovs-dp-stats/n-missed', 'ovs_datapath/ovs-dp-stats/n-lost',
  'ovs_datapath/ovs-dp-megaflow-stats/n-mask-hit', 'ovs_datapath/ovs-dp-megaflow-stats/n-cache-hit', 'ovs_vport/vport/stats',
  'ovs_vport/upcall-stats/success', 'ovs_vport/upcall-stats/fail'];
const TRAFFIC_DROP = ['ovs_flow/flow-attrs/stats', 'ovs_flow/flow-attrs/used', 'ovs_flow/flow-attrs/tcp-flags'];

/** Normaliser applies the rules to pairs of messages, learning the ifindex bijection as it goes. */
export class Normaliser {
  readonly ifindex = new Bijection();
  /** Set once the capture showed traffic the replay cannot produce (rule `traffic`). */
  tainted = false;
  /** Rules that changed at least one compared byte, with counts (for the report). */
  readonly used = new Map<string, number>();

  constructor(
    private readonly decoder: TreeDecoder,
    /** Captured family id → the emulator's. */
    readonly familyId: (id: number) => number,
    /** Captured multicast group id → the emulator's. */
    readonly groupId: (id: number) => number,
    private readonly familyIdentity: boolean,
  ) {}

  /** translateTypes rewrites the family ids of a captured datagram's message headers. */
  translateTypes(dgram: Buffer): Buffer {
    if (this.familyIdentity) return dgram;
    const out = Buffer.from(dgram);
    let at = 0;
    for (const m of splitDatagram(dgram)) {
      out.writeUInt16LE(this.familyId(m.type), at + 4);
      if (m.type === NLMSG_ERROR && m.bytes.length >= NLMSG_HDRLEN + 4 + NLMSG_HDRLEN) {
        out.writeUInt16LE(this.familyId(m.bytes.readUInt16LE(NLMSG_HDRLEN + 8)), at + NLMSG_HDRLEN + 8);
      }
      at += align4(m.bytes.length);
    }
    return out;
  }

  /** fastEqual: byte-identical datagrams need no rule while the ifindex map is the identity. */
  fastEqual(expected: Buffer, got: Buffer): boolean {
    return this.ifindex.identity && this.translateTypes(expected).equals(got);
  }

  /** slots lists the fields of a decoded message that the rules touch. */
  private slots(tree: TreeNode): Slot[] {
    const out: Slot[] = [];
    const seen = new Map<string, number>();
    const flat = flatten(tree);
    const netdevVport = flat.some((f) => f.node.field === 'ovs_vport/vport/type' && f.node.value?.includes('netdev'));
    const upcall = /^msg\/ovs_packet\/(miss|action)$/.test(tree.field ?? '');
    for (const { node } of flat) {
      const f = node.field;
      const d = node.data ?? { offset: node.offset, length: node.length };
      const add = (kind: SlotKind, rule: string, offset = d.offset, length = d.length): void => {
        const n = seen.get(f ?? '') ?? 0;
        seen.set(f ?? '', n + 1);
        out.push({ kind, rule, offset, length, key: `${f}#${n}` });
      };
      if (ofKind(f, IFINDEX)) add('ifindex', 'ifindex');
      else if (f === 'nlctrl/ctrl-attrs/family-id') add('family', 'family-id');
      else if (f === 'nlctrl/mcast-group-attrs/id') add('group', 'family-id');
      else if (this.tainted && ofKind(f, TRAFFIC_DROP)) add('drop', 'traffic', node.offset, align4(node.length));
      else if (this.tainted && ofKind(f, TRAFFIC_MASK)) add('mask', 'traffic');
      else if (ofKind(f, MASK_ALWAYS)) add('mask', f?.startsWith('ovs_meter') ? 'meter-used' : 'flow-used');
      else if (f === 'ovs_vport/vport/stats' && netdevVport) add('mask', 'netdev-stats');
      else if (f === 'ovs_packet/packet-attrs/hash' && upcall) add('mask', 'upcall-hash');
    }
    return out;
  }

  /** compare normalises a captured message (family ids already translated) and the emulator's. */
  compare(expected: NlMessage, got: NlMessage): NormalisedPair {
    const et = this.decoder.decodeMessage(expected, 0);
    const gt = this.decoder.decodeMessage(got, 0);
    const e = Buffer.from(expected.bytes);
    const g = Buffer.from(got.bytes);
    const es = this.slots(et);
    const gs = this.slots(gt);
    const gByKey = new Map(gs.map((s) => [s.key, s]));
    const learned: [number, number][] = [];
    const touched = new Set<string>();
    for (const s of gs) if (s.kind === 'mask') g.fill(0, s.offset, s.offset + s.length);
    for (const s of es) {
      if (s.kind === 'mask') {
        const peer = gByKey.get(s.key);
        if (!peer || !e.subarray(s.offset, s.offset + s.length).equals(got.bytes.subarray(peer.offset, peer.offset + peer.length))) touched.add(s.rule);
        e.fill(0, s.offset, s.offset + s.length);
      } else if (s.kind === 'family' && s.length >= 2) {
        const v = e.readUInt16LE(s.offset);
        if (this.familyId(v) !== v) touched.add(s.rule);
        e.writeUInt16LE(this.familyId(v), s.offset);
      } else if (s.kind === 'group' && s.length >= 4) {
        const v = e.readUInt32LE(s.offset);
        if (this.groupId(v) !== v) touched.add(s.rule);
        e.writeUInt32LE(this.groupId(v), s.offset);
      } else if (s.kind === 'ifindex' && s.length >= 4) {
        const peer = gByKey.get(s.key);
        const k = e.readInt32LE(s.offset);
        const mapped = this.ifindex.forward.get(k) ?? learned.find(([a]) => a === k)?.[1];
        if (mapped !== undefined) e.writeInt32LE(mapped, s.offset);
        else if (peer && peer.length >= 4 && k !== 0) {
          const v = got.bytes.readInt32LE(peer.offset);
          if (v !== 0 && !this.ifindex.reverseHas(v) && !learned.some(([, b]) => b === v)) {
            learned.push([k, v]);
            e.writeInt32LE(v, s.offset);
          }
        }
        if (e.readInt32LE(s.offset) !== k) touched.add(s.rule);
      }
    }
    const eN = dropSlots(e, es);
    const gN = dropSlots(g, gs);
    for (const s of [...es, ...gs]) if (s.kind === 'drop') touched.add(s.rule);
    const equal = eN.equals(gN);
    if (equal) for (const t of touched) this.used.set(t, (this.used.get(t) ?? 0) + 1);
    return { equal, expected: eN, got: gN, expectedTree: et, gotTree: gt, learned };
  }

  /** commit adopts the bijection entries of a comparison that matched. */
  commit(pair: NormalisedPair): void {
    for (const [k, v] of pair.learned) this.ifindex.set(k, v);
  }

  /** requestIfindex translates a captured dp_ifindex for a request (kernel → emulator). */
  requestIfindex(k: number): number {
    return this.ifindex.forward.get(k) ?? k;
  }
}

/** dropSlots removes top-level attributes (drop slots) and fixes nlmsg_len. */
function dropSlots(b: Buffer, slots: Slot[]): Buffer {
  const drops = slots.filter((s) => s.kind === 'drop').sort((x, y) => x.offset - y.offset);
  if (!drops.length) return b;
  const parts: Buffer[] = [];
  let at = 0;
  for (const d of drops) {
    if (d.offset < at) continue;
    parts.push(b.subarray(at, d.offset));
    at = Math.min(b.length, d.offset + Math.max(d.length, NLA_HDRLEN));
  }
  parts.push(b.subarray(at));
  const out = Buffer.concat(parts);
  out.writeUInt32LE(out.length, 0);
  return out;
}
