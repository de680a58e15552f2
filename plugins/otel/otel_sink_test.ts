import assert from "node:assert/strict";
import otelPlugin, { createOtelSink, type OtelConfig } from "./mod.ts";
import {
  assertConformance,
  checkHttpSinkConformance,
  createTestContext,
  HTTP_SINK_CHECKS,
  type ReceivedRequest,
  sampleEvent,
  sampleEvents,
  sampleFailureEvent,
} from "@sluice/core/testing";
import type { LogEvent, SinkError } from "@sluice/core/plugin";
import { decodeExport, startOtlpReceiver, valueOf } from "./testdata/otlp_receiver.ts";
import { assertGenAiAttributeTypes, assertOtlpJson } from "./testdata/schemas.ts";
import denoJson from "./deno.json" with { type: "json" };

const PROTOCOLS = ["http/json", "http/protobuf"] as const;

/** The `sluice.request_id` of every span in a request the conformance receiver got. */
function requestIdsIn(req: ReceivedRequest): string[] {
  const decoded = decodeExport(req.headers.get("content-type") ?? "", req.body);
  return decoded.spans.map((s) => String(valueOf(s.attributes["sluice.request_id"])));
}

for (const protocol of PROTOCOLS) {
  Deno.test(`the otel sink passes the HTTP sink conformance kit (${protocol})`, async () => {
    const report = await checkHttpSinkConformance(otelPlugin, {
      config: (url): OtelConfig => ({ traces_endpoint: url, protocol, timeout_ms: 2000 }),
      eventsIn: (req) => {
        assert.equal(req.method, "POST");
        return requestIdsIn(req);
      },
      batchSize: 4,
    });
    assertConformance(report);
    assert.equal(report.checks.length, Object.keys(HTTP_SINK_CHECKS).length);
  });
}

async function rejection(promise: unknown): Promise<SinkError> {
  try {
    await promise;
  } catch (error) {
    return error as SinkError;
  }
  throw new Error("log resolved; expected a rejection");
}

for (const protocol of PROTOCOLS) {
  Deno.test(`spans on the wire (${protocol}): ids, parent, times, kind, resource, scope, typed gen_ai attributes`, async () => {
    const rx = startOtlpReceiver();
    try {
      const ctx = createTestContext({ gatewayVersion: "1.2.3" });
      const sink = createOtelSink(
        { endpoint: rx.base, protocol, headers: { "x-api-key": "k1" }, service_name: "gw" },
        ctx,
      );
      const events: LogEvent[] = [
        sampleEvent({ parent_span_id: "b7ad6b7169203331", trace_state: "vendor=1", stream: true }),
        sampleFailureEvent(),
      ];
      await sink.log(events);
      await sink.close?.();
      assert.equal(rx.accepted.length, 1, "one request per batch");
      const [request] = rx.accepted;
      assert.equal(request.path, "/v1/traces");
      assert.equal(request.headers.get("x-api-key"), "k1");
      assert.equal(request.headers.get("user-agent"), `sluice-otel/${denoJson.version}`);
      assert.equal(
        request.headers.get("content-type"),
        protocol === "http/json" ? "application/json" : "application/x-protobuf",
      );
      if (protocol === "http/json") assertOtlpJson(request.rawJson);
      const spans = rx.spans();
      assert.equal(spans.length, 2);
      for (const [i, received] of spans.entries()) {
        const event = events[i];
        const { span, attributes, resource, scope } = received;
        assert.equal(span.traceId, event.trace_id);
        assert.equal(span.spanId, event.span_id);
        assert.equal(span.name, "chat gpt-4o-mini");
        assert.equal(span.kind, 3, "SPAN_KIND_CLIENT");
        assert.equal(span.startTimeUnixNano, String(BigInt(event.start_time) * 1_000_000n));
        assert.equal(span.endTimeUnixNano, String(BigInt(event.end_time) * 1_000_000n));
        assert.equal(valueOf(attributes["sluice.request_id"]), event.request_id);
        assertGenAiAttributeTypes(attributes);
        assert.equal(attributes["gen_ai.usage.input_tokens"].intValue, String(event.prompt_tokens));
        assert.deepEqual(resource["service.name"], { stringValue: "gw" });
        assert.deepEqual(resource["service.version"], { stringValue: "1.2.3" });
        assert.deepEqual(scope, { name: "@sluice/otel", version: denoJson.version });
        assert.equal(received.schemaUrl, "https://opentelemetry.io/schemas/1.41.0");
      }
      assert.equal(spans[0].span.parentSpanId, "b7ad6b7169203331");
      assert.equal(spans[0].span.traceState, "vendor=1");
      assert.equal(spans[0].span.flags, 0x301, "sampled, parent is remote");
      assert.equal(spans[0].span.status?.code, 1);
      assert.equal(spans[0].attributes["gen_ai.request.stream"].boolValue, true);
      assert.equal(spans[0].attributes["gen_ai.request.temperature"].doubleValue, 0.2);
      assert.ok(!spans[1].span.parentSpanId);
      assert.equal(spans[1].span.flags, 0x101, "sampled, no remote parent");
      assert.deepEqual(spans[1].span.status, { code: 2, message: events[1].error!.message });
      assert.equal(valueOf(spans[1].attributes["error.type"]), "RateLimitError");
      assert.ok(ctx.logs.some((l) => l.message.includes(`${rx.base}/v1/traces`)));
    } finally {
      await rx.close();
    }
  });
}

