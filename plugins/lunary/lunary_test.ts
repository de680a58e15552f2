import assert from "node:assert/strict";
import lunaryPlugin, {
  createLunarySink,
  lunaryConfigSchema,
  type LunaryEvent,
  lunaryLiteLLM,
  resolveLunarySettings,
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
import { startLunaryReceiver, TEST_LUNARY_KEY } from "./test_support.ts";

const KEY = TEST_LUNARY_KEY;

async function rejection(promise: Promise<unknown> | unknown): Promise<SinkError> {
  try {
    await promise;
  } catch (error) {
    return error as SinkError;
  }
  throw new Error("log resolved; expected a rejection");
}

Deno.test("the lunary sink passes the HTTP sink conformance kit", async () => {
  const report = await checkHttpSinkConformance(lunaryPlugin, {
    config: (url) => ({ public_key: KEY, endpoint_url: url, timeout_ms: 2000 }),
    eventsIn: (req) => {
      assert.ok(req.url.endsWith("/sluice-conformance/v1/runs/ingest"), req.url);
      assert.equal(req.headers.get("authorization"), `Bearer ${KEY}`);
      const { events } = JSON.parse(new TextDecoder().decode(req.body));
      return events.filter((e: LunaryEvent) => e.event === "start").map((e: LunaryEvent) =>
        e.runId
      );
    },
  });
  assertConformance(report);
});

Deno.test("a start and an end (or error) per call: model, input, output, tokens, user, tags, metadata", async () => {
  const lunary = startLunaryReceiver();
  try {
    const ctx = createTestContext();
    const sink = createLunarySink(
      { public_key: KEY, endpoint_url: `${lunary.url}/`, tags: ["prod"] },
      ctx,
    );
    const parent = crypto.randomUUID();
    const chat = sampleEvent({
      metadata: {
        ...sampleEvent().metadata,
        tags: ["checkout"],
        request: { parent_run_id: parent, template_id: "tpl-1", session_id: "s-1" },
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
    assert.deepEqual(lunary.problems, []);
    assert.equal(lunary.requests.length, 1);
    assert.equal(lunary.requests[0].headers.get("user-agent"), `sluice-lunary/${denoJson.version}`);
    const { start, finish } = lunary.runs.get(chat.request_id)!;
    assert.equal(start.type, "llm");
    assert.equal(start.name, chat.model);
    assert.equal(Date.parse(start.timestamp), chat.start_time);
    assert.deepEqual(start.input, chat.messages);
    assert.equal(start.userId, chat.metadata.end_user);
    assert.deepEqual(start.userProps, { key_alias: "app-a", team: "team-a" });
    assert.deepEqual(start.tags, ["prod", "checkout"]);
    assert.deepEqual(start.params, chat.model_parameters);
    assert.equal(start.parentRunId, parent);
    assert.equal(start.templateId, "tpl-1");
    assert.equal(start.metadata?.session_id, "s-1");
    assert.equal(start.metadata?.trace_id, chat.trace_id);
    assert.equal(start.metadata?.response_cost, chat.response_cost);
    assert.equal(finish?.event, "end");
    assert.equal(Date.parse(finish!.timestamp), chat.end_time);
    assert.deepEqual(finish?.output, chat.response);
    assert.deepEqual(finish?.tokensUsage, {
      prompt: chat.prompt_tokens,
      completion: chat.completion_tokens,
    });
    const bad = lunary.runs.get(failed.request_id)!.finish!;
    assert.equal(bad.event, "error");
    assert.match(bad.error!.message, /RateLimitError \(429 rate_limit_exceeded\)/);
    const hidden = lunary.runs.get(removed.request_id)!;
    assert.equal(hidden.start.input, REMOVED_PLACEHOLDER);
    assert.equal(hidden.finish?.output, REMOVED_PLACEHOLDER);
    assert.equal(lunary.runs.get(embedding.request_id)!.start.type, "embed");
    // a batch sent again (a lost answer): the starts are duplicates, nothing is reported
    await sink.log([chat]);
    assert.equal(ctx.logs.filter((l) => l.level === "warn").length, 0);
  } finally {
    await lunary.close();
  }
});

Deno.test("events Lunary refuses one by one are reported and counted, not sent again", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const { events } = await req.json();
    return Response.json({
      results: events.map((e: LunaryEvent, i: number) => ({
        id: e.runId,
        success: i !== 0,
        error: i === 0 ? `insert failed for key ${KEY}` : undefined,
      })),
    });
  });
  try {
    const ctx = createTestContext();
    const sink = createLunarySink(
      { public_key: KEY, endpoint_url: `http://127.0.0.1:${server.addr.port}` },
      ctx,
    );
    const events = sampleEvents(2);
    assert.deepEqual(await sink.log(events), { skipped: 1 });
    const [warning] = ctx.logs.filter((l) => l.level === "warn");
    assert.match(warning.message, /lunary refused 1 event\(s\) of 1 call\(s\): insert failed/);
    assert.ok(!warning.message.includes(KEY), "the key is scrubbed");
    assert.deepEqual(warning.data?.request_ids, [events[0].request_id]);
  } finally {
    await server.shutdown();
  }
});

Deno.test("401/402/403 keep the events and name the public key without printing it; 429 waits", async () => {
  let status = 401;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    await req.body?.cancel();
    return Response.json({ message: "This project does not exist" }, {
      status,
      headers: { "retry-after": "4" },
    });
  });
  try {
    const sink = createLunarySink(
      { public_key: KEY, endpoint_url: `http://127.0.0.1:${server.addr.port}` },
      createTestContext(),
    );
    for (const code of [401, 402, 403]) {
      status = code;
      const error = await rejection(sink.log(sampleEvents(1)));
      assert.notEqual(error.permanent, true, `${code}`);
      assert.match(error.message, /check the project's public key \(LUNARY_PUBLIC_KEY/);
      assert.match(error.message, /the events are kept/);
      assert.ok(!error.message.includes(KEY));
    }
    status = 429;
    assert.equal((await rejection(sink.log(sampleEvents(1)))).retryAfterMs, 4000);
    status = 400;
    assert.equal((await rejection(sink.log(sampleEvents(1)))).permanent, true);
  } finally {
    await server.shutdown();
  }
});

