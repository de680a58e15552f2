/**
 * Recall and false positives of the reference masker on the generated PII
 * corpus (`corpus.ts`, fixed seed). Prints a table and asserts the targets:
 * recall >= 99.5% for EMAIL, CREDIT_CARD, IBAN, US_SSN, IPV4, SECRET (and
 * IPV6), >= 97% for PHONE; at most 0.5% of negative documents touched.
 */
import assert from "node:assert/strict";
import { type Corpus, generateCorpus, isDetected } from "./corpus.ts";
import {
  DEFAULT_MASK_OPTIONS,
  DETECTOR_NAMES,
  type DetectorName,
  findSpans,
  maskJsonReference,
  maskText,
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

const corpus: Corpus = generateCorpus();

function percent(x: number): string {
  return `${(100 * x).toFixed(2)}%`.padStart(8);
}

Deno.test("corpus: recall per detector and false-positive rate", () => {
  const hits = new Map<DetectorName, number>();
  const totals = new Map<DetectorName, number>();
  const misses = new Map<string, string[]>();
  for (const doc of corpus.positives) {
    totals.set(doc.kind, (totals.get(doc.kind) ?? 0) + 1);
    if (isDetected(doc, findSpans(doc.text, DEFAULT_MASK_OPTIONS))) {
      hits.set(doc.kind, (hits.get(doc.kind) ?? 0) + 1);
    } else {
      const key = `${doc.kind} ${doc.format}`;
      misses.set(key, [...(misses.get(key) ?? []), doc.value]);
    }
  }
  const flagged = new Map<string, string[]>();
  for (const doc of corpus.negatives) {
    const spans = findSpans(doc.text, DEFAULT_MASK_OPTIONS);
    if (spans.length > 0) {
      const found = spans.map((s) => `${s.kind}=${doc.text.slice(s.start, s.end)}`).join(" ");
      flagged.set(doc.category, [...(flagged.get(doc.category) ?? []), found]);
    }
  }
  const falsePositives = [...flagged.values()].reduce((n, list) => n + list.length, 0);
  const fpRate = falsePositives / corpus.negatives.length;

  const lines = ["", "detector       docs   recall   target"];
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

Deno.test("corpus: the same through the JSON path, one event per 50 documents", () => {
  const texts = corpus.positives.map((d) => d.text);
  for (let i = 0; i < texts.length; i += 50) {
    const messages = texts.slice(i, i + 50).map((content) => ({ role: "user", content }));
    const json = JSON.stringify({ model: "gpt-4o", messages, usage: { total_tokens: i } });
    const out = JSON.parse(maskJsonReference(json, DEFAULT_MASK_OPTIONS));
    assert.equal(out.model, "gpt-4o");
    assert.equal(out.usage.total_tokens, i);
    out.messages.forEach((m: { role: string; content: string }, j: number) => {
      const doc = corpus.positives[i + j];
      assert.equal(m.role, "user");
      assert.equal(m.content, maskText(doc.text, DEFAULT_MASK_OPTIONS));
      if (isDetected(doc, findSpans(doc.text, DEFAULT_MASK_OPTIONS))) {
        assert.ok(!m.content.includes(doc.value));
      }
    });
  }
  for (const doc of corpus.negatives) {
    const json = JSON.stringify({ content: doc.text });
    if (findSpans(doc.text, DEFAULT_MASK_OPTIONS).length === 0) {
      assert.equal(maskJsonReference(json, DEFAULT_MASK_OPTIONS), json);
    }
  }
});

Deno.test("corpus: the generator is deterministic", () => {
  const a = generateCorpus({ seed: 5, perDetector: 3, negatives: 10 });
  const b = generateCorpus({ seed: 5, perDetector: 3, negatives: 10 });
  const c = generateCorpus({ seed: 6, perDetector: 3, negatives: 10 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  for (const doc of a.positives) assert.equal(doc.text.slice(doc.start, doc.end), doc.value);
});
