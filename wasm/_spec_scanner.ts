/**
 * An executable reading of `DETECTORS.md`, written from the text and not
 * from `reference.ts`: a left-to-right scanner with no regular expressions,
 * one character of look-back and a class table, the shape the WebAssembly
 * scanner will have. Tests fuzz it against the reference; any difference is
 * a hole in the specification or a bug in one of the two.
 *
 * Test-only and deliberately plain (O(length × detectors)); not exported.
 * @module
 */
import { IBAN_LENGTHS, ibanMod97Valid, luhnValid } from "./_checksums.ts";
import type { MaskOptions, Span, SpanKind } from "./types.ts";

// §2 classes, one bit each, in a 128-entry table.
const DIGIT = 1, UPPER = 2, LOWER = 4, UNDERSCORE = 8, HEXL = 16, PSEP = 32, LOCALX = 64;
const B64X = 128, MIMEX = 256, TOKENX = 512, LABELX = 1024;
const TABLE = new Uint16Array(128);
function mark(chars: string, bit: number): void {
  for (const ch of chars) TABLE[ch.charCodeAt(0)] |= bit;
}
for (let c = 48; c <= 57; c++) TABLE[c] |= DIGIT | HEXL;
for (let c = 65; c <= 90; c++) TABLE[c] |= UPPER | (c <= 70 ? HEXL : 0);
for (let c = 97; c <= 122; c++) TABLE[c] |= LOWER | (c <= 102 ? HEXL : 0);
mark("_", UNDERSCORE);
mark(" .-", PSEP);
mark("_.%+-", LOCALX);
mark("+/_-", B64X);
mark("!#$%&'*^_.+/=;-", MIMEX);
mark("._~+/=-", TOKENX);
mark("-", LABELX);

const ALNUM = DIGIT | UPPER | LOWER;
const WORD = ALNUM | UNDERSCORE;
const LOCAL = ALNUM | LOCALX;
const LABEL = ALNUM | LABELX;
const B64 = ALNUM | B64X;
const MIME = ALNUM | MIMEX;
const TOKEN = ALNUM | TOKENX;
const URLSAFE = ALNUM | UNDERSCORE | LABELX;

type Text = string;
function at(t: Text, i: number): number {
  return i >= 0 && i < t.length ? t.charCodeAt(i) : -1;
}
function is(c: number, cls: number): boolean {
  return c >= 0 && c < 128 && (TABLE[c] & cls) !== 0;
}
function isCh(c: number, chars: string): boolean {
  return c >= 0 && chars.includes(String.fromCharCode(c));
}
function run(t: Text, i: number, cls: number): number {
  while (is(at(t, i), cls)) i++;
  return i;
}
function digitAt(t: Text, i: number): boolean {
  return is(at(t, i), DIGIT);
}

// §5.1
function email(t: Text, s: number): number {
  if (is(at(t, s - 1), LOCAL) || !is(at(t, s), LOCAL)) return -1;
  const localEnd = run(t, s, LOCAL);
  if (localEnd - s > 64 || at(t, localEnd) !== 64) return -1;
  let i = localEnd + 1;
  let j = run(t, i, LABEL);
  if (j === i) return -1;
  const labels = [t.slice(i, j)];
  while (at(t, j) === 46 && is(at(t, j + 1), LABEL)) {
    i = j + 1;
    j = run(t, i, LABEL);
    labels.push(t.slice(i, j));
  }
  const last = labels[labels.length - 1];
  if (labels.length < 2 || last.length < 2) return -1;
  for (let k = 0; k < last.length; k++) if (!is(last.charCodeAt(k), UPPER | LOWER)) return -1;
  const first = labels[0];
  if (labels.length === 2 && first.length >= 2 && first.endsWith("x")) {
    let allDigits = true;
    for (let k = 0; k < first.length - 1; k++) allDigits &&= is(first.charCodeAt(k), DIGIT);
    if (allDigits) return -1;
  }
  return j;
}

