/**
 * The deepeval sink through whole gateways (sandboxed, as a built-in
 * plugin runs), against a loopback Confident AI API that checks the
 * `CONFIDENT_API_KEY` header and validates every trace against the schema
 * written from Confident AI's docs (plugins/deepeval/test_support.ts): a
 * LiteLLM config with the docs' variables, an API that is down and comes
 * back, a refused key that is fixed.
 */
import assert from "node:assert/strict";
import { startGateway } from "./fakes/gateway.ts";
import { sendCalls, sendThroughOutage, until } from "./fakes/outage.ts";
import { assertNoGatewaySecrets, runLiteLLMConfig } from "./fakes/litellm_run.ts";
import { startConfidentReceiver, TEST_CONFIDENT_KEY } from "../plugins/deepeval/test_support.ts";

Deno.test("litellm docs: success_callback / failure_callback deepeval with CONFIDENT_API_KEY runs unchanged", async () => {
  const confident = startConfidentReceiver();
  try {
    const problems = await runLiteLLMConfig(
      {
        environment_variables: {
          CONFIDENT_API_KEY: TEST_CONFIDENT_KEY,
          CONFIDENT_BASE_URL: confident.url,
          LITELM_ENVIRONMENT: "production",
        },
        litellm_settings: { success_callback: ["deepeval"], failure_callback: ["deepeval"] },
      },
      async (client) => {
        await client.chat.completions.create({
          model: "gpt-4o",
          messages: [{ role: "user", content: "What's the weather like in San Francisco?" }],
          user: "ishaan_litellm",
        });
      },
    );
    assert.deepEqual(problems, [], "no warning: the callback is supported");
    assert.deepEqual(confident.problems, []);
    assert.equal(confident.traces.length, 1);
    const [trace] = confident.traces;
    const [span] = trace.llmSpans;
    assert.equal(trace.environment, "production");
    assert.equal(trace.status, "SUCCESS");
    assert.equal(trace.userId, "ishaan_litellm");
    assert.equal(trace.input, "What's the weather like in San Francisco?");
    assert.equal(trace.metadata.model_group, "gpt-4o");
    assert.equal(span.type, "llm");
    assert.ok(span.inputTokenCount > 0 && span.outputTokenCount > 0);
    assert.equal(typeof span.output, "string");
    for (const r of confident.requests) {
      assert.equal(r.headers.get("CONFIDENT_API_KEY"), TEST_CONFIDENT_KEY);
      assertNoGatewaySecrets(JSON.stringify(r.body));
    }
  } finally {
    await confident.close();
  }
});

Deno.test("a Confident AI API that is down (503, then refusing connections) loses no trace", async () => {
  const N = 120;
  let confident = startConfidentReceiver({ answer: () => 503 });
  const port = confident.port;
  const gw = await startGateway({
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [{
      use: "deepeval",
      queue: { batch_size: 40, flush_interval_ms: 20, max_queue: 60 },
      config: { api_key: TEST_CONFIDENT_KEY, endpoint_url: `http://127.0.0.1:${port}` },
    }],
  });
  const ids = Array.from({ length: N }, (_, i) => `deepeval-outage-${i}`);
  try {
    await sendThroughOutage(gw.url, ids, {
      refused: () => until(() => confident.requests.length > 0, 10_000, "a refused delivery"),
      stop: () => confident.close(),
    });
    confident = startConfidentReceiver({ port });
    await until(() => confident.traces.length >= N, 60_000, "every trace after the outage");
  } finally {
    await gw.close();
    await confident.close();
  }
  assert.deepEqual(confident.problems, []);
  const callIds = confident.traces.map((t) => t.metadata.call_id as string);
  assert.deepEqual([...callIds].sort(), [...ids].sort(), "each call once");
});

Deno.test("a refused Confident AI key keeps the traces, names the variable without printing the key, and delivers once fixed", async () => {
  const WRONG = "confident_us_wrong_9f8e7d6c5b";
  let accepted = false;
  const confident = startConfidentReceiver({
    apiKey: WRONG,
    answer: () => (accepted ? undefined : 401),
  });
  const lines: string[] = [];
  const { error, warn } = console;
  console.error = console.warn = (...args: unknown[]) => {
    lines.push(args.map(String).join(" "));
  };
  const gw = await startGateway({
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [{
      use: "deepeval",
      queue: { batch_size: 10, flush_interval_ms: 20 },
      config: { api_key: WRONG, endpoint_url: confident.url },
    }],
  });
  const ids = Array.from({ length: 10 }, (_, i) => `deepeval-key-${i}`);
  try {
    await sendCalls(gw.url, ids);
    await until(() => lines.some((l) => l.includes("answered 401")), 10_000, "the report");
    assert.equal(confident.traces.length, 0);
    accepted = true;
    await until(() => confident.traces.length >= ids.length, 60_000, "the kept traces");
  } finally {
    await gw.close();
    await confident.close();
    Object.assign(console, { error, warn });
  }
  const report = lines.find((l) => l.includes("answered 401"))!;
  assert.match(
    report,
    /check the Confident AI project API key \(CONFIDENT_API_KEY or config\.api_key\)/,
  );
  for (const line of lines) assert.ok(!line.includes(WRONG), `the key leaked: ${line}`);
  assert.deepEqual(confident.problems, []);
  assert.deepEqual(
    confident.traces.map((t) => t.metadata.call_id as string).sort(),
    [...ids].sort(),
    "each call once",
  );
});
