/**
 * The log side runs in its own Worker: a sink that blocks its thread, or a
 * huge event being redacted and written, never holds up a request; and the
 * in-thread host builds the very same events as the Worker host.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import OpenAI from "openai";
import { parseConfig } from "../core/config/load.ts";
import type { FinishedCall } from "../core/log/call.ts";
import { InThreadLogHost, type LogHost, WorkerLogHost } from "../core/log/host.ts";
import { readJsonlEvents, startGateway } from "./fakes/gateway.ts";
import { until } from "./fakes/outage.ts";
import { FIXTURES } from "./fakes/sink_entry.ts";

const exists = (path: string) => Deno.stat(path).then(() => true, () => false);

Deno.test("a sink that blocks its thread for seconds does not delay a concurrent request", async () => {
  const dir = await Deno.makeTempDir();
  const marker = join(dir, "blocked");
  const gw = await startGateway({
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [{
      use: join(FIXTURES, "blocking.js"),
      sandbox: false, // in the log Worker itself: its thread is what blocks
      queue: { batch_size: 1, flush_interval_ms: 1 },
      config: { marker, ms: 3_000 },
    }],
  });
  try {
    const client = new OpenAI({ apiKey: "none", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const ask = () =>
      client.chat.completions.create({
        model: "mock-gpt",
        messages: [{ role: "user", content: "hi" }],
      });
    await ask();
    await until(() => exists(`${marker}.start`), 10_000, "the sink to start blocking");
    // The log thread is now stuck in a synchronous wait: requests must not be.
    const answer = await ask();
    assert.ok(answer.choices[0].message.content);
    assert.equal(
      await exists(`${marker}.end`),
      false,
      "the second call waited for the blocked sink to return",
    );
  } finally {
    await gw.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an 11 MB image call (8 MiB of image bytes) is served and logged with its base64 stripped while small calls go on", async () => {
  const dir = await Deno.makeTempDir();
  const gw = await startGateway({
    server: { max_body_bytes: 32 * 1024 * 1024 },
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [{ use: "jsonl", config: { dir } }],
  });
  try {
    const client = new OpenAI({ apiKey: "none", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const raw = new Uint8Array(8 * 1024 * 1024);
    for (let i = 0; i < raw.length; i += 65536) crypto.getRandomValues(raw.subarray(i, i + 65536));
    const image = `data:image/png;base64,${encodeBase64(raw)}`;
    const big = client.chat.completions.create({
      model: "mock-gpt",
      messages: [{
        role: "user",
        content: [
          { type: "text", text: "what is in this picture?" },
          { type: "image_url", image_url: { url: image } },
        ],
      }],
    });
    const small = Array.from({ length: 20 }, (_, i) =>
      client.chat.completions.create({
        model: "mock-gpt",
        messages: [{ role: "user", content: `small ${i}` }],
      }));
    const answers = await Promise.all([big, ...small]);
    assert.equal(answers.length, 21);
    await until(
      async () => (await readJsonlEvents(dir).catch(() => [])).length === 21,
      20_000,
      "21 events in the JSONL file",
    );
    const events = await readJsonlEvents(dir);
    const line = JSON.stringify(events);
    assert.ok(line.length < 1_000_000, `the logged events hold the image (${line.length} bytes)`);
    const bigEvent = events.find((e) => JSON.stringify(e.messages).includes("picture"));
    assert.ok(bigEvent);
    assert.match(
      JSON.stringify(bigEvent.messages),
      /data:image\/png;base64,\[stripped 8\.4 MB\]/,
    );
  } finally {
    await gw.close();
    await Deno.remove(dir, { recursive: true });
  }
});

function encodeBase64(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 0x6000) {
    out += btoa(String.fromCharCode(...bytes.subarray(i, i + 0x6000)));
  }
  return out;
}

/** One realistic finished call, its body as bytes (as the request thread hands it over). */
function finishedCall(n: number): FinishedCall {
  const body = {
    model: "m",
    messages: [{ role: "user", content: `mail me at ann${n}@example.com` }],
    temperature: 0.2,
    metadata: { session_id: `s-${n}`, tags: ["t"] },
  };
  return {
    requestId: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`,
    callId: `call-${n}`,
    callType: "chat",
    trace: { traceId: "a".repeat(32), spanId: "b".repeat(16) },
    startTime: 1_700_000_000_000,
    endTime: 1_700_000_000_120,
    userAgent: "test",
    tagHeaders: ["x, y"],
    caller: { keyHash: "c".repeat(64), alias: "app" },
    bodyBytes: new TextEncoder().encode(JSON.stringify(body)),
    model: "m",
    stream: false,
    deployment: {
      id: "d1",
      upstreamModel: "m-up",
      apiBase: "http://127.0.0.1:1/v1",
      provider: "mock",
    },
    usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
    resultText: JSON.stringify({
      id: `r-${n}`,
      choices: [{ message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
    }),
  };
}

Deno.test("the in-thread host and the Worker host write the same events", async () => {
  const written: Record<string, unknown>[][] = [];
  for (const start of [InThreadLogHost.start, WorkerLogHost.start]) {
    const dir = await Deno.makeTempDir();
    const config = parseConfig({
      server: { data_dir: join(dir, "data") },
      models: [{ name: "m", provider: "mock" }],
      sinks: [{ use: "jsonl", config: { dir: join(dir, "out") } }],
    });
    const host: LogHost = await start({ config, baseDir: Deno.cwd(), secrets: [] });
    assert.deepEqual(host.sinkNames, ["jsonl"]);
    host.submit([finishedCall(1), finishedCall(2)]);
    await host.close(5_000);
    written.push(await readJsonlEvents(join(dir, "out")));
    await Deno.remove(dir, { recursive: true });
  }
  const [inThread, worker] = written;
  assert.equal(inThread.length, 2);
  assert.deepEqual(worker, inThread);
  const first = inThread.find((e) => e.call_id === "call-1")!;
  assert.equal(first.model_group, "m");
  assert.deepEqual(first.response, { role: "assistant", content: "ok" });
  assert.deepEqual(first.finish_reasons, ["stop"]);
  assert.match(JSON.stringify(first.messages), /\[EMAIL\]/);
  assert.deepEqual((first.metadata as Record<string, unknown>).tags, ["x", "y", "t"]);
});

Deno.test("a Worker host that fails to start rejects with the sink and the cause", async () => {
  const config = parseConfig({
    models: [{ name: "m", provider: "mock" }],
    sinks: [{ name: "audit", use: "./no-such-plugin.ts" }],
  });
  await assert.rejects(
    WorkerLogHost.start({ config, baseDir: Deno.cwd(), secrets: [] }),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, "plugin_not_found");
      assert.match(e.message, /sink "audit"/);
      return true;
    },
  );
});

Deno.test("a heavy call is logged after the small calls handed over beside it", async () => {
  const dir = await Deno.makeTempDir();
  const config = parseConfig({
    server: { data_dir: join(dir, "data") },
    models: [{ name: "m", provider: "mock" }],
    sinks: [{ use: "jsonl", config: { dir: join(dir, "out") } }],
  });
  const host = await InThreadLogHost.start({ config, baseDir: Deno.cwd(), secrets: [] });
  const heavy = finishedCall(1);
  heavy.bodyBytes = new TextEncoder().encode(JSON.stringify({
    model: "m",
    messages: [{ role: "user", content: "word ".repeat(300_000) }],
  }));
  host.submit([heavy, finishedCall(2), finishedCall(3)]);
  await host.close(5_000);
  const order = (await readJsonlEvents(join(dir, "out"))).map((e) => e.call_id);
  await Deno.remove(dir, { recursive: true });
  assert.deepEqual(order, ["call-2", "call-3", "call-1"]);
});

Deno.test("an event over log.max_event_bytes has its content cut with a marker, and is counted", async () => {
  const dir = await Deno.makeTempDir();
  const gw = await startGateway({
    models: [{ name: "mock-gpt", provider: "mock" }],
    log: { max_event_bytes: 65_536 },
    sinks: [{ use: "jsonl", config: { dir }, queue: { flush_interval_ms: 10 } }],
  });
  try {
    const prose = "The quick brown fox jumps over the lazy dog. ".repeat(25_000); // 1.1 MB
    const client = new OpenAI({ apiKey: "none", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    await client.chat.completions.create({
      model: "mock-gpt",
      messages: [{ role: "user", content: prose }],
    });
    let metrics = "";
    await until(
      async () => {
        metrics = await (await fetch(`${gw.url}/metrics`)).text();
        return /outcome="sent"\} 1$/m.test(metrics);
      },
      10_000,
      "the event to be sent",
    );
    assert.match(metrics, /^sluice_sink_events_total\{sink="jsonl",outcome="truncated"\} 1$/m);
    const [event] = await readJsonlEvents(dir);
    const line = JSON.stringify(event);
    assert.ok(line.length <= 65_536, `the event is ${line.length} chars`);
    const content = (event.messages as { content: string }[])[0].content;
    assert.ok(content.startsWith("The quick brown fox"));
    assert.match(content, /…\[truncated \d+ chars\]$/);
    assert.equal(event.model_group, "mock-gpt", "the rest of the event is whole");
  } finally {
    await gw.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a plugin's stray errors are reported and never end the log side: other sinks keep every event", async () => {
  const dir = await Deno.makeTempDir();
  const lines: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => lines.push(args.map(String).join(" "));
  const gw = await startGateway({
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [
      {
        use: join(FIXTURES, "stray_error.js"),
        sandbox: false, // its stray errors land in the log Worker itself
        queue: { batch_size: 1, flush_interval_ms: 1 },
      },
      { use: "jsonl", config: { dir }, queue: { flush_interval_ms: 10 } },
    ],
  });
  try {
    const client = new OpenAI({ apiKey: "none", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    for (let i = 0; i < 5; i++) {
      await client.chat.completions.create({
        model: "mock-gpt",
        messages: [{ role: "user", content: `call ${i}` }],
      });
    }
    await until(
      async () => (await readJsonlEvents(dir).catch(() => [])).length === 5,
      10_000,
      "5 events in the JSONL file",
    );
    await until(
      () => lines.some((l) => /uncaught error on the log side.*stray error from a timer/.test(l)),
      10_000,
      "the stray error's report",
    );
    assert.ok(lines.some((l) => /unhandled rejection on the log side.*stray rejection/.test(l)));
    assert.ok(!lines.some((l) => /the log worker failed/.test(l)), lines.join("\n"));
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(metrics, /sluice_requests_total\{[^}]*status="200"\} 5$/m, "the log side answers");
  } finally {
    await gw.close();
    console.error = original;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("when the log Worker is far behind, further calls are shed, counted in /metrics and reported", async () => {
  const dir = await Deno.makeTempDir();
  const marker = join(dir, "blocked");
  const lines: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => lines.push(args.map(String).join(" "));
  const config = parseConfig({
    server: { data_dir: join(dir, "data") },
    models: [{ name: "m", provider: "mock" }],
    sinks: [{
      use: join(FIXTURES, "blocking.js"),
      sandbox: false, // in the log Worker itself: its thread is what blocks
      queue: { batch_size: 1, flush_interval_ms: 1 },
      config: { marker, ms: 2_000 },
    }],
  });
  const host = await WorkerLogHost.start({ config, baseDir: Deno.cwd(), secrets: [] }, 50);
  try {
    host.submit([finishedCall(0)]);
    await until(() => exists(`${marker}.start`), 10_000, "the log Worker to block");
    let n = 1;
    for (let batch = 0; batch < 10; batch++) {
      host.submit(Array.from({ length: 10 }, () => finishedCall(n++)));
    }
    // 50 are handed over and wait; the other 50 are shed at once, reported (throttled).
    assert.ok(
      lines.some((l) => /calls were not logged: the log side is 50 calls behind/.test(l)),
      lines.join("\n"),
    );
    await until(() => exists(`${marker}.end`), 10_000, "the block to end");
    // The count travels with the next batch handed over: once the Worker answered a scrape it
    // has taken everything before it, so the next call is handed over, not shed.
    await host.metrics();
    host.submit([finishedCall(n++)]);
    let metrics = "";
    await until(
      async () => {
        metrics = await host.metrics();
        return /^sluice_log_handoff_dropped_total 50$/m.test(metrics);
      },
      10_000,
      "the shed calls in /metrics",
    );
  } finally {
    await host.close(5_000);
    console.error = original;
    await Deno.remove(dir, { recursive: true });
  }
});
