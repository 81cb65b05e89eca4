/** Running saved cases, and the signature that says two findings are the same bug. */
import type { FuzzCase } from './corpus';
import { FuzzTarget, type Finding } from './target';

/** signatureOf normalises a finding: kind, first line of the detail with numbers elided, top frame. */
export function signatureOf(f: Finding): string {
  const lines = f.detail.split('\n');
  // The first frame in the project's code (not node: internals) tells bugs apart.
  const frames = lines.filter((l) => l.trim().startsWith('at '));
  const own = frames.find((l) => !l.includes('node:')) ?? frames[0];
  const frame = own?.trim().replace(/\(.*[/\\]/, '(').replace(/:\d+:\d+\)/, ')') ?? '';
  const head = lines[0].replace(/0x[0-9a-f]+|\d+/gi, 'N').replace(/[0-9a-f]{16,}/gi, 'H').slice(0, 160);
  return `${f.kind}: ${head}${frame ? ` ${frame}` : ''}`;
}

/** runCase replays a case on a fresh emulator and returns every finding of every step. */
export function runCase(c: FuzzCase): Finding[] {
  const t = new FuzzTarget(c.opts);
  const out: Finding[] = [];
  for (const s of c.steps) out.push(...(s.kind === 'send' ? t.send(s.dgram).findings : t.inject(s.port, s.frame)));
  t.close();
  return out;
}
