import assert from "node:assert/strict";
import langfusePlugin, {
  createLangfuseSink,
  existingTraceParentId,
  isPermanentItemStatus,
  type LangfuseConfig,
  langfuseConfigSchema,
  normalizeHost,
  otelTraceIdOf,
  packBatches,
  renderDefaultTags,
  resolveLangfuseSettings,
  toIngestionEnvelopes,
  toLangfuseRecord,
  toLangfuseSpan,
  traceSampleScore,
} from "./mod.ts";
import {
  assertConformance,
  checkHttpSinkConformance,
  createTestContext,
  resolvePermissions,
  sampleEvent,
  sampleEvents,
  sampleFailureEvent,
  sampleGatewayErrorEvent,
} from "@sluice/core/testing";
import { type LogEvent, REMOVED_PLACEHOLDER, type SinkError } from "@sluice/core/plugin";
import denoJson from "./deno.json" with { type: "json" };
import {
  type IngestionEventJson,
  ingestionSchemaErrors,
  jsonAttribute,
  plainValue,
  type ReceivedRequest,
  startLangfuseReceiver,
  TEST_PUBLIC_KEY,
  TEST_SECRET_KEY,
} from "./test_support.ts";

const KEYS = { public_key: TEST_PUBLIC_KEY, secret_key: TEST_SECRET_KEY };

const ctxFor = (env: Record<string, string> = {}) =>
  createTestContext({
    env,
    permissions: langfusePlugin.permissions,
    gatewayVersion: "9.8.7",
    instanceName: "langfuse",
  });

async function rejection(promise: Promise<unknown> | unknown): Promise<SinkError> {
  try {
    await promise;
  } catch (error) {
    return error as SinkError;
  }
  throw new Error("log resolved; expected a rejection");
}

/** An event with extra request metadata. */
function withRequest(event: LogEvent, request: Record<string, unknown>): LogEvent {
  return { ...event, metadata: { ...event.metadata, request: { ...request } } };
}

// ---------------------------------------------------------------------------
// Conformance

const otlpRequestIds = (req: { body: Uint8Array }): string[] => {
  // deno-lint-ignore no-explicit-any
  const body = JSON.parse(new TextDecoder().decode(req.body)) as any;
  return body.resourceSpans.flatMap((rs: { scopeSpans: { spans: unknown[] }[] }) =>
    rs.scopeSpans.flatMap((ss) =>
      // deno-lint-ignore no-explicit-any
      ss.spans.map((s: any) =>
        plainValue(
          s.attributes.find((a: { key: string }) => a.key === "sluice.request_id")?.value,
        ) as string
      )
    )
  );
};

Deno.test("passes the HTTP sink conformance kit over OTLP/JSON", async () => {
  const report = await checkHttpSinkConformance<LangfuseConfig>(langfusePlugin, {
    config: (url) => ({ ...KEYS, host: url, protocol: "http/json", timeout_ms: 2000 }),
    eventsIn: otlpRequestIds,
  });
  assertConformance(report);
});

Deno.test("passes the HTTP sink conformance kit over the batch ingestion API", async () => {
  const report = await checkHttpSinkConformance<LangfuseConfig>(langfusePlugin, {
    config: (url) => ({ ...KEYS, host: url, transport: "ingestion", timeout_ms: 2000 }),
    eventsIn: (req) => {
      const body = JSON.parse(new TextDecoder().decode(req.body)) as {
        batch: IngestionEventJson[];
      };
      return body.batch.filter((e) => e.type === "generation-create").map((e) => e.body.id);
    },
    events: (n) => [...sampleEvents(n - 1), sampleFailureEvent()],
  });
  assertConformance(report);
});

// ---------------------------------------------------------------------------
// Config

Deno.test("config: environment fallbacks, host normalisation, defaults", () => {
  const env: Record<string, string> = {
    LANGFUSE_PUBLIC_KEY: "pk-lf-env",
    LANGFUSE_SECRET_KEY: "sk-lf-env",
    LANGFUSE_HOST: "langfuse.example.com/",
    LANGFUSE_RELEASE: "2026.11",
    LANGFUSE_SAMPLE_RATE: "0.25",
  };
  const s = resolveLangfuseSettings({}, (n) => env[n]);
  assert.equal(s.publicKey, "pk-lf-env");
  assert.equal(s.host, "https://langfuse.example.com");
  assert.equal(s.url.href, "https://langfuse.example.com/api/public/otel/v1/traces");
  assert.equal(s.release, "2026.11");
  assert.equal(s.sampleRate, 0.25);
  assert.equal(s.transport, "otel");
  assert.equal(s.protocol, "http/protobuf");
  assert.equal(s.ingestionVersion, "4");

  const cloud = resolveLangfuseSettings(KEYS, () => undefined);
  assert.equal(cloud.url.href, "https://cloud.langfuse.com/api/public/otel/v1/traces");
  assert.equal(cloud.sampleRate, 1);
  const legacy = resolveLangfuseSettings(
    { ...KEYS, host: "http://10.0.0.5:3000/langfuse/", transport: "ingestion" },
    (n) => env[n],
  );
  assert.equal(legacy.url.href, "http://10.0.0.5:3000/langfuse/api/public/ingestion");
  assert.equal(legacy.sampleRate, 0.25, "env applies when config does not set it");
  assert.equal(
    resolveLangfuseSettings({ ...KEYS, sample_rate: 0 }, (n) => env[n]).sampleRate,
    0,
    "config wins",
  );
  assert.equal(
    resolveLangfuseSettings({ ...KEYS, ingestion_version: false }, () => undefined)
      .ingestionVersion,
    undefined,
  );
  assert.equal(normalizeHost("us.cloud.langfuse.com"), "https://us.cloud.langfuse.com");
  assert.equal(
    resolveLangfuseSettings({ ...KEYS }, (n) => ({ LANGFUSE_BASE_URL: "jp.cloud.langfuse.com" })[n])
      .host,
    "https://jp.cloud.langfuse.com",
  );
});

