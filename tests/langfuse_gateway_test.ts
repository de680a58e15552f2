/**
 * The langfuse sink behind a real gateway, called with the `openai` client:
 * one gateway, three langfuse sinks (OTLP/JSON; OTLP/protobuf with
 * `redact_user_api_key_info` and `messages: remove`; the batch ingestion
 * API), each at its own loopback Langfuse receiver that checks Basic auth
 * and the ingestion-version header and validates JSON bodies against the
 * OTLP and Langfuse ingestion schemas. Scenarios: a plain call, a streamed
 * call, a failed call, a call appended with `existing_trace_id`, default
 * tags, and masked input/output.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { startGateway } from "./fakes/gateway.ts";
import { chatCompletion, startUpstream, type UpstreamHandler } from "./fakes/upstream.ts";
import { REMOVED_PLACEHOLDER } from "@sluice/core/plugin";
import { existingTraceParentId, otelTraceIdOf } from "@sluice/langfuse";
import {
  type IngestionEventJson,
  jsonAttribute,
  type LangfuseReceiver,
  type ReceivedSpan,
  startLangfuseReceiver,
  TEST_PUBLIC_KEY,
  TEST_SECRET_KEY,
  until,
} from "../plugins/langfuse/test_support.ts";

const CLIENT_KEY = "sk-langfuse-client-0001";
const UPSTREAM_KEY = "sk-upstream-langfuse-0001";
const KEYS = { public_key: TEST_PUBLIC_KEY, secret_key: TEST_SECRET_KEY };
const DEFAULT_TAGS = ["user_api_key_alias", "user_api_key_team_alias", "model_group", "customer"];

/** The fake upstream: fails with 500 when the last message says so. */
const upstreamHandler: UpstreamHandler = (req, signal) => {
  const messages = (req.body?.messages ?? []) as { content?: string }[];
  if (String(messages.at(-1)?.content).includes("please fail")) {
    return Response.json(
      { error: { message: "the model is overloaded", type: "server_error" } },
      { status: 500 },
    );
  }
  return chatCompletion()(req, signal);
};

/** The span of a call (by its `x-sluice-call-id`), once it arrived. */
async function spanOf(rx: LangfuseReceiver, callId: string): Promise<ReceivedSpan> {
  let found: ReceivedSpan | undefined;
  await until(
    () => (found = rx.spans().find((s) => s.attributes["sluice.call_id"] === callId)) !== undefined,
    10_000,
    `the span of ${callId}`,
  );
  return found!;
}

/** The trace-create and generation-create of a call, once they arrived. */
async function ingestedOf(
  rx: LangfuseReceiver,
  callId: string,
): Promise<{ trace: IngestionEventJson; generation: IngestionEventJson }> {
  let generation: IngestionEventJson | undefined;
  await until(
    () =>
      (generation = rx.stored().find((e) =>
        e.type === "generation-create" && e.body.metadata?.call_id === callId
      )) !== undefined,
    10_000,
    `the generation of ${callId}`,
  );
  const requestId = generation!.body.metadata.request_id;
  const trace = rx.stored().find((e) => e.id === `${requestId}-trace`);
  assert.ok(trace, "the trace-create travels with the generation");
  return { trace, generation: generation! };
}

