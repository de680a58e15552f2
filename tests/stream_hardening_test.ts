/**
 * Stream hardening (issue 13): malformed chunks never break the relay or the
 * in-flight count, non-SSE answers to a stream request become a 502,
 * truncated streams are failures, and one oversized event aborts the stream.
 */
import assert from "node:assert/strict";
import { sseResponse, startUpstream } from "./fakes/upstream.ts";
import { readJsonlEvents, startGateway, type TestGateway } from "./fakes/gateway.ts";
import { relayStream } from "../core/stream/relay.ts";
import { DEFAULT_MAX_EVENT_LENGTH, type SseEvent, SseParser } from "../core/stream/sse.ts";
import { StreamAccumulator } from "../core/stream/accumulator.ts";
import { StreamFault } from "../core/stream/fault.ts";
import { anthropicStreamToOpenAI } from "../core/providers/anthropic.ts";

const SHUTDOWN_MS = 20_000;

/** A chunk of stream `id` with `choices`. */
function chunk(choices: unknown[]): string {
  return JSON.stringify({
    id: "chatcmpl-h",
    object: "chat.completion.chunk",
    model: "up",
    choices,
  });
}

/** A good stream around one `bad` event: `a`, bad, `b`, finish, `[DONE]`. */
function streamAround(bad: string): string[] {
  return [
    chunk([{ index: 0, delta: { role: "assistant", content: "a" } }]),
    bad,
    chunk([{ index: 0, delta: { content: "b" } }]),
    chunk([{ index: 0, delta: {}, finish_reason: "stop" }]),
    "[DONE]",
  ];
}

/** Posts a stream request; returns the status, content type and whole body. */
async function streamCall(
  gw: TestGateway,
  content: string,
): Promise<{ status: number; type: string; text: string }> {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "m", messages: [{ role: "user", content }], stream: true }),
  });
  return {
    status: res.status,
    type: res.headers.get("content-type") ?? "",
    text: await res.text(),
  };
}

/** The `data:` payloads of an SSE body (one line each in these tests). */
function dataOf(text: string): string[] {
  return text.split("\n\n").filter(Boolean).map((e) => e.replace(/^data: /, ""));
}

/** Closes the gateway; fails when closing takes more than `ms` (it must not wait for the shutdown timeout). */
async function closeWithin(gw: TestGateway, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    gw.close().then(() => "closed"),
    new Promise((r) => (timer = setTimeout(() => r("still waiting"), ms))),
  ]);
  clearTimeout(timer);
  assert.equal(outcome, "closed", `close() took over ${ms} ms: a stream stayed in flight`);
}

/** A gateway in front of `upstream` logging to a JSONL sink in `dir`, with a long shutdown timeout. */
function gatewayFor(url: string, dir: string): Promise<TestGateway> {
  return startGateway({
    server: { shutdown_timeout_ms: SHUTDOWN_MS },
    models: [{ name: "m", provider: "openai", api_base: url }],
    sinks: [{ use: "jsonl", config: { dir }, queue: { flush_interval_ms: 10 } }],
  });
}

const MALFORMED = [
  '{"choices":[null]}',
  '{"choices":"x"}',
  '{"choices":[{"index":0,"delta":5}]}',
  '{"choices":[{"index":0,"delta":{"tool_calls":[null]}}]}',
  '{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":7}]}}]}',
  '{"choices":[{"index":0,"delta":{"tool_calls":"x"}}]}',
  '{"usage":"x","choices":[]}',
  '{"usage":[1],"choices":[]}',
  '{"choices":[{"index":4294967294,"delta":{"content":"far"}}]}',
  '{"choices":[{"index":0,"delta":{"tool_calls":[{"index":4294967294,"id":"c"}]}}]}',
  '{"choices":[{"index":-1,"delta":{"content":"neg"}}]}',
  '{"choices":[{"index":0.5,"delta":{"content":"half"}}]}',
  "5",
  '"s"',
  "null",
  "[1,2]",
  '{"choices":[',
];

