// The detectors of DETECTORS.md §5 over one decoded string held in memory at
// TEXT (TEXT_LEN bytes of UTF-8). Each returns the candidate's end for a
// start position, or -1. Bytes outside [0, TEXT_LEN) read as "no character".

import {
  ALNUM, B64, classOf, COLON, DASH, DIGIT, DOT, EQUALS, findByte, HEX, LABEL, LETTER, LOCAL, LOWER,
  MIME, NOCARD, NOPHONE, PSEP, TOKEN, UPDIGIT, UPPER, URLSAFE, V_B64, V_WORD, vclass, vhas, vlacks,
  WORD,
} from "./classes";

/** Start of the decoded string. The bytes at TEXT - 1 and TEXT + TEXT_LEN must be readable. */
export let TEXT: usize = 0;
/** Its length in bytes. */
export let TEXT_LEN: i32 = 0;
/** Minimum bare base64 run. */
export let B64_MIN: i32 = 256;
/** Where a DATA_URL candidate's payload starts (set by dataUrl). */
export let DATA_PAYLOAD: i32 = 0;

// Lazily computed "next position" caches for the gates of the current string.
export let nextAtPos: i32 = -1;
/** The only position an email using the `@` at nextAtPos can start at, or -1. */
export let atStart: i32 = -1;
export let nextColonPos: i32 = -1;
export let nextFullB64Pos: i32 = -1;

export function setText(p: usize, n: i32, b64min: i32): void {
  TEXT = p;
  TEXT_LEN = n;
  B64_MIN = b64min;
  nextAtPos = -1;
  atStart = -1;
  nextColonPos = -1;
  nextFullB64Pos = -1;
}

/**
 * EMAIL gate. The local part read from s ends at the first `@` after s at
 * the latest, and must start where the LOCAL run before that `@` starts: so
 * for each `@` one start is possible. Positions only grow within a string:
 * each `@` is found and walked back from once.
 */
// @ts-ignore: decorator
@inline export function emailStartsAt(s: i32): bool {
  if (nextAtPos < s) findNextAt(s);
  return s == atStart;
}

export function findNextAt(s: i32): void {
  const a = <i32>(findByte(TEXT + <usize>s, TEXT + <usize>TEXT_LEN, 64) - TEXT);
  nextAtPos = a;
  if (a >= TEXT_LEN) {
    atStart = -1;
    return;
  }
  let r = a;
  while (r > a - 65 && (cl(r - 1) & LOCAL)) r--;
  atStart = r < a && r > a - 65 ? r : -1;
}

/** IPV6 gate: a `:` lies within 4 characters after s (the first group has at most 4 digits). */
// @ts-ignore: decorator
@inline export function colonNear(s: i32): bool {
  if (nextColonPos < s) findNextColon(s);
  return nextColonPos - s <= 4;
}

export function findNextColon(s: i32): void {
  nextColonPos = <i32>(findByte(TEXT + <usize>s, TEXT + <usize>TEXT_LEN, 58) - TEXT);
}

/**
 * BASE64 gate: a B64 run of 32 or more characters from s contains the
 * 16-byte block starting at the first multiple of 16 at or after s; so unless
 * that block is all B64, no long run starts at s. Each block is classified at
 * most once per string.
 */
// @ts-ignore: decorator
@inline export function longB64Possible(s: i32): bool {
  if (B64_MIN < 32) return true;
  const b0 = (s + 15) & ~15;
  if (nextFullB64Pos < s) findFullB64(b0);
  return nextFullB64Pos == b0;
}

export function findFullB64(b: i32): void {
  const n = TEXT_LEN;
  while (b + 16 <= n && vlacks(vclass(v128.load(TEXT + <usize>b)), V_B64) != 0) b += 16;
  nextFullB64Pos = b + 16 <= n ? b : 0x7fffffff;
}

/** The byte at i, or 256 outside the string. */
// @ts-ignore: decorator
@inline function ch(i: i32): u32 {
  return <u32>i < <u32>TEXT_LEN ? <u32>load<u8>(TEXT + <usize>i) : 256;
}

