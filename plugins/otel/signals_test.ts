/**
 * All three signals over OTLP/gRPC and OTLP/HTTP, against loopback
 * receivers that decode every request with the official OTLP protobuf
 * definitions: correlation between spans and log records, metric sums
 * against the events' usage, gzip on the wire, one attempt per batch, no
 * loss and no duplicates across failures, and the outcome policy for gRPC
 * status codes.
 */
import assert from "node:assert/strict";
import { status as grpcStatus } from "npm:@grpc/grpc-js@1.14.7";
import { createOtelSink, METRIC_NAMES, OTEL_PLUGIN_ENV, type OtelConfig } from "./mod.ts";
import { createTestContext, sampleEvent, sampleFailureEvent } from "@sluice/core/testing";
import type { LogEvent, SinkError } from "@sluice/core/plugin";
import {
  attributesOf,
  logRecordsOf,
  metricsOf,
  type ReceivedSignal,
  spansOf,
  startGrpcReceiver,
  startGrpcWireReceiver,
  startHttpSignalsReceiver,
} from "./testdata/signals_receiver.ts";

/** The variables SigNoz's LiteLLM guide sets, pointed at `url`. */
function signozEnv(url: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: url,
    OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
    OTEL_TRACES_EXPORTER: "otlp",
    OTEL_METRICS_EXPORTER: "otlp",
    OTEL_LOGS_EXPORTER: "otlp",
    OTEL_EXPORTER_OTLP_HEADERS: "signoz-ingestion-key=sk-signoz-secret-1",
    OTEL_SERVICE_NAME: "checkout-gateway",
    ...extra,
  };
}

async function rejection(promise: unknown): Promise<SinkError> {
  try {
    await promise;
  } catch (error) {
    return error as SinkError;
  }
  throw new Error("log resolved; expected a rejection");
}

/** Sum of a histogram's data points with `attributes` matching. */
function histogramSum(
  received: ReceivedSignal[],
  name: string,
  match: Record<string, unknown> = {},
): { sum: number; count: number } {
  let sum = 0;
  let count = 0;
  for (const metric of metricsOf(received).filter((m) => m.name === name)) {
    for (const point of metric.histogram.dataPoints) {
      const attributes = attributesOf(point.attributes);
      if (Object.entries(match).every(([k, v]) => attributes[k] === v)) {
        sum += point.sum;
        count += Number(point.count);
      }
    }
  }
  return { sum, count };
}

/** The last metrics request's value of a histogram (cumulative: the running totals). */
function lastHistogram(received: ReceivedSignal[], name: string, match: Record<string, unknown>) {
  const last = received.filter((r) => r.signal === "metrics").at(-1);
  return last ? histogramSum([last], name, match) : { sum: 0, count: 0 };
}

const streamed = (overrides: Partial<LogEvent> = {}) => {
  const start = Date.now() - 900;
  return sampleEvent({
    stream: true,
    start_time: start,
    completion_start_time: start + 150,
    end_time: start + 900,
    ...overrides,
  });
};

