import assert from "node:assert/strict";
import sentryPlugin, {
  createSentrySink,
  envelopeEndpoint,
  eventIdFor,
  fingerprintOf,
  parseDsn,
  sampleScore,
  scrubValue,
  SENTRY_CLIENT,
  sentryAuthHeader,
  sentryConfigSchema,
  spanStatusOf,
  toSentryEvent,
} from "./mod.ts";
import {
  assertConformance,
  checkHttpSinkConformance,
  createTestContext,
  HTTP_SINK_CHECKS,
  resolvePermissions,
  sampleEvent,
  sampleFailureEvent,
  sampleGatewayErrorEvent,
} from "@sluice/core/testing";
import type { LogEvent, SinkError } from "@sluice/core/plugin";
import denoJson from "./deno.json" with { type: "json" };
import {
  parseEnvelopeBody,
  type ReceivedEnvelope,
  startSentryReceiver,
  TEST_PUBLIC_KEY,
} from "./test_support.ts";

const ctxFor = (env: Record<string, string> = {}) =>
  createTestContext({
    env,
    permissions: sentryPlugin.permissions,
    gatewayVersion: "9.8.7",
    instanceName: "sentry",
  });

async function rejection(promise: Promise<unknown> | unknown): Promise<SinkError> {
  try {
    await promise;
  } catch (error) {
    return error as SinkError;
  }
  throw new Error("log resolved; expected a rejection");
}

// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;
const eventOf = (r: ReceivedEnvelope) => r.event as Json;

Deno.test("passes the HTTP sink conformance kit with failure events", async () => {
  const report = await checkHttpSinkConformance(sentryPlugin, {
    config: (url) => {
      const u = new URL(url);
      return {
        dsn: `http://${TEST_PUBLIC_KEY}@${u.host}${u.pathname}/77`,
        timeout_ms: 2000,
      };
    },
    events: (n) => Array.from({ length: n }, () => sampleFailureEvent()),
    eventsIn: (req) => {
      assert.equal(req.method, "POST");
      assert.match(req.url, /\/sluice-conformance\/api\/77\/envelope\/$/);
      const envelope = parseEnvelopeBody(req.body);
      return envelope.items.map((item) => JSON.parse(item.text).extra.request_id as string);
    },
    batchSize: 4,
  });
  assertConformance(report);
  assert.equal(report.checks.length, Object.keys(HTTP_SINK_CHECKS).length);
});

Deno.test("parseDsn reads every part; errors never repeat the DSN", () => {
  const dsn = parseDsn("https://e12d836b15bb49d7bbf99e64295d995b@o123.ingest.sentry.io/42");
  assert.deepEqual(dsn, {
    protocol: "https",
    publicKey: "e12d836b15bb49d7bbf99e64295d995b",
    secretKey: "",
    host: "o123.ingest.sentry.io",
    port: "",
    path: "",
    projectId: "42",
  });
  assert.equal(envelopeEndpoint(dsn), "https://o123.ingest.sentry.io/api/42/envelope/");
  const self = parseDsn("http://pub:sec@sentry.internal:9000/prefix/sub/7");
  assert.equal(envelopeEndpoint(self), "http://sentry.internal:9000/prefix/sub/api/7/envelope/");
  assert.equal(
    sentryAuthHeader(self, "sluice-sentry/1.0.0"),
    "Sentry sentry_version=7, sentry_key=pub, sentry_client=sluice-sentry/1.0.0, sentry_secret=sec",
  );
  assert.equal(
    sentryAuthHeader(dsn, SENTRY_CLIENT),
    `Sentry sentry_version=7, sentry_key=e12d836b15bb49d7bbf99e64295d995b, sentry_client=sluice-sentry/${denoJson.version}`,
  );
  const bad: [string, RegExp][] = [
    ["", /empty/],
    ["not a dsn s3cretpart", /not a URL/],
    ["ftp://s3cretpart@h/1", /http or https/],
    ["https://o1.ingest.sentry.io/1?s3cretpart", /no public key/],
    ["https://s3cretpart@o1.ingest.sentry.io/", /numeric project id/],
    ["https://s3cretpart@o1.ingest.sentry.io/project", /numeric project id/],
  ];
  for (const [text, message] of bad) {
    assert.throws(() => parseDsn(text), (e: Error) => {
      assert.match(e.message, message);
      assert.ok(!e.message.includes("s3cretpart"), e.message);
      return true;
    });
  }
});