Deno.test("stream: malformed chunks are forwarded as received, never break the relay, and close() does not wait", async () => {
  const upstream = startUpstream((req) => {
    const messages = req.body?.messages as { content: string }[];
    return sseResponse(streamAround(MALFORMED[Number(messages[0].content)]));
  });
  const dir = await Deno.makeTempDir();
  const gw = await gatewayFor(upstream.url, dir);
  try {
    for (const [i, bad] of MALFORMED.entries()) {
      const { status, text } = await streamCall(gw, String(i));
      assert.equal(status, 200);
      const data = dataOf(text);
      assert.ok(data.includes(bad), `${bad}: forwarded as received`);
      assert.equal(data.at(-1), "[DONE]", `${bad}: the stream reached [DONE]`);
    }
    await closeWithin(gw, SHUTDOWN_MS / 4);
  } finally {
    await gw.close();
    await upstream.close();
  }
  const events = await readJsonlEvents(dir);
  await Deno.remove(dir, { recursive: true });
  assert.equal(events.length, MALFORMED.length, "one event per call, each logged once");
  assert.equal(new Set(events.map((e) => e.call_id)).size, MALFORMED.length);
  for (const event of events) {
    assert.equal(event.status, "success", JSON.stringify(event.error));
    assert.equal((event.response as { content: string }).content, "ab");
    assert.deepEqual(event.finish_reasons, ["stop"]);
  }
});

Deno.test("stream relay: whatever throws while relaying, the client gets an error event and onEnd runs once", async () => {
  // A read that is not bytes makes the decoder throw inside the relay.
  const upstream = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new TextEncoder().encode('data: {"choices":[]}\n\n'));
      c.enqueue(5 as unknown as Uint8Array);
    },
  });
  const ends: unknown[] = [];
  const relayed = relayStream(upstream, {
    forwardUsage: false,
    clientSignal: new AbortController().signal,
    describeError: () => ({ message: "relay failed", code: "upstream_stream_error" }),
    onEnd: (end) => {
      ends.push(end.aborted);
      throw new Error("a failing onEnd must not break the stream either");
    },
  });
  const text = await new Response(relayed).text();
  const data = dataOf(text);
  assert.equal(data[0], '{"choices":[]}');
  assert.equal(JSON.parse(data.at(-1)!).error.code, "upstream_stream_error");
  assert.deepEqual(ends, ["upstream"]);
});

Deno.test("stream: a 2xx answer that is not text/event-stream is a 502 error, logged as a failure, not retried", async () => {
  const answers: Record<string, () => Response> = {
    html: () => new Response("<html>hello</html>", { headers: { "content-type": "text/html" } }),
    json: () =>
      Response.json({
        id: "chatcmpl-1",
        object: "chat.completion",
        choices: [{
          index: 0,
          message: { role: "assistant", content: "hi" },
          finish_reason: "stop",
        }],
      }),
  };
  const upstream = startUpstream((req) => {
    const messages = req.body?.messages as { content: string }[];
    return answers[messages[0].content]();
  });
  const dir = await Deno.makeTempDir();
  const gw = await gatewayFor(upstream.url, dir);
  try {
    for (const kind of Object.keys(answers)) {
      const { status, type, text } = await streamCall(gw, kind);
      assert.equal(status, 502, `${kind}: ${text}`);
      assert.match(type, /^application\/json/);
      const { error } = JSON.parse(text);
      assert.equal(error.type, "api_error");
      assert.equal(error.code, "upstream_invalid_response");
      assert.match(error.message, /text\/event-stream/);
      assert.ok("param" in error);
    }
    assert.equal(
      upstream.requests.length,
      2,
      "the upstream answered (and may have billed): no retry",
    );
  } finally {
    await closeWithin(gw, SHUTDOWN_MS / 4);
    await upstream.close();
  }
  const events = await readJsonlEvents(dir);
  await Deno.remove(dir, { recursive: true });
  assert.equal(events.length, 2);
  for (const event of events) {
    assert.equal(event.status, "failure");
    const error = event.error as { status: number; code: string };
    assert.equal(error.status, 502);
    assert.equal(error.code, "upstream_invalid_response");
  }
});

