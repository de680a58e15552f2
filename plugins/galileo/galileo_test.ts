import assert from "node:assert/strict";
import galileoPlugin, {
  createGalileoSink,
  type GalileoConfig,
  galileoConfigSchema,
  type GalileoLlmSpan,
  type GalileoObserveRecord,
  type GalileoTrace,
  galileoTraceUuid,
  toGalileoSpan,
  toObserveRecord,
} from "./mod.ts";
import {
  assertConformance,
  checkHttpSinkConformance,
  createTestContext,
  type ReceivedRequest,
  sampleEvent,
  sampleEvents,
  sampleFailureEvent,
  sampleGatewayErrorEvent,
} from "@sluice/core/testing";
import type { LogEvent, SinkError } from "@sluice/core/plugin";
import denoJson from "./deno.json" with { type: "json" };

const PROJECT = "9b6e1c2a-0f4d-4c55-9b1e-2f8d3c4a5b6e";
const API_KEY = "gal_Secret_Api_Key_987";
const USER = "ops@example.com";
const PASSWORD = "hunter2-Secret-Pw";
const permissions = galileoPlugin.permissions;

const decode = (body: Uint8Array) => new TextDecoder().decode(body);

/** The request_ids a Galileo request carried (none for /login). */
function idsIn(req: { url: string; body: string }): string[] {
  const path = new URL(req.url).pathname;
  if (path.endsWith("/login")) return [];
  const body = JSON.parse(req.body);
  if (path.endsWith("/traces")) {
    return body.traces.map((t: GalileoTrace) => t.spans[0].user_metadata.request_id);
  }
  if (path.endsWith("/spans")) {
    return body.spans.map((s: GalileoLlmSpan) => s.user_metadata.request_id);
  }
  assert.ok(path.endsWith("/observe/ingest"), path);
  return body.records.map((r: GalileoObserveRecord) => r.user_metadata.request_id);
}

const loginAnswer = (req: ReceivedRequest) =>
  new URL(req.url).pathname.endsWith("/login")
    ? Response.json({ access_token: "conformance-token", token_type: "bearer" })
    : Response.json({});

for (
  const [flow, config] of [
    ["API key, v2 traces", { api_key: API_KEY }],
    ["API key, v2 spans", { api_key: API_KEY, ingest: "spans" }],
    ["legacy login", { username: USER, password: PASSWORD }],
  ] as [string, GalileoConfig][]
) {
  Deno.test(`the galileo sink passes the HTTP sink conformance kit (${flow})`, async () => {
    const report = await checkHttpSinkConformance(galileoPlugin, {
      config: (url) => ({ ...config, base_url: url, project_id: PROJECT, timeout_ms: 2000 }),
      eventsIn: (req) => idsIn({ url: req.url, body: decode(req.body) }),
      okResponse: loginAnswer,
      batchSize: 4,
    });
    assertConformance(report);
  });
}

interface Recorded {
  method: string;
  url: string;
  path: string;
  headers: Headers;
  body: string;
}

/** A receiver that records requests and answers with `answer()`. */
function receiver(answer: (req: Recorded) => Response | Promise<Response>) {
  const requests: Recorded[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const recorded = {
      method: req.method,
      url: req.url,
      path: new URL(req.url).pathname,
      headers: req.headers,
      body: await req.text(),
    };
    requests.push(recorded);
    return await answer(recorded);
  });
  return {
    requests,
    base: `http://127.0.0.1:${server.addr.port}`,
    close: () => server.shutdown(),
  };
}

async function rejection(promise: Promise<unknown> | unknown): Promise<SinkError> {
  try {
    await promise;
  } catch (error) {
    return error as SinkError;
  }
  throw new Error("log resolved; expected a rejection");
}

