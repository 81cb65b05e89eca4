/**
 * Flows in the odp text form, exactly as Debian's ovs-dpctl 3.1.0 prints them in `dump-flows`,
 * `dump-flows -m` and `get-flow` (OVS lib/odp-util.c odp_flow_format / format_odp_actions,
 * lib/dpctl.c format_dpif_flow, lib/dpif.c dpif_flow_stats_format), for the emulator's `decode`
 * command and debug output. Inputs are attribute payloads as the kernel sends them.
 *
 * Where OVS 3.1 misreads a newer kernel attribute (actions dec_ttl, drop and psample; key
 * attribute ipv6_exthdrs), the output is what 3.1 prints, see odp-format-view.ts; the
 * 'ovs-3.4' dialect prints those actions as later OVS releases do.
 */
import { actionsText } from './odp-format-actions';
import { formatFlow, type PortNames } from './odp-format-key';
import { policyOf } from './odp-format-ct';
import { Ds, fixed, hex0, nlParse } from './odp-format-text';
import { odpView, type OdpDialect } from './odp-format-view';

export type { PortNames } from './odp-format-key';
export type { OdpDialect } from './odp-format-view';

/** OdpFormatOptions are ovs-dpctl's display switches. */
export interface OdpFormatOptions {
  /** `-m`: print every field, fully wildcarded ones as `field(0/0)`. */
  verbose?: boolean;
  /** Port numbers to names, as ovs-dpctl does with `-m` / `--names` (in_port, output, …). */
  portNames?: PortNames;
  /** Numbering of kernel actions 23..25: 'ovs-3.1' (default, what Debian's ovs-dpctl does) or 'ovs-3.4'. */
  dialect?: OdpDialect;
}

/**
 * formatFlowKey renders an OVS_FLOW_ATTR_KEY payload with its OVS_FLOW_ATTR_MASK payload
 * (undefined: no mask, every field exact).
 */
// ovs: odp_flow_format()
export function formatFlowKey(key: Buffer, mask: Buffer | undefined, opts: OdpFormatOptions = {}): string {
  const ds = new Ds();
  formatFlow({ view: odpView(opts.dialect), portNames: opts.portNames, verbose: opts.verbose ?? false }, ds, key, mask);
  return ds.s;
}

/** formatActions renders an OVS_FLOW_ATTR_ACTIONS payload ("drop" when empty). */
// ovs: format_odp_actions()
export function formatActions(actions: Buffer, opts: Omit<OdpFormatOptions, 'verbose'> = {}): string {
  return actionsText({ view: odpView(opts.dialect), portNames: opts.portNames, root: actions }, actions);
}

/** formatUfid renders a 16-byte UFID (host-order u32 words) as `ufid:xxxxxxxx-xxxx-…`. */
// ovs: odp_format_ufid()
export function formatUfid(ufid: Buffer): string {
  const p = [0, 4, 8, 12].map((i) => ufid.readUInt32LE(i));
  return `ufid:${hex0(p[0], 8)}-${hex0(p[1] >>> 16, 4)}-${hex0(p[1] & 0xffff, 4)}-${hex0(p[2] >>> 16, 4)}-` +
    `${hex0(p[2] & 0xffff, 4)}${hex0(p[3], 8)}`;
}

/** FlowStats is struct dpif_flow_stats. */
export interface FlowStats {
  packets: bigint;
  bytes: bigint;
  /** Last use, monotonic milliseconds; 0 = never. */
  used: bigint;
  /** OR of the TCP flags seen. */
  tcpFlags: number;
}

/** packet_format_tcp_flags(): tcpdump-style letters. */
// ovs: packet_format_tcp_flags()
export function tcpFlagsLetters(flags: number): string {
  if (!flags) return 'none';
  const letters: [number, string][] = [
    [0x002, 'S'], [0x001, 'F'], [0x008, 'P'], [0x004, 'R'], [0x020, 'U'], [0x010, '.'], [0x040, 'E'], [0x080, 'C'],
    [0x100, 'N'], [0x200, '[200]'], [0x400, '[400]'], [0x800, '[800]'],
  ];
  return letters.filter(([bit]) => flags & bit).map(([, l]) => l).join('');
}

/**
 * formatFlowStats is dpif_flow_stats_format(): `packets:N, bytes:N, used:X.XXXs|never[, flags:…]`,
 * `used` relative to `nowMs` (the caller's CLOCK_MONOTONIC milliseconds, OVS's time_msec()).
 */
