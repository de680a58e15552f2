// @sluice/redact's WebAssembly masker: one call per JSON document.
//
// The host copies the document's UTF-8 bytes to prepare()'s address, calls
// mask(), and reads the masked document at outPtr() (outLen() bytes). Only
// string values are examined; everything else is validated and copied with
// memory.copy. A string is scanned with v128 compares up to its closing
// quote; when it holds escapes it is decoded into a scratch region first, so
// that detection runs on the decoded text (DETECTORS.md §1). Spans are
// replaced in place; the bytes between spans are copied from the input as
// they were written, which for canonical input is exactly what
// JSON.stringify writes.
//
// Memory, above the static data, rebuilt by every call:
//   input (len + 64 zero bytes) | nesting bits | scratch | span table | output
// The output grows memory as it needs; nothing is allocated per string.

import {
  B64, classOf, COLON, DASH, DIGIT, DOT, EQUALS, findByte, HEX, LOCAL, NOCARD, NOPHONE, UPPER,
  V_COLON, V_DIGIT, V_PUNCT, V_SIGN, V_START, V_WORD, vclass, vhas, vlacks, WORD,
} from "./classes";
import {
  atStart, B64_MIN, base64, card, colonNear, DATA_PAYLOAD, dataUrl, email, emailStartsAt,
  findFullB64, findNextAt, findNextColon, iban, ipv4, ipv6, longB64Possible, nextAtPos,
  nextColonPos, nextFullB64Pos, phone, secret, secretPrefix, setText, ssn, TEXT, TEXT_LEN,
} from "./detectors";

// Flags: bit k enables detector k of the precedence order; then base64 and pseudonyms.
const F_SECRET: u32 = 1 << 0;
const F_CARD: u32 = 1 << 1;
const F_IBAN: u32 = 1 << 2;
const F_SSN: u32 = 1 << 3;
const F_EMAIL: u32 = 1 << 4;
const F_IPV6: u32 = 1 << 5;
const F_IPV4: u32 = 1 << 6;
const F_PHONE: u32 = 1 << 7;
const F_BASE64: u32 = 1 << 8;
const F_PSEUDONYM: u32 = 1 << 9;

const K_DATA_URL: i32 = 8;
const K_BASE64: i32 = 9;

/** mask() results. */
const OK: i32 = 0;
const E_SYNTAX: i32 = 1;
const E_UTF8: i32 = 2;
const E_SPANS: i32 = 3;

let IN: usize = 0;
let LEN: i32 = 0;
let STACK: usize = 0;
let STACK_BITS: i32 = 0;
let SCRATCH: usize = 0;
let SPANS: usize = 0;
let SPAN_CAP: i32 = 0;
let SPAN_N: i32 = 0;
/** Spans replaced by the last mask() call, of every kind. */
let REPLACED: i32 = 0;
let OUT: usize = 0;
let OP: usize = 0;
let OEND: usize = 0;
let FLAGS: u32 = 0;
let B64MIN: i32 = 256;
let ERR_POS: i32 = 0;
let depth: i32 = 0;
/** Input index from which bytes are still to be copied to the output. */
let copyFrom: i32 = 0;

// The string being examined: raw content [STR0, STR_END), escapes or not.
let STR0: i32 = 0;
let STR_END: i32 = 0;
let ESC: bool = false;
// Decoded-to-raw position walker for strings with escapes.
let wRaw: i32 = 0;
let wDec: i32 = 0;
let wNextBs: i32 = -1;

// @ts-ignore: decorator
@inline function inb(i: i32): u32 {
  return <u32>load<u8>(IN + <usize>i);
}

// @ts-ignore: decorator
@inline function align16(p: usize): usize {
  return (p + 15) & ~(<usize>15);
}

/** Grows memory so that [0, end) is addressable; traps when it cannot. */
function ensureMemory(end: u64): void {
  const have = <u64>memory.size() << 16;
  if (end <= have) return;
  const need = <i32>((end - have + 0xffff) >> 16);
  const half = memory.size() >> 1;
  if (memory.grow(need > half ? need : half) < 0 && memory.grow(need) < 0) unreachable();
}

/** Room for n more output bytes. */
function reserve(n: usize): void {
  if (OP + n <= OEND) return;
  ensureMemory(<u64>OP + <u64>n + 64);
  OEND = <usize>((<u64>memory.size() << 16) - 64);
}

/** Copies the input up to `upTo` (exclusive) to the output. */
function flush(upTo: i32): void {
  const n = upTo - copyFrom;
  if (n > 0) {
    reserve(<usize>n);
    memory.copy(OP, IN + <usize>copyFrom, <usize>n);
    OP += <usize>n;
  }
  copyFrom = upTo;
}

function putAscii(s: string): void {
  const n = s.length;
  for (let k = 0; k < n; k++) store<u8>(OP + <usize>k, <u8>s.charCodeAt(k));
  OP += <usize>n;
}

