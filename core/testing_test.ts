/**
 * The conformance kit itself: sample events, the test context, and
 * checkHttpSinkConformance against a correct plugin and deliberately broken
 * ones (so the kit cannot pass everything blindly).
 */
import assert from "node:assert/strict";
import {
  assertConformance,
  checkHttpSinkConformance,
  type ConformanceReport,
  createTestContext,
  HTTP_SINK_CHECKS,
  type ReceivedRequest,
  sampleEvent,
  sampleEvents,
  sampleFailureEvent,
  sampleGatewayErrorEvent,
} from "./testing.ts";
import type { LogEvent, PluginDefinition } from "./plugin.ts";

interface Behaviour {
  /** Marks these statuses permanent. */
  permanent: number[];
  /** Reads Retry-After. */
  retryAfter: boolean;
  /** Mutates nothing, sends everything (false: sends only the first event). */
  sendAll: boolean;
}

const CORRECT: Behaviour = { permanent: [400, 413, 422], retryAfter: true, sendAll: true };

/** A small HTTP sink whose mistakes are chosen by `behaviour`. */
function httpPlugin(behaviour: Behaviour): PluginDefinition<{ url: string }> {
  return {
    name: "inline-http",
    version: "0.0.1",
    apiVersion: 1,
    create: (config, ctx) => ({
      async log(events) {
        const batch = behaviour.sendAll ? events : events.slice(0, 1);
        const res = await ctx.fetch(config.url, { method: "POST", body: JSON.stringify(batch) });
        await res.body?.cancel();
        if (res.ok) return;
        const seconds = Number(res.headers.get("retry-after") ?? "1");
        throw Object.assign(new Error(`answered ${res.status}`), {
          permanent: behaviour.permanent.includes(res.status),
          retryAfterMs: res.status === 429 && behaviour.retryAfter ? seconds * 1000 : undefined,
        });
      },
      close() {},
    }),
  };
}

const eventsIn = (req: ReceivedRequest): string[] =>
  (JSON.parse(new TextDecoder().decode(req.body)) as LogEvent[]).map((e) => e.request_id);

const failedChecks = (report: ConformanceReport) =>
  report.checks.filter((c) => !c.ok).map((c) => c.name);

Deno.test("a correct HTTP sink passes every check", async () => {
  const report = await checkHttpSinkConformance(httpPlugin(CORRECT), {
    config: (url) => ({ url }),
    eventsIn,
  });
  assert.deepEqual(report.checks.map((c) => c.name), Object.values(HTTP_SINK_CHECKS));
  assert.deepEqual(failedChecks(report), []);
  assert.equal(report.ok, true);
  assertConformance(report);
});

Deno.test("a sink that marks 401 permanent and ignores Retry-After fails exactly those checks", async () => {
  const report = await checkHttpSinkConformance(
    httpPlugin({ permanent: [400, 401, 413, 422], retryAfter: false, sendAll: true }),
    { config: (url) => ({ url }), eventsIn },
  );
  assert.equal(report.ok, false);
  assert.deepEqual(failedChecks(report), [
    HTTP_SINK_CHECKS.retryAfter,
    HTTP_SINK_CHECKS.credentials4xx,
  ]);
  const detail = (name: string) => report.checks.find((c) => c.name === name)?.detail ?? "";
  assert.match(
    detail(HTTP_SINK_CHECKS.retryAfter),
    /retryAfterMs is undefined, expected about 2000/,
  );
  assert.match(detail(HTTP_SINK_CHECKS.credentials4xx), /^401: marked permanent/);
  assert.throws(() => assertConformance(report), (e: Error) => {
    assert.match(e.message, /failed 2 of 9 conformance checks/);
    assert.match(e.message, /429 Retry-After sets retryAfterMs/);
    assert.match(e.message, /401, 403 and 404 are not permanent/);
    return true;
  });
});

Deno.test("a sink that loses events and treats 422 as retryable fails delivery, permanence and retry", async () => {
  const report = await checkHttpSinkConformance(
    httpPlugin({ permanent: [400, 413], retryAfter: true, sendAll: false }),
    { config: (url) => ({ url }), eventsIn, batchSize: 5 },
  );
  assert.deepEqual(failedChecks(report), [
    HTTP_SINK_CHECKS.delivers,
    HTTP_SINK_CHECKS.permanent4xx,
    HTTP_SINK_CHECKS.retrySucceeds,
  ]);
  const detail = report.checks.find((c) => c.name === HTTP_SINK_CHECKS.delivers)?.detail;
  assert.match(detail ?? "", /missing 4 of 5 events/);
});