/** Class bits of the byte at i; 0 outside the string. */
// @ts-ignore: decorator
@inline function cl(i: i32): u32 {
  return <u32>i < <u32>TEXT_LEN ? classOf(load<u8>(TEXT + <usize>i)) : 0;
}

// @ts-ignore: decorator
@inline function run(i: i32, cls: u32): i32 {
  while (cl(i) & cls) i++;
  return i;
}

/** Like run, but stops after `limit` characters. */
// @ts-ignore: decorator
@inline function runMax(i: i32, cls: u32, limit: i32): i32 {
  const stop = i + limit;
  while (i < stop && (cl(i) & cls)) i++;
  return i;
}

/** True when the bytes at i spell `lit` (ASCII). */
function startsWith(i: i32, lit: string): bool {
  const n = lit.length;
  if (i < 0 || i + n > TEXT_LEN) return false;
  for (let k = 0; k < n; k++) {
    if (<u32>load<u8>(TEXT + <usize>(i + k)) != <u32>lit.charCodeAt(k)) return false;
  }
  return true;
}

function hasClass(a: i32, b: i32, cls: u32): bool {
  for (let k = a; k < b; k++) if (cl(k) & cls) return true;
  return false;
}

/** End of the B64 run at i, 16 bytes at a time. */
export function b64RunEnd(i: i32): i32 {
  const n = TEXT_LEN;
  while (i < n) {
    const m = vlacks(vclass(v128.load(TEXT + <usize>i)), V_B64);
    if (m != 0) {
      const e = i + ctz<i32>(m);
      return e < n ? e : n;
    }
    i += 16;
  }
  return n;
}

/** End of the URLSAFE run at i (ALNUM and `_ -`), 16 bytes at a time. */
function urlsafeRunEnd(i: i32): i32 {
  const n = TEXT_LEN;
  const dash = i8x16.splat(45);
  while (i < n) {
    const v = v128.load(TEXT + <usize>i);
    const m = ~(vhas(vclass(v), V_WORD) | i8x16.bitmask(i8x16.eq(v, dash))) & 0xffff;
    if (m != 0) {
      const e = i + ctz<i32>(m);
      return e < n ? e : n;
    }
    i += 16;
  }
  return n;
}

// --- §5.1 EMAIL -------------------------------------------------------------

export function email(s: i32): i32 {
  if (cl(s - 1) & LOCAL) return -1;
  if (!(cl(s) & LOCAL)) return -1;
  const le = runMax(s, LOCAL, 65);
  if (le - s > 64 || ch(le) != 64) return -1;
  let i = le + 1;
  let j = run(i, LABEL);
  if (j == i) return -1;
  const firstStart = i;
  const firstEnd = j;
  let labels = 1;
  let lastStart = i;
  while (ch(j) == 46 && (cl(j + 1) & LABEL)) {
    i = j + 1;
    j = run(i, LABEL);
    labels++;
    lastStart = i;
  }
  if (labels < 2 || j - lastStart < 2) return -1;
  for (let k = lastStart; k < j; k++) if (!(cl(k) & LETTER)) return -1;
  // icon@2x.png
  if (labels == 2 && firstEnd - firstStart >= 2 && ch(firstEnd - 1) == 120) {
    if (!hasNonDigit(firstStart, firstEnd - 1)) return -1;
  }
  return j;
}

function hasNonDigit(a: i32, b: i32): bool {
  for (let k = a; k < b; k++) if (!(cl(k) & DIGIT)) return true;
  return false;
}

// --- §5.2 PHONE -------------------------------------------------------------

const G_POS: usize = memory.data(16 * 4, 16);
const G_LEN: usize = memory.data(16 * 4, 16);
const G_SEP: usize = memory.data(16 * 4, 16);
const G_PAREN: usize = memory.data(16 * 4, 16);
let ng: i32 = 0;
let pd: i32 = 0;
let pi: i32 = 0;

