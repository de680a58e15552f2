/**
 * Test support (not published): a loopback Langfuse server that checks
 * Basic auth and the `x-langfuse-ingestion-version` header, decodes OTLP
 * export requests (JSON with `JSON.parse`, protobuf with the generated
 * opentelemetry-proto definitions that `@opentelemetry/otlp-transformer`
 * 0.216.0 shipped, independently of the sink's own serializer), validates
 * JSON bodies against the schemas copied into `tests/fixtures/schemas/`
 * (`otlp-trace-export.schema.json`, `langfuse-ingestion.schema.json`, with
 * Ajv's 2020-12 dialect and RFC 3339 `date-time` checks), and answers the
 * batch API with per-event 207 results a test can script. Used by this
 * package's tests and by `tests/langfuse_*_test.ts`.
 * @module
 */
import * as generatedRoot from "npm:@opentelemetry/otlp-transformer@0.216.0/build/src/generated/root.js";
import { Ajv2020 } from "npm:ajv@8.17.1/dist/2020.js";
import addFormatsModule from "npm:ajv-formats@3.0.1";

/** The keys the receiver accepts by default. */
export const TEST_PUBLIC_KEY = "pk-lf-sluice-test";
/** The secret the receiver accepts by default. */
export const TEST_SECRET_KEY = "sk-lf-sluice-test-secret";

const FIXTURES = new URL("../../tests/fixtures/schemas/", import.meta.url);
const readJson = (name: string): Record<string, unknown> =>
  JSON.parse(Deno.readTextFileSync(new URL(name, FIXTURES)));

const addFormats = addFormatsModule as unknown as (ajv: unknown, formats?: string[]) => void;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv, ["date-time"]);
const validateOtlp = ajv.compile(readJson("otlp-trace-export.schema.json"));
const validateIngestion = ajv.compile(readJson("langfuse-ingestion.schema.json"));

/** Schema problems of an OTLP/JSON export body (empty when valid). */
export function otlpSchemaErrors(body: unknown): string[] {
  return validateOtlp(body) ? [] : [ajv.errorsText(validateOtlp.errors)];
}

/**
 * Schema problems of an ingestion body (empty when valid), plus the
 * server's own rules the spec does not state: every event and body
 * timestamp ISO 8601 with an offset, event ids unique and non-empty,
 * `body.id` set on observations.
 */
export function ingestionSchemaErrors(body: unknown): string[] {
  const problems = validateIngestion(body) ? [] : [ajv.errorsText(validateIngestion.errors)];
  const batch = (body as { batch?: unknown })?.batch;
  if (!Array.isArray(batch)) return [...problems, "batch is not an array"];
  const ids = new Set<string>();
  const offset = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
  for (const [i, event] of batch.entries()) {
    if (typeof event?.id !== "string" || !event.id) problems.push(`batch[${i}].id missing`);
    else if (ids.has(event.id)) problems.push(`batch[${i}].id ${event.id} repeated`);
    else ids.add(event.id);
    if (!offset.test(String(event?.timestamp))) {
      problems.push(`batch[${i}].timestamp has no offset`);
    }
    for (const key of ["timestamp", "startTime", "endTime", "completionStartTime"]) {
      const value = event?.body?.[key];
      if (value !== undefined && !offset.test(String(value))) {
        problems.push(`batch[${i}].body.${key} has no offset`);
      }
    }
    if (event?.type !== "trace-create" && !event?.body?.id) {
      problems.push(`batch[${i}].body.id missing`);
    }
  }
  return problems;
}

/** One span as received, attributes as plain values. */
export interface ReceivedSpan {
  /** Trace id, hex. */
  traceId: string;
  /** Span id, hex. */
  spanId: string;
  /** Parent span id, hex, if any. */
  parentSpanId?: string;
  /** Span name. */
  name: string;
  /** Span kind (3 = CLIENT in OTLP numbering). */
  kind: number;
  /** Start, ns since the epoch, as a decimal string. */
  startTimeUnixNano: string;
  /** End, ns since the epoch. */
  endTimeUnixNano: string;
  /** Status (`code` 1 OK, 2 ERROR). */
  status: { code?: number; message?: string };
  /** Attributes by key (ints as numbers, arrays as arrays). */
  attributes: Record<string, unknown>;
  /** Resource attributes by key. */
  resource: Record<string, unknown>;
  /** Instrumentation scope. */
  scope: { name?: string; version?: string };
}