Deno.test("config: missing keys and bad values refuse to start, never showing the secret", () => {
  assert.throws(
    () => createLangfuseSink({ public_key: "pk" }, ctxFor()),
    /langfuse: no secret key \(config\.secret_key or LANGFUSE_SECRET_KEY\)/,
  );
  assert.throws(
    () => createLangfuseSink({}, ctxFor()),
    /no public key .* and secret key/,
  );
  assert.throws(
    () => resolveLangfuseSettings({ ...KEYS, sample_rate: 2 }, () => undefined),
    /langfuse: invalid config: config\.sample_rate: must be between 0 and 1/,
  );
  assert.throws(
    () => resolveLangfuseSettings(KEYS, (n) => ({ LANGFUSE_SAMPLE_RATE: "half" })[n]),
    /LANGFUSE_SAMPLE_RATE must be between 0 and 1; got "half"/,
  );
  assert.throws(
    () => resolveLangfuseSettings({ ...KEYS, host: "ftp://x" }, () => undefined),
    /host must use http or https/,
  );
  assert.throws(
    () => resolveLangfuseSettings({ ...KEYS, environment: "Prod!" }, () => undefined),
    /config\.environment: must be 1 to 40/,
  );
  assert.throws(
    () => resolveLangfuseSettings(KEYS, (n) => ({ LANGFUSE_TRACING_ENVIRONMENT: "Prod!" })[n]),
    /langfuse: environment must be 1 to 40/,
  );
  assert.throws(
    () => resolveLangfuseSettings({ ...KEYS, ingestion_version: 5 }, () => undefined),
    /config\.ingestion_version: must be 1 to 4/,
  );
  assert.throws(
    () =>
      createLangfuseSink(
        {
          ...KEYS,
          transport: "grpc" as "otel",
          max_batch_bytes: 10,
          default_tags: ["a", 1 as never],
        },
        ctxFor(),
      ),
    /config\.transport: must be "otel" or "ingestion"; config\.default_tags\[1\]: .*; config\.max_batch_bytes: Too small/,
  );
});

Deno.test("plugin definition: contract v1, JSON schema, permissions, publishable version", () => {
  assert.equal(langfusePlugin.apiVersion, 1);
  assert.equal(langfusePlugin.name, "langfuse");
  assert.equal(langfusePlugin.version, denoJson.version);
  assert.deepEqual(structuredClone(langfuseConfigSchema), langfuseConfigSchema);
  const keys = { LANGFUSE_PUBLIC_KEY: "pk-lf-1", LANGFUSE_SECRET_KEY: "sk-lf-1" };
  const cloud = resolvePermissions(langfusePlugin, {}, keys);
  assert.deepEqual(cloud.net, ["cloud.langfuse.com"]);
  for (const name of ["LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY", "LANGFUSE_HOST"]) {
    assert.ok(cloud.env?.includes(name), name);
  }
  // A self-hosted server, from config or LANGFUSE_HOST, is the one host asked for.
  const own = { ...keys, LANGFUSE_HOST: "http://127.0.0.1:3000" };
  assert.deepEqual(resolvePermissions(langfusePlugin, {}, own).net, ["127.0.0.1:3000"]);
  assert.deepEqual(
    resolvePermissions(langfusePlugin, { host: "https://lf.example.com" }, keys).net,
    ["lf.example.com"],
  );
});

// ---------------------------------------------------------------------------
// Mapping

