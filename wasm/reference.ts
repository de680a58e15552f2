/**
 * The reference masker: the plain TypeScript a developer would write without
 * WebAssembly. Parse the JSON, walk the string values, run one regular
 * expression per detector plus a small validation function, stringify.
 *
 * It defines the output byte for byte: the WebAssembly scanner must produce
 * exactly what {@linkcode maskJsonReference} produces for any input that
 * `JSON.stringify` could have written. `DETECTORS.md` specifies every rule
 * here in scanner terms; keep the two in step.
 *
 * @example Mask a log event
 * ```ts
 * import { DEFAULT_MASK_OPTIONS, maskJsonReference } from "@sluice/redact/reference";
 * import assert from "node:assert/strict";
 *
 * const event = JSON.stringify({ user: "ana@example.com", tokens: 12 });
 * assert.equal(
 *   maskJsonReference(event, DEFAULT_MASK_OPTIONS),
 *   '{"user":"[EMAIL]","tokens":12}',
 * );
 * ```
 * @module
 */
import { IBAN_LENGTHS, ibanMod97Valid, luhnValid } from "./_checksums.ts";
import { decodedBase64Bytes, formatByteSize } from "./_size.ts";
import {
  type Detection,
  DETECTOR_NAMES,
  type DetectorName,
  type MaskOptions,
  type Span,
  type SpanKind,
} from "./types.ts";

export {
  DEFAULT_MASK_OPTIONS,
  type Detection,
  DETECTOR_NAMES,
  type DetectorName,
  type MaskOptions,
  type PseudonymFn,
  type Span,
  type SpanKind,
} from "./types.ts";
export { pseudonymLookup, pseudonymTags } from "./pseudonym.ts";

// ---------------------------------------------------------------------------
// ASCII character classes. Anything outside ASCII (and the end of the string)
// belongs to no class, so it is always a boundary and never part of a match.

