/**
 * OTLP decoding against the official OpenTelemetry JS serializers: the same
 * spans and log records sent as protobuf and as JSON decode to one value.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  JsonLogsSerializer,
  JsonTraceSerializer,
  ProtobufLogsSerializer,
  ProtobufTraceSerializer,
} from "npm:@opentelemetry/otlp-transformer@0.223.1";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "npm:@opentelemetry/sdk-trace-base@2.12.1";
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  type ReadableLogRecord,
  SimpleLogRecordProcessor,
} from "npm:@opentelemetry/sdk-logs@0.223.1";
import { context, SpanKind, SpanStatusCode, trace } from "npm:@opentelemetry/api@1.9.1";
import {
  countLogRecords,
  countSpans,
  type Decoded,
  decodeLogs,
  decodeLogsResponse,
  decodeTraces,
  decodeTracesResponse,
  encodeLogs,
  encodeLogsResponse,
  encodeStatus,
  encodeTraces,
  encodeTracesResponse,
  parseLogsJson,
  parseTracesJson,
} from "./proto.ts";

function ok<T>(decoded: Decoded<T>): T {
  if (!decoded.ok) assert.fail(decoded.error);
  return decoded.value;
}

function failure<T>(decoded: Decoded<T>): string {
  assert.equal(decoded.ok, false, "expected a failure");
  return (decoded as { error: string }).error;
}

function hrToNanos([s, ns]: [number, number]): string {
  return (BigInt(s) * 1_000_000_000n + BigInt(ns)).toString();
}

/** Spans with every feature OTLP carries: all value types, events, links, status, a parent. */
function makeSpans(): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer("sluice.test", "1.2.3");
  const parent = tracer.startSpan("chat gpt-4o", {
    kind: SpanKind.CLIENT,
    attributes: {
      "gen_ai.request.model": "gpt-4o",
      "gen_ai.usage.input_tokens": 1234,
      "neg": -42,
      "ratio": 0.25,
      "flag": false,
      "empty": "",
      "zero": 0,
      "list.str": ["a", "b", "é✓"],
      "list.num": [1.5, 2.5],
      "list.bool": [true, false],
    },
  });
  const other = tracer.startSpan("other");
  const ctx = trace.setSpan(context.active(), parent);
  const child = tracer.startSpan("tool call", {
    kind: SpanKind.INTERNAL,
    links: [{ context: other.spanContext(), attributes: { "link.kind": "follows" } }],
  }, ctx);
  child.addEvent("gen_ai.content.prompt", { "gen_ai.prompt": "hello 👋" });
  child.recordException(new Error("boom"));
  child.setStatus({ code: SpanStatusCode.ERROR, message: "tool failed" });
  child.end();
  parent.setStatus({ code: SpanStatusCode.OK });
  parent.end();
  other.end();
  return exporter.getFinishedSpans();
}

function makeLogs(): ReadableLogRecord[] {
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter })] });
  const logger = provider.getLogger("sluice.logs", "0.1.0");
  const tracer = new BasicTracerProvider().getTracer("t");
  const span = tracer.startSpan("s");
  {
    logger.emit({
      context: trace.setSpan(context.active(), span),
      eventName: "gen_ai.client.inference.operation.details",
      severityNumber: 9,
      severityText: "INFO",
      body: { messages: [{ role: "user", content: "hi" }], n: 3, ok: true },
      attributes: { "gen_ai.operation.name": "chat", count: 7 },
    });
  }
  logger.emit({ body: "plain text", severityNumber: 17, severityText: "ERROR" });
  logger.emit({ body: new Uint8Array([0, 1, 2, 250, 255]) });
  span.end();
  return exporter.getFinishedLogRecords();
}

