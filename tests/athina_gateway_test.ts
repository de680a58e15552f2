/**
 * The athina sink through whole gateways (sandboxed, as a built-in plugin
 * runs), against a loopback Athina logging API that checks the
 * `athina-api-key` header and validates every body against the schema
 * written from Athina's docs (plugins/athina/test_support.ts): a LiteLLM
 * config with the docs' variables, an API that is down and comes back, a
 * refused key that is fixed.
 */
import assert from "node:assert/strict";
import { startGateway } from "./fakes/gateway.ts";
import { sendCalls, sendThroughOutage, until } from "./fakes/outage.ts";
import { assertNoGatewaySecrets, runLiteLLMConfig } from "./fakes/litellm_run.ts";
import { startAthinaReceiver, TEST_ATHINA_KEY } from "../plugins/athina/test_support.ts";

Deno.test("litellm docs: success_callback athina with ATHINA_API_KEY / ATHINA_BASE_URL runs unchanged", async () => {
  const athina = startAthinaReceiver();
  try {
    const problems = await runLiteLLMConfig(
      {
        environment_variables: { ATHINA_API_KEY: TEST_ATHINA_KEY, ATHINA_BASE_URL: athina.url },
        litellm_settings: { success_callback: ["athina"] },
      },
      async (client) => {
        await client.chat.completions.create({
          model: "gpt-4o",
          messages: [{ role: "user", content: "Hi 👋 - i'm openai" }],
          user: "ishaan_litellm",
          metadata: {
            environment: "staging",
            prompt_slug: "hello",
            customer_id: "acme",
            session_id: "s-42",
          },
        });
      },
    );
    assert.deepEqual(problems, [], "no warning: the callback is supported");
    assert.deepEqual(athina.problems, []);
    assert.equal(athina.logs.length, 1);
    const [log] = athina.logs;
    assert.equal(log.customer_user_id, "ishaan_litellm");
    assert.equal(log.user_query, "Hi 👋 - i'm openai");
    assert.deepEqual(
      [log.environment, log.prompt_slug, log.customer_id, log.session_id],
      ["staging", "hello", "acme", "s-42"],
    );
    assert.equal(log.custom_attributes.model_group, "gpt-4o");
    assert.equal(log.status_code, 200);
    assert.ok(log.prompt_tokens > 0 && log.total_tokens >= log.prompt_tokens);
    assert.ok(log.response_time >= 0);
    for (const r of athina.requests) {
      assert.equal(r.headers.get("athina-api-key"), TEST_ATHINA_KEY);
      assertNoGatewaySecrets(JSON.stringify(r.body));
    }
  } finally {
    await athina.close();
  }
});

Deno.test("an Athina API that is down (503, then refusing connections) loses no log", async () => {
  const N = 120;
  let athina = startAthinaReceiver({ answer: () => 503 });
  const port = athina.port;
  const gw = await startGateway({
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [{
      use: "athina",
      queue: { batch_size: 40, flush_interval_ms: 20, max_queue: 60 },
      config: { api_key: TEST_ATHINA_KEY, endpoint_url: `http://127.0.0.1:${port}` },
    }],
  });
  const ids = Array.from({ length: N }, (_, i) => `athina-outage-${i}`);
  try {
    await sendThroughOutage(gw.url, ids, {
      refused: () => until(() => athina.requests.length > 0, 10_000, "a refused delivery"),
      stop: () => athina.close(),
    });
    athina = startAthinaReceiver({ port });
    await until(() => athina.logs.length >= N, 60_000, "every log after the outage");
  } finally {
    await gw.close();
    await athina.close();
  }
  assert.deepEqual(athina.problems, []);
  const callIds = athina.logs.map((l) => l.custom_attributes.call_id);
  assert.deepEqual([...callIds].sort(), [...ids].sort(), "each call once");
});

Deno.test("a refused Athina key keeps the logs, names the variable without printing the key, and delivers once fixed", async () => {
  const WRONG = "athina-wrong-key-5e4d3c2b1a";
  let accepted = false;
  const athina = startAthinaReceiver({
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
      use: "athina",
      queue: { batch_size: 10, flush_interval_ms: 20 },
      config: { api_key: WRONG, endpoint_url: athina.url },
    }],
  });
  const ids = Array.from({ length: 10 }, (_, i) => `athina-key-${i}`);
  try {
    await sendCalls(gw.url, ids);
    await until(() => lines.some((l) => l.includes("answered 401")), 10_000, "the report");
    assert.equal(athina.logs.length, 0);
    accepted = true;
    await until(() => athina.logs.length >= ids.length, 60_000, "the kept logs");
  } finally {
    await gw.close();
    await athina.close();
    Object.assign(console, { error, warn });
  }
  const report = lines.find((l) => l.includes("answered 401"))!;
  assert.match(report, /check the Athina API key \(ATHINA_API_KEY or config\.api_key\)/);
  for (const line of lines) assert.ok(!line.includes(WRONG), `the key leaked: ${line}`);
  assert.deepEqual(athina.problems, []);
  assert.deepEqual(
    athina.logs.map((l) => l.custom_attributes.call_id).sort(),
    [...ids].sort(),
    "each call once",
  );
});
