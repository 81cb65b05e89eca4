/**
 * Field printers of OVS lib/odp-util.c (format_eth, format_ipv4, format_u8x, …): each prints
 * `name=value[/mask],` unless the mask is all-zero and the output is not verbose; plus the
 * mask classification (odp_mask_is_constant__), attribute length checks (check_attr_len) and
 * flag-word printing (lib/flow.c format_flags / format_flags_masked).
 */
import { Ds, eth, hx, in6, ip4, isAll, padTo, spacedHex, type NlAttr } from './odp-format-text';
import { ATTR_LEN_NESTED, ATTR_LEN_VARIABLE, type LenTable, type OdpView } from './odp-format-view';

/** FieldMask is a mask operand: undefined means "no mask" (the C NULL pointer), i.e. exact. */
export type MaskNum = number | undefined;

// ovs: format_eth()
export function fmtEth(ds: Ds, name: string, key: Buffer, kAt: number, mask: Buffer | undefined, mAt: number, verbose: boolean): void {
  const m = mask?.subarray(mAt, mAt + 6);
  const empty = m !== undefined && isAll(m, 0);
  if (!verbose && empty) return;
  if (!m || isAll(m, 0xff)) ds.put(`${name}=${eth(key, kAt)},`);
  else ds.put(`${name}=${eth(key, kAt)}/${eth(m)},`);
}

// ovs: format_be64()
export function fmtBe64(ds: Ds, name: string, key: bigint, mask: bigint | undefined, verbose: boolean): void {
  const m = mask ?? 0n;
  if (!verbose && !m) return;
  ds.put(`${name}=0x${key.toString(16)}`);
  if (mask !== undefined && m !== 0xffffffffffffffffn) ds.put(`/${hx(m)}`);
  ds.put(',');
}

// ovs: format_ipv4()
export function fmtIpv4(ds: Ds, name: string, key: Buffer, kAt: number, mask: Buffer | undefined, mAt: number, verbose: boolean): void {
  const m = mask === undefined ? undefined : mask.readUInt32BE(mAt);
  if (!verbose && m === 0) return;
  ds.put(`${name}=${ip4(key, kAt)}`);
  if (mask !== undefined && m !== 0xffffffff) ds.put(`/${ip4(mask, mAt)}`);
  ds.put(',');
}

// ovs: format_in6_addr()
export function fmtIn6(ds: Ds, name: string, key: Buffer, kAt: number, mask: Buffer | undefined, mAt: number, verbose: boolean): void {
  const m = mask?.subarray(mAt, mAt + 16);
  if (!verbose && m && isAll(m, 0)) return;
  ds.put(`${name}=${in6(key, kAt)}`);
  if (m && !isAll(m, 0xff)) ds.put(`/${in6(m)}`);
  ds.put(',');
}

// ovs: format_ipv6_label()
export function fmtIpv6Label(ds: Ds, name: string, key: number, mask: MaskNum, verbose: boolean): void {
  if (!verbose && mask === 0) return;
  ds.put(`${name}=${hx(key)}`);
  if (mask !== undefined && (mask & 0xfffff) !== 0xfffff) ds.put(`/${hx(mask)}`);
  ds.put(',');
}

function fmtNum(ds: Ds, name: string, shown: string, mask: MaskNum, full: number, verbose: boolean): void {
  if (!verbose && mask === 0) return;
  ds.put(`${name}=${shown}`);
  if (mask !== undefined && mask !== full) ds.put(`/${hx(mask)}`);
  ds.put(',');
}

// ovs: format_u8x()
export function fmtU8x(ds: Ds, name: string, key: number, mask: MaskNum, verbose: boolean): void {
  fmtNum(ds, name, hx(key), mask, 0xff, verbose);
}

// ovs: format_u8u()
export function fmtU8u(ds: Ds, name: string, key: number, mask: MaskNum, verbose: boolean): void {
  fmtNum(ds, name, String(key), mask, 0xff, verbose);
}

// ovs: format_be16()
export function fmtBe16(ds: Ds, name: string, key: number, mask: MaskNum, verbose: boolean): void {
  fmtNum(ds, name, String(key), mask, 0xffff, verbose);
}

// ovs: format_be16x()
export function fmtBe16x(ds: Ds, name: string, key: number, mask: MaskNum, verbose: boolean): void {
  fmtNum(ds, name, hx(key), mask, 0xffff, verbose);
}

/** optU8 / optBe16 / optBe32 read a mask member, or give undefined when there is no mask. */
export const optU8 = (m: Buffer | undefined, at: number): MaskNum => (m ? m[at] : undefined);
export const optBe16 = (m: Buffer | undefined, at: number): MaskNum => (m ? m.readUInt16BE(at) : undefined);

// ovs: format_flags()
export function flagsText(bitName: (bit: number) => string | undefined, flags: number, del: string): string {
  if (!flags) return '0';
  let s = '';
  let bad = 0;
  for (let f = flags >>> 0; f; ) {
    const bit = (f & -f) >>> 0;
    const n = bitName(bit);
    if (n) s += n + del;
    else bad = (bad | bit) >>> 0;
    f = (f & ~bit) >>> 0;
  }
  if (bad) s += `0x${bad.toString(16)}${del}`;
  return s.endsWith(del) ? s.slice(0, -1) : s;
}

// ovs: format_flags_masked() with name == NULL
export function flagsMaskedText(bitName: (bit: number) => string | undefined, flags: number, mask: number, maxMask: number): string {
  if (mask >>> 0 === maxMask >>> 0) return flagsText(bitName, flags, '|');
  if (!mask) return '0/0';
  let s = '';
  for (let m = mask >>> 0; m; ) {
    const bit = (m & -m) >>> 0;
    s += `${flags & bit ? '+' : '-'}${bitName(bit) ?? '[Unknown]'}`;
    m = (m & ~bit) >>> 0;
  }
  return s;
}