// @ts-ignore: decorator
@inline function gPos(k: i32): i32 {
  return load<i32>(G_POS + (<usize>k << 2));
}
// @ts-ignore: decorator
@inline function gLen(k: i32): i32 {
  return load<i32>(G_LEN + (<usize>k << 2));
}
// @ts-ignore: decorator
@inline function gSep(k: i32): u32 {
  return load<u32>(G_SEP + (<usize>k << 2));
}
// @ts-ignore: decorator
@inline function gParen(k: i32): bool {
  return load<i32>(G_PAREN + (<usize>k << 2)) != 0;
}

function pushGroup(pos: i32, len: i32, paren: bool, sep: u32): void {
  if (ng < 16) {
    const o = <usize>ng << 2;
    store<i32>(G_POS + o, pos);
    store<i32>(G_LEN + o, len);
    store<u32>(G_SEP + o, sep);
    store<i32>(G_PAREN + o, paren ? 1 : 0);
  }
  ng++;
  pd += len;
}

/** `(` 1-5 digits `)` at p: the position after `)`, or -1. */
function parenAt(p: i32): i32 {
  if (ch(p) != 40) return -1;
  const j = runMax(p + 1, DIGIT, 6);
  const n = j - p - 1;
  return n >= 1 && n <= 5 && ch(j) == 41 ? j + 1 : -1;
}

function takeParen(sep: u32, p: i32): void {
  const end = parenAt(p);
  pushGroup(p + 1, end - p - 2, true, sep);
  pi = end;
  if (cl(pi) & DIGIT) {
    const j = runMax(pi, DIGIT, 18);
    pushGroup(pi, j - pi, false, 0);
    pi = j;
  }
}

function optionalParen(): void {
  if (parenAt(pi) >= 0) takeParen(0, pi);
  else if ((cl(pi) & PSEP) && parenAt(pi + 1) >= 0) takeParen(ch(pi), pi + 1);
}

/** The k-th digit of all groups together, or 0. */
function phoneDigit(k: i32): u32 {
  for (let g = 0; g < ng; g++) {
    const n = gLen(g);
    if (k < n) return ch(gPos(g) + k);
    k -= n;
  }
  return 0;
}

function consistent(exempt: i32): bool {
  let seen: u32 = 0xffff;
  for (let k = 1; k < ng; k++) {
    if (k == exempt || gParen(k) || gParen(k - 1)) continue;
    const sep = gSep(k);
    if (seen == 0xffff) seen = sep;
    else if (sep != seen) return false;
  }
  return true;
}

export function phone(s: i32): i32 {
  if (cl(s - 1) & (WORD | NOPHONE)) return -1;
  const c0 = ch(s);
  ng = 0;
  pd = 0;
  const plus = c0 == 43;
  if (plus) {
    if (!(cl(s + 1) & DIGIT)) return -1;
    pi = runMax(s + 1, DIGIT, 18);
    pushGroup(s + 1, pi - s - 1, false, 0);
    optionalParen();
  } else if (c0 == 40) {
    if (parenAt(s) < 0) return -1;
    takeParen(0, s);
  } else if (cl(s) & DIGIT) {
    pi = runMax(s, DIGIT, 18);
    pushGroup(s, pi - s, false, 0);
    optionalParen();
  } else {
    return -1;
  }
  // No accepted form has more than 17 digits.
  if (pd > 17) return -1;
  for (let n = 0; n < 6; n++) {
    if (!(cl(pi) & PSEP) || !(cl(pi + 1) & DIGIT)) break;
    const j = runMax(pi + 1, DIGIT, 18);
    pushGroup(pi + 1, j - pi - 1, false, ch(pi));
    pi = j;
    if (pd > 17) return -1;
  }
  const end = pi;
  if (cl(end) & WORD) return -1;
  if ((cl(end) & PSEP) && (cl(end + 1) & DIGIT)) return -1;
  const d0 = phoneDigit(0);
  if (plus) return d0 != 48 && pd >= 8 && pd <= 15 && consistent(1) ? end : -1;
  if (ng < 2) return -1;
  const d1 = phoneDigit(1);
  if (d0 == 48 && d1 == 48) {
    return phoneDigit(2) != 48 && pd - 2 >= 8 && pd - 2 <= 15 && consistent(1) ? end : -1;
  }
  if (d0 == 48) {
    if (pd < 10 || pd > 13 || !consistent(-1)) return -1;
    for (let k = 0; k < ng; k++) {
      if (gLen(k) < 2 || (k > 0 && gParen(k))) return -1;
    }
    return end;
  }
  // NANP: [1] area exchange line, 3-3-4.
  let first = 0;
  let exempt = -1;
  if (ng == 4 && !gParen(0) && gLen(0) == 1 && ch(gPos(0)) == 49) {
    first = 1;
    exempt = 1;
  }
  if (ng - first != 3) return -1;
  if (gLen(first) != 3 || gLen(first + 1) != 3 || gLen(first + 2) != 4) return -1;
  if (gParen(first + 1) || gParen(first + 2)) return -1;
  if (ch(gPos(first)) < 50 || ch(gPos(first + 1)) < 50) return -1;
  return consistent(exempt) ? end : -1;
}