Deno.test("traces: the official protobuf and JSON serializations decode to one value", () => {
  const spans = makeSpans();
  const fromProtobuf = ok(decodeTraces(ProtobufTraceSerializer.serializeRequest(spans)!));
  const fromJson = ok(parseTracesJson(JsonTraceSerializer.serializeRequest(spans)!));
  assert.deepStrictEqual(fromJson, fromProtobuf);
  assert.equal(JSON.stringify(fromJson), JSON.stringify(fromProtobuf), "same key order");
  assert.equal(countSpans(fromProtobuf), 3);

  const decoded = fromProtobuf.resourceSpans![0].scopeSpans![0];
  assert.deepStrictEqual(decoded.scope, { name: "sluice.test", version: "1.2.3" });
  const byName = new Map(decoded.spans!.map((s) => [s.name, s]));
  for (const span of spans) {
    const got = byName.get(span.name)!;
    assert.equal(got.traceId, span.spanContext().traceId);
    assert.equal(got.spanId, span.spanContext().spanId);
    assert.equal(got.parentSpanId, span.parentSpanContext?.spanId);
    assert.equal(got.startTimeUnixNano, hrToNanos(span.startTime));
    assert.equal(got.endTimeUnixNano, hrToNanos(span.endTime));
  }
  const chat = byName.get("chat gpt-4o")!;
  assert.equal(chat.kind, 3);
  assert.deepStrictEqual(chat.status, { code: 1 });
  const attrs = Object.fromEntries(chat.attributes!.map((kv) => [kv.key, kv.value]));
  assert.deepStrictEqual(attrs["gen_ai.usage.input_tokens"], { intValue: "1234" });
  assert.deepStrictEqual(attrs["neg"], { intValue: "-42" });
  assert.deepStrictEqual(attrs["ratio"], { doubleValue: 0.25 });
  assert.deepStrictEqual(attrs["flag"], { boolValue: false }, "a oneof member keeps its default");
  assert.deepStrictEqual(attrs["empty"], { stringValue: "" });
  assert.deepStrictEqual(attrs["zero"], { intValue: "0" });
  assert.deepStrictEqual(attrs["list.str"], {
    arrayValue: { values: [{ stringValue: "a" }, { stringValue: "b" }, { stringValue: "é✓" }] },
  });
  const tool = byName.get("tool call")!;
  assert.deepStrictEqual(tool.status, { message: "tool failed", code: 2 });
  assert.equal(tool.events!.length, 2);
  assert.equal(tool.links![0].spanId, byName.get("other")!.spanId);
  assert.deepStrictEqual(tool.links![0].attributes, [
    { key: "link.kind", value: { stringValue: "follows" } },
  ]);
});

Deno.test("logs: the official protobuf and JSON serializations decode to one value, event_name included", () => {
  const records = makeLogs();
  const fromProtobuf = ok(decodeLogs(ProtobufLogsSerializer.serializeRequest(records)!));
  const fromJson = ok(parseLogsJson(JsonLogsSerializer.serializeRequest(records)!));
  assert.deepStrictEqual(fromJson, fromProtobuf);
  assert.equal(countLogRecords(fromProtobuf), 3);
  const [event, plain, bytes] = fromProtobuf.resourceLogs![0].scopeLogs![0].logRecords!;
  assert.equal(event.eventName, "gen_ai.client.inference.operation.details");
  assert.equal(event.severityNumber, 9);
  assert.equal(event.traceId, records[0].spanContext!.traceId);
  assert.equal(event.spanId, records[0].spanContext!.spanId);
  assert.equal(event.timeUnixNano, hrToNanos(records[0].hrTime));
  assert.equal(event.observedTimeUnixNano, hrToNanos(records[0].hrTimeObserved));
  assert.deepStrictEqual(event.body, {
    kvlistValue: {
      values: [
        {
          key: "messages",
          value: {
            arrayValue: {
              values: [{
                kvlistValue: {
                  values: [
                    { key: "role", value: { stringValue: "user" } },
                    { key: "content", value: { stringValue: "hi" } },
                  ],
                },
              }],
            },
          },
        },
        { key: "n", value: { intValue: "3" } },
        { key: "ok", value: { boolValue: true } },
      ],
    },
  });
  assert.deepStrictEqual(plain.body, { stringValue: "plain text" });
  assert.equal(plain.eventName, undefined);
  assert.deepStrictEqual(bytes.body, { bytesValue: btoa("\x00\x01\x02\xfa\xff") });
});

Deno.test("encodeTraces/encodeLogs write what decodes back to the same value", () => {
  const traces = ok(decodeTraces(ProtobufTraceSerializer.serializeRequest(makeSpans())!));
  assert.deepStrictEqual(ok(decodeTraces(encodeTraces(traces))), traces);
  const logs = ok(decodeLogs(ProtobufLogsSerializer.serializeRequest(makeLogs())!));
  assert.deepStrictEqual(ok(decodeLogs(encodeLogs(logs))), logs);
  const special = {
    resourceSpans: [{
      scopeSpans: [{
        spans: [{
          name: "x",
          startTimeUnixNano: "18446744073709551615",
          attributes: [
            { key: "big", value: { intValue: "-9223372036854775808" } },
            { key: "nan", value: { doubleValue: "NaN" } },
            { key: "inf", value: { doubleValue: "-Infinity" } },
          ],
        }],
      }],
    }],
  };
  assert.deepStrictEqual(ok(decodeTraces(encodeTraces(special))), special);
  assert.deepStrictEqual(ok(parseTracesJson(JSON.stringify(special))), special);
});

