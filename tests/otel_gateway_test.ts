/**
 * The otel sink behind a real gateway, with the `openai` client: trace
 * context in (traceparent, tracestate, baggage) and out (x-sluice-trace-id,
 * the upstream's traceparent), the span's times against the log event's,
 * typed gen_ai.* attributes on the wire (protobuf and JSON), messages only
 * where the sink's redaction policy keeps them, masked PII, key info
 * removal, streaming (end of stream, time to first token), and gateways
 * started from the CLI configured only through OTEL_* variables (OTLP/HTTP,
 * and SigNoz's gRPC setup with all three signals, the plugin sandboxed).
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { readJsonlEvents, startGateway } from "./fakes/gateway.ts";
import { chatChunks, sseResponse, startUpstream } from "./fakes/upstream.ts";
import { startOtlpReceiver, until, valueOf } from "../plugins/otel/testdata/otlp_receiver.ts";
import {
  attributesOf,
  logRecordsOf,
  metricsOf,
  spansOf,
  startGrpcReceiver,
} from "../plugins/otel/testdata/signals_receiver.ts";
import { startCliGateway } from "./fakes/cli_gateway.ts";
import {
  assertGenAiAttributeTypes,
  assertGenAiJson,
  assertOtlpJson,
} from "../plugins/otel/testdata/schemas.ts";

const CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c";
const CALLER_SPAN = "b7ad6b7169203331";
const CLIENT_KEY = "sk-otel-client-key-0001";

/** Polls the JSONL sink's files until `n` events are there. */
async function jsonlEvents(dir: string, n: number): Promise<Record<string, unknown>[]> {
  let events: Record<string, unknown>[] = [];
  for (let i = 0; i < 250 && events.length < n; i++) {
    events = await readJsonlEvents(dir).catch(() => []);
    if (events.length < n) await new Promise((r) => setTimeout(r, 20));
  }
  return events;
}