// --- §5.3 CREDIT_CARD -------------------------------------------------------

const C_START: usize = memory.data(8 * 4, 16);
const C_END: usize = memory.data(8 * 4, 16);

// @ts-ignore: decorator
@inline function cStart(k: i32): i32 {
  return load<i32>(C_START + (<usize>k << 2));
}
// @ts-ignore: decorator
@inline function cEnd(k: i32): i32 {
  return load<i32>(C_END + (<usize>k << 2));
}

function luhn(k: i32): bool {
  let sum: u32 = 0;
  let dbl = false;
  for (let g = k - 1; g >= 0; g--) {
    const a = cStart(g);
    for (let i = cEnd(g) - 1; i >= a; i--) {
      let d = ch(i) - 48;
      if (dbl) {
        d <<= 1;
        if (d > 9) d -= 9;
      }
      sum += d;
      dbl = !dbl;
    }
  }
  return sum % 10 == 0;
}

export function card(s: i32): i32 {
  if (cl(s - 1) & (WORD | NOCARD)) return -1;
  const first = ch(s);
  if (first < 50 || first > 54) return -1;
  const e0 = runMax(s, DIGIT, 20);
  if (e0 - s > 19) return -1;
  store<i32>(C_START, s);
  store<i32>(C_END, e0);
  let n = 1;
  const sep = ch(e0);
  if ((sep == 32 || sep == 45) && (cl(e0 + 1) & DIGIT)) {
    while (n < 5) {
      const last = cEnd(n - 1);
      if (ch(last) != sep || !(cl(last + 1) & DIGIT)) break;
      const from = last + 1;
      store<i32>(C_START + (<usize>n << 2), from);
      store<i32>(C_END + (<usize>n << 2), runMax(from, DIGIT, 20));
      n++;
    }
  }
  for (let k = n; k >= 1; k--) {
    if (k == 2) continue;
    let total = 0;
    let ok = true;
    for (let g = 0; g < k; g++) {
      const len = cEnd(g) - cStart(g);
      if (k >= 3 && (len < 3 || len > 6)) ok = false;
      total += len;
    }
    if (!ok || total < 13 || total > 19 || !luhn(k)) continue;
    const e = cEnd(k - 1);
    if ((cl(e) & WORD) || (ch(e) == 46 && (cl(e + 1) & DIGIT))) continue;
    return e;
  }
  return -1;
}

// --- §5.4 IBAN --------------------------------------------------------------

