import assert from "node:assert/strict";
import mlflowPlugin, {
  createMlflowSink,
  mlflowConfigSchema,
  mlflowLiteLLM,
  mlflowTraceId,
  resolveMlflowSettings,
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
import { decodeTraces, startMlflowReceiver } from "./test_support.ts";

const TOKEN = "mlflow-token-3b9f0c2e7d41";
const USER = { username: "sluice-writer", password: "pw-7f3a9c1e5b2d" };

async function rejection(promise: Promise<unknown> | unknown): Promise<SinkError> {
  try {
    await promise;
  } catch (error) {
    return error as SinkError;
  }
  throw new Error("log resolved; expected a rejection");
}

Deno.test("the mlflow sink passes the HTTP sink conformance kit", async () => {
  const report = await checkHttpSinkConformance(mlflowPlugin, {
    config: (url) => ({ endpoint_url: url, experiment_id: "7", tracking_token: TOKEN }),
    eventsIn: (req) => {
      assert.ok(req.url.endsWith("/sluice-conformance/v1/traces"), req.url);
      assert.equal(req.headers.get("authorization"), `Bearer ${TOKEN}`);
      assert.equal(req.headers.get("x-mlflow-experiment-id"), "7");
      const request = decodeTraces(req.body);
      return request.resourceSpans[0].scopeSpans[0].spans.map((s: { attributes: [] }) =>
        JSON.parse(
          (s.attributes as { key: string; value: { stringValue: string } }[])
            .find((a) => a.key === "request_id")!.value.stringValue,
        )
      );
    },
  });
  assertConformance(report);
});

Deno.test("one trace per call with one LLM span: inputs, outputs, token usage, model, status, tags", async () => {
  const mlflow = startMlflowReceiver({ auth: { token: TOKEN }, experiments: { LiteLLM: "3" } });
  try {
    const ctx = createTestContext();
    const sink = createMlflowSink(
      {
        endpoint_url: `${mlflow.url}/`,
        experiment_id: "3",
        tracking_token: TOKEN,
        tags: { env: "prod" },
      },
      ctx,
    );
    const chat = sampleEvent({
      cache_read_input_tokens: 4,
      cost_breakdown: { input: 0.001, output: 0.002, cache_read: 0.0005, cache_creation: 0 },
      response_cost: 0.0035,
      metadata: {
        ...sampleEvent().metadata,
        tags: ["checkout"],
        request: { session_id: "s-1", feature: "cart" },
      },
    });
    const failed = sampleFailureEvent();
    const removed = sampleEvent({ messages: REMOVED_PLACEHOLDER, response: REMOVED_PLACEHOLDER });
    const embedding = sampleEvent({
      call_type: "embedding",
      messages: ["a"],
      response: { object: "list", count: 1, dimensions: 3 },
    });
    const result = await sink.log([chat, failed, removed, embedding, sampleGatewayErrorEvent()]);
    assert.deepEqual(result, { skipped: 1 });
    assert.deepEqual(mlflow.problems, []);
    const posts = mlflow.requests.filter((r) => r.path === "/v1/traces");
    assert.equal(posts.length, 1, "one request per batch");
    assert.equal(posts[0].headers.get("user-agent"), `sluice-mlflow/${denoJson.version}`);
    assert.equal(mlflow.traces.size, 4);

    const trace = mlflow.traces.get(`tr-${chat.request_id.replaceAll("-", "")}`)!;
    assert.equal(trace.info.experiment_id, "3");
    assert.equal(trace.info.state, "OK");
    assert.equal(trace.info.request_time, chat.start_time);
    assert.equal(trace.info.execution_duration_ms, chat.end_time - chat.start_time);
    assert.equal(trace.info.tags["mlflow.traceName"], `litellm-${chat.call_type}`);
    assert.equal(trace.info.tags.env, "prod");
    assert.equal(trace.info.trace_metadata["mlflow.trace.user"], chat.metadata.end_user);
    assert.equal(trace.info.trace_metadata["mlflow.trace.session"], "s-1");
    assert.deepEqual(JSON.parse(trace.info.trace_metadata["mlflow.trace.tokenUsage"]), {
      input_tokens: chat.prompt_tokens,
      output_tokens: chat.completion_tokens,
      total_tokens: chat.total_tokens,
      cache_read_input_tokens: 4,
    });
    assert.match(trace.info.request_preview!, /"messages"/);
    assert.equal(trace.spans.size, 1);
    const [{ span, attributes }] = trace.spans.values();
    assert.equal(span.spanId, chat.span_id);
    assert.equal(span.parentSpanId, undefined, "the root span of its own trace");
    assert.equal(attributes["mlflow.spanType"], "LLM");
    const inputs = attributes["mlflow.spanInputs"] as Record<string, unknown>;
    assert.deepEqual(inputs.messages, chat.messages);
    assert.equal(inputs.model, chat.model_group);
    for (const [k, v] of Object.entries(chat.model_parameters ?? {})) {
      assert.deepEqual(inputs[k], v);
    }
    const outputs = attributes["mlflow.spanOutputs"] as {
      object: string;
      choices: { message: unknown; finish_reason: unknown }[];
      usage: Record<string, number>;
    };
    assert.equal(outputs.object, "chat.completion");
    assert.deepEqual(outputs.choices[0].message, chat.response);
    assert.equal(outputs.usage.total_tokens, chat.total_tokens);
    assert.deepEqual(attributes["mlflow.llm.cost"], {
      input_cost: 0.0015,
      output_cost: 0.002,
      total_cost: 0.0035,
    });
    assert.equal(attributes["mlflow.llm.model"], chat.model);
    assert.equal(attributes["mlflow.llm.provider"], chat.provider);
    assert.equal(attributes.call_id, chat.call_id);
    assert.equal(attributes.otel_trace_id, chat.trace_id);
    assert.deepEqual(attributes.tags, ["checkout"]);
    assert.deepEqual(attributes.metadata, { session_id: "s-1", feature: "cart" });

    const bad = mlflow.traces.get(`tr-${mlflowTraceId(failed)}`)!;
    assert.equal(bad.info.state, "ERROR");
    const [badSpan] = bad.spans.values();
    assert.equal(badSpan.span.status.code, 2);
    assert.match(badSpan.span.status.message, /RateLimitError \(429 rate_limit_exceeded\)/);
    assert.equal(badSpan.span.events[0].name, "exception");
    assert.equal("mlflow.spanOutputs" in badSpan.attributes, false);

    const [hidden] = mlflow.traces.get(`tr-${mlflowTraceId(removed)}`)!.spans.values();
    assert.equal(
      (hidden.attributes["mlflow.spanInputs"] as { messages: unknown }).messages,
      REMOVED_PLACEHOLDER,
    );
    assert.equal(hidden.attributes["mlflow.spanOutputs"], REMOVED_PLACEHOLDER);
    const [embed] = mlflow.traces.get(`tr-${mlflowTraceId(embedding)}`)!.spans.values();
    assert.equal(embed.attributes["mlflow.spanType"], "EMBEDDING");

    // a batch sent again (a lost answer) lands on the same traces and spans
    await sink.log([chat]);
    assert.equal(mlflow.traces.size, 4);
    assert.equal(mlflow.traces.get(`tr-${mlflowTraceId(chat)}`)!.spans.size, 1);
  } finally {
    await mlflow.close();
  }
});

Deno.test("an experiment name is resolved once (created when missing) and basic auth is sent", async () => {
  const mlflow = startMlflowReceiver({ auth: USER, experiments: { Existing: "5" } });
  try {
    const ctx = createTestContext();
    const sink = createMlflowSink(
      { endpoint_url: mlflow.url, experiment_name: "LiteLLM Proxy", ...USER },
      ctx,
    );
    await sink.log(sampleEvents(2));
    await sink.log(sampleEvents(2));
    assert.deepEqual(mlflow.problems, []);
    const id = mlflow.experiments.get("LiteLLM Proxy");
    assert.ok(id, "the experiment was created");
    assert.deepEqual(mlflow.requests.map((r) => `${r.method} ${r.path} ${r.status}`), [
      "GET /api/2.0/mlflow/experiments/get-by-name 404",
      "POST /api/2.0/mlflow/experiments/create 200",
      "POST /v1/traces 200",
      "POST /v1/traces 200",
    ]);
    for (const trace of mlflow.traces.values()) assert.equal(trace.info.experiment_id, id);
    assert.ok(ctx.logs.some((l) => l.message.includes(`created experiment "LiteLLM Proxy"`)));

    const existing = createMlflowSink(
      { endpoint_url: mlflow.url, experiment_name: "Existing", ...USER },
      createTestContext(),
    );
    mlflow.requests.length = 0;
    await existing.log(sampleEvents(1));
    assert.deepEqual(mlflow.requests.map((r) => `${r.method} ${r.path}`), [
      "GET /api/2.0/mlflow/experiments/get-by-name",
      "POST /v1/traces",
    ]);
    assert.equal(mlflow.requests[1].headers.get("x-mlflow-experiment-id"), "5");
  } finally {
    await mlflow.close();
  }
});

Deno.test("401/403 keep the events and name the credential without printing it; 429 waits", async () => {
  let status = 401;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    await req.body?.cancel();
    return Response.json({ detail: `refused ${req.headers.get("authorization")}` }, {
      status,
      headers: { "retry-after": "4" },
    });
  });
  const url = `http://127.0.0.1:${server.addr.port}`;
  try {
    const basic = createMlflowSink({ endpoint_url: url, ...USER }, createTestContext());
    const bearer = createMlflowSink(
      { endpoint_url: url, tracking_token: TOKEN },
      createTestContext(),
    );
    const none = createMlflowSink({ endpoint_url: url }, createTestContext());
    for (const code of [401, 403]) {
      status = code;
      const error = await rejection(basic.log(sampleEvents(1)));
      assert.notEqual(error.permanent, true, `${code}`);
      assert.match(error.message, /check the MLflow user and password \(MLFLOW_TRACKING_USERNAME/);
      assert.match(error.message, /the events are kept/);
      assert.ok(!error.message.includes(USER.password));
      assert.ok(!error.message.includes(btoa(`${USER.username}:${USER.password}`)));
      const tokenError = await rejection(bearer.log(sampleEvents(1)));
      assert.match(tokenError.message, /check the MLflow token \(MLFLOW_TRACKING_TOKEN/);
      assert.ok(!tokenError.message.includes(TOKEN));
      if (code === 403) assert.match(tokenError.message, /may edit the experiment/);
    }
    status = 401;
    assert.match(
      (await rejection(none.log(sampleEvents(1)))).message,
      /set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN/,
    );
    status = 429;
    assert.equal((await rejection(bearer.log(sampleEvents(1)))).retryAfterMs, 4000);
    status = 404;
    const missing = await rejection(bearer.log(sampleEvents(1)));
    assert.notEqual(missing.permanent, true);
    assert.match(missing.message, /MLFLOW_TRACKING_URI.*MLflow 3\.6 or later/);
    status = 400;
    assert.equal((await rejection(bearer.log(sampleEvents(1)))).permanent, true);
  } finally {
    await server.shutdown();
  }
});

Deno.test("a file backend store (501), an unknown experiment (422) and a refused lookup keep the events", async () => {
  const file = startMlflowReceiver({ backend: "file" });
  const sql = startMlflowReceiver({ auth: { token: TOKEN } });
  try {
    const error = await rejection(
      createMlflowSink({ endpoint_url: file.url }, createTestContext()).log(sampleEvents(1)),
    );
    assert.notEqual(error.permanent, true);
    assert.match(error.message, /SQL backend store/);
    const unknown = await rejection(
      createMlflowSink(
        { endpoint_url: sql.url, experiment_id: "99", tracking_token: TOKEN },
        createTestContext(),
      ).log(sampleEvents(1)),
    );
    assert.notEqual(unknown.permanent, true);
    assert.match(unknown.message, /check the experiment id \(MLFLOW_EXPERIMENT_ID/);
    // the name lookup is refused: kept, and looked up again with the next batch
    const sink = createMlflowSink(
      { endpoint_url: sql.url, experiment_name: "Named", tracking_token: "wrong-token-123456" },
      createTestContext(),
    );
    const refused = await rejection(sink.log(sampleEvents(1)));
    assert.notEqual(refused.permanent, true);
    assert.match(refused.message, /get-by-name answered 401.*check the MLflow token/);
    assert.match((await rejection(sink.log(sampleEvents(1)))).message, /answered 401/);
    assert.equal(sql.requests.filter((r) => r.path.endsWith("get-by-name")).length, 2);
    assert.deepEqual([...file.problems, ...sql.problems], []);
  } finally {
    await file.close();
    await sql.close();
  }
});

Deno.test("settings: config over MLflow's variables; basic over token; id over name; missing URI refuses to start", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  const fromEnv = resolveMlflowSettings(
    {},
    env({
      MLFLOW_TRACKING_URI: "http://mlflow.internal:5000/",
      MLFLOW_EXPERIMENT_NAME: "LiteLLM",
      MLFLOW_TRACKING_TOKEN: TOKEN,
    }),
  );
  assert.equal(fromEnv.tracesUrl.href, "http://mlflow.internal:5000/v1/traces");
  assert.equal(fromEnv.experimentName, "LiteLLM");
  assert.equal(fromEnv.authorization, `Bearer ${TOKEN}`);
  const both = resolveMlflowSettings(
    { endpoint_url: "https://example.com/mlflow/v1/traces" },
    env({
      MLFLOW_TRACKING_URI: "http://ignored:5000",
      MLFLOW_EXPERIMENT_ID: "12",
      MLFLOW_EXPERIMENT_NAME: "ignored",
      MLFLOW_TRACKING_TOKEN: TOKEN,
      MLFLOW_TRACKING_USERNAME: USER.username,
      MLFLOW_TRACKING_PASSWORD: USER.password,
    }),
  );
  assert.equal(both.tracesUrl.href, "https://example.com/mlflow/v1/traces");
  assert.equal(both.trackingUrl.href, "https://example.com/mlflow");
  assert.equal(both.experimentId, "12");
  assert.equal(both.experimentName, undefined);
  assert.equal(both.auth, "basic");
  assert.equal(both.authorization, `Basic ${btoa(`${USER.username}:${USER.password}`)}`);
  assert.throws(
    () => mlflowPlugin.create({}, createTestContext()),
    /^Error: mlflow: no tracking server; set MLFLOW_TRACKING_URI/,
  );
  assert.throws(
    () => resolveMlflowSettings({}, env({ MLFLOW_TRACKING_URI: "databricks" })),
    /mlflow: the tracking URI must be the http\(s\) URL of an MLflow tracking server/,
  );
  assert.throws(
    () => resolveMlflowSettings({ endpoint_url: "http://x", username: "u" }, env({})),
    /mlflow: a user without a password/,
  );
  assert.throws(
    () => mlflowPlugin.create({ endpoint_url: "ftp://x" }, createTestContext()),
    /mlflow: invalid config: config\.endpoint_url/,
  );
  assert.equal(mlflowPlugin.version, denoJson.version);
  assert.equal(mlflowPlugin.configSchema, mlflowConfigSchema);
  assert.deepEqual(
    resolvePermissions(mlflowPlugin, {}, { MLFLOW_TRACKING_URI: "http://127.0.0.1:5000" }),
    {
      net: ["127.0.0.1:5000"],
      env: [
        "MLFLOW_TRACKING_URI",
        "MLFLOW_EXPERIMENT_ID",
        "MLFLOW_EXPERIMENT_NAME",
        "MLFLOW_TRACKING_TOKEN",
        "MLFLOW_TRACKING_USERNAME",
        "MLFLOW_TRACKING_PASSWORD",
      ],
    },
  );
  assert.deepEqual(mlflowLiteLLM.callbacks, ["mlflow"]);
  assert.equal(mlflowPlugin.litellm, mlflowLiteLLM);
});