Deno.test("stream: a stream that ends without [DONE] or a finish reason is a failure with an error event", async () => {
  const streams: Record<string, string[]> = {
    truncated: [
      chunk([{ index: 0, delta: { role: "assistant", content: "a" } }]),
      chunk([{ index: 0, delta: { content: "b" } }]),
    ],
    "one of two choices unfinished": [
      chunk([{ index: 0, delta: { content: "a" }, finish_reason: "stop" }]),
      chunk([{ index: 1, delta: { content: "b" } }]),
    ],
    "no chunk at all": [],
    // Complete: every choice has a finish reason (some servers omit [DONE]).
    "finished, no [DONE]": [
      chunk([{ index: 0, delta: { content: "a" } }]),
      chunk([{ index: 0, delta: {}, finish_reason: "stop" }]),
    ],
    // Complete: [DONE] is the end marker, with or without a finish reason.
    "[DONE], no finish reason": [chunk([{ index: 0, delta: { content: "a" } }]), "[DONE]"],
  };
  const names = Object.keys(streams);
  const upstream = startUpstream((req) => {
    const messages = req.body?.messages as { content: string }[];
    return sseResponse(streams[messages[0].content]);
  });
  const dir = await Deno.makeTempDir();
  const gw = await gatewayFor(upstream.url, dir);
  const complete = (name: string) => name.startsWith("finished") || name.startsWith("[DONE]");
  try {
    for (const name of names) {
      const { status, text } = await streamCall(gw, name);
      assert.equal(status, 200);
      const last = dataOf(text).at(-1);
      if (complete(name)) {
        assert.ok(!last?.includes('"error"'), `${name}: ${last}`);
      } else {
        const { error } = JSON.parse(last!);
        assert.equal(error.code, "upstream_stream_truncated", name);
        assert.equal(error.type, "api_error");
      }
    }
  } finally {
    await closeWithin(gw, SHUTDOWN_MS / 4);
    await upstream.close();
  }
  const events = await readJsonlEvents(dir);
  await Deno.remove(dir, { recursive: true });
  assert.equal(events.length, names.length);
  const byName = new Map(
    events.map((e) => [(e.messages as { content: string }[])[0].content, e]),
  );
  for (const name of names) {
    const event = byName.get(name)!;
    if (complete(name)) {
      assert.equal(event.status, "success", `${name}: ${JSON.stringify(event.error)}`);
    } else {
      assert.equal(event.status, "failure", name);
      const error = event.error as { status: number; code: string; message: string };
      assert.equal(error.status, 502);
      assert.equal(error.code, "upstream_stream_truncated");
      assert.match(error.message, /\[DONE\]/);
    }
  }
});

Deno.test("stream: an event over the size bound aborts the stream as an upstream failure and cancels the upstream", async () => {
  const read = "x".repeat(64 * 1024);
  const offered = 64 * 1024 * 1024;
  let sent = 0;
  const cancelled = Promise.withResolvers<void>();
  const upstream = startUpstream(() => {
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent >= offered) return c.close();
        c.enqueue(encoder.encode(sent === 0 ? "data: " + read : read));
        sent += read.length;
      },
      cancel() {
        cancelled.resolve();
      },
    });
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  });
  const dir = await Deno.makeTempDir();
  const gw = await gatewayFor(upstream.url, dir);
  try {
    const { status, text } = await streamCall(gw, "endless");
    assert.equal(status, 200);
    const data = dataOf(text);
    assert.equal(data.length, 1, "nothing of the oversized event reached the client");
    const { error } = JSON.parse(data[0]);
    assert.equal(error.code, "upstream_event_too_large");
    await cancelled.promise;
    assert.ok(sent < 24 * 1024 * 1024, `the gateway stopped reading near the bound (read ${sent})`);
  } finally {
    await closeWithin(gw, SHUTDOWN_MS / 4);
    await upstream.close();
  }
  const [event] = await readJsonlEvents(dir);
  await Deno.remove(dir, { recursive: true });
  assert.equal(event.status, "failure");
  const error = event.error as { status: number; code: string };
  assert.equal(error.status, 502);
  assert.equal(error.code, "upstream_event_too_large");
});

