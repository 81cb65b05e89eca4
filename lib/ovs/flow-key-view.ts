/**
 * A readable view of a sw_flow_key buffer for tests, debug logs and `decode` output: every
 * named field of the layout, multi-byte network-order fields as host-order numbers, addresses
 * and blobs as hex. Union members are all shown; which one is meaningful depends on eth.type.
 */
import { SWKEY, type SwKeyFieldName } from './flow-key';

/** Fields kept in host byte order (x86 little-endian) in the kernel struct. */
const HOST_ORDER: ReadonlySet<SwKeyFieldName> = new Set<SwKeyFieldName>([
  'tunFlags', 'tunNhid', 'priority', 'skbMark', 'inPort', 'dpHash', 'recircId', 'ctZone', 'ipv6Exthdrs',
  'mplsNumLabelsMask', 'ctMark',
]);

/** Aggregates left out of the view (their parts are listed). */
const SKIP: ReadonlySet<SwKeyFieldName> = new Set<SwKeyFieldName>(['tunKey', 'nshBase']);

export type KeyView = Partial<Record<SwKeyFieldName, number | string>>;

/**
 * decodeKey lists the fields of `key`: scalars of up to 4 bytes as numbers, longer fields as
 * hex. With `nonZeroOnly`, fields whose bytes are all zero are left out.
 */
export function decodeKey(key: Buffer, nonZeroOnly = false): KeyView {
  const out: KeyView = {};
  for (const [name, f] of Object.entries(SWKEY) as [SwKeyFieldName, { off: number; len: number }][]) {
    if (SKIP.has(name)) continue;
    const b = key.subarray(f.off, f.off + f.len);
    if (nonZeroOnly && b.every((x) => x === 0)) continue;
    if (name === 'tunOpts') {
      const len = key[SWKEY.tunOptsLen.off];
      out[name] = key.subarray(f.off + f.len - len, f.off + f.len).toString('hex');
      continue;
    }
    const le = HOST_ORDER.has(name);
    switch (f.len) {
      case 1: out[name] = b[0]; break;
      case 2: out[name] = le ? b.readUInt16LE(0) : b.readUInt16BE(0); break;
      case 4: out[name] = le ? b.readUInt32LE(0) : b.readUInt32BE(0); break;
      case 8: {
        const v = le ? b.readBigUInt64LE(0) : b.readBigUInt64BE(0);
        out[name] = v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : b.toString('hex');
        break;
      }
      default: out[name] = b.toString('hex');
    }
  }
  return out;
}
