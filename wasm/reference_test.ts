/**
 * Unit and property tests of the reference masker: every detector's
 * positives and tricky negatives, precedence, base64 stripping, the JSON
 * walk (keys, escapes, structure) and keyed pseudonyms.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import fc from "fast-check";
import {
  collectDetections,
  DEFAULT_MASK_OPTIONS,
  DETECTOR_NAMES,
  type DetectorName,
  findSpans,
  maskJsonReference,
  type MaskOptions,
  maskText,
  pseudonymLookup,
  pseudonymTags,
} from "./reference.ts";
import { IBAN_LENGTHS, ibanMod97Valid, luhnValid } from "./_checksums.ts";
import { decodedBase64Bytes, formatByteSize } from "./_size.ts";
import { generateCorpus } from "./corpus.ts";

const ALL: MaskOptions = DEFAULT_MASK_OPTIONS;

function only(...detectors: DetectorName[]): MaskOptions {
  return { ...ALL, detectors, stripBase64: false };
}

/** Each case: input → expected output of maskText with every detector on. */
function check(cases: readonly (readonly [string, string])[], options: MaskOptions = ALL): void {
  for (const [input, expected] of cases) {
    assert.equal(maskText(input, options), expected, `input: ${JSON.stringify(input)}`);
  }
}

/** Inputs that must come back unchanged. */
function untouched(inputs: readonly string[], options: MaskOptions = ALL): void {
  check(inputs.map((s) => [s, s] as const), options);
}

Deno.test("EMAIL: addresses in prose, quotes, brackets and URLs", () => {
  check([
    ["mail ana@example.com.", "mail [EMAIL]."],
    ["<Ana.Lopez+news@mail.example.co.uk>", "<[EMAIL]>"],
    ["'bob_smith42@EXAMPLE.ORG'", "'[EMAIL]'"],
    ["mailto:x%y@a-b.io?subject=hi", "mailto:[EMAIL]?subject=hi"],
    ["git@github.com:org/repo.git", "[EMAIL]:org/repo.git"],
    ["https://user@example.com/path", "https://[EMAIL]/path"],
    ["a@b.co and c@d.museum", "[EMAIL] and [EMAIL]"],
  ]);
});

Deno.test("EMAIL: near misses stay", () => {
  untouched([
    "npm i lodash@4.17.21 react@18.2.0",
    '<img src="icon@2x.png">',
    "root@localhost",
    "@Component({}) and @types/node@20",
    "a@b.c0m",
    "x@y.T", // numpy matmul
    "josé@example.com".slice(3), // "é@example.com": no local part
  ]);
  // A local part longer than 64 characters is not an address.
  untouched([`${"a".repeat(65)}@example.com`], only("EMAIL"));
  check([[`${"a".repeat(64)}@example.com`, "[EMAIL]"]], only("EMAIL"));
});

Deno.test("PHONE: international and national formats", () => {
  check([
    ["call +44 20 7946 0958 now", "call [PHONE] now"],
    ["+44 (0)20 7946 0958", "[PHONE]"],
    ["+1 (415) 555-2671", "[PHONE]"],
    ["+1-415-555-2671", "[PHONE]"],
    ["+14155552671", "[PHONE]"],
    ["+49-7258-81204046", "[PHONE]"],
    ["+33 6 12 34 56 78", "[PHONE]"],
    ["tel:+33612345678", "tel:[PHONE]"],
    ["0049 30 1234567", "[PHONE]"],
    ["(415) 555-2671", "[PHONE]"],
    ["(415)555-2671 x123", "[PHONE] x123"],
    ["415.555.2671", "[PHONE]"],
    ["415 555 2671", "[PHONE]"],
    ["1-415-555-2671", "[PHONE]"],
    ["020 7946 0958", "[PHONE]"],
    ["07700 900123", "[PHONE]"],
    ["(030) 1234567", "[PHONE]"],
    ["(04422) 4852242", "[PHONE]"],
    ["0171-1234567", "[PHONE]"],
    ["01 23 45 67 89", "[PHONE]"],
    ["06.12.34.56.78", "[PHONE]"],
  ]);
});

