/**
 * SipHash-2-4 (lib/siphash.c, Linux 6.12), the keyed hash behind the flow dissector's skb->hash.
 * 64-bit lanes are kept as 32-bit halves so no BigInt runs per packet.
 */

/** SiphashKey is siphash_key_t: two 64-bit words, taken little-endian from 16 bytes. */
export type SiphashKey = Buffer;

// State: v0..v3 as [hi, lo] pairs in one array.
const V = new Uint32Array(8);

function add(a: number, b: number): void {
  const lo = (V[a + 1] + V[b + 1]) >>> 0;
  V[a] = (V[a] + V[b] + (lo < V[a + 1] ? 1 : 0)) >>> 0;
  V[a + 1] = lo;
}

function rotl(a: number, n: number): void {
  const h = V[a];
  const l = V[a + 1];
  if (n === 32) {
    V[a] = l;
    V[a + 1] = h;
    return;
  }
  V[a] = ((h << n) | (l >>> (32 - n))) >>> 0;
  V[a + 1] = ((l << n) | (h >>> (32 - n))) >>> 0;
}

function xor(a: number, b: number): void {
  V[a] ^= V[b];
  V[a + 1] ^= V[b + 1];
}

const V0 = 0;
const V1 = 2;
const V2 = 4;
const V3 = 6;

// kernel: SIPROUND
function sipround(): void {
  add(V0, V1); rotl(V1, 13); xor(V1, V0); rotl(V0, 32);
  add(V2, V3); rotl(V3, 16); xor(V3, V2);
  add(V0, V3); rotl(V3, 21); xor(V3, V0);
  add(V2, V1); rotl(V1, 17); xor(V1, V2); rotl(V2, 32);
}

function block(hi: number, lo: number): void {
  V[V3] ^= hi;
  V[V3 + 1] ^= lo;
  sipround();
  sipround();
  V[V0] ^= hi;
  V[V0 + 1] ^= lo;
}

/**
 * siphash64 is siphash(data, len, key): returns the 64-bit result as [high, low] 32-bit words.
 */
// kernel: __siphash_aligned()
export function siphash64(data: Buffer, key: SiphashKey, start = 0, end = data.length): [number, number] {
  const k0h = key.readUInt32LE(4);
  const k0l = key.readUInt32LE(0);
  const k1h = key.readUInt32LE(12);
  const k1l = key.readUInt32LE(8);
  V[0] = (0x736f6d65 ^ k0h) >>> 0; V[1] = (0x70736575 ^ k0l) >>> 0;
  V[2] = (0x646f7261 ^ k1h) >>> 0; V[3] = (0x6e646f6d ^ k1l) >>> 0;
  V[4] = (0x6c796765 ^ k0h) >>> 0; V[5] = (0x6e657261 ^ k0l) >>> 0;
  V[6] = (0x74656462 ^ k1h) >>> 0; V[7] = (0x79746573 ^ k1l) >>> 0;

  const len = end - start;
  const whole = start + (len & ~7);
  let i = start;
  for (; i < whole; i += 8) block(data.readUInt32LE(i + 4), data.readUInt32LE(i));
  // Last block: the remaining bytes, little-endian, with len in the top byte.
  const tail = Buffer.alloc(8);
  data.copy(tail, 0, i, end);
  tail[7] = len & 0xff;
  block(tail.readUInt32LE(4), tail.readUInt32LE(0));

  V[V2 + 1] ^= 0xff;
  sipround(); sipround(); sipround(); sipround();
  return [(V[0] ^ V[2] ^ V[4] ^ V[6]) >>> 0, (V[1] ^ V[3] ^ V[5] ^ V[7]) >>> 0];
}

/** siphash is siphash64() as one bigint. */
export function siphash(data: Buffer, key: SiphashKey): bigint {
  const [h, l] = siphash64(data, key);
  return (BigInt(h) << 32n) | BigInt(l);
}