Deno.test("SigNoz's variables: traces, logs and metrics over gRPC, correlated by trace and span id", async () => {
  const rx = await startGrpcReceiver();
  const ctx = createTestContext({
    env: signozEnv(rx.url),
    permissions: { env: [...OTEL_PLUGIN_ENV] },
  });
  const sink = createOtelSink({}, ctx);
  try {
    assert.deepEqual(Object.keys(sink.settings.signals).sort(), ["logs", "metrics", "traces"]);
    const events = [streamed(), sampleEvent(), sampleFailureEvent()];
    await sink.log(events);
    await sink.flush?.();

    for (const received of rx.accepted) {
      assert.equal(received.headers["signoz-ingestion-key"], "sk-signoz-secret-1");
      assert.match(received.headers["user-agent"], /^sluice-otel\//);
    }
    const spans = spansOf(rx.accepted);
    const records = logRecordsOf(rx.accepted);
    assert.deepEqual(spans.map((s) => s.spanId), events.map((e) => e.span_id));
    assert.deepEqual(
      records.map((r) => [r.traceId, r.spanId]),
      events.map((e) => [
        e.trace_id,
        e.span_id,
      ]),
    );
    // (event_name, field 12, is newer than the decoder's proto; the JSON test reads it)
    assert.deepEqual(
      records.map((r) => attributesOf(r.attributes)["sluice.request_id"]),
      events.map((e) => e.request_id),
    );
    assert.deepEqual(records.map((r) => r.severityText), ["INFO", "INFO", "ERROR"]);
    const resource = rx.accepted.find((r) => r.signal === "logs")!.request.resourceLogs[0].resource;
    assert.equal(attributesOf(resource.attributes)["service.name"], "checkout-gateway");

    const successes = events.filter((e) => e.status === "success");
    const input = histogramSum(rx.accepted, METRIC_NAMES.tokenUsage, {
      "gen_ai.token.type": "input",
    });
    const output = histogramSum(rx.accepted, METRIC_NAMES.tokenUsage, {
      "gen_ai.token.type": "output",
    });
    assert.equal(input.sum, successes.reduce((n, e) => n + e.prompt_tokens, 0));
    assert.equal(output.sum, successes.reduce((n, e) => n + e.completion_tokens, 0));
    assert.equal(input.count, successes.length);
    const durations = histogramSum(rx.accepted, METRIC_NAMES.operationDuration);
    assert.equal(durations.count, events.length);
    const failed = histogramSum(rx.accepted, METRIC_NAMES.operationDuration, {
      "error.type": "RateLimitError",
    });
    assert.equal(failed.count, 1, "the failure's duration carries its error.type");
    assert.deepEqual(histogramSum(rx.accepted, METRIC_NAMES.timeToFirstToken), {
      sum: 0.15,
      count: 1,
    });
    const requests = metricsOf(rx.accepted).find((m) => m.name === METRIC_NAMES.requests);
    assert.equal(
      requests.sum.dataPoints.reduce(
        (n: number, p: { asDouble?: number; asInt?: string }) => n + Number(p.asInt ?? p.asDouble),
        0,
      ),
      3,
    );
  } finally {
    await sink.close?.();
    await rx.close();
  }
});

Deno.test("gzip over gRPC: grpc-encoding gzip and compressed messages on the wire", async () => {
  const rx = await startGrpcWireReceiver();
  const sink = createOtelSink(
    { endpoint: rx.url, protocol: "grpc", compression: "gzip", signals: ["traces", "logs"] },
    createTestContext(),
  );
  try {
    const events = [sampleEvent(), sampleEvent()];
    await sink.log(events);
    assert.deepEqual(rx.wire.map((w) => [w.encoding, w.compressedFlag]), [
      ["gzip", 1],
      ["gzip", 1],
    ]);
    assert.deepEqual(spansOf(rx.accepted).map((s) => s.spanId), events.map((e) => e.span_id));
    assert.equal(logRecordsOf(rx.accepted).length, 2);
  } finally {
    await sink.close?.();
    await rx.close();
  }
});

for (const protocol of ["http/protobuf", "http/json"] as const) {
  Deno.test(`all three signals over OTLP/HTTP (${protocol}, gzip), one path each`, async () => {
    const rx = startHttpSignalsReceiver();
    const config: OtelConfig = {
      endpoint: rx.url,
      protocol,
      compression: "gzip",
      signals: ["traces", "metrics", "logs"],
      headers: { authorization: "Bearer otlp-http-secret" },
    };
    const sink = createOtelSink(config, createTestContext());
    try {
      const events = [streamed(), sampleEvent()];
      await sink.log(events);
      await sink.flush?.();
      assert.deepEqual([...new Set(rx.accepted.map((r) => r.signal))].sort(), [
        "logs",
        "metrics",
        "traces",
      ]);
      for (const received of rx.accepted) {
        assert.equal(received.gzip, true, `${received.signal} was not gzip-compressed`);
        assert.equal(received.headers.authorization, "Bearer otlp-http-secret");
      }
      if (protocol === "http/protobuf") {
        assert.deepEqual(spansOf(rx.accepted).map((s) => s.spanId), events.map((e) => e.span_id));
        assert.deepEqual(
          logRecordsOf(rx.accepted).map((r) => r.spanId),
          events.map((e) => e.span_id),
        );
        assert.equal(
          histogramSum(rx.accepted, METRIC_NAMES.tokenUsage, { "gen_ai.token.type": "input" }).sum,
          events.reduce((n, e) => n + e.prompt_tokens, 0),
        );
      } else {
        const spans = rx.accepted.find((r) => r.signal === "traces")!.request.resourceSpans[0]
          .scopeSpans[0].spans;
        assert.deepEqual(
          spans.map((s: { spanId: string }) => s.spanId),
          events.map((e) => e.span_id),
        );
      }
    } finally {
      await sink.close?.();
      await rx.close();
    }
  });
}

Deno.test("a failed signal is retried alone: no loss, no duplicates in the other", async () => {
  let failLogs = true;
  const rx = await startGrpcReceiver({
    answer: (req) =>
      req.signal === "logs" && failLogs
        ? { code: grpcStatus.UNAVAILABLE, details: "collector restarting" }
        : undefined,
  });
  const sink = createOtelSink(
    { endpoint: rx.url, protocol: "grpc", signals: ["traces", "logs"] },
    createTestContext(),
  );
  try {
    const events = [sampleEvent(), sampleEvent(), sampleEvent()];
    const error = await rejection(sink.log(events));
    assert.notEqual(error.permanent, true);
    assert.match(error.message, /UNAVAILABLE: collector restarting/);
    assert.equal(spansOf(rx.accepted).length, 3, "traces went through on the first attempt");
    assert.equal(logRecordsOf(rx.accepted).length, 0);

    failLogs = false;
    await sink.log(events); // the pipeline's retry of the same batch
    assert.deepEqual(spansOf(rx.accepted).map((s) => s.spanId), events.map((e) => e.span_id));
    assert.deepEqual(logRecordsOf(rx.accepted).map((r) => r.spanId), events.map((e) => e.span_id));
    assert.equal(rx.all.filter((r) => r.signal === "traces").length, 1, "traces sent once");
  } finally {
    await sink.close?.();
    await rx.close();
  }
});

Deno.test("counters summed per batch: calls by status and cost by team and key alias, as recorded one by one", async () => {
  const rx = startHttpSignalsReceiver();
  const sink = createOtelSink(
    { endpoint: rx.url, protocol: "http/json", signals: ["metrics"] },
    createTestContext(),
  );
  const call = (team: string, cost: number, failed = false) => {
    const base = failed ? sampleFailureEvent() : sampleEvent();
    return {
      ...base,
      request_id: crypto.randomUUID(),
      response_cost: cost,
      metadata: { ...base.metadata, user_api_key_team: team, user_api_key_alias: `${team}-key` },
    };
  };
  try {
    const batch = [
      call("search", 0.25),
      call("search", 0.5),
      call("billing", 0.125),
      call("search", 0.0625, true),
      call("billing", 1),
    ];
    await sink.log(batch.slice(0, 3));
    await sink.log(batch.slice(3));
    await sink.flush?.();
    const points = (name: string): { attributes: Record<string, unknown>; value: number }[] => {
      const last = metricsOf(rx.accepted.filter((r) => r.signal === "metrics").slice(-1))
        .find((m) => m.name === name);
      return last.sum.dataPoints.map((
        p: { asDouble?: number; asInt?: string; attributes: unknown },
      ) => ({
        attributes: attributesOf(p.attributes as never),
        value: Number(p.asInt ?? p.asDouble),
      }));
    };
    const costByTeam = Object.fromEntries(
      points(METRIC_NAMES.cost).map((
        p,
      ) => [`${p.attributes["sluice.team"]}/${p.attributes["sluice.key_alias"]}`, p.value]),
    );
    const expectedCost: Record<string, number> = {};
    for (const e of batch) {
      const key = `${e.metadata.user_api_key_team}/${e.metadata.user_api_key_alias}`;
      expectedCost[key] = (expectedCost[key] ?? 0) + e.response_cost;
    }
    assert.deepEqual(costByTeam, expectedCost);
    const callsByStatus = Object.fromEntries(
      points(METRIC_NAMES.requests).map((p) => [p.attributes["sluice.status"], p.value]),
    );
    assert.deepEqual(callsByStatus, {
      success: batch.filter((e) => e.status === "success").length,
      failure: batch.filter((e) => e.status === "failure").length,
    });
  } finally {
    await sink.close?.();
    await rx.close();
  }
});

Deno.test("gRPC status codes follow the one outcome policy, with credential-free messages", async () => {
  const secret = "sk-live-very-secret-header";
  const rx = await startGrpcReceiver();
  const sink = createOtelSink(
    { endpoint: rx.url, protocol: "grpc", headers: { "x-api-key": secret } },
    createTestContext(),
  );
  try {
    rx.answer(() => ({ code: grpcStatus.UNAUTHENTICATED, details: `bad key ${secret}` }));
    const denied = await rejection(sink.log([sampleEvent()]));
    assert.notEqual(denied.permanent, true, "a refused key keeps the events");
    assert.match(denied.message, /UNAUTHENTICATED/);
    assert.match(denied.message, /check the credentials/);
    assert.ok(!denied.message.includes(secret), denied.message);

    rx.answer(() => ({ code: grpcStatus.RESOURCE_EXHAUSTED, details: "slow down" }));
    const limited = await rejection(sink.log([sampleEvent()]));
    assert.notEqual(limited.permanent, true);
    assert.equal(typeof limited.retryAfterMs, "number");

    rx.answer(() => ({ code: grpcStatus.INVALID_ARGUMENT, details: "malformed span" }));
    const invalid = await rejection(sink.log([sampleEvent()]));
    assert.equal(invalid.permanent, true, "a request the collector cannot take is not resent");
    assert.match(invalid.message, /INVALID_ARGUMENT: malformed span/);
  } finally {
    await sink.close?.();
    await rx.close();
  }
});

Deno.test("nothing listening on the gRPC port: a retryable failure within the timeout", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const sink = createOtelSink(
    { endpoint: `http://127.0.0.1:${port}`, protocol: "grpc", timeout_ms: 1500 },
    createTestContext(),
  );
  try {
    const error = await rejection(sink.log([sampleEvent()]));
    assert.notEqual(error.permanent, true);
    assert.match(error.message, /UNAVAILABLE|DEADLINE_EXCEEDED/);
    assert.match(error.message, /will be retried/);
  } finally {
    await sink.close?.();
  }
});