Deno.test("one HTTP attempt per log(): the exporter never retries on its own", async () => {
  const rx = startOtlpReceiver({
    answer: () => new Response("unavailable", { status: 503, headers: { "retry-after": "3" } }),
  });
  try {
    const sink = createOtelSink(
      { traces_endpoint: rx.tracesUrl, timeout_ms: 10_000 },
      createTestContext(),
    );
    const started = Date.now();
    const error = await rejection(sink.log(sampleEvents(3)));
    assert.ok(Date.now() - started < 2000, "no backoff inside the exporter");
    assert.equal(rx.all.length, 1);
    assert.notEqual(error.permanent, true);
    assert.equal(error.retryAfterMs, 3000);
    assert.match(
      error.message,
      /answered 503 Service Unavailable: unavailable; the spans will be retried/,
    );
  } finally {
    await rx.close();
  }
});

Deno.test("errors name the URL without credentials and never show header values", async () => {
  let status = 401;
  const rx = startOtlpReceiver({
    answer: () =>
      status === 200
        ? Response.json({ partialSuccess: { rejectedSpans: "2", errorMessage: "too old" } })
        : Response.json({ code: 16, message: "bad key" }, { status }),
  });
  try {
    const ctx = createTestContext();
    const sink = createOtelSink({
      traces_endpoint: `${rx.tracesUrl}?token=s3cret-query`,
      headers: { authorization: "Bearer hdr-s3cret" },
      protocol: "http/json",
    }, ctx);
    const expected: [number, RegExp, boolean][] = [
      [401, /answered 401 Unauthorized: bad key: check the credentials/, false],
      [403, /answered 403 Forbidden: bad key: check the credentials/, false],
      [404, /answered 404 Not Found: bad key: check the endpoint/, false],
      [415, /does not accept http\/json; set protocol/, false],
      [400, /answered 400 Bad Request: bad key: the collector refused these spans/, true],
      [413, /the collector refused these spans/, true],
      [422, /the collector refused these spans/, true],
    ];
    for (const [code, message, permanent] of expected) {
      status = code;
      const error = await rejection(sink.log(sampleEvents(1)));
      assert.match(error.message, message);
      assert.ok(error.message.includes(rx.tracesUrl), error.message);
      assert.ok(!error.message.includes("s3cret"), error.message);
      assert.equal(error.permanent === true, permanent, `${code}`);
    }
    // a partial success is a success (OTLP forbids retrying it), reported once
    status = 200;
    await sink.log(sampleEvents(2));
    assert.ok(
      ctx.logs.some((l) =>
        l.level === "warn" && /accepted the traces but rejected 2 spans: too old/.test(l.message)
      ),
    );
  } finally {
    await rx.close();
  }

  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const down = `http://127.0.0.1:${listener.addr.port}/v1/traces`;
  listener.close();
  const sink = createOtelSink({ traces_endpoint: `${down}?token=s3cret` }, createTestContext());
  const error = await rejection(sink.log(sampleEvents(1)));
  assert.match(error.message, new RegExp(`^otel: POST ${down} failed: `));
  assert.ok(!error.message.includes("s3cret"), error.message);
  assert.notEqual(error.permanent, true);
});

Deno.test("timeouts are retryable failures", async () => {
  const rx = startOtlpReceiver({
    answer: async () => {
      await new Promise((r) => setTimeout(r, 400));
      return Response.json({});
    },
  });
  try {
    const sink = createOtelSink(
      { traces_endpoint: rx.tracesUrl, timeout_ms: 100 },
      createTestContext(),
    );
    const error = await rejection(sink.log(sampleEvents(1)));
    assert.match(error.message, /timed out after 100 ms/);
    assert.notEqual(error.permanent, true);
  } finally {
    await new Promise((r) => setTimeout(r, 450));
    await rx.close();
  }
});

Deno.test("the console exporter prints one record per span with the event's ids", async () => {
  const printed: unknown[] = [];
  const original = console.dir;
  console.dir = (item: unknown) => void printed.push(item);
  try {
    const sink = createOtelSink({ exporter: "console" }, createTestContext());
    const events = sampleEvents(2, { parent_span_id: "b7ad6b7169203331" });
    await sink.log(events);
    await sink.flush?.();
    await sink.close?.();
    assert.equal(printed.length, 2);
    const first = printed[0] as { traceId: string; id: string; name: string; kind: number };
    assert.equal(first.traceId, events[0].trace_id);
    assert.equal(first.id, events[0].span_id);
    assert.equal(first.name, "chat gpt-4o-mini");
    assert.equal(first.kind, 2);
  } finally {
    console.dir = original;
  }
});

Deno.test("log([]) sends nothing; log after close() refuses", async () => {
  const rx = startOtlpReceiver();
  try {
    const sink = createOtelSink({ traces_endpoint: rx.tracesUrl }, createTestContext());
    await sink.log([]);
    assert.equal(rx.all.length, 0);
    await sink.close?.();
    await sink.close?.();
    await assert.rejects(async () => await sink.log(sampleEvents(1)), /closed/);
  } finally {
    await rx.close();
  }
});

Deno.test("calls whose upstream answered with the same response id are each exported (keyed by request_id)", async () => {
  const rx = startOtlpReceiver();
  const sink = createOtelSink({ endpoint: rx.base }, createTestContext());
  try {
    // a mock or OpenAI-compatible upstream may answer every call with one id
    const [a, b] = sampleEvents(2).map((e) => ({ ...e, id: "chatcmpl-same" }));
    await sink.log([a]);
    await sink.log([b]);
    await sink.log([a]); // a retried batch: not sent twice
    assert.deepEqual(
      rx.spans().map((s) => valueOf(s.attributes["sluice.request_id"])),
      [a.request_id, b.request_id],
    );
  } finally {
    await sink.close?.();
    await rx.close();
  }
});
