import assert from "node:assert/strict";
import datadogPlugin, {
  createDatadogSink,
  datadogConfigSchema,
  datadogLiteLLM,
  DROPPED_CONTENT,
  LLM_OBS_PATH,
  LOGS_PATH,
  resolveDatadogSettings,
  toLlmObsSpan,
  toLogItem,
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
import { REMOVED_PLACEHOLDER, type SinkError } from "@sluice/core/plugin";
import denoJson from "./deno.json" with { type: "json" };
import { spansSchemaErrors, startDatadogReceiver, TEST_DD_API_KEY } from "./test_support.ts";

const KEY = TEST_DD_API_KEY;

async function bodyText(req: { headers: Headers; body: Uint8Array }): Promise<string> {
  if (req.headers.get("content-encoding") !== "gzip") return new TextDecoder().decode(req.body);
  const stream = new Blob([req.body as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new DecompressionStream("gzip"));
  return await new Response(stream).text();
}

async function rejection(promise: Promise<unknown> | unknown): Promise<SinkError> {
  try {
    await promise;
  } catch (error) {
    return error as SinkError;
  }
  throw new Error("log resolved; expected a rejection");
}

Deno.test("the datadog sink passes the HTTP sink conformance kit on both intakes", async () => {
  for (const intake of ["logs", "llm_obs"] as const) {
    const report = await checkHttpSinkConformance(datadogPlugin, {
      config: (url) => ({ api_key: KEY, endpoint_url: url, intake, timeout_ms: 2000 }),
      eventsIn: async (req) => {
        assert.equal(req.headers.get("dd-api-key"), KEY);
        const body = JSON.parse(await bodyText(req));
        if (intake === "logs") {
          assert.ok(req.url.endsWith(`/sluice-conformance${LOGS_PATH}`), req.url);
          assert.equal(req.headers.get("content-encoding"), "gzip");
          return body.map((item: { message: string }) => JSON.parse(item.message).request_id);
        }
        assert.ok(req.url.endsWith(`/sluice-conformance${LLM_OBS_PATH}`), req.url);
        assert.deepEqual(spansSchemaErrors(body), []);
        return body.data.attributes.spans.map((s: { meta: { metadata: { request_id: string } } }) =>
          s.meta.metadata.request_id
        );
      },
    });
    assertConformance(report);
  }
});

Deno.test("logs: one gzip request of schema-valid entries, the call as the JSON message", async () => {
  const dd = startDatadogReceiver();
  try {
    const sink = createDatadogSink({
      api_key: KEY,
      endpoint_url: dd.url,
      service: "llm-gateway",
      source: "sluice-test",
      env: "Prod",
      version: "1.2.3",
      hostname: "gw-1",
      tags: ["region:eu"],
    }, createTestContext());
    const ok = sampleEvent({ metadata: { ...sampleEvent().metadata, tags: ["checkout"] } });
    const failed = sampleFailureEvent();
    await sink.log([ok, failed]);
    assert.deepEqual(dd.problems, []);
    assert.equal(dd.requests.length, 1);
    const [req] = dd.requests;
    assert.equal(req.path, "/api/v2/logs");
    assert.equal(req.headers.get("content-encoding"), "gzip");
    assert.equal(req.headers.get("user-agent"), `sluice-datadog/${denoJson.version}`);
    assert.ok(req.wireBytes < req.text.length, "compressed");
    const [a, b] = dd.logs();
    assert.deepEqual(JSON.parse(a.message), ok);
    assert.equal(a.status, "info");
    assert.equal(b.status, "error");
    assert.equal(a.service, "llm-gateway");
    assert.equal(a.ddsource, "sluice-test");
    assert.equal(a.hostname, "gw-1");
    assert.equal(a.date, new Date(ok.end_time).toISOString());
    const tags = a.ddtags.split(",");
    for (
      const tag of [
        "env:prod",
        "version:1.2.3",
        "region:eu",
        `model_group:${ok.model_group}`,
        "provider:openai",
        "team:team-a",
        "key_alias:app-a",
        "request_tag:checkout",
        "status:success",
      ]
    ) assert.ok(tags.includes(tag), `${tag} in ${a.ddtags}`);
    // uncompressed when asked
    const plain = createDatadogSink({ api_key: KEY, endpoint_url: dd.url, compress: false }, {
      ...createTestContext(),
    });
    await plain.log([sampleEvent()]);
    assert.equal(dd.requests[1].headers.get("content-encoding"), null);
    assert.deepEqual(dd.problems, []);
  } finally {
    await dd.close();
  }
});

Deno.test("logs: batches split at 1,000 entries and 5 MB; a call over 1 MB loses its content, not its record", async () => {
  const dd = startDatadogReceiver();
  try {
    const sink = createDatadogSink({ api_key: KEY, endpoint_url: dd.url }, createTestContext());
    const many = sampleEvents(1001);
    await sink.log(many);
    assert.deepEqual(dd.requests.map((r) => JSON.parse(r.text).length), [1000, 1]);
    dd.requests.length = 0;
    const text = "x".repeat(700_000);
    const big = Array.from(
      { length: 9 },
      () => sampleEvent({ messages: [{ role: "user", content: text }] }),
    );
    const huge = sampleEvent({ messages: [{ role: "user", content: "y".repeat(1_200_000) }] });
    await sink.log([...big, huge]);
    assert.deepEqual(dd.problems, []);
    assert.ok(dd.requests.length >= 2, "split by size");
    for (const r of dd.requests) assert.ok(new TextEncoder().encode(r.text).byteLength <= 5e6);
    const sent = dd.logs().slice(1001).map((l) => JSON.parse(l.message));
    assert.deepEqual(sent.map((e) => e.request_id), [...big, huge].map((e) => e.request_id));
    const last = sent.at(-1);
    assert.equal(last.messages, DROPPED_CONTENT);
    assert.equal(last.total_tokens, huge.total_tokens, "usage kept");
  } finally {
    await dd.close();
  }
});

Deno.test("logs: a retried batch does not send again the requests Datadog already accepted", async () => {
  let failSecond = true;
  const dd = startDatadogReceiver({
    answer: (n) => (n === 2 && failSecond ? 503 : undefined),
  });
  try {
    const sink = createDatadogSink({ api_key: KEY, endpoint_url: dd.url }, createTestContext());
    const batch = sampleEvents(1500);
    const error = await rejection(sink.log(batch));
    assert.notEqual(error.permanent, true);
    failSecond = false;
    await sink.log(batch);
    const ids = dd.logs().map((l) => JSON.parse(l.message).request_id);
    assert.equal(ids.length, 1500);
    assert.equal(new Set(ids).size, 1500, "no duplicates");
    assert.deepEqual(dd.requests.map((r) => [JSON.parse(r.text).length, r.status]), [
      [1000, 202],
      [500, 503],
      [500, 202],
    ]);
  } finally {
    await dd.close();
  }
});

Deno.test("llm_obs: one schema-valid LLM span per call with the call's ids, times, tokens and content", async () => {
  const dd = startDatadogReceiver();
  try {
    const sink = createDatadogSink({
      api_key: KEY,
      endpoint_url: dd.url,
      intake: "llm_obs",
      ml_app: "Support-Bot",
      env: "staging",
    }, createTestContext());
    const chat = sampleEvent({
      stream: true,
      parent_span_id: "00f067aa0ba902b7",
      metadata: { ...sampleEvent().metadata, request: { session_id: "sess-9" } },
      response: {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }],
      },
    });
    const failed = sampleFailureEvent({ call_type: "responses" });
    const removed = sampleEvent({ messages: REMOVED_PLACEHOLDER, response: REMOVED_PLACEHOLDER });
    const embedding = sampleEvent({
      call_type: "embedding",
      messages: ["a", "b"],
      response: { object: "list", count: 2, dimensions: 3 },
    });
    const result = await sink.log([chat, failed, removed, embedding, sampleGatewayErrorEvent()]);
    assert.deepEqual(result, { skipped: 1 }, "gateway_error events are not LLM calls");
    assert.deepEqual(dd.problems, []);
    const [request] = dd.spanRequests();
    assert.equal(request.data.attributes.ml_app, "support-bot");
    assert.ok(request.data.attributes.tags.includes("env:staging"));
    assert.ok(request.data.attributes.tags.includes("service:sluice"));
    const [s1, s2, s3, s4] = dd.spans();
    assert.equal(s1.trace_id, chat.trace_id);
    assert.equal(BigInt(s1.span_id), BigInt(`0x${chat.span_id}`));
    assert.equal(s1.parent_id, "undefined");
    assert.equal(s1.meta.metadata.parent_span_id, "00f067aa0ba902b7");
    // Epoch nanoseconds (~1.8e18) are past 2^53: a double holds them to within 256 ns.
    assert.equal(Math.round(s1.start_ns / 1e6), chat.start_time);
    assert.equal(s1.duration, (chat.end_time - chat.start_time) * 1e6);
    assert.equal(s1.status, "ok");
    assert.equal(s1.session_id, "sess-9");
    assert.deepEqual(s1.metrics, {
      input_tokens: chat.prompt_tokens,
      output_tokens: chat.completion_tokens,
      total_tokens: chat.total_tokens,
      time_to_first_token: (chat.completion_start_time! - chat.start_time) / 1000,
    });
    assert.equal(s1.meta.metadata.model_name, chat.model);
    assert.equal(s1.meta.metadata.model_provider, "openai");
    assert.equal(s1.meta.metadata.temperature, 0.2);
    assert.equal(s1.meta.metadata.response_cost, chat.response_cost);
    assert.deepEqual(
      s1.meta.input?.messages?.map((m) => m.role),
      (chat.messages as { role: string }[]).map((m) => m.role),
    );
    assert.deepEqual(s1.meta.output?.messages, [{ role: "assistant", content: "f({})" }]);
    assert.equal(s2.status, "error");
    assert.deepEqual(s2.meta.error, { message: failed.error!.message, type: "RateLimitError" });
    assert.equal(s2.meta.output, undefined);
    assert.deepEqual(s3.meta.input, { value: REMOVED_PLACEHOLDER });
    assert.deepEqual(s3.meta.output, { value: REMOVED_PLACEHOLDER });
    assert.equal(s4.meta.kind, "embedding");
    assert.deepEqual(s4.meta.input, { value: "a\nb" });
  } finally {
    await dd.close();
  }
});

