/**
 * `deno bench`: the streaming hot path of one call — SSE framing
 * (`core/stream/sse.ts`) and chunk accumulation (`core/stream/accumulator.ts`)
 * over a realistic 200-chunk chat stream (role chunk, 197 content deltas of a
 * few tokens each, finish chunk, usage chunk, then `[DONE]`), the way
 * `core/stream/relay.ts` drives them: decode each read, split it into events,
 * `JSON.parse` each chunk and feed it to the accumulator. One iteration is
 * one whole stream.
 *
 * A second group feeds the parser 20 MB in 64 KiB reads that never end an
 * event (a broken or hostile upstream): linear work, and with the default
 * bound the read that crosses 16 MiB is refused.
 * @module
 */
import { StreamAccumulator } from "../core/stream/accumulator.ts";
import { StreamFault } from "../core/stream/fault.ts";
import { encodeSse, SseParser } from "../core/stream/sse.ts";

const WORDS = ("Hamlet, Prince of Denmark, returns from Wittenberg to find his father dead and " +
  "his mother married to his uncle Claudius, now king. The ghost of his father tells him " +
  "that Claudius poured poison in his ear, and Hamlet swears revenge, feigning madness " +
  "while he tests the story with a play that mirrors the murder.").split(" ");

/** The SSE bytes of a chat stream of `chunks` chunks (plus `[DONE]`), as OpenAI sends it. */
function chatStream(chunks: number): string {
  const base = {
    id: "chatcmpl-AbCdEf0123456789xyzABCDEFGHIJ",
    object: "chat.completion.chunk",
    created: 1_735_689_600,
    model: "gpt-4o-mini-2024-07-18",
    service_tier: "default",
    system_fingerprint: "fp_0aa8d3e20b",
  };
  const chunk = (delta: unknown, finish: string | null = null) =>
    JSON.stringify({
      ...base,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    });
  const events = [chunk({ role: "assistant", content: "", refusal: null })];
  for (let i = 0; i < chunks - 3; i++) {
    const word = WORDS[i % WORDS.length];
    events.push(chunk({ content: i ? ` ${word}` : word }));
  }
  events.push(chunk({}, "stop"));
  events.push(JSON.stringify({
    ...base,
    choices: [],
    usage: {
      prompt_tokens: 412,
      completion_tokens: chunks - 3,
      total_tokens: 412 + chunks - 3,
      prompt_tokens_details: { cached_tokens: 256, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
    },
  }));
  events.push("[DONE]");
  return events.map((data) => `data: ${data}\n\n`).join("");
}

const encoder = new TextEncoder();
const STREAM = chatStream(200);
const BYTES = encoder.encode(STREAM);

/** One read per SSE event: how a streaming upstream usually arrives. */
const PER_EVENT = STREAM.split(/(?<=\n\n)/).map((event) => encoder.encode(event));
/** Fixed 1 KiB reads: event boundaries fall mid-read and events span reads. */
const KIB_READS = Array.from(
  { length: Math.ceil(BYTES.length / 1024) },
  (_, i) => BYTES.subarray(i * 1024, (i + 1) * 1024),
);
/** The whole stream in one read (a buffered upstream). */
const ONE_READ = [BYTES];

/**
 * What relay.ts does per stream, minus the network: decode, frame, parse
 * chunks, accumulate; with `reencode`, also re-encode each event for the
 * client. Returns the assembled message so the work cannot be skipped.
 */
function relayLike(reads: Uint8Array[], reencode: boolean): Record<string, unknown> {
  const decoder = new TextDecoder();
  const parser = new SseParser();
  const accumulator = new StreamAccumulator();
  let bytesOut = 0;
  const onEvent = (data: string, event?: string) => {
    if (data !== "[DONE]") accumulator.add(JSON.parse(data));
    if (reencode) bytesOut += encodeSse(data, event).byteLength;
  };
  for (const read of reads) {
    for (const e of parser.push(decoder.decode(read, { stream: true }))) onEvent(e.data, e.event);
  }
  for (const e of parser.end()) onEvent(e.data, e.event);
  const message = accumulator.messages()[0];
  if (!message || accumulator.chunks !== 200 || bytesOut < 0) throw new Error("bad stream");
  return message;
}

/** Framing alone: decode and split into events, no JSON. */
function frameOnly(reads: Uint8Array[]): number {
  const decoder = new TextDecoder();
  const parser = new SseParser();
  let events = 0;
  for (const read of reads) events += parser.push(decoder.decode(read, { stream: true })).length;
  events += parser.end().length;
  if (events !== 201) throw new Error(`expected 201 events, got ${events}`);
  return events;
}

// Sanity check of the fixture, once at load time.
const expected = relayLike(ONE_READ, false);
if (!String(expected.content).startsWith("Hamlet, Prince")) throw new Error("bad fixture");

const group = `sse: one 200-chunk chat stream (${(BYTES.length / 1024).toFixed(1)} KiB)`;

Deno.bench({
  name: "parse + accumulate, one read per event",
  group,
  baseline: true,
  fn: () => {
    relayLike(PER_EVENT, false);
  },
});

Deno.bench({
  name: "parse + accumulate, 1 KiB reads",
  group,
  fn: () => {
    relayLike(KIB_READS, false);
  },
});

Deno.bench({
  name: "parse + accumulate, whole stream in one read",
  group,
  fn: () => {
    relayLike(ONE_READ, false);
  },
});

Deno.bench({
  name: "parse + accumulate + re-encode (relay path)",
  group,
  fn: () => {
    relayLike(PER_EVENT, true);
  },
});

Deno.bench({
  name: "SSE framing only (no JSON.parse, no accumulator)",
  group,
  fn: () => {
    frameOnly(PER_EVENT);
  },
});

/** 20 MB in 64 KiB reads that never end an event: the input of a hostile or broken upstream. */
function noBoundaryReads(line: boolean): string[] {
  const size = 20 * 1024 * 1024;
  const read = 64 * 1024;
  // One endless `data:` line, or many `data:` lines with no blank line between them.
  const unit = line
    ? "x".repeat(read)
    : "data: 0123456789abcdef0123456789abcdef\n".repeat(read / 40);
  const reads = [line ? "data: " + unit.slice(6) : unit];
  while (reads.length * read < size) reads.push(unit);
  return reads;
}

const ONE_LINE_20MB = noBoundaryReads(true);
const DATA_LINES_20MB = noBoundaryReads(false);

/** Feeds every read to a parser without a bound; returns the events seen (none complete). */
function feedNoBoundary(reads: string[]): number {
  const parser = new SseParser({ maxEventLength: Infinity });
  let events = 0;
  for (const read of reads) events += parser.push(read).length;
  return events;
}

/** Feeds reads to a parser with the default bound; returns how many it took before refusing. */
function feedUntilRefused(reads: string[]): number {
  const parser = new SseParser();
  let fed = 0;
  try {
    for (const read of reads) {
      parser.push(read);
      fed++;
    }
  } catch (error) {
    if (!(error instanceof StreamFault)) throw error;
    return fed;
  }
  throw new Error("the oversized event was not refused");
}

const hostile = "sse: 20 MB with no event boundary, 64 KiB reads";

Deno.bench({
  name: "one endless data line (no bound)",
  group: hostile,
  baseline: true,
  n: 5,
  warmup: 1,
  fn: () => {
    feedNoBoundary(ONE_LINE_20MB);
  },
});

Deno.bench({
  name: "data lines, no blank line (no bound)",
  group: hostile,
  n: 5,
  warmup: 1,
  fn: () => {
    feedNoBoundary(DATA_LINES_20MB);
  },
});

Deno.bench({
  name: "one endless data line, default 16 MiB bound (refused)",
  group: hostile,
  n: 5,
  warmup: 1,
  fn: () => {
    feedUntilRefused(ONE_LINE_20MB);
  },
});
