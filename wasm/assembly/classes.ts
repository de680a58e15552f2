// Character classes of DETECTORS.md §2: one bit each in a 256-entry table
// (every byte >= 0x80 belongs to no class), plus the v128 "shufti" form of
// the few classes the vector scans need.

export const DIGIT: u32 = 1;
export const UPPER: u32 = 2;
export const LOWER: u32 = 4;
/** `_` */
export const USCORE: u32 = 8;
/** `A-F a-f` (HEX is DIGIT | HEXL) */
export const HEXL: u32 = 16;
/** space `.` `-`: phone separators */
export const PSEP: u32 = 32;
/** `_ . % + -`: the email local part beyond ALNUM */
export const LOCALX: u32 = 64;
/** `+ / _ -`: base64 beyond ALNUM */
export const B64X: u32 = 128;
/** `! # $ % & ' * ^ _ . + / = ; -`: a data URL's mime beyond ALNUM */
export const MIMEX: u32 = 256;
/** `. _ ~ + / = -`: a bearer token beyond ALNUM */
export const TOKENX: u32 = 512;
/** `-` */
export const DASH: u32 = 1024;
/** `+ - . / # $`: may not precede a phone number or an SSN */
export const NOPHONE: u32 = 2048;
/** `. + / -`: may not precede a card number */
export const NOCARD: u32 = 4096;
/** `=` */
export const EQUALS: u32 = 8192;
/** `.` */
export const DOT: u32 = 16384;
/** `:` */
export const COLON: u32 = 32768;

export const ALNUM: u32 = DIGIT | UPPER | LOWER;
export const WORD: u32 = ALNUM | USCORE;
export const HEX: u32 = DIGIT | HEXL;
export const LOCAL: u32 = ALNUM | LOCALX;
export const LABEL: u32 = ALNUM | DASH;
export const B64: u32 = ALNUM | B64X;
export const MIME: u32 = ALNUM | MIMEX;
export const TOKEN: u32 = ALNUM | TOKENX;
export const URLSAFE: u32 = ALNUM | USCORE | DASH;
export const UPDIGIT: u32 = UPPER | DIGIT;
export const LETTER: u32 = UPPER | LOWER;

/** 256 x u32 class bits. */
export const TABLE: usize = memory.data(256 * 4, 16);

function mark(chars: string, bit: u32): void {
  for (let i = 0; i < chars.length; i++) {
    const p = TABLE + (<usize>chars.charCodeAt(i) << 2);
    store<u32>(p, load<u32>(p) | bit);
  }
}

function markRange(lo: i32, hi: i32, bit: u32): void {
  for (let c = lo; c <= hi; c++) {
    const p = TABLE + (<usize>c << 2);
    store<u32>(p, load<u32>(p) | bit);
  }
}

markRange(48, 57, DIGIT);
markRange(65, 90, UPPER);
markRange(97, 122, LOWER);
markRange(65, 70, HEXL);
markRange(97, 102, HEXL);
mark("_", USCORE);
mark(" .-", PSEP);
mark("_.%+-", LOCALX);
mark("+/_-", B64X);
mark("!#$%&'*^_.+/=;-", MIMEX);
mark("._~+/=-", TOKENX);
mark("-", DASH);
mark("+-./#$", NOPHONE);
mark(".+/-", NOCARD);
mark("=", EQUALS);
mark(".", DOT);
mark(":", COLON);

/** Class bits of one byte. */
// @ts-ignore: decorator
@inline export function classOf(c: u32): u32 {
  return load<u32>(TABLE + (<usize>c << 2));
}

// ---------------------------------------------------------------------------
// Vector classes. A byte's nibbles index two 16-byte tables; the AND of the
// two entries has one bit per class:
//   bit 0 `0-9`   bit 1 `A-O a-o`   bit 2 `P-Z p-z`   bit 3 `_`
//   bit 4 `% ( + - . /`   bit 5 `:`   bit 6 `+ - /`   bit 7 `=`
// Bytes >= 0x80 and control characters get no bit.

/** WORD: `0-9 A-Z a-z _` */
export const V_WORD: u8 = 0x0f;
/** Characters a match can start on: WORD and `% ( + - . / :`. */
export const V_START: u8 = 0x3f;
/** B64: ALNUM and `+ / _ -` */
export const V_B64: u8 = 0x4f;
/** `:` */
export const V_COLON: u8 = 0x20;
/** `0-9` */
export const V_DIGIT: u8 = 0x01;
/** `% ( + - . /` */
export const V_PUNCT: u8 = 0x10;
/** `+ - /` */
export const V_SIGN: u8 = 0x40;

// @ts-ignore: decorator
@inline export function vclass(v: v128): v128 {
  const lo = i8x16(
    0x05, 0x07, 0x07, 0x07, 0x07, 0x17, 0x07, 0x07,
    0x17, 0x07, 0x26, 0x52, 0x02, <i8>0xd2, 0x12, 0x5a,
  );
  const hi = i8x16(
    0x00, 0x00, 0x50, <i8>0xa1, 0x02, 0x0c, 0x02, 0x04,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  );
  return v128.and(
    i8x16.swizzle(lo, v128.and(v, i8x16.splat(0x0f))),
    i8x16.swizzle(hi, i8x16.shr_u(v, 4)),
  );
}

/** Lanes (as a 16-bit mask) whose class has any bit of `bits`. */
// @ts-ignore: decorator
@inline export function vhas(c: v128, bits: u8): i32 {
  return i8x16.bitmask(i8x16.ne(v128.and(c, i8x16.splat(bits)), i8x16.splat(0)));
}

/** Lanes (as a 16-bit mask) whose class has no bit of `bits`. */
// @ts-ignore: decorator
@inline export function vlacks(c: v128, bits: u8): i32 {
  return i8x16.bitmask(i8x16.eq(v128.and(c, i8x16.splat(bits)), i8x16.splat(0)));
}

/** First address in [p, end) holding `b`, or `end`. May read up to 15 bytes past `end`. */
export function findByte(p: usize, end: usize, b: u8): usize {
  const needle = i8x16.splat(b);
  while (p < end) {
    const m = i8x16.bitmask(i8x16.eq(v128.load(p), needle));
    if (m != 0) {
      const r = p + <usize>ctz<i32>(m);
      return r < end ? r : end;
    }
    p += 16;
  }
  return end;
}
