/**
 * OTLP ingest end to end: an application instrumented with the official
 * OpenTelemetry JS SDK exports traces (protobuf and JSON exporters) and logs
 * to the gateway's OTLP endpoints; the otel sink (sandboxed) forwards them
 * to a loopback collector redacted and priced, in one trace with the
 * gateway's own call span; a GenAI span becomes a JSONL event with cost; the
 * app's span around a proxied call is not logged twice; bad exports get the
 * OTLP spec's answers.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { context, SpanKind, trace } from "npm:@opentelemetry/api@1.9.1";
import { resourceFromAttributes } from "npm:@opentelemetry/resources@2.12.1";
import { BasicTracerProvider, SimpleSpanProcessor } from "npm:@opentelemetry/sdk-trace-base@2.12.1";
import { OTLPTraceExporter as ProtoTraceExporter } from "npm:@opentelemetry/exporter-trace-otlp-proto@0.223.1";
import { OTLPTraceExporter as JsonTraceExporter } from "npm:@opentelemetry/exporter-trace-otlp-http@0.223.1";
import { LoggerProvider, SimpleLogRecordProcessor } from "npm:@opentelemetry/sdk-logs@0.223.1";
import { OTLPLogExporter } from "npm:@opentelemetry/exporter-logs-otlp-proto@0.223.1";
import { readJsonlEvents, startGateway } from "./fakes/gateway.ts";
import {
  attributesOf,
  logRecordsOf,
  spansOf,
  startHttpSignalsReceiver,
  until,
} from "../plugins/otel/testdata/signals_receiver.ts";
import { encodeStatus } from "../core/otlp/proto.ts";
import { gatewayOn } from "../core/server/gateway.ts";
import { type LogHost, PortLogHost } from "../core/log/host.ts";
import { parseConfig } from "../core/config/load.ts";
import { DEFAULT_CONTROLS } from "../core/pipeline/controls.ts";
import { startUpstream } from "./fakes/upstream.ts";
import { openStore } from "../plugins/sqlite/mod.ts";
import {
  startLangfuseReceiver,
  TEST_PUBLIC_KEY,
  TEST_SECRET_KEY,
} from "../plugins/langfuse/test_support.ts";
import { generateText } from "npm:ai@7.0.185";
import { createOpenAI } from "npm:@ai-sdk/openai@4.0.126";
import { OpenTelemetry } from "npm:@ai-sdk/otel@1.0.185";

const APP_KEY = "sk-otlp-app-key-0001";
const EMAIL = "alice.jones@example.com";
const BLOB = "QUJD".repeat(200); // 800 base64 characters: a pasted image
const UPSTREAM_KEY = "sk-upstream-secret-0042";
const METRICS_KEY = "sk-metrics-0001";
const scrape = async (url: string) =>
  await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_KEY}` } }))
    .text();

async function gateway(receiverUrl: string, dir: string) {
  return await startGateway({
    server: { max_body_bytes: 256 * 1024, metrics_key: METRICS_KEY },
    models: [{ name: "mock-gpt", provider: "mock", api_key: UPSTREAM_KEY }],
    teams: [{ name: "apps" }],
    keys: [{ key: APP_KEY, alias: "checkout-app", team: "apps" }],
    sinks: [
      {
        name: "collector",
        use: "otel",
        config: { endpoint: receiverUrl, protocol: "http/protobuf", signals: ["traces", "logs"] },
        queue: { flush_interval_ms: 10 },
      },
      { name: "events", use: "jsonl", config: { dir }, queue: { flush_interval_ms: 10 } },
    ],
  });
}

async function jsonl(dir: string, check: (events: Record<string, unknown>[]) => boolean) {
  let events: Record<string, unknown>[] = [];
  for (let i = 0; i < 500 && !check(events); i++) {
    events = await readJsonlEvents(dir).catch(() => []);
    if (!check(events)) await new Promise((r) => setTimeout(r, 20));
  }
  return events;
}

function tracerProvider(exporter: ProtoTraceExporter | JsonTraceExporter) {
  return new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": "checkout" }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
}

Deno.test("the SDK's spans and logs reach the collector redacted and priced, in one trace with the gateway's call", async () => {
  const receiver = startHttpSignalsReceiver();
  const dir = await Deno.makeTempDir();
  const gw = await gateway(receiver.url, dir);
  const headers = { authorization: `Bearer ${APP_KEY}` };
  const provider = tracerProvider(
    new ProtoTraceExporter({ url: `${gw.url}/v1/otel/v1/traces`, headers }),
  );
  const loggerProvider = new LoggerProvider({
    resource: resourceFromAttributes({ "service.name": "checkout" }),
    processors: [
      new SimpleLogRecordProcessor({
        exporter: new OTLPLogExporter({ url: `${gw.url}/v1/logs`, headers }),
      }),
    ],
  });
  try {
    const tracer = provider.getTracer("checkout-agent");
    const agent = tracer.startSpan("invoke_agent checkout");
    const inAgent = trace.setSpan(context.active(), agent);
    // A provider called directly (not through the gateway): a GenAI span with PII and a blob.
    const direct = tracer.startSpan("chat gpt-4o-mini", {
      kind: SpanKind.CLIENT,
      attributes: {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.usage.input_tokens": 1000,
        "gen_ai.usage.output_tokens": 200,
        "gen_ai.input.messages": JSON.stringify([{
          role: "user",
          parts: [{ type: "text", content: `Refund ${EMAIL}, receipt: ${BLOB}` }],
        }]),
        "gen_ai.output.messages": JSON.stringify([{
          role: "assistant",
          parts: [{ type: "text", content: `Refunded ${EMAIL}.` }],
          finish_reason: "stop",
        }]),
      },
    }, inAgent);
    direct.end();
    // A tool span whose attribute carries PII.
    tracer.startSpan("execute_tool lookup", {
      attributes: { "gen_ai.tool.call.arguments": JSON.stringify({ email: EMAIL }) },
    }, inAgent).end();
    // A call through the gateway, inside the agent's trace.
    const viaGateway = tracer.startSpan("chat mock-gpt", {
      kind: SpanKind.CLIENT,
      attributes: {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "mock-gpt",
        "gen_ai.usage.input_tokens": 5,
        "gen_ai.usage.output_tokens": 5,
      },
    }, inAgent);
    const ctx = viaGateway.spanContext();
    const client = new OpenAI({ apiKey: APP_KEY, baseURL: `${gw.url}/v1` });
    await client.chat.completions.create(
      { model: "mock-gpt", messages: [{ role: "user", content: "Hello" }] },
      { headers: { traceparent: `00-${ctx.traceId}-${ctx.spanId}-01` } },
    );
    // The gateway logged the call before the app's span arrives (as in life).
    await jsonl(dir, (events) => events.some((e) => e.source === undefined));
    viaGateway.end();
    agent.end();
    loggerProvider.getLogger("checkout").emit({
      body: `refund issued to ${EMAIL}`,
      severityText: "INFO",
      context: trace.setSpan(context.active(), direct),
    });
    await provider.forceFlush();
    await loggerProvider.forceFlush();

    const traceId = agent.spanContext().traceId;
    await until(() => {
      const spans = spansOf(receiver.accepted);
      return spans.some((s) => s.name === "chat gpt-4o-mini") &&
        spans.some((s) => s.name === "invoke_agent checkout") &&
        spans.some((s) => s.parentSpanId === ctx.spanId) && // the gateway's own call span
        logRecordsOf(receiver.accepted).some((r) => r.spanId === direct.spanContext().spanId);
    }, 15_000);
    const spans = spansOf(receiver.accepted);
    assert.ok(spans.every((s) => s.traceId === traceId), "one trace: the app's and the gateway's");
    const gatewaySpan = spans.find((s) => s.parentSpanId === ctx.spanId)!;
    assert.equal(gatewaySpan.traceId, traceId);

    const directSpan = spans.find((s) => s.name === "chat gpt-4o-mini")!;
    const attrs = attributesOf(directSpan.attributes);
    const wire = JSON.stringify(receiver.all.map((r) => r.request));
    assert.ok(!wire.includes(EMAIL), "no email reached the collector");
    assert.ok(!wire.includes(BLOB.slice(0, 64)), "no base64 reached the collector");
    assert.ok(!wire.includes(UPSTREAM_KEY) && !wire.includes(APP_KEY), "no key reached it");
    assert.match(String(attrs["gen_ai.input.messages"]), /\[EMAIL\]/);
    // 1,000 in at $0.15/M + 200 out at $0.60/M = $0.00027
    assert.ok(
      Math.abs(Number(attrs["sluice.cost.usd"]) - 0.00027) < 1e-12,
      String(attrs["sluice.cost.usd"]),
    );
    assert.equal(attrs["sluice.provider"], "openai");
    const tool = spans.find((s) => s.name === "execute_tool lookup")!;
    assert.match(String(attributesOf(tool.attributes)["gen_ai.tool.call.arguments"]), /\[EMAIL\]/);

    // The app's record (the gateway's own call has its record too, in the call's span).
    const record = logRecordsOf(receiver.accepted)
      .find((r) => r.spanId === direct.spanContext().spanId)!;
    assert.equal(record.traceId, traceId);
    assert.equal(record.spanId, direct.spanContext().spanId);
    assert.match(String(record.body.stringValue), /refund issued to \[EMAIL\]/);

    // The directly called GenAI span is an event for the sinks without OTLP; the span around
    // the proxied call is not (the gateway logged that call itself).
    const events = await jsonl(dir, (e) => e.some((x) => x.source === "otlp"));
    const otlpEvents = events.filter((e) => e.source === "otlp");
    assert.equal(otlpEvents.length, 1, JSON.stringify(otlpEvents.map((e) => e.model)));
    const [event] = otlpEvents;
    assert.equal(event.model, "gpt-4o-mini");
    assert.equal(event.call_type, "chat");
    assert.equal(event.trace_id, traceId);
    assert.equal(event.prompt_tokens, 1000);
    assert.ok(Math.abs(Number(event.response_cost) - 0.00027) < 1e-12);
    assert.equal(
      (event.metadata as { user_api_key_alias?: string }).user_api_key_alias,
      "checkout-app",
    );
    const content = JSON.stringify([event.messages, event.response]);
    assert.ok(content.includes("[EMAIL]") && !content.includes(EMAIL), content);
    assert.ok(!content.includes(BLOB.slice(0, 64)));
    assert.ok(events.filter((e) => e.source === undefined).length === 1, "the proxied call once");

    const metrics = await scrape(gw.url);
    assert.match(metrics, /sluice_otlp_items_total\{signal="traces",outcome="accepted"\} 4/);
    assert.match(metrics, /sluice_otlp_items_total\{signal="logs",outcome="accepted"\} 1/);
    assert.match(metrics, /sluice_otlp_genai_events_total 1/);
    // The email in the messages, the blob, the tool arguments' email, the log body's email.
    const redacted = Number(/sluice_otlp_values_redacted_total (\d+)/.exec(metrics)?.[1]);
    assert.ok(redacted >= 4, `redacted ${redacted}`);
    assert.ok(Number(/sluice_otlp_batches_routed_total (\d+)/.exec(metrics)?.[1]) >= 2);
  } finally {
    await provider.shutdown();
    await loggerProvider.shutdown();
    await gw.close();
    await receiver.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the JSON exporter and Portkey's header work too; ids that are not ids are rejected in part", async () => {
  const receiver = startHttpSignalsReceiver();
  const dir = await Deno.makeTempDir();
  const gw = await gateway(receiver.url, dir);
  const provider = tracerProvider(
    new JsonTraceExporter({
      url: `${gw.url}/v1/traces`,
      headers: { "x-portkey-api-key": APP_KEY },
    }),
  );
  try {
    provider.getTracer("t").startSpan("plain work", { attributes: { "user.email": EMAIL } }).end();
    await provider.forceFlush();
    await until(() => spansOf(receiver.accepted).length === 1, 10_000);
    const [span] = spansOf(receiver.accepted);
    assert.equal(attributesOf(span.attributes)["user.email"], "[EMAIL]");

    // One valid span and one with a zero trace id: a partial success naming the count.
    const body = {
      resourceSpans: [{
        scopeSpans: [{
          spans: [
            { traceId: "5b8efff798038103d269b633813fc60c", spanId: "eee19b7ec3c1b174", name: "ok" },
            {
              traceId: "00000000000000000000000000000000",
              spanId: "eee19b7ec3c1b175",
              name: "bad",
            },
          ],
        }],
      }],
    };
    const res = await fetch(`${gw.url}/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-sluice-api-key": APP_KEY },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200);
    const answer = await res.json();
    assert.equal(answer.partialSuccess.rejectedSpans, "1");
    assert.match(answer.partialSuccess.errorMessage, /1 spans had no valid trace id/);
    await until(() => spansOf(receiver.accepted).some((s) => s.name === "ok"), 10_000);
    assert.ok(!spansOf(receiver.accepted).some((s) => s.name === "bad"));
  } finally {
    await provider.shutdown();
    await gw.close();
    await receiver.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bad exports get the OTLP spec's answers: 400, 401, 413, 415, and 405 for GET", async () => {
  const receiver = startHttpSignalsReceiver();
  const dir = await Deno.makeTempDir();
  const gw = await gateway(receiver.url, dir);
  const post = (path: string, body: BodyInit, headers: Record<string, string>) =>
    fetch(`${gw.url}${path}`, { method: "POST", body, headers });
  const auth = { authorization: `Bearer ${APP_KEY}` };
  try {
    const garbage = await post("/v1/traces", new Uint8Array([0x0a, 0xff, 0xff, 0xff]), {
      ...auth,
      "content-type": "application/x-protobuf",
    });
    assert.equal(garbage.status, 400);
    assert.equal(garbage.headers.get("content-type"), "application/x-protobuf");
    const status = new Uint8Array(await garbage.arrayBuffer());
    assert.ok(status.byteLength > 0);
    assert.ok(encodeStatus(3, "x").byteLength > 0);

    const badJson = await post("/v1/logs", "{not json", {
      ...auth,
      "content-type": "application/json",
    });
    assert.equal(badJson.status, 400);
    assert.equal((await badJson.json()).code, 3);

    const anonymous = await post("/v1/otel/v1/traces", "{}", {
      "content-type": "application/json",
    });
    assert.equal(anonymous.status, 401);
    const answer = await anonymous.json();
    assert.equal(answer.code, 16);

    const wrongKey = await post("/v1/traces", "{}", {
      "content-type": "application/json",
      authorization: "Bearer sk-wrong",
    });
    assert.equal(wrongKey.status, 401);
    assert.ok(!(await wrongKey.text()).includes("sk-wrong"));

    const huge = await post("/v1/traces", new Uint8Array(300 * 1024), {
      ...auth,
      "content-type": "application/x-protobuf",
    });
    assert.equal(huge.status, 413);
    await huge.body?.cancel();

    const text = await post("/v1/traces", "hello", { ...auth, "content-type": "text/plain" });
    assert.equal(text.status, 415);
    await text.body?.cancel();

    const get = await fetch(`${gw.url}/v1/traces`, { headers: auth });
    assert.equal(get.status, 405);
    await get.body?.cancel();

    const metrics = await scrape(gw.url);
    assert.match(
      metrics,
      /sluice_otlp_exports_refused_total\{signal="traces",reason="unauthenticated"\} 2/,
    );
    assert.match(
      metrics,
      /sluice_otlp_exports_refused_total\{signal="traces",reason="too_large"\} 1/,
    );
    assert.match(
      metrics,
      /sluice_otlp_exports_refused_total\{signal="traces",reason="bad_body"\} 1/,
    );
    assert.equal(receiver.all.length, 0, "nothing reached the collector");
  } finally {
    await gw.close();
    await receiver.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the Vercel AI SDK's telemetry (@ai-sdk/otel; a provider called directly) arrives priced and redacted", async () => {
  const upstream = startUpstream();
  const receiver = startHttpSignalsReceiver();
  const dir = await Deno.makeTempDir();
  const gw = await gateway(receiver.url, dir);
  const provider = tracerProvider(
    new ProtoTraceExporter({
      url: `${gw.url}/v1/traces`,
      headers: { "x-sluice-api-key": APP_KEY },
    }),
  );
  try {
    const openai = createOpenAI({ baseURL: `${upstream.url}/v1`, apiKey: "sk-direct-provider" });
    await generateText({
      model: openai.chat("gpt-4o-mini"),
      prompt: `Write to ${EMAIL} about the refund.`,
      telemetry: { integrations: [new OpenTelemetry({ tracer: provider.getTracer("ai") })] },
    });
    await provider.forceFlush();
    const events = await jsonl(dir, (e) => e.some((x) => x.source === "otlp"));
    await until(() => spansOf(receiver.accepted).length >= 2, 10_000);
    const names = spansOf(receiver.accepted).map((s) => s.name);
    const chat = spansOf(receiver.accepted).find((s) =>
      attributesOf(s.attributes)["gen_ai.operation.name"] === "chat"
    );
    assert.ok(chat, names.join(", "));
    const wire = JSON.stringify(receiver.all.map((r) => r.request));
    assert.ok(!wire.includes(EMAIL) && wire.includes("[EMAIL]"), "the prompt's email is masked");
    const attrs = attributesOf(chat.attributes);
    assert.equal(attrs["sluice.provider"], "openai");
    assert.ok(Number(attrs["sluice.cost.usd"]) > 0, JSON.stringify(attrs));
    const otlpEvents = events.filter((e) => e.source === "otlp");
    assert.equal(
      otlpEvents.length,
      1,
      "one GenAI call: the chat span, not the agent span around it",
    );
    assert.equal(otlpEvents[0].model, "gpt-4o-mini");
    assert.ok(Number(otlpEvents[0].response_cost) > 0);
    assert.ok(!JSON.stringify(otlpEvents[0]).includes(EMAIL));
  } finally {
    await provider.shutdown();
    await gw.close();
    await receiver.close();
    await upstream.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("langfuse (OTLP transport) gets the app's spans redacted; its batch-API transport gets the GenAI span as an event", async () => {
  const langfuse = startLangfuseReceiver();
  const dir = await Deno.makeTempDir();
  const gw = await startGateway({
    keys: [{ key: APP_KEY, alias: "checkout-app" }],
    sinks: [
      {
        name: "lf-otel",
        use: "langfuse",
        config: { public_key: TEST_PUBLIC_KEY, secret_key: TEST_SECRET_KEY, host: langfuse.host },
        queue: { flush_interval_ms: 10 },
      },
      {
        name: "lf-batch",
        use: "langfuse",
        config: {
          public_key: TEST_PUBLIC_KEY,
          secret_key: TEST_SECRET_KEY,
          host: langfuse.host,
          transport: "ingestion",
        },
        queue: { flush_interval_ms: 10 },
      },
    ],
  });
  const provider = tracerProvider(
    new ProtoTraceExporter({
      url: `${gw.url}/v1/traces`,
      headers: { "x-sluice-api-key": APP_KEY },
    }),
  );
  try {
    provider.getTracer("app").startSpan("chat gpt-4o-mini", {
      kind: SpanKind.CLIENT,
      attributes: {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.usage.input_tokens": 10,
        "gen_ai.usage.output_tokens": 5,
        "gen_ai.input.messages": JSON.stringify([{
          role: "user",
          parts: [{ type: "text", content: `mail ${EMAIL}` }],
        }]),
      },
    }).end();
    await provider.forceFlush();
    await until(() =>
      langfuse.spans().some((s) => s.name === "chat gpt-4o-mini") &&
      langfuse.stored().some((e) => e.type === "generation-create"), 10_000);
    const span = langfuse.spans().find((s) => s.name === "chat gpt-4o-mini")!;
    assert.match(String(span.attributes["gen_ai.input.messages"]), /\[EMAIL\]/);
    assert.ok(Number(span.attributes["sluice.cost.usd"]) > 0);
    const generation = langfuse.stored().find((e) => e.type === "generation-create")!;
    assert.equal(generation.body.model, "gpt-4o-mini");
    const wire = langfuse.all.map((r) => new TextDecoder().decode(r.body)).join("\n");
    assert.ok(!wire.includes(EMAIL), "no email reached Langfuse");
    assert.deepEqual(langfuse.problems(), []);
  } finally {
    await provider.shutdown();
    await gw.close();
    await langfuse.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** A log side that answers every export with `answer` (and counts refusals). */