/** Checks one LLM span field by field against its event. */
function assertSpan(span: GalileoLlmSpan, event: LogEvent) {
  assert.equal(span.type, "llm");
  assert.equal(span.name, `chat ${event.model_group}`);
  assert.deepEqual(span.input, [
    { role: "system", content: "You are a terse assistant." },
    { role: "user", content: (event.messages as { content: string }[])[1].content },
  ]);
  assert.deepEqual(span.output, event.response ?? { role: "assistant", content: "" });
  assert.equal(span.model, event.model);
  assert.equal(span.created_at, new Date(event.start_time).toISOString());
  assert.equal(span.status_code, event.status === "success" ? 200 : event.error?.status);
  assert.deepEqual(span.tags, ["sample"]);
  assert.equal(span.temperature, 0.2);
  assert.deepEqual(span.metrics, {
    duration_ns: event.response_time_ms * 1_000_000,
    num_input_tokens: event.prompt_tokens,
    num_output_tokens: event.completion_tokens,
    num_total_tokens: event.total_tokens,
  });
  const meta = span.user_metadata;
  assert.equal(meta.request_id, event.request_id);
  assert.equal(meta.call_id, event.call_id);
  assert.equal(meta.trace_id, event.trace_id);
  assert.equal(meta.model_group, event.model_group);
  assert.equal(meta.provider, "openai");
  assert.equal(meta.key_alias, "app-a");
  assert.equal(meta.team, "team-a");
  assert.equal(meta.user, "alice");
  assert.equal(meta["request.session_id"], event.metadata.request.session_id);
  assert.ok(Object.values(meta).every((v) => typeof v === "string"), "string values only");
}

Deno.test("API-key flow: one POST /v2/projects/{id}/traces per batch, LLM spans field by field", async () => {
  const rx = receiver(() => Response.json({ records_count: 3 }));
  try {
    const sink = createGalileoSink({
      base_url: `${rx.base}/api`,
      project_id: PROJECT,
      api_key: API_KEY,
      log_stream_id: "ls-1",
    }, createTestContext({ permissions }));
    assert.equal(sink.flow, "api_key");
    const failure = sampleFailureEvent();
    const events = [...sampleEvents(2), failure, sampleGatewayErrorEvent()];
    await sink.log(events);
    await sink.log([sampleGatewayErrorEvent()]); // nothing to record: no request
    assert.equal(rx.requests.length, 1);
    const [req] = rx.requests;
    assert.equal(req.method, "POST");
    assert.equal(req.path, `/api/v2/projects/${PROJECT}/traces`);
    assert.equal(req.headers.get("galileo-api-key"), API_KEY);
    assert.equal(req.headers.get("content-type"), "application/json");
    assert.equal(req.headers.get("authorization"), null);
    assert.equal(req.headers.get("user-agent"), `sluice-galileo/${denoJson.version}`);
    const body = JSON.parse(req.body);
    assert.equal(body.log_stream_id, "ls-1");
    assert.equal(body.logging_method, "api_direct");
    assert.equal(body.reliable, true);
    assert.equal(body.traces.length, 3, "the gateway_error event is not a call");
    for (const [i, trace] of (body.traces as GalileoTrace[]).entries()) {
      const event = events[i];
      assert.equal(trace.type, "trace");
      assert.equal(trace.name, `chat ${event.model_group}`);
      assert.equal(trace.input, JSON.stringify(event.messages));
      assert.equal(
        trace.output,
        (event.response as { content: string } | undefined)?.content ?? "",
      );
      assert.equal(trace.created_at, new Date(event.start_time).toISOString());
      assert.deepEqual(trace.metrics, { duration_ns: event.response_time_ms * 1e6 });
      assert.equal(trace.spans.length, 1);
      assertSpan(trace.spans[0], event);
      assert.deepEqual(trace.user_metadata, trace.spans[0].user_metadata);
      assert.equal(trace.status_code, trace.spans[0].status_code);
    }
    const failed = (body.traces as GalileoTrace[])[2].spans[0];
    assert.equal(failed.status_code, 429, "failures are logged with their status code");
    assert.equal(failed.output.content, "");
    assert.equal(failed.user_metadata.error_class, "RateLimitError");
    assert.equal(failed.user_metadata.error_code, "rate_limit_exceeded");
    assert.equal(failed.metrics.num_output_tokens, 0);
  } finally {
    await rx.close();
  }
});

