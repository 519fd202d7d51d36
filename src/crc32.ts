// CRC-32 (IEEE 802.3, the polynomial zlib, PNG and gzip use), for checkpoint integrity.
// Node's zlib.crc32 (Node 20.15 / 22.2 on) where the runtime has it, found without an
// import so that bundlers leave it alone; elsewhere slicing-by-8 (Intel's, as in zlib's
// braided CRC): eight table lookups per 8 bytes instead of one per byte. Same value either way.

/** T[k·256 + b]: the CRC of byte b followed by k zero bytes. T[0..255] is the classic table. */
const T = (() => {
  const t = new Uint32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  for (let i = 0; i < 256; i++) {
    for (let k = 1; k < 8; k++) t[k * 256 + i] = (t[(k - 1) * 256 + i] >>> 8) ^ t[t[(k - 1) * 256 + i] & 0xff];
  }
  return t;
})();

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The CRC-32 of `bytes` in JS, slicing-by-8. */
export function crc32Js(bytes: Uint8Array): number {
  const n = bytes.length;
  let c = ~0;
  let i = 0;
  // Bytes up to a 4-byte boundary one at a time, then 8 bytes as two little-endian words.
  for (; i < n && (bytes.byteOffset + i) & 3; i++) c = T[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  if (littleEndian && n - i >= 8) {
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset + i, (n - i) >>> 2);
    const pairs = words.length >>> 1;
    for (let w = 0; w < 2 * pairs; w += 2) {
      const a = c ^ words[w];
      const b = words[w + 1];
      c =
        T[1792 + (a & 0xff)] ^
        T[1536 + ((a >>> 8) & 0xff)] ^
        T[1280 + ((a >>> 16) & 0xff)] ^
        T[1024 + (a >>> 24)] ^
        T[768 + (b & 0xff)] ^
        T[512 + ((b >>> 8) & 0xff)] ^
        T[256 + ((b >>> 16) & 0xff)] ^
        T[b >>> 24];
    }
    i += 8 * pairs;
  }
  for (; i < n; i++) c = T[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

type Crc = (data: Uint8Array, value?: number) => number;

/** zlib.crc32 where the runtime has it (process.getBuiltinModule: Node 20.16 / 22.3 on). */
const zlibCrc32: Crc | undefined = (() => {
  try {
    const p = (globalThis as { process?: { getBuiltinModule?: (id: string) => { crc32?: Crc } | undefined } }).process;
    const crc = p?.getBuiltinModule?.("node:zlib")?.crc32;
    // Checked against a known value: a look-alike that disagrees is not used.
    return typeof crc === "function" && crc(new TextEncoder().encode("123456789")) === 0xcbf43926 ? crc : undefined;
  } catch {
    return undefined;
  }
})();

/** The CRC-32 of `bytes`, as an unsigned 32-bit integer. */
export function crc32(bytes: Uint8Array): number {
  if (zlibCrc32) {
    try {
      return zlibCrc32(bytes) >>> 0;
    } catch {
      // e.g. a view of a SharedArrayBuffer, which zlib may refuse: fall through
    }
  }
  return crc32Js(bytes);
}