function stubLog(answer: "saturated" | "unavailable"): LogHost & { refused: string[] } {
  const refused: string[] = [];
  return {
    sinkNames: [],
    refused,
    submit() {},
    metrics: () => Promise.resolve(""),
    sinks: () => Promise.resolve([]),
    delivery: () => Promise.resolve([]),
    ingest: () => Promise.resolve(answer),
    ingestRefused: (_signal, reason) => void refused.push(reason),
    close: () => Promise.resolve(),
  };
}

Deno.test("a saturated log side answers 429 with Retry-After, a failed one 503: OTLP statuses, never a silent drop", async () => {
  for (const [state, status, code] of [["saturated", 429, 8], ["unavailable", 503, 14]] as const) {
    const log = stubLog(state);
    const gateway = gatewayOn(parseConfig({}), log);
    const res = await gateway.fetch(
      new Request("http://gateway/v1/traces", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      }),
    );
    assert.equal(res.status, status);
    assert.ok(Number(res.headers.get("retry-after")) >= 1);
    assert.equal((await res.json()).code, code);
    assert.deepEqual(log.refused, state === "saturated" ? ["saturated"] : []);
    await gateway.close();
  }
});

Deno.test("the log host refuses an export past 64 MiB of unanswered ones (not sent to the log side)", async () => {
  const channel = new MessageChannel();
  const posted: string[] = [];
  channel.port2.onmessage = (m) => posted.push(m.data.type); // a log side that never answers
  const host = new PortLogHost(channel.port1, []);
  const input = (mib: number) => ({
    signal: "traces" as const,
    encoding: "protobuf" as const,
    bytes: new Uint8Array(mib * 1024 * 1024),
    controls: DEFAULT_CONTROLS,
    caller: { tags: [], request: {} },
  });
  const first = host.ingest(input(40)); // pending: the log side has not answered
  assert.equal(await host.ingest(input(30)), "saturated");
  await until(() => posted.includes("ingest"), 5_000);
  assert.equal(posted.filter((t) => t === "ingest").length, 1, "the refused one was not sent");
  channel.port1.close();
  channel.port2.close();
  void first; // never answered: the port is gone
});

