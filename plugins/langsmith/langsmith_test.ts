import assert from "node:assert/strict";
import { Client, RunTree } from "npm:langsmith@0.12.0";
import langsmithPlugin, {
  createLangSmithSink,
  dottedOrderSegment,
  langsmithConfigSchema,
  langsmithLiteLLM,
  type LangSmithRun,
  resolveLangSmithSettings,
  toLangSmithRun,
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
import { batchProblems, startLangSmithReceiver, TEST_LANGSMITH_KEY } from "./test_support.ts";

const KEY = TEST_LANGSMITH_KEY;

async function rejection(promise: Promise<unknown> | unknown): Promise<SinkError> {
  try {
    await promise;
  } catch (error) {
    return error as SinkError;
  }
  throw new Error("log resolved; expected a rejection");
}

Deno.test("the langsmith sink passes the HTTP sink conformance kit", async () => {
  const report = await checkHttpSinkConformance(langsmithPlugin, {
    config: (url) => ({ api_key: KEY, endpoint_url: url, timeout_ms: 2000 }),
    eventsIn: (req) => {
      assert.ok(req.url.endsWith("/sluice-conformance/runs/batch"), req.url);
      assert.equal(req.headers.get("x-api-key"), KEY);
      const body = JSON.parse(new TextDecoder().decode(req.body));
      assert.deepEqual(batchProblems(body), []);
      return body.post.map((run: LangSmithRun) => run.id);
    },
  });
  assertConformance(report);
});

Deno.test("one llm run per call: ids, dotted order, times, messages, usage, cost, metadata", async () => {
  const ls = startLangSmithReceiver();
  try {
    const sink = createLangSmithSink({
      api_key: KEY,
      endpoint_url: `${ls.url}/`,
      project: "checkout",
      workspace_id: "ws-1",
      tags: ["prod"],
    }, createTestContext());
    const chat = sampleEvent({
      stream: true,
      finish_reasons: ["stop"],
      cache_read_input_tokens: 4,
      metadata: {
        ...sampleEvent().metadata,
        tags: ["checkout"],
        request: { session_id: "s-1", run_name: "answer" },
      },
    });
    const failed = sampleFailureEvent();
    const removed = sampleEvent({ messages: REMOVED_PLACEHOLDER, response: REMOVED_PLACEHOLDER });
    const result = await sink.log([chat, failed, removed, sampleGatewayErrorEvent()]);
    assert.deepEqual(result, { skipped: 1 }, "gateway_error events are not model calls");
    assert.deepEqual(ls.problems, []);
    const [req] = ls.requests;
    assert.equal(req.path, "/runs/batch");
    assert.equal(req.headers.get("x-tenant-id"), "ws-1");
    assert.equal(req.headers.get("user-agent"), `sluice-langsmith/${denoJson.version}`);
    assert.deepEqual((req.body as { patch: unknown[] }).patch, []);
    const run = ls.runs.get(chat.request_id)!;
    assert.equal(run.trace_id, chat.request_id, "the root of its own trace");
    assert.equal(run.dotted_order, dottedOrderSegment(chat.start_time, chat.request_id));
    assert.equal(run.run_type, "llm");
    assert.equal(run.name, "answer", "the request's run_name");
    assert.equal(run.session_name, "checkout");
    assert.equal(Date.parse(run.start_time), chat.start_time);
    assert.equal(Date.parse(run.end_time), chat.end_time);
    assert.deepEqual(run.inputs.messages, chat.messages);
    assert.equal(run.inputs.temperature, 0.2);
    assert.deepEqual(run.outputs?.choices, [{
      index: 0,
      message: chat.response,
      finish_reason: "stop",
    }]);
    assert.deepEqual(run.outputs?.usage_metadata, {
      input_tokens: chat.prompt_tokens,
      output_tokens: chat.completion_tokens,
      total_tokens: chat.total_tokens,
      input_token_details: { cache_read: 4 },
      input_cost: chat.cost_breakdown!.input,
      output_cost: chat.cost_breakdown!.output,
      total_cost: chat.response_cost,
    });
    assert.deepEqual(run.tags, ["prod", "checkout"]);
    const meta = run.extra.metadata;
    assert.equal(meta.ls_model_name, chat.model);
    assert.equal(meta.ls_provider, "openai");
    assert.equal(meta.session_id, "s-1");
    assert.equal(meta.otel_trace_id, chat.trace_id);
    assert.equal(meta.user_api_key_alias, "app-a");
    assert.deepEqual(run.events, [{
      name: "new_token",
      time: new Date(chat.completion_start_time!).toISOString(),
    }]);
    const bad = ls.runs.get(failed.request_id)!;
    assert.match(bad.error!, /RateLimitError \(429 rate_limit_exceeded\)/);
    assert.equal(bad.outputs, undefined);
    const hidden = ls.runs.get(removed.request_id)!;
    assert.equal(hidden.inputs.messages, REMOVED_PLACEHOLDER);
    assert.equal(hidden.outputs?.output, REMOVED_PLACEHOLDER);
  } finally {
    await ls.close();
  }
});

Deno.test("a request naming a LangSmith parent run nests the call's run under it", () => {
  const parentId = crypto.randomUUID();
  const traceId = crypto.randomUUID();
  const parentOrder = `${dottedOrderSegment(Date.UTC(2026, 0, 1), traceId)}.${
    dottedOrderSegment(Date.UTC(2026, 0, 1, 0, 0, 1), parentId)
  }`;
  const event = sampleEvent({
    metadata: {
      ...sampleEvent().metadata,
      request: { trace_id: traceId, parent_run_id: parentId, dotted_order: parentOrder },
    },
  });
  const run = toLangSmithRun(event, { project: "p", tags: [] });
  assert.equal(run.trace_id, traceId);
  assert.equal(run.parent_run_id, parentId);
  assert.equal(
    run.dotted_order,
    `${parentOrder}.${dottedOrderSegment(event.start_time, event.request_id)}`,
  );
  assert.deepEqual(batchProblems({ post: [run] }), []);
  // An incomplete or malformed parent is ignored: the run is its own root.
  const loose = toLangSmithRun(
    sampleEvent({
      metadata: { ...sampleEvent().metadata, request: { trace_id: traceId, parent_run_id: "x" } },
    }),
    { project: "p", tags: [] },
  );
  assert.equal(loose.trace_id, loose.id);
  assert.equal(loose.parent_run_id, undefined);
});

Deno.test("the payload matches what the langsmith SDK sends for the same call", async () => {
  const sdkBodies: Record<string, unknown>[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    sdkBodies.push(await req.json());
    return Response.json({}, { status: 202 });
  });
  const ls = startLangSmithReceiver();
  try {
    const event = sampleEvent();
    const sink = createLangSmithSink(
      { api_key: KEY, endpoint_url: ls.url, project: "p" },
      createTestContext(),
    );
    await sink.log([event]);
    const ours = ls.runs.get(event.request_id)!;
    const client = new Client({
      apiUrl: `http://127.0.0.1:${server.addr.port}`,
      apiKey: KEY,
      autoBatchTracing: false,
    });
    const tree = new RunTree({
      id: ours.id,
      name: ours.name,
      run_type: "llm",
      start_time: event.start_time,
      inputs: ours.inputs,
      project_name: "p",
      tags: ours.tags,
      extra: ours.extra,
      client,
      tracingEnabled: true,
    });
    await tree.end(ours.outputs, undefined, event.end_time);
    await client.batchIngestRuns({ runCreates: [tree.toJSON()] });
    const [sdk] = sdkBodies;
    assert.deepEqual(Object.keys(sdk).sort(), ["patch", "post"]);
    assert.deepEqual(batchProblems(sdk), [], "the SDK's own body passes the receiver's checks");
    const theirs = (sdk.post as Record<string, unknown>[])[0];
    for (
      const key of [
        "id",
        "trace_id",
        "name",
        "run_type",
        "session_name",
        "inputs",
        "outputs",
        "tags",
      ]
    ) {
      assert.deepEqual(ours[key as keyof LangSmithRun], theirs[key], key);
    }
    // The SDK breaks ties with an execution order in the microseconds; the instant is the same.
    const instant = (order: unknown) => String(order).replace(/^(\d{8}T\d{9})\d{3}Z/, "$1Z");
    assert.equal(instant(ours.dotted_order), instant(theirs.dotted_order));
    assert.equal(Date.parse(ours.start_time), Date.parse(String(theirs.start_time)));
  } finally {
    await server.shutdown();
    await ls.close();
  }
});