Deno.test("mapping: names, user, session, tags and default tags follow LiteLLM", () => {
  const base = sampleEvent();
  const event = withRequest(
    {
      ...base,
      metadata: { ...base.metadata, tags: ["launch"], end_user: "end-1" },
    },
    { session_id: "s-1", trace_release: "r-9", trace_metadata: { team_note: "x", api_key: "k" } },
  );
  const { trace, generation } = toLangfuseRecord(event, {
    defaultTags: ["user_api_key_alias", "user_api_key_team_alias", "model_group", "nope"],
    environment: "staging",
  });
  assert.equal(trace.id, event.trace_id);
  assert.equal(trace.name, "sluice-chat");
  assert.equal(trace.userId, "end-1", "the request's user before the key's user");
  assert.equal(trace.sessionId, "s-1");
  assert.equal(trace.release, "r-9");
  assert.deepEqual(trace.metadata, { team_note: "x" }, "secret-named keys removed");
  assert.deepEqual(trace.tags, [
    "launch",
    "user_api_key_alias:app-a",
    "user_api_key_team_alias:team-a",
    "model_group:gpt-4o-mini",
  ]);
  assert.equal(generation.name, "sluice:app-a", "no generation_name: sluice:{key alias}");
  assert.equal(generation.id, event.request_id);
  assert.equal(generation.environment, "staging");

  const named = toLangfuseRecord(
    withRequest(event, {
      trace_name: "checkout",
      trace_user_id: "carol",
      generation_name: "answer",
      generation_id: "gen-1",
    }),
  );
  assert.equal(named.trace.name, "checkout");
  assert.equal(named.trace.userId, "carol");
  assert.equal(named.generation.name, "answer");
  assert.equal(named.generation.id, "gen-1");

  const anonymous = sampleEvent();
  const keyless = toLangfuseRecord({
    ...anonymous,
    metadata: { tags: [], request: {}, user_api_key_user_id: "bob" },
  });
  assert.equal(keyless.generation.name, "sluice-chat");
  assert.equal(keyless.trace.userId, "bob", "else the key's user");
});

Deno.test("mapping: input, output, parameters, usage with cache, cost, times", () => {
  const tools = [{ type: "function", function: { name: "lookup", parameters: {} } }];
  const event = sampleEvent({
    model_parameters: { temperature: 0.1, stop: ["\n"], tools, response_format: { type: "json" } },
    prompt_tokens: 100,
    completion_tokens: 20,
    total_tokens: 120,
    cache_read_input_tokens: 30,
    cache_creation_input_tokens: 10,
    response_cost: 0.5,
    cost_breakdown: { input: 0.2, output: 0.2, cache_read: 0.05, cache_creation: 0.05 },
    stream: true,
  });
  const { generation } = toLangfuseRecord(event);
  assert.deepEqual(generation.input, { messages: event.messages, tools });
  assert.deepEqual(generation.output, event.response);
  assert.deepEqual(generation.modelParameters, {
    temperature: 0.1,
    stop: ["\n"],
    response_format: '{"type":"json"}',
    stream: true,
  });
  assert.deepEqual(generation.usageDetails, {
    input: 60,
    output: 20,
    total: 120,
    input_cache_read: 30,
    input_cache_creation: 10,
  });
  assert.deepEqual(generation.costDetails, {
    input: 0.2,
    output: 0.2,
    input_cache_read: 0.05,
    input_cache_creation: 0.05,
    total: 0.5,
  });
  assert.equal(generation.startTime, new Date(event.start_time).toISOString());
  assert.equal(
    generation.completionStartTime,
    new Date(event.completion_start_time!).toISOString(),
  );
  assert.equal(generation.model, event.model);
  assert.equal(generation.level, "DEFAULT");
});

Deno.test("mapping: failures are ERROR with the message; removed content stays a placeholder", () => {
  const failed = toLangfuseRecord(sampleFailureEvent());
  assert.equal(failed.generation.level, "ERROR");
  assert.match(failed.generation.statusMessage!, /Rate limit reached/);
  assert.equal(failed.generation.output, undefined);
  assert.equal(failed.generation.costDetails, undefined);
  assert.deepEqual(failed.generation.metadata.error, {
    status: 429,
    code: "rate_limit_exceeded",
    class: "RateLimitError",
    provider: "openai",
  });
  const masked = toLangfuseRecord(
    sampleEvent({ messages: REMOVED_PLACEHOLDER, response: REMOVED_PLACEHOLDER }),
  );
  assert.equal(masked.generation.input, REMOVED_PLACEHOLDER);
  assert.equal(masked.trace.output, REMOVED_PLACEHOLDER);
});

Deno.test("mapping: metadata keeps request keys but never secrets or consumed keys", () => {
  const event = withRequest(sampleEvent(), {
    customer_tier: "gold",
    langfuse_public_key: "pk-lf-other",
    langfuse_secret_key: "sk-lf-other",
    nested: { ok: 1, password: "hunter2" },
    session_id: "s",
    trace_name: "n",
    existing_trace_id: "t",
    tags: ["x"],
  });
  const { generation } = toLangfuseRecord(event);
  assert.equal(generation.metadata.customer_tier, "gold");
  assert.deepEqual(generation.metadata.nested, { ok: 1 });
  for (
    const key of [
      "langfuse_public_key",
      "langfuse_secret_key",
      "session_id",
      "trace_name",
      "existing_trace_id",
      "tags",
    ]
  ) {
    assert.equal(key in generation.metadata, false, key);
  }
  assert.ok(!JSON.stringify(generation.metadata).includes("sk-lf-other"));
});

