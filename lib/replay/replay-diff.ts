/**
 * Comparing one exchange: the captured datagrams against the emulator's, after the
 * normalisation rules, and describing the first difference (path, offset, trees side by side).
 */
import { NLMSG_HDRLEN, align4 } from '../nl/constants';
import { splitDatagram, type NlMessage } from '../nl/message';
import type { CapturedRecord } from './replay-capture';
import { attrsOf } from './replay-capture';
import type { Normaliser, NormalisedPair } from './replay-normalise';
import { flatten, nodeAt, type TreeDecoder, type TreeNode } from './replay-tree';

/** Difference describes where an exchange first departs from the capture. */
export interface Difference {
  /** `differs`: both sides have the datagram; `missing`: the emulator sent fewer; `extra`: more. */
  kind: 'differs' | 'missing' | 'extra';
  /** Frame of the captured datagram (the request's frame for `extra`). */
  frame: number;
  /** Index of the datagram among the exchange's replies, and of the message inside it. */
  datagram: number;
  message: number;
  /** Path of the first differing field, e.g. `ovs_vport NEW › STATS › rx-packets`. */
  path: string;
  /** Byte offset of the first difference inside the captured datagram. */
  offset: number;
  expectedValue?: string;
  gotValue?: string;
  /** Both decoded trees, captured left, emulator right; `≠` marks differing lines. */
  sideBySide: string;
}

/** GotTraffic is what the emulator delivered during one exchange. */
export interface GotTraffic {
  /** Datagrams to the requesting socket, in order. */
  direct: Buffer[];
  /** Datagrams to other replay sockets (upcalls). */
  upcalls: Buffer[];
  /** Multicast notifications (the monitor socket's datagrams). */
  notifications: Buffer[];
}

/** ExchangeOutcome is the verdict on one exchange. */
export interface ExchangeOutcome {
  ok: boolean;
  difference?: Difference;
  /** Captured records matched as notification copies. */
  notificationCopies: number;
}

const SEP = ' › ';
const COL = 62;

/** pathKey pairs nodes of two trees: their path below the message (whose labels may differ). */
const pathKey = (path: string[]): string => path.slice(1).join(SEP);

/** sideBySide renders two trees in columns, pairing lines by path. */
export function sideBySide(left: TreeNode | undefined, right: TreeNode | undefined): string {
  const l = left ? flatten(left) : [];
  const r = right ? flatten(right) : [];
  const text = (f: { node: TreeNode; depth: number }): string => `${'  '.repeat(f.depth)}${f.node.label}${f.node.value !== undefined ? `: ${f.node.value}` : ''}`;
  const cut = (s: string): string => (s.length > COL ? `${s.slice(0, COL - 1)}…` : s.padEnd(COL));
  const rows: string[] = [`  ${'captured (kernel)'.padEnd(COL)}   emulator`];
  let j = 0;
  const used = new Set<number>();
  for (const e of l) {
    const key = pathKey(e.path);
    let k = -1;
    for (let x = j; x < r.length; x++) {
      if (!used.has(x) && pathKey(r[x].path) === key) {
        k = x;
        break;
      }
    }
    if (k >= 0) {
      for (let x = j; x < k; x++) if (!used.has(x)) rows.push(`≠ ${''.padEnd(COL)} | ${text(r[x])}`), used.add(x);
      used.add(k);
      j = k + 1;
      const same = e.node.value === r[k].node.value;
      rows.push(`${same ? ' ' : '≠'} ${cut(text(e))} | ${text(r[k])}`);
    } else {
      rows.push(`≠ ${cut(text(e))} |`);
    }
  }
  for (let x = j; x < r.length; x++) if (!used.has(x)) rows.push(`≠ ${''.padEnd(COL)} | ${text(r[x])}`);
  return rows.join('\n');
}

