/**
 * Recall and false positives of the reference masker on the generated PII
 * corpus (`corpus.ts`, fixed seed), scored and asserted by `_corpus_score.ts`.
 */
import assert from "node:assert/strict";
import { type Corpus, generateCorpus, isDetected } from "./corpus.ts";
import { DEFAULT_MASK_OPTIONS, findSpans, maskJsonReference, maskText } from "./reference.ts";
import { assertCorpusTargets } from "./_corpus_score.ts";

const corpus: Corpus = generateCorpus();

Deno.test("corpus: recall per detector and false-positive rate", () => {
  assertCorpusTargets(corpus, {
    name: "reference",
    detected: (doc) => isDetected(doc, findSpans(doc.text, DEFAULT_MASK_OPTIONS)),
    flagged: (doc) =>
      findSpans(doc.text, DEFAULT_MASK_OPTIONS).map((s) =>
        `${s.kind}=${doc.text.slice(s.start, s.end)}`
      ),
  });
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
