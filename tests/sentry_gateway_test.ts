/**
 * The sentry sink through a whole gateway: the real `openai` client causes
 * upstream failures (500, 429, timeout) and a loopback Sentry decodes every
 * envelope line by line, validating the envelope and item headers against
 * `fixtures/schemas/sentry-envelope-headers.schema.json` and the event
 * against `fixtures/schemas/sentry-event.schema.json`. Also: successes are
 * not sent, gateway errors are, Sentry's 429 is waited out, nothing secret
 * or removed reaches Sentry, and a Sentry outage loses nothing.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { Ajv } from "npm:ajv@8.17.1";
import { Ajv2020 } from "npm:ajv@8.17.1/dist/2020.js";
import addFormatsModule from "npm:ajv-formats@3.0.1";
import { startGateway } from "./fakes/gateway.ts";
import { startUpstream, type UpstreamHandler } from "./fakes/upstream.ts";
import {
  type ReceivedEnvelope,
  type SentryReceiver,
  startSentryReceiver,
  TEST_PUBLIC_KEY,
  until,
} from "../plugins/sentry/test_support.ts";
import sentryDenoJson from "../plugins/sentry/deno.json" with { type: "json" };
import coreDenoJson from "../core/deno.json" with { type: "json" };

// ---------------------------------------------------------------------------
// Schema validation of what is really sent

const addFormats = addFormatsModule as unknown as (ajv: unknown, formats?: string[]) => void;
const schemaDir = new URL("./fixtures/schemas/", import.meta.url);
const readSchema = async (name: string) =>
  JSON.parse(await Deno.readTextFile(new URL(name, schemaDir)));

// The envelope header schema is 2020-12 (only date-time checked, for sent_at).
const headersAjv = new Ajv2020({ strict: false, allErrors: true });
addFormats(headersAjv, ["date-time"]);
headersAjv.addSchema(await readSchema("sentry-envelope-headers.schema.json"));
const validEnvelopeHeader = headersAjv.compile({
  $ref: "urn:research:sentry:envelope-headers#/$defs/EventEnvelopeHeader",
});
const validItemHeader = headersAjv.compile({
  $ref: "urn:research:sentry:envelope-headers#/$defs/EventItemHeader",
});
// The event schema is draft-07; formats stay unchecked (Sentry's event ids are
// undashed UUIDs, which a uuid format check would reject; see the NOTES).
const eventAjv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
const validEvent = eventAjv.compile(await readSchema("sentry-event.schema.json"));

/** Throws unless the envelope is one event item whose headers and payload match the schemas. */
function checkAgainstSchemas(r: ReceivedEnvelope): void {
  const { header, items } = r.envelope;
  if (!validEnvelopeHeader(header)) {
    throw new Error(`envelope header: ${headersAjv.errorsText(validEnvelopeHeader.errors)}`);
  }
  if (items.length !== 1) throw new Error(`${items.length} items; one event item expected`);
  if (!validItemHeader(items[0].header)) {
    throw new Error(`item header: ${headersAjv.errorsText(validItemHeader.errors)}`);
  }
  if (!validEvent(r.event)) {
    throw new Error(`event: ${eventAjv.errorsText(validEvent.errors)}`);
  }
  if (r.event.event_id !== header.event_id) throw new Error("event_id differs from the header");
  if (!/^[0-9a-f]{32}$/.test(String(header.event_id))) throw new Error("event_id not 32 hex");
}

const receiver = (options: Parameters<typeof startSentryReceiver>[0] = {}): SentryReceiver =>
  startSentryReceiver({ check: checkAgainstSchemas, ...options });

// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;
const eventOf = (r: ReceivedEnvelope) => r.event as Json;
const byCallId = (rx: SentryReceiver) =>
  new Map(rx.accepted.map((r) => [eventOf(r).tags.call_id as string, eventOf(r)]));

const sentrySink = (rx: SentryReceiver, extra: Record<string, unknown> = {}) => ({
  use: "sentry",
  config: { dsn: rx.dsn, environment: "test", ...((extra.config as object) ?? {}) },
  queue: { flush_interval_ms: 10 },
  ...Object.fromEntries(Object.entries(extra).filter(([k]) => k !== "config")),
});

// ---------------------------------------------------------------------------