// ovs: dpif_flow_stats_format()
export function formatFlowStats(stats: FlowStats, nowMs: bigint | number): string {
  let s = `packets:${stats.packets}, bytes:${stats.bytes}, used:`;
  s += stats.used ? `${fixed(Number(BigInt(nowMs) - stats.used) / 1000.0, 3)}s` : 'never';
  if (stats.tcpFlags) s += `, flags:${tcpFlagsLetters(stats.tcpFlags)}`;
  return s;
}

/** FlowReply holds the attributes of one OVS_FLOW_CMD_* reply that the flow line shows. */
export interface FlowReply {
  key?: Buffer;
  mask?: Buffer;
  actions?: Buffer;
  /** 16 bytes when present. */
  ufid?: Buffer;
  packets?: bigint;
  bytes?: bigint;
  used?: bigint;
  tcpFlags?: number;
}

/**
 * parseFlowReply reads the attributes of an ovs_flow reply (the bytes after the ovs_header) as
 * dpif_netlink_flow_from_ofpbuf() does; undefined where OVS would reject the message (EINVAL:
 * bad sizes — a UFID must be 16 bytes —, trailing garbage, neither key nor UFID).
 */
// ovs: dpif_netlink_flow_from_ofpbuf()
export function parseFlowReply(attrs: Buffer, dialect?: OdpDialect): FlowReply | undefined {
  const view = odpView(dialect);
  const set = view.fam.set('flow-attrs');
  const stats = view.struct('ovs-flow-stats');
  const p = nlParse(attrs, policyOf(view, set, {
    key: { type: 'nested', optional: true }, mask: { type: 'nested', optional: true },
    actions: { type: 'nested', optional: true },
    stats: { type: 'unspec', minLen: stats.size, maxLen: stats.size, optional: true },
    'tcp-flags': { type: 'u8', optional: true }, used: { type: 'u64', optional: true }, ufid: { type: 'u128', optional: true },
  }));
  if (!p) return undefined;
  const get = (name: string): Buffer | undefined => p.get(view.num(set, name))?.payload;
  const r: FlowReply = { key: get('key'), mask: get('mask'), actions: get('actions'), ufid: get('ufid') };
  if (!r.key && !r.ufid) return undefined;
  const st = get('stats');
  if (st) {
    r.packets = st.readBigUInt64LE(0);
    r.bytes = st.readBigUInt64LE(8);
  }
  r.used = get('used')?.readBigUInt64LE(0);
  r.tcpFlags = get('tcp-flags')?.[0];
  return r;
}

/** FlowLineOptions add the clock that `used:` is relative to. */
export interface FlowLineOptions extends OdpFormatOptions {
  /** Now, in CLOCK_MONOTONIC milliseconds. */
  nowMs: bigint | number;
}

/**
 * formatFlowReply is one line of `ovs-dpctl dump-flows` / `get-flow`:
 * `[ufid:…, ]KEY, packets:N, bytes:N, used:…[, flags:…][, dp:ovs], actions:…`, the UFID and
 * `dp:ovs` only with `verbose` (-m). `reply` is a parsed reply or the raw attribute bytes.
 * @throws Error when OVS could not parse the reply (see parseFlowReply).
 */
// ovs: format_dpif_flow()
export function formatFlowReply(reply: Buffer | FlowReply, opts: FlowLineOptions): string {
  const r = Buffer.isBuffer(reply) ? parseFlowReply(reply, opts.dialect) : reply;
  if (!r) throw new Error('dpif_netlink_flow_from_ofpbuf: unparsable ovs_flow reply (EINVAL)');
  const verbose = opts.verbose ?? false;
  let s = verbose && r.ufid ? `${formatUfid(r.ufid)}, ` : '';
  s += formatFlowKey(r.key ?? Buffer.alloc(0), r.mask, opts);
  s += `, ${formatFlowStats({ packets: r.packets ?? 0n, bytes: r.bytes ?? 0n, used: r.used ?? 0n, tcpFlags: r.tcpFlags ?? 0 }, opts.nowMs)}`;
  if (verbose) s += ', dp:ovs';
  return `${s}, actions:${formatActions(r.actions ?? Buffer.alloc(0), opts)}`;
}
