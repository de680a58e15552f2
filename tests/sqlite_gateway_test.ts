/**
 * The sqlite sink through a whole gateway: calls made with the openai
 * client (chat, streamed chat, embeddings, a failure) appear as rows of
 * `<data_dir>/sluice.db`, read back through the package's read API while
 * the gateway runs.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { startGateway } from "./fakes/gateway.ts";
import { until } from "./fakes/outage.ts";
import { openStore } from "../plugins/sqlite/mod.ts";

Deno.test("calls through the gateway appear in <data_dir>/sluice.db, redacted as the sink sees them", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "sluice-sqlite-gw-" });
  const gw = await startGateway({
    server: { data_dir: dataDir },
    models: [
      { name: "mock-gpt", provider: "mock", input_cost_per_token: 1e-6 },
      { name: "mock-embed", provider: "mock", model: "mock-embed" },
    ],
    sinks: [{
      use: "sqlite",
      on: ["success", "failure"],
      queue: { batch_size: 20, flush_interval_ms: 20 },
      redaction: { messages: "remove" },
      config: {},
    }],
  });
  const path = `${dataDir}/sluice.db`;
  try {
    const client = new OpenAI({ apiKey: "sk-client-key", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const callIds: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { response } = await client.chat.completions.create({
        model: "mock-gpt",
        messages: [{ role: "user", content: `secret question ${i}` }],
        user: "end-user-7",
      }, { headers: { "x-sluice-tags": "gw-test" } }).withResponse();
      callIds.push(response.headers.get("x-sluice-call-id")!);
    }
    const stream = await client.chat.completions.create({
      model: "mock-gpt",
      messages: [{ role: "user", content: "stream please" }],
      stream: true,
    });
    for await (const _ of stream) { /* drain */ }
    await client.embeddings.create({ model: "mock-embed", input: ["a", "b"] });
    await assert.rejects(
      client.chat.completions.create({
        model: "no-such-model",
        messages: [{ role: "user", content: "x" }],
      }),
    );

    await until(
      () => {
        try {
          const store = openStore(path, { readOnly: true });
          try {
            return store.listCalls({}, { limit: 100 }).calls.length >= 8;
          } finally {
            store.close();
          }
        } catch {
          return false; // not created yet
        }
      },
      20_000,
      "8 rows in the store",
    );

    const store = openStore(path, { readOnly: true });
    try {
      const calls = store.listCalls({}, { limit: 100 }).calls;
      assert.equal(calls.length, 8);
      for (let i = 1; i < calls.length; i++) {
        assert.ok(calls[i - 1].start_time >= calls[i].start_time, "newest first");
      }
      const tagged = store.listCalls({ tag: "gw-test" }).calls;
      assert.equal(tagged.length, 5);
      for (const call of tagged) {
        assert.equal(call.model_group, "mock-gpt");
        assert.equal(call.provider, "mock");
        assert.equal(call.status, "success");
        assert.equal(call.end_user, "end-user-7");
        assert.ok(call.prompt_tokens > 0 && call.cost! > 0);
        assert.match(call.key_hash ?? "", /^[0-9a-f]{64}$/);
      }
      assert.deepEqual(
        new Set(tagged.map((c) => c.call_id)),
        new Set(callIds),
        "the x-sluice-call-id of each call",
      );
      const detail = store.getCall(callIds[0])!;
      assert.equal(detail.event.messages, "[REDACTED]", "stored as redaction left it");
      assert.equal(
        store.listCalls({ text: "secret" }).calls.length,
        0,
        "removed text is not indexed",
      );
      assert.equal(store.listCalls({ callType: "embedding" }).calls.length, 1);
      assert.equal(store.listCalls({ status: "failure" }).calls.length, 1);
      assert.equal(calls.filter((c) => c.stream).length, 1);
      const stats = store.stats({ from: Date.now() - 600_000, to: Date.now() + 1 });
      assert.equal(stats.totals.calls, 8);
      assert.equal(stats.totals.errors, 1);
      assert.deepEqual(store.integrityCheck(), ["ok"]);
      const text = await Deno.readTextFile(path).catch(() => "");
      assert.ok(!text.includes("sk-client-key"), "the raw key is not in the file");
    } finally {
      store.close();
    }
  } finally {
    await gw.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("in a sandbox the sink cannot write its file: the start fails saying to set sandbox: false", async () => {
  const failure = await startGateway({
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [{ use: "sqlite", sandbox: true, config: {} }],
  }).then(async (gw) => {
    await gw.close();
    return undefined;
  }, (error: Error) => error);
  assert.ok(failure, "the gateway did not start");
  assert.match(failure.message, /sqlite: cannot open .*sluice\.db: .*sandbox: false/);
});