/** IBAN length by country: 26 x 26 bytes, 0 for none. */
const IBAN_LEN: usize = memory.data(26 * 26, 16);
// One literal: concatenation would allocate at start-up.
const IBAN_TABLE =
  "AD24AE23AL28AT20AZ28BA20BE16BG22BH22BI27BR29BY28CH21CR22CY28CZ24DE22DJ27DK18DO28EE20EG29ES24FI18FO18FR27GB22GE22GI23GL18GR27GT28HR21HU28IE22IL23IQ23IR26IS26IT27JO30KW30KZ20LB28LC32LI21LT20LU20LV21LY25MC27MD24ME22MK19MR27MT31MU30NL18NO15PK24PL28PS29PT25QA29RO24RS22RU33SA24SC31SD18SE24SI19SK24SM27ST25SV28TL23TN24TR26UA29VA22VG24XK20";
for (let i = 0; i < IBAN_TABLE.length; i += 4) {
  const a = IBAN_TABLE.charCodeAt(i) - 65;
  const b = IBAN_TABLE.charCodeAt(i + 1) - 65;
  const n = (IBAN_TABLE.charCodeAt(i + 2) - 48) * 10 + IBAN_TABLE.charCodeAt(i + 3) - 48;
  store<u8>(IBAN_LEN + <usize>(a * 26 + b), <u8>n);
}

// @ts-ignore: decorator
@inline function mod97Step(r: u32, c: u32): u32 {
  return c <= 57 ? (r * 10 + (c - 48)) % 97 : (r * 100 + (c - 55)) % 97;
}

export function iban(s: i32): i32 {
  if (cl(s - 1) & WORD) return -1;
  if (!(cl(s) & UPPER) || !(cl(s + 1) & UPPER)) return -1;
  const n = <i32>load<u8>(IBAN_LEN + <usize>((ch(s) - 65) * 26 + ch(s + 1) - 65));
  if (n == 0 || !(cl(s + 2) & DIGIT) || !(cl(s + 3) & DIGIT)) return -1;
  const b = n - 4;
  let i = s + 4;
  // mod-97 of BBAN + country + check digits, streamed over the BBAN as it is read.
  let r: u32 = 0;
  if (ch(i) == 32) {
    let left = b;
    while (left > 0) {
      if (ch(i) != 32) return -1;
      i++;
      const size = left >= 4 ? 4 : left;
      for (let k = 0; k < size; k++, i++) {
        if (!(cl(i) & UPDIGIT)) return -1;
        r = mod97Step(r, ch(i));
      }
      left -= size;
    }
  } else {
    for (let k = 0; k < b; k++, i++) {
      if (!(cl(i) & UPDIGIT)) return -1;
      r = mod97Step(r, ch(i));
    }
  }
  if (cl(i) & WORD) return -1;
  for (let k = 0; k < 4; k++) r = mod97Step(r, ch(s + k));
  return r == 1 ? i : -1;
}

// --- §5.5 US_SSN ------------------------------------------------------------

export function ssn(s: i32): i32 {
  if (cl(s - 1) & (WORD | NOPHONE)) return -1;
  const sep = ch(s + 3);
  if ((sep != 45 && sep != 32) || ch(s + 6) != sep) return -1;
  if (!(cl(s) & cl(s + 1) & cl(s + 2) & cl(s + 4) & cl(s + 5) & DIGIT)) return -1;
  if (!(cl(s + 7) & cl(s + 8) & cl(s + 9) & cl(s + 10) & DIGIT)) return -1;
  const e = s + 11;
  if (cl(e) & WORD) return -1;
  const next = ch(e);
  if ((next == 45 || next == 46) && (cl(e + 1) & DIGIT)) return -1;
  const a0 = ch(s);
  const a1 = ch(s + 1);
  const a2 = ch(s + 2);
  if (a0 == 57 || (a0 == 48 && a1 == 48 && a2 == 48) || (a0 == 54 && a1 == 54 && a2 == 54)) {
    return -1;
  }
  if (ch(s + 4) == 48 && ch(s + 5) == 48) return -1;
  if (ch(s + 7) == 48 && ch(s + 8) == 48 && ch(s + 9) == 48 && ch(s + 10) == 48) return -1;
  return e;
}

