import assert from "node:assert/strict";
import athinaPlugin, {
  type AthinaChatCompletion,
  athinaConfigSchema,
  athinaLiteLLM,
  createAthinaSink,
  resolveAthinaSettings,
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
import { startAthinaReceiver, TEST_ATHINA_KEY } from "./test_support.ts";

const KEY = TEST_ATHINA_KEY;

async function rejection(promise: Promise<unknown> | unknown): Promise<SinkError> {
  try {
    await promise;
  } catch (error) {
    return error as SinkError;
  }
  throw new Error("log resolved; expected a rejection");
}

Deno.test("the athina sink passes the HTTP sink conformance kit", async () => {
  const report = await checkHttpSinkConformance(athinaPlugin, {
    config: (url) => ({ api_key: KEY, endpoint_url: url, timeout_ms: 2000 }),
    eventsIn: (req) => {
      assert.ok(req.url.endsWith("/sluice-conformance/api/v1/log/inference"), req.url);
      assert.equal(req.headers.get("athina-api-key"), KEY);
      const log = JSON.parse(new TextDecoder().decode(req.body));
      return [log.custom_attributes.request_id];
    },
  });
  assertConformance(report);
});

Deno.test("one inference log per call: model, prompt, ChatCompletion response, tokens, cost, latency, user, LiteLLM's metadata keys", async () => {
  const athina = startAthinaReceiver();
  try {
    const sink = createAthinaSink(
      {
        api_key: KEY,
        endpoint_url: `${athina.url}/`,
        environment: "staging",
        custom_attributes: { region: "eu" },
      },
      createTestContext(),
    );
    const chat = sampleEvent({
      finish_reasons: ["stop"],
      metadata: {
        ...sampleEvent().metadata,
        tags: ["checkout"],
        request: {
          environment: "production",
          prompt_slug: "greeter/v2",
          customer_id: "acme",
          session_id: "s-1",
          external_reference_id: "ext-1",
          context: { docs: ["a", "b"] },
          expected_response: "Hello!",
          user_feedback: 1,
          custom_attributes: { experiment: "b" },
        },
      },
    });
    const failed = sampleFailureEvent();
    const removed = sampleEvent({ messages: REMOVED_PLACEHOLDER, response: REMOVED_PLACEHOLDER });
    const completion = sampleEvent({
      call_type: "completion",
      messages: "Once upon a time",
      response: ["there was a gateway"],
    });
    const embedding = sampleEvent({
      call_type: "embedding",
      messages: ["a"],
      response: { object: "list", count: 1, dimensions: 3 },
    });
    const events = [chat, failed, removed, completion, embedding, sampleGatewayErrorEvent()];
    assert.deepEqual(await sink.log(events), { skipped: 1 });
    assert.deepEqual(athina.problems, []);
    assert.equal(athina.requests.length, 5, "one POST per call");
    assert.equal(athina.requests[0].headers.get("user-agent"), `sluice-athina/${denoJson.version}`);
    const byId = new Map(athina.logs.map((l) => [l.custom_attributes.request_id, l]));

    const log = byId.get(chat.request_id)!;
    assert.equal(log.language_model_id, chat.model);
    assert.deepEqual(log.prompt, chat.messages);
    const response = log.response as AthinaChatCompletion;
    assert.equal(response.object, "chat.completion");
    assert.equal(response.id, chat.id);
    assert.deepEqual(response.choices, [{
      index: 0,
      message: chat.response,
      finish_reason: "stop",
    }]);
    assert.deepEqual(response.usage, {
      prompt_tokens: chat.prompt_tokens,
      completion_tokens: chat.completion_tokens,
      total_tokens: chat.total_tokens,
    });
    assert.deepEqual(
      [log.prompt_tokens, log.completion_tokens, log.total_tokens, log.cost, log.response_time],
      [
        chat.prompt_tokens,
        chat.completion_tokens,
        chat.total_tokens,
        chat.response_cost,
        chat.response_time_ms,
      ],
    );
    assert.equal(log.status_code, 200);
    assert.equal(log.error, undefined);
    assert.equal(log.customer_user_id, chat.metadata.end_user);
    assert.equal(log.user_query, (chat.messages as { content: string }[])[1].content);
    assert.equal(log.environment, "production", "the request's environment wins");
    assert.equal(log.prompt_slug, "greeter/v2");
    assert.equal(log.customer_id, "acme");
    assert.equal(log.session_id, "s-1");
    assert.equal(log.external_reference_id, "ext-1");
    assert.deepEqual(log.context, { docs: ["a", "b"] });
    assert.equal(log.expected_response, "Hello!");
    assert.equal(log.user_feedback, 1);
    assert.deepEqual(log.tags, ["checkout"]);
    assert.deepEqual(log.model_options, chat.model_parameters);
    assert.deepEqual(log.custom_attributes, {
      region: "eu",
      request_id: chat.request_id,
      call_id: chat.call_id,
      trace_id: chat.trace_id,
      span_id: chat.span_id,
      call_type: "chat",
      model_group: chat.model_group,
      provider: chat.provider,
      stream: false,
      key_alias: "app-a",
      team: "team-a",
      experiment: "b",
    });

    const bad = byId.get(failed.request_id)!;
    assert.equal(bad.status_code, 429);
    assert.match(bad.error!, /RateLimitError \(429 rate_limit_exceeded\): Rate limit/);
    assert.equal(bad.response, "");
    assert.equal(bad.cost, undefined);
    assert.equal(bad.environment, "staging", "the sink's environment");
    assert.equal(bad.external_reference_id, failed.request_id);

    const hidden = byId.get(removed.request_id)!;
    assert.equal(hidden.prompt, REMOVED_PLACEHOLDER);
    assert.equal(hidden.response, REMOVED_PLACEHOLDER);
    assert.equal(hidden.user_query, undefined, "no query from removed messages");

    const text = byId.get(completion.request_id)!;
    assert.equal(text.prompt, "Once upon a time");
    assert.equal(text.response, "there was a gateway");
    assert.equal(text.user_query, "Once upon a time");
    assert.equal(JSON.parse(byId.get(embedding.request_id)!.response as string).dimensions, 3);
  } finally {
    await athina.close();
  }
});

Deno.test("a log refused as malformed is reported and skipped, the rest delivered; a batch refused whole is permanent", async () => {
  let refuse: (n: number) => boolean = (n) => n === 2;
  const athina = startAthinaReceiver({ answer: (n) => (refuse(n) ? 422 : undefined) });
  try {
    const ctx = createTestContext();
    const sink = createAthinaSink({ api_key: KEY, endpoint_url: athina.url, concurrency: 1 }, ctx);
    const events = sampleEvents(3);
    assert.deepEqual(await sink.log(events), { skipped: 1 });
    assert.equal(athina.logs.length, 2);
    const [warning] = ctx.logs.filter((l) => l.level === "warn");
    assert.match(warning.message, /athina refused 1 of 3 inference log\(s\): .*answered 422/);
    assert.deepEqual(warning.data?.request_ids, [events[1].request_id]);
    refuse = () => true;
    const error = await rejection(sink.log(sampleEvents(2)));
    assert.equal(error.permanent, true);
  } finally {
    await athina.close();
  }
});

Deno.test("a batch retried after a failure midway sends only the logs Athina did not accept", async () => {
  let down = true;
  const athina = startAthinaReceiver({ answer: (n) => (down && n >= 3 ? 503 : undefined) });
  try {
    const sink = createAthinaSink(
      { api_key: KEY, endpoint_url: athina.url, concurrency: 1 },
      createTestContext(),
    );
    const events = sampleEvents(6);
    const error = await rejection(sink.log(events));
    assert.notEqual(error.permanent, true);
    assert.equal(athina.requests.length, 3, "no more POSTs after the first 503");
    assert.equal(athina.logs.length, 2);
    down = false;
    await sink.log(events);
    const ids = athina.logs.map((l) => l.custom_attributes.request_id);
    assert.deepEqual([...ids].sort(), events.map((e) => e.request_id).sort(), "each once");
  } finally {
    await athina.close();
  }
});

Deno.test("401/403 keep the events and name the API key without printing it; 429 waits for Retry-After", async () => {
  let status = 401;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    await req.body?.cancel();
    return Response.json({ error: `invalid api key ${req.headers.get("athina-api-key")}` }, {
      status,
      headers: { "retry-after": "4" },
    });
  });
  try {
    const sink = createAthinaSink(
      { api_key: KEY, endpoint_url: `http://127.0.0.1:${server.addr.port}` },
      createTestContext(),
    );
    for (const code of [401, 403]) {
      status = code;
      const error = await rejection(sink.log(sampleEvents(3)));
      assert.notEqual(error.permanent, true, `${code}`);
      assert.match(error.message, /check the Athina API key \(ATHINA_API_KEY or config\.api_key\)/);
      assert.match(error.message, /the events are kept/);
      assert.ok(!error.message.includes(KEY), error.message);
    }
    status = 429;
    assert.equal((await rejection(sink.log(sampleEvents(2)))).retryAfterMs, 4000);
    status = 404;
    assert.match((await rejection(sink.log(sampleEvents(1)))).message, /ATHINA_BASE_URL/);
  } finally {
    await server.shutdown();
  }
});