Deno.test("401/403 keep the events and name the credential without printing it; 429 honours Retry-After", async () => {
  let status = 403;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    await req.body?.cancel();
    return Response.json({ errors: [`key ${req.headers.get("dd-api-key")} is invalid`] }, {
      status,
      headers: { "retry-after": "7" },
    });
  });
  try {
    for (const intake of ["logs", "llm_obs"] as const) {
      const sink = createDatadogSink(
        { api_key: KEY, endpoint_url: `http://127.0.0.1:${server.addr.port}`, intake },
        createTestContext(),
      );
      for (const code of [401, 403]) {
        status = code;
        const error = await rejection(sink.log(sampleEvents(2)));
        assert.notEqual(error.permanent, true, `${code} keeps the events`);
        assert.match(error.message, new RegExp(`answered ${code}`));
        assert.match(error.message, /check the API key \(DD_API_KEY or config\.api_key\)/);
        assert.match(error.message, /the events are kept/);
        assert.ok(!error.message.includes(KEY), error.message);
      }
      status = 429;
      const limited = await rejection(sink.log(sampleEvents(1)));
      assert.equal(limited.retryAfterMs, 7000);
      status = 400;
      assert.equal((await rejection(sink.log(sampleEvents(1)))).permanent, true);
    }
  } finally {
    await server.shutdown();
  }
});