/** Events as `[event name or null, data]` pairs, for comparing. */
function pairs(events: SseEvent[]): [string | null, string][] {
  return events.map((e) => [e.event ?? null, e.data]);
}

/** Parses `reads` one after the other, then ends the input. */
function parseReads(reads: string[], parser = new SseParser()): [string | null, string][] {
  const events: SseEvent[] = [];
  for (const read of reads) events.push(...parser.push(read));
  events.push(...parser.end());
  return pairs(events);
}

// LF, CRLF and CR line ends, a BOM, comments, names, multi-line data, ignored fields,
// a `data` field without a colon, an event without data, and a last event without a blank line.
const SAMPLE = "\uFEFFdata: one\n\n" +
  ": comment\r\nevent: named\r\ndata: two\r\ndata:  three\r\n\r\n" +
  "data: four\r\rdata\n\n" +
  'id: 7\nretry: 10\ndata:{"a":1}\n\n' +
  "event: nodata\n\n" +
  "data: last";
const SAMPLE_EVENTS: [string | null, string][] = [
  [null, "one"],
  ["named", "two\n three"],
  [null, "four"],
  [null, ""],
  [null, '{"a":1}'],
  [null, "last"],
];

Deno.test("sse parser: the same events whatever the reads, split at every one and two offsets", () => {
  assert.deepEqual(parseReads([SAMPLE]), SAMPLE_EVENTS);
  assert.deepEqual(parseReads([...SAMPLE]), SAMPLE_EVENTS, "one character per read");
  for (let i = 0; i <= SAMPLE.length; i++) {
    for (let j = i; j <= SAMPLE.length; j++) {
      const reads = [SAMPLE.slice(0, i), SAMPLE.slice(i, j), SAMPLE.slice(j)];
      assert.deepEqual(parseReads(reads), SAMPLE_EVENTS, JSON.stringify(reads));
    }
  }
});

Deno.test("sse parser: a CRLF split across reads ends one line, not two", () => {
  // Were the LF taken for a second line end, `a` and `b` would be two events.
  assert.deepEqual(parseReads(["data: a\r", "\ndata: b\n\n"]), [[null, "a\nb"]]);
  assert.deepEqual(parseReads(["data: a\r", "", "\n", "\r", "\n"]), [[null, "a"]]);
  // A CR alone is a line end too: `\r\r` ends an event.
  const parser = new SseParser();
  assert.deepEqual(pairs(parser.push("data: a\r\r")), [[null, "a"]]);
  assert.deepEqual(pairs(parser.push("\ndata: b\n\n")), [[null, "b"]]);
});

/** Whether `fn` throws the parser's oversized-event fault. */
function throwsTooLarge(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch (error) {
    assert.ok(error instanceof StreamFault, String(error));
    assert.equal(error.code, "upstream_event_too_large");
    return true;
  }
}