// §5.2
interface Group {
  digits: string;
  paren: boolean;
  sep: string;
}
function parenAt(t: Text, i: number): number {
  if (at(t, i) !== 40) return -1;
  const j = run(t, i + 1, DIGIT);
  const n = j - i - 1;
  return n >= 1 && n <= 5 && at(t, j) === 41 ? j + 1 : -1;
}
function phone(t: Text, s: number): number {
  if (is(at(t, s - 1), WORD) || isCh(at(t, s - 1), "+-./#$")) return -1;
  const c0 = at(t, s);
  const groups: Group[] = [];
  let i = s;
  const plus = c0 === 43;
  const takeParen = (sep: string, p: number): void => {
    const end = parenAt(t, p);
    groups.push({ digits: t.slice(p + 1, end - 1), paren: true, sep });
    i = end;
    if (digitAt(t, i)) {
      const j = run(t, i, DIGIT);
      groups.push({ digits: t.slice(i, j), paren: false, sep: "" });
      i = j;
    }
  };
  const optionalParen = (): void => {
    if (parenAt(t, i) >= 0) takeParen("", i);
    else if (is(at(t, i), PSEP) && parenAt(t, i + 1) >= 0) takeParen(t[i], i + 1);
  };
  if (plus) {
    if (!digitAt(t, s + 1)) return -1;
    i = run(t, s + 1, DIGIT);
    groups.push({ digits: t.slice(s + 1, i), paren: false, sep: "" });
    optionalParen();
  } else if (c0 === 40) {
    if (parenAt(t, s) < 0) return -1;
    takeParen("", s);
  } else if (is(c0, DIGIT)) {
    i = run(t, s, DIGIT);
    groups.push({ digits: t.slice(s, i), paren: false, sep: "" });
    optionalParen();
  } else {
    return -1;
  }
  for (let n = 0; n < 6 && is(at(t, i), PSEP) && digitAt(t, i + 1); n++) {
    const j = run(t, i + 1, DIGIT);
    groups.push({ digits: t.slice(i + 1, j), paren: false, sep: t[i] });
    i = j;
  }
  const end = i;
  if (is(at(t, end), WORD)) return -1;
  if (is(at(t, end), PSEP) && digitAt(t, end + 1)) return -1;
  const all = groups.map((g) => g.digits).join("");
  const d = all.length;
  const consistent = (exempt: number): boolean => {
    const seen = new Set<string>();
    for (let k = 1; k < groups.length; k++) {
      if (k === exempt || groups[k].paren || groups[k - 1].paren) continue;
      seen.add(groups[k].sep);
    }
    return seen.size <= 1;
  };
  if (plus) {
    return all[0] !== "0" && d >= 8 && d <= 15 && consistent(1) ? end : -1;
  }
  if (groups.length < 2) return -1;
  if (all.startsWith("00")) {
    return all[2] !== "0" && d - 2 >= 8 && d - 2 <= 15 && consistent(1) ? end : -1;
  }
  if (all[0] === "0") {
    if (d < 10 || d > 13 || !consistent(-1)) return -1;
    return groups.every((g, k) => g.digits.length >= 2 && (k === 0 || !g.paren)) ? end : -1;
  }
  let rest = groups;
  let exempt = -1;
  if (groups.length === 4 && !groups[0].paren && groups[0].digits === "1") {
    rest = groups.slice(1);
    exempt = 1;
  }
  if (rest.length !== 3) return -1;
  const lens = rest.map((g) => g.digits.length).join(",");
  if (lens !== "3,3,4" || rest[1].paren || rest[2].paren) return -1;
  if (rest[0].digits[0] < "2" || rest[1].digits[0] < "2") return -1;
  return consistent(exempt) ? end : -1;
}