Deno.test("mapping: existing_trace_id appends and sends only update_trace_keys", () => {
  const event = withRequest(sampleEvent(), {
    existing_trace_id: "conversation-9",
    update_trace_keys: ["trace_user_id", "output"],
    trace_user_id: "erin",
    trace_name: "not sent",
  });
  const record = toLangfuseRecord(event);
  assert.equal(record.trace.id, otelTraceIdOf("conversation-9"));
  assert.match(record.trace.id, /^[0-9a-f]{32}$/);
  const [trace, generation] = toIngestionEnvelopes(event, record);
  assert.deepEqual(trace.body, {
    id: record.trace.id,
    userId: "erin",
    output: event.response,
  });
  assert.equal(generation.body.traceId, record.trace.id);
  assert.equal(
    otelTraceIdOf("0AF7651916CD43DD8448EB211C80319C"),
    "0af7651916cd43dd8448eb211c80319c",
  );
});

Deno.test("default tags render name:value from event fields and skip what is missing", () => {
  const event = withRequest(sampleEvent({ stream: true }), { customer: "acme" });
  assert.deepEqual(
    renderDefaultTags(event, [
      "user_api_key_alias",
      "user_api_key_user_id",
      "end_user",
      "stream",
      "customer",
      "provider",
      "absent",
    ]),
    [
      "user_api_key_alias:app-a",
      "user_api_key_user_id:alice",
      `end_user:${event.metadata.end_user}`,
      "stream:true",
      "customer:acme",
      "provider:openai",
    ],
  );
  const redacted = sampleEvent();
  const { user_api_key_alias: _a, ...rest } = redacted.metadata;
  assert.deepEqual(renderDefaultTags({ ...redacted, metadata: rest }, ["user_api_key_alias"]), []);
});

// ---------------------------------------------------------------------------
// OTLP on the wire

Deno.test("OTLP: Basic auth, ingestion-version header, event ids, JSON valid against the OTLP schema", async () => {
  const rx = startLangfuseReceiver();
  try {
    const events = [sampleEvent({ parent_span_id: "b7ad6b7169203331" }), sampleFailureEvent()];
    for (const protocol of ["http/json", "http/protobuf"] as const) {
      const sink = createLangfuseSink(
        { ...KEYS, host: rx.host, protocol, environment: "staging", release: "v9" },
        ctxFor(),
      );
      assert.deepEqual(await sink.log(events), { skipped: 0 });
    }
    assert.deepEqual(rx.problems(), []);
    assert.equal(rx.accepted.length, 2);
    for (const req of rx.accepted) {
      assert.equal(req.path, "/api/public/otel/v1/traces");
      assert.equal(
        req.headers.get("authorization"),
        `Basic ${btoa(`${TEST_PUBLIC_KEY}:${TEST_SECRET_KEY}`)}`,
      );
      assert.equal(req.headers.get("x-langfuse-ingestion-version"), "4");
    }
    assert.equal(rx.accepted[0].headers.get("content-type"), "application/json");
    assert.ok(rx.accepted[0].json, "JSON kept for the schema check");
    assert.equal(rx.accepted[1].headers.get("content-type"), "application/x-protobuf");
    const [jsonSpans, protoSpans] = [rx.accepted[0].spans, rx.accepted[1].spans];
    assert.deepEqual(protoSpans, jsonSpans, "protobuf and JSON decode to the same spans");
    const [ok, failed] = jsonSpans;
    assert.equal(ok.traceId, events[0].trace_id);
    assert.equal(ok.spanId, events[0].span_id);
    assert.equal(ok.parentSpanId, "b7ad6b7169203331");
    assert.equal(ok.startTimeUnixNano, `${events[0].start_time}000000`);
    assert.equal(ok.name, "greeting");
    assert.equal(ok.kind, 3);
    assert.equal(ok.attributes["langfuse.observation.type"], "generation");
    assert.equal(ok.attributes["langfuse.environment"], "staging");
    assert.equal(ok.attributes["langfuse.release"], "v9");
    assert.equal(ok.attributes["gen_ai.operation.name"], "chat");
    assert.equal(ok.attributes["gen_ai.usage.input_tokens"], events[0].prompt_tokens);
    assert.equal(ok.attributes["gen_ai.input.messages"], undefined, "not duplicated by default");
    assert.deepEqual(jsonAttribute(ok.attributes["langfuse.observation.input"]), {
      messages: events[0].messages,
    });
    assert.equal(
      typeof ok.attributes["langfuse.trace.input"],
      "string",
      "a child span carries the trace input (Langfuse derives it only from root spans)",
    );
    assert.equal(failed.attributes["langfuse.observation.level"], "ERROR");
    assert.match(String(failed.attributes["langfuse.observation.status_message"]), /Rate limit/);
    assert.equal(failed.status.code, 2);
    assert.equal(failed.attributes["error.type"], "RateLimitError");
  } finally {
    await rx.close();
  }
});