Deno.test("sse parser: one event may take maxEventLength characters, not one more", () => {
  const max = 1000;
  const line = "data: " + "x".repeat(max - 7) + "\n"; // exactly `max` with its line end
  const parser = new SseParser({ maxEventLength: max });
  for (let i = 0; i < 5; i++) assert.equal(parser.push(line + "\n").length, 1, "many events fit");
  assert.ok(!throwsTooLarge(() => parser.push(line)), "an event of exactly the bound fits");
  assert.equal(parser.push("\n")[0].data.length, max - 7);
  assert.ok(throwsTooLarge(() => parser.push(line + "x")), "one more character is too many");
  // Lines of one event count together, and so does a line still open across reads.
  const lines = new SseParser({ maxEventLength: max });
  assert.ok(throwsTooLarge(() => {
    for (let i = 0; i < 200; i++) lines.push("data: x\n");
  }));
  const open = new SseParser({ maxEventLength: max });
  assert.ok(!throwsTooLarge(() => open.push("data: " + "x".repeat(max - 6))));
  assert.ok(throwsTooLarge(() => open.push("x")));
});

Deno.test("sse parser: 20 MB in 64 KiB reads with no event boundary fails at the default bound", () => {
  const read = "x".repeat(64 * 1024);
  for (const first of ["data: ", "data: x\n".repeat(8 * 1024)]) {
    const parser = new SseParser();
    let fed = 0;
    const tooLarge = throwsTooLarge(() => {
      for (fed = 0; fed * read.length < 20 * 1024 * 1024; fed++) {
        parser.push(fed === 0 ? first + read.slice(first.length) : read);
      }
    });
    assert.ok(tooLarge, "the event over the bound is refused");
    // The read that crossed 16 MiB is the one refused: nothing past it is read.
    assert.equal(fed, DEFAULT_MAX_EVENT_LENGTH / read.length);
  }
});

Deno.test("stream accumulator: chunks of any shape are skipped where malformed, never thrown on", () => {
  const accumulator = new StreamAccumulator();
  accumulator.add(JSON.parse(chunk([{ index: 0, delta: { role: "assistant", content: "a" } }])));
  for (const bad of MALFORMED) {
    let value: unknown;
    try {
      value = JSON.parse(bad);
    } catch {
      value = bad;
    }
    accumulator.add(value);
  }
  accumulator.add({ choices: [], usage: { prompt_tokens: "9", completion_tokens: 3 } });
  accumulator.add({
    choices: [],
    usage: { prompt_tokens: 4, total_tokens: -1, prompt_tokens_details: 5 },
  });
  accumulator.add(
    JSON.parse(chunk([{ index: 0, delta: { content: "b" }, finish_reason: "stop" }])),
  );
  assert.deepEqual(accumulator.messages(), [
    {
      role: "assistant",
      content: "ab",
      // From `{"index":0,"function":7}`; the call at index 4294967294 is not assembled.
      tool_calls: [{ type: "function", function: { name: "", arguments: "" } }],
    },
  ]);
  assert.deepEqual(accumulator.usage, { prompt_tokens: 4 }, "only finite counts are kept");
  assert.deepEqual(accumulator.finishReasons(), ["stop"]);
  assert.ok(accumulator.allFinished());
});

Deno.test("anthropic stream: an event over the bound fails the stream and cancels the upstream", async () => {
  const read = new TextEncoder().encode("x".repeat(64 * 1024));
  let sent = 0;
  let cancelled = false;
  const upstream = new ReadableStream<Uint8Array>({
    pull(c) {
      // Finite, so a parser without a bound fails this test instead of hanging it.
      if (sent > 2 * DEFAULT_MAX_EVENT_LENGTH) return c.close();
      c.enqueue(sent === 0 ? new TextEncoder().encode("event: ping\ndata: ") : read);
      sent += read.length;
    },
    cancel() {
      cancelled = true;
    },
  });
  const translated = anthropicStreamToOpenAI(upstream, { model: "claude" });
  await assert.rejects(
    new Response(translated).text(),
    (error) => error instanceof StreamFault && error.code === "upstream_event_too_large",
  );
  assert.ok(cancelled, "the upstream was cancelled");
  assert.ok(sent <= DEFAULT_MAX_EVENT_LENGTH + 2 * read.length, `read ${sent}`);
});