// §5.3
function card(t: Text, s: number): number {
  if (is(at(t, s - 1), WORD) || isCh(at(t, s - 1), ".+/-") || !digitAt(t, s)) return -1;
  const ends = [run(t, s, DIGIT)];
  const starts = [s];
  const sepCh = at(t, ends[0]);
  if ((sepCh === 32 || sepCh === 45) && digitAt(t, ends[0] + 1)) {
    while (ends.length < 5 && at(t, ends[ends.length - 1]) === sepCh) {
      const from = ends[ends.length - 1] + 1;
      if (!digitAt(t, from)) break;
      starts.push(from);
      ends.push(run(t, from, DIGIT));
    }
  }
  const first = at(t, s);
  if (first < 50 || first > 54) return -1;
  for (let k = ends.length; k >= 1; k--) {
    if (k === 2) continue;
    let digits = "";
    let ok = true;
    for (let g = 0; g < k; g++) {
      const len = ends[g] - starts[g];
      if (k >= 3 && (len < 3 || len > 6)) ok = false;
      digits += t.slice(starts[g], ends[g]);
    }
    if (!ok || digits.length < 13 || digits.length > 19 || !luhnValid(digits)) continue;
    const e = ends[k - 1];
    if (is(at(t, e), WORD) || (at(t, e) === 46 && digitAt(t, e + 1))) continue;
    return e;
  }
  return -1;
}

// §5.4
function iban(t: Text, s: number): number {
  if (is(at(t, s - 1), WORD)) return -1;
  if (!is(at(t, s), UPPER) || !is(at(t, s + 1), UPPER)) return -1;
  const n = IBAN_LENGTHS[t.slice(s, s + 2)];
  if (n === undefined || !digitAt(t, s + 2) || !digitAt(t, s + 3)) return -1;
  const b = n - 4;
  let i = s + 4;
  let compact = t.slice(s, s + 4);
  const take = (count: number): boolean => {
    for (let k = 0; k < count; k++, i++) {
      if (!is(at(t, i), UPPER | DIGIT)) return false;
      compact += t[i];
    }
    return true;
  };
  if (at(t, i) === 32) {
    const sizes = Array(Math.floor(b / 4)).fill(4);
    if (b % 4 > 0) sizes.push(b % 4);
    for (const size of sizes) {
      if (at(t, i) !== 32) return -1;
      i++;
      if (!take(size)) return -1;
    }
  } else if (!take(b)) {
    return -1;
  }
  if (is(at(t, i), WORD)) return -1;
  return ibanMod97Valid(compact) ? i : -1;
}

// §5.5
function ssn(t: Text, s: number): number {
  if (is(at(t, s - 1), WORD) || isCh(at(t, s - 1), "+-./#$")) return -1;
  const sep = at(t, s + 3);
  if (sep !== 45 && sep !== 32 || at(t, s + 6) !== sep) return -1;
  for (const k of [0, 1, 2, 4, 5, 7, 8, 9, 10]) if (!digitAt(t, s + k)) return -1;
  const e = s + 11;
  if (is(at(t, e), WORD) || ((at(t, e) === 45 || at(t, e) === 46) && digitAt(t, e + 1))) return -1;
  const area = t.slice(s, s + 3);
  if (area === "000" || area === "666" || area[0] === "9") return -1;
  if (t.slice(s + 4, s + 6) === "00" || t.slice(s + 7, s + 11) === "0000") return -1;
  return e;
}

// §5.6
function quadValid(parts: string[]): boolean {
  return parts.length === 4 &&
    parts.every((p) =>
      p.length >= 1 && p.length <= 3 && [...p].every((ch) => ch >= "0" && ch <= "9") &&
      !(p.length > 1 && p[0] === "0") && Number(p) <= 255
    );
}
function ipv4(t: Text, s: number): number {
  if (is(at(t, s - 1), WORD) || at(t, s - 1) === 46 || !digitAt(t, s)) return -1;
  let i = run(t, s, DIGIT);
  for (let n = 0; n < 3 && at(t, i) === 46 && digitAt(t, i + 1); n++) i = run(t, i + 1, DIGIT);
  if (is(at(t, i), WORD) || (at(t, i) === 46 && digitAt(t, i + 1))) return -1;
  const parts = t.slice(s, i).split(".");
  if (!quadValid(parts) || parts.every((p) => p.length === 1)) return -1;
  if (parts[1] === "0" && parts[2] === "0" && parts[3] === "0") return -1;
  return i;
}