Deno.test("OTLP: ingestion_version false omits the header; a server refusing it is not permanent", async () => {
  const rx = startLangfuseReceiver();
  try {
    const sink = createLangfuseSink(
      { ...KEYS, host: rx.host, ingestion_version: false },
      ctxFor(),
    );
    await sink.log(sampleEvents(1));
    assert.equal(rx.accepted[0].headers.get("x-langfuse-ingestion-version"), null);

    rx.answer(() =>
      Response.json({
        error: 'Unsupported x-langfuse-ingestion-version: "4". Maximum supported: "3".',
      }, { status: 400 })
    );
    const ctx = ctxFor();
    const strict = createLangfuseSink({ ...KEYS, host: rx.host }, ctx);
    const error = await rejection(strict.log(sampleEvents(1)));
    assert.notEqual(error.permanent, true);
    assert.match(error.message, /set ingestion_version: false/);
    assert.equal(ctx.logs.filter((l) => l.level === "error").length, 1);
  } finally {
    await rx.close();
  }
});

Deno.test("OTLP: an existing trace gets a stable parent and only the update_trace_keys fields", () => {
  const spanOf = (request: Record<string, unknown>, overrides: Partial<LogEvent> = {}) => {
    const event = withRequest(sampleEvent(overrides), request);
    return { event, span: toLangfuseSpan(event, toLangfuseRecord(event)) };
  };
  const { span } = spanOf({
    existing_trace_id: "conv-1",
    update_trace_keys: ["trace_user_id"],
    trace_user_id: "erin",
    session_id: "s-1",
  });
  assert.equal(span.traceId, otelTraceIdOf("conv-1"));
  assert.equal(span.parentSpanId, existingTraceParentId(otelTraceIdOf("conv-1")));
  assert.match(span.parentSpanId!, /^[0-9a-f]{16}$/);
  assert.equal(span.attributes["user.id"], "erin");
  for (
    const key of [
      "langfuse.trace.name",
      "langfuse.trace.tags",
      "langfuse.trace.input",
      "langfuse.trace.output",
      "session.id",
      "gen_ai.conversation.id",
      "langfuse.release",
    ]
  ) {
    assert.equal(span.attributes[key], undefined, key);
  }
  assert.equal(span.attributes["langfuse.observation.type"], "generation");

  const withSession = spanOf({
    existing_trace_id: "conv-1",
    update_trace_keys: ["session_id", "output"],
    session_id: "s-2",
  }).span;
  assert.equal(withSession.attributes["session.id"], "s-2");
  assert.equal(withSession.attributes["gen_ai.conversation.id"], "s-2");
  assert.equal(typeof withSession.attributes["langfuse.trace.output"], "string");

  // A traceparent of another trace does not follow the call into the existing trace.
  const { span: moved } = spanOf({ existing_trace_id: "conv-1" }, {
    parent_span_id: "b7ad6b7169203331",
    trace_state: "rojo=1",
  });
  assert.equal(moved.parentSpanId, existingTraceParentId(otelTraceIdOf("conv-1")));
  assert.equal(moved.traceState, undefined);
  // The same trace: the caller's span stays the parent.
  const own = sampleEvent({ parent_span_id: "b7ad6b7169203331" });
  const { span: same } = spanOf({ existing_trace_id: own.trace_id }, {
    trace_id: own.trace_id,
    parent_span_id: "b7ad6b7169203331",
  });
  assert.equal(same.parentSpanId, "b7ad6b7169203331");
});

Deno.test("per-request Langfuse keys are ignored, never sent, and warned about once", async () => {
  const rx = startLangfuseReceiver();
  try {
    for (const transport of ["otel", "ingestion"] as const) {
      const ctx = ctxFor();
      const sink = createLangfuseSink(
        { ...KEYS, host: rx.host, transport, protocol: "http/json" },
        ctx,
      );
      const dynamic = { langfuse_public_key: "pk-lf-dyn", langfuse_secret_key: "sk-lf-dynamic-1" };
      await sink.log([withRequest(sampleEvent(), dynamic), withRequest(sampleEvent(), dynamic)]);
      assert.equal(
        ctx.logs.filter((l) => l.message.includes("per-request Langfuse keys")).length,
        1,
      );
    }
    const wire = rx.all.map((r) => new TextDecoder().decode(r.body)).join("");
    assert.ok(!wire.includes("sk-lf-dynamic-1") && !wire.includes("pk-lf-dyn"));
    assert.equal(rx.unauthorized.length, 0, "the sink's own keys were used");
  } finally {
    await rx.close();
  }
});

// ---------------------------------------------------------------------------
// Failures