Deno.test("one envelope per failure: headers, framing, auth, and the event's fields", async () => {
  const rx = startSentryReceiver();
  try {
    const sink = createSentrySink({ dsn: rx.dsn, environment: "staging" }, ctxFor());
    const failure = sampleFailureEvent({
      call_id: "client-call-7",
      parent_span_id: "00f067aa0ba902b7",
      metadata: {
        user_api_key_alias: "app-a",
        user_api_key_team: "team-a",
        user_api_key_user_id: "alice",
        user_api_key_hash: "ab".repeat(32),
        end_user: "end-user-9",
        requester_ip: "10.1.2.3",
        tags: ["beta"],
        request: { session_id: "s-1" },
      },
    });
    const before = Date.now();
    await sink.log([failure]);
    assert.deepEqual(rx.problems, []);
    assert.equal(rx.accepted.length, 1);
    const [got] = rx.accepted;
    assert.equal(got.headers.get("content-type"), "application/x-sentry-envelope");
    assert.equal(got.headers.get("user-agent"), SENTRY_CLIENT);
    assert.deepEqual(got.auth?.all, {
      sentry_version: "7",
      sentry_key: TEST_PUBLIC_KEY,
      sentry_client: SENTRY_CLIENT,
    });
    const lines = got.raw.split("\n");
    assert.equal(lines.length, 3, "envelope header, item header, payload");
    const { header, items } = got.envelope;
    const eventId = failure.request_id.replace(/-/g, "");
    assert.equal(header.event_id, eventId);
    assert.ok(Date.parse(header.sent_at as string) >= before - 1000);
    assert.match(header.sent_at as string, /Z$/);
    assert.deepEqual(header.sdk, { name: "sluice-sentry", version: denoJson.version });
    assert.equal(header.dsn, undefined, "the DSN is not repeated in the body");
    assert.deepEqual(items[0].header, {
      type: "event",
      length: new TextEncoder().encode(lines[2]).length,
    });

    const e = eventOf(got);
    assert.equal(e.event_id, eventId);
    assert.equal(e.level, "error");
    assert.equal(e.platform, "other");
    assert.equal(e.environment, "staging");
    assert.equal(e.release, "sluice@9.8.7");
    assert.equal(e.timestamp, failure.end_time / 1000);
    assert.equal(e.transaction, "chat gpt-4o-mini");
    assert.deepEqual(e.exception.values, [{
      type: "RateLimitError",
      value: "Rate limit reached for gpt-4o-mini; try again in 2s.",
      module: "openai",
      mechanism: {
        type: "sluice.upstream",
        handled: true,
        data: { status_code: 429, code: "rate_limit_exceeded" },
      },
    }]);
    assert.deepEqual(e.fingerprint, ["gpt-4o-mini", "RateLimitError", "429"]);
    assert.deepEqual(e.tags, {
      model: "gpt-4o-mini",
      upstream_model: "gpt-4o-mini-2024-07-18",
      model_id: "3f2a9c1e",
      provider: "openai",
      key_alias: "app-a",
      team: "team-a",
      status_code: "429",
      error_code: "rate_limit_exceeded",
      call_id: "client-call-7",
      request_id: failure.request_id,
      call_type: "chat",
      stream: "false",
    });
    assert.deepEqual(e.contexts.trace, {
      type: "trace",
      trace_id: failure.trace_id,
      span_id: failure.span_id,
      parent_span_id: "00f067aa0ba902b7",
      op: "gen_ai.chat",
      status: "resource_exhausted",
      origin: "auto.sluice",
    });
    assert.equal(e.contexts.llm.prompt_tokens, failure.prompt_tokens);
    assert.deepEqual(e.contexts.llm.model_parameters, { temperature: 0.2, max_tokens: 256 });
    assert.deepEqual(e.contexts.response, { type: "response", status_code: 429 });
    assert.deepEqual(e.user, { id: "alice" });
    const [crumb] = e.breadcrumbs.values;
    assert.equal(crumb.type, "http");
    assert.equal(crumb.category, "llm.call");
    assert.equal(crumb.level, "error");
    assert.equal(crumb.timestamp, failure.start_time / 1000);
    assert.equal(crumb.message, "chat gpt-4o-mini via openai: 429 RateLimitError");
    assert.equal(crumb.data.status_code, 429);
    assert.equal(crumb.data.url, "https://api.openai.com/v1");
    assert.deepEqual(crumb.data.messages, failure.messages);
    assert.deepEqual(e.extra.request_tags, ["beta"]);
    assert.deepEqual(e.extra.request_metadata, { session_id: "s-1" });
    // no PII beyond the key's user id, no key hash
    for (const absent of ["10.1.2.3", "end-user-9", "ab".repeat(32)]) {
      assert.ok(!got.raw.includes(absent), absent);
    }
  } finally {
    await rx.close();
  }
});