// §5.7
function groupsOf(part: string): number {
  if (part === "") return 0;
  let n = 0;
  for (const g of part.split(":")) {
    if (g.length < 1 || g.length > 4) return -1;
    for (let k = 0; k < g.length; k++) if (!is(g.charCodeAt(k), HEXL)) return -1;
    n++;
  }
  return n;
}
function ipv6(t: Text, s: number): number {
  const prev = at(t, s - 1);
  if (is(prev, WORD) || prev === 46 || prev === 58) return -1;
  if (!is(at(t, s), HEXL) && at(t, s) !== 58) return -1;
  let i = s;
  let colon = false;
  for (; is(at(t, i), HEXL) || at(t, i) === 58; i++) {
    if (at(t, i) === 58) colon = true;
  }
  if (!colon) return -1;
  for (let n = 0; n < 3 && at(t, i) === 46 && digitAt(t, i + 1); n++) i = run(t, i + 1, DIGIT);
  if (is(at(t, i), WORD) || (at(t, i) === 46 && digitAt(t, i + 1))) return -1;
  const c = t.slice(s, i);
  if (![...c].some((ch) => ch >= "0" && ch <= "9")) return -1;
  let h = c;
  let quad = 0;
  if (c.includes(".")) {
    const last = c.lastIndexOf(":");
    if (!quadValid(c.slice(last + 1).split("."))) return -1;
    h = c.slice(0, last + 1);
    if (!h.endsWith("::")) h = h.slice(0, -1);
    quad = 2;
  }
  if (h.includes(":::")) return -1;
  const pieces = h.split("::");
  if (pieces.length > 2) return -1;
  if (pieces.length === 1) {
    const n = groupsOf(h);
    return n > 0 && n + quad === 8 ? i : -1;
  }
  const l = groupsOf(pieces[0]);
  const r = groupsOf(pieces[1]);
  if (l < 0 || r < 0) return -1;
  const total = l + r + quad;
  return total >= 2 && total <= 7 ? i : -1;
}

// §5.8
function pemLabelEnd(t: Text, i: number): number {
  let k = i;
  while (is(at(t, k), UPPER | DIGIT) || at(t, k) === 32) k++;
  const label = t.slice(i, k);
  const ok = label.endsWith("PRIVATE KEY") || label.endsWith("PRIVATE KEY BLOCK");
  return ok && t.startsWith("-----", k) ? k + 5 : -1;
}
function secret(t: Text, s: number): number {
  if (is(at(t, s - 1), WORD) || at(t, s - 1) === 45) return -1;
  const body = (from: number, cls: number): [number, string] => {
    const e = run(t, from, cls);
    return [e, t.slice(from, e)];
  };
  const hasDigit = (x: string) => [...x].some((ch) => ch >= "0" && ch <= "9");
  if (t.startsWith("sk-", s)) {
    const [e, b] = body(s + 3, URLSAFE);
    return b.length >= 20 && hasDigit(b) ? e : -1;
  }
  if (t.startsWith("AKIA", s) || t.startsWith("ASIA", s)) {
    const [e, b] = body(s + 4, UPPER | DIGIT);
    return b.length === 16 && !is(at(t, e), WORD) ? e : -1;
  }
  if (t.startsWith("github_pat_", s)) {
    const [e, b] = body(s + 11, WORD);
    return b.length >= 22 ? e : -1;
  }
  if (t.startsWith("gh", s) && isCh(at(t, s + 2), "pousr") && at(t, s + 3) === 95) {
    const [e, b] = body(s + 4, ALNUM);
    return b.length >= 30 && at(t, e) !== 95 ? e : -1;
  }
  if (t.startsWith("xox", s) && isCh(at(t, s + 3), "bpars") && at(t, s + 4) === 45) {
    const [e, b] = body(s + 5, ALNUM | LABELX);
    return b.length >= 20 && hasDigit(b) && at(t, e) !== 95 ? e : -1;
  }
  if (t.startsWith("AIza", s)) {
    const [e, b] = body(s + 4, URLSAFE);
    return b.length === 35 ? e : -1;
  }
  if (t.startsWith("glpat-", s)) {
    const [e, b] = body(s + 6, URLSAFE);
    return b.length >= 20 ? e : -1;
  }
  if (t.startsWith("eyJ", s)) {
    const [e1, b1] = body(s + 3, URLSAFE);
    if (b1.length === 0 || at(t, e1) !== 46 || !t.startsWith("eyJ", e1 + 1)) return -1;
    const [e2, b2] = body(e1 + 4, URLSAFE);
    if (b2.length === 0 || at(t, e2) !== 46) return -1;
    return run(t, e2 + 1, URLSAFE);
  }
  if (t.startsWith("-----BEGIN ", s)) {
    const from = pemLabelEnd(t, s + 11);
    if (from < 0) return -1;
    for (let q = t.indexOf("-----END ", from); q >= 0; q = t.indexOf("-----END ", q + 1)) {
      const e = pemLabelEnd(t, q + 9);
      if (e >= 0) return e;
    }
    return t.length;
  }
  if (t.slice(s, s + 6).toLowerCase() === "bearer" && at(t, s + 6) === 32) {
    let i = s + 6;
    while (at(t, i) === 32) i++;
    let e = run(t, i, TOKEN);
    while (e > i && at(t, e - 1) === 46) e--;
    const token = t.slice(i, e);
    if (token.length < 16) return -1;
    const tokenLike = hasDigit(token) ||
      ([...token].some((ch) => ch >= "A" && ch <= "Z") &&
        [...token].some((ch) => ch >= "a" && ch <= "z"));
    return tokenLike ? e : -1;
  }
  return -1;
}