Deno.test("upstream 500, 429 and a timeout become Sentry error events with tags and fingerprints; successes are not sent", async () => {
  const upstreamHandler: UpstreamHandler = async (req, signal) => {
    const prompt = JSON.stringify(req.body?.messages);
    if (prompt.includes("boom")) {
      return Response.json({ error: { message: "the model crashed", type: "server_error" } }, {
        status: 500,
      });
    }
    if (prompt.includes("busy")) {
      return Response.json({
        error: {
          message: "Rate limit reached for requests",
          type: "requests",
          code: "rate_limit_exceeded",
        },
      }, { status: 429, headers: { "retry-after": "1" } });
    }
    if (prompt.includes("slow")) {
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, 3000);
        signal.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve(undefined);
        });
      });
    }
    return Response.json({
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1_700_000_000,
      model: req.body?.model,
      choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop" }],
      usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
    });
  };
  const upstream = startUpstream(upstreamHandler);
  const rx = receiver();
  const gw = await startGateway({
    models: [{
      name: "gpt-test",
      provider: "openai",
      model: "gpt-4o-mini",
      api_base: upstream.url,
      api_key: "sk-upstream-key-0001",
      timeout_s: 0.4,
      max_retries: 0,
    }],
    keys: [{ key: "sk-team-key-0001", alias: "app-a", team: "team-a", user: "alice" }],
    teams: [{ name: "team-a" }],
    sinks: [sentrySink(rx)],
  });
  const outcomes: Record<string, number> = {};
  try {
    const client = new OpenAI({
      apiKey: "sk-team-key-0001",
      baseURL: `${gw.url}/v1`,
      maxRetries: 0,
    });
    for (const word of ["boom", "busy", "slow", "fine"]) {
      try {
        await client.chat.completions.create(
          { model: "gpt-test", messages: [{ role: "user", content: `please ${word}` }] },
          { headers: { "x-sluice-call-id": `call-${word}` } },
        );
        outcomes[word] = 200;
      } catch (error) {
        assert.ok(error instanceof OpenAI.APIError, String(error));
        outcomes[word] = error.status ?? 0;
      }
    }
  } finally {
    await gw.close();
    await upstream.close();
    await rx.close();
  }
  assert.deepEqual(outcomes, { boom: 502, busy: 429, slow: 504, fine: 200 });
  assert.deepEqual(rx.problems, [], "every envelope decoded and matched the schemas");
  const events = byCallId(rx);
  assert.deepEqual([...events.keys()].sort(), ["call-boom", "call-busy", "call-slow"]);
  for (const r of rx.accepted) {
    assert.equal(r.auth?.version, "7");
    assert.equal(r.auth?.key, TEST_PUBLIC_KEY);
    assert.equal(r.auth?.client, `sluice-sentry/${sentryDenoJson.version}`);
    assert.equal(r.headers.get("content-type"), "application/x-sentry-envelope");
  }
  const expected: Record<string, [string, number, string]> = {
    "call-boom": ["UpstreamServerError", 502, "internal_error"],
    "call-busy": ["RateLimitError", 429, "resource_exhausted"],
    "call-slow": ["UpstreamTimeout", 504, "deadline_exceeded"],
  };
  for (const [callId, [errorClass, status, spanStatus]] of Object.entries(expected)) {
    const e = events.get(callId)!;
    assert.equal(e.level, "error");
    assert.equal(e.environment, "test");
    assert.equal(e.release, `sluice@${coreDenoJson.version}`);
    assert.equal(e.exception.values[0].type, errorClass, callId);
    assert.equal(typeof e.exception.values[0].value, "string");
    assert.deepEqual(e.fingerprint, ["gpt-test", errorClass, String(status)], callId);
    assert.equal(e.tags.model, "gpt-test");
    assert.equal(e.tags.upstream_model, "gpt-4o-mini");
    assert.equal(e.tags.provider, "openai");
    assert.equal(e.tags.key_alias, "app-a");
    assert.equal(e.tags.team, "team-a");
    assert.equal(e.tags.status_code, String(status));
    assert.equal(e.tags.call_id, callId);
    assert.match(e.tags.request_id, /^[0-9a-f-]{36}$/);
    assert.equal(e.event_id, e.tags.request_id.replace(/-/g, ""));
    assert.equal(e.contexts.trace.status, spanStatus);
    assert.match(e.contexts.trace.trace_id, /^[0-9a-f]{32}$/);
    assert.deepEqual(e.user, { id: "alice" });
    const [crumb] = e.breadcrumbs.values;
    assert.equal(crumb.data.status_code, status);
    assert.deepEqual(crumb.data.messages, [{
      role: "user",
      content: `please ${callId.slice(5)}`,
    }]);
  }
  assert.match(
    events.get("call-boom")!.exception.values[0].value,
    /returned 500: the model crashed/,
  );
  const raw = rx.received.map((r) => r.raw).join("\n");
  assert.ok(!raw.includes("sk-team-key-0001") && !raw.includes("sk-upstream-key-0001"));
});