Deno.test("401 names the host and public key, never the secret; not permanent; reported once", async () => {
  const rx = startLangfuseReceiver({ secretKey: "sk-lf-the-right-one" });
  try {
    for (const transport of ["otel", "ingestion"] as const) {
      const ctx = ctxFor();
      const sink = createLangfuseSink({ ...KEYS, host: rx.host, transport }, ctx);
      for (let i = 0; i < 3; i++) {
        const error = await rejection(sink.log(sampleEvents(2)));
        assert.notEqual(error.permanent, true);
        assert.match(error.message, new RegExp(`${rx.host}.*public key ${TEST_PUBLIC_KEY}`));
        assert.match(error.message, /LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY/);
        assert.ok(!error.message.includes(TEST_SECRET_KEY));
      }
      const errors = ctx.logs.filter((l) => l.level === "error");
      assert.equal(errors.length, 1, "the cause is reported once");
      assert.ok(!JSON.stringify(ctx.logs).includes(TEST_SECRET_KEY));
    }
    assert.equal(rx.unauthorized.length, 6);

    // A real-length public key is shortened: the gateway scrubs config key values from its logs.
    const longKey = "pk-lf-11111111-2222-3333-4444-555555555555";
    const other = createLangfuseSink({ ...KEYS, public_key: longKey, host: rx.host }, ctxFor());
    const error = await rejection(other.log(sampleEvents(1)));
    assert.match(error.message, /public key pk-lf-111111…5555\)/);
    assert.ok(!error.message.includes(longKey));
  } finally {
    await rx.close();
  }
});

Deno.test("429 honours Retry-After, else backs off doubling; 404 explains the endpoints", async () => {
  const rx = startLangfuseReceiver();
  try {
    const sink = createLangfuseSink({ ...KEYS, host: rx.host }, ctxFor());
    rx.answer(() => new Response("slow down", { status: 429, headers: { "retry-after": "3" } }));
    assert.equal((await rejection(sink.log(sampleEvents(1)))).retryAfterMs, 3000);
    rx.answer(() => new Response("slow down", { status: 429 }));
    const waits = [];
    for (let i = 0; i < 3; i++) {
      waits.push((await rejection(sink.log(sampleEvents(1)))).retryAfterMs);
    }
    assert.deepEqual(waits, [2000, 4000, 8000]);
    rx.answer(() => undefined);
    await sink.log(sampleEvents(1));
    rx.answer(() => new Response("slow down", { status: 429 }));
    assert.equal((await rejection(sink.log(sampleEvents(1)))).retryAfterMs, 1000, "reset");

    rx.answer(() => new Response("not found", { status: 404 }));
    const otel404 = await rejection(sink.log(sampleEvents(1)));
    assert.notEqual(otel404.permanent, true);
    assert.match(otel404.message, /no OTLP endpoint .*transport: ingestion/);
    const legacy = createLangfuseSink({ ...KEYS, host: rx.host, transport: "ingestion" }, ctxFor());
    const ingestion404 = await rejection(legacy.log(sampleEvents(1)));
    assert.match(ingestion404.message, /no batch ingestion endpoint .*transport: otel/);
  } finally {
    await rx.close();
  }
});

