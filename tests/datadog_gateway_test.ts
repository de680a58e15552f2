/**
 * The datadog sink through whole gateways, against a loopback Datadog
 * intake that checks `DD-API-KEY`, gunzips and validates every body
 * against the schemas written from Datadog's API references
 * (plugins/datadog/test_support.ts): a LiteLLM config with both callbacks
 * and the docs' variables, an intake that is down and comes back, and a
 * refused key that is fixed.
 */
import assert from "node:assert/strict";
import { startGateway } from "./fakes/gateway.ts";
import { sendCalls, sendThroughOutage, until } from "./fakes/outage.ts";
import { assertNoGatewaySecrets, runLiteLLMConfig } from "./fakes/litellm_run.ts";
import { startDatadogReceiver, TEST_DD_API_KEY } from "../plugins/datadog/test_support.ts";

/** Captures the gateway's log lines (core writes them with console.error and console.warn). */
function captureLog(): { lines: string[]; restore(): void } {
  const lines: string[] = [];
  const { error, warn } = console;
  console.error = console.warn = (...args: unknown[]) => {
    lines.push(args.map(String).join(" "));
  };
  return { lines, restore: () => Object.assign(console, { error, warn }) };
}

Deno.test("litellm docs: callbacks datadog + datadog_llm_observability with DD_API_KEY and the Agent variables run unchanged", async () => {
  const dd = startDatadogReceiver();
  try {
    const problems = await runLiteLLMConfig(
      {
        environment_variables: {
          DD_API_KEY: TEST_DD_API_KEY,
          DD_SITE: "us5.datadoghq.com",
          DD_ENV: "staging",
          LITELLM_DD_AGENT_HOST: "127.0.0.1",
          LITELLM_DD_AGENT_PORT: String(dd.port),
        },
        litellm_settings: { callbacks: ["datadog", "datadog_llm_observability"] },
      },
      async (client) => {
        await client.chat.completions.create({
          model: "gpt-4o",
          messages: [{ role: "user", content: "what llm are you" }],
        });
      },
    );
    assert.deepEqual(problems, [], "no warning: both callbacks are supported");
    assert.deepEqual(dd.problems, []);
    const [log] = dd.logs();
    assert.ok(log, "a log arrived");
    assert.equal(log.service, "litellm-server", "LiteLLM's default service");
    assert.equal(log.ddsource, "litellm");
    assert.ok(log.ddtags.split(",").includes("env:staging"));
    const event = JSON.parse(log.message);
    assert.equal(event.model_group, "gpt-4o");
    const [span] = dd.spans();
    assert.ok(span, "a span arrived");
    assert.equal(dd.spanRequests()[0].data.attributes.ml_app, "litellm-server");
    assert.equal(span.trace_id, event.trace_id, "logs and spans share the call's trace id");
    assert.match(JSON.stringify(span.meta.input), /what llm are you/);
    for (const r of dd.requests) {
      assert.equal(r.headers.get("dd-api-key"), TEST_DD_API_KEY);
      assertNoGatewaySecrets(r.text);
    }
  } finally {
    await dd.close();
  }
});

Deno.test("a Datadog intake that is down (503, then refusing connections) loses no log", async () => {
  const N = 120;
  let dd = startDatadogReceiver({ answer: () => 503 });
  const port = dd.port;
  const gw = await startGateway({
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [{
      use: "datadog",
      queue: { batch_size: 40, flush_interval_ms: 20, max_queue: 60 },
      config: { api_key: TEST_DD_API_KEY, endpoint_url: `http://127.0.0.1:${port}` },
    }],
  });
  const ids = Array.from({ length: N }, (_, i) => `dd-outage-${i}`);
  try {
    await sendThroughOutage(gw.url, ids, {
      refused: () => until(() => dd.requests.length > 0, 10_000, "a refused delivery"),
      stop: () => dd.close(),
    });
    dd = startDatadogReceiver({ port });
    await until(
      () => new Set(dd.logs().map((l) => JSON.parse(l.message).call_id)).size >= N,
      60_000,
      "every log after the outage",
    );
  } finally {
    await gw.close();
    await dd.close();
  }
  assert.deepEqual(dd.problems, []);
  const callIds = dd.logs().map((l) => JSON.parse(l.message).call_id);
  assert.deepEqual([...callIds].sort(), [...ids].sort());
});

Deno.test("a refused API key keeps the events, says which credential to check without printing it, and delivers once fixed", async () => {
  const WRONG = "dd-wrong-key-0123456789abcdef";
  let accepted = false;
  const dd = startDatadogReceiver({ answer: () => (accepted ? 202 : 403), apiKey: WRONG });
  const log = captureLog();
  const gw = await startGateway({
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [{
      use: "datadog",
      queue: { batch_size: 10, flush_interval_ms: 20 },
      config: { api_key: WRONG, intake: "llm_obs", endpoint_url: dd.url },
    }],
  });
  const ids = Array.from({ length: 10 }, (_, i) => `dd-key-${i}`);
  try {
    await sendCalls(gw.url, ids);
    await until(() => dd.requests.some((r) => r.status === 403), 10_000, "a 403");
    await until(() => log.lines.some((l) => l.includes("answered 403")), 10_000, "the report");
    assert.equal(dd.spans().length, 0);
    accepted = true; // the operator fixed the key at Datadog's end
    await until(() => dd.spans().length >= ids.length, 60_000, "the kept spans");
  } finally {
    await gw.close();
    await dd.close();
    log.restore();
  }
  const report = log.lines.find((l) => l.includes("answered 403"))!;
  assert.match(report, /events kept/);
  assert.match(report, /check the API key \(DD_API_KEY or config\.api_key\)/);
  for (const line of log.lines) assert.ok(!line.includes(WRONG), `the key leaked: ${line}`);
  const callIds = dd.spans().map((s) => s.meta.metadata.call_id);
  assert.deepEqual([...new Set(callIds)].sort(), [...ids].sort());
  assert.deepEqual(dd.problems, []);
});