Deno.test("batches split at 100 runs; a 401/403 keeps the events and names the key without printing it; 429 waits", async () => {
  let status: number | undefined;
  const ls = startLangSmithReceiver({ answer: () => status });
  try {
    const sink = createLangSmithSink({ api_key: KEY, endpoint_url: ls.url }, createTestContext());
    await sink.log(sampleEvents(150));
    assert.deepEqual(
      ls.requests.map((r) => (r.body as { post: unknown[] }).post.length),
      [100, 50],
    );
    assert.equal(ls.runs.size, 150);
    for (const code of [401, 403]) {
      status = code;
      const error = await rejection(sink.log(sampleEvents(1)));
      assert.notEqual(error.permanent, true);
      assert.match(error.message, /check the API key \(LANGSMITH_API_KEY or config\.api_key\)/);
      assert.match(error.message, /the events are kept/);
      assert.ok(!error.message.includes(KEY));
    }
    status = 422;
    assert.equal((await rejection(sink.log(sampleEvents(1)))).permanent, true);
    assert.deepEqual(ls.problems, []);
  } finally {
    await ls.close();
  }
  const limited = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    await req.body?.cancel();
    return new Response("slow down", { status: 429, headers: { "retry-after": "3" } });
  });
  try {
    const sink = createLangSmithSink(
      { api_key: KEY, endpoint_url: `http://127.0.0.1:${limited.addr.port}` },
      createTestContext(),
    );
    assert.equal((await rejection(sink.log(sampleEvents(1)))).retryAfterMs, 3000);
  } finally {
    await limited.shutdown();
  }
});