Deno.test("PHONE: years, ids, dates and other numbers stay", () => {
  untouched([
    "in 2024 we shipped 1234567890 units",
    "2024-01-15 10:30:00",
    "15.01.2024 and 01.02.2023 12.30",
    "ts 1700000000",
    "0172588120", // bare national digits: out of scope, indistinguishable from ids
    "555-123-4567", // NANP exchange cannot start with 1
    "123-456-7890", // NANP area code cannot start with 1
    "Order #415-555-2671",
    "ORD-415-555-2671",
    "/users/415-555-2671",
    "v415.555.2671",
    "0171/1234567", // slash style: not supported
    "+1 2 3",
    "+0 20 7946 0958", // no country code starts with 0
    "1, 2, 3, 5, 8, 13, 21",
    "+33 6 12 34 56 78 90 12", // more than six separated groups after the head
    "ISBN 978-3-16-148410-0",
  ]);
});

Deno.test("CREDIT_CARD: 13-19 digits, Luhn, spaces or dashes", () => {
  check([
    ["card 4111 1111 1111 1111", "card [CREDIT_CARD]"],
    ["4111-1111-1111-1111.", "[CREDIT_CARD]."],
    ["4111111111111111", "[CREDIT_CARD]"],
    ["amex 3782 822463 10005", "amex [CREDIT_CARD]"],
    ["diners 3056 930902 5904", "diners [CREDIT_CARD]"],
    ["visa13 4222222222222", "visa13 [CREDIT_CARD]"],
    ["mc 2221 0000 0000 0009", "mc [CREDIT_CARD]"],
    ["19 digits 6011 0000 0000 0000 001", "19 digits [CREDIT_CARD]"],
    // Expiry or CVV right after the number: the longest valid prefix of groups wins.
    ["4111111111111111 12/25", "[CREDIT_CARD] 12/25"],
    ["4111 1111 1111 1111 123", "[CREDIT_CARD] 123"],
    ["#4111111111111111", "#[CREDIT_CARD]"],
  ]);
});

Deno.test("CREDIT_CARD: Luhn failures, timestamps, mixed separators stay", () => {
  untouched([
    "4111 1111 1111 1112",
    "1700000000000", // 13-digit ms timestamp: first digit 1
    "7111111111111111", // first digit outside 2-6
    "4111 1111-1111 1111",
    "4111111111111111.5",
    "4111111111111111abc",
    "x4111111111111111",
    "0.4111111111111111",
    "41111111 11111111", // two groups: not a card layout
    "41 11 11 11 11 11 11 11", // groups of 2
  ]);
});

Deno.test("IBAN: country length table and mod-97", () => {
  check([
    ["DE89 3704 0044 0532 0130 00", "[IBAN]"],
    ["IBAN: DE89370400440532013000.", "IBAN: [IBAN]."],
    ["GB29 NWBK 6016 1331 9268 19 (GBP)", "[IBAN] (GBP)"],
    ["BE68 5390 0754 7034 EUR", "[IBAN] EUR"],
    ["NO9386011117947", "[IBAN]"],
    ["FR1420041010050500013M02606", "[IBAN]"],
  ]);
  // IBAN alone: with every detector on, parts of a broken IBAN may still look like a phone number.
  untouched([
    "DE89 3704 0044 0532 0130 01", // checksum
    "DE8937040044053201300", // one short
    "DE893704004405320130001", // one long
    "de89370400440532013000", // lower case
    "DE89 37040044 0532 0130 00", // broken grouping
    "ZZ89370400440532013000", // unknown country
    "XDE89370400440532013000",
  ], only("IBAN"));
});

Deno.test("US_SSN: AAA-GG-SSSS with invalid ranges excluded", () => {
  check([
    ["SSN 123-45-6789", "SSN [US_SSN]"],
    ["ssn: 078 05 1120.", "ssn: [US_SSN]."],
  ]);
  untouched([
    "000-12-3456",
    "666-12-3456",
    "900-12-3456",
    "123-00-4567",
    "123-45-0000",
    "123-45 6789",
    "123456789",
    "123-45-6789-0",
    "PN-123-45-6789",
    "2024-01-15",
  ]);
});

