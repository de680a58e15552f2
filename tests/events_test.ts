/**
 * The log event of each call: fields of DESIGN §4, key hashing, metadata,
 * trace ids, failures, routing controls (no-log, disabled sinks, key lists).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import OpenAI from "openai";
import { readJsonlEvents, startGateway } from "./fakes/gateway.ts";

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

Deno.test("a success event has ids, model, timings, usage, cost and metadata; keys only as hashes", async () => {
  const dir = await Deno.makeTempDir();
  const gw = await startGateway({
    models: [{
      name: "mock-gpt",
      provider: "mock",
      input_cost_per_token: 1e-6,
      output_cost_per_token: 2e-6,
    }],
    keys: [{ key: "sk-team-key-0001", alias: "app-a", team: "team-a", user: "alice" }],
    teams: [{ name: "team-a" }],
    sinks: [{ use: "jsonl", config: { dir }, queue: { flush_interval_ms: 10 } }],
  });
  let callId = "";
  let overheadHeader = "";
  try {
    const client = new OpenAI({
      apiKey: "sk-team-key-0001",
      baseURL: `${gw.url}/v1`,
      maxRetries: 0,
    });
    const { data, response } = await client.chat.completions.create({
      model: "mock-gpt",
      messages: [{ role: "user", content: "Hello there" }],
      temperature: 0.5,
      user: "end-user-7",
      // deno-lint-ignore no-explicit-any
      ...({ metadata: { trace_id: "my-trace", session_id: "sess-1", tags: ["t1"] } } as any),
    }, { headers: { "x-sluice-tags": "web, beta", "user-agent": "test-agent/1" } }).withResponse();
    callId = response.headers.get("x-sluice-call-id")!;
    overheadHeader = response.headers.get("x-sluice-overhead-ms")!;
    assert.ok(data.id);
  } finally {
    await gw.close();
  }
  const events = await readJsonlEvents(dir);
  await Deno.remove(dir, { recursive: true });
  assert.equal(events.length, 1);
  // deno-lint-ignore no-explicit-any
  const e = events[0] as Record<string, any>;
  assert.equal(e.schema_version, 1);
  assert.equal(e.call_id, callId);
  assert.equal(e.request_id, callId);
  assert.match(e.id, /^mock-/);
  assert.equal(e.trace_id, sha256("my-trace").slice(0, 32));
  assert.match(e.span_id, /^[0-9a-f]{16}$/);
  assert.equal(e.call_type, "chat");
  assert.equal(e.status, "success");
  assert.equal(e.provider, "mock");
  assert.equal(e.model_group, "mock-gpt");
  assert.deepEqual(e.model_parameters, { temperature: 0.5 });
  assert.ok(e.end_time >= e.start_time);
  assert.equal(e.response_time_ms, e.end_time - e.start_time);
  // The timing split the console's bar shows: the header's overhead, the upstream's wait.
  assert.equal(e.gateway_overhead_ms.toFixed(3), overheadHeader);
  assert.ok(e.upstream_ms >= 0 && e.gateway_overhead_ms >= 0);
  assert.ok(e.upstream_ms + e.gateway_overhead_ms <= e.response_time_ms + 1);
  assert.ok(e.prompt_tokens > 0 && e.completion_tokens > 0);
  assert.equal(e.total_tokens, e.prompt_tokens + e.completion_tokens);
  assert.ok(
    Math.abs(e.response_cost - (e.prompt_tokens * 1e-6 + e.completion_tokens * 2e-6)) < 1e-12,
  );
  assert.deepEqual(e.messages, [{ role: "user", content: "Hello there" }]);
  assert.equal(e.response.role, "assistant");
  assert.match(e.response.content, /Hello there/);
  assert.deepEqual(e.finish_reasons, ["stop"]);
  assert.equal(e.metadata.user_api_key_hash, sha256("sk-team-key-0001"));
  assert.equal(e.metadata.user_api_key_alias, "app-a");
  assert.equal(e.metadata.user_api_key_team, "team-a");
  assert.equal(e.metadata.user_api_key_user_id, "alice");
  assert.equal(e.metadata.end_user, "end-user-7");
  assert.equal(e.metadata.requester_ip, "127.0.0.1");
  assert.equal(e.metadata.user_agent, "test-agent/1");
  assert.deepEqual(e.metadata.tags, ["web", "beta", "t1"]);
  assert.equal(e.metadata.request.session_id, "sess-1");
  assert.ok(!JSON.stringify(e).includes("sk-team-key-0001"), "the raw key never appears");
});

Deno.test("failures become events too; no-log and disabled sinks are honoured", async () => {
  const dir = await Deno.makeTempDir();
  const other = await Deno.makeTempDir();
  const gw = await startGateway({
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [
      { name: "main", use: "jsonl", config: { dir }, queue: { flush_interval_ms: 10 } },
      {
        name: "audit",
        use: "jsonl",
        required: true,
        config: { dir: other },
        queue: { flush_interval_ms: 10 },
      },
    ],
  });
  const chat = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ messages: [{ role: "user", content: "x" }], ...body }),
    }).then((r) => r.body?.cancel());
  try {
    await chat({ model: "unknown-model" }, { "x-sluice-call-id": "fail-1" });
    await chat({ model: "mock-gpt", "no-log": true }, { "x-sluice-call-id": "nolog-1" });
    await chat({ model: "mock-gpt" }, {
      "x-sluice-call-id": "skip-1",
      "x-sluice-disable-sinks": "main,audit",
    });
    await chat({ model: "mock-gpt" }, { "x-sluice-call-id": "plain-1" });
  } finally {
    await gw.close();
  }
  const main = await readJsonlEvents(dir);
  const audit = await readJsonlEvents(other);
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(other, { recursive: true });
  assert.deepEqual(main.map((e) => e.call_id).sort(), ["fail-1", "plain-1"]);
  assert.deepEqual(
    audit.map((e) => e.call_id).sort(),
    ["fail-1", "nolog-1", "plain-1", "skip-1"],
    "required sinks get every call",
  );
  const failure = main.find((e) => e.call_id === "fail-1")!;
  assert.equal(failure.status, "failure");
  assert.deepEqual(failure.error, {
    status: 404,
    code: "model_not_found",
    class: "NotFoundError",
    message:
      'The model "unknown-model" does not exist on this gateway. Available models: mock-gpt.',
  });
});

Deno.test("a key's sink list replaces the global list; its team's applies otherwise", async () => {
  const a = await Deno.makeTempDir();
  const b = await Deno.makeTempDir();
  const gw = await startGateway({
    models: [{ name: "mock-gpt", provider: "mock" }],
    teams: [{ name: "t", sinks: ["sink-b"] }],
    keys: [
      { key: "sk-key-in-team-t", team: "t" },
      { key: "sk-key-own-list", team: "t", sinks: ["sink-a"] },
      { key: "sk-key-no-team" },
    ],
    sinks: [
      { name: "sink-a", use: "jsonl", config: { dir: a }, queue: { flush_interval_ms: 10 } },
      { name: "sink-b", use: "jsonl", config: { dir: b }, queue: { flush_interval_ms: 10 } },
    ],
  });
  try {
    for (const key of ["sk-key-in-team-t", "sk-key-own-list", "sk-key-no-team"]) {
      const client = new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
      await client.chat.completions.create({
        model: "mock-gpt",
        messages: [{ role: "user", content: "x" }],
      }, {
        headers: { "x-sluice-call-id": key.replace("sk-", "id-") },
      });
    }
  } finally {
    await gw.close();
  }
  const inA = (await readJsonlEvents(a)).map((e) => e.call_id).sort();
  const inB = (await readJsonlEvents(b)).map((e) => e.call_id).sort();
  await Deno.remove(a, { recursive: true });
  await Deno.remove(b, { recursive: true });
  assert.deepEqual(inA, ["id-key-no-team", "id-key-own-list"]);
  assert.deepEqual(inB, ["id-key-in-team-t", "id-key-no-team"]);
});

Deno.test("GET /metrics: requests, latency, tokens, cost and each sink's delivery in Prometheus format", async () => {
  const dir = await Deno.makeTempDir();
  const gw = await startGateway({
    server: { data_dir: dir },
    models: [{
      name: "mock-gpt",
      provider: "mock",
      input_cost_per_token: 1e-6,
      output_cost_per_token: 1e-6,
    }],
    sinks: [{ use: "jsonl", queue: { flush_interval_ms: 10 } }],
  });
  try {
    const client = new OpenAI({ apiKey: "k", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    for (let i = 0; i < 2; i++) {
      await client.chat.completions.create({
        model: "mock-gpt",
        messages: [{ role: "user", content: "x" }],
      });
    }
    await client.chat.completions.create({
      model: "nope",
      messages: [{ role: "user", content: "x" }],
    })
      .catch(() => {});
    let text = "";
    for (let i = 0; i < 100 && !text.includes('outcome="sent"} 3'); i++) {
      await new Promise((r) => setTimeout(r, 20));
      const res = await fetch(`${gw.url}/metrics`);
      assert.match(res.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
      text = await res.text();
    }
    assert.match(
      text,
      /^sluice_requests_total\{route="\/v1\/chat\/completions",model="mock-gpt",status="200"\} 2$/m,
    );
    assert.match(
      text,
      /^sluice_requests_total\{route="\/v1\/chat\/completions",model="__unknown__",status="404"\} 1$/m,
    );
    assert.match(
      text,
      /^sluice_request_duration_seconds_count\{route="\/v1\/chat\/completions",model="mock-gpt"\} 2$/m,
    );
    assert.match(text, /^sluice_request_duration_seconds_bucket\{.*le="\+Inf"\} 2$/m);
    assert.match(text, /^sluice_tokens_total\{model="mock-gpt",type="prompt"\} \d+$/m);
    assert.match(text, /^sluice_cost_usd_total\{model="mock-gpt"\} [\d.e-]+$/m);
    assert.match(text, /^sluice_sink_events_total\{sink="jsonl",outcome="sent"\} 3$/m);
    assert.match(text, /^sluice_sink_events_total\{sink="jsonl",outcome="dropped"\} 0$/m);
    assert.match(text, /^sluice_sink_queue_depth\{sink="jsonl"\} 0$/m);
    assert.match(text, /^sluice_sink_circuit_open\{sink="jsonl"\} 0$/m);
  } finally {
    await gw.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an optional sink that fails to load is skipped and reported as a gateway_error event", async () => {
  const dir = await Deno.makeTempDir();
  const gw = await startGateway({
    server: { data_dir: dir },
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [
      { name: "broken", use: "./does-not-exist.ts", optional: true },
      {
        name: "ops",
        use: "jsonl",
        on: ["gateway_error"],
        config: { dir: `${dir}/ops` },
        queue: { flush_interval_ms: 10 },
      },
    ],
  });
  await gw.close();
  const events = await readJsonlEvents(`${dir}/ops`);
  await Deno.remove(dir, { recursive: true });
  assert.equal(events.length, 1);
  assert.equal(events[0].call_type, "gateway_error");
  assert.equal(events[0].source, "broken");
  assert.match((events[0].error as { message: string }).message, /does-not-exist\.ts/);
});

Deno.test("a sink that fails to load stops the gateway from starting, naming the sink and the cause", async () => {
  await assert.rejects(
    startGateway({
      models: [{ name: "m", provider: "mock" }],
      sinks: [{ name: "audit", use: "./missing-plugin.ts" }],
    }),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, "plugin_not_found");
      assert.match(e.message, /sink "audit"/);
      assert.match(e.message, /missing-plugin\.ts/);
      return true;
    },
  );
});

Deno.test("existing_trace_id names the trace like metadata.trace_id, so every sink joins the same trace", async () => {
  const dir = await Deno.makeTempDir();
  const gw = await startGateway({
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [{ use: "jsonl", config: { dir }, queue: { flush_interval_ms: 10 } }],
  });
  try {
    const client = new OpenAI({ apiKey: "x", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    for (const metadata of [{ trace_id: "conv-9" }, { existing_trace_id: "conv-9" }]) {
      await client.chat.completions.create({
        model: "mock-gpt",
        messages: [{ role: "user", content: "hi" }],
        ...({ metadata } as object),
      });
    }
  } finally {
    await gw.close();
  }
  const events = await readJsonlEvents(dir);
  await Deno.remove(dir, { recursive: true });
  assert.deepEqual(events.map((e) => e.trace_id), [
    sha256("conv-9").slice(0, 32),
    sha256("conv-9").slice(0, 32),
  ]);
});
