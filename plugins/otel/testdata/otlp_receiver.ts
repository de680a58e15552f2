/**
 * A loopback OTLP/HTTP traces receiver for tests: it decodes `http/json`
 * bodies with `JSON.parse` and `http/protobuf` bodies with the official
 * generated opentelemetry-proto definitions that
 * `@opentelemetry/otlp-transformer` shipped (0.216.0 is the last release
 * whose `build/src/generated/root.js` has the trace messages), and
 * normalises both to the OTLP/JSON shape (hex ids, 64-bit integers as
 * decimal strings) so tests compare them alike. Not part of the package.
 * @module
 */
import * as generatedRoot from "npm:@opentelemetry/otlp-transformer@0.216.0/build/src/generated/root.js";

/** An OTLP `AnyValue` in its JSON shape. */
export interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: KeyValue[] };
  bytesValue?: string;
}

/** An OTLP attribute. */
export interface KeyValue {
  key: string;
  value?: AnyValue;
}

/** An OTLP span in its JSON shape (normalised). */
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  traceState?: string;
  flags?: number;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: KeyValue[];
  droppedAttributesCount?: number;
  status?: { code?: number; message?: string };
}

/** One span with its resource and scope. */
export interface ReceivedSpan {
  /** The span. */
  span: OtlpSpan;
  /** Its attributes by key. */
  attributes: Record<string, AnyValue>;
  /** The resource attributes by key. */
  resource: Record<string, AnyValue>;
  /** The instrumentation scope. */
  scope: { name?: string; version?: string };
  /** The scope spans' schema URL. */
  schemaUrl?: string;
}

/** One export request as received. */
export interface ReceivedExport {
  /** Path of the request. */
  path: string;
  /** Request headers. */
  headers: Headers;
  /** The body as sent. */
  body: Uint8Array;
  /** The body as JSON exactly as sent (JSON requests only), for schema validation. */
  rawJson?: unknown;
  /** The decoded request, normalised to the OTLP/JSON shape. */
  request: { resourceSpans?: unknown[] };
  /** Its spans, flattened. */
  spans: ReceivedSpan[];
}

/** How the receiver answers: a status (and headers), or a full Response. */
export type Answer = (req: ReceivedExport) => Response | Promise<Response>;

/** A running receiver. */
export interface OtlpReceiver {
  /** `http://127.0.0.1:<port>` (the base endpoint). */
  base: string;
  /** `http://127.0.0.1:<port>/v1/traces`. */
  tracesUrl: string;
  /** Port it listens on. */
  port: number;
  /** Every export request that was answered 2xx. */
  accepted: ReceivedExport[];
  /** Every export request, whatever the answer. */
  all: ReceivedExport[];
  /** Spans of the accepted requests, in arrival order. */
  spans(): ReceivedSpan[];
  /** Replaces the answer. */
  answer(next: Answer): void;
  /** Stops the server. */
  close(): Promise<void>;
}

// deno-lint-ignore no-explicit-any
const root: any = (generatedRoot as any).default ?? generatedRoot;
const ExportTraceServiceRequest = root.opentelemetry.proto.collector.trace.v1
  .ExportTraceServiceRequest;