// §5.9
function dataUrl(t: Text, s: number): number {
  if (is(at(t, s - 1), WORD) || !t.startsWith("data:", s)) return -1;
  for (let m = 0; m <= 255; m++) {
    const p = s + 5 + m;
    if (t.startsWith(";base64,", p)) {
      let e = run(t, p + 8, B64);
      if (e === p + 8) return -1;
      for (let k = 0; k < 2 && at(t, e) === 61; k++) e++;
      return e;
    }
    if (!is(at(t, p), MIME)) return -1;
  }
  return -1;
}

// §5.10
function base64(t: Text, s: number, min: number): number {
  if (is(at(t, s - 1), B64) || at(t, s - 1) === 61) return -1;
  let e = run(t, s, B64);
  if (e - s < min) return -1;
  for (let k = 0; k < 2 && at(t, e) === 61; k++) e++;
  return is(at(t, e), B64) || at(t, e) === 61 ? -1 : e;
}

const ORDER: readonly SpanKind[] = [
  "SECRET",
  "CREDIT_CARD",
  "IBAN",
  "US_SSN",
  "EMAIL",
  "IPV6",
  "IPV4",
  "PHONE",
  "DATA_URL",
  "BASE64",
];

/** §3, literally: at each position, every enabled detector's candidate; longest, then order. */
export function scanSpans(t: Text, options: MaskOptions): Span[] {
  const detectors: [SpanKind, (s: number) => number][] = [];
  for (const kind of ORDER) {
    const f: Record<SpanKind, (s: number) => number> = {
      SECRET: (s) => secret(t, s),
      CREDIT_CARD: (s) => card(t, s),
      IBAN: (s) => iban(t, s),
      US_SSN: (s) => ssn(t, s),
      EMAIL: (s) => email(t, s),
      IPV6: (s) => ipv6(t, s),
      IPV4: (s) => ipv4(t, s),
      PHONE: (s) => phone(t, s),
      DATA_URL: (s) => dataUrl(t, s),
      BASE64: (s) => base64(t, s, options.base64MinLength),
    };
    const on = kind === "DATA_URL" || kind === "BASE64"
      ? options.stripBase64
      : options.detectors.includes(kind);
    if (on) detectors.push([kind, f[kind]]);
  }
  const spans: Span[] = [];
  let s = 0;
  while (s < t.length) {
    let bestEnd = -1;
    let bestKind: SpanKind = "BASE64";
    for (const [kind, f] of detectors) {
      const e = f(s);
      if (e > bestEnd) {
        bestEnd = e;
        bestKind = kind;
      }
    }
    if (bestEnd > s) {
      spans.push({ start: s, end: bestEnd, kind: bestKind });
      s = bestEnd;
    } else {
      s++;
    }
  }
  return spans;
}