function putUint(v: u64): void {
  let digits = 1;
  for (let t = v; t >= 10; t /= 10) digits++;
  let p = OP + <usize>digits;
  OP = p;
  do {
    p--;
    store<u8>(p, <u8>(48 + v % 10));
    v /= 10;
  } while (v != 0);
}

/** DETECTORS.md §4 SIZE: 1000-based, one decimal, half up. */
function putSize(bytes: u64): void {
  if (bytes < 1000) {
    putUint(bytes);
    putAscii(" B");
    return;
  }
  let unit: u64 = 1000;
  for (let u = 0; u < 4; u++) {
    const tenths = (bytes * 10 + unit / 2) / unit;
    if (tenths < 10000 || u == 3) {
      putUint(tenths / 10);
      store<u8>(OP, 46);
      OP++;
      putUint(tenths % 10);
      putAscii(u == 0 ? " KB" : u == 1 ? " MB" : u == 2 ? " GB" : " TB");
      return;
    }
    unit *= 1000;
  }
}

function kindName(kind: i32): string {
  switch (kind) {
    case 0:
      return "SECRET";
    case 1:
      return "CREDIT_CARD";
    case 2:
      return "IBAN";
    case 3:
      return "US_SSN";
    case 4:
      return "EMAIL";
    case 5:
      return "IPV6";
    case 6:
      return "IPV4";
    default:
      return "PHONE";
  }
}

// --- JSON strings ------------------------------------------------------------

function hexVal(c: u32): i32 {
  if (c - 48 < 10) return <i32>(c - 48);
  const l = c | 32;
  if (l - 97 < 6) return <i32>(l - 87);
  return -1;
}

/** The four hex digits at i, or -1. */
function hex4(i: i32): i32 {
  const a = hexVal(inb(i));
  const b = hexVal(inb(i + 1));
  const c = hexVal(inb(i + 2));
  const d = hexVal(inb(i + 3));
  if ((a | b | c | d) < 0) return -1;
  return (a << 12) | (b << 8) | (c << 4) | d;
}

// @ts-ignore: decorator
@inline function isCont(c: u32): bool {
  return (c & 0xc0) == 0x80;
}

/** Length of the well-formed UTF-8 sequence at i, or 0. */
function utf8Len(i: i32): i32 {
  const c = inb(i);
  if (c < 0xc2) return 0;
  if (c < 0xe0) return isCont(inb(i + 1)) ? 2 : 0;
  const c1 = inb(i + 1);
  if (c < 0xf0) {
    const lo: u32 = c == 0xe0 ? 0xa0 : 0x80;
    const hi: u32 = c == 0xed ? 0x9f : 0xbf;
    return c1 >= lo && c1 <= hi && isCont(inb(i + 2)) ? 3 : 0;
  }
  if (c < 0xf5) {
    const lo: u32 = c == 0xf0 ? 0x90 : 0x80;
    const hi: u32 = c == 0xf4 ? 0x8f : 0xbf;
    return c1 >= lo && c1 <= hi && isCont(inb(i + 2)) && isCont(inb(i + 3)) ? 4 : 0;
  }
  return 0;
}

/**
 * Validates the string whose opening quote is at q: sets STR_END (the closing
 * quote) and ESC, and returns the index after it, or -1 (ERR_POS set).
 */
function scanString(q: i32): i32 {
  let i = q + 1;
  let esc = false;
  const quote = i8x16.splat(34);
  const backslash = i8x16.splat(92);
  const space = i8x16.splat(32);
  for (;;) {
    const v = v128.load(IN + <usize>i);
    const special = v128.or(
      v128.or(i8x16.eq(v, quote), i8x16.eq(v, backslash)),
      i8x16.lt_u(v, space),
    );
    const m = i8x16.bitmask(special) | i8x16.bitmask(v);
    if (m == 0) {
      i += 16;
      continue;
    }
    i += ctz<i32>(m);
    const c = inb(i);
    if (c == 34) break;
    if (c == 92) {
      esc = true;
      const e = inb(i + 1);
      if (e == 117) {
        if (hex4(i + 2) < 0) return syntax(i);
        i += 6;
      } else if (
        e == 34 || e == 92 || e == 47 || e == 98 || e == 102 || e == 110 || e == 114 || e == 116
      ) {
        i += 2;
      } else {
        return syntax(i);
      }
    } else if (c < 32) {
      return syntax(i);
    } else {
      const n = utf8Len(i);
      if (n == 0) {
        ERR_POS = i;
        return -2;
      }
      i += n;
    }
  }
  STR_END = i;
  ESC = esc;
  return i + 1;
}

function syntax(i: i32): i32 {
  ERR_POS = i;
  return -1;
}

/** The byte a one-character escape stands for. */
function simpleEscape(e: u32): u8 {
  switch (e) {
    case 98:
      return 8;
    case 102:
      return 12;
    case 110:
      return 10;
    case 114:
      return 13;
    case 116:
      return 9;
    default:
      return <u8>e; // " \ /
  }
}

