/**
 * ovs_nla_copy_actions() / ovs_nla_put_actions() against the real kernel.
 *
 * The table comes from test/fixtures/flow-actions/kernel-6.12-actions.json: every case was sent to
 * Debian's Linux 6.12.117 openvswitch.ko by the oracle (see the fixture's provenance and the
 * generator next to it) as OVS_FLOW_CMD_NEW with an exact-match key; the kernel's errno and the
 * ACTIONS attribute of its echo are compared byte for byte with what the emulator computes.
 */
import * as fs from 'fs';
import * as path from 'path';
import { NLA_TYPE_MASK } from '../../../lib/nl/constants';
import { Errno, errnoName } from '../../../lib/nl/errno';
import { NlError } from '../../../lib/nl/errors';
import { NlWriter } from '../../../lib/nl/writer';
import { actionKeyView, actionKeyViewOf, type ActionKeyView } from '../../../lib/ovs/flow-action-key';
import { maskKey, newSwFlowKey } from '../../../lib/ovs/flow-key';
import { ovsNlaGetMatch } from '../../../lib/ovs/flow-netlink-key';
import { ETH_P, ethPMpls } from '../../../lib/ovs/net-consts';
import { actionSchema } from '../../../lib/ovs/flow-actions-schema';
import { assertActionHandlers, ovsNlaCopyActions, ovsNlaPutActions, type FlowActions } from '../../../lib/ovs/flow-netlink-actions';
import type { Attr } from '../../../lib/schema/validate';

interface Repeat { item: string; count: number }
interface KernelCase {
  name: string;
  keyId: string;
  actions?: string;
  clone?: Repeat;
  errno: number;
  reply?: string | null;
  replyClone?: Repeat;
}
interface Fixture {
  provenance: string;
  keys: Record<string, { key: string; view: Partial<ActionKeyView> }>;
  cases: KernelCase[];
}

const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, '../../fixtures/flow-actions/kernel-6.12-actions.json'), 'utf8')) as Fixture;
const S = actionSchema();
const ACTIONS = S.fam.set('flow-attrs').byName.get('actions')!.type;
const CLONE = S.num(S.actions, 'clone');

/** A nest of `count` copies of `item` (the fixture's compact form of the huge lists). */
function repeated(type: number, r: Repeat): Buffer {
  const body = Buffer.concat(Array.from({ length: r.count }, () => Buffer.from(r.item, 'hex')));
  const hdr = Buffer.alloc(4);
  hdr.writeUInt16LE(4 + body.length);
  hdr.writeUInt16LE(type, 2);
  return Buffer.concat([hdr, body]);
}

const attrOf = (payload: Buffer): Attr => ({ type: ACTIONS, rawType: ACTIONS, offset: 0, payload });

function requestOf(c: KernelCase): Buffer {
  return c.clone ? repeated(CLONE, c.clone) : Buffer.from(c.actions ?? '', 'hex');
}

function putHex(acts: FlowActions): string {
  const w = new NlWriter();
  ovsNlaPutActions(w, 'actions', acts);
  return w.finish().subarray(4).toString('hex');
}

/** The view of the masked key, as flow-netlink-key parses the case's key (no mask: exact match). */
const views = new Map(Object.entries(fixture.keys).map(([id, k]) => {
  const m = ovsNlaGetMatch(Buffer.from(k.key, 'hex'), undefined, { log: () => undefined });
  return [id, actionKeyViewOf(maskKey(newSwFlowKey(), m.key, m.mask!.key, m.mask!.range, true))];
}));

function copy(c: KernelCase, log = true): FlowActions {
  return ovsNlaCopyActions(attrOf(requestOf(c)), views.get(c.keyId)!, { log: log && (() => undefined) });
}

const errnoOf = (fn: () => unknown): number => {
  try {
    fn();
    return 0;
  } catch (e) {
    if (!(e instanceof NlError)) throw e;
    expect(e.extack).toEqual({}); // the kernel only logs action errors
    return e.errno;
  }
};

describe('flow actions vs Linux 6.12 (oracle fixture)', () => {
  it.each(Object.entries(fixture.keys))('key %s: the parsed, masked key gives the view the generator declared', (id, k) => {
    // MPLS and NSH fields share storage with the IP addresses: only meaningful for their EtherType.
    const meaningful = (v: ActionKeyView): Partial<ActionKeyView> => {
      const { mplsNumLabelsMask, nshNp, ...rest } = v;
      return { ...rest, ...(ethPMpls(v.ethType) ? { mplsNumLabelsMask } : {}), ...(v.ethType === ETH_P.NSH ? { nshNp } : {}) };
    };
    expect(meaningful(views.get(id)!)).toEqual(meaningful(actionKeyView(k.view)));
  });

  it('every action of the schema has a validator', () => {
    expect(() => assertActionHandlers()).not.toThrow();
  });

  const refused = fixture.cases.filter((c) => c.errno !== 0);
  const accepted = fixture.cases.filter((c) => c.errno === 0);

  it.each(refused.map((c) => [`actions: ${c.name} → ${errnoName(c.errno)}`, c] as const))('%s', (_n, c) => {
    expect(errnoOf(() => copy(c))).toBe(c.errno);
    expect(errnoOf(() => copy(c, false))).toBe(c.errno);
  });

  it.each(accepted.map((c) => [`actions: ${c.name} → accepted, echoed as the kernel does`, c] as const))('%s', (_n, c) => {
    const acts = copy(c);
    expect(acts.origLen).toBe(requestOf(c).length);
    const out = putHex(acts);
    if (c.replyClone) expect(out).toBe(repeated(CLONE, c.replyClone).toString('hex'));
    else if (c.reply !== null && c.reply !== undefined) expect(out).toBe(c.reply);
    // null: the kernel left ACTIONS out of the echo, the re-encoded list being longer than the
    // request's (orig_len sizes the reply); that is for the reply builder to reproduce.
    else expect(out.length / 2).toBeGreaterThan(acts.origLen);
  });
});

