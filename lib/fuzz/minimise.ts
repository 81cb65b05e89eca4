/**
 * The minimiser: shrinks a failing case while it still shows the same finding (same
 * signature). First the steps (the last one alone, then delta debugging within a budget), then
 * the bytes of the last datagram (cuts at attribute boundaries, top-level attributes removed).
 */
import { NLA_HDRLEN, NLMSG_HDRLEN, align4 } from '../nl/constants';
import type { FuzzCase, Step } from './corpus';
import { signatureOf, runCase } from './replay';

/** MinimiseOptions bound the work (each try replays the case from a fresh emulator). */
export interface MinimiseOptions {
  maxTries?: number;
}

export function minimise(c: FuzzCase, signature: string, o: MinimiseOptions = {}): FuzzCase {
  let tries = o.maxTries ?? 400;
  const holds = (steps: Step[]): boolean => {
    if (tries-- <= 0 || !steps.length) return false;
    return runCase({ opts: c.opts, steps }).some((f) => signatureOf(f) === signature);
  };
  let steps = c.steps;
  const last = steps[steps.length - 1];
  if (holds([last])) steps = [last];
  else {
    // ddmin over the steps before the last one.
    let chunk = Math.max(1, Math.floor((steps.length - 1) / 2));
    while (chunk >= 1 && tries > 0) {
      let removed = false;
      for (let at = 0; at < steps.length - 1 && tries > 0;) {
        const candidate = [...steps.slice(0, at), ...steps.slice(at + chunk)];
        if (candidate.length && candidate[candidate.length - 1] === last && holds(candidate)) {
          steps = candidate;
          removed = true;
        } else at += chunk;
      }
      if (!removed) chunk = Math.floor(chunk / 2);
    }
  }
  const tail = steps[steps.length - 1];
  if (tail.kind === 'send') {
    const smaller = shrinkDatagram(tail.dgram, (d) => holds([...steps.slice(0, -1), { kind: 'send', dgram: d }]));
    steps = [...steps.slice(0, -1), { kind: 'send', dgram: smaller }];
  }
  return { opts: c.opts, steps };
}

/** shrinkDatagram removes top-level attributes and trailing bytes of a one-message datagram. */
function shrinkDatagram(d: Buffer, holds: (d: Buffer) => boolean): Buffer {
  if (d.length < NLMSG_HDRLEN + 8) return d;
  const len = d.readUInt32LE(0);
  if (len !== d.length && align4(len) !== d.length) return d;
  let cur = d;
  // Attribute boundaries of the top level (after genl + fixed header, guessed as 8 bytes).
  for (let again = true; again;) {
    again = false;
    const starts: number[] = [];
    for (let off = NLMSG_HDRLEN + 8; cur.length - off >= NLA_HDRLEN;) {
      const l = cur.readUInt16LE(off);
      if (l < NLA_HDRLEN || off + l > cur.length) break;
      starts.push(off);
      off += align4(l);
    }
    for (const s of starts.reverse()) {
      const l = align4(cur.readUInt16LE(s));
      const cand = Buffer.concat([cur.subarray(0, s), cur.subarray(Math.min(cur.length, s + l))]);
      cand.writeUInt32LE(cand.length, 0);
      if (holds(cand)) {
        cur = cand;
        again = true;
        break;
      }
    }
  }
  return cur;
}
