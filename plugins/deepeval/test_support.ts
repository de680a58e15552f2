/**
 * Test support (not published): a loopback Confident AI API on 127.0.0.1
 * that takes `POST /v1/traces`, checks the `CONFIDENT_API_KEY` header
 * (401 for a missing or unknown key), validates every body against
 * `tests/fixtures/schemas/deepeval-trace.schema.json` (see
 * `deepeval.SOURCE.md`) plus the span rules of Confident AI's docs (times
 * within the trace's, no span parented to the trace's uuid), stores the
 * traces it accepted and answers `{ success: true, data: { id } }`. Used by
 * this package's tests and `tests/deepeval_gateway_test.ts`.
 * @module
 */
import { Ajv2020 } from "npm:ajv@8.17.1/dist/2020.js";
import addFormatsModule from "npm:ajv-formats@3.0.1";
import type { ConfidentTrace } from "./trace.ts";

/** The project API key the receiver accepts by default. */
export const TEST_CONFIDENT_KEY = "confident_us_test_3a9c1d7e5b";

const addFormats = addFormatsModule as unknown as (ajv: unknown, formats?: string[]) => void;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv, ["date-time"]);
const validate = ajv.compile(
  JSON.parse(
    Deno.readTextFileSync(
      new URL("../../tests/fixtures/schemas/deepeval-trace.schema.json", import.meta.url),
    ),
  ),
);

/** A running loopback Confident AI API. */
export interface ConfidentReceiver {
  /** `http://127.0.0.1:<port>`: a sink's `endpoint_url` (`CONFIDENT_BASE_URL`). */
  url: string;
  /** Its port. */
  port: number;
  /** Every request: path, headers, status answered, body. */
  requests: { path: string; headers: Headers; status: number; body: unknown }[];
  /** Everything wrong with what was sent; empty when all was right. */
  problems: string[];
  /** The traces it accepted, in order. */
  traces: ConfidentTrace[];
  /** Stops it. */
  close(): Promise<void>;
}

/** The span rules of Confident AI's docs that a JSON Schema cannot say. */
function spanProblems(trace: ConfidentTrace): string[] {
  const problems: string[] = [];
  const start = Date.parse(trace.startTime);
  const end = Date.parse(trace.endTime);
  if (end < start) problems.push(`trace ${trace.uuid} ends before it starts`);
  for (const span of trace.llmSpans ?? []) {
    const s = Date.parse(span.startTime);
    const e = Date.parse(span.endTime);
    if (s < start || e > end || e < s) problems.push(`span ${span.uuid} outside its trace`);
    const parent = (span as { parentUuid?: string }).parentUuid;
    if (parent === trace.uuid) problems.push(`span ${span.uuid} names the trace as its parent`);
    if (span.uuid === trace.uuid) problems.push(`span ${span.uuid} has the trace's uuid`);
  }
  return problems;
}

/**
 * Starts a loopback Confident AI API; `answer(n)` may replace the status
 * of the n-th request (1-based), e.g. to play an outage.
 */
export function startConfidentReceiver(
  options: {
    apiKey?: string;
    port?: number;
    answer?: (n: number, body: unknown) => number | undefined;
  } = {},
): ConfidentReceiver {
  const apiKey = options.apiKey ?? TEST_CONFIDENT_KEY;
  const requests: ConfidentReceiver["requests"] = [];
  const problems: string[] = [];
  const traces: ConfidentTrace[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen() {} },
    async (req) => {
      const path = new URL(req.url).pathname;
      let body: unknown;
      try {
        body = await req.json();
      } catch (error) {
        problems.push(`unparseable body: ${error}`);
      }
      const key = req.headers.get("CONFIDENT_API_KEY");
      let status = key === apiKey ? 200 : 401;
      if (path !== "/v1/traces" || req.method !== "POST") status = 404;
      if (status === 200 && req.headers.get("content-type") !== "application/json") {
        problems.push(`content-type ${req.headers.get("content-type")}`);
      }
      status = options.answer?.(requests.length + 1, body) ?? status;
      requests.push({ path, headers: req.headers, status, body });
      if (status !== 200) {
        return Response.json({ success: false, error: `answer ${status}` }, { status });
      }
      if (!validate(body)) problems.push(ajv.errorsText(validate.errors));
      const trace = body as ConfidentTrace;
      problems.push(...spanProblems(trace));
      traces.push(trace);
      return Response.json({
        success: true,
        data: { id: trace.uuid },
        link: `https://app.confident-ai.com/project/test/observatory/traces/${trace.uuid}`,
      });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    port: server.addr.port,
    requests,
    problems,
    traces,
    close: () => server.shutdown(),
  };
}