Deno.test("IPV4: dotted quads; versions decided as documented", () => {
  check([
    ["from 192.168.1.20:8080", "from [IPV4]:8080"],
    ["10.0.0.0/8 and 172.16.254.1", "10.0.0.0/8 and [IPV4]"],
    ["http://203.0.113.7/admin", "http://[IPV4]/admin"],
    ["1.22.3.4", "[IPV4]"], // a four-part version with a part >= 10 is an address
  ]);
  untouched([
    "1.2.3.4", // all parts single digits: versions, 8.8.8.8, 0.0.0.0
    "version 4.8.0.0",
    "Chrome/120.0.0.0 Safari/537.36",
    "v1.22.3.4",
    "10.0.19041.1",
    "256.1.1.1",
    "01.2.3.44",
    "1.2.3.4.5",
    "1.2.3",
    "192.168.1",
    "192.168.1.1a",
  ]);
});

Deno.test("IPV6: full, compressed, embedded IPv4", () => {
  check([
    ["2001:0db8:85a3:0000:0000:8a2e:0370:7334", "[IPV6]"],
    ["[2001:db8::1]:443", "[[IPV6]]:443"],
    ["fe80::1ff:fe23:4567:890a%eth0", "[IPV6]%eth0"],
    ["::ffff:192.168.1.1", "[IPV6]"],
    ["64:ff9b::192.0.2.33", "[IPV6]"],
    ["2001:DB8::8:800:200C:417A", "[IPV6]"],
    ["client fe80::1 left", "client [IPV6] left"],
  ]);
  untouched([
    "::1", // one group
    "::",
    "std::vector<int>",
    "a::b and dead::beef", // no decimal digit
    "12:30:45",
    "00:1A:2B:3C:4D:5E", // MAC: six groups, no ::
    "1:2:3:4:5:6:7:8:9",
    "1::2::3",
    "12345::1",
    "fe80::1:",
    "f32::EPSILON",
    "::.192.168.1", // empty quad part
    "::ffff:c.1.2.3", // hex in the quad
    "::ffff:1e2.1.2.3",
    "b8201013-b801-4f93-a4b3-9fd379d20179",
  ]);
});

Deno.test("SECRET: every prefix", () => {
  const r = (alphabet: string, n: number) =>
    Array.from({ length: n }, (_, i) => alphabet[(i * 7 + 3) % alphabet.length]).join("");
  const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  const secrets = [
    `sk-${r(alnum, 48)}`,
    `sk-proj-${r(alnum, 40)}_${r(alnum, 40)}-x`,
    `sk-ant-api03-${r(alnum, 93)}AA`,
    `AKIA${r(upper, 16)}`,
    "ASIAIOSFODNN7EXAMPLE",
    `ghp_${r(alnum, 36)}`,
    `gho_${r(alnum, 36)}`,
    `github_pat_${r(alnum, 22)}_${r(alnum, 59)}`,
    "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "xoxp-1234567890-1234567890-1234567890-abcdef0123456789abcdef0123456789",
    `AIza${r(alnum, 35)}`,
    `glpat-${r(alnum, 20)}`,
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", // unsigned
    "Bearer 0123456789abcdefABCDEF",
    "bearer mF_9.B5f-4.1JqMz",
  ];
  for (const s of secrets) {
    assert.equal(maskText(`key: ${s} end`, ALL), "key: [SECRET] end", s);
  }
  check([
    ["Authorization: Bearer abcdef0123456789xyz.", "Authorization: [SECRET]."],
    [
      "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\nbye",
      "key:\n[SECRET]\nbye",
    ],
    ["-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk (truncated)", "[SECRET]"],
    ["Bearer sk-abcdefghij0123456789abcd", "[SECRET]"],
  ]);
});

Deno.test("SECRET: lookalikes stay", () => {
  untouched([
    "pip install sk-learn; sk-long-kebab-case-name-without-digits",
    "task-abcdefghij0123456789abcd",
    "AKIAIOSFODNN7EXAMPL",
    "AKIAIOSFODNN7EXAMPLE1",
    "AKIAIOSFODNN7EXAMPLEs",
    "ghp_short",
    `AIza${"b".repeat(34)}`,
    `AIza${"b".repeat(36)}`,
    "glpat-short",
    "bearer responsibilities",
    "Bearer YOUR_API_KEY_HERE",
    "Authorization: `Bearer ${token}`",
    "eyJhbGciOiJIUzI1NiJ9.notjwt.x",
    "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
    "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----",
  ]);
});