/** One request as received. */
export interface ReceivedRequest {
  /** Path of the request. */
  path: string;
  /** Request headers. */
  headers: Headers;
  /** The raw body. */
  body: Uint8Array;
  /** `otel` or `ingestion` (by path). */
  kind: "otel" | "ingestion" | "other";
  /** The JSON body as sent (JSON requests only). */
  json?: unknown;
  /** Spans of an OTLP request. */
  spans: ReceivedSpan[];
  /** Events of an ingestion request. */
  batch: IngestionEventJson[];
  /** Schema and protocol problems found in the request. */
  problems: string[];
}

/** An ingestion event as received. */
export interface IngestionEventJson {
  /** Event id. */
  id: string;
  /** Event type. */
  type: string;
  /** Event timestamp. */
  timestamp: string;
  /** The trace or observation. */
  // deno-lint-ignore no-explicit-any
  body: Record<string, any>;
}

/**
 * How the receiver answers a request: a Response, or undefined for the
 * default (200 `{}` for OTLP; 207 with every event a 201 for ingestion).
 */
export type Answer = (req: ReceivedRequest) => Response | undefined | Promise<Response | undefined>;

/** Options of {@link startLangfuseReceiver}. */
export interface LangfuseReceiverOptions {
  /** Port (default: random). */
  port?: number;
  /** Public key accepted (default {@link TEST_PUBLIC_KEY}). */
  publicKey?: string;
  /** Secret key accepted (default {@link TEST_SECRET_KEY}). */
  secretKey?: string;
  /** The scripted answer. */
  answer?: Answer;
}

/** A running receiver. */
export interface LangfuseReceiver {
  /** `http://127.0.0.1:<port>` (the sink's `host`). */
  host: string;
  /** The port. */
  port: number;
  /** Every request, whatever the answer. */
  all: ReceivedRequest[];
  /** Requests answered 2xx. */
  accepted: ReceivedRequest[];
  /** Requests refused for bad credentials. */
  unauthorized: ReceivedRequest[];
  /** Spans of accepted requests. */
  spans(): ReceivedSpan[];
  /** Ingestion events of accepted requests that the answer reported as stored (201). */
  stored(): IngestionEventJson[];
  /** Every schema or protocol problem seen. */
  problems(): string[];
  /** Replaces the scripted answer. */
  answer(next: Answer): void;
  /** Stops the server. */
  close(): Promise<void>;
}

// deno-lint-ignore no-explicit-any
const root: any = (generatedRoot as any).default ?? generatedRoot;
const ExportTraceServiceRequest = root.opentelemetry.proto.collector.trace.v1
  .ExportTraceServiceRequest;