Deno.test("cumulative metrics: a failed export loses nothing, the next one carries the totals", async () => {
  let failMetrics = true;
  const rx = await startGrpcReceiver({
    answer: (req) =>
      req.signal === "metrics" && failMetrics ? { code: grpcStatus.UNAVAILABLE } : undefined,
  });
  const ctx = createTestContext();
  const sink = createOtelSink(
    { endpoint: rx.url, protocol: "grpc", signals: ["metrics"] },
    ctx,
  );
  try {
    const first = [sampleEvent(), sampleEvent()];
    await sink.log(first);
    await sink.flush?.();
    assert.equal(rx.all.filter((r) => r.signal === "metrics").length, 1);
    assert.ok(ctx.logs.some((l) => l.level === "warn" && /metrics export failed/.test(l.message)));

    failMetrics = false;
    const second = [sampleEvent()];
    await sink.log([...first, ...second]); // a retried batch is measured once
    await sink.flush?.();
    const all = [...first, ...second];
    assert.deepEqual(
      lastHistogram(rx.accepted, METRIC_NAMES.tokenUsage, { "gen_ai.token.type": "input" }),
      { sum: all.reduce((n, e) => n + e.prompt_tokens, 0), count: all.length },
    );
  } finally {
    await sink.close?.();
    await rx.close();
  }
});