Deno.test("precedence: leftmost, then longest, then the fixed order", () => {
  // Bearer starts first and covers the key.
  assert.deepEqual(findSpans("Bearer sk-abcdefghij0123456789abcd", ALL), [
    { start: 0, end: 34, kind: "SECRET" },
  ]);
  // Same start: the email is longer than the phone number.
  assert.deepEqual(findSpans("+14155552671@sms.example.com", ALL), [
    { start: 0, end: 28, kind: "EMAIL" },
  ]);
  // Same start and length: SECRET beats BASE64.
  const key = `sk-${"a1".repeat(150)}`;
  assert.deepEqual(findSpans(key, ALL), [{ start: 0, end: key.length, kind: "SECRET" }]);
  assert.deepEqual(findSpans(key, { ...ALL, detectors: [] }), [
    { start: 0, end: key.length, kind: "BASE64" },
  ]);
  // The IBAN starts first, so the phone-like tail inside it is not reported.
  assert.deepEqual(findSpans("DE89 3704 0044 0532 0130 00", ALL).map((s) => s.kind), ["IBAN"]);
  assert.deepEqual(
    findSpans("DE89 3704 0044 0532 0130 00", { ...ALL, detectors: ["PHONE"] }).map((s) => s.kind),
    ["PHONE"],
  );
  // Boundaries look at the original text, not at what was masked before.
  assert.equal(maskText("ana@example.com+14155552671", ALL), "[EMAIL]+14155552671");
});

Deno.test("base64: data URLs keep the mime and show the decoded size", () => {
  const png = "iVBORw0KGgo" + "A".repeat(1_600_000 - 11);
  check([
    [`data:image/png;base64,${png}`, "data:image/png;base64,[stripped 1.2 MB]"],
    [
      `<img src="data:image/jpeg;base64,/9j/4AAQ==">`,
      '<img src="data:image/jpeg;base64,[stripped 6 B]">',
    ],
    [
      "data:text/plain;charset=utf-8;base64,aGVsbG8=",
      "data:text/plain;charset=utf-8;base64,[stripped 5 B]",
    ],
    ["data:;base64,AAAA", "data:;base64,[stripped 3 B]"],
  ]);
  untouched(["metadata:image/png;base64,AAAA", "data:image/png;base64,", "data:image/png,AAAA"]);
  untouched([`data:image/png;base64,${png}`], { ...ALL, stripBase64: false });
});

Deno.test("base64: bare runs at or above base64MinLength", () => {
  const run = (n: number) => "QUJD".repeat(n / 4);
  check([
    [`x ${run(256)} y`, "x [base64 stripped 192 B] y"],
    [`${run(16_400)}==`, "[base64 stripped 12.3 KB]"],
    [`"${run(1024)}_-"`, '"[base64 stripped 769 B]"'],
  ]);
  untouched([`x ${run(252)} y`, `${run(256)}===`, `${run(256)}=${run(256)}`]);
  check([[run(48), "[base64 stripped 36 B]"]], { ...ALL, base64MinLength: 48 });
  // A 64-character hex digest is below the default threshold.
  untouched(["sha256:" + "ab12".repeat(16)]);
});

Deno.test("base64: sizes are 1000-based with one decimal, half up", () => {
  const cases: [number, string][] = [
    [0, "0 B"],
    [999, "999 B"],
    [1000, "1.0 KB"],
    [1049, "1.0 KB"],
    [1050, "1.1 KB"],
    [12_345, "12.3 KB"],
    [999_949, "999.9 KB"],
    [999_950, "1.0 MB"],
    [1_234_567, "1.2 MB"],
    [999_950_000, "1.0 GB"],
    [5e12, "5.0 TB"],
  ];
  for (const [bytes, text] of cases) assert.equal(formatByteSize(bytes), text);
  assert.equal(decodedBase64Bytes("aGVsbG8="), 5);
  assert.equal(decodedBase64Bytes("aGVsbG8"), 5);
  assert.equal(decodedBase64Bytes("AAAA"), 3);
  assert.equal(decodedBase64Bytes(""), 0);
});