/** TCP flag names (packets.c packet_tcp_flag_to_string). */
export function tcpFlagName(bit: number): string | undefined {
  const names = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg', 'ece', 'cwr', 'ns', '[200]', '[400]', '[800]'];
  const i = Math.log2(bit);
  return Number.isInteger(i) ? names[i] : undefined;
}

/** format_generic_odp_key(). */
export const genericKey = (a: NlAttr): string => spacedHex(a.payload);

/** memberEnd is OFFSETOFEND(struct, member) from the schema layout. */
export function memberEnd(view: OdpView, struct: string, member: string): number {
  const m = view.struct(struct).members.find((x) => x.name === member);
  if (!m) throw new Error(`${struct}: no ${member}`);
  return m.offset + m.size;
}

const prefixIsAll = (mask: Buffer, end: number, v: number): boolean => isAll(padTo(mask, end).subarray(0, end), v);

/**
 * maskIsConstant is odp_mask_is_constant__(): whether a mask of key attribute `type` is all
 * ones (`exact`) or all zeros, the way OVS judges each kind (IPv6 looks at the label's 20 bits,
 * TCP flags at 12, ARP and the ct tuples only up to their last member).
 */
// ovs: odp_mask_is_constant__()
export function maskIsConstant(view: OdpView, type: number, mask: Buffer, exact: boolean): boolean {
  const u8 = exact ? 0xff : 0;
  const name = view.keyName(type);
  switch (name) {
    case undefined: case 'encap': case 'tunnel-info':
      return false;
    case 'tcp-flags':
      return (padTo(mask, 2).readUInt16BE(0) & 0x0fff) === (exact ? 0x0fff : 0);
    case 'ipv6': {
      const s = view.struct('ovs-key-ipv6');
      const at = (m: string): number => s.members.find((x) => x.name === m)?.offset ?? 0;
      const b = padTo(mask, s.size);
      return (b.readUInt32BE(at('ipv6-label')) & 0xfffff) === (exact ? 0xfffff : 0) &&
        ['ipv6-proto', 'ipv6-tclass', 'ipv6-hlimit', 'ipv6-frag'].every((m) => b[at(m)] === u8) &&
        isAll(b.subarray(at('ipv6-src'), at('ipv6-src') + 16), u8) && isAll(b.subarray(at('ipv6-dst'), at('ipv6-dst') + 16), u8);
    }
    case 'arp':
      return prefixIsAll(mask, memberEnd(view, 'ovs-key-arp', 'arp-tha'), u8);
    case 'ct-orig-tuple-ipv4':
      return prefixIsAll(mask, memberEnd(view, 'ovs-key-ct-tuple-ipv4', 'ipv4-proto'), u8);
    case 'ct-orig-tuple-ipv6':
      return prefixIsAll(mask, memberEnd(view, 'ovs-key-ct-tuple-ipv6', 'ipv6-proto'), u8);
    default:
      return type !== 0 && isAll(mask, u8);
  }
}

/** odp_mask_attr_is_exact() / odp_mask_attr_is_wildcard(). */
export const maskAttrIsExact = (view: OdpView, ma: NlAttr): boolean => maskIsConstant(view, ma.type, ma.payload, true);
export const maskAttrIsWildcard = (view: OdpView, ma: NlAttr): boolean => maskIsConstant(view, ma.type, ma.payload, false);

/**
 * generateWildcard is generate_all_wildcard_mask(): a zero mask of the key's size, or for a
 * nested attribute an empty nest (OVS's loop over the nest starts at the wrong address and never
 * runs, so no inner attributes are generated).
 */
// ovs: generate_all_wildcard_mask()
export function generateWildcard(tbl: LenTable, a: NlAttr): NlAttr {
  const nested = tbl.len(a.type) === ATTR_LEN_NESTED;
  return { type: a.type, payload: Buffer.alloc(nested ? 0 : a.payload.length), at: 0 };
}

/**
 * checkAttrLen is check_attr_len(): prints "(bad key length …)" style text and returns false when
 * a fixed-length attribute or its mask has the wrong size; types above the table's max pass.
 */
// ovs: check_attr_len()
export function checkAttrLen(ds: Ds, a: NlAttr, ma: NlAttr | undefined, tbl: LenTable, needKey: boolean): boolean {
  if (a.type > tbl.max) return true;
  const expected = tbl.len(a.type);
  if (expected === ATTR_LEN_VARIABLE || expected === ATTR_LEN_NESTED) return true;
  const badKey = a.payload.length !== expected;
  const badMask = ma !== undefined && ma.payload.length !== expected;
  if (!badKey && !badMask) return true;
  if (needKey) ds.put(`key${a.type}`);
  if (badKey) ds.put(`(bad key length ${a.payload.length}, expected ${expected})(`);
  ds.put(genericKey(a));
  if (ma) {
    ds.put('/');
    if (badMask) ds.put(`(bad mask length ${ma.payload.length}, expected ${expected})(`);
    ds.put(genericKey(ma));
  }
  ds.put(')');
  return false;
}

/** formatUnknownKey is format_unknown_key(): "keyN(hex[/hex]),". */
// ovs: format_unknown_key()
export function formatUnknownKey(view: OdpView, ds: Ds, a: NlAttr, ma: NlAttr | undefined): void {
  ds.put(`key${a.type}(${genericKey(a)}`);
  if (ma && !maskAttrIsExact(view, ma)) ds.put(`/${genericKey(ma)}`);
  ds.put('),');
}