// --- §5.6 IPV4 --------------------------------------------------------------

/** An octet written in [a, b): 1-3 digits, no leading zero, <= 255. */
function octet(a: i32, b: i32): bool {
  const n = b - a;
  if (n < 1 || n > 3) return false;
  if (n > 1 && ch(a) == 48) return false;
  let v: u32 = 0;
  for (let k = a; k < b; k++) {
    if (!(cl(k) & DIGIT)) return false;
    v = v * 10 + ch(k) - 48;
  }
  return v <= 255;
}

/** [a, b) is exactly four valid octets joined by `.`. */
function dottedQuad(a: i32, b: i32): bool {
  let parts = 0;
  let from = a;
  for (let k = a; k <= b; k++) {
    if (k == b || ch(k) == 46) {
      if (!octet(from, k)) return false;
      parts++;
      from = k + 1;
    }
  }
  return parts == 4;
}

export function ipv4(s: i32): i32 {
  if (cl(s - 1) & (WORD | DOT)) return -1;
  if (!(cl(s) & DIGIT)) return -1;
  let i = runMax(s, DIGIT, 4);
  if (i - s > 3) return -1;
  let parts = 1;
  let p1 = 0;
  for (let n = 0; n < 3; n++) {
    if (ch(i) != 46 || !(cl(i + 1) & DIGIT)) break;
    const j = runMax(i + 1, DIGIT, 4);
    if (j - i - 1 > 3) return -1;
    if (n == 0) p1 = i + 1;
    i = j;
    parts++;
  }
  if ((cl(i) & WORD) || (ch(i) == 46 && (cl(i + 1) & DIGIT))) return -1;
  if (parts != 4 || !dottedQuad(s, i)) return -1;
  // 1.2.3.4, 8.8.8.8: every part a single digit.
  if (i - s == 7) return -1;
  // 120.0.0.0
  if (i - p1 == 5 && ch(p1) == 48 && ch(p1 + 2) == 48 && ch(p1 + 4) == 48) return -1;
  return i;
}

// --- §5.7 IPV6 --------------------------------------------------------------

/** Groups of 1-4 HEX separated by `:` in [a, b); 0 when empty; -1 when malformed. */
function hexGroups(a: i32, b: i32): i32 {
  if (a == b) return 0;
  let n = 0;
  let len = 0;
  for (let k = a; k < b; k++) {
    if (ch(k) == 58) {
      if (len < 1 || len > 4) return -1;
      n++;
      len = 0;
    } else {
      if (!(cl(k) & HEX)) return -1;
      len++;
    }
  }
  if (len < 1 || len > 4) return -1;
  return n + 1;
}

export function ipv6(s: i32): i32 {
  if (cl(s - 1) & (WORD | DOT | COLON)) return -1;
  if (!(cl(s) & (HEX | COLON))) return -1;
  let i = s;
  let colon = false;
  let lastColon = -1;
  for (;;) {
    const c = cl(i);
    if (c & COLON) {
      colon = true;
      lastColon = i;
    } else if (!(c & HEX)) {
      break;
    }
    i++;
    // A valid address is at most 39 characters before its dotted part.
    if (i - s > 45) return -1;
  }
  if (!colon) return -1;
  const rEnd = i;
  for (let n = 0; n < 3; n++) {
    if (ch(i) != 46 || !(cl(i + 1) & DIGIT)) break;
    const j = runMax(i + 1, DIGIT, 4);
    if (j - i - 1 > 3) return -1;
    i = j;
  }
  if ((cl(i) & WORD) || (ch(i) == 46 && (cl(i + 1) & DIGIT))) return -1;
  if (!hasClass(s, i, DIGIT)) return -1;
  let hEnd = i;
  let quad = 0;
  if (i > rEnd) {
    if (!dottedQuad(lastColon + 1, i)) return -1;
    hEnd = lastColon + 1;
    if (!(hEnd - s >= 2 && ch(hEnd - 2) == 58)) hEnd--;
    quad = 2;
  }
  let dbl = -1;
  for (let k = s; k + 1 < hEnd; k++) {
    if (ch(k) == 58 && ch(k + 1) == 58) {
      if (k + 2 < hEnd && ch(k + 2) == 58) return -1;
      if (dbl >= 0) return -1;
      dbl = k;
      k++;
    }
  }
  if (dbl < 0) {
    const n = hexGroups(s, hEnd);
    return n > 0 && n + quad == 8 ? i : -1;
  }
  const l = hexGroups(s, dbl);
  const r = hexGroups(dbl + 2, hEnd);
  if (l < 0 || r < 0) return -1;
  const total = l + r + quad;
  return total >= 2 && total <= 7 ? i : -1;
}

