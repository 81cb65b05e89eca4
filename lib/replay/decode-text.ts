/**
 * Text and JSON forms of decoded capture messages (`ovs-dpemu decode [--json]`).
 *
 * Text: one header line per message, `#FRAME.MSG TIME DIR FAMILY CMD vVERSION [fixed header]
 * flags=… seq=… pid=… len=…` (DIR `U>K` user→kernel, `K>U` kernel→user), then the attribute
 * tree indented by two spaces per level, `name: value`; nests that have an odp text form show it
 * after the name. JSON: one object per line (JSON Lines).
 */
import { NETLINK_GENERIC, NETLINK_PROTOCOL_NAMES } from '../nl/constants';
import type { DecodedAttr, DecodedExtack, DecodedHeader, DecodedMessage } from './decode';

const INDENT = '    ';

function headerFields(h: DecodedHeader): string {
  return `flags=${h.flagNames.length ? h.flagNames.join('|') : '0'} seq=${h.seq} pid=${h.pid} len=${h.len}`;
}

/** genlTitle is `family CMD vN dp_ifindex=N` (or the numbers when names are unknown). */
function genlTitle(h: DecodedHeader): string {
  let s = h.family ?? `family 0x${h.type.toString(16)}`;
  if (h.cmd !== undefined) s += ` ${h.cmdName ? h.cmdName.toUpperCase() : `cmd ${h.cmd}`} v${h.version}`;
  for (const [k, v] of Object.entries(h.header ?? {})) s += ` ${k.replace(/-/g, '_')}=${String(v)}`;
  return s;
}

function title(h: DecodedHeader): string {
  switch (h.kind) {
    case 'genl': return genlTitle(h);
    case 'noop': return 'NOOP';
    case 'overrun': return 'OVERRUN';
    case 'other': return `type 0x${h.type.toString(16)}`;
    default: return '';
  }
}

function attrLines(attrs: readonly DecodedAttr[] | undefined, depth: number, out: string[]): void {
  const pad = INDENT + '  '.repeat(depth);
  for (const a of attrs ?? []) {
    let line = `${pad}${a.name}:`;
    if (a.odp !== undefined) line += ` ${a.odp}`;
    else if (a.attrs === undefined && a.text !== undefined && a.text !== '') line += ` ${a.text}`;
    if (a.note) line += ` [${a.note}]`;
    out.push(line);
    if (a.attrs) attrLines(a.attrs, depth + 1, out);
  }
}

function extackLines(x: DecodedExtack, out: string[]): void {
  out.push(`${INDENT}extack:`);
  const p = `${INDENT}  `;
  if (x.msg !== undefined) out.push(`${p}msg: ${JSON.stringify(x.msg)}`);
  if (x.offset !== undefined) out.push(`${p}offset: ${x.offset}${x.offsetPath ? ` (${x.offsetPath})` : ''}`);
  if (x.policy) out.push(`${p}policy: ${Object.entries(x.policy).map(([k, v]) => `${k}=${String(v)}`).join(' ')}`);
  if (x.missType !== undefined) out.push(`${p}miss-type: ${x.missType}`);
  if (x.missNest !== undefined) out.push(`${p}miss-nest: ${x.missNest}`);
  if (x.cookie !== undefined) out.push(`${p}cookie: ${x.cookie}`);
}

/** messageText renders one decoded message (lines without a trailing newline). */
export function messageText(m: DecodedMessage): string[] {
  const out: string[] = [];
  const dir = m.direction === 'to-kernel' ? 'U>K' : 'K>U';
  let head = `#${m.frame}.${m.msg} ${m.time.toFixed(6)} ${dir} `;
  if (m.protocol !== NETLINK_GENERIC) head += `${NETLINK_PROTOCOL_NAMES[m.protocol] ?? `protocol ${m.protocol}`} `;
  if (m.kind === 'error' || m.kind === 'ack') head += m.kind === 'ack' ? 'ACK' : `ERROR ${m.error} ${m.errorName}`;
  else if (m.kind === 'done') head += `DONE${m.error !== undefined ? ` error=${m.error}${m.error ? ` ${m.errorName}` : ''}` : ''}`;
  else head += title(m);
  head += ` ${headerFields(m)}`;
  if (m.meta?.portid !== undefined) head += ` portid=${m.meta.portid}`;
  out.push(head);
  if (m.note) out.push(`${INDENT}[${m.note}]`);
  if (m.request) {
    out.push(`${INDENT}request: ${title(m.request)} ${headerFields(m.request)}`);
    attrLines(m.request.attrs, 1, out);
  }
  if (m.extack) extackLines(m.extack, out);
  attrLines(m.attrs, 0, out);
  if (m.leftover) out.push(`${INDENT}[${m.leftover} bytes left over]`);
  return out;
}

/** messageJson is the JSON Lines form of one message. */
export function messageJson(m: DecodedMessage): string {
  return JSON.stringify(m);
}