Deno.test("checksums: Luhn, mod-97 and the IBAN table", () => {
  assert.ok(luhnValid("4111111111111111"));
  assert.ok(luhnValid("378282246310005"));
  assert.ok(!luhnValid("4111111111111112"));
  assert.ok(ibanMod97Valid("GB82WEST12345698765432"));
  assert.ok(!ibanMod97Valid("GB82WEST12345698765433"));
  assert.equal(IBAN_LENGTHS.DE, 22);
  assert.equal(IBAN_LENGTHS.NO, 15);
  for (const n of Object.values(IBAN_LENGTHS)) assert.ok(n >= 15 && n <= 34);
});

Deno.test("options: detector switches and validation", () => {
  const text = "ana@example.com 192.168.1.20 +44 20 7946 0958";
  assert.equal(maskText(text, only("EMAIL")), "[EMAIL] 192.168.1.20 +44 20 7946 0958");
  assert.equal(maskText(text, only("IPV4", "PHONE")), "ana@example.com [IPV4] [PHONE]");
  assert.equal(maskText(text, { ...ALL, detectors: [] }), text);
  assert.deepEqual([...DETECTOR_NAMES].sort(), [
    "CREDIT_CARD",
    "EMAIL",
    "IBAN",
    "IPV4",
    "IPV6",
    "PHONE",
    "SECRET",
    "US_SSN",
  ]);
  assert.throws(
    () => maskText("x", { ...ALL, detectors: ["NAME" as DetectorName] }),
    /unknown detector "NAME"/,
  );
  assert.throws(() => maskText("x", { ...ALL, base64MinLength: 0 }), /positive integer/);
  assert.throws(() => maskText("x", { ...ALL, base64MinLength: 2.5 }), /positive integer/);
});

Deno.test("JSON: only string values change; keys, numbers, structure stay", () => {
  const doc = {
    "sk-abcdefghij0123456789abcd": 1,
    "ana@example.com": { nested: ["ana@example.com", 4111111111111111, true, null] },
    n: -1.5e-7,
    s: "",
  };
  const out = JSON.parse(maskJsonReference(JSON.stringify(doc), ALL));
  assert.deepEqual(out, {
    "sk-abcdefghij0123456789abcd": 1,
    "ana@example.com": { nested: ["[EMAIL]", 4111111111111111, true, null] },
    n: -1.5e-7,
    s: "",
  });
  assert.equal(maskJsonReference('"ana@example.com"', ALL), '"[EMAIL]"');
  assert.equal(maskJsonReference("12", ALL), "12");
  assert.equal(
    maskJsonReference('{"__proto__":"ana@example.com"}', ALL),
    '{"__proto__":"[EMAIL]"}',
  );
  assert.throws(() => maskJsonReference("{", ALL), SyntaxError);
});

Deno.test("JSON: escapes are decoded for detection and re-encoded like JSON.stringify", () => {
  // The @ is written \u0040 and the dot \u002e: still an email.
  assert.equal(
    maskJsonReference('{"a":"ana\\u0040example\\u002ecom"}', ALL),
    '{"a":"[EMAIL]"}',
  );
  // A PEM block whose newlines are \n escapes; the text around keeps its escapes.
  const pem = "-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----";
  assert.equal(
    maskJsonReference(`["k:\\t${pem}\\n\\"ok\\""]`, ALL),
    '["k:\\t[SECRET]\\n\\"ok\\""]',
  );
  // Control characters, lone surrogates and U+2028 come out as JSON.stringify writes them.
  const tricky = JSON.stringify(["\u0001\ud800 ana@example.com \u2028é\ud83d\ude00/"]);
  assert.equal(
    maskJsonReference(tricky, ALL),
    JSON.stringify(["\u0001\ud800 [EMAIL] \u2028é\ud83d\ude00/"]),
  );
  // Non-ASCII characters are boundaries, never part of a match.
  assert.equal(maskJsonReference('"é192.168.1.20é"', ALL), '"é[IPV4]é"');
  // Input that JSON.stringify would not have written comes back in its normal form.
  assert.equal(maskJsonReference('{ "a" : 1.0, "b": "\\u00e9\\/" }', ALL), '{"a":1,"b":"é/"}');
});

