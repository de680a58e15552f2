/**
 * Sandboxed plugins under faults, through a running gateway: a plugin
 * that runs out of memory, then one that spins past its deadline, is
 * killed and started again; the gateway keeps answering calls, the batch
 * is retried and delivered, and each kill becomes a `gateway_error` event.
 * The built-in HTTP sinks run sandboxed by default (every *_gateway_test).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import OpenAI from "openai";
import { readJsonlEvents, startGateway } from "./fakes/gateway.ts";
import { FIXTURES } from "./fakes/sink_entry.ts";
import { until } from "../core/testing.ts";

/** A receiver that answers `/in/mode` from a script (then "ok") and records `/in` posts. */
function modeReceiver(modes: string[]) {
  const delivered: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/in/mode") return new Response(modes.shift() ?? "ok");
    delivered.push(...(await req.json()) as string[]);
    return new Response(null, { status: 204 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/in`,
    delivered,
    modesLeft: () => modes.length,
    close: () => server.shutdown(),
  };
}

Deno.test("a sandboxed plugin that runs out of memory, then spins, leaves the gateway serving and loses nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-sandbox-gw-" });
  const receiver = modeReceiver(["oom", "spin"]);
  const gw = await startGateway({
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [
      {
        name: "fragile",
        use: join(FIXTURES, "misbehave.js"),
        sandbox: { heap_mb: 64 },
        // Long enough for the out-of-memory exit to come first on a loaded machine.
        queue: { batch_size: 1, flush_interval_ms: 1, call_timeout_ms: 5_000 },
        config: { url: receiver.url, ask: true },
      },
      { use: "jsonl", on: ["gateway_error"], config: { dir } },
    ],
  });
  try {
    const client = new OpenAI({ apiKey: "none", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    for (let i = 0; i < 3; i++) {
      const answer = await client.chat.completions.create({
        model: "mock-gpt",
        messages: [{ role: "user", content: `call ${i}` }],
      }).withResponse();
      assert.equal(answer.response.status, 200);
    }
    await until(() => receiver.delivered.length >= 3, 30_000, "every call delivered");
    // The killed attempts never posted: each call arrives exactly once.
    assert.equal(receiver.delivered.length, 3);
    assert.equal(new Set(receiver.delivered).size, 3);
    assert.equal(receiver.modesLeft(), 0, "both faults happened");
    // The gateway answers while the plugin is being restarted.
    const during = await client.chat.completions.create({
      model: "mock-gpt",
      messages: [{ role: "user", content: "after" }],
    });
    assert.ok(during.choices[0].message.content);
    await until(
      async () => (await readJsonlEvents(dir)).length >= 2,
      10_000,
      "the gateway_error events",
    );
    const errors = (await readJsonlEvents(dir)).map((e) =>
      e as { source?: string; error?: { code?: string; message?: string } }
    );
    assert.ok(errors.every((e) => e.source === "fragile"), JSON.stringify(errors));
    const codes = errors.map((e) => e.error?.code);
    assert.ok(codes.includes("plugin_crashed"), JSON.stringify(errors));
    assert.ok(codes.includes("call_timeout"), JSON.stringify(errors));
    assert.ok(
      errors.some((e) => /ran out of memory \(heap cap 64 MiB\)/.test(e.error?.message ?? "")),
      JSON.stringify(errors),
    );
  } finally {
    await gw.close();
    await receiver.close();
    await Deno.remove(dir, { recursive: true });
  }
});