Deno.test("delta temporality (OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE): each export holds its interval only", async () => {
  const rx = await startGrpcReceiver();
  const sink = createOtelSink(
    { endpoint: rx.url, protocol: "grpc", signals: ["metrics"] },
    createTestContext({
      env: { OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: "delta" },
      permissions: { env: [...OTEL_PLUGIN_ENV] },
    }),
  );
  try {
    const first = sampleEvent();
    await sink.log([first]);
    await sink.flush?.();
    const second = sampleEvent();
    await sink.log([second]);
    await sink.flush?.();
    const exports = rx.accepted.filter((r) => r.signal === "metrics");
    assert.equal(exports.length, 2);
    const usage = exports.map((r) =>
      histogramSum([r], METRIC_NAMES.tokenUsage, { "gen_ai.token.type": "input" })
    );
    assert.deepEqual(usage, [
      { sum: first.prompt_tokens, count: 1 },
      { sum: second.prompt_tokens, count: 1 },
    ]);
    const temporality = metricsOf(exports).find((m) => m.name === METRIC_NAMES.tokenUsage)
      .histogram.aggregationTemporality;
    assert.equal(temporality, 1, "AGGREGATION_TEMPORALITY_DELTA");
  } finally {
    await sink.close?.();
    await rx.close();
  }
});