Deno.test("settings: config over LANGSMITH_* (then LANGCHAIN_*); sampling; missing key refuses to start", async () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  const fromEnv = resolveLangSmithSettings(
    {},
    env({
      LANGSMITH_API_KEY: "env-key",
      LANGSMITH_PROJECT: "proj",
      LANGSMITH_BASE_URL: "https://langsmith.example.com/api/v1/",
      LANGSMITH_WORKSPACE_ID: "ws",
      LANGSMITH_DEFAULT_RUN_NAME: "Run",
      LANGSMITH_SAMPLING_RATE: "0.25",
    }),
  );
  assert.equal(fromEnv.url.href, "https://langsmith.example.com/api/v1/runs/batch");
  assert.deepEqual(
    [fromEnv.apiKey, fromEnv.project, fromEnv.workspaceId, fromEnv.runName, fromEnv.samplingRate],
    ["env-key", "proj", "ws", "Run", 0.25],
  );
  const legacy = resolveLangSmithSettings(
    {},
    env({
      LANGCHAIN_API_KEY: "old-key",
      LANGCHAIN_PROJECT: "old",
      LANGCHAIN_ENDPOINT: "http://127.0.0.1:1984",
    }),
  );
  assert.deepEqual([legacy.apiKey, legacy.project, legacy.url.href], [
    "old-key",
    "old",
    "http://127.0.0.1:1984/runs/batch",
  ]);
  const configured = resolveLangSmithSettings(
    { api_key: "cfg", project: "cfg-proj", endpoint_url: "http://127.0.0.1:9/runs/batch" },
    env({ LANGSMITH_API_KEY: "env-key", LANGSMITH_PROJECT: "proj" }),
  );
  assert.deepEqual([configured.apiKey, configured.project, configured.url.href], [
    "cfg",
    "cfg-proj",
    "http://127.0.0.1:9/runs/batch",
  ]);
  const defaults = resolveLangSmithSettings({ api_key: "k" }, env({}));
  assert.equal(defaults.url.href, "https://api.smith.langchain.com/runs/batch");
  assert.equal(defaults.project, "default");
  assert.throws(
    () => langsmithPlugin.create({}, createTestContext()),
    /^Error: langsmith: no API key; set LANGSMITH_API_KEY or this sink's config\.api_key/,
  );
  assert.throws(
    () => resolveLangSmithSettings({ api_key: "k" }, env({ LANGSMITH_SAMPLING_RATE: "2" })),
    /LANGSMITH_SAMPLING_RATE must be a number from 0 to 1/,
  );
  assert.throws(
    () => langsmithPlugin.create({ api_key: "k", sampling_rate: 3 }, createTestContext()),
    /langsmith: invalid config: config\.sampling_rate: must be between 0 and 1/,
  );
  // sampling by trace id: the same calls are kept every time
  const ls = startLangSmithReceiver();
  try {
    const sink = createLangSmithSink(
      { api_key: KEY, endpoint_url: ls.url, sampling_rate: 0.5 },
      createTestContext(),
    );
    const events = sampleEvents(200);
    const result = await sink.log(events);
    const expected = events.filter((e) => Number.parseInt(e.trace_id.slice(0, 8), 16) < 2 ** 31);
    assert.deepEqual([...ls.runs.keys()].sort(), expected.map((e) => e.request_id).sort());
    assert.deepEqual(result, { skipped: 200 - expected.length });
  } finally {
    await ls.close();
  }
  assert.equal(langsmithPlugin.version, denoJson.version);
  assert.equal(langsmithPlugin.configSchema, langsmithConfigSchema);
  assert.deepEqual(
    resolvePermissions(langsmithPlugin, { api_key: "k" }, {
      LANGSMITH_BASE_URL: "http://127.0.0.1:8080",
    })
      .net,
    ["127.0.0.1:8080"],
  );
});

Deno.test("litellm: langsmith keeps LiteLLM's project and run name unless the variables set them", () => {
  const entry = (vars: Record<string, string>) =>
    langsmithLiteLLM.toSink!({
      callback: "langsmith",
      name: "langsmith",
      path: "litellm_settings.callbacks[0]",
      callbackSettings: {},
      litellmSettings: {},
      env: (name) => vars[name],
    });
  assert.deepEqual(entry({}), { config: { project: "litellm-completion", run_name: "LLMRun" } });
  assert.deepEqual(entry({ LANGSMITH_PROJECT: "p", LANGSMITH_DEFAULT_RUN_NAME: "n" }), {
    config: {},
  });
  assert.equal(langsmithPlugin.litellm, langsmithLiteLLM);
});