Deno.test("removed messages stay removed: no messages in the breadcrumb", async () => {
  const event = await toSentryEvent(
    sampleFailureEvent({ messages: "[REDACTED]", response: "[REDACTED]" }),
    { environment: "e", release: "r", sdk: { name: "n", version: "v" } },
  );
  assert.equal(event.breadcrumbs.values[0].data.messages, undefined);
  assert.ok(!JSON.stringify(event).includes("[REDACTED]"));
  const none = await toSentryEvent(sampleFailureEvent({ messages: undefined }), {
    environment: "e",
    release: "r",
    sdk: { name: "n", version: "v" },
  });
  assert.equal(none.breadcrumbs.values[0].data.messages, undefined);
});

Deno.test("gateway errors: sent at any sample rate, grouped by source, class and status", async () => {
  const rx = startSentryReceiver();
  try {
    const sink = createSentrySink({ dsn: rx.dsn, sample_rate: 0 }, ctxFor());
    const gwError = sampleGatewayErrorEvent({ source: "audit-webhook" });
    await sink.log([gwError, sampleFailureEvent()]);
    assert.equal(rx.accepted.length, 1, "the failure is sampled out, the gateway error is not");
    const e = eventOf(rx.accepted[0]);
    assert.equal(e.transaction, "gateway_error audit-webhook");
    assert.deepEqual(e.fingerprint, ["gateway_error", "audit-webhook", "SinkError", "500"]);
    assert.equal(e.exception.values[0].type, "SinkError");
    assert.equal(e.exception.values[0].mechanism.type, "sluice.gateway");
    assert.equal(e.tags.source, "audit-webhook");
    assert.equal(e.tags.call_type, "gateway_error");
    assert.equal(e.tags.model, undefined);
    assert.equal(e.contexts.llm, undefined);
    assert.equal(e.contexts.trace.op, "sluice.gateway");
    assert.equal(e.breadcrumbs.values[0].category, "sluice.gateway");
  } finally {
    await rx.close();
  }
});

Deno.test("successful calls are not sent (one warning), unless include_success", async () => {
  const rx = startSentryReceiver();
  try {
    const ctx = ctxFor();
    const sink = createSentrySink({ dsn: rx.dsn }, ctx);
    await sink.log([sampleEvent(), sampleEvent()]);
    await sink.log([sampleEvent()]);
    assert.equal(rx.received.length, 0);
    const warnings = ctx.logs.filter((l) => l.level === "warn");
    assert.equal(warnings.length, 1);
    assert.match(warnings[0].message, /skipped 2 successful call\(s\).*include_success/);

    const loud = createSentrySink({ dsn: rx.dsn, include_success: true }, ctxFor());
    const ok = sampleEvent();
    await loud.log([ok]);
    assert.equal(rx.accepted.length, 1);
    const e = eventOf(rx.accepted[0]);
    assert.equal(e.level, "info");
    assert.equal(e.exception, undefined);
    assert.deepEqual(e.logentry, { formatted: "chat gpt-4o-mini succeeded" });
    assert.deepEqual(e.fingerprint, ["gpt-4o-mini", "chat", "success"]);
    assert.equal(e.tags.status_code, undefined);
    assert.equal(e.contexts.trace.status, "ok");
  } finally {
    await rx.close();
  }
});

