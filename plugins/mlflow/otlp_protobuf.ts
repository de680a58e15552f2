/**
 * A small OTLP encoder: an `ExportTraceServiceRequest` (opentelemetry-proto
 * `collector/trace/v1`) as protobuf bytes, which is the only body MLflow's
 * `/v1/traces` endpoint takes (`Content-Type: application/x-protobuf`).
 * It writes the fields this sink uses, by their numbers in the published
 * `.proto` files; the tests decode its output with the official
 * definitions.
 * @module
 */

/** An attribute value: OTLP's `AnyValue` (strings, numbers, booleans). */
export type OtlpValue = string | number | boolean;

/** One span, ids in hex, times in epoch nanoseconds. */
export interface OtlpSpan {
  /** 32 hex digits. */
  traceId: string;
  /** 16 hex digits. */
  spanId: string;
  /** 16 hex digits, absent for a root span. */
  parentSpanId?: string;
  /** The span's name. */
  name: string;
  /** `SpanKind`: 1 internal, 2 server, 3 client. */
  kind: number;
  /** Start, epoch nanoseconds. */
  startTimeUnixNano: bigint;
  /** End, epoch nanoseconds. */
  endTimeUnixNano: bigint;
  /** Attributes in order (keys unique). */
  attributes: [string, OtlpValue][];
  /** Span events. */
  events: { timeUnixNano: bigint; name: string; attributes: [string, OtlpValue][] }[];
  /** `StatusCode`: 0 unset, 1 ok, 2 error; and the error's message. */
  status: { code: number; message?: string };
}

/** An export request: one resource and one instrumentation scope. */
export interface OtlpTraceRequest {
  /** Resource attributes (`service.name`, …). */
  resource: [string, OtlpValue][];
  /** The instrumentation scope. */
  scope: { name: string; version: string };
  /** The spans. */
  spans: OtlpSpan[];
}

const encoder = new TextEncoder();

/** Protobuf wire writer: fields appended in order, nested messages length-prefixed. */
class Writer {
  #chunks: Uint8Array[] = [];
  #length = 0;

  #push(bytes: Uint8Array): void {
    this.#chunks.push(bytes);
    this.#length += bytes.length;
  }

  #varint(value: number | bigint): void {
    let v = BigInt(value);
    if (v < 0n) v = BigInt.asUintN(64, v);
    const out: number[] = [];
    while (v > 0x7fn) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
    this.#push(Uint8Array.from(out));
  }

  #tag(field: number, wireType: number): void {
    this.#varint((field << 3) | wireType);
  }

  uint(field: number, value: number): this {
    if (value !== 0) {
      this.#tag(field, 0);
      this.#varint(value);
    }
    return this;
  }

  int64(field: number, value: number): this {
    this.#tag(field, 0);
    this.#varint(BigInt(Math.trunc(value)));
    return this;
  }

  bool(field: number, value: boolean): this {
    this.#tag(field, 0);
    this.#varint(value ? 1 : 0);
    return this;
  }

  fixed64(field: number, value: bigint): this {
    this.#tag(field, 1);
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigUint64(0, BigInt.asUintN(64, value), true);
    this.#push(bytes);
    return this;
  }

  double(field: number, value: number): this {
    this.#tag(field, 1);
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setFloat64(0, value, true);
    this.#push(bytes);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.#tag(field, 2);
    this.#varint(value.length);
    this.#push(value);
    return this;
  }

  string(field: number, value: string | undefined): this {
    return value ? this.bytes(field, encoder.encode(value)) : this;
  }

  message(field: number, build: (w: Writer) => void): this {
    const inner = new Writer();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array<ArrayBuffer> {
    const out = new Uint8Array(this.#length);
    let at = 0;
    for (const chunk of this.#chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }
}

/** Hex digits as bytes. */
function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

// AnyValue: string_value 1, bool_value 2, int_value 3, double_value 4.
function anyValue(w: Writer, value: OtlpValue): void {
  if (typeof value === "string") w.bytes(1, encoder.encode(value));
  else if (typeof value === "boolean") w.bool(2, value);
  else if (Number.isSafeInteger(value)) w.int64(3, value);
  else w.double(4, value);
}

// KeyValue: key 1, value 2.
function keyValues(w: Writer, field: number, attributes: [string, OtlpValue][]): void {
  for (const [key, value] of attributes) {
    w.message(field, (kv) => kv.string(1, key).message(2, (v) => anyValue(v, value)));
  }
}

/**
 * Encodes an export request as OTLP protobuf (`ExportTraceServiceRequest`:
 * `resource_spans` 1 → `resource` 1, `scope_spans` 2 → `scope` 1, `spans` 2).
 *
 * @param request The resource, scope and spans.
 * @returns The protobuf bytes.
 *
 * @example
 * ```ts
 * import { encodeTraceRequest } from "@sluice/mlflow";
 *
 * const bytes = encodeTraceRequest({
 *   resource: [["service.name", "sluice"]],
 *   scope: { name: "@sluice/mlflow", version: "0.1.0" },
 *   spans: [{
 *     traceId: "0af7651916cd43dd8448eb211c80319c",
 *     spanId: "b7ad6b7169203331",
 *     name: "litellm-chat",
 *     kind: 1,
 *     startTimeUnixNano: 1_700_000_000_000_000_000n,
 *     endTimeUnixNano: 1_700_000_000_500_000_000n,
 *     attributes: [["mlflow.spanType", '"LLM"']],
 *     events: [],
 *     status: { code: 1 },
 *   }],
 * });
 * bytes[0]; // 10: field 1 (resource_spans), length-delimited
 * ```
 */
export function encodeTraceRequest(request: OtlpTraceRequest): Uint8Array<ArrayBuffer> {
  return new Writer().message(1, (rs) => {
    rs.message(1, (resource) => keyValues(resource, 1, request.resource));
    rs.message(2, (ss) => {
      ss.message(
        1,
        (scope) => scope.string(1, request.scope.name).string(2, request.scope.version),
      );
      for (const span of request.spans) {
        ss.message(2, (s) => {
          s.bytes(1, hexBytes(span.traceId)).bytes(2, hexBytes(span.spanId));
          if (span.parentSpanId) s.bytes(4, hexBytes(span.parentSpanId));
          s.string(5, span.name).uint(6, span.kind)
            .fixed64(7, span.startTimeUnixNano).fixed64(8, span.endTimeUnixNano);
          keyValues(s, 9, span.attributes);
          for (const event of span.events) {
            s.message(11, (e) => {
              e.fixed64(1, event.timeUnixNano).string(2, event.name);
              keyValues(e, 3, event.attributes);
            });
          }
          // Status: message 2, code 3.
          s.message(15, (st) => st.string(2, span.status.message).uint(3, span.status.code));
        });
      }
    });
  }).finish();
}