Deno.test("ingestion: a 207 with mixed results drops 4xx with their reason and retries only the rest", async () => {
  const events = sampleEvents(4);
  const [bad, flaky] = events;
  let attempt = 0;
  const rx = startLangfuseReceiver({
    answer(req: ReceivedRequest) {
      attempt++;
      const errors = [];
      for (const e of req.batch) {
        if (e.id === `${bad.request_id}-generation`) {
          errors.push({ id: e.id, status: 400, message: "Invalid request data", error: "bad" });
        }
        if (e.id === `${flaky.request_id}-trace` && attempt === 1) {
          errors.push({ id: e.id, status: 500, message: "Internal Server Error" });
        }
      }
      const failed = new Set(errors.map((e) => e.id));
      return Response.json({
        successes: req.batch.filter((e) => !failed.has(e.id)).map((e) => ({
          id: e.id,
          status: 201,
        })),
        errors,
      }, { status: 207 });
    },
  });
  try {
    const ctx = ctxFor();
    const sink = createLangfuseSink({ ...KEYS, host: rx.host, transport: "ingestion" }, ctx);
    const first = await rejection(sink.log(events));
    assert.notEqual(first.permanent, true);
    assert.match(first.message, /could not store 1 event\(s\) yet \(trace-create 500/);
    assert.equal(rx.accepted[0].batch.length, 8);

    const result = await sink.log(events);
    assert.deepEqual(result, { skipped: 1 }, "the refused call is reported as not delivered");
    assert.deepEqual(
      rx.accepted[1].batch.map((e) => e.id),
      [`${flaky.request_id}-trace`],
      "the retry sends only the event that failed with 5xx",
    );
    const stats = sink.stats();
    assert.equal(stats.sent, 3);
    assert.equal(stats.dropped, 1);
    assert.deepEqual(stats.dropReasons, { "generation-create 400: Invalid request data": 1 });
    const warning = ctx.logs.find((l) => l.message.includes("refused 1 call(s) for good"));
    assert.ok(warning, JSON.stringify(ctx.logs));
    assert.deepEqual(rx.problems(), []);
  } finally {
    await rx.close();
  }
});

Deno.test("ingestion: a batch whose every call is refused is permanent", async () => {
  const rx = startLangfuseReceiver({
    answer: (req) =>
      Response.json({
        successes: [],
        errors: req.batch.map((e) => ({ id: e.id, status: 400, message: "Invalid request data" })),
      }, { status: 207 }),
  });
  try {
    const sink = createLangfuseSink({ ...KEYS, host: rx.host, transport: "ingestion" }, ctxFor());
    const error = await rejection(sink.log(sampleEvents(2)));
    assert.equal(error.permanent, true);
    assert.equal(sink.stats().dropped, 2);
  } finally {
    await rx.close();
  }
});

Deno.test("ingestion: batches over the size limit are split; an oversized call is shrunk", async () => {
  const rx = startLangfuseReceiver();
  try {
    const limit = 40_000;
    const events = sampleEvents(12).map((e, i) => ({
      ...e,
      messages: [{ role: "user", content: `${i} `.padEnd(6_000, "x") }],
    }));
    const huge = sampleEvent({ messages: [{ role: "user", content: "y".repeat(100_000) }] });
    const sink = createLangfuseSink(
      { ...KEYS, host: rx.host, transport: "ingestion", max_batch_bytes: limit },
      ctxFor(),
    );
    await sink.log([...events, huge]);
    assert.ok(rx.accepted.length >= 4, `split into ${rx.accepted.length} requests`);
    for (const req of rx.accepted) assert.ok(req.body.length <= limit, `${req.body.length} bytes`);
    const generations = rx.stored().filter((e) => e.type === "generation-create");
    assert.deepEqual(
      generations.map((e) => e.body.id),
      [...events, huge].map((e) => e.request_id),
      "every call delivered once, in order",
    );
    const shrunk = generations.at(-1)!;
    assert.match(shrunk.body.input, /^\[sluice: input omitted: 0\.1 MB, over Langfuse's 0\.0 MB/);
    assert.equal(sink.stats().shrunk, 1);
    assert.deepEqual(rx.problems(), []);
  } finally {
    await rx.close();
  }
});

Deno.test("ingestion bodies validate against the Langfuse schema (and the checks catch mistakes)", () => {
  const event = sampleEvent();
  const batch = toIngestionEnvelopes(event, toLangfuseRecord(event));
  assert.deepEqual(ingestionSchemaErrors({ batch }), []);
  const broken = structuredClone(batch);
  broken[1].timestamp = "2026-01-01T00:00:00";
  (broken[1].body as Record<string, unknown>).level = "LOUD";
  assert.equal(ingestionSchemaErrors({ batch: broken }).length, 2);
});

Deno.test("packBatches keeps order and never exceeds the limit with more than one item", () => {
  const item = (n: number, bytes: number) => ({
    requestId: `r${n}`,
    envelopes: [],
    bytes,
    shrunk: false,
  });
  const batches = packBatches([item(1, 400), item(2, 400), item(3, 5000), item(4, 10)], 1400);
  assert.deepEqual(batches.map((b) => b.map((i) => i.requestId)), [["r1", "r2"], ["r3"], ["r4"]]);
  assert.equal(isPermanentItemStatus(404), true);
  assert.equal(isPermanentItemStatus(401), false);
  assert.equal(isPermanentItemStatus(429), false);
});

// ---------------------------------------------------------------------------
// Sampling and skipping

Deno.test("sampling is decided by trace id: deterministic, calls of one trace together", async () => {
  const rx = startLangfuseReceiver();
  try {
    const sink = createLangfuseSink({ ...KEYS, host: rx.host, sample_rate: 0.5 }, ctxFor());
    const shared = "4bf92f3577b34da6a3ce929d0e0e4736";
    const events = [
      ...sampleEvents(200),
      ...sampleEvents(3, { trace_id: shared }),
    ];
    const result = await sink.log(events);
    const want = events.filter((e) => traceSampleScore(e.trace_id) < 0.5);
    const got = rx.spans().map((s) => s.spanId);
    assert.deepEqual(got, want.map((e) => e.span_id));
    assert.ok(want.length > 60 && want.length < 143, `${want.length} of 203 sampled`);
    assert.deepEqual(result, { skipped: events.length - want.length });
    const sharedSent = got.filter((id) =>
      events.find((e) => e.span_id === id)?.trace_id === shared
    );
    assert.ok(sharedSent.length === 0 || sharedSent.length === 3);
    assert.equal(sink.stats().sampledOut, events.length - want.length);

    const none = createLangfuseSink({ ...KEYS, host: rx.host, sample_rate: 0 }, ctxFor());
    const before = rx.all.length;
    assert.deepEqual(await none.log(sampleEvents(3)), { skipped: 3 });
    assert.equal(rx.all.length, before, "nothing sent");
  } finally {
    await rx.close();
  }
});

Deno.test("gateway_error events are skipped, and the sink refuses use after close", async () => {
  const rx = startLangfuseReceiver();
  try {
    const sink = createLangfuseSink({ ...KEYS, host: rx.host }, ctxFor());
    assert.deepEqual(await sink.log([sampleGatewayErrorEvent()]), { skipped: 1 });
    assert.equal(rx.all.length, 0);
    await sink.close?.();
    await rejection(sink.log(sampleEvents(1)));
  } finally {
    await rx.close();
  }
});

const CITY_SCHEMA = { type: "object", properties: { city: { type: "string" } } };
const CHAT_WEATHER_TOOL = {
  type: "function",
  function: { name: "get_weather", description: "Weather by city", parameters: CITY_SCHEMA },
};
const WEATHER_CALL = {
  role: "assistant",
  content: null,
  tool_calls: [{
    id: "call_1",
    type: "function",
    function: { name: "get_weather", arguments: '{"city":"Paris"}' },
  }],
};

/** Calls of the Responses and Anthropic Messages routes, as core logs them (chat-shaped content). */
function translatedEvents(): { responses: LogEvent; messages: LogEvent } {
  const messages = [
    { role: "system", content: "Answer briefly." },
    { role: "user", content: "Weather in Paris?" },
  ];
  return {
    responses: sampleEvent({
      call_type: "responses",
      id: "resp_0123",
      // `instructions` is content: core logs it as the first message, not a parameter.
      model_parameters: {
        max_output_tokens: 64,
        tools: [{
          type: "function",
          name: "get_weather",
          description: "Weather by city",
          parameters: CITY_SCHEMA,
          strict: true,
        }],
      },
      messages,
      response: WEATHER_CALL,
      metadata: { tags: [], request: {} },
    }),
    messages: sampleEvent({
      call_type: "messages",
      id: "msg_0123",
      model_parameters: {
        max_tokens: 200,
        tools: [
          { name: "get_weather", description: "Weather by city", input_schema: CITY_SCHEMA },
          { type: "web_search_20250305", name: "web_search" },
        ],
      },
      messages,
      response: { role: "assistant", content: "Sunny." },
      metadata: { tags: [], request: {} },
    }),
  };
}

Deno.test("mapping: responses and messages calls are generations like chat, tools in the chat shape", () => {
  const { responses, messages } = translatedEvents();

  const r = toLangfuseRecord(responses);
  assert.equal(r.trace.name, "sluice-responses");
  assert.equal(r.generation.name, "sluice-responses");
  assert.deepEqual(r.generation.input, {
    messages: responses.messages,
    tools: [{ ...CHAT_WEATHER_TOOL, function: { ...CHAT_WEATHER_TOOL.function, strict: true } }],
  });
  assert.deepEqual(r.generation.output, WEATHER_CALL);
  assert.deepEqual(r.trace.input, r.generation.input);
  assert.deepEqual(
    r.generation.modelParameters,
    { max_output_tokens: 64 },
    "tools go to the input",
  );
  assert.equal(r.generation.usageDetails?.output, responses.completion_tokens);
  assert.equal(r.generation.metadata.call_type, "responses");
  assert.equal(r.generation.metadata.response_id, "resp_0123");

  const m = toLangfuseRecord(messages);
  assert.equal(m.trace.name, "sluice-messages");
  assert.deepEqual(m.generation.input, {
    messages: messages.messages,
    tools: [CHAT_WEATHER_TOOL, { type: "web_search_20250305", name: "web_search" }],
  });
  assert.deepEqual(m.generation.output, { role: "assistant", content: "Sunny." });
  assert.deepEqual(m.generation.modelParameters, { max_tokens: 200 });

  // Removed content stays the placeholder, tools and all.
  const removed = toLangfuseRecord({ ...messages, messages: REMOVED_PLACEHOLDER });
  assert.equal(removed.generation.input, REMOVED_PLACEHOLDER);

  // Both transports: ingestion bodies match the Langfuse schema; OTLP spans carry the same input.
  for (const event of [responses, messages]) {
    const batch = toIngestionEnvelopes(event, toLangfuseRecord(event));
    assert.deepEqual(ingestionSchemaErrors({ batch }), []);
    const span = toLangfuseSpan(event, toLangfuseRecord(event));
    assert.equal(span.attributes["gen_ai.operation.name"], "chat");
    assert.equal(span.attributes["sluice.call_type"], event.call_type);
    assert.deepEqual(
      JSON.parse(String(span.attributes["langfuse.observation.input"])),
      toLangfuseRecord(event).generation.input,
    );
  }
});