Deno.test("a sink that hangs, mutates events or throws at create is reported, not thrown", async () => {
  const hanging: PluginDefinition<{ url: string }> = {
    name: "hangs",
    version: "0.0.1",
    apiVersion: 1,
    create: () => ({ log: () => new Promise<void>(() => {}), flush: () => {} }),
  };
  const hung = await checkHttpSinkConformance(hanging, {
    config: (url) => ({ url }),
    eventsIn,
    timeoutMs: 50,
  });
  assert.deepEqual(
    failedChecks(hung),
    Object.values(HTTP_SINK_CHECKS).filter((n) =>
      n !== HTTP_SINK_CHECKS.flushClose && n !== HTTP_SINK_CHECKS.telemetry
    ),
  );
  assert.match(hung.checks[0].detail, /did not settle within 50 ms/);

  const mutating: PluginDefinition<{ url: string }> = {
    name: "mutates",
    version: "0.0.1",
    apiVersion: 1,
    create: () => ({
      log(events) {
        (events[0] as { model: string }).model = "changed";
      },
    }),
  };
  const mutated = await checkHttpSinkConformance(mutating, {
    config: (url) => ({ url }),
    eventsIn,
  });
  assert.match(mutated.checks[0].detail, /TypeError/);

  const refusing: PluginDefinition<{ url: string }> = {
    name: "refuses",
    version: "0.0.1",
    apiVersion: 1,
    create() {
      throw new Error("bad config");
    },
  };
  const refused = await checkHttpSinkConformance(refusing, {
    config: (url) => ({ url }),
    eventsIn,
  });
  assert.deepEqual(refused, {
    ok: false,
    checks: [{ name: "create", ok: false, detail: "create() threw Error: bad config" }],
  });
});

Deno.test("sample events are complete, distinct and plausible", () => {
  const events = sampleEvents(5);
  assert.equal(new Set(events.map((e) => e.request_id)).size, 5);
  assert.equal(new Set(events.map((e) => e.call_id)).size, 5);
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    assert.equal(e.schema_version, 1);
    assert.match(e.request_id, /^[0-9a-f-]{36}$/);
    assert.match(e.trace_id, /^[0-9a-f]{32}$/);
    assert.match(e.span_id, /^[0-9a-f]{16}$/);
    assert.equal(e.end_time - e.start_time, e.response_time_ms);
    assert.ok(e.completion_start_time! > e.start_time && e.completion_start_time! < e.end_time);
    assert.equal(e.total_tokens, e.prompt_tokens + e.completion_tokens);
    const c = e.cost_breakdown!;
    assert.ok(Math.abs(e.response_cost! - (c.input + c.output)) < 1e-12);
    assert.ok(e.metadata.user_api_key_hash?.match(/^[0-9a-f]{64}$/));
    if (i > 0) assert.ok(e.start_time > events[i - 1].start_time, "ascending start times");
  }
  assert.equal(sampleEvent({ model_group: "m" }).model_group, "m");
  const pinned = sampleEvent({ start_time: 1_000, response_time_ms: 250 });
  assert.equal(pinned.end_time, 1_250);
  assert.ok(pinned.completion_start_time! > 1_000 && pinned.completion_start_time! < 1_250);
  const pinnedFailure = sampleFailureEvent({ start_time: 1_000, response_time_ms: 40 });
  assert.equal(pinnedFailure.end_time, 1_040);
  assert.equal(sampleEvents(2, { start_time: 5 }).every((e) => e.start_time === 5), true);

  const failure = sampleFailureEvent();
  assert.equal(failure.status, "failure");
  assert.equal(failure.error?.status, 429);
  assert.equal(failure.response_cost, undefined);

  const internal = sampleGatewayErrorEvent({ source: "otel" });
  assert.equal(internal.call_type, "gateway_error");
  assert.equal(internal.source, "otel");
  assert.equal(internal.model, undefined);
  assert.equal(internal.metadata.user_api_key_hash, undefined);
  assert.doesNotThrow(() => structuredClone([...events, failure, internal]));
});

Deno.test("the test context: env limited to declared names, captured logs, fetch timeout and abort", async () => {
  const ctx = createTestContext({
    env: { API_KEY: "k", HOME: "/root" },
    permissions: { env: ["API_KEY", "UNSET"] },
    instanceName: "mine",
    gatewayVersion: "9.9.9",
  });
  assert.equal(ctx.env("API_KEY"), "k");
  assert.equal(ctx.env("HOME"), undefined);
  assert.equal(ctx.env("UNSET"), undefined);
  assert.equal(ctx.instanceName, "mine");
  assert.equal(ctx.gatewayVersion, "9.9.9");
  ctx.logger.info("hello", { n: 1 });
  ctx.logger.error("boom");
  assert.equal(ctx.env("HOME"), undefined);
  assert.deepEqual(ctx.logs, [
    {
      level: "warn",
      message: 'ctx.env("HOME") returned undefined: the variable is not granted to this plugin',
      data: undefined,
    },
    { level: "info", message: "hello", data: { n: 1 } },
    { level: "error", message: "boom", data: undefined },
  ]);

  const held: (() => void)[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async () => {
    await new Promise<void>((r) => held.push(r));
    return new Response("late");
  });
  try {
    const url = `http://127.0.0.1:${server.addr.port}/`;
    await assert.rejects(ctx.fetch(url, { timeoutMs: 30 }), { name: "TimeoutError" });
    const pending = ctx.fetch(url);
    setTimeout(() => ctx.controller.abort(), 10);
    await assert.rejects(pending, { name: "AbortError" });
    assert.equal(ctx.signal.aborted, true);
  } finally {
    held.forEach((release) => release());
    await server.shutdown();
  }
});
