/**
 * The mlflow sink through whole gateways, against a loopback MLflow
 * tracking server that checks the credentials, decodes every OTLP export
 * with the official opentelemetry-proto definitions, validates it against
 * the schema written from MLflow's documentation and stores traces as
 * MLflow does (plugins/mlflow/test_support.ts): a LiteLLM config with the
 * docs' variables, a server that is down and comes back, refused
 * credentials that are fixed. The sink runs sandboxed (a Worker with the
 * declared permissions), as every built-in sink does.
 */
import assert from "node:assert/strict";
import { startGateway } from "./fakes/gateway.ts";
import { sendCalls, sendThroughOutage, until } from "./fakes/outage.ts";
import { assertNoGatewaySecrets, runLiteLLMConfig } from "./fakes/litellm_run.ts";
import { startMlflowReceiver } from "../plugins/mlflow/test_support.ts";

const TOKEN = "mlflow-gw-token-5e8d1c0b9a72";
const USER = { username: "litellm", password: "mlflow-pw-1a2b3c4d5e" };

Deno.test("litellm docs: callbacks mlflow with MLFLOW_TRACKING_URI / MLFLOW_EXPERIMENT_NAME / basic auth runs unchanged", async () => {
  const mlflow = startMlflowReceiver({ auth: USER });
  try {
    const problems = await runLiteLLMConfig(
      {
        environment_variables: {
          MLFLOW_TRACKING_URI: mlflow.url,
          MLFLOW_EXPERIMENT_NAME: "LiteLLM Proxy",
          MLFLOW_TRACKING_USERNAME: USER.username,
          MLFLOW_TRACKING_PASSWORD: USER.password,
        },
        litellm_settings: { callbacks: ["mlflow"] },
      },
      async (client) => {
        await client.chat.completions.create({
          model: "gpt-4o",
          messages: [{ role: "user", content: "Hi there" }],
          user: "ishaan_litellm",
          metadata: { session_id: "chat-42" },
        } as never);
      },
    );
    assert.deepEqual(problems, [], "no warning: the callback is supported");
    assert.deepEqual(mlflow.problems, []);
    const experiment = mlflow.experiments.get("LiteLLM Proxy");
    assert.ok(experiment, "the experiment was created by name");
    assert.equal(mlflow.traces.size, 1);
    const [trace] = mlflow.traces.values();
    assert.equal(trace.info.experiment_id, experiment);
    assert.equal(trace.info.state, "OK");
    assert.match(trace.info.request_preview ?? "", /Hi there/);
    assert.ok(trace.info.response_preview, "a response preview");
    assert.equal(trace.info.trace_metadata["mlflow.trace.user"], "ishaan_litellm");
    assert.equal(trace.info.trace_metadata["mlflow.trace.session"], "chat-42");
    const usage = JSON.parse(trace.info.trace_metadata["mlflow.trace.tokenUsage"]);
    assert.ok(usage.input_tokens > 0 && usage.output_tokens > 0);
    const [span] = trace.spans.values();
    assert.equal(span.attributes["mlflow.spanType"], "LLM");
    assert.equal(span.attributes.model_group, "gpt-4o");
    const expected = `Basic ${btoa(`${USER.username}:${USER.password}`)}`;
    for (const r of mlflow.requests) assert.equal(r.headers.get("authorization"), expected);
    for (const s of trace.spans.values()) assertNoGatewaySecrets(JSON.stringify(s.raw));
  } finally {
    await mlflow.close();
  }
});

Deno.test("an MLflow server that is down (503, then refusing connections) loses no trace", async () => {
  const N = 120;
  let mlflow = startMlflowReceiver({ auth: { token: TOKEN }, answer: () => 503 });
  const port = mlflow.port;
  const gw = await startGateway({
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [{
      use: "mlflow",
      queue: { batch_size: 40, flush_interval_ms: 20, max_queue: 60 },
      config: {
        endpoint_url: `http://127.0.0.1:${port}`,
        experiment_id: "0",
        tracking_token: TOKEN,
      },
    }],
  });
  const ids = Array.from({ length: N }, (_, i) => `mlflow-outage-${i}`);
  try {
    await sendThroughOutage(gw.url, ids, {
      refused: () => until(() => mlflow.requests.length > 0, 10_000, "a refused delivery"),
      stop: () => mlflow.close(),
    });
    mlflow = startMlflowReceiver({ auth: { token: TOKEN }, port });
    await until(() => mlflow.traces.size >= N, 60_000, "every trace after the outage");
  } finally {
    await gw.close();
    await mlflow.close();
  }
  assert.deepEqual(mlflow.problems, []);
  const callIds = [...mlflow.traces.values()].flatMap((t) =>
    [...t.spans.values()].map((s) => s.attributes.call_id)
  );
  assert.deepEqual([...callIds].sort(), [...ids].sort());
});

Deno.test("refused MLflow credentials keep the traces, name the variable without printing it, and deliver once fixed", async () => {
  const WRONG = "mlflow-wrong-token-0f9e8d7c";
  let accepted = false;
  const mlflow = startMlflowReceiver({
    auth: { token: WRONG },
    answer: (_, path) => (accepted || path !== "/v1/traces" ? undefined : 401),
  });
  const lines: string[] = [];
  const { error, warn } = console;
  console.error = console.warn = (...args: unknown[]) => {
    lines.push(args.map(String).join(" "));
  };
  const gw = await startGateway({
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [{
      use: "mlflow",
      queue: { batch_size: 10, flush_interval_ms: 20 },
      config: { endpoint_url: mlflow.url, tracking_token: WRONG },
    }],
  });
  const ids = Array.from({ length: 10 }, (_, i) => `mlflow-key-${i}`);
  try {
    await sendCalls(gw.url, ids);
    await until(() => lines.some((l) => l.includes("answered 401")), 10_000, "the report");
    assert.equal(mlflow.traces.size, 0);
    accepted = true;
    await until(() => mlflow.traces.size >= ids.length, 60_000, "the kept traces");
  } finally {
    await gw.close();
    await mlflow.close();
    Object.assign(console, { error, warn });
  }
  const report = lines.find((l) => l.includes("answered 401"))!;
  assert.match(
    report,
    /check the MLflow token \(MLFLOW_TRACKING_TOKEN or config\.tracking_token\)/,
  );
  for (const line of lines) assert.ok(!line.includes(WRONG), `the token leaked: ${line}`);
  assert.deepEqual(mlflow.problems, []);
});
