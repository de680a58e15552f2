/**
 * The langsmith sink through whole gateways, against a loopback LangSmith
 * API that checks `x-api-key`, validates every `/runs/batch` body against
 * the schema written from LangSmith's docs and upserts runs by id
 * (plugins/langsmith/test_support.ts): a LiteLLM config with the docs'
 * variables, an API that is down and comes back, a refused key that is
 * fixed.
 */
import assert from "node:assert/strict";
import { startGateway } from "./fakes/gateway.ts";
import { sendCalls, sendThroughOutage, until } from "./fakes/outage.ts";
import { assertNoGatewaySecrets, runLiteLLMConfig } from "./fakes/litellm_run.ts";
import { startLangSmithReceiver, TEST_LANGSMITH_KEY } from "../plugins/langsmith/test_support.ts";

Deno.test("litellm docs: callbacks langsmith with LANGSMITH_API_KEY / LANGSMITH_PROJECT / LANGSMITH_BASE_URL runs unchanged", async () => {
  const ls = startLangSmithReceiver();
  try {
    const problems = await runLiteLLMConfig(
      {
        environment_variables: {
          LANGSMITH_API_KEY: TEST_LANGSMITH_KEY,
          LANGSMITH_PROJECT: "litellm-docs",
          LANGSMITH_BASE_URL: ls.url,
        },
        litellm_settings: { callbacks: ["langsmith"] },
      },
      async (client) => {
        await client.chat.completions.create({
          model: "gpt-4o",
          messages: [{ role: "user", content: "what llm are you" }],
          ...({ metadata: { session_id: "sess-42" } } as object),
        });
      },
    );
    assert.deepEqual(problems, [], "no warning: the callback is supported");
    assert.deepEqual(ls.problems, []);
    const [run] = ls.runs.values();
    assert.ok(run, "a run arrived");
    assert.equal(run.session_name, "litellm-docs");
    assert.equal(run.name, "LLMRun", "LiteLLM's default run name");
    assert.equal(run.inputs.model, "gpt-4o");
    assert.match(JSON.stringify(run.inputs.messages), /what llm are you/);
    assert.equal(run.extra.metadata.session_id, "sess-42");
    assert.ok((run.outputs?.usage_metadata as { total_tokens: number }).total_tokens > 0);
    for (const r of ls.requests) {
      assert.equal(r.headers.get("x-api-key"), TEST_LANGSMITH_KEY);
      assertNoGatewaySecrets(JSON.stringify(r.body));
    }
  } finally {
    await ls.close();
  }
});

Deno.test("a LangSmith API that is down (503, then refusing connections) loses no run", async () => {
  const N = 120;
  let ls = startLangSmithReceiver({ answer: () => 503 });
  const port = ls.port;
  const gw = await startGateway({
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [{
      use: "langsmith",
      queue: { batch_size: 40, flush_interval_ms: 20, max_queue: 60 },
      config: { api_key: TEST_LANGSMITH_KEY, endpoint_url: `http://127.0.0.1:${port}` },
    }],
  });
  const ids = Array.from({ length: N }, (_, i) => `ls-outage-${i}`);
  try {
    await sendThroughOutage(gw.url, ids, {
      refused: () => until(() => ls.requests.length > 0, 10_000, "a refused delivery"),
      stop: () => ls.close(),
    });
    ls = startLangSmithReceiver({ port });
    await until(() => ls.runs.size >= N, 60_000, "every run after the outage");
  } finally {
    await gw.close();
    await ls.close();
  }
  assert.deepEqual(ls.problems, []);
  const callIds = [...ls.runs.values()].map((r) => r.extra.metadata.call_id);
  assert.deepEqual([...callIds].sort(), [...ids].sort());
});

Deno.test("a refused LangSmith key keeps the runs, names the variable without printing the key, and delivers once fixed", async () => {
  const WRONG = "lsv2_pt_wrong_key_0123456789abcdef";
  let accepted = false;
  const ls = startLangSmithReceiver({ apiKey: WRONG, answer: () => (accepted ? undefined : 401) });
  const lines: string[] = [];
  const { error, warn } = console;
  console.error = console.warn = (...args: unknown[]) => {
    lines.push(args.map(String).join(" "));
  };
  const gw = await startGateway({
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [{
      use: "langsmith",
      queue: { batch_size: 10, flush_interval_ms: 20 },
      config: { api_key: WRONG, endpoint_url: ls.url },
    }],
  });
  const ids = Array.from({ length: 10 }, (_, i) => `ls-key-${i}`);
  try {
    await sendCalls(gw.url, ids);
    await until(() => lines.some((l) => l.includes("answered 401")), 10_000, "the report");
    assert.equal(ls.runs.size, 0);
    accepted = true;
    await until(() => ls.runs.size >= ids.length, 60_000, "the kept runs");
  } finally {
    await gw.close();
    await ls.close();
    Object.assign(console, { error, warn });
  }
  const report = lines.find((l) => l.includes("answered 401"))!;
  assert.match(report, /check the API key \(LANGSMITH_API_KEY or config\.api_key\)/);
  assert.match(report, /events kept/);
  for (const line of lines) assert.ok(!line.includes(WRONG), `the key leaked: ${line}`);
  assert.deepEqual(ls.problems, []);
});
