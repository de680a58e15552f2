/**
 * Test support (not published): a loopback LangSmith API on 127.0.0.1
 * that takes `POST /runs/batch`, checks `x-api-key` (401 otherwise, as
 * LangSmith answers), validates every body against
 * `tests/fixtures/schemas/langsmith-runs-batch.schema.json` (see
 * `langsmith.SOURCE.md`) and the dotted-order rules the run format
 * implies, and upserts runs by id as LangSmith does. Used by this
 * package's tests and `tests/langsmith_gateway_test.ts`.
 * @module
 */
import { Ajv2020 } from "npm:ajv@8.17.1/dist/2020.js";
import addFormatsModule from "npm:ajv-formats@3.0.1";
import type { LangSmithRun } from "./runs.ts";

/** The API key the receiver accepts by default. */
export const TEST_LANGSMITH_KEY = "lsv2_pt_0123456789abcdef0123456789abcdef_0123456789";

const addFormats = addFormatsModule as unknown as (ajv: unknown, formats?: string[]) => void;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv, ["date-time"]);
const validateBatch = ajv.compile(
  JSON.parse(
    Deno.readTextFileSync(
      new URL("../../tests/fixtures/schemas/langsmith-runs-batch.schema.json", import.meta.url),
    ),
  ),
);

/**
 * Problems of a `/runs/batch` body (empty when valid): the schema, and
 * per run the dotted order's last segment naming the run, its first the
 * trace, and its time matching `start_time`.
 */
export function batchProblems(body: unknown): string[] {
  const problems = validateBatch(body) ? [] : [ajv.errorsText(validateBatch.errors)];
  const runs = (body as { post?: LangSmithRun[] })?.post ?? [];
  for (const [i, run] of runs.entries()) {
    const segments = String(run.dotted_order).split(".");
    const last = segments.at(-1) ?? "";
    const first = segments[0];
    if (!last.endsWith(`Z${run.id}`)) {
      problems.push(`post[${i}]: dotted_order does not end with its id`);
    }
    if (!first.endsWith(`Z${run.trace_id}`)) {
      problems.push(`post[${i}]: dotted_order does not start with the trace's root`);
    }
    if (segments.length > 1 && !segments.at(-2)?.endsWith(`Z${run.parent_run_id}`)) {
      problems.push(`post[${i}]: dotted_order's parent is not parent_run_id`);
    }
    const time = String(run.start_time).replace(/[-:.]/g, "").replace(/Z$/, "");
    if (!last.startsWith(time)) {
      problems.push(`post[${i}]: start_time ${run.start_time} != ${last}`);
    }
  }
  return problems;
}

/** A running loopback LangSmith API. */
export interface LangSmithReceiver {
  /** `http://127.0.0.1:<port>`: a sink's `endpoint_url`. */
  url: string;
  /** Its port. */
  port: number;
  /** Every request: path, headers, status answered. */
  requests: { path: string; headers: Headers; status: number; body: unknown }[];
  /** Everything wrong with what was sent; empty when all was right. */
  problems: string[];
  /** The runs stored, by id (a run posted twice is stored once). */
  runs: Map<string, LangSmithRun>;
  /** Stops it. */
  close(): Promise<void>;
}

/** Starts a loopback LangSmith API. */
export function startLangSmithReceiver(
  options: { apiKey?: string; port?: number; answer?: (n: number) => number | undefined } = {},
): LangSmithReceiver {
  const apiKey = options.apiKey ?? TEST_LANGSMITH_KEY;
  const requests: LangSmithReceiver["requests"] = [];
  const problems: string[] = [];
  const runs = new Map<string, LangSmithRun>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen() {} },
    async (req) => {
      const path = new URL(req.url).pathname;
      let body: unknown;
      try {
        body = await req.json();
      } catch (error) {
        problems.push(`${path}: unparseable body: ${error}`);
      }
      let status = req.headers.get("x-api-key") === apiKey ? 202 : 401;
      if (path !== "/runs/batch" || req.method !== "POST") status = 404;
      status = options.answer?.(requests.length + 1) ?? status;
      requests.push({ path, headers: req.headers, status, body });
      if (req.headers.get("content-type") !== "application/json") {
        problems.push(`content-type ${req.headers.get("content-type")}`);
      }
      if (path === "/runs/batch") problems.push(...batchProblems(body));
      if (status >= 200 && status < 300) {
        for (const run of (body as { post?: LangSmithRun[] }).post ?? []) runs.set(run.id, run);
        return Response.json({}, { status });
      }
      return Response.json({ detail: status === 401 ? "Invalid token" : `answer ${status}` }, {
        status,
      });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    port: server.addr.port,
    requests,
    problems,
    runs,
    close: () => server.shutdown(),
  };
}
