/**
 * Test support (not published): a loopback Datadog intake on 127.0.0.1
 * that serves both `POST /api/v2/logs` and `POST
 * /api/intake/llm-obs/v1/trace/spans`, checks `DD-API-KEY`, gunzips
 * `Content-Encoding: gzip` bodies, enforces Datadog's request limits
 * (5 MB uncompressed, 1,000 log entries) and validates every body against
 * the schemas in `tests/fixtures/schemas/` (written from Datadog's API
 * references; see `datadog.SOURCE.md`). Used by this package's tests and
 * `tests/datadog_gateway_test.ts`.
 * @module
 */
import { Ajv2020 } from "npm:ajv@8.17.1/dist/2020.js";
import type { DatadogLogItem, LlmObsSpan, LlmObsSpansRequest } from "./records.ts";

/** The API key the receiver accepts by default. */
export const TEST_DD_API_KEY = "dd0123456789abcdef0123456789abcd";

const FIXTURES = new URL("../../tests/fixtures/schemas/", import.meta.url);
const readJson = (name: string): Record<string, unknown> =>
  JSON.parse(Deno.readTextFileSync(new URL(name, FIXTURES)));

const ajv = new Ajv2020({ strict: false, allErrors: true });
const validateLogs = ajv.compile(readJson("datadog-logs.schema.json"));
const validateSpans = ajv.compile(readJson("datadog-llmobs-spans.schema.json"));

/** Schema problems of a Logs intake body (empty when valid). */
export function logsSchemaErrors(body: unknown): string[] {
  return validateLogs(body) ? [] : [ajv.errorsText(validateLogs.errors)];
}

/** Schema problems of an LLM Observability spans body (empty when valid). */
export function spansSchemaErrors(body: unknown): string[] {
  return validateSpans(body) ? [] : [ajv.errorsText(validateSpans.errors)];
}

/** One request the intake received. */
export interface DatadogRequest {
  /** `/api/v2/logs` or `/api/intake/llm-obs/v1/trace/spans` (or anything else sent). */
  path: string;
  /** The request headers. */
  headers: Headers;
  /** The body, gunzipped when it was gzip. */
  text: string;
  /** Bytes on the wire. */
  wireBytes: number;
  /** The status answered. */
  status: number;
}

/** A running loopback Datadog intake. */
export interface DatadogReceiver {
  /** `http://127.0.0.1:<port>`: a sink's `endpoint_url`. */
  url: string;
  /** Its port. */
  port: number;
  /** Every request, in order. */
  requests: DatadogRequest[];
  /** Everything wrong with what was sent (schema, limits, encoding); empty when all was right. */
  problems: string[];
  /** Log items of the requests answered 2xx. */
  logs(): DatadogLogItem[];
  /** Spans requests answered 2xx. */
  spanRequests(): LlmObsSpansRequest[];
  /** Spans of the requests answered 2xx. */
  spans(): LlmObsSpan[];
  /** Stops it. */
  close(): Promise<void>;
}

/** Options of {@link startDatadogReceiver}. */
export interface DatadogReceiverOptions {
  /** The key it accepts (default {@link TEST_DD_API_KEY}); other keys get 403, as Datadog answers. */
  apiKey?: string;
  /** The port (default: a random one). */
  port?: number;
  /** Answers the n-th request (from 1) with this status instead of 202 (when it returns one). */
  answer?: (n: number, path: string) => number | undefined;
}

/** Starts a loopback Datadog intake. */
export function startDatadogReceiver(options: DatadogReceiverOptions = {}): DatadogReceiver {
  const apiKey = options.apiKey ?? TEST_DD_API_KEY;
  const requests: DatadogRequest[] = [];
  const problems: string[] = [];
  const bodies: { path: string; status: number; body: unknown }[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen() {} },
    async (req) => {
      const path = new URL(req.url).pathname;
      const wire = new Uint8Array(await req.arrayBuffer());
      let text: string;
      if (req.headers.get("content-encoding") === "gzip") {
        const stream = new Blob([wire]).stream().pipeThrough(new DecompressionStream("gzip"));
        text = await new Response(stream).text();
      } else {
        text = new TextDecoder().decode(wire);
      }
      let status = 202;
      if (req.headers.get("dd-api-key") !== apiKey) status = 403;
      else if (req.method !== "POST") status = 405;
      else if (new TextEncoder().encode(text).byteLength > 5_000_000) {
        status = 413;
        problems.push(`${path}: a body over 5 MB uncompressed`);
      }
      status = options.answer?.(requests.length + 1, path) ?? status;
      requests.push({ path, headers: req.headers, text, wireBytes: wire.byteLength, status });
      if (req.headers.get("content-type") !== "application/json") {
        problems.push(`${path}: content-type ${req.headers.get("content-type")}`);
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (error) {
        problems.push(`${path}: unparseable body: ${error}`);
      }
      if (path === "/api/v2/logs") problems.push(...logsSchemaErrors(body));
      else if (path === "/api/intake/llm-obs/v1/trace/spans") {
        problems.push(...spansSchemaErrors(body));
        if (req.headers.get("content-encoding")) problems.push(`${path}: a compressed body`);
      } else problems.push(`unexpected path ${path}`);
      bodies.push({ path, status, body });
      if (status === 403) {
        return Response.json({ errors: ["Forbidden"] }, { status });
      }
      if (status >= 300) {
        return Response.json({ errors: [`intake answers ${status}`] }, { status });
      }
      return Response.json({}, { status });
    },
  );
  const ok = (path: string) =>
    bodies.filter((b) => b.path === path && b.status >= 200 && b.status < 300).map((b) => b.body);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    port: server.addr.port,
    requests,
    problems,
    logs: () => ok("/api/v2/logs").flat() as DatadogLogItem[],
    spanRequests: () => ok("/api/intake/llm-obs/v1/trace/spans") as LlmObsSpansRequest[],
    spans: () =>
      (ok("/api/intake/llm-obs/v1/trace/spans") as LlmObsSpansRequest[]).flatMap((b) =>
        b.data.attributes.spans
      ),
    close: () => server.shutdown(),
  };
}
