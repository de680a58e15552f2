/**
 * The lunary sink through whole gateways, against a loopback Lunary API
 * that checks the Bearer public key, validates every body against the
 * schema written from Lunary's published API description and stores runs
 * as Lunary does (plugins/lunary/test_support.ts): a LiteLLM config with
 * the docs' variables, an API that is down and comes back, a refused key
 * that is fixed.
 */
import assert from "node:assert/strict";
import { startGateway } from "./fakes/gateway.ts";
import { sendCalls, sendThroughOutage, until } from "./fakes/outage.ts";
import { assertNoGatewaySecrets, runLiteLLMConfig } from "./fakes/litellm_run.ts";
import { startLunaryReceiver, TEST_LUNARY_KEY } from "../plugins/lunary/test_support.ts";

Deno.test("litellm docs: success_callback / failure_callback lunary with LUNARY_PUBLIC_KEY / LUNARY_API_URL runs unchanged", async () => {
  const lunary = startLunaryReceiver();
  try {
    const problems = await runLiteLLMConfig(
      {
        environment_variables: { LUNARY_PUBLIC_KEY: TEST_LUNARY_KEY, LUNARY_API_URL: lunary.url },
        litellm_settings: { success_callback: ["lunary"], failure_callback: ["lunary"] },
      },
      async (client) => {
        await client.chat.completions.create({
          model: "gpt-4o",
          messages: [{ role: "user", content: "Hi there" }],
          user: "ishaan_litellm",
        });
      },
    );
    assert.deepEqual(problems, [], "no warning: the callback is supported");
    assert.deepEqual(lunary.problems, []);
    const [run] = lunary.runs.values();
    assert.ok(run?.finish, "a complete run arrived");
    assert.equal(run.start.userId, "ishaan_litellm");
    assert.equal(run.start.metadata?.model_group, "gpt-4o");
    assert.match(JSON.stringify(run.start.input), /Hi there/);
    assert.ok(run.finish.tokensUsage!.prompt > 0);
    for (const r of lunary.requests) {
      assert.equal(r.headers.get("authorization"), `Bearer ${TEST_LUNARY_KEY}`);
      assertNoGatewaySecrets(JSON.stringify(r.body));
    }
  } finally {
    await lunary.close();
  }
});

Deno.test("a Lunary API that is down (503, then refusing connections) loses no run", async () => {
  const N = 120;
  let lunary = startLunaryReceiver({ answer: () => 503 });
  const port = lunary.port;
  const gw = await startGateway({
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [{
      use: "lunary",
      queue: { batch_size: 40, flush_interval_ms: 20, max_queue: 60 },
      config: { public_key: TEST_LUNARY_KEY, endpoint_url: `http://127.0.0.1:${port}` },
    }],
  });
  const ids = Array.from({ length: N }, (_, i) => `lunary-outage-${i}`);
  try {
    await sendThroughOutage(gw.url, ids, {
      refused: () => until(() => lunary.requests.length > 0, 10_000, "a refused delivery"),
      stop: () => lunary.close(),
    });
    lunary = startLunaryReceiver({ port });
    await until(
      () => [...lunary.runs.values()].filter((r) => r.finish).length >= N,
      60_000,
      "every run after the outage",
    );
  } finally {
    await gw.close();
    await lunary.close();
  }
  assert.deepEqual(lunary.problems, []);
  const callIds = [...lunary.runs.values()].map((r) => r.start.metadata?.call_id);
  assert.deepEqual([...callIds].sort(), [...ids].sort());
});

Deno.test("a refused Lunary key keeps the runs, names the variable without printing the key, and delivers once fixed", async () => {
  const WRONG = "0e1d2c3b-4a59-4687-9766-554433221100";
  let accepted = false;
  const lunary = startLunaryReceiver({
    publicKey: WRONG,
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
      use: "lunary",
      queue: { batch_size: 10, flush_interval_ms: 20 },
      config: { public_key: WRONG, endpoint_url: lunary.url },
    }],
  });
  const ids = Array.from({ length: 10 }, (_, i) => `lunary-key-${i}`);
  try {
    await sendCalls(gw.url, ids);
    await until(() => lines.some((l) => l.includes("answered 401")), 10_000, "the report");
    assert.equal(lunary.runs.size, 0);
    accepted = true;
    await until(() => lunary.runs.size >= ids.length, 60_000, "the kept runs");
  } finally {
    await gw.close();
    await lunary.close();
    Object.assign(console, { error, warn });
  }
  const report = lines.find((l) => l.includes("answered 401"))!;
  assert.match(
    report,
    /check the project's public key \(LUNARY_PUBLIC_KEY or config\.public_key\)/,
  );
  for (const line of lines) assert.ok(!line.includes(WRONG), `the key leaked: ${line}`);
  assert.deepEqual(lunary.problems, []);
});
