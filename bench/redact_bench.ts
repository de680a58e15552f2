/**
 * `deno bench -A bench/redact_bench.ts`: throughput of `@sluice/redact`'s
 * WebAssembly masker against the TypeScript reference (`wasm/reference.ts`,
 * JSON.parse + a regex per detector + JSON.stringify) on three log events:
 *
 * - **base64**: a ~10 MB chat completion event whose user messages carry
 *   images as base64 data URLs in `image_url` content parts (stripping);
 * - **chat**: ~1 MB of chat messages, mostly prose (80%) with snippets of
 *   numbers and code (20%), ~1% of the text PII values (masking);
 * - **numbers+code**: ~1 MB of the corpus's numbers-and-code snippets only
 *   (dates, versions, UUIDs, hashes, prices, ids, logs, code), ~1% PII: the
 *   scanner's hardest text.
 *
 * All text is from `wasm/corpus.ts` (fixed seeds). For each event, three
 * cases: the reference (string in, string out), `maskJson` (string in,
 * string out: includes the UTF-8 encoding into WebAssembly memory and the
 * decoding of the result) and `maskJsonBytes` (bytes in, bytes out). Before
 * the benches run, the module prints an MB/s table: each case warmed up,
 * then timed in interleaved rounds, medians reported (these machines are
 * noisy). Targets (DESIGN §10): stripping >= 1 GB/s, masking >= 200 MB/s,
 * each >= 3x the reference.
 * @module
 */
import { generateCorpus } from "../wasm/corpus.ts";
import { maskJson, maskJsonBytes } from "../wasm/redact.ts";
import { DEFAULT_MASK_OPTIONS, maskJsonReference } from "../wasm/reference.ts";

const OPTIONS = DEFAULT_MASK_OPTIONS;
const encoder = new TextEncoder();

/** A deterministic pseudo-random generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function base64Payload(bytes: number, rand: () => number): string {
  const chars = new Array<string>(Math.ceil(bytes / 3) * 4);
  for (let i = 0; i < chars.length; i++) chars[i] = B64[(rand() * 64) | 0];
  return chars.join("");
}

/** A chat completion log event of about `size` bytes, mostly base64 images. */
function imageEvent(size: number): string {
  const rand = random(7);
  const messages: unknown[] = [{ role: "system", content: "You describe images for a catalogue." }];
  let total = 0;
  for (let i = 0; total < size; i++) {
    const bytes = 600_000 + ((rand() * 900_000) | 0);
    const url = `data:image/${i % 2 ? "jpeg" : "png"};base64,${base64Payload(bytes, rand)}`;
    total += url.length;
    messages.push({
      role: "user",
      content: [
        { type: "text", text: `Describe product photo ${i + 1} in two sentences.` },
        { type: "image_url", image_url: { url, detail: "high" } },
      ],
    });
  }
  return JSON.stringify({
    schema_version: 1,
    call_id: "6d1f9c0e-2b4a-4f7e-9a51-0c3b8e7d2a14",
    model: "gpt-4o",
    request: { messages, max_tokens: 300 },
    response: { choices: [{ message: { role: "assistant", content: "A red leather bag." } }] },
    usage: { prompt_tokens: 8123, completion_tokens: 210, total_tokens: 8333 },
  });
}

const corpus = generateCorpus({ seed: 3, perDetector: 200, negatives: 3000 });
const PROSE = ["prose", "hacker", "markdown"];

/**
 * About `size` bytes of chat messages with ~1% of the text PII values from
 * the corpus. `mix` is the share of snippets taken from the corpus's
 * numbers-and-code categories (dates, versions, UUIDs, hashes, prices, ids,
 * logs, code...); the rest is prose. Both kinds are the corpus's negatives:
 * nothing in them is masked.
 */