Deno.test("work per start is bounded: long chains of numbers, dots and markers stay linear", () => {
  const inputs = [
    "1 ".repeat(50_000),
    "0.1 ".repeat(25_000),
    "12-".repeat(35_000),
    "+1 ".repeat(35_000),
    "(12) ".repeat(20_000),
    "1.".repeat(50_000),
    "ab:".repeat(35_000),
    "a@b.".repeat(25_000),
    "DE89 ".repeat(20_000),
    "Bearer ".repeat(15_000),
    "data:".repeat(20_000),
    "-----BEGIN PRIVATE KEY-----".repeat(4_000),
  ];
  for (const input of inputs) {
    const t0 = performance.now();
    maskText(input, ALL);
    const ms = performance.now() - t0;
    // About 10 ms each on a quiet machine; quadratic behaviour would take minutes.
    assert.ok(ms < 2000, `${JSON.stringify(input.slice(0, 12))}… took ${ms.toFixed(0)} ms`);
  }
});

// --- properties --------------------------------------------------------------------------------

const SAMPLES = generateCorpus({ seed: 99, perDetector: 25, negatives: 0 }).positives;
const sample = fc.constantFrom(...SAMPLES);

/** Short strings of delimiters and arbitrary code points, never holding a PEM marker ("-----"). */
const noise = fc.string({
  unit: fc.oneof(fc.constantFrom(..."ab1 .-:@/+=é"), fc.string({ unit: "binary", maxLength: 1 })),
})
  .filter((s) => !s.includes("-----"));

Deno.test("property: a value between ' | ' separators is always masked, independently of its neighbours", () => {
  fc.assert(
    fc.property(noise, sample, noise, (pre, doc, suf) => {
      const text = `${pre} | ${doc.value} | ${suf}`;
      const out = maskText(text, ALL);
      assert.equal(out, `${maskText(pre, ALL)} | [${doc.kind}] | ${maskText(suf, ALL)}`);
    }),
    { numRuns: 1000 },
  );
});

Deno.test("property: spans are sorted, disjoint, and start and end on ASCII", () => {
  fc.assert(
    fc.property(noise, sample, noise, (pre, doc, suf) => {
      const text = pre + doc.text + suf;
      let last = 0;
      for (const s of findSpans(text, ALL)) {
        assert.ok(s.start >= last && s.end > s.start && s.end <= text.length);
        assert.ok(text.charCodeAt(s.start) < 128);
        assert.ok(s.end === text.length || text.charCodeAt(s.end - 1) < 128);
        last = s.end;
      }
    }),
    { numRuns: 1000 },
  );
});

Deno.test("property: every non-ASCII code unit is the same boundary to the detectors", () => {
  fc.assert(
    fc.property(noise, sample, noise, (pre, doc, suf) => {
      const text = pre + doc.text + suf;
      const flattened = text.replace(/[\u0080-\uffff]/g, "é");
      assert.deepEqual(findSpans(flattened, ALL), findSpans(text, ALL));
    }),
    { numRuns: 1000 },
  );
});

/** A JSON value whose strings often hold PII, whose keys sometimes do. */
const { value: piiJson } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.oneof(noise, sample.map((d) => d.text)),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.string(), sample.map((d) => d.value)), tie("value"), { maxKeys: 4 }),
  ),
}));

/** Walks `masked` and `original` together: same shape, same keys and scalars, strings masked. */
function assertMaskedCopy(masked: unknown, original: unknown): void {
  if (typeof original === "string") {
    assert.equal(masked, maskText(original, ALL));
    if (findSpans(original, ALL).length === 0) assert.equal(masked, original);
  } else if (Array.isArray(original)) {
    assert.ok(Array.isArray(masked) && masked.length === original.length);
    original.forEach((v, i) => assertMaskedCopy((masked as unknown[])[i], v));
  } else if (original !== null && typeof original === "object") {
    const m = masked as Record<string, unknown>;
    assert.deepEqual(Object.keys(m), Object.keys(original));
    for (const [k, v] of Object.entries(original)) assertMaskedCopy(m[k], v);
  } else {
    assert.equal(masked, original);
  }
}