describe('echo is a fixed point', () => {
  // What the kernel reports for a flow can be sent back: it validates again and is reported the
  // same way. Except psample: the echo strips NLA_F_NESTED (nla_put of nla_type()), which
  // validate_psample()'s nla_parse_nested() then requires.
  const PSAMPLE = S.num(S.actions, 'psample');
  const hasPsample = (c: KernelCase): boolean => (requestOf(c).readUInt16LE(2) & NLA_TYPE_MASK) === PSAMPLE;
  const accepted = fixture.cases.filter((c) => c.errno === 0 && (c.reply || c.replyClone));
  const reinstall = (c: KernelCase): FlowActions => ovsNlaCopyActions(attrOf(Buffer.from(putHex(copy(c)), 'hex')), views.get(c.keyId)!, { log: false });
  it.each(accepted.filter((c) => !hasPsample(c)).map((c) => [c.name, c] as const))('actions: %s → echo → same echo', (_n, c) => {
    expect(putHex(reinstall(c))).toBe(putHex(copy(c)));
  });
  it.each(accepted.filter(hasPsample).map((c) => [c.name, c] as const))('actions: %s → echo sent back → EINVAL (NLA_F_NESTED gone)', (_n, c) => {
    expect(errnoOf(() => reinstall(c))).toBe(Errno.EINVAL);
  });
});

/*
 * Exchanges in the project's real-kernel captures (Debian Linux 6.12.117 openvswitch.ko), decoded
 * with `oracle/tools/nlpcap.py -o -v` and the ACTIONS payloads copied as hex:
 *   basic     = ../shared/captures/kernel-6.12-basic.pcap (ovs-dpctl 3.1.0, scripts/basic.sh)
 *   pyroute2  = ../shared/captures/kernel-6.12-pyroute2-basic.pcap (selftest ovs-dpctl.py)
 *   selftests = ../shared/oracle/results/selftests/capture.pcap.gz (openvswitch.sh, all tests)
 * A request frame paired with the frame of the kernel's GET/dump answer for the same flow; where
 * the flow was never dumped only the kernel's ACK/error is captured.
 */
describe('captured exchanges', () => {
  const IP4 = actionKeyView({ ethType: 0x0800 });
  const ARP = actionKeyView({ ethType: 0x0806 });
  const TCP4 = actionKeyView({ ethType: 0x0800, ipProto: 6 });
  const cases: [name: string, key: ActionKeyView, request: string, errno: number, reply: string | null][] = [
    ['basic 406.1 → 463.1: output(2)', TCP4, '0800010002000000', 0, '0800010002000000'],
    ['basic 700.1 → 701.1: set actions output(1)', TCP4, '0800010001000000', 0, '0800010001000000'],
    ['basic 641.1: output(1), output(2)', TCP4, '08000100010000000800010002000000', 0, '08000100010000000800010002000000'],
    ['basic 1465.1: ovs-dpctl 3.1 "drop" = type 25 (psample) u32 0 → EINVAL', TCP4, '0800190000000000', Errno.EINVAL, null],
    ['pyroute2 125.1 → 180.1: output(2)', ARP, '0800010002000000', 0, '0800010002000000'],
    ['selftests 4236.1 → 4687.5: ct(commit, nat(src=192.168.0.20)) flagged → ct re-encoded with zone', IP4,
      '18000c8004000100100006800400010008000300c0a800140800070001000000', 0,
      '20000c00040001000600020000000000100006000400010008000300c0a800140800070001000000'],
    ['selftests 4416.1 → 4687.3: ct(commit, nat) flagged → ct(commit, zone=0, nat)', IP4,
      '0c000c8004000100040006800800070002000000', 0, '14000c00040001000600020000000000040006000800070002000000'],
    ['selftests 1299.1: ct(commit), recirc(1) (ACK captured; echo shape as the fixture\'s "ct commit")', IP4, '08000c80040001000800070001000000', 0, '10000c00040001000600020000000000' + '0800070001000000'],
    ['selftests 5608.1: 17 nested clones → EOVERFLOW', IP4,
      '44001480400014803c0014803800148034001480300014802c0014802800148024001480200014801c0014801800148014001480100014800c0014800800148004001480',
      Errno.EOVERFLOW, null],
    ['selftests 8063.1: psample cookie of 17 bytes → ERANGE', IP4, '240019800800010001000000150002001615141312111009080706050403020100000000', Errno.ERANGE, null],
    ['selftests 8696.1: sample(psample, userspace) flagged (ACK captured; echo shape as the fixture\'s "sample")', IP4,
      '3800068008000100ffffffff2c00028014001980080001000200000007000200eeff0c0014000280080001000009c00007000200eeff0c000800010001000000', 0,
      '3800060008000100ffffffff2c00020014001900080001000200000007000200eeff0c0014000200080001000009c00007000200eeff0c000800010001000000'],
  ];
  it.each(cases)('%s', (_n, key, request, errno, reply) => {
    const run = (): FlowActions => ovsNlaCopyActions(attrOf(Buffer.from(request, 'hex')), key, { log: false });
    expect(errnoOf(run)).toBe(errno);
    if (reply !== null) expect(putHex(run())).toBe(reply);
  });
});