function code(text: string, i: number): number {
  return i >= 0 && i < text.length ? text.charCodeAt(i) : -1;
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isUpper(c: number): boolean {
  return c >= 65 && c <= 90;
}
function isLower(c: number): boolean {
  return c >= 97 && c <= 122;
}
/** `[A-Za-z0-9_]` */
function isWord(c: number): boolean {
  return isDigit(c) || isUpper(c) || isLower(c) || c === 95;
}
function hasDigit(s: string): boolean {
  return /[0-9]/.test(s);
}

// ---------------------------------------------------------------------------
// Detectors: a global regex finds a candidate at the leftmost position it can;
// `accept` validates it and returns the span end, or -1 to reject this start.
// A rejected start is never retried shorter: the search goes on at start + 1.

interface Detector {
  readonly kind: SpanKind;
  /** Lower wins when two candidates start at the same place with the same length. */
  readonly priority: number;
  readonly regex: RegExp;
  accept(text: string, m: RegExpExecArray): number;
}

// --- SECRET ----------------------------------------------------------------

const SECRET_RE = new RegExp(
  "(?<![A-Za-z0-9_-])(?:" + [
    "sk-[A-Za-z0-9_-]+",
    "(?:AKIA|ASIA)[A-Z0-9]+",
    "gh[pousr]_[A-Za-z0-9]+",
    "github_pat_[A-Za-z0-9_]+",
    "xox[bpars]-[A-Za-z0-9-]+",
    "AIza[A-Za-z0-9_-]+",
    "glpat-[A-Za-z0-9_-]+",
    "eyJ[A-Za-z0-9_-]+\\.eyJ[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]*",
    "-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\\s\\S]*?" +
    "(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$)",
    "[Bb][Ee][Aa][Rr][Ee][Rr] +[A-Za-z0-9._~+/=-]*[A-Za-z0-9_~+/=-]",
  ].join("|") + ")",
  "g",
);

function acceptSecret(text: string, m: RegExpExecArray): number {
  const v = m[0];
  const end = m.index + v.length;
  const next = code(text, end);
  const c0 = v.charCodeAt(0);
  if (v.startsWith("sk-")) {
    const body = v.slice(3);
    return body.length >= 20 && hasDigit(body) ? end : -1;
  }
  if (v.startsWith("AKIA") || v.startsWith("ASIA")) {
    return v.length === 20 && !isWord(next) ? end : -1;
  }
  if (v.startsWith("github_pat_")) return v.length - 11 >= 22 ? end : -1;
  if (v.startsWith("gh")) return v.length - 4 >= 30 && next !== 95 ? end : -1;
  if (v.startsWith("xox")) {
    const body = v.slice(5);
    return body.length >= 20 && hasDigit(body) && next !== 95 ? end : -1;
  }
  if (v.startsWith("AIza")) return v.length === 39 ? end : -1;
  if (v.startsWith("glpat-")) return v.length - 6 >= 20 ? end : -1;
  if (v.startsWith("eyJ") || v.startsWith("-----BEGIN ")) return end;
  if (c0 === 66 || c0 === 98) { // Bearer
    const token = v.slice(6).trimStart();
    if (token.length < 16) return -1;
    const tokenLike = hasDigit(token) || (/[A-Z]/.test(token) && /[a-z]/.test(token));
    return tokenLike ? end : -1;
  }
  return -1;
}

// --- EMAIL -----------------------------------------------------------------

const EMAIL_RE = /(?<![A-Za-z0-9_.%+-])[A-Za-z0-9_.%+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*/g;

function acceptEmail(_text: string, m: RegExpExecArray): number {
  const labels = m[0].slice(m[0].indexOf("@") + 1).split(".");
  if (labels.length < 2) return -1;
  if (!/^[A-Za-z]{2,}$/.test(labels[labels.length - 1])) return -1;
  // icon@2x.png: a retina asset name, not an address.
  if (labels.length === 2 && /^[0-9]+x$/.test(labels[0])) return -1;
  return m.index + m[0].length;
}

// --- PHONE -----------------------------------------------------------------

const PAREN = "\\([0-9]{1,5}\\)[0-9]*";
const PHONE_RE = new RegExp(
  "(?<![A-Za-z0-9_+\\-./#$])" +
    `(?:\\+[0-9]+(?:[ .-]?${PAREN})?|${PAREN}|[0-9]+(?:[ .-]?${PAREN})?)` +
    "(?:[ .-][0-9]+){0,6}",
  "g",
);

interface PhoneGroup {
  digits: string;
  paren: boolean;
}

/** Splits a phone candidate into digit groups and the separator before each ("" when glued). */
function phoneGroups(v: string): { groups: PhoneGroup[]; seps: string[] } {
  const groups: PhoneGroup[] = [];
  const seps: string[] = [];
  let i = v[0] === "+" ? 1 : 0;
  let sep = "";
  while (i < v.length) {
    const ch = v[i];
    if (ch === " " || ch === "." || ch === "-") {
      sep = ch;
      i++;
    } else if (ch === "(") {
      const close = v.indexOf(")", i);
      groups.push({ digits: v.slice(i + 1, close), paren: true });
      seps.push(sep);
      sep = "";
      i = close + 1;
    } else {
      let j = i;
      while (j < v.length && isDigit(v.charCodeAt(j))) j++;
      groups.push({ digits: v.slice(i, j), paren: false });
      seps.push(sep);
      sep = "";
      i = j;
    }
  }
  return { groups, seps };
}

/**
 * All separators before groups 1.. must be the same character, except those
 * next to a parenthesised group and the one at index `exemptIndex`.
 */
function consistentSeparators(
  groups: PhoneGroup[],
  seps: string[],
  exemptIndex: number,
): boolean {
  let seen = "";
  for (let k = 1; k < groups.length; k++) {
    if (k === exemptIndex || groups[k].paren || groups[k - 1].paren) continue;
    if (seen === "") seen = seps[k];
    else if (seps[k] !== seen) return false;
  }
  return true;
}

/** `[ .-]` */
function isPhoneSeparator(c: number): boolean {
  return c === 32 || c === 46 || c === 45;
}

function acceptPhone(text: string, m: RegExpExecArray): number {
  const v = m[0];
  const end = m.index + v.length;
  const next = code(text, end);
  if (isWord(next)) return -1;
  // More than six separated groups after the head: too long to be a number.
  if (isPhoneSeparator(next) && isDigit(code(text, end + 1))) return -1;
  const { groups, seps } = phoneGroups(v);
  const digits = groups.map((g) => g.digits).join("");
  const n = digits.length;
  if (v[0] === "+") {
    if (digits[0] === "0" || n < 8 || n > 15) return -1;
    return consistentSeparators(groups, seps, 1) ? end : -1;
  }
  if (groups.length < 2) return -1;
  if (digits.startsWith("00")) {
    if (digits[2] === "0" || n - 2 < 8 || n - 2 > 15) return -1;
    return consistentSeparators(groups, seps, 1) ? end : -1;
  }
  if (digits[0] === "0") {
    if (n < 10 || n > 13) return -1;
    for (let k = 0; k < groups.length; k++) {
      if (groups[k].digits.length < 2 || (k > 0 && groups[k].paren)) return -1;
    }
    return consistentSeparators(groups, seps, -1) ? end : -1;
  }
  // North American Numbering Plan: [1] area exchange line, 3-3-4.
  let first = 0;
  if (groups.length === 4 && !groups[0].paren && groups[0].digits === "1") first = 1;
  const rest = groups.slice(first);
  if (rest.length !== 3) return -1;
  const [area, exchange, line] = rest;
  if (area.digits.length !== 3 || exchange.digits.length !== 3 || line.digits.length !== 4) {
    return -1;
  }
  if (exchange.paren || line.paren) return -1;
  if (area.digits[0] < "2" || exchange.digits[0] < "2") return -1;
  return consistentSeparators(groups, seps, first === 1 ? 1 : -1) ? end : -1;
}

// --- CREDIT_CARD -----------------------------------------------------------

const CARD_RE = /(?<![A-Za-z0-9_.+\/-])[0-9]+(?:([ -])[0-9]+(?:\1[0-9]+){0,3})?/g;

function acceptCard(text: string, m: RegExpExecArray): number {
  const c0 = m[0].charCodeAt(0);
  if (c0 < 50 || c0 > 54) return -1; // first digit 2-6
  const groups = m[0].split(/[ -]/);
  // The longest prefix of whole groups that forms a valid number wins, so a
  // trailing expiry or CVV after a space does not hide the card.
  for (let k = groups.length; k >= 1; k--) {
    if (k === 2) continue;
    const prefix = groups.slice(0, k);
    if (k >= 3 && prefix.some((g) => g.length < 3 || g.length > 6)) continue;
    const digits = prefix.join("");
    if (digits.length < 13 || digits.length > 19 || !luhnValid(digits)) continue;
    const end = m.index + digits.length + (k - 1);
    const next = code(text, end);
    if (isWord(next) || (next === 46 && isDigit(code(text, end + 1)))) continue;
    return end;
  }
  return -1;
}

// --- IBAN ------------------------------------------------------------------

function ibanAlternative(country: string, length: number): string {
  const bban = length - 4;
  const full = Math.floor(bban / 4);
  const last = bban % 4;
  const grouped = `(?: [A-Z0-9]{4}){${full}}` + (last > 0 ? ` [A-Z0-9]{${last}}` : "");
  return `${country}[0-9]{2}(?:[A-Z0-9]{${bban}}|${grouped})`;
}

const IBAN_RE = new RegExp(
  "(?<![A-Za-z0-9_])(?=[A-Z]{2}[0-9]{2})(?:" +
    Object.entries(IBAN_LENGTHS).map(([c, n]) => ibanAlternative(c, n)).join("|") + ")",
  "g",
);

function acceptIban(text: string, m: RegExpExecArray): number {
  const end = m.index + m[0].length;
  if (isWord(code(text, end))) return -1;
  return ibanMod97Valid(m[0].replaceAll(" ", "")) ? end : -1;
}

// --- US_SSN ----------------------------------------------------------------

const SSN_RE = /(?<![A-Za-z0-9_+\-.\/#$])([0-9]{3})([ -])([0-9]{2})\2([0-9]{4})/g;

function acceptSsn(text: string, m: RegExpExecArray): number {
  const end = m.index + m[0].length;
  const next = code(text, end);
  if (isWord(next)) return -1;
  if ((next === 45 || next === 46) && isDigit(code(text, end + 1))) return -1;
  const [, area, , group, serial] = m;
  if (area === "000" || area === "666" || area[0] === "9") return -1;
  if (group === "00" || serial === "0000") return -1;
  return end;
}

// --- IPV4 ------------------------------------------------------------------

const IPV4_RE = /(?<![A-Za-z0-9_.])[0-9]+(?:\.[0-9]+){0,3}/g;

function dottedQuadValid(v: string): boolean {
  const parts = v.split(".");
  if (parts.length !== 4) return false;
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p) || (p.length > 1 && p[0] === "0") || Number(p) > 255) return false;
  }
  return true;
}

/** True when `.` and a digit follow: the dotted run goes on past what the regex took. */
function dottedRunContinues(text: string, end: number): boolean {
  return code(text, end) === 46 && isDigit(code(text, end + 1));
}

function acceptIpv4(text: string, m: RegExpExecArray): number {
  const v = m[0];
  const end = m.index + v.length;
  if (isWord(code(text, end)) || dottedRunContinues(text, end)) return -1;
  if (!dottedQuadValid(v)) return -1;
  // 1.2.3.4, 8.8.8.8, 0.0.0.0: versions or well-known service addresses.
  if (v.length === 7) return -1;
  // 120.0.0.0: Chrome's reduced user-agent version, or a /8 network.
  if (v.endsWith(".0.0.0")) return -1;
  return end;
}

// --- IPV6 ------------------------------------------------------------------

const IPV6_RE = /(?<![A-Za-z0-9_.:])(?=[0-9A-Fa-f]*:)[0-9A-Fa-f:]+(?:\.[0-9]+){0,3}/g;

function hexGroups(part: string): number {
  if (part === "") return 0;
  const groups = part.split(":");
  for (const g of groups) {
    if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return -1;
  }
  return groups.length;
}

function acceptIpv6(text: string, m: RegExpExecArray): number {
  let v = m[0];
  const end = m.index + v.length;
  if (isWord(code(text, end)) || dottedRunContinues(text, end) || !hasDigit(v)) return -1;
  let count = 0;
  if (v.includes(".")) {
    const colon = v.lastIndexOf(":");
    if (!dottedQuadValid(v.slice(colon + 1))) return -1;
    v = v.slice(0, colon + 1);
    if (!v.endsWith("::")) v = v.slice(0, -1);
    count = 2;
  }
  if (v.includes(":::")) return -1;
  const dbl = v.indexOf("::");
  if (dbl < 0) {
    const n = hexGroups(v);
    if (n < 0 || n === 0 || count + n !== 8) return -1;
    return end;
  }
  if (v.indexOf("::", dbl + 1) >= 0) return -1;
  const left = hexGroups(v.slice(0, dbl));
  const right = hexGroups(v.slice(dbl + 2));
  if (left < 0 || right < 0) return -1;
  count += left + right;
  return count >= 2 && count <= 7 ? end : -1;
}

// --- base64 ----------------------------------------------------------------

const DATA_URL_RE =
  /(?<![A-Za-z0-9_])data:[A-Za-z0-9!#$%&'*^_.+\/=;-]{0,255}?;base64,[A-Za-z0-9+\/_-]+={0,2}/g;

function acceptDataUrl(_text: string, m: RegExpExecArray): number {
  return m.index + m[0].length;
}

const base64Regexes = new Map<number, RegExp>();

function base64Regex(minLength: number): RegExp {
  let re = base64Regexes.get(minLength);
  if (re === undefined) {
    re = new RegExp(`(?<![A-Za-z0-9+/_=-])[A-Za-z0-9+/_-]{${minLength},}={0,2}`, "g");
    base64Regexes.set(minLength, re);
  }
  return re;
}

function acceptBase64(text: string, m: RegExpExecArray): number {
  const end = m.index + m[0].length;
  const next = code(text, end);
  const b64 = isWord(next) || next === 43 || next === 47 || next === 45 || next === 61;
  return b64 ? -1 : end;
}

// ---------------------------------------------------------------------------

/** Precedence for equal start and equal length; also the order `DETECTORS.md` lists. */
const PRIORITY: readonly SpanKind[] = [
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

const DETECTORS: Readonly<Record<DetectorName, Omit<Detector, "priority">>> = {
  SECRET: { kind: "SECRET", regex: SECRET_RE, accept: acceptSecret },
  CREDIT_CARD: { kind: "CREDIT_CARD", regex: CARD_RE, accept: acceptCard },
  IBAN: { kind: "IBAN", regex: IBAN_RE, accept: acceptIban },
  US_SSN: { kind: "US_SSN", regex: SSN_RE, accept: acceptSsn },
  EMAIL: { kind: "EMAIL", regex: EMAIL_RE, accept: acceptEmail },
  IPV6: { kind: "IPV6", regex: IPV6_RE, accept: acceptIpv6 },
  IPV4: { kind: "IPV4", regex: IPV4_RE, accept: acceptIpv4 },
  PHONE: { kind: "PHONE", regex: PHONE_RE, accept: acceptPhone },
};

function activeDetectors(options: MaskOptions): Detector[] {
  const out: Detector[] = [];
  for (const name of options.detectors) {
    if (!DETECTOR_NAMES.includes(name)) {
      throw new RangeError(
        `unknown detector "${name}"; use one of ${DETECTOR_NAMES.join(", ")}`,
      );
    }
  }
  for (const kind of PRIORITY) {
    const priority = PRIORITY.indexOf(kind);
    if (kind === "DATA_URL" || kind === "BASE64") {
      if (!options.stripBase64) continue;
      if (kind === "DATA_URL") {
        out.push({ kind, priority, regex: DATA_URL_RE, accept: acceptDataUrl });
      } else {
        const min = options.base64MinLength;
        if (!Number.isSafeInteger(min) || min < 1) {
          throw new RangeError(`base64MinLength must be a positive integer, got ${min}`);
        }
        out.push({ kind, priority, regex: base64Regex(min), accept: acceptBase64 });
      }
    } else if (options.detectors.includes(kind)) {
      out.push({ ...DETECTORS[kind], priority });
    }
  }
  return out;
}

/** The detector's first accepted candidate starting at or after `from`. */
function nextCandidate(detector: Detector, text: string, from: number): Span | null {
  const re = detector.regex;
  re.lastIndex = from;
  for (;;) {
    const m = re.exec(text);
    if (m === null) return null;
    const end = detector.accept(text, m);
    if (end >= 0) return { start: m.index, end, kind: detector.kind };
    re.lastIndex = m.index + 1;
  }
}

/**
 * Finds what to mask in one decoded string: sorted, non-overlapping spans in
 * UTF-16 code units. The leftmost candidate wins; at equal start the longer
 * one; at equal length the detector earlier in the precedence order. Scanning
 * resumes at the end of the chosen span.
 *
 * @example
 * ```ts
 * import { DEFAULT_MASK_OPTIONS, findSpans } from "@sluice/redact/reference";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(findSpans("mail ana@example.com", DEFAULT_MASK_OPTIONS), [
 *   { start: 5, end: 20, kind: "EMAIL" },
 * ]);
 * ```
 * @param text The decoded string value.
 * @param options Detectors and base64 settings; `pseudonym` is not used here.
 * @returns The spans, in order.
 */
export function findSpans(text: string, options: MaskOptions): Span[] {
  const detectors = activeDetectors(options);
  const next = detectors.map((d) => nextCandidate(d, text, 0));
  const spans: Span[] = [];
  let pos = 0;
  for (;;) {
    let best: Span | null = null;
    let bestPriority = Infinity;
    for (let i = 0; i < detectors.length; i++) {
      let c = next[i];
      if (c !== null && c.start < pos) c = next[i] = nextCandidate(detectors[i], text, pos);
      if (c === null) continue;
      const better = best === null || c.start < best.start ||
        (c.start === best.start && (c.end > best.end ||
          (c.end === best.end && detectors[i].priority < bestPriority)));
      if (better) {
        best = c;
        bestPriority = detectors[i].priority;
      }
    }
    if (best === null) return spans;
    spans.push(best);
    pos = best.end;
  }
}

function replacement(text: string, span: Span, options: MaskOptions): string {
  const value = text.slice(span.start, span.end);
  if (span.kind === "BASE64") {
    return `[base64 stripped ${formatByteSize(decodedBase64Bytes(value))}]`;
  }
  if (span.kind === "DATA_URL") {
    const comma = value.indexOf(";base64,") + 8;
    const size = formatByteSize(decodedBase64Bytes(value.slice(comma)));
    return `${value.slice(0, comma)}[stripped ${size}]`;
  }
  if (options.pseudonym === undefined) return `[${span.kind}]`;
  const tag = options.pseudonym(span.kind, value);
  if (!/^[0-9a-f]{8}$/.test(tag)) {
    throw new TypeError(`pseudonym tags are 8 lowercase hex digits, got "${tag}"`);
  }
  return `[${span.kind}:${tag}]`;
}

/**
 * Masks one decoded string: each span of {@linkcode findSpans} becomes
 * `[KIND]` (or `[KIND:tag]` with `options.pseudonym`), base64 data URLs keep
 * their prefix and become `data:<mime>;base64,[stripped 1.2 MB]`, bare runs
 * `[base64 stripped 12.3 KB]`.
 *
 * @example
 * ```ts
 * import { DEFAULT_MASK_OPTIONS, maskText } from "@sluice/redact/reference";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   maskText("call +44 20 7946 0958 or ana@example.com", DEFAULT_MASK_OPTIONS),
 *   "call [PHONE] or [EMAIL]",
 * );
 * ```
 * @param text The decoded string value.
 * @param options What to detect and how to replace it.
 * @returns The masked string.
 */
export function maskText(text: string, options: MaskOptions): string {
  const spans = findSpans(text, options);
  if (spans.length === 0) return text;
  let out = "";
  let last = 0;
  for (const span of spans) {
    out += text.slice(last, span.start) + replacement(text, span, options);
    last = span.end;
  }
  return out + text.slice(last);
}

/** Calls `visit` on every string value (never on object keys), replacing it by the result. */
function walkStrings(value: unknown, visit: (s: string) => string): unknown {
  if (typeof value === "string") return visit(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = walkStrings(value[i], visit);
  } else if (value !== null && typeof value === "object") {
    // In place: JSON.parse made "__proto__" an own data property, and
    // assigning to it stays an own-property write.
    const obj = value as Record<string, unknown>;
    for (const key of Object.keys(obj)) obj[key] = walkStrings(obj[key], visit);
  }
  return value;
}

/**
 * Masks every string value of a JSON document: keys, numbers, booleans, null
 * and structure never change, escapes are decoded before detection (an `@`
 * written `\u0040` still makes an email), and the output is
 * `JSON.stringify`'s encoding, so it is valid JSON and valid UTF-8.
 *
 * The result equals the WebAssembly masker's for every input that
 * `JSON.stringify` could have produced; other inputs come back in
 * `JSON.stringify`'s normal form (whitespace, number spelling, escapes).
 *
 * @example
 * ```ts
 * import { DEFAULT_MASK_OPTIONS, maskJsonReference } from "@sluice/redact/reference";
 * import assert from "node:assert/strict";
 *
 * const json = '{"ana@example.com":"ana\\u0040example.com","n":4111111111111111}';
 * assert.equal(
 *   maskJsonReference(json, DEFAULT_MASK_OPTIONS),
 *   '{"ana@example.com":"[EMAIL]","n":4111111111111111}',
 * );
 * ```
 * @param json A JSON document.
 * @param options What to detect and how to replace it.
 * @returns The masked document.
 * @throws {SyntaxError} When `json` is not valid JSON.
 */
export function maskJsonReference(json: string, options: MaskOptions): string {
  return JSON.stringify(walkStrings(JSON.parse(json), (s) => maskText(s, options)));
}

/**
 * Every distinct detection in the string values of a JSON document: the first
 * phase of keyed pseudonyms. Pass the result to
 * {@linkcode pseudonymLookup}, then mask with the callback it returns.
 *
 * @example Two-phase pseudonyms
 * ```ts
 * import {
 *   collectDetections,
 *   DEFAULT_MASK_OPTIONS,
 *   maskJsonReference,
 *   pseudonymLookup,
 * } from "@sluice/redact/reference";
 * import assert from "node:assert/strict";
 *
 * const json = '{"to":"ana@example.com","cc":"ana@example.com"}';
 * const items = collectDetections(json, DEFAULT_MASK_OPTIONS);
 * const pseudonym = await pseudonymLookup("s3cret", items);
 * const masked = maskJsonReference(json, { ...DEFAULT_MASK_OPTIONS, pseudonym });
 * const { to, cc } = JSON.parse(masked);
 * assert.match(to, /^\[EMAIL:[0-9a-f]{8}\]$/);
 * assert.equal(to, cc);
 * ```
 * @param json A JSON document.
 * @param options Detectors and base64 settings; base64 spans are not detections.
 * @returns Distinct `{ kind, value }` pairs, in document order.
 * @throws {SyntaxError} When `json` is not valid JSON.
 */
export function collectDetections(json: string, options: MaskOptions): Detection[] {
  const seen = new Set<string>();
  const out: Detection[] = [];
  walkStrings(JSON.parse(json), (s) => {
    for (const span of findSpans(s, options)) {
      if (span.kind === "DATA_URL" || span.kind === "BASE64") continue;
      const value = s.slice(span.start, span.end);
      const id = `${span.kind}:${value}`;
      if (!seen.has(id)) {
        seen.add(id);
        out.push({ kind: span.kind, value });
      }
    }
    return s;
  });
  return out;
}
