/**
 * Recall and false positives of the WebAssembly masker on the generated PII
 * corpus (`corpus.ts`, the seed `corpus_test.ts` measures the reference on),
 * each document masked as the string value of a JSON event, scored and
 * asserted by `_corpus_score.ts`. Every masked document also equals the
 * reference's.
 */
import assert from "node:assert/strict";
import { type Corpus, generateCorpus, isDetected } from "./corpus.ts";
import { maskJson, maskJsonBytes } from "./redact.ts";
import {
  DEFAULT_MASK_OPTIONS,
  type DetectorName,
  findSpans,
  maskJsonReference,
} from "./reference.ts";
import { assertCorpusTargets } from "./_corpus_score.ts";

const OPTIONS = DEFAULT_MASK_OPTIONS;

const corpus: Corpus = generateCorpus();

Deno.test("corpus (WASM): recall per detector and false-positive rate", () => {
  assertCorpusTargets(corpus, {
    name: "WASM",
    detected(doc) {
      const json = JSON.stringify({ content: doc.text });
      // The pseudonym callback reports what the masker found: (kind, value) pairs.
      const found: { kind: DetectorName; value: string }[] = [];
      maskJson(json, {
        ...OPTIONS,
        pseudonym: (kind, value) => {
          found.push({ kind, value });
          return "00000000";
        },
      });
      // Found: a value of the right kind covering the embedded one at its place.
      const detected = found.some(({ kind, value }) => {
        if (kind !== doc.kind) return false;
        for (let at = value.indexOf(doc.value); at >= 0; at = value.indexOf(doc.value, at + 1)) {
          if (doc.text.startsWith(value, doc.start - at)) return true;
        }
        return false;
      });
      // Same decision as the reference's spans.
      assert.equal(detected, isDetected(doc, findSpans(doc.text, OPTIONS)), doc.text);
      return detected;
    },
    flagged(doc) {
      const json = JSON.stringify({ content: doc.text });
      const out = maskJson(json, OPTIONS);
      return out === json ? [] : [JSON.parse(out).content];
    },
  });
});

Deno.test("corpus (WASM): events of 50 documents equal the reference, as text and bytes", () => {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const docs = [...corpus.positives, ...corpus.negatives];
  for (let i = 0; i < docs.length; i += 50) {
    const messages = docs.slice(i, i + 50).map((d) => ({ role: "user", content: d.text }));
    const json = JSON.stringify({ model: "gpt-4o", messages, usage: { total_tokens: i } });
    const expected = maskJsonReference(json, OPTIONS);
    assert.equal(maskJson(json, OPTIONS), expected);
    assert.equal(decoder.decode(maskJsonBytes(encoder.encode(json), OPTIONS)), expected);
  }
});