/**
 * The `\u` escape at i: its code point (a surrogate pair joined, a lone
 * surrogate as U+FFFD) in the low 21 bits and its raw length (6 or 12) above.
 */
function uEscape(i: i32): i32 {
  let cp = hex4(i + 2);
  if (cp >= 0xd800 && cp <= 0xdbff && inb(i + 6) == 92 && inb(i + 7) == 117) {
    const lo = hex4(i + 8);
    if (lo >= 0xdc00 && lo <= 0xdfff) {
      return (12 << 24) | (0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00));
    }
  }
  if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
  return (6 << 24) | cp;
}

// @ts-ignore: decorator
@inline function utf8Size(cp: i32): i32 {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/**
 * Decodes raw string content [a, b) into SCRATCH; returns the decoded length.
 * Copies 16 bytes at a time up to each backslash (the bytes stored past it
 * are overwritten next; the scratch region has room for them).
 */
function decode(a: i32, b: i32): i32 {
  let o = SCRATCH;
  let i = a;
  const backslash = i8x16.splat(92);
  for (;;) {
    const v = v128.load(IN + <usize>i);
    v128.store(o, v);
    let m = i8x16.bitmask(i8x16.eq(v, backslash));
    const left = b - i;
    if (left < 16) m |= 1 << left;
    if (m == 0) {
      i += 16;
      o += 16;
      continue;
    }
    const k = ctz<i32>(m);
    i += k;
    o += <usize>k;
    if (i >= b) break;
    const e = inb(i + 1);
    if (e != 117) {
      store<u8>(o, simpleEscape(e));
      o++;
      i += 2;
      continue;
    }
    const u = uEscape(i);
    i += u >>> 24;
    const cp = u & 0x1fffff;
    if (cp < 0x80) {
      store<u8>(o, <u8>cp);
      o += 1;
    } else if (cp < 0x800) {
      store<u8>(o, <u8>(0xc0 | (cp >> 6)));
      store<u8>(o + 1, <u8>(0x80 | (cp & 0x3f)));
      o += 2;
    } else if (cp < 0x10000) {
      store<u8>(o, <u8>(0xe0 | (cp >> 12)));
      store<u8>(o + 1, <u8>(0x80 | ((cp >> 6) & 0x3f)));
      store<u8>(o + 2, <u8>(0x80 | (cp & 0x3f)));
      o += 3;
    } else {
      store<u8>(o, <u8>(0xf0 | (cp >> 18)));
      store<u8>(o + 1, <u8>(0x80 | ((cp >> 12) & 0x3f)));
      store<u8>(o + 2, <u8>(0x80 | ((cp >> 6) & 0x3f)));
      store<u8>(o + 3, <u8>(0x80 | (cp & 0x3f)));
      o += 4;
    }
  }
  return <i32>(o - SCRATCH);
}

/** The raw input index of decoded position `target` of the current string. */
function rawIndex(target: i32): i32 {
  if (!ESC) return STR0 + target;
  for (;;) {
    if (wDec == target) return wRaw;
    if (wNextBs < wRaw) {
      wNextBs = <i32>(findByte(IN + <usize>wRaw, IN + <usize>STR_END, 92) - IN);
    }
    const k = wNextBs - wRaw;
    if (wDec + k >= target) {
      wRaw += target - wDec;
      wDec = target;
      return wRaw;
    }
    wRaw = wNextBs;
    wDec += k;
    if (inb(wRaw + 1) != 117) {
      wRaw += 2;
      wDec += 1;
    } else {
      const u = uEscape(wRaw);
      wRaw += u >>> 24;
      wDec += utf8Size(u & 0x1fffff);
    }
  }
  return wRaw;
}

// --- masking ------------------------------------------------------------------

/** Writes the replacement of the span [s, e) of the current string. */
function emit(s: i32, e: i32, kind: i32): void {
  REPLACED++;
  const rs = rawIndex(s);
  const re = rawIndex(e);
  flush(rs);
  reserve(320);
  if (kind == K_DATA_URL) {
    // "data:<mime>;base64," as decoded (ASCII, nothing to escape), then the size.
    const payload = DATA_PAYLOAD;
    memory.copy(OP, TEXT + <usize>s, <usize>(payload - s));
    OP += <usize>(payload - s);
    putAscii("[stripped ");
    putSize(b64Bytes(payload, e));
    store<u8>(OP, 93);
    OP++;
  } else if (kind == K_BASE64) {
    putAscii("[base64 stripped ");
    putSize(b64Bytes(s, e));
    store<u8>(OP, 93);
    OP++;
  } else {
    store<u8>(OP, 91);
    OP++;
    putAscii(kindName(kind));
    if (FLAGS & F_PSEUDONYM) {
      store<u8>(OP, 58);
      OP++;
      if (SPAN_N < SPAN_CAP) {
        const rec = SPANS + (<usize>SPAN_N << 4);
        store<i32>(rec, kind);
        store<i32>(rec + 4, <i32>(OP - OUT));
        store<i32>(rec + 8, rs);
        store<i32>(rec + 12, re);
      }
      SPAN_N++;
      store<u64>(OP, 0x3030303030303030);
      OP += 8;
    }
    store<u8>(OP, 93);
    OP++;
  }
  copyFrom = re;
}

/** Decoded bytes of the base64 text [a, b): floor(n * 3 / 4), `=` not counted. */
function b64Bytes(a: i32, b: i32): u64 {
  let n = b - a;
  if (n > 0 && load<u8>(TEXT + <usize>(b - 1)) == 61) n--;
  if (n > 0 && load<u8>(TEXT + <usize>(b - 2)) == 61) n--;
  return (<u64>n * 3) >> 2;
}

/** Per first byte: which of the eight detectors can start there (bits 0-7 of FLAGS). */
const STARTS: usize = memory.data(256, 16);
for (let c = 0; c < 128; c++) {
  const k = classOf(c);
  let bits: u32 = 0;
  if (c == 115 || c == 65 || c == 103 || c == 120 || c == 101 || c == 45 || c == 66 || c == 98) {
    bits |= F_SECRET;
  }
  if (k & DIGIT) bits |= F_CARD | F_SSN | F_IPV4 | F_PHONE;
  if (c == 43 || c == 40) bits |= F_PHONE;
  if (k & UPPER) bits |= F_IBAN;
  if (k & LOCAL) bits |= F_EMAIL;
  if (k & (HEX | COLON)) bits |= F_IPV6;
  store<u8>(STARTS + <usize>c, <u8>bits);
}
/** Per first byte: bit 0 a bare base64 run, bit 1 a data URL can start there. */
const STARTS_HI: usize = memory.data(256, 16);
for (let c = 0; c < 128; c++) {
  const k = classOf(c);
  let bits: u32 = 0;
  if (k & B64) bits |= 1;
  if (c == 100) bits |= 2; // data URL
  store<u8>(STARTS_HI + <usize>c, <u8>bits);
}

/** The digit group at i has 3 to 6 digits. */
function cardGroup2(i: i32): bool {
  let k = 0;
  while (k < 7 && isDigit(<u32>load<u8>(TEXT + <usize>(i + k))) && i + k < TEXT_LEN) k++;
  return k >= 3 && k <= 6;
}

/** The kind of best()'s result. */
let KIND: i32 = 0;
// The digit run at the start being evaluated: its length and the two bytes after it.
let numericLen: i32 = 0;
let numericNext: u32 = 0;
let numericNext2: u32 = 0;

/** Evaluates every enabled detector at s (§3): the best end, or -1; its kind in KIND. */
// @ts-ignore: decorator
@inline function best(s: i32, c: u32): i32 {
  let f = FLAGS & <u32>load<u8>(STARTS + <usize>c);
  let hi = FLAGS & F_BASE64 ? <u32>load<u8>(STARTS_HI + <usize>c) : 0;
  // The byte before s (never a WORD byte here) rules detectors out: `-`
  // SECRET; `. :` IPV6; LOCAL EMAIL; B64 and `=` BASE64; and for the
  // numeric detectors `+ - . / # $` PHONE and US_SSN, `. + / -`
  // CREDIT_CARD, `.` IPV4.
  const prev = classOf(s > 0 ? <u32>load<u8>(TEXT + <usize>(s - 1)) : 0);
  if (prev != 0) {
    if (prev & DASH) f &= ~F_SECRET;
    if (prev & (DOT | COLON)) f &= ~F_IPV6;
    if (prev & LOCAL) f &= ~F_EMAIL;
    if (prev & NOPHONE) f &= ~(F_SSN | F_PHONE);
    if (prev & NOCARD) f &= ~F_CARD;
    if (prev & DOT) f &= ~F_IPV4;
    if (prev & (B64 | EQUALS)) hi &= ~1;
  }
  let best = -1;
  let kind = 0;
  let e = 0;
  if (f & F_SECRET) {
    if (secretPrefix(s)) {
      e = secret(s);
      if (e > best) {
        best = e;
        kind = 0;
      }
    }
  }
  if (f & (F_CARD | F_SSN | F_IPV4 | F_PHONE)) {
    // Numeric detectors. Each needs more than a lone digit run: gate them on
    // the run's length and the two bytes after it before reading further.
    // The digit run at s, 16 bytes at a time (at most 20 matter).
    let l = ctz<i32>(vlacks(vclass(v128.load(TEXT + <usize>s)), V_DIGIT) | 0x10000);
    if (l == 16) {
      while (l < 20 && isDigit(<u32>load<u8>(TEXT + <usize>(s + l)))) l++;
    }
    if (s + l > TEXT_LEN) l = TEXT_LEN - s;
    const nx = s + l < TEXT_LEN ? <u32>load<u8>(TEXT + <usize>(s + l)) : 256;
    const nx2 = s + l + 1 < TEXT_LEN ? <u32>load<u8>(TEXT + <usize>(s + l + 1)) : 256;
    const sepDigit = (nx == 32 || nx == 45) && isDigit(nx2);
    // A card is one run of 13-19 digits or three or more groups of 3-6.
    const grouped = sepDigit && l >= 3 && l <= 6 && cardGroup2(s + l + 1);
    if ((f & F_CARD) && c >= 50 && c <= 54 && (l >= 13 || grouped)) {
      e = card(s);
      if (e > best) {
        best = e;
        kind = 1;
      }
    }
    if ((f & F_SSN) && l == 3 && (nx == 32 || nx == 45)) {
      e = ssn(s);
      if (e > best) {
        best = e;
        kind = 3;
      }
    }
    numericLen = l;
    numericNext = nx;
    numericNext2 = nx2;
  } else if (f & F_IBAN) {
    // Only upper-case letters start an IBAN, and no numeric detector starts on one.
    const t = TEXT + <usize>s;
    const c1 = <u32>load<u8>(t, 1);
    if (c1 - 65 < 26 && isDigit(<u32>load<u8>(t, 2)) && isDigit(<u32>load<u8>(t, 3))) {
      e = iban(s);
      if (e > best) {
        best = e;
        kind = 2;
      }
    }
  }
  if (f & F_EMAIL) {
    if (emailStartsAt(s)) {
      e = email(s);
      if (e > best) {
        best = e;
        kind = 4;
      }
    }
  }
  if (f & F_IPV6) {
    if (colonNear(s)) {
      e = ipv6(s);
      if (e > best) {
        best = e;
        kind = 5;
      }
    }
  }
  if (f & (F_IPV4 | F_PHONE)) {
    const l = numericLen;
    const nx = numericNext;
    const nx2 = numericNext2;
    if ((f & F_IPV4) && l <= 3 && l > 0 && nx == 46 && isDigit(nx2)) {
      e = ipv4(s);
      if (e > best) {
        best = e;
        kind = 6;
      }
    }
    // A phone number starts with `+` or `(`, or has a second group; a first
    // group not starting with 0 is NANP's `1` or area code.
    const more = nx == 40 || ((nx == 32 || nx == 46 || nx == 45) && (isDigit(nx2) || nx2 == 40));
    const head = c == 48 || (l == 1 && c == 49) || (l == 3 && c >= 50);
    if ((f & F_PHONE) && (l == 0 || (more && head))) {
      e = phone(s);
      if (e > best) {
        best = e;
        kind = 7;
      }
    }
  }
  if (hi != 0) {
    if (hi & 2) {
      e = dataUrl(s);
      if (e > best) {
        best = e;
        kind = K_DATA_URL;
      }
    }
    if ((hi & 1) && longB64Possible(s)) {
      e = base64(s);
      if (e > best) {
        best = e;
        kind = K_BASE64;
      }
    }
  }
  KIND = kind;
  return best;
}

// Pairs of first bytes a detector other than EMAIL, IPV6 and BASE64 (gated
// separately) can start on: 64 KiB indexed by the little-endian u16 at a
// start, one bit per detector group.
const P_NUMERIC: u8 = 1; // a digit, then a digit or ` . - (`
const P_PHONE: u8 = 2; // `+` or `(`, then a digit
const P_IBAN: u8 = 4; // two upper-case letters
const P_SECRET: u8 = 8; // sk AK AS AI gh gi gl xo ey -- and be in any case
const P_DATA: u8 = 16; // da
const PAIRS: usize = memory.data(65536, 16);

function markPair(a: u32, b: u32, bit: u8): void {
  const p = PAIRS + <usize>(a | (b << 8));
  store<u8>(p, load<u8>(p) | bit);
}

for (let a: u32 = 0; a < 128; a++) {
  for (let b: u32 = 0; b < 128; b++) {
    const ka = classOf(a);
    const kb = classOf(b);
    if ((ka & DIGIT) && ((kb & DIGIT) || b == 32 || b == 46 || b == 45 || b == 40)) {
      markPair(a, b, P_NUMERIC);
    }
    if ((a == 43 || a == 40) && (kb & DIGIT)) markPair(a, b, P_PHONE);
    if ((ka & UPPER) && (kb & UPPER)) markPair(a, b, P_IBAN);
  }
}
markPair(115, 107, P_SECRET); // sk
markPair(65, 75, P_SECRET); // AK
markPair(65, 83, P_SECRET); // AS
markPair(65, 73, P_SECRET); // AI
markPair(103, 104, P_SECRET); // gh
markPair(103, 105, P_SECRET); // gi
markPair(103, 108, P_SECRET); // gl
markPair(120, 111, P_SECRET); // xo
markPair(101, 121, P_SECRET); // ey
markPair(45, 45, P_SECRET); // --
markPair(98, 101, P_SECRET); // be
markPair(98, 69, P_SECRET); // bE
markPair(66, 101, P_SECRET); // Be
markPair(66, 69, P_SECRET); // BE
markPair(100, 97, P_DATA); // da

/** Pair bits of the detectors enabled by FLAGS. */
let PAIR_BITS: u8 = 0;

function pairBitsOf(flags: u32): u8 {
  let bits: u32 = 0;
  if (flags & (F_CARD | F_SSN | F_IPV4 | F_PHONE)) bits |= P_NUMERIC;
  if (flags & F_PHONE) bits |= P_PHONE;
  if (flags & F_IBAN) bits |= P_IBAN;
  if (flags & F_SECRET) bits |= P_SECRET;
  if (flags & F_BASE64) bits |= P_DATA;
  return <u8>bits;
}

/** Lanes of the block at i (bits 0-31) for positions lo..hi. */
function lanes(lo: i32, hi: i32, i: i32): u32 {
  if (lo < i) lo = i;
  if (hi > i + 31) hi = i + 31;
  if (lo > hi) return 0;
  return <u32>((<u64>2 << <u64>(hi - lo)) - 1) << <u32>(lo - i);
}

/** 32 lanes (bits) of the classes `bits` for the 32 bytes at p. */
// @ts-ignore: decorator
@inline function lanes32(c0: v128, c1: v128, bits: u8): u32 {
  return <u32>vhas(c0, bits) | (<u32>vhas(c1, bits) << 16);
}

/**
 * DETECTORS.md §3 over the current string: leftmost, then longest, then
 * precedence. Start positions come 32 at a time as a bit mask (a WORD or
 * `% ( + - . / :` byte after a non-WORD byte). Unless an `@` (EMAIL), a `:`
 * (IPV6) or a 16-byte block of base64 (BASE64) is near, a start is kept only
 * when its first bytes can begin a match of another detector; each remaining
 * start is filtered again before any detector reads further.
 */
function maskText(): void {
  const n = TEXT_LEN;
  const f = FLAGS;
  const pairBits = <i32>PAIR_BITS;
  let gateFrom = 0;
  let i = 0;
  let carry: u32 = 0;
  while (i < n) {
    const v0 = v128.load(TEXT + <usize>i);
    const v1 = v128.load(TEXT + <usize>i, 16);
    const c0 = vclass(v0);
    const c1 = vclass(v1);
    const word = lanes32(c0, c1, V_WORD);
    let m = lanes32(c0, c1, V_START) & ~((word << 1) | carry);
    carry = word >>> 31;
    let next = i + 32;
    if (m == 0) {
      i = next;
      continue;
    }
    // Starts that skip the pair filter: where an email can start (one per
    // `@`, or any after an `@` in this block), where a base64 run of 32 or
    // more can start (within 15 bytes before a 16-byte block of base64, or
    // after it), and those with a `:` at most 4 bytes on (IPV6). Nothing to
    // compute until the block reaches the nearest of these (gateFrom).
    let keep: u32 = 0;
    if (i + 31 >= gateFrom) {
      gateFrom = 0x7fffffff;
      if (f & F_EMAIL) {
        if (nextAtPos < i) findNextAt(i);
        keep = lanes(atStart, atStart, i) | lanes(nextAtPos + 1, i + 31, i);
        gateFrom = min(atStart >= i ? atStart : 0x7fffffff, nextAtPos + 1);
      }
      if (f & F_BASE64) {
        if (B64_MIN < 32) {
          keep = 0xffffffff;
          gateFrom = 0;
        } else {
          if (nextFullB64Pos < i) findFullB64((i + 15) & ~15);
          if (nextFullB64Pos - i <= 46) keep |= lanes(nextFullB64Pos - 15, i + 31, i);
          gateFrom = min(gateFrom, nextFullB64Pos - 15);
        }
      }
      if (f & F_IPV6) {
        if (nextColonPos < i) findNextColon(i);
        if (nextColonPos - i < 36) {
          const k = <u64>lanes32(c0, c1, V_COLON) |
            (<u64>(vhas(vclass(v128.load(TEXT + <usize>i, 32)), V_COLON) & 15) << 32);
          keep |= <u32>(k | (k >> 1) | (k >> 2) | (k >> 3) | (k >> 4));
        }
        gateFrom = min(gateFrom, nextColonPos - 4);
      }
    }
    // Digit starts, decided 32 at a time: the numeric detectors need the
    // digit run to be followed by ` - . (` and then a digit or `(` (bits
    // derived from `% ( + - . /` and space: a superset), or to be 8 digits
    // or longer; what follows the block is not looked at (kept). Other
    // starts: the pair filter, without branches on the data.
    let rest = m & ~keep;
    if (f & (F_CARD | F_SSN | F_IPV4 | F_PHONE)) {
      const d = lanes32(c0, c1, V_DIGIT);
      const starts = rest & d;
      if (starts != 0) {
        const punct = lanes32(c0, c1, V_PUNCT);
        const space = i8x16.splat(32);
        const sep = punct | <u32>i8x16.bitmask(i8x16.eq(v0, space)) |
          (<u32>i8x16.bitmask(i8x16.eq(v1, space)) << 16);
        const t = sep & (((d | punct) >>> 1) | 0x80000000);
        let x = d & ~(d >>> 1) & ((t >>> 1) | 0x80000000);
        const d2 = d & (d >>> 1);
        const d4 = d2 & (d2 >>> 2);
        const d8 = d4 & (d4 >>> 4);
        x |= (x >>> 1) & d;
        x |= (x >>> 2) & d2;
        x |= (x >>> 4) & d4;
        // After `.` no numeric detector starts; after `+ - /` only IPV4,
        // whose first part (at most 3 digits) is followed by `.` and a digit.
        const dotv = i8x16.splat(46);
        const dot = <u32>i8x16.bitmask(i8x16.eq(v0, dotv)) |
          (<u32>i8x16.bitmask(i8x16.eq(v1, dotv)) << 16);
        const before = i > 0 ? <u32>load<u8>(TEXT + <usize>(i - 1)) : 0;
        const prevDot = (dot << 1) | <u32>(before == 46);
        const prevSign = (lanes32(c0, c1, V_SIGN) << 1) |
          <u32>(before == 43 || before == 45 || before == 47);
        let y = d & ~(d >>> 1) & (((dot & ((d >>> 1) | 0x80000000)) >>> 1) | 0x80000000);
        y |= (y >>> 1) & d;
        y |= (y >>> 2) & d2;
        keep |= starts & ~prevDot & ((~prevSign & (x | d8)) | (prevSign & y));
        rest &= ~d;
      }
    }
    while (rest != 0) {
      const bit = rest & (0 - rest);
      rest ^= bit;
      const pair = <u32>load<u8>(PAIRS + <usize>load<u16>(TEXT + <usize>(i + ctz<i32>(bit))));
      keep |= bit & (0 - <u32>((pair & pairBits) != 0));
    }
    m &= keep;
    while (m != 0) {
      const s = i + ctz<i32>(m);
      if (s >= n) return;
      m &= m - 1;
      const e = best(s, <u32>load<u8>(TEXT + <usize>s));
      if (e > s) {
        emit(s, e, KIND);
        // Resume at the span's end: its previous byte decides the carry.
        next = e;
        carry = classOf(load<u8>(TEXT + <usize>(e - 1))) & WORD ? 1 : 0;
        break;
      }
    }
    i = next;
  }
}

/** A string value at q: validated, and masked when detection is on. */
function stringValue(q: i32): i32 {
  const after = scanString(q);
  if (after < 0) return after;
  const a = q + 1;
  const b = STR_END;
  if ((FLAGS & 0x1ff) != 0 && b > a) {
    STR0 = a;
    if (!ESC) {
      setText(IN + <usize>a, b - a, B64MIN);
    } else {
      const n = decode(a, b);
      store<u8>(SCRATCH + <usize>n, 0);
      setText(SCRATCH, n, B64MIN);
      wRaw = a;
      wDec = 0;
      wNextBs = -1;
    }
    maskText();
  }
  return after;
}

// --- JSON structure -------------------------------------------------------------

function skipWs(i: i32): i32 {
  for (;;) {
    const c = inb(i);
    if (c == 32 || c == 10 || c == 13 || c == 9) i++;
    else return i;
  }
  return i;
}

// @ts-ignore: decorator
@inline function isDigit(c: u32): bool {
  return c - 48 < 10;
}

function number(i: i32): i32 {
  if (inb(i) == 45) i++;
  const c = inb(i);
  if (c == 48) {
    i++;
  } else if (c - 49 < 9) {
    i++;
    while (isDigit(inb(i))) i++;
  } else {
    return syntax(i);
  }
  if (inb(i) == 46) {
    i++;
    if (!isDigit(inb(i))) return syntax(i);
    while (isDigit(inb(i))) i++;
  }
  const x = inb(i);
  if (x == 101 || x == 69) {
    i++;
    const sign = inb(i);
    if (sign == 43 || sign == 45) i++;
    if (!isDigit(inb(i))) return syntax(i);
    while (isDigit(inb(i))) i++;
  }
  return i;
}

function literal(i: i32, lit: string): i32 {
  for (let k = 0; k < lit.length; k++) {
    if (inb(i + k) != <u32>lit.charCodeAt(k)) return syntax(i + k);
  }
  return i + lit.length;
}

/** An object key at i, then `:`: returns the start of the value. */
function key(i: i32): i32 {
  if (inb(i) != 34) return syntax(i);
  i = scanString(i);
  if (i < 0) return i;
  i = skipWs(i);
  if (inb(i) != 58) return syntax(i);
  return skipWs(i + 1);
}

function push(object: bool): bool {
  if (depth >= STACK_BITS) return false;
  const p = STACK + <usize>(depth >> 3);
  const bit: u32 = 1 << (<u32>depth & 7);
  const old = <u32>load<u8>(p);
  store<u8>(p, <u8>(object ? old | bit : old & ~bit));
  depth++;
  return true;
}

// @ts-ignore: decorator
@inline function topIsObject(): bool {
  const d = depth - 1;
  return ((<u32>load<u8>(STACK + <usize>(d >> 3)) >> (<u32>d & 7)) & 1) != 0;
}

function fail(i: i32): i32 {
  if (i == -2) return E_UTF8;
  return E_SYNTAX;
}

// --- exports ----------------------------------------------------------------------

/**
 * Makes room for an input of up to `capacity` bytes and returns its address.
 * Memory may grow: views of it must be made after this call.
 */
export function prepare(capacity: i32): usize {
  IN = align16(__heap_base) + 16;
  ensureMemory(<u64>IN + <u64>capacity + 64);
  return IN;
}

/**
 * Masks the `len` bytes at prepare()'s address. `flags`: bits 0-7 enable
 * SECRET, CREDIT_CARD, IBAN, US_SSN, EMAIL, IPV6, IPV4, PHONE; bit 8 base64
 * stripping; bit 9 pseudonym placeholders, recorded in a table of `spanCap`
 * entries. Returns 0, 1 (invalid JSON, see errorPos), 2 (invalid UTF-8) or 3
 * (the span table needs spanCount() entries).
 */
export function mask(len: i32, flags: u32, b64min: i32, spanCap: i32): i32 {
  LEN = len;
  FLAGS = flags;
  PAIR_BITS = pairBitsOf(flags);
  B64MIN = b64min;
  memory.fill(IN + <usize>len, 0, 64);
  STACK = align16(IN + <usize>len + 64);
  STACK_BITS = (len >> 3) * 8 + 64;
  SCRATCH = align16(STACK + <usize>(STACK_BITS >> 3)) + 16;
  SPANS = align16(SCRATCH + <usize>len + 64);
  SPAN_CAP = flags & F_PSEUDONYM ? spanCap : 0;
  OUT = SPANS + (<usize>SPAN_CAP << 4);
  ensureMemory(<u64>OUT + <u64>len + 1024);
  OP = OUT;
  OEND = <usize>((<u64>memory.size() << 16) - 64);
  store<u8>(SCRATCH - 1, 0);
  SPAN_N = 0;
  REPLACED = 0;
  depth = 0;
  copyFrom = 0;
  ERR_POS = 0;

  let i = skipWs(0);
  let needValue = true;
  for (;;) {
    if (needValue) {
      const c = inb(i);
      if (c == 34) {
        i = stringValue(i);
      } else if (c == 123) {
        if (!push(true)) return fail(syntax(i));
        i = skipWs(i + 1);
        if (inb(i) == 125) {
          i++;
          depth--;
        } else {
          i = key(i);
          if (i < 0) return fail(i);
          continue;
        }
      } else if (c == 91) {
        if (!push(false)) return fail(syntax(i));
        i = skipWs(i + 1);
        if (inb(i) == 93) {
          i++;
          depth--;
        } else {
          continue;
        }
      } else if (c == 45 || isDigit(c)) {
        i = number(i);
      } else if (c == 116) {
        i = literal(i, "true");
      } else if (c == 102) {
        i = literal(i, "false");
      } else if (c == 110) {
        i = literal(i, "null");
      } else {
        i = syntax(i);
      }
      if (i < 0) return fail(i);
      needValue = false;
    }
    if (depth == 0) break;
    i = skipWs(i);
    const c = inb(i);
    if (c == 44) {
      i = skipWs(i + 1);
      if (topIsObject()) {
        i = key(i);
        if (i < 0) return fail(i);
      }
      needValue = true;
    } else if (c == (topIsObject() ? 125 : 93)) {
      i++;
      depth--;
    } else {
      return fail(syntax(i));
    }
  }
  i = skipWs(i);
  if (i != len) return fail(syntax(i));
  flush(len);
  if (SPAN_N > SPAN_CAP) return E_SPANS;
  return OK;
}

/** Address of the masked document. */
export function outPtr(): usize {
  return OUT;
}

/** Its length in bytes. */
export function outLen(): i32 {
  return <i32>(OP - OUT);
}

/**
 * Address of the pseudonym table: spanCount() records of four i32: kind
 * (0-7, precedence order), output offset of the 8 tag bytes, and the raw
 * input range [start, end) of the detected value.
 */
export function spanPtr(): usize {
  return SPANS;
}

/** Records in the pseudonym table (or needed, after result 3). */
export function spanCount(): i32 {
  return SPAN_N;
}

/** Spans replaced by the last mask() call: 0 means the output equals the input. */
export function replaced(): i32 {
  return REPLACED;
}

/** Input offset of the first invalid byte after result 1 or 2. */
export function errorPos(): i32 {
  return ERR_POS;
}