// --- §5.8 SECRET ------------------------------------------------------------

/** After `-----BEGIN ` or `-----END ` at i: the end of `... PRIVATE KEY[ BLOCK]-----`, or -1. */
function pemLabelEnd(i: i32): i32 {
  let k = i;
  while ((cl(k) & UPDIGIT) || ch(k) == 32) k++;
  const ok = (k - i >= 11 && startsWith(k - 11, "PRIVATE KEY")) ||
    (k - i >= 17 && startsWith(k - 17, "PRIVATE KEY BLOCK"));
  return ok && startsWith(k, "-----") ? k + 5 : -1;
}

function pem(s: i32): i32 {
  const from = pemLabelEnd(s + 11);
  if (from < 0) return -1;
  const n = TEXT_LEN;
  let q = from;
  while (q + 9 <= n) {
    // Next "-----END " at or after q.
    const m = i8x16.bitmask(i8x16.eq(v128.load(TEXT + <usize>q), i8x16.splat(45)));
    if (m == 0) {
      q += 16;
      continue;
    }
    const at = q + ctz<i32>(m);
    if (startsWith(at, "-----END ")) {
      const e = pemLabelEnd(at + 9);
      if (e >= 0) return e;
    }
    q = at + 1;
  }
  return n;
}

function hasDigit(a: i32, b: i32): bool {
  return hasClass(a, b, DIGIT);
}

function bearer(s: i32): i32 {
  // "bearer" in any letter case, then spaces.
  if ((ch(s + 1) | 32) != 101 || (ch(s + 2) | 32) != 97 || (ch(s + 3) | 32) != 114) return -1;
  if ((ch(s + 4) | 32) != 101 || (ch(s + 5) | 32) != 114 || ch(s + 6) != 32) return -1;
  let i = s + 6;
  while (ch(i) == 32) i++;
  let e = run(i, TOKEN);
  while (e > i && ch(e - 1) == 46) e--;
  if (e - i < 16) return -1;
  if (hasDigit(i, e)) return e;
  return hasClass(i, e, UPPER) && hasClass(i, e, LOWER) ? e : -1;
}

function jwt(s: i32): i32 {
  const e1 = urlsafeRunEnd(s + 3);
  if (e1 == s + 3 || ch(e1) != 46 || !startsWith(e1 + 1, "eyJ")) return -1;
  const e2 = urlsafeRunEnd(e1 + 4);
  if (e2 == e1 + 4 || ch(e2) != 46) return -1;
  return urlsafeRunEnd(e2 + 1);
}

/** Four bytes at i (i >= 0; may read up to 3 bytes past the string, which is padded). */
// @ts-ignore: decorator
@inline function word4(i: i32): u32 {
  return load<u32>(TEXT + <usize>i);
}

/**
 * Quick filter for SECRET at s: true when the bytes at s begin one of the
 * prefixes of §5.8. The sentinel after the string matches no prefix, so
 * reading past its end is harmless.
 */