Deno.test("gateway_error events reach Sentry: a plugin that fails to load and a sink's permanent failure", async () => {
  const rx = receiver();
  const hook = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => Response.json({ error: "malformed" }, { status: 400 }),
  );
  const dataDir = await Deno.makeTempDir();
  const gw = await startGateway({
    server: { data_dir: dataDir },
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [
      { name: "broken", use: "./does-not-exist.ts", optional: true },
      {
        name: "audit-hook",
        use: "webhook",
        config: { url: `http://127.0.0.1:${hook.addr.port}/in` },
        queue: { flush_interval_ms: 10 },
      },
      sentrySink(rx),
    ],
  });
  try {
    const client = new OpenAI({ apiKey: "k", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    await client.chat.completions.create({
      model: "mock-gpt",
      messages: [{ role: "user", content: "hello" }],
    });
    await until(() => rx.accepted.length >= 2, 10_000, "two gateway errors");
  } finally {
    await gw.close();
    await hook.shutdown();
    await rx.close();
    await Deno.remove(dataDir, { recursive: true });
  }
  assert.deepEqual(rx.problems, []);
  const events = rx.accepted.map(eventOf);
  assert.ok(events.every((e) => e.tags.call_type === "gateway_error"), "the success is not sent");
  const bySource = new Map(events.map((e) => [e.tags.source, e]));
  assert.deepEqual([...bySource.keys()].sort(), ["audit-hook", "broken"]);
  const load = bySource.get("broken")!;
  assert.match(load.exception.values[0].value, /does-not-exist\.ts/);
  assert.deepEqual(load.fingerprint.slice(0, 2), ["gateway_error", "broken"]);
  const drop = bySource.get("audit-hook")!;
  assert.match(drop.exception.values[0].value, /dropped 1 events|malformed|400/);
  assert.deepEqual(drop.fingerprint.slice(0, 2), ["gateway_error", "audit-hook"]);
  assert.equal(drop.tags.model, undefined);
  assert.equal(drop.level, "error");
});

Deno.test("no secrets and no removed messages in any body (messages: remove on the sentry sink)", async () => {
  const prompt = "my diary entry about the orchard and sk-live-unknown-0123456789abcdef";
  const upstream = startUpstream((req) =>
    Response.json({
      error: {
        message: `Invalid prompt: ${
          (req.body?.messages as { content: string }[])[0].content
        } (key ${req.headers.authorization})`,
        type: "invalid_request_error",
        code: "bad_prompt",
      },
    }, { status: 400 })
  );
  const rx = receiver();
  const gw = await startGateway({
    server: { master_key: "sk-master-key-0001" },
    models: [{
      name: "gpt-test",
      provider: "openai",
      api_base: upstream.url,
      api_key: "sk-upstream-key-ABCDEF",
      max_retries: 0,
    }],
    sinks: [sentrySink(rx, { redaction: { messages: "remove" } })],
  });
  try {
    const client = new OpenAI({
      apiKey: "sk-master-key-0001",
      baseURL: `${gw.url}/v1`,
      maxRetries: 0,
    });
    await assert.rejects(
      client.chat.completions.create({
        model: "gpt-test",
        messages: [{ role: "user", content: prompt }],
        ...({ metadata: { log_raw_request: true, session_id: "s-1" } } as object),
      }, { headers: { "x-sluice-call-id": "private-1" } }),
      (e: unknown) => e instanceof OpenAI.APIError && e.status === 400,
    );
  } finally {
    await gw.close();
    await upstream.close();
    await rx.close();
  }
  assert.deepEqual(rx.problems, []);
  assert.equal(rx.accepted.length, 1);
  const [got] = rx.accepted;
  const e = eventOf(got);
  assert.equal(e.tags.call_id, "private-1");
  assert.equal(e.exception.values[0].type, "BadRequestError");
  assert.equal(e.breadcrumbs.values[0].data.messages, undefined, "messages were removed");
  assert.equal(e.request.method, "POST");
  for (const name of Object.keys(e.request.headers)) {
    assert.ok(!/authorization|api-key|cookie/i.test(name), `header ${name} reached Sentry`);
  }
  const forbidden = [
    "diary",
    "orchard",
    "sk-live-unknown",
    "sk-master-key-0001",
    "sk-upstream-key-ABCDEF",
    "Bearer",
    TEST_PUBLIC_KEY, // the DSN's key travels in X-Sentry-Auth only
    rx.dsn,
  ];
  for (const r of rx.received) {
    for (const text of forbidden) assert.ok(!r.raw.includes(text), `"${text}" in ${r.raw}`);
  }
});

Deno.test("Sentry's 429 with Retry-After: the gateway waits, then delivers", async () => {
  let first = true;
  const rx = receiver({
    answer: () => {
      if (!first) return undefined;
      first = false;
      return new Response("{}", {
        status: 429,
        headers: { "retry-after": "1", "x-sentry-rate-limits": "1:error:key" },
      });
    },
  });
  const gw = await startGateway({
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [sentrySink(rx)],
  });
  try {
    const client = new OpenAI({ apiKey: "k", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    await assert.rejects(
      client.chat.completions.create(
        { model: "nope", messages: [{ role: "user", content: "x" }] },
        {
          headers: { "x-sluice-call-id": "limited-1" },
        },
      ),
    );
    await until(() => rx.accepted.length === 1, 15_000, "the retried envelope");
  } finally {
    await gw.close();
    await rx.close();
  }
  assert.deepEqual(rx.problems, []);
  assert.equal(rx.received.length, 2, "one 429, one accepted: nothing sent while limited");
  const waited = rx.received[1].at - rx.received[0].at;
  assert.ok(waited >= 900, `retried after ${waited} ms`);
  assert.equal(eventOf(rx.accepted[0]).tags.call_id, "limited-1");
  assert.equal(rx.received[0].envelope.header.event_id, rx.received[1].envelope.header.event_id);
});

Deno.test("Sentry down (503, then refusing connections) and back: every failure arrives once", async () => {
  const N = 400;
  let rx = receiver({ answer: () => new Response("down", { status: 503 }) });
  const port = rx.port;
  const dataDir = await Deno.makeTempDir();
  const gw = await startGateway({
    server: { data_dir: dataDir },
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [{
      use: "sentry",
      config: { dsn: rx.dsn, timeout_ms: 2000 },
      queue: { batch_size: 50, flush_interval_ms: 20, max_queue: 100 },
    }],
  });
  const ids = Array.from({ length: N }, (_, i) => `down-${i}`);
  const call = async (id: string) => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-sluice-call-id": id },
      body: JSON.stringify({ model: "missing-model", messages: [{ role: "user", content: id }] }),
    });
    await res.body?.cancel();
    return res.status;
  };
  try {
    const statuses: number[] = [];
    for (let i = 0; i < N / 2; i += 20) {
      statuses.push(...await Promise.all(ids.slice(i, i + 20).map(call)));
    }
    await until(() => rx.received.length > 0, 10_000, "a refused delivery");
    await rx.close(); // now connections are refused
    for (let i = N / 2; i < N; i += 20) {
      statuses.push(...await Promise.all(ids.slice(i, i + 20).map(call)));
    }
    assert.deepEqual([...new Set(statuses)], [404], "the calls themselves are unaffected");
    rx = receiver({ port });
    await until(() => byCallId(rx).size >= N, 120_000, "every event after recovery");
  } finally {
    await gw.close();
    await rx.close();
    await Deno.remove(dataDir, { recursive: true });
  }
  assert.deepEqual(rx.problems, []);
  assert.deepEqual([...byCallId(rx).keys()].sort(), [...ids].sort());
  const eventIds = rx.accepted.map((r) => r.envelope.header.event_id);
  assert.equal(new Set(eventIds).size, eventIds.length, "no envelope delivered twice");
  assert.ok(rx.accepted.every((r) => eventOf(r).exception.values[0].type === "NotFoundError"));
});
