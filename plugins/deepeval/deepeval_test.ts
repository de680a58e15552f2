import assert from "node:assert/strict";
import deepevalPlugin, {
  createDeepEvalSink,
  DEEPEVAL_ENV,
  deepevalConfigSchema,
  deepevalLiteLLM,
  llmSpanUuid,
  resolveDeepEvalSettings,
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
import { startConfidentReceiver, TEST_CONFIDENT_KEY } from "./test_support.ts";

const KEY = TEST_CONFIDENT_KEY;

/** A test context that grants the plugin's variables (none set), as the gateway does. */
const context = () => createTestContext({ permissions: { env: [...DEEPEVAL_ENV] } });

async function rejection(promise: Promise<unknown> | unknown): Promise<SinkError> {
  try {
    await promise;
  } catch (error) {
    return error as SinkError;
  }
  throw new Error("log resolved; expected a rejection");
}

Deno.test("the deepeval sink passes the HTTP sink conformance kit", async () => {
  const report = await checkHttpSinkConformance(deepevalPlugin, {
    config: (url) => ({ api_key: KEY, endpoint_url: url, timeout_ms: 2000 }),
    eventsIn: (req) => {
      assert.ok(req.url.endsWith("/sluice-conformance/v1/traces"), req.url);
      assert.equal(req.headers.get("CONFIDENT_API_KEY"), KEY);
      return [JSON.parse(new TextDecoder().decode(req.body)).uuid];
    },
    okResponse: (req) =>
      Response.json({
        success: true,
        data: { id: JSON.parse(new TextDecoder().decode(req.body)).uuid },
      }),
  });
  assertConformance(report);
});

Deno.test("one trace with an LLM span per call: input/output, model, tokens, cost, times, status, ids", async () => {
  const confident = startConfidentReceiver();
  try {
    const sink = createDeepEvalSink(
      { api_key: KEY, endpoint_url: `${confident.url}/`, environment: "staging", tags: ["gw"] },
      context(),
    );
    const chat = sampleEvent({
      finish_reasons: ["stop"],
      metadata: {
        ...sampleEvent().metadata,
        tags: ["checkout"],
        request: {
          thread_id: "conv-1",
          trace_name: "support-bot",
          generation_name: "answer",
          metric_collection: "prod-evals",
          customer: "acme",
        },
      },
    });
    const failed = sampleFailureEvent();
    const removed = sampleEvent({ messages: REMOVED_PLACEHOLDER, response: REMOVED_PLACEHOLDER });
    const tools = sampleEvent({
      response: {
        role: "assistant",
        content: null,
        tool_calls: [{
          id: "call_1",
          type: "function",
          function: { name: "weather", arguments: "{}" },
        }],
      },
    });
    const embedding = sampleEvent({
      call_type: "embedding",
      messages: ["a"],
      response: { object: "list", count: 1, dimensions: 3 },
    });
    const events = [chat, failed, removed, tools, embedding, sampleGatewayErrorEvent()];
    assert.deepEqual(await sink.log(events), { skipped: 1 });
    assert.deepEqual(confident.problems, []);
    assert.equal(confident.requests.length, 5, "one POST per call");
    assert.equal(
      confident.requests[0].headers.get("user-agent"),
      `sluice-deepeval/${denoJson.version}`,
    );
    const byId = new Map(confident.traces.map((t) => [t.uuid, t]));

    const trace = byId.get(chat.request_id)!;
    const [span] = trace.llmSpans;
    assert.equal(trace.name, "support-bot");
    assert.equal(trace.status, "SUCCESS");
    assert.equal(trace.environment, "staging");
    assert.deepEqual([Date.parse(trace.startTime), Date.parse(trace.endTime)], [
      chat.start_time,
      chat.end_time,
    ]);
    assert.equal(trace.input, (chat.messages as { content: string }[])[1].content);
    assert.equal(trace.output, (chat.response as { content: string }).content);
    assert.deepEqual(trace.tags, ["gw", "checkout"]);
    assert.equal(trace.threadId, "conv-1");
    assert.equal(trace.userId, chat.metadata.end_user);
    assert.equal(trace.metricCollection, "prod-evals");
    assert.equal(trace.metadata.customer, "acme");
    assert.equal(trace.metadata.call_id, chat.call_id);
    assert.equal(trace.metadata.trace_id, chat.trace_id);
    assert.equal(trace.metadata.span_id, chat.span_id);
    assert.equal(trace.metadata.user_api_key_team, "team-a");
    assert.equal(trace.metadata.trace_name, undefined, "consumed keys are not repeated");

    assert.equal(span.uuid, await llmSpanUuid(chat.request_id));
    assert.equal(span.type, "llm");
    assert.equal(span.name, "answer");
    assert.equal(span.status, "SUCCESS");
    assert.deepEqual(span.input, chat.messages);
    assert.equal(span.output, (chat.response as { content: string }).content);
    assert.equal(span.model, chat.model);
    assert.equal(span.provider, "openai");
    assert.equal(span.inputTokenCount, chat.prompt_tokens);
    assert.equal(span.outputTokenCount, chat.completion_tokens);
    const cost = span.costPerInputToken! * chat.prompt_tokens +
      span.costPerOutputToken! * chat.completion_tokens;
    assert.ok(Math.abs(cost - chat.response_cost!) < 1e-12, `${cost} vs ${chat.response_cost}`);
    assert.equal(span.metadata.response_cost, chat.response_cost);
    assert.deepEqual(span.metadata.finish_reasons, ["stop"]);
    assert.deepEqual(span.metadata.model_parameters, chat.model_parameters);
    assert.equal(
      Date.parse(span.metadata.completion_start_time as string),
      chat.completion_start_time,
    );

    const bad = byId.get(failed.request_id)!;
    assert.equal(bad.status, "ERRORED");
    assert.equal(bad.llmSpans[0].status, "ERRORED");
    assert.match(bad.llmSpans[0].error!, /RateLimitError \(429 rate_limit_exceeded\): Rate limit/);
    assert.equal(bad.llmSpans[0].output, undefined);
    assert.equal(bad.llmSpans[0].costPerInputToken, undefined);
    assert.equal(bad.output, undefined);

    const hidden = byId.get(removed.request_id)!;
    assert.equal(hidden.llmSpans[0].input, REMOVED_PLACEHOLDER);
    assert.equal(hidden.llmSpans[0].output, REMOVED_PLACEHOLDER);
    assert.equal(hidden.input, REMOVED_PLACEHOLDER);

    const called = byId.get(tools.request_id)!;
    assert.deepEqual(called.llmSpans[0].output, tools.response, "a tool call keeps the message");
    assert.equal(called.output, undefined);
    assert.deepEqual(byId.get(embedding.request_id)!.llmSpans[0].input, ["a"]);
  } finally {
    await confident.close();
  }
});

Deno.test("a trace refused as malformed (a 4xx, or success: false) is reported and skipped, the rest delivered", async () => {
  const bodies: (number | "refuse" | undefined)[] = [undefined, 422, undefined, "refuse"];
  let n = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const trace = await req.json();
    const answer = bodies[n++ % bodies.length];
    if (answer === "refuse") {
      return Response.json({ success: false, error: `bad trace for ${KEY}` });
    }
    if (answer) return Response.json({ success: false, error: "invalid" }, { status: answer });
    return Response.json({ success: true, data: { id: trace.uuid } });
  });
  try {
    const ctx = context();
    const sink = createDeepEvalSink(
      { api_key: KEY, endpoint_url: `http://127.0.0.1:${server.addr.port}`, concurrency: 1 },
      ctx,
    );
    const events = sampleEvents(4);
    assert.deepEqual(await sink.log(events), { skipped: 2 });
    const [warning] = ctx.logs.filter((l) => l.level === "warn");
    assert.match(warning.message, /Confident AI refused 2 of 4 trace\(s\): .*answered 422/);
    assert.deepEqual(warning.data?.request_ids, [events[1].request_id, events[3].request_id]);
    n = 3;
    const error = await rejection(sink.log(sampleEvents(1)));
    assert.equal(error.permanent, true);
    assert.match(error.message, /answered 200 \(bad trace for \[/);
    assert.ok(!error.message.includes(KEY), "the key is scrubbed");
  } finally {
    await server.shutdown();
  }
});

Deno.test("a batch retried after a failure midway sends only the traces not accepted", async () => {
  let down = true;
  const confident = startConfidentReceiver({
    answer: (n) => (down && n >= 3 ? 503 : undefined),
  });
  try {
    const sink = createDeepEvalSink(
      { api_key: KEY, endpoint_url: confident.url, concurrency: 1 },
      context(),
    );
    const events = sampleEvents(6);
    const error = await rejection(sink.log(events));
    assert.notEqual(error.permanent, true);
    assert.equal(confident.requests.length, 3, "no more POSTs after the first 503");
    down = false;
    await sink.log(events);
    assert.deepEqual(
      confident.traces.map((t) => t.uuid).sort(),
      events.map((e) => e.request_id).sort(),
      "each once",
    );
    assert.deepEqual(confident.problems, []);
  } finally {
    await confident.close();
  }
});

Deno.test("401/403 keep the events and name the API key without printing it; 429 waits for Retry-After", async () => {
  let status = 401;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    await req.body?.cancel();
    return Response.json(
      { success: false, error: `invalid key ${req.headers.get("CONFIDENT_API_KEY")}` },
      { status, headers: { "retry-after": "4" } },
    );
  });
  try {
    const sink = createDeepEvalSink(
      { api_key: KEY, endpoint_url: `http://127.0.0.1:${server.addr.port}` },
      context(),
    );
    for (const code of [401, 403]) {
      status = code;
      const error = await rejection(sink.log(sampleEvents(3)));
      assert.notEqual(error.permanent, true, `${code}`);
      assert.match(
        error.message,
        /check the Confident AI project API key \(CONFIDENT_API_KEY or config\.api_key\)/,
      );
      assert.match(error.message, /the events are kept/);
      assert.ok(!error.message.includes(KEY), error.message);
    }
    status = 429;
    assert.equal((await rejection(sink.log(sampleEvents(2)))).retryAfterMs, 4000);
    status = 404;
    assert.match((await rejection(sink.log(sampleEvents(1)))).message, /CONFIDENT_BASE_URL/);
  } finally {
    await server.shutdown();
  }
});