const base64ToHex = (b64: string | undefined): string | undefined => {
  if (!b64) return undefined;
  return Array.from(atob(b64), (c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("");
};

// deno-lint-ignore no-explicit-any
type Any = any;

/** An OTLP `AnyValue` (JSON shape) as a plain value. */
export function plainValue(value: Any): unknown {
  if (!value) return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(plainValue);
  if (value.kvlistValue) {
    return Object.fromEntries(
      (value.kvlistValue.values ?? []).map((kv: Any) => [kv.key, plainValue(kv.value)]),
    );
  }
  return undefined;
}

const attributesOf = (list: Any[] | undefined): Record<string, unknown> =>
  Object.fromEntries((list ?? []).map((kv) => [kv.key, plainValue(kv.value)]));

function flatten(request: Any, binaryIds: boolean): ReceivedSpan[] {
  const id = (v: unknown) => (binaryIds ? base64ToHex(v as string) : (v as string | undefined));
  const out: ReceivedSpan[] = [];
  for (const rs of request?.resourceSpans ?? []) {
    const resource = attributesOf(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const span of ss.spans ?? []) {
        out.push({
          traceId: id(span.traceId) ?? "",
          spanId: id(span.spanId) ?? "",
          parentSpanId: id(span.parentSpanId) || undefined,
          name: span.name,
          kind: Number(span.kind ?? 0),
          startTimeUnixNano: String(span.startTimeUnixNano),
          endTimeUnixNano: String(span.endTimeUnixNano),
          status: { code: span.status?.code, message: span.status?.message },
          attributes: attributesOf(span.attributes),
          resource,
          scope: { name: ss.scope?.name, version: ss.scope?.version },
        });
      }
    }
  }
  return out;
}

function decodeOtlp(req: ReceivedRequest, contentType: string): void {
  if (contentType.includes("application/json")) {
    req.json = JSON.parse(new TextDecoder().decode(req.body));
    req.problems.push(...otlpSchemaErrors(req.json));
    req.spans = flatten(req.json, false);
  } else if (contentType.includes("application/x-protobuf")) {
    const message = ExportTraceServiceRequest.decode(req.body);
    const request = ExportTraceServiceRequest.toObject(message, {
      longs: String,
      bytes: String,
      enums: Number,
    });
    req.spans = flatten(request, true);
  } else {
    req.problems.push(`unexpected content-type ${contentType}`);
  }
  for (const span of req.spans) {
    if (!/^[0-9a-f]{32}$/.test(span.traceId)) req.problems.push(`bad traceId ${span.traceId}`);
    if (!/^[0-9a-f]{16}$/.test(span.spanId)) req.problems.push(`bad spanId ${span.spanId}`);
  }
}

/**
 * Starts a loopback Langfuse server. `POST /…/api/public/otel/v1/traces`
 * and `POST /…/api/public/ingestion` (under any path prefix) are decoded
 * and checked; a wrong `Authorization` gets 401; an
 * `x-langfuse-ingestion-version` above 4 gets Langfuse's 400.
 *
 * @param options Port, keys and the scripted answer.
 * @returns The receiver.
 */
export function startLangfuseReceiver(options: LangfuseReceiverOptions = {}): LangfuseReceiver {
  const publicKey = options.publicKey ?? TEST_PUBLIC_KEY;
  const secretKey = options.secretKey ?? TEST_SECRET_KEY;
  const expected = `Basic ${btoa(`${publicKey}:${secretKey}`)}`;
  const all: ReceivedRequest[] = [];
  const accepted: ReceivedRequest[] = [];
  const unauthorized: ReceivedRequest[] = [];
  const stored: IngestionEventJson[] = [];
  let answer: Answer = options.answer ?? (() => undefined);

  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen() {} },
    async (request) => {
      const path = new URL(request.url).pathname;
      const req: ReceivedRequest = {
        path,
        headers: request.headers,
        body: new Uint8Array(await request.arrayBuffer()),
        kind: path.endsWith("/api/public/otel/v1/traces")
          ? "otel"
          : path.endsWith("/api/public/ingestion")
          ? "ingestion"
          : "other",
        spans: [],
        batch: [],
        problems: [],
      };
      all.push(req);
      if (request.method !== "POST") req.problems.push(`method ${request.method}`);
      if (request.headers.get("authorization") !== expected) {
        unauthorized.push(req);
        return Response.json({ message: "Invalid credentials" }, { status: 401 });
      }
      const contentType = request.headers.get("content-type") ?? "";
      try {
        if (req.kind === "otel") {
          const version = request.headers.get("x-langfuse-ingestion-version");
          if (version !== null && (!/^\d+$/.test(version) || Number(version) > 4)) {
            return Response.json({
              error:
                `Unsupported x-langfuse-ingestion-version: "${version}". Maximum supported: "4".`,
            }, { status: 400 });
          }
          decodeOtlp(req, contentType);
        } else if (req.kind === "ingestion") {
          if (!contentType.includes("application/json")) {
            req.problems.push(`unexpected content-type ${contentType}`);
          }
          req.json = JSON.parse(new TextDecoder().decode(req.body));
          req.problems.push(...ingestionSchemaErrors(req.json));
          req.batch = (req.json as { batch?: IngestionEventJson[] }).batch ?? [];
        } else {
          req.problems.push(`unexpected path ${path}`);
        }
      } catch (error) {
        req.problems.push(`undecodable body: ${error}`);
        return Response.json({ error: String(error) }, { status: 400 });
      }
      const scripted = await answer(req);
      let res = scripted;
      if (!res) {
        res = req.kind === "ingestion"
          ? Response.json({
            successes: req.batch.map((e) => ({ id: e.id, status: 201 })),
            errors: [],
          }, { status: 207 })
          : Response.json({});
      }
      if (res.status >= 200 && res.status < 300) {
        accepted.push(req);
        if (req.kind === "ingestion") {
          const copy = res.clone();
          const text = await copy.text();
          let failed = new Set<string>();
          try {
            const parsed = JSON.parse(text) as { errors?: { id: string }[] };
            failed = new Set((parsed.errors ?? []).map((e) => e.id));
          } catch {
            // no per-event answer: everything stored
          }
          stored.push(...req.batch.filter((e) => !failed.has(e.id)));
        }
      }
      return res;
    },
  );
  const port = server.addr.port;
  return {
    host: `http://127.0.0.1:${port}`,
    port,
    all,
    accepted,
    unauthorized,
    spans: () => accepted.flatMap((r) => r.spans),
    stored: () => [...stored],
    problems: () => all.flatMap((r) => r.problems),
    answer(next) {
      answer = next;
    },
    close: () => server.shutdown(),
  };
}

/** The one wait-for-a-condition helper, from the conformance kit. */
export { until } from "@sluice/core/testing";

/** Parses a JSON-string attribute (the `langfuse.*` JSON values). */
export function jsonAttribute(value: unknown): unknown {
  if (typeof value !== "string") throw new Error(`expected a JSON string, got ${typeof value}`);
  return JSON.parse(value);
}