export function secretPrefix(s: i32): bool {
  const w = word4(s);
  switch (w & 0xff) {
    case 115: // sk-
      return (w & 0xffffff) == 0x2d6b73;
    case 65: // AKIA ASIA AIza
      return w == 0x41494b41 || w == 0x41495341 || w == 0x617a4941;
    case 103: // gh?_ github_pat_ glpat-
      return ((w & 0xffff) == 0x6867 && (w >>> 24) == 95) || w == 0x68746967 || w == 0x61706c67;
    case 120: // xox
      return (w & 0xffffff) == 0x786f78;
    case 101: // eyJ
      return (w & 0xffffff) == 0x4a7965;
    case 45: // -----BEGIN
      return w == 0x2d2d2d2d;
    case 66:
    case 98: // bearer, any case
      return (w | 0x20202020) == 0x72616562;
    default:
      return false;
  }
}

export function secret(s: i32): i32 {
  if (cl(s - 1) & (WORD | DASH)) return -1;
  const c0 = ch(s);
  if (c0 == 115) { // s
    if (!startsWith(s, "sk-")) return -1;
    const e = urlsafeRunEnd(s + 3);
    return e - s - 3 >= 20 && hasDigit(s + 3, e) ? e : -1;
  }
  if (c0 == 65) { // A
    if (startsWith(s, "AKIA") || startsWith(s, "ASIA")) {
      const e = runMax(s + 4, UPDIGIT, 17);
      return e - s - 4 == 16 && !(cl(e) & WORD) ? e : -1;
    }
    if (startsWith(s, "AIza")) {
      const e = runMax(s + 4, URLSAFE, 36);
      return e - s - 4 == 35 ? e : -1;
    }
    return -1;
  }
  if (c0 == 103) { // g
    if (startsWith(s, "github_pat_")) {
      const e = run(s + 11, WORD);
      return e - s - 11 >= 22 ? e : -1;
    }
    if (ch(s + 1) == 104 && ch(s + 3) == 95) {
      const k = ch(s + 2);
      if (k == 112 || k == 111 || k == 117 || k == 115 || k == 114) {
        const e = run(s + 4, ALNUM);
        return e - s - 4 >= 30 && ch(e) != 95 ? e : -1;
      }
      return -1;
    }
    if (startsWith(s, "glpat-")) {
      const e = urlsafeRunEnd(s + 6);
      return e - s - 6 >= 20 ? e : -1;
    }
    return -1;
  }
  if (c0 == 120) { // x
    if (!startsWith(s, "xox") || ch(s + 4) != 45) return -1;
    const k = ch(s + 3);
    if (k != 98 && k != 112 && k != 97 && k != 114 && k != 115) return -1;
    const e = run(s + 5, ALNUM | DASH);
    return e - s - 5 >= 20 && hasDigit(s + 5, e) && ch(e) != 95 ? e : -1;
  }
  if (c0 == 101) return startsWith(s, "eyJ") ? jwt(s) : -1;
  if (c0 == 45) return startsWith(s, "-----BEGIN ") ? pem(s) : -1;
  if (c0 == 66 || c0 == 98) return bearer(s);
  return -1;
}

// --- §5.9 DATA_URL, §5.10 BASE64 -------------------------------------------

export function dataUrl(s: i32): i32 {
  if (cl(s - 1) & WORD) return -1;
  if (!startsWith(s, "data:")) return -1;
  for (let m = 0; m <= 255; m++) {
    const p = s + 5 + m;
    if (ch(p) == 59 && startsWith(p, ";base64,")) {
      let e = b64RunEnd(p + 8);
      if (e == p + 8) return -1;
      if (ch(e) == 61) e++;
      if (ch(e) == 61) e++;
      DATA_PAYLOAD = p + 8;
      return e;
    }
    if (!(cl(p) & MIME)) return -1;
  }
  return -1;
}

export function base64(s: i32): i32 {
  if (cl(s - 1) & (B64 | EQUALS)) return -1;
  if (!(cl(s) & B64)) return -1;
  let e = b64RunEnd(s);
  if (e - s < B64_MIN) return -1;
  if (ch(e) == 61) e++;
  if (ch(e) == 61) e++;
  return cl(e) & (B64 | EQUALS) ? -1 : e;
}
