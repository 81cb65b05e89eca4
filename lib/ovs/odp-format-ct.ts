/**
 * ct(…) with its nat(…) part, as OVS lib/odp-util.c prints them (format_odp_conntrack_action,
 * format_odp_ct_nat), including the parse policies OVS 3.1 applies first (ovs_conntrack_policy,
 * ovs_nat_policy: e.g. no entry for the kernel's eventmask, which is therefore ignored).
 */
import type { AttrSet } from '../schema/model';
import { decodeStruct } from '../schema/struct';
import { u128Text } from './odp-format-key';
import { Ds, cString, hx, in6, ip4Num, nlParse, type NlAttr, type NlPolicy } from './odp-format-text';
import type { OdpView } from './odp-format-view';

/** policyOf builds an nl_policy table from attribute names of a schema set. */
export function policyOf(view: OdpView, set: AttrSet, entries: Record<string, NlPolicy>): Map<number, NlPolicy> {
  return new Map(Object.entries(entries).map(([name, p]) => [view.num(set, name), p]));
}

const opt = (type: NlPolicy['type'], minLen?: number, maxLen?: number): NlPolicy => ({ type, minLen, maxLen, optional: true });

function natPolicy(view: OdpView): Map<number, NlPolicy> {
  const in4 = 4;
  const in6Len = view.struct('in6-addr').size;
  return policyOf(view, view.nat, {
    src: opt('flag'), dst: opt('flag'), 'ip-min': opt('unspec', in4, in6Len), 'ip-max': opt('unspec', in4, in6Len),
    'proto-min': opt('u16'), 'proto-max': opt('u16'), persistent: opt('flag'), 'proto-hash': opt('flag'), 'proto-random': opt('flag'),
  });
}

function ctPolicy(view: OdpView): Map<number, NlPolicy> {
  return policyOf(view, view.ct, {
    commit: opt('flag'), 'force-commit': opt('flag'), zone: opt('u16'),
    mark: opt('unspec', view.struct('ovs-ct-md-mark').size),
    labels: opt('unspec', view.struct('ovs-ct-md-labels').size),
    helper: opt('string', 1, 16), nat: opt('unspec'), timeout: opt('string', 1, 32),
  });
}

/** cmp16 compares two 16-byte addresses like memcmp(). */
const cmp16 = (a: Buffer, b: Buffer): number => Buffer.compare(a, b);

// ovs: format_odp_ct_nat()
function natText(view: OdpView, attr: NlAttr): string {
  const a = nlParse(attr.payload, natPolicy(view));
  if (!a) return 'nat(error: nl_parse_nested() failed.)';
  const get = (n: string): NlAttr | undefined => a.get(view.num(view.nat, n));
  const src = get('src');
  const dst = get('dst');
  const ipMin = get('ip-min');
  const ipMax = get('ip-max');
  const pMin = get('proto-min');
  const pMax = get('proto-max');
  if (!(src || dst) && (ipMin || ipMax || pMin || pMax || get('persistent') || get('proto-hash') || get('proto-random'))) {
    return 'nat(error: options allowed only with "src" or "dst")';
  }
  if (src && dst) return 'nat(error: Only one of "src" or "dst" may be present.)';
  if (!ipMin && pMin) return 'nat(error: proto but no IP.)';
  if ((!ipMin && ipMax) || (!pMin && pMax)) return 'nat(error: range max without min.)';
  const in6Len = view.struct('in6-addr').size;
  if ((ipMin && ipMin.payload.length !== 4 && ipMin.payload.length !== in6Len) ||
      (ipMin && ipMax && ipMin.payload.length !== ipMax.payload.length)) {
    return 'nat(error: IP address sizes do not match)';
  }
  const addrLen = ipMin ? ipMin.payload.length : 0;
  const v4min = addrLen === 4 && ipMin ? ipMin.payload.readUInt32BE(0) : 0;
  const v4max = addrLen === 4 && ipMax ? ipMax.payload.readUInt32BE(0) : 0;
  const zero6 = Buffer.alloc(in6Len);
  const v6min = addrLen === in6Len && ipMin ? ipMin.payload : zero6;
  const v6max = addrLen === in6Len && ipMax ? ipMax.payload : zero6;
  const protoMin = pMin ? pMin.payload.readUInt16LE(0) : 0;
  const protoMax = pMax ? pMax.payload.readUInt16LE(0) : 0;
  if ((addrLen === 4 && v4max && v4min > v4max) ||
      (addrLen === in6Len && !v6max.equals(zero6) && cmp16(v6min, v6max) > 0) ||
      (protoMax && protoMin > protoMax)) {
    return 'nat(range error)';
  }
  const ds = new Ds().put('nat');
  if (!src && !dst) return ds.s;
  ds.put(src ? '(src' : '(dst');
  if (addrLen > 0) {
    ds.put('=');
    const br = (b: Buffer): string => (protoMin ? `[${in6(b)}]` : in6(b));
    if (addrLen === 4) {
      ds.put(ip4Num(v4min));
      if (v4max && v4max !== v4min) ds.put(`-${ip4Num(v4max)}`);
    } else {
      ds.put(br(v6min));
      if (!v6max.equals(zero6) && !v6max.equals(v6min)) ds.put(`-${br(v6max)}`);
    }
    if (protoMin) {
      ds.put(`:${protoMin}`);
      if (protoMax && protoMax !== protoMin) ds.put(`-${protoMax}`);
    }
  }
  ds.put(',');
  if (get('persistent')) ds.put('persistent,');
  if (get('proto-hash')) ds.put('hash,');
  if (get('proto-random')) ds.put('random,');
  ds.chomp(',');
  return ds.put(')').s;
}

/** ctText is format_odp_conntrack_action(). */
// ovs: format_odp_conntrack_action()
export function ctText(view: OdpView, attr: NlAttr): string {
  const a = nlParse(attr.payload, ctPolicy(view));
  if (!a) return 'ct(error)';
  const get = (n: string): NlAttr | undefined => a.get(view.num(view.ct, n));
  const commit = get('commit');
  const force = get('force-commit');
  const zoneA = get('zone');
  const zone = zoneA ? zoneA.payload.readUInt16LE(0) : 0;
  const mark = get('mark');
  const labels = get('labels');
  const helper = get('helper');
  const timeout = get('timeout');
  const nat = get('nat');
  const ds = new Ds().put('ct');
  if (!(commit || force || zone || mark || labels || helper || timeout || nat)) return ds.s;
  ds.put('(');
  if (commit) ds.put('commit,');
  if (force) ds.put('force_commit,');
  if (zone) ds.put(`zone=${zone},`);
  if (mark) {
    const m = decodeStruct(view.struct('ovs-ct-md-mark'), mark.payload);
    ds.put(`mark=${hx(Number(m.value))}/${hx(Number(m.mask))},`);
  }
  if (labels) {
    const l = decodeStruct(view.struct('ovs-ct-md-labels'), labels.payload);
    if (Buffer.isBuffer(l.value) && Buffer.isBuffer(l.mask)) ds.put(`label=${u128Text(l.value, l.mask, true)},`);
  }
  if (helper) ds.put(`helper=${cString(helper.payload)},`);
  if (timeout) ds.put(`timeout=${cString(timeout.payload)},`);
  if (nat) ds.put(natText(view, nat));
  ds.chomp(',');
  return ds.put(')').s;
}