function firstDiff(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

/** describe builds the Difference of a message pair that did not match. */
function describe(pair: NormalisedPair, base: Omit<Difference, 'path' | 'offset' | 'sideBySide'>, msgOffset: number): Difference {
  const at = firstDiff(pair.expected, pair.got);
  const hit = nodeAt(pair.expectedTree, at);
  const peer = flatten(pair.gotTree).find((f) => pathKey(f.path) === pathKey(hit.path));
  return {
    ...base, path: hit.path.join(SEP), offset: msgOffset + at,
    expectedValue: hit.node.value, gotValue: peer?.node.value ?? (peer ? undefined : '(absent)'),
    sideBySide: sideBySide(pair.expectedTree, pair.gotTree),
  };
}

/** ExchangeComparer compares exchanges with one normaliser (whose learned state it updates). */
export class ExchangeComparer {
  constructor(private readonly norm: Normaliser, private readonly decoder: TreeDecoder, private readonly flowUfid: number, private readonly flowKey: number) {}

  /** datagram compares a captured datagram with one of the emulator's; undefined when equal. */
  datagram(expected: Buffer, got: Buffer, base: Omit<Difference, 'path' | 'offset' | 'sideBySide' | 'message'>): Difference | undefined {
    if (this.norm.fastEqual(expected, got)) return undefined;
    const em = [...splitDatagram(this.norm.translateTypes(expected))];
    const gm = [...splitDatagram(got)];
    const pairs: NormalisedPair[] = [];
    let at = 0;
    for (let i = 0; i < Math.max(em.length, gm.length); i++) {
      if (!em[i] || !gm[i]) {
        const only = em[i] ?? gm[i];
        const tree = this.decoder.decodeMessage(only, 0);
        return {
          ...base, message: i, offset: at, path: `${tree.label} (${em[i] ? 'missing in' : 'extra in'} the emulator's datagram)`,
          sideBySide: em[i] ? sideBySide(tree, undefined) : sideBySide(undefined, tree),
        };
      }
      const pair = this.norm.compare(em[i], gm[i]);
      if (!pair.equal) return describe(pair, { ...base, message: i }, at);
      pairs.push(pair);
      at += align4(em[i].bytes.length);
    }
    for (const p of pairs) this.norm.commit(p);
    return undefined;
  }

  /** exchange compares all captured replies of an exchange with what the emulator delivered. */
  exchange(replies: CapturedRecord[], side: CapturedRecord[], got: GotTraffic, request: CapturedRecord, flowDump: boolean): ExchangeOutcome {
    if (flowDump) return this.flowDump(replies, got, request);
    let d = 0;
    let copies = 0;
    for (const [i, rec] of replies.entries()) {
      const base = { kind: 'differs' as const, frame: rec.frame, datagram: i };
      const diff = d < got.direct.length ? this.datagram(rec.datagram, got.direct[d], base) : undefined;
      if (d < got.direct.length && !diff) {
        d++;
        continue;
      }
      if (rec.messages.length === 1 && got.notifications.some((n) => !this.datagram(rec.datagram, n, base))) {
        copies++;
        continue;
      }
      if (diff) return { ok: false, difference: diff, notificationCopies: copies };
      const tree = this.decoder.decodeMessage(rec.messages[0], 0);
      return { ok: false, notificationCopies: copies, difference: { ...base, kind: 'missing', message: 0, offset: 0, path: `${tree.label} (the emulator sent nothing)`, sideBySide: sideBySide(tree, undefined) } };
    }
    if (d < got.direct.length) return { ok: false, notificationCopies: copies, difference: this.extra(got.direct[d], request, replies.length) };
    const pending = [...got.upcalls];
    for (const [i, rec] of side.entries()) {
      const base = { kind: 'differs' as const, frame: rec.frame, datagram: replies.length + i };
      const k = pending.findIndex((u) => !this.datagram(rec.datagram, u, base));
      if (k < 0) {
        // Shown against the emulator's first unmatched upcall, if it sent any.
        const diff = pending.length ? this.datagram(rec.datagram, pending[0], base) : undefined;
        if (diff) return { ok: false, notificationCopies: copies, difference: diff };
        const tree = this.decoder.decodeMessage(rec.messages[0], 0);
        return { ok: false, notificationCopies: copies, difference: { ...base, kind: 'missing', message: 0, offset: 0, path: `${tree.label} (upcall the emulator did not send)`, sideBySide: sideBySide(tree, undefined) } };
      }
      pending.splice(k, 1);
    }
    if (pending.length) return { ok: false, notificationCopies: copies, difference: this.extra(pending[0], request, replies.length + side.length, 'upcall the kernel did not send') };
    return { ok: true, notificationCopies: copies };
  }

  private extra(dgram: Buffer, request: CapturedRecord, index: number, what = 'more than the kernel sent'): Difference {
    const m = [...splitDatagram(dgram)][0];
    const tree = m ? this.decoder.decodeMessage(m, 0) : undefined;
    return { kind: 'extra', frame: request.frame, datagram: index, message: 0, offset: 0, path: `${tree?.label ?? 'datagram'} (${what})`, sideBySide: sideBySide(undefined, tree) };
  }

  /** flowIdentity keys a flow message by UFID, else by KEY. */
  private flowIdentity(m: NlMessage): string {
    const attrs = attrsOf(m.bytes, NLMSG_HDRLEN + 8);
    const id = attrs.find((a) => a.type === this.flowUfid) ?? attrs.find((a) => a.type === this.flowKey);
    return id ? `${id.type}:${id.payload.toString('hex')}` : m.bytes.toString('hex');
  }

  /**
   * flowDump compares an ovs_flow dump as a set of flows (rule flow-dump-order): flows are paired
   * by UFID (else KEY); the ones left unpaired are then paired in order, so that a flow whose
   * key differs is shown against the emulator's.
   */
  private flowDump(replies: CapturedRecord[], got: GotTraffic, request: CapturedRecord): ExchangeOutcome {
    const flowType = this.norm.familyId(request.messages[0].type);
    const idOf = (m: NlMessage): string => (m.type === flowType ? this.flowIdentity(m) : `type ${m.type}`);
    const expected = replies.flatMap((r) => {
      let at = 0;
      return r.messages.map((m, message) => {
        const e = { m: [...splitDatagram(this.norm.translateTypes(m.bytes))][0], frame: r.frame, message, at };
        at += align4(m.bytes.length);
        return e;
      });
    });
    const pool = new Map<string, NlMessage[]>();
    for (const m of got.direct.flatMap((d) => [...splitDatagram(d)])) pool.set(idOf(m), [...(pool.get(idOf(m)) ?? []), m]);
    const pairs: { e: (typeof expected)[number]; g?: NlMessage }[] = expected.map((e) => ({ e, g: pool.get(idOf(e.m))?.shift() }));
    const left = [...pool.values()].flat();
    for (const p of pairs) if (!p.g) p.g = left.shift();
    for (const { e, g } of pairs) {
      const base = { kind: 'differs' as const, frame: e.frame, datagram: replies.findIndex((r) => r.frame === e.frame), message: e.message };
      if (!g) {
        const tree = this.decoder.decodeMessage(e.m, 0);
        return { ok: false, notificationCopies: 0, difference: { ...base, kind: 'missing', offset: e.at, path: `${tree.label} (not in the emulator's dump)`, sideBySide: sideBySide(tree, undefined) } };
      }
      if (this.norm.ifindex.identity && e.m.bytes.equals(g.bytes)) continue;
      const pair = this.norm.compare(e.m, g);
      if (!pair.equal) return { ok: false, notificationCopies: 0, difference: describe(pair, base, e.at) };
      this.norm.commit(pair);
    }
    if (left.length) {
      const tree = this.decoder.decodeMessage(left[0], 0);
      return { ok: false, notificationCopies: 0, difference: { kind: 'extra', frame: request.frame, datagram: expected.length, message: 0, offset: 0, path: `${tree.label} (${left.length} message(s) more than the kernel's dump)`, sideBySide: sideBySide(undefined, tree) } };
    }
    return { ok: true, notificationCopies: 0 };
  }
}