Deno.test("settings: config over DD_* variables; sites, endpoints, keys and ml_app checked", () => {
  const permissions = datadogPlugin.permissions;
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  const fromEnv = resolveDatadogSettings(
    {},
    env({
      DD_API_KEY: "env-key",
      DD_SITE: "https://app.datadoghq.eu/",
      DD_SERVICE: "svc",
      DD_SOURCE: "src",
      DD_ENV: "prod",
      DD_VERSION: "9",
      HOSTNAME: "host-a",
      DD_LLMOBS_ML_APP: "my-app",
    }),
  );
  assert.equal(fromEnv.url.href, "https://http-intake.logs.datadoghq.eu/api/v2/logs");
  assert.equal(fromEnv.apiKey, "env-key");
  assert.deepEqual(
    [fromEnv.service, fromEnv.source, fromEnv.hostname, fromEnv.mlApp, fromEnv.tags],
    ["svc", "src", "host-a", "my-app", ["env:prod", "version:9"]],
  );
  const configured = resolveDatadogSettings(
    { api_key: "cfg-key", site: "us5.datadoghq.com", intake: "llm_obs", service: "Gateway" },
    env({ DD_API_KEY: "env-key", DD_SITE: "datadoghq.eu" }),
  );
  assert.equal(
    configured.url.href,
    "https://api.us5.datadoghq.com/api/intake/llm-obs/v1/trace/spans",
  );
  assert.equal(configured.apiKey, "cfg-key");
  assert.equal(configured.mlApp, "gateway", "ml_app defaults to the service, lower-cased");
  const defaults = resolveDatadogSettings({ api_key: "k" }, env({}));
  assert.equal(defaults.url.host, "http-intake.logs.datadoghq.com");
  assert.equal(defaults.service, "sluice");
  // endpoint_url: the path is added unless present
  for (
    const [endpoint, href] of [
      ["http://127.0.0.1:9/", "http://127.0.0.1:9/api/v2/logs"],
      ["http://127.0.0.1:9/proxy", "http://127.0.0.1:9/proxy/api/v2/logs"],
      ["http://127.0.0.1:9/api/v2/logs", "http://127.0.0.1:9/api/v2/logs"],
    ]
  ) {
    assert.equal(
      resolveDatadogSettings({ api_key: "k", endpoint_url: endpoint }, env({})).url.href,
      href,
    );
  }
  // An Agent may take logs without a key; LLM Observability never does.
  assert.equal(
    resolveDatadogSettings({ endpoint_url: "http://127.0.0.1:10518" }, env({})).apiKey,
    undefined,
  );
  assert.throws(
    () => datadogPlugin.create({}, createTestContext({ permissions })),
    /^Error: datadog: no API key; set DD_API_KEY or this sink's config\.api_key/,
  );
  assert.throws(
    () =>
      resolveDatadogSettings({ intake: "llm_obs", endpoint_url: "http://127.0.0.1:1" }, env({})),
    /no API key/,
  );
  assert.throws(
    () => resolveDatadogSettings({ api_key: "k", site: "not a site" }, env({})),
    /site/,
  );
  assert.throws(
    () => resolveDatadogSettings({ api_key: "k", intake: "llm_obs", ml_app: "a__b" }, env({})),
    /naming guidelines/,
  );
  assert.throws(
    () => datadogPlugin.create({ api_key: "k", intake: "metrics" as "logs" }, createTestContext()),
    /datadog: invalid config: config\.intake: must be "logs" or "llm_obs"/,
  );
  assert.equal(datadogPlugin.version, denoJson.version);
  assert.equal(datadogPlugin.configSchema, datadogConfigSchema);
  assert.deepEqual(
    resolvePermissions(datadogPlugin, { api_key: "k" }, { DD_SITE: "us3.datadoghq.com" }),
    {
      net: ["http-intake.logs.us3.datadoghq.com"],
      env: [
        "DD_API_KEY",
        "DD_SITE",
        "DD_SERVICE",
        "DD_SOURCE",
        "DD_ENV",
        "DD_VERSION",
        "DD_LLMOBS_ML_APP",
        "HOSTNAME",
      ],
    },
  );
});