Deno.test("responses: what the official exporters read back", () => {
  assert.deepStrictEqual(
    ProtobufTraceSerializer.deserializeResponse(encodeTracesResponse()),
    {},
  );
  assert.equal(encodeTracesResponse().length, 0, "full success: an empty message");
  assert.deepStrictEqual(
    ProtobufTraceSerializer.deserializeResponse(
      encodeTracesResponse({ rejected: 2, message: "2 spans had no trace id" }),
    ).partialSuccess,
    { rejectedSpans: 2, errorMessage: "2 spans had no trace id" },
  );
  assert.deepStrictEqual(
    ProtobufLogsSerializer.deserializeResponse(encodeLogsResponse({ rejected: 5, message: "m" }))
      .partialSuccess,
    { rejectedLogRecords: 5, errorMessage: "m" },
  );
  const json = JsonTraceSerializer.deserializeResponse(
    encodeTracesResponse({ rejected: 1, message: "x" }, "json"),
  );
  assert.equal(Number(json.partialSuccess?.rejectedSpans), 1);
  assert.equal(json.partialSuccess?.errorMessage, "x");
  assert.equal(new TextDecoder().decode(encodeLogsResponse(undefined, "json")), "{}");
  assert.deepStrictEqual(ok(decodeTracesResponse(encodeTracesResponse({ rejected: 3 }))), {
    rejected: 3,
    message: "",
  });
  assert.deepStrictEqual(
    ok(decodeLogsResponse(encodeLogsResponse({ rejected: 1, message: "q" }))),
    { rejected: 1, message: "q" },
  );
  // google.rpc.Status: code (1) = 3, message (2) = "bad".
  assert.deepStrictEqual([...encodeStatus(3, "bad")], [0x08, 3, 0x12, 3, 0x62, 0x61, 0x64]);
  assert.deepStrictEqual(JSON.parse(new TextDecoder().decode(encodeStatus(3, "bad", "json"))), {
    code: 3,
    message: "bad",
  });
});

/** A protobuf length-delimited field. */
function ld(field: number, body: number[]): number[] {
  const out = [(field << 3) | 2];
  let n = body.length;
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n, ...body);
  return out;
}