Deno.test("property: JSON output parses, keeps keys and scalars, masks embedded PII", () => {
  fc.assert(
    fc.property(fc.oneof(piiJson, fc.jsonValue()), (value) => {
      const json = JSON.stringify(value);
      const out = maskJsonReference(json, ALL);
      assertMaskedCopy(JSON.parse(out), JSON.parse(json));
      if (collectDetections(json, ALL).length === 0 && !out.includes("base64")) {
        assert.equal(out, json);
      }
    }),
    { numRuns: 1000 },
  );
});

Deno.test("property: masking with pseudonyms replaces exactly the same spans", async () => {
  await fc.assert(
    fc.asyncProperty(piiJson, async (value) => {
      const json = JSON.stringify(value);
      const pseudonym = await pseudonymLookup("k", collectDetections(json, ALL));
      const tagged = maskJsonReference(json, { ...ALL, pseudonym });
      const plain = maskJsonReference(json, ALL);
      assert.equal(tagged.replace(/\[([A-Z_0-9]+):[0-9a-f]{8}\]/g, "[$1]"), plain);
    }),
    { numRuns: 100 },
  );
});

// --- pseudonyms --------------------------------------------------------------------------------

Deno.test("pseudonyms: HMAC-SHA256 of kind:value, first 8 hex digits", async () => {
  const items = [
    { kind: "EMAIL", value: "ana@example.com" },
    { kind: "IPV4", value: "192.168.1.20" },
  ] as const;
  const tags = await pseudonymTags("s3cret", items);
  assert.deepEqual(
    tags,
    items.map(({ kind, value }) =>
      createHmac("sha256", "s3cret").update(`${kind}:${value}`).digest("hex").slice(0, 8)
    ),
  );
});

Deno.test("pseudonyms: stable across calls and events, different per secret and kind", async () => {
  const eventA = JSON.stringify({ from: "ana@example.com", ip: "192.168.1.20" });
  const eventB = JSON.stringify({ to: ["ana@example.com"], note: "call +44 20 7946 0958" });
  async function mask(json: string, secret: string): Promise<Record<string, unknown>> {
    const pseudonym = await pseudonymLookup(secret, collectDetections(json, ALL));
    return JSON.parse(maskJsonReference(json, { ...ALL, pseudonym }));
  }
  const a1 = await mask(eventA, "one");
  const a2 = await mask(eventA, "one");
  const b1 = await mask(eventB, "one");
  const a3 = await mask(eventA, "two");
  assert.deepEqual(a1, a2);
  assert.match(String(a1.from), /^\[EMAIL:[0-9a-f]{8}\]$/);
  assert.match(String(a1.ip), /^\[IPV4:[0-9a-f]{8}\]$/);
  assert.equal((b1.to as string[])[0], a1.from);
  assert.match(String(b1.note), /^call \[PHONE:[0-9a-f]{8}\]$/);
  assert.notEqual(a3.from, a1.from);
  const [email, secret] = await pseudonymTags("one", [
    { kind: "EMAIL", value: "x" },
    { kind: "SECRET", value: "x" },
  ]);
  assert.notEqual(email, secret);
});

Deno.test("pseudonyms: base64 is never tagged; bad secrets and tags are refused", async () => {
  const json = JSON.stringify({ img: "data:image/png;base64,AAAA", u: "ana@example.com" });
  const items = collectDetections(json, ALL);
  assert.deepEqual(items, [{ kind: "EMAIL", value: "ana@example.com" }]);
  const pseudonym = await pseudonymLookup("k", items);
  assert.match(
    maskJsonReference(json, { ...ALL, pseudonym }),
    /^\{"img":"data:image\/png;base64,\[stripped 3 B\]","u":"\[EMAIL:[0-9a-f]{8}\]"\}$/,
  );
  await assert.rejects(() => pseudonymTags("", items), /secret is empty/);
  assert.throws(() => pseudonym("EMAIL", "bob@example.com"), /no pseudonym/);
  assert.throws(
    () => maskText("ana@example.com", { ...ALL, pseudonym: () => "NOT-HEX!" }),
    /8 lowercase hex/,
  );
});