Deno.test("records: logs keep LiteLLM's field names; spans stay under 1 MB", () => {
  const event = sampleEvent();
  const item = toLogItem(event, {
    source: "s",
    service: "v",
    tags: [],
    now: event.end_time + 19 * 3600e3,
  });
  assert.equal(item.date, undefined, "past the intake's 18-hour window: Datadog's own time");
  const message = JSON.parse(item.message);
  for (const key of ["model_group", "response_cost", "prompt_tokens", "metadata", "call_type"]) {
    assert.ok(key in message, key);
  }
  const big = toLlmObsSpan(
    sampleEvent({ messages: [{ role: "user", content: "z".repeat(1_100_000) }] }),
    [],
  );
  assert.deepEqual(big.meta.input, { value: DROPPED_CONTENT });
  assert.deepEqual(
    spansSchemaErrors({ data: { type: "span", attributes: { ml_app: "a", spans: [big] } } }),
    [],
  );
});

Deno.test("litellm: datadog and datadog_llm_observability keep LiteLLM's defaults and Agent variables", () => {
  const input = (callback: string, vars: Record<string, string>, settings = {}) =>
    datadogLiteLLM.toSink!({
      callback,
      name: callback,
      path: "litellm_settings.callbacks[0]",
      callbackSettings: {},
      litellmSettings: settings,
      env: (name) => vars[name],
    });
  assert.deepEqual(input("datadog", {}), {
    config: { intake: "logs", service: "litellm-server", source: "litellm" },
    problems: [],
  });
  assert.deepEqual(input("datadog", { DD_SERVICE: "mine", LITELLM_DD_AGENT_HOST: "dd-agent" }), {
    config: { intake: "logs", source: "litellm", endpoint_url: "http://dd-agent:10518" },
    problems: [],
  });
  const obs = input("datadog_llm_observability", { DD_SOURCE: "x" }, {
    datadog_llm_observability_params: { turn_off_message_logging: true, other: 1 },
  });
  assert.deepEqual(obs.config, { intake: "llm_obs", service: "litellm-server" });
  assert.deepEqual(obs.redaction, { messages: "remove" });
  assert.deepEqual(obs.problems?.map((p) => [p.severity, p.path]), [
    ["warning", "litellm_settings.datadog_llm_observability_params.other"],
  ]);
  assert.deepEqual(datadogPlugin.litellm, datadogLiteLLM);
});
