/**
 * Sizes for stripped base64: decoded byte count and its 1000-based text.
 * Integer arithmetic only, so a WebAssembly port gets the same digits.
 * @module
 */

/** Decoded size of a base64 payload: floor(n * 3 / 4) for n non-`=` characters. */
export function decodedBase64Bytes(payload: string): number {
  let n = 0;
  for (let i = 0; i < payload.length; i++) {
    if (payload.charCodeAt(i) !== 61) n++;
  }
  return Math.floor(n * 3 / 4);
}

const UNITS: readonly [string, number][] = [
  ["KB", 1e3],
  ["MB", 1e6],
  ["GB", 1e9],
  ["TB", 1e12],
];

/**
 * `"512 B"` below 1000 bytes; otherwise one decimal in the smallest
 * 1000-based unit (KB, MB, GB, TB) whose value, rounded half up to tenths,
 * stays below 1000.0: `"1.2 MB"`, `"999.9 KB"`, `"1.0 MB"` for 999 950 bytes.
 */
export function formatByteSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  for (let i = 0; i < UNITS.length; i++) {
    const [name, unit] = UNITS[i];
    const tenths = Math.floor((bytes * 10 + unit / 2) / unit);
    if (tenths < 10000 || i === UNITS.length - 1) {
      return `${Math.floor(tenths / 10)}.${tenths % 10} ${name}`;
    }
  }
  throw new Error("unreachable");
}