Deno.test("sample_rate 0.25 over 2,000 failures sends 500 ± 90 (4.6 sigma), deterministically per event", async () => {
  // Binomial(2000, 0.25): mean 500, sd 19.4; ±90 fails by chance with p < 1e-5.
  const rx = startSentryReceiver();
  try {
    const sink = createSentrySink({ dsn: rx.dsn, sample_rate: 0.25, concurrency: 16 }, ctxFor());
    const events = Array.from({ length: 2000 }, () => sampleFailureEvent());
    for (let i = 0; i < events.length; i += 100) await sink.log(events.slice(i, i + 100));
    const sent = rx.accepted.length;
    assert.ok(Math.abs(sent - 500) <= 90, `${sent} of 2000 sent`);
    // The decision is a function of request_id: the same events through a
    // fresh sink are sampled identically.
    const expected = new Set<string>();
    for (const e of events) if (await sampleScore(e.request_id) < 0.25) expected.add(e.request_id);
    assert.deepEqual(
      new Set(rx.accepted.map((r) => eventOf(r).extra.request_id)),
      expected,
    );
  } finally {
    await rx.close();
  }
  // The scores themselves are uniform: deciles of 20,000 random ids.
  const deciles = new Array(10).fill(0);
  for (let i = 0; i < 20_000; i++) {
    deciles[Math.floor(await sampleScore(crypto.randomUUID()) * 10)]++;
  }
  for (const count of deciles) assert.ok(Math.abs(count - 2000) < 250, `deciles ${deciles}`);
});

Deno.test("SENTRY_* variables: DSN, environment, release, sample and trace rates; config wins", async () => {
  const rx = startSentryReceiver();
  try {
    const ctx = ctxFor({
      SENTRY_DSN: rx.dsn,
      SENTRY_ENVIRONMENT: "from-env",
      SENTRY_RELEASE: "gw@1",
      SENTRY_API_SAMPLE_RATE: "1",
      SENTRY_API_TRACE_RATE: "0.1",
    });
    const sink = createSentrySink({}, ctx);
    await sink.log([sampleFailureEvent()]);
    const e = eventOf(rx.accepted[0]);
    assert.equal(e.environment, "from-env");
    assert.equal(e.release, "gw@1");
    assert.ok(
      ctx.logs.some((l) => l.level === "info" && /trace_rate 0\.1 accepted/.test(l.message)),
    );
    assert.ok(!ctx.logs.some((l) => l.level === "warn"), "every variable read is declared");

    const quiet = createSentrySink(
      { environment: "from-config", sample_rate: 0 },
      ctxFor({ SENTRY_DSN: rx.dsn, SENTRY_ENVIRONMENT: "from-env" }),
    );
    await quiet.log([sampleFailureEvent()]);
    assert.equal(rx.accepted.length, 1, "config sample_rate 0 wins over the default");
    const defaults = createSentrySink({ dsn: rx.dsn }, ctxFor());
    await defaults.log([sampleFailureEvent()]);
    assert.equal(eventOf(rx.accepted[1]).environment, "production");
    assert.equal(eventOf(rx.accepted[1]).release, "sluice@9.8.7");
  } finally {
    await rx.close();
  }
  assert.throws(() => createSentrySink({}, ctxFor()), /no DSN: set config\.dsn .* or SENTRY_DSN/);
  assert.throws(
    () =>
      createSentrySink({}, ctxFor({ SENTRY_DSN: "http://k@h/1", SENTRY_API_SAMPLE_RATE: "lots" })),
    /SENTRY_API_SAMPLE_RATE must be a number from 0 to 1; got "lots"/,
  );
  assert.throws(
    () => createSentrySink({ dsn: "http://k@h/1", trace_rate: 2 }, ctxFor()),
    /sentry: invalid config: config\.trace_rate: must be a number from 0 to 1/,
  );
  assert.throws(
    () => createSentrySink({ dsn: "http://k@h/1", tags: { "bad key": "x" } }, ctxFor()),
    /config\.tags\["bad key"\]: tag keys are 1-32 letters/,
  );
  assert.throws(
    () => createSentrySink({ dsn: "http://k@h/1", concurrency: 65, timeout_ms: 0 }, ctxFor()),
    /config\.timeout_ms: Too small.*; config\.concurrency: Too big/,
  );
});