Deno.test("settings: config over ATHINA_API_KEY / ATHINA_BASE_URL; a missing key refuses to start", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  const fromEnv = resolveAthinaSettings(
    {},
    env({ ATHINA_API_KEY: "env-key", ATHINA_BASE_URL: "http://localhost:9000/" }),
  );
  assert.deepEqual([fromEnv.apiKey, fromEnv.url.href], [
    "env-key",
    "http://localhost:9000/api/v1/log/inference",
  ]);
  const configured = resolveAthinaSettings(
    { api_key: "cfg", endpoint_url: "https://athina.example.com/api/v1/log/inference" },
    env({ ATHINA_API_KEY: "env-key", ATHINA_BASE_URL: "http://localhost:9000" }),
  );
  assert.deepEqual([configured.apiKey, configured.url.href], [
    "cfg",
    "https://athina.example.com/api/v1/log/inference",
  ]);
  assert.equal(
    resolveAthinaSettings({ api_key: "k" }, env({})).url.href,
    "https://log.athina.ai/api/v1/log/inference",
  );
  assert.throws(
    () => athinaPlugin.create({}, createTestContext()),
    /^Error: athina: no API key; set ATHINA_API_KEY or this sink's config\.api_key/,
  );
  assert.throws(
    () => athinaPlugin.create({ api_key: "k", endpoint_url: "ftp://x" }, createTestContext()),
    /athina: invalid config: config\.endpoint_url/,
  );
  assert.equal(athinaPlugin.version, denoJson.version);
  assert.equal(athinaPlugin.configSchema, athinaConfigSchema);
  assert.deepEqual(
    resolvePermissions(athinaPlugin, {}, {
      ATHINA_API_KEY: "k",
      ATHINA_BASE_URL: "http://127.0.0.1:9000",
    }),
    { net: ["127.0.0.1:9000"], env: ["ATHINA_API_KEY", "ATHINA_BASE_URL"] },
  );
  assert.deepEqual(resolvePermissions(athinaPlugin, { api_key: "k" }, {}).net, ["log.athina.ai"]);
  assert.deepEqual(athinaLiteLLM.callbacks, ["athina"]);
  assert.equal(athinaPlugin.litellm, athinaLiteLLM);
});