Deno.test("settings: config over CONFIDENT_* and LITELM_ENVIRONMENT; a missing key or a bad environment refuses to start", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  const fromEnv = resolveDeepEvalSettings(
    {},
    env({
      CONFIDENT_API_KEY: "env-key",
      CONFIDENT_BASE_URL: "http://localhost:8080/",
      LITELM_ENVIRONMENT: "production",
    }),
  );
  assert.deepEqual([fromEnv.apiKey, fromEnv.url.href, fromEnv.environment], [
    "env-key",
    "http://localhost:8080/v1/traces",
    "production",
  ]);
  assert.equal(
    resolveDeepEvalSettings(
      { api_key: "k" },
      env({ CONFIDENT_TRACE_ENVIRONMENT: "testing", LITELM_ENVIRONMENT: "production" }),
    ).environment,
    "testing",
  );
  const configured = resolveDeepEvalSettings(
    {
      api_key: "cfg",
      endpoint_url: "https://eu.api.confident-ai.com/v1/traces",
      environment: "staging",
    },
    env({ CONFIDENT_API_KEY: "env-key", LITELM_ENVIRONMENT: "production" }),
  );
  assert.deepEqual([configured.apiKey, configured.url.href, configured.environment], [
    "cfg",
    "https://eu.api.confident-ai.com/v1/traces",
    "staging",
  ]);
  const defaults = resolveDeepEvalSettings({ api_key: "k" }, env({}));
  assert.deepEqual([defaults.url.href, defaults.environment], [
    "https://api.confident-ai.com/v1/traces",
    "development",
  ]);
  assert.throws(
    () => deepevalPlugin.create({}, createTestContext()),
    /^Error: deepeval: no Confident AI API key; set CONFIDENT_API_KEY or this sink's config\.api_key/,
  );
  assert.throws(
    () => resolveDeepEvalSettings({ api_key: "k" }, env({ LITELM_ENVIRONMENT: "prod" })),
    /deepeval: LITELM_ENVIRONMENT must be one of production, development, staging, testing; got "prod"/,
  );
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => deepevalPlugin.create({ api_key: "k", environment: "prod" as any }, createTestContext()),
    /deepeval: invalid config: config\.environment/,
  );
  assert.equal(deepevalPlugin.version, denoJson.version);
  assert.equal(deepevalPlugin.configSchema, deepevalConfigSchema);
  assert.deepEqual(
    resolvePermissions(deepevalPlugin, {}, {
      CONFIDENT_API_KEY: "k",
      CONFIDENT_BASE_URL: "http://127.0.0.1:8080",
    }),
    {
      net: ["127.0.0.1:8080"],
      env: [
        "CONFIDENT_API_KEY",
        "CONFIDENT_BASE_URL",
        "CONFIDENT_TRACE_ENVIRONMENT",
        "LITELM_ENVIRONMENT",
      ],
    },
  );
  assert.deepEqual(resolvePermissions(deepevalPlugin, { api_key: "k" }, {}).net, [
    "api.confident-ai.com",
  ]);
  assert.deepEqual(deepevalLiteLLM.callbacks, ["deepeval"]);
  assert.equal(deepevalPlugin.litellm, deepevalLiteLLM);
});

Deno.test("the LLM span's uuid is a version 8 UUID derived from request_id", async () => {
  const id = crypto.randomUUID();
  const a = await llmSpanUuid(id);
  assert.equal(a, await llmSpanUuid(id));
  assert.notEqual(a, await llmSpanUuid(crypto.randomUUID()));
  assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});
