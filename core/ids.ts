/**
 * Random ids for every call (UUID v4, W3C trace and span ids) drawn from a
 * pooled buffer of `crypto.getRandomValues` bytes: one CSPRNG call per few
 * hundred ids instead of several per request. Each byte is used once.
 * @module
 */

const POOL = new Uint8Array(4096);
let position = POOL.length;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

function take(n: number): number {
  if (position + n > POOL.length) {
    crypto.getRandomValues(POOL);
    position = 0;
  }
  const start = position;
  position += n;
  return start;
}

/** `bytes` random bytes as lowercase hex (never all zeros, as W3C ids require). */
export function randomHex(bytes: number): string {
  for (;;) {
    const start = take(bytes);
    let out = "";
    let zero = true;
    for (let i = start; i < start + bytes; i++) {
      out += HEX[POOL[i]];
      if (POOL[i] !== 0) zero = false;
    }
    if (!zero) return out;
  }
}

/** A random RFC 9562 version 4 UUID. */
export function randomUuid(): string {
  const s = take(16);
  const b = (i: number) => HEX[POOL[s + i]];
  const v = HEX[(POOL[s + 6] & 0x0f) | 0x40];
  const r = HEX[(POOL[s + 8] & 0x3f) | 0x80];
  return b(0) + b(1) + b(2) + b(3) + "-" + b(4) + b(5) + "-" + v + b(7) + "-" + r + b(9) + "-" +
    b(10) + b(11) + b(12) + b(13) + b(14) + b(15);
}