function varintBytes(n: number): number[] {
  const out = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** `core` wrapped in length-delimited fields, `fields[0]` outermost, built without recursion. */
function nest(fields: number[], core: number[]): Uint8Array {
  const sizes = new Array<number>(fields.length);
  let size = core.length;
  for (let i = fields.length - 1; i >= 0; i--) {
    sizes[i] = size;
    size += 1 + varintBytes(size).length;
  }
  const out: number[] = [];
  for (let i = 0; i < fields.length; i++) out.push((fields[i] << 3) | 2, ...varintBytes(sizes[i]));
  for (const b of core) out.push(b);
  return new Uint8Array(out);
}

/** A request with one span whose one attribute nests `levels` arrays deep. */
function nestedArrays(levels: number): Uint8Array {
  // Request.resourceSpans > ResourceSpans.scopeSpans > ScopeSpans.spans > Span.attributes
  // > KeyValue.value, then AnyValue.arrayValue > ArrayValue.values per level.
  const fields = [1, 2, 2, 9, 2];
  for (let i = 0; i < levels; i++) fields.push(5, 1);
  return nest(fields, ld(1, [0x61]));
}

Deno.test("protobuf: malformed bodies are failures with a reason, never exceptions", () => {
  const good = ProtobufTraceSerializer.serializeRequest(makeSpans())!;
  for (const cut of [1, 2, 7, good.length >> 1, good.length - 1]) {
    assert.match(
      failure(decodeTraces(good.subarray(0, cut))),
      /not a valid ExportTraceServiceRequest/,
    );
  }
  assert.match(
    failure(decodeTraces(new Uint8Array([0x08, 0x01]))),
    /resourceSpans \(1\) has wire type 0, expected 2/,
  );
  // Span.startTimeUnixNano (7) is fixed64; sent as a varint.
  const wrongTime = new Uint8Array(ld(1, ld(2, ld(2, [7 << 3, 5]))));
  assert.match(
    failure(decodeTraces(wrongTime)),
    /Span.startTimeUnixNano \(7\) has wire type 0, expected 1/,
  );
  assert.match(failure(decodeTraces(new Uint8Array([0x00, 0x01]))), /number 0/);
  assert.match(failure(decodeTraces(new Uint8Array([0x9b, 0x06]))), /unsupported wire type 3/); // a group
  assert.match(failure(decodeTraces(new Uint8Array([0x0a, 0x05, 0x01]))), /runs past the end/);
  // A child that claims more bytes than its parent holds.
  assert.match(
    failure(decodeTraces(new Uint8Array([0x0a, 0x02, 0x12, 0x05, 0, 0, 0, 0, 0]))),
    /past the end/,
  );
  assert.match(
    failure(
      decodeTraces(
        new Uint8Array([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
      ),
    ),
    /wire type|longer than 10 bytes/,
  );
  // A trace id of the wrong size.
  const shortId = new Uint8Array(ld(1, ld(2, ld(2, ld(1, [1, 2, 3])))));
  assert.match(failure(decodeTraces(shortId)), /traceId must be 16 bytes, got 3/);
  // Two members of one AnyValue.
  const twoValues = new Uint8Array(ld(1, ld(2, ld(2, ld(9, ld(2, [...ld(1, [0x61]), 0x10, 1]))))));
  assert.match(failure(decodeTraces(twoValues)), /more than one value/);
  // Defaults written out on the wire (a zero fixed64, an empty id, a zero count) read as absent,
  // as they do in JSON.
  const zeros = new Uint8Array(
    ld(1, ld(2, ld(2, [0x39, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0, 0x50, 0]))),
  );
  assert.deepStrictEqual(ok(decodeTraces(zeros)), {
    resourceSpans: [{ scopeSpans: [{ spans: [{}] }] }],
  });
  assert.deepStrictEqual(
    ok(parseTracesJson(
      '{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":"0","spanId":"","droppedAttributesCount":0}]}]}]}',
    )),
    ok(decodeTraces(zeros)),
  );
  // Unknown fields are skipped, as the spec asks.
  const withUnknown = new Uint8Array([...good, (99 << 3) | 0, 0x96, 0x01, ...ld(100, [1, 2])]);
  assert.deepStrictEqual(ok(decodeTraces(withUnknown)), ok(decodeTraces(good)));
  assert.deepStrictEqual(ok(decodeTraces(new Uint8Array())), {});
});

Deno.test("protobuf: nesting and message counts are bounded without recursion", () => {
  assert.equal(ok(decodeTraces(nestedArrays(20))).resourceSpans!.length, 1);
  assert.match(failure(decodeTraces(nestedArrays(40))), /nest deeper than 64 levels/);
  // Deep enough to overflow a recursive decoder's stack.
  const deep = nestedArrays(200_000);
  assert.match(failure(decodeTraces(deep)), /nest deeper than 64 levels/);
  const jsonNested = (levels: number) => {
    let value: unknown = { stringValue: "a" };
    for (let i = 0; i < levels; i++) value = { arrayValue: { values: [value] } };
    const span = { attributes: [{ value }] };
    return JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] });
  };
  assert.deepStrictEqual(ok(parseTracesJson(jsonNested(20))), ok(decodeTraces(nestedArrays(20))));
  assert.match(failure(parseTracesJson(jsonNested(40))), /objects nest deeper than 64 levels/);
  const many = new Uint8Array(ld(1, ld(2, new Array(5000).fill([0x12, 0x00]).flat())));
  assert.equal(countSpans(ok(decodeTraces(many))), 5000);
  assert.match(failure(decodeTraces(many, { maxMessages: 1000 })), /more than 1000 messages/);
});