Deno.test("429: Retry-After, X-Sentry-Rate-Limits (error category, all categories), 60 s default", async () => {
  let script: (() => Response) | undefined;
  const rx = startSentryReceiver({ answer: () => script?.() });
  try {
    const cases: [Record<string, string>, number][] = [
      [{ "retry-after": "2" }, 2000],
      [{ "x-sentry-rate-limits": "3:error;transaction:organization:quota_exceeded" }, 3000],
      [{ "x-sentry-rate-limits": "4::organization", "retry-after": "9" }, 4000],
      [{ "x-sentry-rate-limits": "30:transaction:key", "retry-after": "1" }, 1000],
      [{}, 60_000],
    ];
    for (const [headers, wait] of cases) {
      // a fresh sink each time: an X-Sentry-Rate-Limits answer pauses the sink that got it
      const sink = createSentrySink({ dsn: rx.dsn }, ctxFor());
      script = () => new Response("{}", { status: 429, headers });
      const error = await rejection(sink.log([sampleFailureEvent()]));
      assert.notEqual(error.permanent, true);
      assert.ok(
        typeof error.retryAfterMs === "number" && Math.abs(error.retryAfterMs - wait) < 200,
        `${JSON.stringify(headers)}: retryAfterMs ${error.retryAfterMs}, expected ${wait}`,
      );
      assert.match(error.message, /answered 429 Too Many Requests: rate limited/);
    }
  } finally {
    await rx.close();
  }
});

Deno.test("a rate limit announced by X-Sentry-Rate-Limits pauses sending until it expires", async () => {
  let limit = "1:error:key";
  const rx = startSentryReceiver({
    answer: (r) =>
      limit
        ? Response.json({ id: r.envelope.header.event_id }, {
          headers: { "x-sentry-rate-limits": limit },
        })
        : undefined,
  });
  try {
    const sink = createSentrySink({ dsn: rx.dsn }, ctxFor());
    await sink.log([sampleFailureEvent()]); // accepted, with a 1 s limit for errors
    limit = "";
    const paused = sampleFailureEvent();
    const error = await rejection(sink.log([paused]));
    assert.equal(rx.received.length, 1, "nothing sent while paused");
    assert.ok(error.retryAfterMs! > 0 && error.retryAfterMs! <= 1000, `${error.retryAfterMs}`);
    assert.match(error.message, /paused error events/);
    await new Promise((r) => setTimeout(r, error.retryAfterMs! + 20));
    await sink.log([paused]);
    assert.equal(rx.accepted.length, 2);
    assert.equal(eventOf(rx.accepted[1]).extra.request_id, paused.request_id);
  } finally {
    await rx.close();
  }
});

Deno.test("partial failures: a retried batch sends only what was not delivered; 400 is permanent", async () => {
  let failFor = "";
  let status = 503;
  const rx = startSentryReceiver({
    answer: (r) =>
      eventOf(r).extra.request_id === failFor ? new Response("{}", { status }) : undefined,
  });
  try {
    const sink = createSentrySink({ dsn: rx.dsn, concurrency: 1 }, ctxFor());
    const batch = [sampleFailureEvent(), sampleFailureEvent(), sampleFailureEvent()];
    failFor = batch[1].request_id;
    const error = await rejection(sink.log(batch));
    assert.notEqual(error.permanent, true);
    assert.match(error.message, /answered 503 .*\(1 of 3 sent\)/);
    assert.equal(rx.accepted.length, 1, "the batch stops at the first retryable failure");
    failFor = "";
    await sink.log(batch);
    const ids = rx.accepted.map((r) => eventOf(r).extra.request_id);
    assert.deepEqual(ids, batch.map((e) => e.request_id), "each event delivered once");

    status = 400;
    const next = [sampleFailureEvent(), sampleFailureEvent(), sampleFailureEvent()];
    failFor = next[0].request_id;
    const refused = await rejection(sink.log(next));
    assert.equal(refused.permanent, true);
    assert.match(refused.message, /answered 400 Bad Request: Sentry refused the event: 1 of 3/);
    assert.equal(rx.accepted.length, 5, "the other two were delivered");
  } finally {
    await rx.close();
  }
});

