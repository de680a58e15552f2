/**
 * The specification is precise enough: a scanner written from
 * `DETECTORS.md` alone (`_spec_scanner.ts`, no regular expressions) finds
 * exactly the reference's spans on the corpus, the unit-test strings and
 * fuzzed text built from the characters that decide boundaries.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { scanSpans } from "./_spec_scanner.ts";
import { generateCorpus } from "./corpus.ts";
import { DEFAULT_MASK_OPTIONS, DETECTOR_NAMES, findSpans, type MaskOptions } from "./reference.ts";
import { RULE_FRAGMENTS } from "./_fragments.ts";

const OPTION_SETS: readonly MaskOptions[] = [
  DEFAULT_MASK_OPTIONS,
  { ...DEFAULT_MASK_OPTIONS, base64MinLength: 8 },
  ...DETECTOR_NAMES.map((d) => ({ ...DEFAULT_MASK_OPTIONS, detectors: [d], stripBase64: false })),
];

function same(text: string): void {
  for (const options of OPTION_SETS) {
    assert.deepEqual(
      scanSpans(text, options),
      findSpans(text, options),
      `${JSON.stringify(text)} with ${options.detectors.join(",")}/${options.base64MinLength}`,
    );
  }
}

Deno.test("spec scanner = reference on the corpus", () => {
  const corpus = generateCorpus({ seed: 11, perDetector: 300, negatives: 600 });
  for (const doc of corpus.positives) same(doc.text);
  for (const doc of corpus.negatives) same(doc.text);
});

const FRAGMENTS = RULE_FRAGMENTS;

Deno.test("spec scanner = reference on fuzzed boundary text", () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 40 }), (parts) => {
      same(parts.join(""));
    }),
    { numRuns: 3000 },
  );
});

Deno.test("spec scanner = reference on fuzzed numeric chains", () => {
  const pieces = [
    "1",
    "2",
    "4",
    "0",
    "00",
    "12",
    "123",
    "415",
    "2671",
    "4111",
    " ",
    " ",
    "-",
    "-",
    ".",
  ];
  const more = ["+", "(", ")", "(0)", "/", ":", "#", "a", "x"];
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...pieces, ...more), { maxLength: 30 }), (parts) => {
      same(parts.join(""));
    }),
    { numRuns: 3000 },
  );
});

Deno.test("spec scanner = reference around corpus values", () => {
  const values = generateCorpus({ seed: 12, perDetector: 40, negatives: 0 }).positives;
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 6 }),
      fc.constantFrom(...values),
      fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 6 }),
      (pre, doc, post) => same(pre.join("") + doc.value + post.join("")),
    ),
    { numRuns: 2000 },
  );
});