Deno.test("log records: compact beside the span (GenAI identity, usage, content, ids), the span's attributes without it", async () => {
  const rx = startHttpSignalsReceiver();
  const event = sampleEvent();
  try {
    for (const signals of [["traces", "logs"], ["logs"]] as const) {
      const sink = createOtelSink(
        { endpoint: rx.url, protocol: "http/json", signals: [...signals] },
        createTestContext(),
      );
      await sink.log([event]);
      await sink.close?.();
    }
    const [beside, alone] = logRecordsOf(rx.accepted).map((r) => attributesOf(r.attributes));
    const span = attributesOf(spansOf(rx.accepted)[0].attributes);
    for (const key of ["gen_ai.request.model", "gen_ai.usage.input_tokens", "sluice.call_id"]) {
      assert.equal(beside[key], span[key], key);
    }
    assert.equal(beside["gen_ai.input.messages"], span["gen_ai.input.messages"], "content kept");
    assert.equal(beside["sluice.model_group"], undefined, "the rest is on the span");
    assert.ok(Object.keys(beside).length < Object.keys(span).length);
    assert.deepEqual(Object.keys(alone).sort(), Object.keys(span).sort());
  } finally {
    await rx.close();
  }
});

Deno.test("message content on spans, log records, both or neither (capture_messages, or OpenTelemetry's GenAI variable)", async () => {
  const content = ["gen_ai.input.messages", "gen_ai.output.messages"];
  const cases: [OtelConfig["capture_messages"], string | undefined, boolean, boolean][] = [
    [undefined, undefined, true, true],
    ["span_only", undefined, true, false],
    ["event_only", undefined, false, true],
    [false, undefined, false, false],
    [undefined, "EVENT_ONLY", false, true],
    [undefined, "false", false, false],
    ["span_and_event", "NO_CONTENT", true, true], // config over the environment
  ];
  for (const [capture, variable, onSpan, onRecord] of cases) {
    const rx = startHttpSignalsReceiver();
    const env: Record<string, string> = variable
      ? { OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: variable }
      : {};
    const sink = createOtelSink(
      {
        endpoint: rx.url,
        protocol: "http/json",
        signals: ["traces", "logs"],
        capture_messages: capture,
      },
      createTestContext({ env, permissions: { env: [...OTEL_PLUGIN_ENV] } }),
    );
    try {
      await sink.log([sampleEvent()]);
      const span = attributesOf(spansOf(rx.accepted)[0].attributes);
      const record = attributesOf(logRecordsOf(rx.accepted)[0].attributes);
      const what = `capture_messages ${capture}, variable ${variable}`;
      for (const key of content) {
        assert.equal(typeof span[key] === "string", onSpan, `${what}: ${key} on the span`);
        assert.equal(typeof record[key] === "string", onRecord, `${what}: ${key} on the record`);
      }
      assert.equal(span["gen_ai.request.model"], record["gen_ai.request.model"], what);
      if (onSpan && onRecord) assert.equal(span[content[0]], record[content[0]], what);
    } finally {
      await sink.close?.();
      await rx.close();
    }
  }
});

Deno.test("gateway errors: a sluice.gateway_error record, WARN when the gateway retries, ERROR otherwise; not a call in the metrics", async () => {
  const rx = startHttpSignalsReceiver();
  const gatewayError = (code: string, message: string): LogEvent => ({
    ...sampleFailureEvent(),
    call_type: "gateway_error",
    source: "webhook",
    error: { status: 500, code, class: "GatewayError", message },
  });
  const sink = createOtelSink(
    { endpoint: rx.url, protocol: "http/json", signals: ["logs", "metrics"] },
    createTestContext(),
  );
  try {
    await sink.log([
      gatewayError("call_timeout", "delivery failed (will retry; events kept): timed out"),
      gatewayError("permanent_failure", "dropped 3 events the sink rejected as malformed"),
    ]);
    await sink.flush?.();
    const records = logRecordsOf(rx.accepted);
    assert.deepEqual(records.map((r) => [r.eventName, r.severityText]), [
      ["sluice.gateway_error", "WARN"],
      ["sluice.gateway_error", "ERROR"],
    ]);
    assert.equal(
      records[1].body.stringValue,
      "sink webhook: dropped 3 events the sink rejected as malformed",
    );
    assert.equal(attributesOf(records[1].attributes)["error.type"], "permanent_failure");
    assert.ok(!metricsOf(rx.accepted).some((m) => m.name === METRIC_NAMES.requests));
  } finally {
    await sink.close?.();
    await rx.close();
  }
});