Deno.test("a traced chat call: one CLIENT span per sink, child of the caller, with the call's ids, times and policy", async () => {
  const upstream = startUpstream();
  const full = startOtlpReceiver(); // default policy: messages masked
  const json = startOtlpReceiver(); // http/json, key info redacted
  const removed = startOtlpReceiver(); // messages: remove
  const dir = await Deno.makeTempDir();
  const gw = await startGateway({
    models: [{
      name: "gpt-test",
      provider: "openai",
      model: "gpt-4o-mini",
      api_base: upstream.url,
      api_key: "sk-upstream-0001",
    }],
    teams: [{ name: "otel-team" }],
    keys: [{ key: CLIENT_KEY, alias: "otel-app", team: "otel-team", user: "bob" }],
    controls: { forward_traceparent_to_llm_provider: true },
    sinks: [
      {
        name: "otel-full",
        use: "otel",
        config: { endpoint: full.base, protocol: "http/protobuf", service_name: "gw-test" },
        queue: { flush_interval_ms: 10 },
      },
      {
        name: "otel-json",
        use: "otel",
        config: { traces_endpoint: json.tracesUrl, protocol: "http/json" },
        queue: { flush_interval_ms: 10 },
        redaction: { redact_user_api_key_info: true },
      },
      {
        name: "otel-private",
        use: "otel",
        config: { endpoint: removed.base },
        queue: { flush_interval_ms: 10 },
        redaction: { messages: "remove" },
      },
      { name: "events", use: "jsonl", config: { dir }, queue: { flush_interval_ms: 10 } },
    ],
  });
  try {
    const client = new OpenAI({ apiKey: CLIENT_KEY, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const { data, response } = await client.chat.completions.create(
      {
        model: "gpt-test",
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "Write to alice@example.com about the launch" },
        ],
        temperature: 0.5,
        max_tokens: 100,
        seed: 7,
        metadata: { session_id: "sess-42", tags: ["launch"] } as never,
      },
      {
        headers: {
          traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01`,
          tracestate: "rojo=00f067aa0ba902b7",
          baggage: "tenant=acme,user.tier=gold%20plus",
        },
      },
    ).withResponse();
    assert.equal(data.choices[0].message.content, "Hello from the fake upstream.");
    assert.equal(response.headers.get("x-sluice-trace-id"), CALLER_TRACE);

    await until(
      () => full.spans().length === 1 && json.spans().length === 1 && removed.spans().length === 1,
      10_000,
      "a span at each receiver",
    );
    const events = await jsonlEvents(dir, 1);
    assert.equal(events.length, 1);
    const event = events[0] as {
      span_id: string;
      start_time: number;
      end_time: number;
      request_id: string;
    };

    for (const rx of [full, json, removed]) {
      const [{ span, attributes }] = rx.spans();
      assert.equal(span.name, "chat gpt-test");
      assert.equal(span.kind, 3);
      assert.equal(span.traceId, CALLER_TRACE, "the trace the caller started");
      assert.equal(span.traceId, response.headers.get("x-sluice-trace-id"));
      assert.equal(span.parentSpanId, CALLER_SPAN, "child of the caller's span");
      assert.equal(span.spanId, event.span_id, "the span core created for the call");
      assert.equal(span.traceState, "rojo=00f067aa0ba902b7");
      assert.equal(span.startTimeUnixNano, String(BigInt(event.start_time) * 1_000_000n));
      assert.equal(span.endTimeUnixNano, String(BigInt(event.end_time) * 1_000_000n));
      assert.equal(valueOf(attributes["sluice.request_id"]), event.request_id);
      assertGenAiAttributeTypes(attributes);
      assert.deepEqual(attributes["gen_ai.operation.name"], { stringValue: "chat" });
      assert.deepEqual(attributes["gen_ai.provider.name"], { stringValue: "openai" });
      assert.deepEqual(attributes["gen_ai.request.model"], { stringValue: "gpt-test" });
      assert.deepEqual(attributes["gen_ai.response.model"], { stringValue: "gpt-4o-mini" });
      assert.deepEqual(attributes["gen_ai.response.id"], { stringValue: "chatcmpl-fake-1" });
      assert.deepEqual(attributes["gen_ai.request.max_tokens"], { intValue: "100" });
      assert.deepEqual(attributes["gen_ai.request.temperature"], { doubleValue: 0.5 });
      assert.deepEqual(attributes["gen_ai.request.seed"], { intValue: "7" });
      assert.deepEqual(attributes["gen_ai.usage.input_tokens"], { intValue: "11" });
      assert.deepEqual(attributes["gen_ai.usage.output_tokens"], { intValue: "7" });
      assert.deepEqual(valueOf(attributes["gen_ai.response.finish_reasons"]), ["stop"]);
      assert.deepEqual(attributes["gen_ai.conversation.id"], { stringValue: "sess-42" });
      assert.deepEqual(attributes["server.address"], { stringValue: "127.0.0.1" });
      assert.deepEqual(attributes["server.port"], { intValue: String(upstream.port) });
      assert.equal(valueOf(attributes["sluice.baggage.tenant"]), "acme");
      assert.equal(valueOf(attributes["sluice.baggage.user.tier"]), "gold plus");
      assert.deepEqual(valueOf(attributes["sluice.tags"]), ["launch"]);
      const all = JSON.stringify(rx.all.map((r) => new TextDecoder().decode(r.body)));
      assert.ok(!all.includes("alice@example.com"), "the email never leaves the gateway");
      assert.ok(!all.includes(CLIENT_KEY) && !all.includes("sk-upstream-0001"), "no key");
    }

    // Default policy (mask): messages recorded, PII masked.
    const fullAttrs = full.spans()[0].attributes;
    const input = assertGenAiJson(
      "gen_ai.input.messages",
      valueOf(fullAttrs["gen_ai.input.messages"]),
    );
    assert.deepEqual(input, [
      { role: "system", parts: [{ type: "text", content: "Be brief." }] },
      { role: "user", parts: [{ type: "text", content: "Write to [EMAIL] about the launch" }] },
    ]);
    const output = assertGenAiJson(
      "gen_ai.output.messages",
      valueOf(fullAttrs["gen_ai.output.messages"]),
    );
    assert.deepEqual(output, [{
      role: "assistant",
      parts: [{ type: "text", content: "Hello from the fake upstream." }],
      finish_reason: "stop",
    }]);
    assert.equal(valueOf(fullAttrs["sluice.user_api_key_alias"]), "otel-app");
    assert.equal(valueOf(fullAttrs["sluice.user_api_key_team"]), "otel-team");
    assert.equal(valueOf(fullAttrs["sluice.user_api_key_user_id"]), "bob");
    assert.deepEqual(full.spans()[0].resource["service.name"], { stringValue: "gw-test" });

    // redact_user_api_key_info: the key fields are simply absent; JSON body matches the schema.
    assertOtlpJson(json.accepted[0].rawJson);
    const jsonAttrs = json.spans()[0].attributes;
    assert.deepEqual(Object.keys(jsonAttrs).filter((k) => k.includes("user_api_key")), []);
    assert.ok(jsonAttrs["gen_ai.input.messages"]);

    // messages: remove: no content attributes at all, the rest intact.
    const privateAttrs = removed.spans()[0].attributes;
    for (
      const key of ["gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions"]
    ) {
      assert.equal(privateAttrs[key], undefined, key);
    }
    assert.ok(!JSON.stringify(privateAttrs).includes("[REDACTED]"));
    assert.deepEqual(privateAttrs["gen_ai.usage.input_tokens"], { intValue: "11" });

    // The upstream was called with this span as its parent.
    assert.equal(
      upstream.requests[0].headers.traceparent,
      `00-${CALLER_TRACE}-${event.span_id}-01`,
    );
  } finally {
    await gw.close();
    await Promise.all([full.close(), json.close(), removed.close(), upstream.close()]);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a call without traceparent is a root span whose trace id is the x-sluice-trace-id header", async () => {
  const rx = startOtlpReceiver();
  const gw = await startGateway({
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [{ use: "otel", config: { endpoint: rx.base }, queue: { flush_interval_ms: 10 } }],
  });
  try {
    const client = new OpenAI({ apiKey: "k", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const { response } = await client.chat.completions.create({
      model: "mock-gpt",
      messages: [{ role: "user", content: "hi" }],
    }).withResponse();
    await until(() => rx.spans().length === 1, 10_000, "the span");
    const [{ span, attributes }] = rx.spans();
    assert.equal(span.traceId, response.headers.get("x-sluice-trace-id"));
    assert.equal(span.parentSpanId, undefined);
    assert.equal(valueOf(attributes["sluice.call_id"]), response.headers.get("x-sluice-call-id"));
    assert.deepEqual(attributes["gen_ai.provider.name"], { stringValue: "sluice.mock" });
    assert.equal(span.name, "chat mock-gpt");
  } finally {
    await gw.close();
    await rx.close();
  }
});

Deno.test("a streamed chat call: the span ends when the stream ends and carries time to first token", async () => {
  const words = ["slow", "stream", "done"];
  const upstream = startUpstream((req) =>
    sseResponse(
      chatChunks(String(req.body?.model), words),
      // 150 ms before the first word, 100 ms before each later event
      (i) => new Promise((r) => setTimeout(r, i === 1 ? 150 : i > 1 ? 100 : 0)),
    )
  );
  const rx = startOtlpReceiver();
  const gw = await startGateway({
    models: [{ name: "m", provider: "openai", api_base: upstream.url }],
    sinks: [{
      use: "otel",
      config: { endpoint: rx.base, protocol: "http/json" },
      queue: { flush_interval_ms: 10 },
    }],
  });
  try {
    const client = new OpenAI({ apiKey: "k", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const sent = Date.now();
    const stream = await client.chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "go" }],
      stream: true,
    });
    let firstTokenAt = 0;
    let text = "";
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta?.content;
      if (delta && !firstTokenAt) firstTokenAt = Date.now();
      text += delta ?? "";
    }
    const done = Date.now();
    assert.equal(text, "slow stream done");
    await until(() => rx.spans().length === 1, 10_000, "the span");
    const [{ span, attributes }] = rx.spans();
    assertOtlpJson(rx.accepted[0].rawJson);
    assertGenAiAttributeTypes(attributes);
    const start = Number(BigInt(span.startTimeUnixNano) / 1_000_000n);
    const end = Number(BigInt(span.endTimeUnixNano) / 1_000_000n);
    assert.ok(start >= sent - 5 && start <= firstTokenAt, "starts when the call arrives");
    assert.ok(
      end >= firstTokenAt + 300 - 20,
      `ends at the end of the stream (${end - firstTokenAt} ms after the first token)`,
    );
    assert.ok(end <= done + 50, "not after the client saw the end");
    assert.ok(end - start >= 450 - 20, `the span covers the whole stream: ${end - start} ms`);
    const ttft = valueOf(attributes["gen_ai.response.time_to_first_chunk"]) as number;
    const ttftMs = valueOf(attributes["sluice.time_to_first_token_ms"]) as number;
    assert.ok(ttft >= 0.13 && ttft < (end - start) / 1000, `time to first chunk ${ttft} s`);
    assert.ok(Math.abs(ttftMs - ttft * 1000) <= 1);
    assert.ok(start + ttftMs <= firstTokenAt + 5);
    assert.deepEqual(attributes["gen_ai.request.stream"], { boolValue: true });
    assert.deepEqual(valueOf(attributes["gen_ai.usage.output_tokens"]), 3);
    const output = assertGenAiJson(
      "gen_ai.output.messages",
      valueOf(attributes["gen_ai.output.messages"]),
    );
    assert.deepEqual(output, [{
      role: "assistant",
      parts: [{ type: "text", content: "slow stream done" }],
      finish_reason: "stop",
    }]);
  } finally {
    await gw.close();
    await rx.close();
    await upstream.close();
  }
});

Deno.test("configured only through OTEL_* variables: the CLI gateway exports to OTEL_EXPORTER_OTLP_ENDPOINT with its headers and resource", async () => {
  const rx = startOtlpReceiver();
  const dir = await Deno.makeTempDir();
  const config = `${dir}/gateway.yaml`;
  await Deno.writeTextFile(
    config,
    JSON.stringify({
      server: { data_dir: dir },
      models: [{ name: "mock-gpt", provider: "mock" }],
      sinks: [{ use: "otel", queue: { flush_interval_ms: 20 } }],
    }),
  );
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../mod.ts", import.meta.url).pathname,
      "--config",
      config,
      "--port",
      String(port),
    ],
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: `${rx.base}/collector`,
      OTEL_EXPORTER_OTLP_HEADERS: "x-otlp-token=t%3D1%2C2,x-tenant=acme",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_SERVICE_NAME: "sluice-from-env",
      OTEL_RESOURCE_ATTRIBUTES: "deployment.environment.name=staging,service.namespace=llm%20gw",
    },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  try {
    const url = `http://127.0.0.1:${port}`;
    let ready = false;
    for (let i = 0; i < 150 && !ready; i++) {
      try {
        const res = await fetch(`${url}/health/readiness`);
        await res.body?.cancel();
        ready = res.ok;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.ok(ready, "the gateway started");
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "mock-gpt", messages: [{ role: "user", content: "hi" }] }),
    });
    await res.body?.cancel();
    assert.equal(res.status, 200);
    await until(() => rx.spans().length === 1, 15_000, "the span");
    const [request] = rx.accepted;
    assert.equal(request.path, "/collector/v1/traces", "the signal path is appended");
    assert.equal(request.headers.get("x-otlp-token"), "t=1,2", "values are URL-decoded");
    assert.equal(request.headers.get("x-tenant"), "acme");
    assert.equal(request.headers.get("content-type"), "application/json");
    assertOtlpJson(request.rawJson);
    const [{ span, resource }] = rx.spans();
    assert.equal(span.traceId, res.headers.get("x-sluice-trace-id"));
    assert.deepEqual(resource["service.name"], { stringValue: "sluice-from-env" });
    assert.deepEqual(resource["deployment.environment.name"], { stringValue: "staging" });
    assert.deepEqual(resource["service.namespace"], { stringValue: "llm gw" });
    assert.match(String(valueOf(resource["service.version"])), /^\d+\.\d+\.\d+/);
  } finally {
    child.kill("SIGTERM");
    const status = await child.status;
    const log = await stderr;
    assert.equal(status.code, 0, log);
    assert.ok(!log.includes("t=1,2") && !log.includes("t%3D1"), "header values are never logged");
    await rx.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the gateway validates the otel sink's config with the plugin's JSON Schema", async () => {
  await assert.rejects(
    () =>
      startGateway({
        models: [{ name: "mock-gpt", provider: "mock" }],
        sinks: [{ name: "traces", use: "otel", config: { protocol: "grpc2", endpont: "x" } }],
      }),
    (error: Error) => {
      assert.match(error.message, /sinks\[traces\]\.config\.protocol/);
      assert.match(error.message, /unknown key "endpont"/);
      return true;
    },
  );
});

Deno.test("SigNoz's guide over gRPC + gzip, sandboxed: correlated spans and logs, token metrics equal to the answers' usage", async () => {
  const rx = await startGrpcReceiver();
  const dir = await Deno.makeTempDir();
  const config = `${dir}/gateway.yaml`;
  await Deno.writeTextFile(
    config,
    JSON.stringify({
      server: { data_dir: dir },
      models: [{ name: "mock-gpt", provider: "mock" }],
      sinks: [{ use: "otel", queue: { flush_interval_ms: 20 } }],
    }),
  );
  const ingestionKey = "signoz-ingestion-secret-0042";
  const gw = await startCliGateway(config, {
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: `127.0.0.1:${rx.port}`,
      OTEL_EXPORTER_OTLP_INSECURE: "true",
      OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
      OTEL_EXPORTER_OTLP_COMPRESSION: "gzip",
      OTEL_TRACES_EXPORTER: "otlp",
      OTEL_METRICS_EXPORTER: "otlp",
      OTEL_LOGS_EXPORTER: "otlp",
      OTEL_METRIC_EXPORT_INTERVAL: "200",
      OTEL_EXPORTER_OTLP_HEADERS: `signoz-ingestion-key=${ingestionKey}`,
      OTEL_SERVICE_NAME: "llm-gateway",
    },
  });
  try {
    const client = new OpenAI({ apiKey: "unused", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const plain = await client.chat.completions.create({
      model: "mock-gpt",
      messages: [{ role: "user", content: "hello over grpc" }],
    }).withResponse();
    const stream = await client.chat.completions.create({
      model: "mock-gpt",
      messages: [{ role: "user", content: "stream over grpc" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let streamedUsage: { prompt_tokens: number; completion_tokens: number } | undefined;
    for await (const chunk of stream) streamedUsage = chunk.usage ?? streamedUsage;
    const usages = [plain.data.usage!, streamedUsage!];
    const traceIds = [plain.response.headers.get("x-sluice-trace-id")];

    await until(() => spansOf(rx.accepted).length === 2, 15_000, "two spans");
    await until(() => logRecordsOf(rx.accepted).length === 2, 15_000, "two log records");
    const inputTokens = usages.reduce((n, u) => n + u.prompt_tokens, 0);
    const outputTokens = usages.reduce((n, u) => n + u.completion_tokens, 0);
    const tokenSum = (type: string) => {
      const last = rx.accepted.filter((r) => r.signal === "metrics").at(-1);
      const metric = last && metricsOf([last]).find((m) => m.name === "gen_ai.client.token.usage");
      return (metric?.histogram.dataPoints ?? [])
        .filter((p: { attributes: [] }) => attributesOf(p.attributes)["gen_ai.token.type"] === type)
        .reduce((n: number, p: { sum: number }) => n + p.sum, 0);
    };
    await until(
      () => tokenSum("input") === inputTokens && tokenSum("output") === outputTokens,
      15_000,
      "cumulative token usage equal to the answers' usage",
    );

    const spans = spansOf(rx.accepted);
    const records = logRecordsOf(rx.accepted);
    assert.ok(traceIds.every((id) => spans.some((s) => s.traceId === id)));
    assert.deepEqual(
      records.map((r) => `${r.traceId}/${r.spanId}`).sort(),
      spans.map((s) => `${s.traceId}/${s.spanId}`).sort(),
      "every log record sits in its call's span",
    );
    for (const received of rx.accepted) {
      assert.equal(received.headers["signoz-ingestion-key"], ingestionKey);
    }
    for (const signal of ["traces", "metrics", "logs"]) {
      assert.match(
        gw.stderr(),
        new RegExp(`exporting ${signal} to \\S+ \\(grpc, gzip, from OTEL_`),
      );
    }
    const resource = rx.accepted.find((r) => r.signal === "metrics")!.request.resourceMetrics[0]
      .resource;
    assert.equal(attributesOf(resource.attributes)["service.name"], "llm-gateway");
  } finally {
    const code = await gw.terminate();
    assert.equal(code, 0, gw.stderr());
    assert.ok(!gw.stderr().includes(ingestionKey), "header values are never logged");
    await rx.close();
    await Deno.remove(dir, { recursive: true });
  }
});