Deno.test("a key's own sink list applies to what it exports", async () => {
  const receiver = startHttpSignalsReceiver();
  const dir = await Deno.makeTempDir();
  const gw = await startGateway({
    keys: [
      { key: APP_KEY, alias: "all-sinks" },
      { key: "sk-otlp-jsonl-only-0001", alias: "jsonl-only", sinks: ["events"] },
    ],
    sinks: [
      {
        name: "collector",
        use: "otel",
        config: { endpoint: receiver.url, protocol: "http/protobuf" },
        queue: { flush_interval_ms: 10 },
      },
      { name: "events", use: "jsonl", config: { dir }, queue: { flush_interval_ms: 10 } },
    ],
  });
  const post = (key: string, name: string, spanId: string) =>
    fetch(`${gw.url}/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: JSON.stringify({
        resourceSpans: [{
          scopeSpans: [{
            spans: [{
              traceId: "5b8efff798038103d269b633813fc60c",
              spanId,
              name,
              attributes: [
                { key: "gen_ai.operation.name", value: { stringValue: "chat" } },
                { key: "gen_ai.request.model", value: { stringValue: "gpt-4o-mini" } },
              ],
            }],
          }],
        }],
      }),
    }).then((r) => r.text());
  try {
    await post("sk-otlp-jsonl-only-0001", "restricted", "eee19b7ec3c1b171");
    await post(APP_KEY, "open", "eee19b7ec3c1b172");
    const events = await jsonl(dir, (e) => e.filter((x) => x.source === "otlp").length === 2);
    assert.equal(events.filter((e) => e.source === "otlp").length, 2);
    await until(() => spansOf(receiver.accepted).some((s) => s.name === "open"), 10_000);
    assert.deepEqual(spansOf(receiver.all).map((s) => s.name), ["open"]);
  } finally {
    await gw.close();
    await receiver.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the SQLite store (the console's) keeps an app's spans beside the gateway's calls, GenAI calls once", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/sluice.db`;
  const gw = await startGateway({
    keys: [{ key: APP_KEY, alias: "checkout-app" }],
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [{ use: "sqlite", config: { path }, queue: { flush_interval_ms: 10 } }],
  });
  const provider = tracerProvider(
    new JsonTraceExporter({ url: `${gw.url}/v1/traces`, headers: { "x-sluice-api-key": APP_KEY } }),
  );
  try {
    const tracer = provider.getTracer("app");
    const agent = tracer.startSpan("invoke_agent support");
    const inAgent = trace.setSpan(context.active(), agent);
    tracer.startSpan("chat gpt-4o-mini", {
      kind: SpanKind.CLIENT,
      attributes: {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.usage.input_tokens": 1000,
        "gen_ai.usage.output_tokens": 200,
      },
    }, inAgent).end();
    const viaGateway = tracer.startSpan("chat mock-gpt", {
      kind: SpanKind.CLIENT,
      attributes: { "gen_ai.operation.name": "chat", "gen_ai.request.model": "mock-gpt" },
    }, inAgent);
    const ctx = viaGateway.spanContext();
    const client = new OpenAI({ apiKey: APP_KEY, baseURL: `${gw.url}/v1` });
    await client.chat.completions.create(
      { model: "mock-gpt", messages: [{ role: "user", content: "Hi" }] },
      { headers: { traceparent: `00-${ctx.traceId}-${ctx.spanId}-01` } },
    );
    viaGateway.end();
    agent.end();
    await provider.forceFlush();
    const traceId = agent.spanContext().traceId;
    const store = openStore(path, { readOnly: true });
    try {
      await until(() => store.traceSpans(traceId).length === 4, 10_000);
      const spans = store.traceSpans(traceId);
      // The agent span and the span around the proxied call (OTLP), the direct GenAI call (as a
      // call: once, not also as a span), and the gateway's own call.
      assert.deepEqual(
        spans.map((s) => `${s.source} ${s.name}`).sort(),
        [
          "call chat gpt-4o-mini",
          "call chat mock-gpt",
          "otlp chat mock-gpt",
          "otlp invoke_agent support",
        ],
      );
      const calls = store.listCalls({}).calls;
      assert.equal(
        calls.length,
        2,
        "the proxied call and the direct one; the span around the proxied call is not a call",
      );
      const direct = calls.find((c) => c.model_group === "gpt-4o-mini")!;
      assert.ok(Math.abs(Number(direct.cost) - 0.00027) < 1e-12, JSON.stringify(direct));
    } finally {
      store.close();
    }
  } finally {
    await provider.shutdown();
    await gw.close();
    await Deno.remove(dir, { recursive: true });
  }
});