const toHex = (bytes: Uint8Array | number[] | string | undefined): string | undefined => {
  if (bytes === undefined) return undefined;
  if (typeof bytes === "string") {
    // protobufjs' toObject with `bytes: String` yields base64
    const bin = atob(bytes);
    return Array.from(bin, (c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("");
  }
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
};

/** Normalises a decoded value: 64-bit ints as strings everywhere. */
function normaliseValue(value: AnyValue | undefined): AnyValue | undefined {
  if (!value) return value;
  if (value.intValue !== undefined) return { intValue: String(value.intValue) };
  if (value.arrayValue) {
    return {
      arrayValue: { values: (value.arrayValue.values ?? []).map((v) => normaliseValue(v)!) },
    };
  }
  if (value.kvlistValue) {
    return {
      kvlistValue: {
        values: (value.kvlistValue.values ?? []).map((kv) => ({
          key: kv.key,
          value: normaliseValue(kv.value),
        })),
      },
    };
  }
  return value;
}

const byKey = (attributes: KeyValue[] | undefined): Record<string, AnyValue> =>
  Object.fromEntries((attributes ?? []).map((kv) => [kv.key, normaliseValue(kv.value) ?? {}]));

// deno-lint-ignore no-explicit-any
function normaliseSpan(span: any, binaryIds: boolean): OtlpSpan {
  const id = (v: unknown) => (binaryIds ? toHex(v as string) : (v as string | undefined));
  const parent = id(span.parentSpanId);
  return {
    ...span,
    traceId: id(span.traceId)!,
    spanId: id(span.spanId)!,
    parentSpanId: parent ? parent : undefined,
    startTimeUnixNano: String(span.startTimeUnixNano),
    endTimeUnixNano: String(span.endTimeUnixNano),
    kind: Number(span.kind ?? 0),
    attributes: (span.attributes ?? []).map((kv: KeyValue) => ({
      key: kv.key,
      value: normaliseValue(kv.value),
    })),
  };
}

// deno-lint-ignore no-explicit-any
function flatten(request: any, binaryIds: boolean): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of request.resourceSpans ?? []) {
    const resource = byKey(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const raw of ss.spans ?? []) {
        const span = normaliseSpan(raw, binaryIds);
        out.push({
          span,
          attributes: byKey(span.attributes),
          resource,
          scope: { name: ss.scope?.name, version: ss.scope?.version },
          schemaUrl: ss.schemaUrl,
        });
      }
    }
  }
  return out;
}

/** Decodes an export body by its content type. */
export function decodeExport(
  contentType: string,
  body: Uint8Array,
): Omit<ReceivedExport, "path" | "headers"> {
  if (contentType.includes("application/json")) {
    const rawJson = JSON.parse(new TextDecoder().decode(body));
    return { body, rawJson, request: rawJson, spans: flatten(rawJson, false) };
  }
  if (contentType.includes("application/x-protobuf")) {
    const message = ExportTraceServiceRequest.decode(body);
    const request = ExportTraceServiceRequest.toObject(message, {
      longs: String,
      bytes: String,
      enums: Number,
    });
    return { body, request, spans: flatten(request, true) };
  }
  throw new Error(`unexpected content-type ${contentType}`);
}

/** Starts a receiver on 127.0.0.1 (a random port unless `port` is given). */
export function startOtlpReceiver(options: { port?: number; answer?: Answer } = {}): OtlpReceiver {
  const accepted: ReceivedExport[] = [];
  const all: ReceivedExport[] = [];
  let answer: Answer = options.answer ?? (() => Response.json({}));
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen() {} },
    async (req) => {
      const body = new Uint8Array(await req.arrayBuffer());
      const contentType = req.headers.get("content-type") ?? "";
      let received: ReceivedExport;
      try {
        received = {
          path: new URL(req.url).pathname,
          headers: req.headers,
          ...decodeExport(contentType, body),
        };
      } catch (error) {
        return Response.json({ code: 3, message: String(error) }, { status: 400 });
      }
      all.push(received);
      const res = await answer(received);
      if (res.status >= 200 && res.status < 300) accepted.push(received);
      return res;
    },
  );
  const port = server.addr.port;
  return {
    base: `http://127.0.0.1:${port}`,
    tracesUrl: `http://127.0.0.1:${port}/v1/traces`,
    port,
    accepted,
    all,
    spans: () => accepted.flatMap((r) => r.spans),
    answer(next) {
      answer = next;
    },
    close: () => server.shutdown(),
  };
}

/** The JS value of an `AnyValue` (ints as numbers). */
export function valueOf(value: AnyValue | undefined): unknown {
  if (!value) return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(valueOf);
  if (value.kvlistValue) {
    return Object.fromEntries(
      (value.kvlistValue.values ?? []).map((kv) => [kv.key, valueOf(kv.value)]),
    );
  }
  return undefined;
}

/** The one wait-for-a-condition helper, from the conformance kit. */
export { until } from "@sluice/core/testing";