Deno.test("Sentry-side scrubbing: credentials in raw_request headers, metadata and text", async () => {
  const failure = sampleFailureEvent({
    raw_request: {
      url: "https://api.openai.com/v1/chat/completions?api-key=q-s3cret",
      headers: {
        Authorization: "Bearer tok-s3cret-123456",
        Cookie: "session=c-s3cret",
        "x-api-key": "xk-s3cret",
        "api-key": "ak-s3cret",
        "content-type": "application/json",
      },
      body: { model: "gpt-4o-mini" },
    },
    metadata: {
      tags: [],
      request: { api_key: "m-s3cret", trace_user_id: "u1", nested: { password: "p-s3cret" } },
    },
    messages: [{
      role: "user",
      content: "use sk-proj-abcdefghijklmnop1234 with Bearer zz-s3cret-token",
    }],
    error: {
      status: 401,
      code: "invalid_api_key",
      class: "AuthenticationError",
      message: "Incorrect API key provided: sk-abcdefghijklmnopqrstu",
      provider: "openai",
    },
  });
  const event = await toSentryEvent(failure, {
    environment: "e",
    release: "r",
    sdk: { name: "n", version: "v" },
  });
  const text = JSON.stringify(event);
  assert.ok(!/s3cret|sk-proj-abc|sk-abcdef/.test(text), text);
  assert.deepEqual(event.request, {
    url: "https://api.openai.com/v1/chat/completions",
    method: "POST",
    headers: {
      Authorization: "[Filtered]",
      Cookie: "[Filtered]",
      "x-api-key": "[Filtered]",
      "api-key": "[Filtered]",
      "content-type": "application/json",
    },
  });
  assert.deepEqual(event.extra.request_metadata, {
    api_key: "[Filtered]",
    trace_user_id: "u1",
    nested: { password: "[Filtered]" },
  });
  assert.equal(event.exception?.values[0].value, "Incorrect API key provided: [Filtered]");
  assert.deepEqual(event.contexts.llm.total_tokens, failure.total_tokens, "token counts stay");
  assert.deepEqual(scrubValue({ prompt_tokens: 3, set_cookie: "x", "X-Sentry-Auth": "y" }), {
    prompt_tokens: 3,
    set_cookie: "[Filtered]",
    "X-Sentry-Auth": "[Filtered]",
  });
});

Deno.test("sizes: tags are one line of at most 200 characters; huge messages are cut", async () => {
  const event = await toSentryEvent(
    sampleFailureEvent({
      call_id: "x".repeat(128),
      metadata: { tags: [], request: {}, user_api_key_alias: `a\nb${"c".repeat(300)}` },
      messages: [{ role: "user", content: "y".repeat(2_000_000) }],
      error: {
        status: 500,
        code: "upstream_error",
        class: "UpstreamServerError",
        message: "z".repeat(20_000),
      },
    }),
    { environment: "e", release: "r", sdk: { name: "n", version: "v" } },
  );
  assert.equal(event.tags.key_alias.length, 200);
  assert.ok(!event.tags.key_alias.includes("\n"));
  assert.equal(event.exception!.values[0].value.length, 8192);
  assert.ok(JSON.stringify(event).length < 100_000);
  assert.match(String(event.breadcrumbs.values[0].data.messages), /truncated/);
});

Deno.test("helpers: event ids, span statuses, fingerprints", async () => {
  assert.equal(
    await eventIdFor("9EC79C33-EC99-42AB-8353-589FCB2E04DC"),
    "9ec79c33ec9942ab8353589fcb2e04dc",
  );
  const hashed = await eventIdFor("loss-17");
  assert.match(hashed, /^[0-9a-f]{32}$/);
  assert.equal(hashed, await eventIdFor("loss-17"));
  assert.deepEqual(
    [400, 401, 403, 404, 413, 429, 500, 502, 503, 504, 200].map(spanStatusOf),
    [
      "invalid_argument",
      "unauthenticated",
      "permission_denied",
      "not_found",
      "failed_precondition",
      "resource_exhausted",
      "internal_error",
      "internal_error",
      "unavailable",
      "deadline_exceeded",
      "ok",
    ],
  );
  const a = sampleFailureEvent();
  const b = sampleFailureEvent({
    error: { ...a.error!, message: "Rate limit reached; try again in 9s." },
  });
  assert.deepEqual(fingerprintOf(a), fingerprintOf(b), "the message does not split issues");
});