Deno.test("API-key flow, ingest: spans: one POST per trace, trace_id and parent_id as UUID4; a retry skips groups already sent", async () => {
  const rx = receiver(() => Response.json({}));
  try {
    const sink = createGalileoSink({
      base_url: rx.base,
      project_id: PROJECT,
      api_key: API_KEY,
      ingest: "spans",
    }, createTestContext({ permissions }));
    const sharedTrace = "0af7651916cd43dd8448eb211c80319c";
    const [a, b] = sampleEvents(2, { trace_id: sharedTrace });
    const c = sampleEvent({ stream: true });
    await sink.log([a, b, c]);
    assert.equal(rx.requests.length, 2);
    const [first, second] = rx.requests.map((r) => JSON.parse(r.body));
    assert.ok(rx.requests.every((r) => r.path === `/v2/projects/${PROJECT}/spans`));
    assert.equal(first.trace_id, "0af76519-16cd-43dd-8448-eb211c80319c");
    assert.equal(first.parent_id, first.trace_id);
    assert.equal(first.log_stream_id, undefined);
    assert.deepEqual(first.spans.map((s: GalileoLlmSpan) => s.user_metadata.request_id), [
      a.request_id,
      b.request_id,
    ]);
    assert.match(
      second.trace_id,
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    const streamed: GalileoLlmSpan = second.spans[0];
    assert.equal(
      streamed.metrics.time_to_first_token_ns,
      (c.completion_start_time! - c.start_time) * 1e6,
    );

    // the second group fails: the retry sends only that group
    const [d, e] = [sampleEvent(), sampleEvent()];
    let calls = 0;
    const flaky = receiver(() =>
      ++calls === 2 ? new Response(null, { status: 503 }) : Response.json({})
    );
    const sink2 = createGalileoSink(
      { base_url: flaky.base, project_id: PROJECT, api_key: API_KEY, ingest: "spans" },
      createTestContext({ permissions }),
    );
    const error = await rejection(sink2.log([d, e]));
    assert.notEqual(error.permanent, true);
    await sink2.log([d, e]);
    const sent = flaky.requests.map((r) => idsIn(r));
    assert.deepEqual(sent, [[d.request_id], [e.request_id], [e.request_id]]);
    await flaky.close();
  } finally {
    await rx.close();
  }
  assert.equal(
    galileoTraceUuid("ffffffffffffffffffffffffffffffff"),
    "ffffffff-ffff-4fff-bfff-ffffffffffff",
  );
});

Deno.test("legacy flow: form login for a bearer token, cached; Observe records field by field", async () => {
  let logins = 0;
  const rx = receiver((req) => {
    if (req.path === "/login") {
      logins++;
      return Response.json({ access_token: `token-${logins}`, token_type: "bearer" });
    }
    return Response.json({ message: "ok" });
  });
  try {
    const sink = createGalileoSink(
      { base_url: rx.base, project_id: PROJECT, username: USER, password: PASSWORD },
      createTestContext({ permissions }),
    );
    assert.equal(sink.flow, "login");
    const failure = sampleFailureEvent();
    const events = [...sampleEvents(2), failure];
    await sink.log(events);
    await sink.log([sampleEvent()]);
    assert.equal(logins, 1, "the token is cached");
    assert.deepEqual(rx.requests.map((r) => r.path), [
      "/login",
      `/projects/${PROJECT}/observe/ingest`,
      `/projects/${PROJECT}/observe/ingest`,
    ]);
    const [login, ingest] = rx.requests;
    assert.equal(login.headers.get("content-type"), "application/x-www-form-urlencoded");
    const form = new URLSearchParams(login.body);
    assert.equal(form.get("username"), USER);
    assert.equal(form.get("password"), PASSWORD);
    assert.equal(ingest.headers.get("authorization"), "Bearer token-1");
    assert.equal(ingest.headers.get("content-type"), "application/json");
    assert.equal(ingest.headers.get("galileo-api-key"), null);
    assert.ok(!ingest.body.includes(PASSWORD));
    const { records } = JSON.parse(ingest.body) as { records: GalileoObserveRecord[] };
    assert.equal(records.length, 3, "one request per batch");
    for (const [i, record] of records.entries()) {
      const event = events[i];
      assert.deepEqual(Object.keys(record).sort(), [
        "created_at",
        "input_text",
        "latency_ms",
        "model",
        "node_type",
        "num_input_tokens",
        "num_output_tokens",
        "output_text",
        "status_code",
        "tags",
        "user_metadata",
      ]);
      assert.equal(record.input_text, JSON.stringify(event.messages));
      assert.equal(
        record.output_text,
        (event.response as { content: string } | undefined)?.content ?? "",
      );
      assert.equal(record.model, event.model);
      assert.equal(record.num_input_tokens, event.prompt_tokens);
      assert.equal(record.num_output_tokens, event.completion_tokens);
      assert.equal(record.latency_ms, event.response_time_ms);
      assert.equal(record.status_code, event.status === "success" ? 200 : 429);
      assert.equal(record.node_type, "chat");
      assert.equal(record.created_at, new Date(event.start_time).toISOString().slice(0, 19));
      assert.match(record.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
      assert.deepEqual(record.tags, ["sample"]);
      assert.equal(record.user_metadata.request_id, event.request_id);
      assert.equal(record.user_metadata.key_alias, "app-a");
    }
    assert.equal(records[2].user_metadata.error_class, "RateLimitError");
  } finally {
    await rx.close();
  }
});

Deno.test("legacy flow: login → 401 on ingest → login again → success; a second 401 is a retryable error", async () => {
  let logins = 0;
  let reject = new Set<string>(["token-1"]);
  const rx = receiver((req) => {
    if (req.path === "/login") return Response.json({ access_token: `token-${++logins}` });
    const token = req.headers.get("authorization")?.replace("Bearer ", "") ?? "";
    return reject.has(token)
      ? Response.json({ detail: "Token expired" }, { status: 401 })
      : Response.json({});
  });
  try {
    const ctx = createTestContext({ permissions });
    const sink = createGalileoSink(
      { base_url: rx.base, project_id: PROJECT, username: USER, password: PASSWORD },
      ctx,
    );
    const events = sampleEvents(2);
    await sink.log(events);
    const ingest = `/projects/${PROJECT}/observe/ingest`;
    assert.deepEqual(rx.requests.map((r) => [r.path, r.headers.get("authorization")]), [
      ["/login", null],
      [ingest, "Bearer token-1"],
      ["/login", null],
      [ingest, "Bearer token-2"],
    ]);
    assert.deepEqual(idsIn(rx.requests[3]), events.map((e) => e.request_id));
    assert.ok(ctx.logs.some((l) => /logging in again/.test(l.message)));

    // every token refused: one re-login, then a retryable error; the next batch logs in afresh
    rx.requests.length = 0;
    reject = new Set(["token-2", "token-3", "token-4"]);
    const error = await rejection(sink.log(sampleEvents(1)));
    assert.match(error.message, /observe\/ingest answered 401 Unauthorized: check the username/);
    assert.notEqual(error.permanent, true);
    assert.deepEqual(rx.requests.map((r) => r.path), [ingest, "/login", ingest]);
    for (const text of [PASSWORD, "token-3", API_KEY]) assert.ok(!error.message.includes(text));
    reject = new Set();
    rx.requests.length = 0;
    await sink.log(sampleEvents(1));
    assert.deepEqual(rx.requests.map((r) => r.path), ["/login", ingest]);
  } finally {
    await rx.close();
  }
});

Deno.test("legacy flow: a refused login is never permanent and never shows the password", async () => {
  let status = 401;
  const rx = receiver((req) =>
    req.path === "/login"
      ? new Response(`bad password ${PASSWORD}`, { status, headers: { "retry-after": "4" } })
      : Response.json({})
  );
  try {
    const sink = createGalileoSink(
      { base_url: rx.base, project_id: PROJECT, username: USER, password: PASSWORD },
      createTestContext({ permissions }),
    );
    for (const code of [400, 401, 403, 422, 500]) {
      status = code;
      const error = await rejection(sink.log(sampleEvents(1)));
      assert.match(
        error.message,
        new RegExp(`^galileo: login at ${rx.base}/login answered ${code}`),
      );
      assert.notEqual(error.permanent, true, `${code}`);
      assert.ok(!error.message.includes(PASSWORD));
    }
    status = 429;
    const limited = await rejection(sink.log(sampleEvents(1)));
    assert.equal(limited.retryAfterMs, 4000);
    status = 200;
    const noToken = await rejection(sink.log(sampleEvents(1)));
    assert.match(noToken.message, /without an access_token/);
  } finally {
    await rx.close();
  }
});

Deno.test("settings: flow from the credentials, config before environment, clear startup errors", () => {
  const env = {
    GALILEO_BASE_URL: "http://127.0.0.1:9",
    GALILEO_PROJECT_ID: "env-project",
    GALILEO_API_KEY: "env-key-123",
    GALILEO_USERNAME: "env-user",
    GALILEO_PASSWORD: "env-pw-123",
  };
  const ctx = (e: Record<string, string> = env) => createTestContext({ env: e, permissions });
  assert.equal(createGalileoSink({}, ctx()).flow, "api_key");
  assert.equal(createGalileoSink({ username: "u", password: "p" }, ctx()).flow, "login");
  const { GALILEO_API_KEY: _, ...noKey } = env;
  assert.equal(createGalileoSink({}, ctx(noKey)).flow, "login");
  assert.throws(
    () => galileoPlugin.create({}, ctx({ GALILEO_PROJECT_ID: "p" })),
    /^Error: galileo: no credentials; set GALILEO_API_KEY \(or config\.api_key\), or GALILEO_USERNAME/,
  );
  assert.throws(
    () => galileoPlugin.create({ api_key: "k" }, ctx({})),
    /^Error: galileo: no project id; set GALILEO_PROJECT_ID or this sink's config\.project_id/,
  );
  assert.throws(
    () => galileoPlugin.create({ project_id: "p", username: "u" }, ctx({})),
    /galileo: config sets a username but no password/,
  );
  assert.throws(
    () => galileoPlugin.create({ project_id: "p", api_key: "k", base_url: "file:///x" }, ctx({})),
    /galileo: invalid config: config\.base_url: must be an absolute http:\/\/ or https:\/\/ URL/,
  );
  assert.throws(
    () =>
      galileoPlugin.create({ project_id: "p", api_key: "k", ingest: "logs" as "spans" }, ctx({})),
    /config\.ingest: must be "traces" or "spans"/,
  );
  assert.throws(
    () => galileoPlugin.create({ project_id: "p", api_key: "k", timeout_ms: 0 }, ctx({})),
    /config\.timeout_ms: Too small/,
  );
  assert.throws(
    () => galileoPlugin.create({}, ctx({ GALILEO_PROJECT_ID: "p", GALILEO_BASE_URL: "ftp://x" })),
    /galileo: base_url must use http or https/,
  );
  const legacyCtx = ctx({});
  createGalileoSink(
    { project_id: "p", username: "u", password: "p", log_stream_id: "ls" },
    legacyCtx,
  );
  assert.ok(legacyCtx.logs.some((l) => /apply to the API-key flow only/.test(l.message)));
  assert.equal(galileoPlugin.name, "galileo");
  assert.equal(galileoPlugin.configSchema, galileoConfigSchema);
  assert.equal(galileoConfigSchema.additionalProperties, false);
  assert.equal(galileoPlugin.version, denoJson.version);
});

Deno.test("mapping: completions, embeddings, tool calls, placeholders and unknown roles", () => {
  const completion = toObserveRecord(sampleEvent({
    call_type: "completion",
    messages: "Once upon a time",
    response: ["there was", "a gateway"],
  }));
  assert.equal(completion.node_type, "llm");
  assert.equal(completion.input_text, "Once upon a time");
  assert.equal(completion.output_text, "there was\na gateway");

  const removed = toGalileoSpan(sampleEvent({ messages: "[REDACTED]", response: "[REDACTED]" }));
  assert.deepEqual(removed.input, [{ role: "user", content: "[REDACTED]" }]);
  assert.deepEqual(removed.output, { role: "assistant", content: "[REDACTED]" });

  const tools = toGalileoSpan(sampleEvent({
    messages: [
      { role: "user", content: [{ type: "text", text: "look" }, { type: "image_url" }] },
      { role: "narrator", content: "odd role" },
      { role: "tool", tool_call_id: "c1", content: "42" },
    ],
    response: {
      role: "assistant",
      content: null,
      tool_calls: [{ id: "c2", type: "function", function: { name: "f", arguments: "{}" } }],
    },
  }));
  assert.deepEqual(tools.input, [
    { role: "user", content: "look\n[image_url]" },
    { role: "user", content: "odd role" },
    { role: "tool", content: "42", tool_call_id: "c1" },
  ]);
  assert.deepEqual(tools.output, {
    role: "assistant",
    content: "",
    tool_calls: [{ id: "c2", function: { name: "f", arguments: "{}" } }],
  });
  const record = toObserveRecord(sampleEvent({ response: tools.output }));
  assert.equal(record.output_text, JSON.stringify(tools.output.tool_calls));

  const embedding = toGalileoSpan(sampleEvent({
    call_type: "embedding",
    messages: ["a", "b"],
    response: { count: 2, dimensions: 3 },
  }));
  assert.equal(embedding.name, "embedding gpt-4o-mini");
  assert.deepEqual(embedding.input, [{ role: "user", content: "a\nb" }]);
  assert.deepEqual(embedding.output, { role: "assistant", content: '{"count":2,"dimensions":3}' });
});

Deno.test("mapping: responses and messages calls are chat nodes with their messages and tool calls", () => {
  for (const call_type of ["responses", "messages"] as const) {
    const event = sampleEvent({
      call_type,
      messages: [
        { role: "system", content: "Answer briefly." },
        { role: "user", content: "Weather in Paris?" },
      ],
      response: {
        role: "assistant",
        content: null,
        tool_calls: [{
          id: "call_1",
          type: "function",
          function: { name: "get_weather", arguments: '{"city":"Paris"}' },
        }],
      },
    });
    const record = toObserveRecord(event);
    assert.equal(record.node_type, "chat");
    assert.equal(record.user_metadata.call_type, call_type);
    assert.equal(record.num_input_tokens, event.prompt_tokens);
    const span = toGalileoSpan(event);
    assert.equal(span.name, `${call_type} gpt-4o-mini`);
    assert.deepEqual(span.input, [
      { role: "system", content: "Answer briefly." },
      { role: "user", content: "Weather in Paris?" },
    ]);
    assert.deepEqual(span.output, {
      role: "assistant",
      content: "",
      tool_calls: [{
        id: "call_1",
        function: { name: "get_weather", arguments: '{"city":"Paris"}' },
      }],
    });
  }
});
