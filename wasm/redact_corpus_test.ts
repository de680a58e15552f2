/**
 * Recall and false positives of the WebAssembly masker on the generated PII
 * corpus (`corpus.ts`, the seed `corpus_test.ts` measures the reference on),
 * each document masked as the string value of a JSON event. Prints a table
 * and asserts the same targets: recall >= 99.5% for EMAIL, CREDIT_CARD, IBAN,
 * US_SSN, IPV4, SECRET (and IPV6), >= 97% for PHONE; at most 0.5% of negative
 * documents touched. Every masked document also equals the reference's.
 */
import assert from "node:assert/strict";
import { type Corpus, generateCorpus, isDetected } from "./corpus.ts";
import { maskJson, maskJsonBytes } from "./redact.ts";
import {
  DEFAULT_MASK_OPTIONS,
  DETECTOR_NAMES,
  type DetectorName,
  findSpans,
  maskJsonReference,
} from "./reference.ts";

const TARGETS: Readonly<Record<DetectorName, number>> = {
  EMAIL: 0.995,
  PHONE: 0.97,
  CREDIT_CARD: 0.995,
  IBAN: 0.995,
  US_SSN: 0.995,
  IPV4: 0.995,
  IPV6: 0.995,
  SECRET: 0.995,
};
const MAX_FALSE_POSITIVE_RATE = 0.005;
const OPTIONS = DEFAULT_MASK_OPTIONS;

const corpus: Corpus = generateCorpus();

function percent(x: number): string {
  return `${(100 * x).toFixed(2)}%`.padStart(8);
}

Deno.test("corpus (WASM): recall per detector and false-positive rate", () => {
  const hits = new Map<DetectorName, number>();
  const totals = new Map<DetectorName, number>();
  const misses = new Map<string, string[]>();
  for (const doc of corpus.positives) {
    totals.set(doc.kind, (totals.get(doc.kind) ?? 0) + 1);
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
        const start = doc.start - at;
        if (doc.text.startsWith(value, start)) return true;
      }
      return false;
    });
    if (detected) {
      hits.set(doc.kind, (hits.get(doc.kind) ?? 0) + 1);
    } else {
      const key = `${doc.kind} ${doc.format}`;
      misses.set(key, [...(misses.get(key) ?? []), doc.value]);
    }
    // Same decision as the reference's spans.
    assert.equal(detected, isDetected(doc, findSpans(doc.text, OPTIONS)), doc.text);
  }
  const flagged = new Map<string, string[]>();
  for (const doc of corpus.negatives) {
    const json = JSON.stringify({ content: doc.text });
    const out = maskJson(json, OPTIONS);
    if (out !== json) {
      flagged.set(doc.category, [...(flagged.get(doc.category) ?? []), JSON.parse(out).content]);
    }
  }
  const falsePositives = [...flagged.values()].reduce((n, list) => n + list.length, 0);
  const fpRate = falsePositives / corpus.negatives.length;

  const lines = ["", "detector (WASM) docs   recall   target"];
  for (const kind of DETECTOR_NAMES) {
    const n = totals.get(kind) ?? 0;
    const recall = (hits.get(kind) ?? 0) / n;
    lines.push(
      `${kind.padEnd(12)} ${String(n).padStart(6)} ${percent(recall)} ${percent(TARGETS[kind])}`,
    );
  }
  lines.push(
    `negatives    ${String(corpus.negatives.length).padStart(6)} ${percent(fpRate)} ${
      percent(MAX_FALSE_POSITIVE_RATE)
    }  (documents with any mask)`,
  );
  for (const [key, values] of misses) {
    lines.push(`  missed ${key}: ${values.length}, e.g. ${JSON.stringify(values[0])}`);
  }
  for (const [category, found] of flagged) {
    lines.push(`  flagged ${category}: ${found.length}, e.g. ${JSON.stringify(found[0])}`);
  }
  console.log(lines.join("\n"));

  for (const kind of DETECTOR_NAMES) {
    const n = totals.get(kind) ?? 0;
    assert.ok(n >= 2000, `${kind}: only ${n} documents`);
    const recall = (hits.get(kind) ?? 0) / n;
    assert.ok(
      recall >= TARGETS[kind],
      `${kind} recall ${percent(recall)} < ${percent(TARGETS[kind])}`,
    );
  }
  assert.ok(fpRate <= MAX_FALSE_POSITIVE_RATE, `false-positive rate ${percent(fpRate)}`);
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