Deno.test("JSON: garbage is a failure with a clear message", () => {
  const cases: [string, RegExp][] = [
    ["", /not valid JSON/],
    ["not json", /not valid JSON/],
    ["[]", /\$ must be an object, got an array/],
    ["null", /\$ must be an object, got null/],
    ['{"resourceSpans": 5}', /\$.resourceSpans must be an array, got number 5/],
    ['{"resourceSpans": [7]}', /\$.resourceSpans\[0\] must be an object/],
    [
      '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"xyz"}]}]}]}',
      /traceId must be hex digits/,
    ],
    [
      '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"abcd"}]}]}]}',
      /traceId must be 16 bytes, got 2/,
    ],
    [
      '{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":7}]}]}]}',
      /spans\[0\].name must be a string, got number 7/,
    ],
    [
      '{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"SERVER"}]}]}]}',
      /kind must be a int32 integer/,
    ],
    [
      '{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":"-1"}]}]}]}',
      /fixed64 integer/,
    ],
    [
      '{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":"18446744073709551616"}]}]}]}',
      /fixed64 integer/,
    ],
    ['{"resourceSpans":[{"scopeSpans":[{"spans":[{"flags":1.5}]}]}]}', /fixed32 integer/],
    [
      '{"resourceSpans":[{"resource":{"attributes":[{"key":"k","value":{"intValue":"1e3"}}]}}]}',
      /intValue must be a int64 integer/,
    ],
    [
      '{"resourceSpans":[{"resource":{"attributes":[{"key":"k","value":{"stringValue":"a","boolValue":true}}]}}]}',
      /more than one value/,
    ],
    [
      '{"resourceSpans":[{"resource":{"attributes":[{"key":"k","value":{"bytesValue":"**"}}]}}]}',
      /must be base64/,
    ],
    ['{"resourceSpans":[{"scope_spans":[],"scopeSpans":[]}]}', /gives scopeSpans and scope_spans/],
    ["[".repeat(100_000), /nests deeper than 256 levels/],
    ['{"a":' + "[".repeat(1_000_000), /nests deeper/],
  ];
  for (const [text, pattern] of cases) {
    assert.match(failure(parseTracesJson(text)), pattern, text.slice(0, 80));
  }
  assert.match(failure(parseLogsJson(new Uint8Array([0x7b, 0xff, 0x7d]))), /not valid UTF-8/);
  const many = JSON.stringify({
    resourceSpans: [{ scopeSpans: [{ spans: new Array(2000).fill({}) }] }],
  });
  assert.equal(countSpans(ok(parseTracesJson(many))), 2000);
  assert.match(failure(parseTracesJson(many, { maxMessages: 500 })), /more than 500 objects/);
});

Deno.test("JSON: unknown fields and nulls are ignored, snake_case names and numeric strings read", () => {
  const text = JSON.stringify({
    resource_spans: [{
      extra: { deep: [1, 2, 3] },
      scope_spans: [{
        spans: [{
          trace_id: "5B8EFFF798038103D269B633813FC60C",
          span_id: "EEE19B7EC3C1B174",
          parent_span_id: null,
          start_time_unix_nano: 1544712660000000000,
          kind: "2",
          dropped_attributes_count: 0,
          status: {},
        }],
      }],
    }],
  });
  assert.deepStrictEqual(ok(parseTracesJson(text)), {
    resourceSpans: [{
      scopeSpans: [{
        spans: [{
          traceId: "5b8efff798038103d269b633813fc60c",
          spanId: "eee19b7ec3c1b174",
          kind: 2,
          startTimeUnixNano: "1544712660000000000",
          status: {},
        }],
      }],
    }],
  });
});

Deno.test("property: random and mutated bytes never throw past the decoders", () => {
  const good = ProtobufTraceSerializer.serializeRequest(makeSpans())!;
  const goodLogs = ProtobufLogsSerializer.serializeRequest(makeLogs())!;
  const checked = (d: Decoded<unknown>) => {
    assert.equal(typeof d.ok, "boolean");
    if (!d.ok) assert.equal(typeof d.error, "string");
    else JSON.stringify(d.value);
  };
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
      checked(decodeTraces(bytes));
      checked(decodeLogs(bytes));
      checked(decodeTracesResponse(bytes));
      checked(parseTracesJson(bytes));
    }),
    { numRuns: 2000 },
  );
  const mutation = (base: Uint8Array) =>
    fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), {
      minLength: 1,
      maxLength: 8,
    }).map((edits) => {
      const copy = base.slice();
      for (const [at, b] of edits) copy[at] = b;
      return copy;
    });
  fc.assert(fc.property(mutation(good), (bytes) => checked(decodeTraces(bytes))), {
    numRuns: 2000,
  });
  fc.assert(fc.property(mutation(goodLogs), (bytes) => checked(decodeLogs(bytes))), {
    numRuns: 2000,
  });
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
      checked(parseTracesJson(JSON.stringify(value)));
      checked(parseLogsJson(JSON.stringify({ resourceLogs: [value] })));
    }),
    { numRuns: 2000 },
  );
});