Deno.test("the plugin definition: contract v1, failures by default, env declared, schema", () => {
  assert.equal(sentryPlugin.apiVersion, 1);
  assert.equal(sentryPlugin.name, "sentry");
  assert.equal(sentryPlugin.version, denoJson.version);
  assert.deepEqual(sentryPlugin.defaultOn, ["failure", "gateway_error"]);
  const dsn = "https://e12d836b15bb49d7bbf99e64295d995b@o1.ingest.sentry.io/42";
  assert.deepEqual(resolvePermissions(sentryPlugin, { dsn }).net, ["o1.ingest.sentry.io"]);
  assert.deepEqual(resolvePermissions(sentryPlugin, {}, { SENTRY_DSN: dsn }).net, [
    "o1.ingest.sentry.io",
  ]);
  assert.deepEqual(resolvePermissions(sentryPlugin, {}).env, [
    "SENTRY_DSN",
    "SENTRY_ENVIRONMENT",
    "SENTRY_RELEASE",
    "SENTRY_API_SAMPLE_RATE",
    "SENTRY_API_TRACE_RATE",
  ]);
  assert.equal(sentryPlugin.configSchema, sentryConfigSchema);
  assert.doesNotThrow(() => structuredClone(sentryConfigSchema));
  assert.equal(sentryConfigSchema.additionalProperties, false);
});

Deno.test("no global Sentry state: nothing installed on globalThis", async () => {
  const rx = startSentryReceiver();
  try {
    const sink = createSentrySink({ dsn: rx.dsn }, ctxFor());
    await sink.log([sampleFailureEvent(), sampleGatewayErrorEvent()] as LogEvent[]);
    assert.equal(rx.accepted.length, 2);
  } finally {
    await rx.close();
  }
  assert.equal((globalThis as Record<string, unknown>).__SENTRY__, undefined);
});

Deno.test("failures of responses and messages calls: reported like chat, op gen_ai.chat, their own parameters", async () => {
  const { Ajv } = await import("npm:ajv@8.17.1");
  const schema = JSON.parse(
    await Deno.readTextFile(
      new URL("../../tests/fixtures/schemas/sentry-event.schema.json", import.meta.url),
    ),
  );
  const validate = new Ajv({ strict: false, allErrors: true, validateFormats: false })
    .compile(schema);
  const rx = startSentryReceiver();
  try {
    const sink = createSentrySink({ dsn: rx.dsn, environment: "staging" }, ctxFor());
    const responses = sampleFailureEvent({
      call_type: "responses",
      model_parameters: { max_output_tokens: 64 },
    });
    const messages = sampleFailureEvent({
      call_type: "messages",
      model_parameters: { max_tokens: 200 },
    });
    await sink.log([responses, messages]);
    assert.deepEqual(rx.problems, []);
    assert.equal(rx.accepted.length, 2);
    const got = rx.accepted.map(eventOf);
    for (const [i, event] of [responses, messages].entries()) {
      const e = got.find((g) => g.tags.request_id === event.request_id)!;
      assert.ok(validate(e), JSON.stringify(validate.errors));
      assert.equal(e.tags.call_type, event.call_type);
      assert.equal(e.contexts.trace.op, "gen_ai.chat");
      assert.equal(e.contexts.llm.call_type, event.call_type);
      assert.equal(e.exception.values[0].type, "RateLimitError");
      assert.deepEqual(e.fingerprint, ["gpt-4o-mini", "RateLimitError", "429"]);
      assert.ok(Array.isArray(e.breadcrumbs.values[0].data.messages), "the messages, as for chat");
      assert.deepEqual(
        e.contexts.llm.model_parameters,
        i === 0 ? { max_output_tokens: 64 } : { max_tokens: 200 },
      );
    }
  } finally {
    await rx.close();
  }
});