function chatEvent(size: number, mix: number, seed: number): string {
  const prose = corpus.negatives.filter((d) => PROSE.includes(d.category));
  const other = corpus.negatives.filter((d) => !PROSE.includes(d.category));
  const rand = random(seed);
  const pick = <T>(xs: T[]): T => xs[(rand() * xs.length) | 0];
  const messages: { role: string; content: string }[] = [];
  let total = 0;
  let pii = 0;
  while (total < size) {
    let content = "";
    for (let k = 0; k < 6; k++) content += pick(rand() < mix ? other : prose).text + "\n";
    if (pii < total * 0.01) {
      const doc = pick(corpus.positives);
      content += ` (${doc.value}) `;
      pii += doc.value.length;
    }
    total += content.length;
    messages.push({ role: messages.length % 2 ? "assistant" : "user", content });
  }
  return JSON.stringify({ schema_version: 1, model: "gpt-4o", request: { messages } });
}

const image = imageEvent(10_000_000);
const chat = chatEvent(1_000_000, 0.2, 11);
const code = chatEvent(1_000_000, 1, 12);
const imageBytes = encoder.encode(image);
const chatBytes = encoder.encode(chat);
const codeBytes = encoder.encode(code);

// The two implementations agree on these documents (the property tests check it in general).
if (maskJson(image, OPTIONS) !== maskJsonReference(image, OPTIONS)) throw new Error("base64 diff");
if (maskJson(chat, OPTIONS) !== maskJsonReference(chat, OPTIONS)) throw new Error("chat diff");
if (maskJson(code, OPTIONS) !== maskJsonReference(code, OPTIONS)) throw new Error("code diff");

interface Case {
  name: string;
  doc: string;
  bytes: number;
  run: () => unknown;
}

const DOCS = [
  { doc: "base64", text: image, bytes: imageBytes },
  { doc: "chat", text: chat, bytes: chatBytes },
  { doc: "numbers+code", text: code, bytes: codeBytes },
];

const cases: Case[] = DOCS.flatMap(({ doc, text, bytes }) => [
  {
    name: `${doc} reference`,
    doc,
    bytes: bytes.length,
    run: () => maskJsonReference(text, OPTIONS),
  },
  {
    name: `${doc} maskJson (string)`,
    doc,
    bytes: bytes.length,
    run: () => maskJson(text, OPTIONS),
  },
  {
    name: `${doc} maskJsonBytes`,
    doc,
    bytes: bytes.length,
    run: () => maskJsonBytes(bytes, OPTIONS),
  },
]);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** Interleaved rounds; per case the median MB/s (1 MB = 10^6 bytes). */
function table(rounds: number): void {
  const samples = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  // Warm up: long enough for V8 to tier the WebAssembly up to optimised code.
  for (const c of cases) {
    const until = performance.now() + 400;
    while (performance.now() < until) c.run();
  }
  for (let r = 0; r < rounds; r++) {
    for (const c of cases) {
      const reps = c.doc === "base64" ? 3 : c.name.endsWith("reference") ? 3 : 10;
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) c.run();
      const ms = (performance.now() - t0) / reps;
      samples.get(c.name)!.push(c.bytes / 1e3 / ms);
    }
  }
  const ref = new Map<string, number>();
  const lines = [
    `redact throughput: base64 event ${(imageBytes.length / 1e6).toFixed(1)} MB, ` +
    `chat events ${(chatBytes.length / 1e6).toFixed(2)} MB; median of ${rounds} rounds`,
    "| case                           |      MB/s | vs reference |",
    "| ------------------------------ | --------: | -----------: |",
  ];
  for (const c of cases) {
    const mbs = median(samples.get(c.name)!);
    if (c.name.endsWith("reference")) ref.set(c.doc, mbs);
    const ratio = mbs / ref.get(c.doc)!;
    lines.push(
      `| ${c.name.padEnd(30)} | ${mbs.toFixed(0).padStart(9)} | ${
        (ratio.toFixed(1) + "x").padStart(12)
      } |`,
    );
  }
  console.log(lines.join("\n"));
}

table(7);

for (const c of cases) {
  const reference = c.name.endsWith("reference");
  Deno.bench({
    name: c.name,
    group: c.doc,
    baseline: reference,
    // Fixed counts: the reference is slow, and a shorter run meets less of the neighbours' noise.
    n: reference ? 10 : 100,
    warmup: reference ? 2 : 20,
    fn: () => {
      c.run();
    },
  });
}