Deno.test("langfuse sinks behind a gateway: OTLP (JSON, protobuf) and the batch API", async (t) => {
  const upstream = startUpstream(upstreamHandler);
  const otlp = startLangfuseReceiver();
  const redacted = startLangfuseReceiver();
  const legacy = startLangfuseReceiver();
  const sink = (name: string, host: string, extra: Record<string, unknown>) => ({
    name,
    use: "langfuse",
    config: {
      ...KEYS,
      host,
      release: "r-2026.11",
      environment: "test",
      default_tags: DEFAULT_TAGS,
      ...extra,
    },
    queue: { flush_interval_ms: 10 },
  });
  const gw = await startGateway({
    models: [{
      name: "gpt-test",
      provider: "openai",
      model: "gpt-4o-mini",
      api_base: upstream.url,
      api_key: UPSTREAM_KEY,
      max_retries: 0,
    }],
    teams: [{ name: "lf-team" }],
    keys: [{ key: CLIENT_KEY, alias: "lf-app", team: "lf-team", user: "dave" }],
    sinks: [
      sink("lf-otlp", otlp.host, { protocol: "http/json" }),
      {
        ...sink("lf-private", redacted.host, { protocol: "http/protobuf" }),
        redaction: { redact_user_api_key_info: true, messages: "remove" },
      },
      sink("lf-legacy", legacy.host, { transport: "ingestion" }),
    ],
  });
  const client = new OpenAI({ apiKey: CLIENT_KEY, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  const call = (id: string) => ({ headers: { "x-sluice-call-id": id } });

  try {
    await t.step("a plain call", async () => {
      const { data, response } = await client.chat.completions.create({
        model: "gpt-test",
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "What is the capital of France?" },
        ],
        temperature: 0.5,
        max_tokens: 100,
        user: "end-user-7",
        metadata: {
          session_id: "sess-1",
          trace_name: "support-chat",
          generation_name: "answer",
          customer: "acme",
        } as never,
      }, call("plain-1")).withResponse();
      assert.equal(data.choices[0].message.content, "Hello from the fake upstream.");
      const traceId = response.headers.get("x-sluice-trace-id")!;

      const span = await spanOf(otlp, "plain-1");
      const a = span.attributes;
      assert.equal(span.traceId, traceId, "the trace the otel sink and the response header name");
      assert.equal(span.parentSpanId, undefined, "a root span: Langfuse builds the trace from it");
      assert.equal(span.name, "answer");
      assert.equal(span.kind, 3);
      assert.equal(span.status.code, 1);
      assert.equal(a["gen_ai.operation.name"], "chat");
      assert.equal(a["gen_ai.provider.name"], "openai");
      assert.equal(a["gen_ai.request.model"], "gpt-test");
      assert.equal(a["gen_ai.response.model"], "gpt-4o-mini");
      assert.equal(a["gen_ai.usage.input_tokens"], 11);
      assert.equal(a["gen_ai.usage.output_tokens"], 7);
      assert.equal(a["gen_ai.request.temperature"], 0.5);
      assert.equal(a["langfuse.observation.type"], "generation");
      assert.equal(a["langfuse.trace.name"], "support-chat");
      assert.equal(a["user.id"], "end-user-7");
      assert.equal(a["langfuse.user.id"], "end-user-7");
      assert.equal(a["session.id"], "sess-1");
      assert.equal(a["langfuse.session.id"], "sess-1");
      assert.equal(a["langfuse.release"], "r-2026.11");
      assert.equal(a["langfuse.environment"], "test");
      assert.equal(a["langfuse.observation.model.name"], "gpt-4o-mini");
      assert.equal(a["langfuse.observation.level"], "DEFAULT");
      assert.deepEqual(jsonAttribute(a["langfuse.observation.input"]), {
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "What is the capital of France?" },
        ],
      });
      assert.deepEqual(jsonAttribute(a["langfuse.observation.output"]), {
        role: "assistant",
        content: "Hello from the fake upstream.",
      });
      assert.deepEqual(jsonAttribute(a["langfuse.observation.model.parameters"]), {
        temperature: 0.5,
        max_tokens: 100,
      });
      assert.deepEqual(jsonAttribute(a["langfuse.observation.usage_details"]), {
        input: 11,
        output: 7,
        total: 18,
      });
      const cost = jsonAttribute(a["langfuse.observation.cost_details"]) as Record<string, number>;
      assert.ok(Math.abs(cost.total - (11 * 1.5e-7 + 7 * 6e-7)) < 1e-12, JSON.stringify(cost));
      const first = Date.parse(String(a["langfuse.observation.completion_start_time"]));
      assert.ok(first * 1e6 >= Number(BigInt(span.startTimeUnixNano)) - 1e6);
      assert.equal(a["langfuse.observation.metadata.customer"], "acme");
      assert.equal(a["langfuse.observation.metadata.user_api_key_alias"], "lf-app");

      // The redacted sink: no key info anywhere, no content, placeholders in input/output.
      const hidden = (await spanOf(redacted, "plain-1")).attributes;
      assert.deepEqual(Object.keys(hidden).filter((k) => k.includes("user_api_key")), []);
      assert.equal(hidden["langfuse.observation.input"], "[REDACTED]");
      assert.equal(hidden["langfuse.observation.output"], "[REDACTED]");
      assert.equal(hidden["langfuse.trace.name"], "support-chat");

      // The batch API: the same trace id, the same fields.
      const { trace, generation } = await ingestedOf(legacy, "plain-1");
      assert.equal(trace.body.id, traceId);
      assert.equal(trace.body.name, "support-chat");
      assert.equal(trace.body.userId, "end-user-7");
      assert.equal(trace.body.sessionId, "sess-1");
      assert.equal(trace.body.release, "r-2026.11");
      assert.equal(trace.body.environment, "test");
      assert.equal(generation.body.traceId, traceId);
      assert.equal(generation.body.name, "answer");
      assert.equal(generation.body.model, "gpt-4o-mini");
      assert.deepEqual(generation.body.usageDetails, { input: 11, output: 7, total: 18 });
      assert.equal(generation.body.level, "DEFAULT");
      assert.deepEqual(generation.body.output, {
        role: "assistant",
        content: "Hello from the fake upstream.",
      });
      assert.match(generation.timestamp, /Z$/);
    });

    await t.step("a streamed call", async () => {
      const stream = await client.chat.completions.create({
        model: "gpt-test",
        messages: [{ role: "user", content: "Stream a greeting" }],
        stream: true,
      }, call("stream-1"));
      let text = "";
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
      assert.equal(text, "Hello from the fake upstream.");

      const span = await spanOf(otlp, "stream-1");
      const a = span.attributes;
      assert.equal(a["gen_ai.request.stream"], true);
      assert.equal(a["gen_ai.usage.output_tokens"], 5);
      assert.deepEqual(jsonAttribute(a["langfuse.observation.output"]), {
        role: "assistant",
        content: "Hello from the fake upstream.",
      });
      assert.equal(
        (jsonAttribute(a["langfuse.observation.model.parameters"]) as { stream: boolean }).stream,
        true,
      );
      const first = Date.parse(String(a["langfuse.observation.completion_start_time"]));
      const start = Number(BigInt(span.startTimeUnixNano) / 1_000_000n);
      const end = Number(BigInt(span.endTimeUnixNano) / 1_000_000n);
      assert.ok(first >= start && first <= end, "the first token falls inside the call");
      assert.equal(typeof a["gen_ai.response.time_to_first_chunk"], "number");

      const { generation } = await ingestedOf(legacy, "stream-1");
      assert.equal(generation.body.completionStartTime, new Date(first).toISOString());
      assert.deepEqual(generation.body.usageDetails, { input: 9, output: 5, total: 14 });
    });

    await t.step("a failed call", async () => {
      await assert.rejects(
        client.chat.completions.create({
          model: "gpt-test",
          messages: [{ role: "user", content: "please fail" }],
        }, call("fail-1")),
        (error: { status?: number }) => error.status === 502,
      );
      const span = await spanOf(otlp, "fail-1");
      assert.equal(span.status.code, 2);
      assert.equal(span.attributes["langfuse.observation.level"], "ERROR");
      assert.ok(String(span.attributes["langfuse.observation.status_message"]).length > 0);
      assert.equal(span.attributes["langfuse.observation.status_message"], span.status.message);
      assert.ok(span.attributes["error.type"]);
      assert.equal(span.attributes["langfuse.observation.output"], undefined);

      const { generation } = await ingestedOf(legacy, "fail-1");
      assert.equal(generation.body.level, "ERROR");
      assert.equal(generation.body.statusMessage, span.status.message);
      assert.equal(generation.body.metadata.error.status, 502);
    });

    await t.step("a call appended with existing_trace_id", async () => {
      const { response } = await client.chat.completions.create({
        model: "gpt-test",
        messages: [{ role: "user", content: "Start a conversation" }],
        metadata: { trace_id: "conversation-77", trace_name: "conversation" } as never,
      }, call("conv-1")).withResponse();
      const traceId = response.headers.get("x-sluice-trace-id")!;
      assert.equal(traceId, otelTraceIdOf("conversation-77"), "core derives the same id");

      await client.chat.completions.create({
        model: "gpt-test",
        messages: [{ role: "user", content: "Follow up" }],
        metadata: {
          existing_trace_id: "conversation-77",
          update_trace_keys: ["trace_user_id"],
          trace_user_id: "carol",
          trace_name: "not applied",
          session_id: "not applied either",
        } as never,
      }, call("conv-2"));

      const started = await spanOf(otlp, "conv-1");
      assert.equal(started.attributes["langfuse.trace.name"], "conversation");
      const appended = await spanOf(otlp, "conv-2");
      assert.equal(appended.traceId, traceId, "the same trace");
      assert.equal(appended.parentSpanId, existingTraceParentId(traceId));
      assert.equal(appended.attributes["user.id"], "carol");
      for (
        const key of [
          "langfuse.trace.name",
          "langfuse.trace.tags",
          "langfuse.trace.input",
          "langfuse.trace.output",
          "session.id",
          "gen_ai.conversation.id",
          "langfuse.release",
        ]
      ) {
        assert.equal(appended.attributes[key], undefined, key);
      }
      assert.equal(appended.attributes["langfuse.observation.type"], "generation");

      const { trace, generation } = await ingestedOf(legacy, "conv-2");
      assert.deepEqual(trace.body, { id: traceId, userId: "carol" });
      assert.equal(generation.body.traceId, traceId);
      assert.equal((await ingestedOf(legacy, "conv-1")).trace.body.id, traceId);
    });

    await t.step("default tags and request tags", async () => {
      await client.chat.completions.create({
        model: "gpt-test",
        messages: [{ role: "user", content: "Tag me" }],
        metadata: { tags: ["launch"], customer: "globex" } as never,
      }, { headers: { "x-sluice-call-id": "tags-1", "x-sluice-tags": "beta" } });
      const want = [
        "beta",
        "launch",
        "user_api_key_alias:lf-app",
        "user_api_key_team_alias:lf-team",
        "model_group:gpt-test",
        "customer:globex",
      ];
      const span = await spanOf(otlp, "tags-1");
      assert.deepEqual(span.attributes["langfuse.trace.tags"], want);
      assert.equal(span.name, "sluice:lf-app", "no generation_name: sluice:{key alias}");
      assert.equal(span.attributes["langfuse.trace.name"], "sluice-chat");
      assert.equal(span.attributes["user.id"], "dave", "no request user: the key's user");
      const hidden = await spanOf(redacted, "tags-1");
      assert.deepEqual(
        hidden.attributes["langfuse.trace.tags"],
        ["beta", "launch", "model_group:gpt-test", "customer:globex"],
        "tags of removed key info are not rendered",
      );
      assert.equal(hidden.name, "sluice-chat");
      const { trace } = await ingestedOf(legacy, "tags-1");
      assert.deepEqual(trace.body.tags, want);
    });

    await t.step("mask_input and mask_output", async () => {
      await client.chat.completions.create({
        model: "gpt-test",
        messages: [{ role: "user", content: "Something private" }],
        metadata: { mask_input: true } as never,
      }, call("mask-1"));
      const a = (await spanOf(otlp, "mask-1")).attributes;
      assert.equal(a["langfuse.observation.input"], REMOVED_PLACEHOLDER);
      assert.deepEqual(jsonAttribute(a["langfuse.observation.output"]), {
        role: "assistant",
        content: "Hello from the fake upstream.",
      });
      const { trace, generation } = await ingestedOf(legacy, "mask-1");
      assert.equal(trace.body.input, REMOVED_PLACEHOLDER);
      assert.equal(generation.body.input, REMOVED_PLACEHOLDER);
    });

    await t.step("on the wire: auth, headers, schemas, no secrets", () => {
      for (const rx of [otlp, redacted, legacy]) {
        assert.deepEqual(rx.problems(), [], "every body valid");
        assert.equal(rx.unauthorized.length, 0);
        const all = JSON.stringify(rx.all.map((r) => new TextDecoder().decode(r.body)));
        assert.ok(!all.includes(CLIENT_KEY) && !all.includes(UPSTREAM_KEY), "no key");
        assert.ok(!all.includes(TEST_SECRET_KEY), "not the Langfuse secret either");
      }
      for (const rx of [otlp, redacted]) {
        for (const req of rx.accepted) {
          assert.equal(req.path, "/api/public/otel/v1/traces");
          assert.equal(req.headers.get("x-langfuse-ingestion-version"), "4");
        }
      }
      assert.ok(otlp.accepted.every((r) => r.json !== undefined), "JSON bodies schema-checked");
      assert.ok(
        redacted.accepted.every((r) => r.headers.get("content-type") === "application/x-protobuf"),
      );
      for (const req of legacy.accepted) {
        assert.equal(req.path, "/api/public/ingestion");
        assert.equal(req.headers.get("x-langfuse-ingestion-version"), null);
      }
    });
  } finally {
    await gw.close();
    await Promise.all([otlp.close(), redacted.close(), legacy.close(), upstream.close()]);
  }
});
