/**
 * Test-only: scores a masker on the PII corpus (recall per detector, share
 * of negative documents touched), prints the table and asserts the targets:
 * recall >= 99.5% for every detector but PHONE (>= 97%), at most 0.5% of
 * negative documents touched. Shared by the reference's and the WebAssembly
 * masker's corpus tests.
 * @module
 */
import assert from "node:assert/strict";
import type { Corpus, NegativeDoc, PositiveDoc } from "./corpus.ts";
import { DETECTOR_NAMES, type DetectorName } from "./types.ts";

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

const percent = (x: number): string => `${(100 * x).toFixed(2)}%`.padStart(8);

/** How a masker is asked about one document. */
export interface CorpusMasker {
  /** Shown in the table's heading. */
  name: string;
  /** Whether the embedded value of a positive document was found. */
  detected(doc: PositiveDoc): boolean;
  /** What was masked in a negative document (empty: nothing). */
  flagged(doc: NegativeDoc): string[];
}

/** Scores `masker` on `corpus`, prints the table, and asserts the targets. */
export function assertCorpusTargets(corpus: Corpus, masker: CorpusMasker): void {
  const hits = new Map<DetectorName, number>();
  const totals = new Map<DetectorName, number>();
  const misses = new Map<string, string[]>();
  for (const doc of corpus.positives) {
    totals.set(doc.kind, (totals.get(doc.kind) ?? 0) + 1);
    if (masker.detected(doc)) hits.set(doc.kind, (hits.get(doc.kind) ?? 0) + 1);
    else {
      const key = `${doc.kind} ${doc.format}`;
      misses.set(key, [...(misses.get(key) ?? []), doc.value]);
    }
  }
  const flagged = new Map<string, string[]>();
  for (const doc of corpus.negatives) {
    const found = masker.flagged(doc);
    if (found.length > 0) {
      flagged.set(doc.category, [...(flagged.get(doc.category) ?? []), found.join(" ")]);
    }
  }
  const falsePositives = [...flagged.values()].reduce((n, list) => n + list.length, 0);
  const fpRate = falsePositives / corpus.negatives.length;

  const lines = ["", `detector (${masker.name}) docs   recall   target`];
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
}