Deno.test("settings: config over LUNARY_PUBLIC_KEY / LUNARY_API_URL; missing key refuses to start", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  const fromEnv = resolveLunarySettings(
    {},
    env({
      LUNARY_PUBLIC_KEY: "env-key",
      LUNARY_API_URL: "http://localhost:3333/",
    }),
  );
  assert.deepEqual([fromEnv.publicKey, fromEnv.url.href], [
    "env-key",
    "http://localhost:3333/v1/runs/ingest",
  ]);
  const configured = resolveLunarySettings(
    { public_key: "cfg", endpoint_url: "https://lunary.example.com/api/v1/runs/ingest" },
    env({ LUNARY_PUBLIC_KEY: "env-key", LUNARY_API_URL: "http://localhost:3333" }),
  );
  assert.deepEqual([configured.publicKey, configured.url.href], [
    "cfg",
    "https://lunary.example.com/api/v1/runs/ingest",
  ]);
  assert.equal(
    resolveLunarySettings({ public_key: "k" }, env({})).url.href,
    "https://api.lunary.ai/v1/runs/ingest",
  );
  assert.throws(
    () => lunaryPlugin.create({}, createTestContext()),
    /^Error: lunary: no public key; set LUNARY_PUBLIC_KEY or this sink's config\.public_key/,
  );
  assert.throws(
    () => lunaryPlugin.create({ public_key: "k", endpoint_url: "ftp://x" }, createTestContext()),
    /lunary: invalid config: config\.endpoint_url/,
  );
  assert.equal(lunaryPlugin.version, denoJson.version);
  assert.equal(lunaryPlugin.configSchema, lunaryConfigSchema);
  assert.deepEqual(
    resolvePermissions(lunaryPlugin, {}, {
      LUNARY_PUBLIC_KEY: "k",
      LUNARY_API_URL: "http://127.0.0.1:3333",
    }),
    { net: ["127.0.0.1:3333"], env: ["LUNARY_PUBLIC_KEY", "LUNARY_API_URL"] },
  );
  assert.deepEqual(lunaryLiteLLM.callbacks, ["lunary"]);
  assert.equal(lunaryPlugin.litellm, lunaryLiteLLM);
});
