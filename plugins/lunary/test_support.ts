/**
 * Test support (not published): a loopback Lunary API on 127.0.0.1 that
 * takes `POST /v1/runs/ingest`, checks `Authorization: Bearer <public
 * key>` (402 for a key that is not a UUID, 401 for an unknown project, as
 * Lunary answers), validates every body against
 * `tests/fixtures/schemas/lunary-ingest.schema.json` (see
 * `lunary.SOURCE.md`), and stores runs as Lunary's handler does: a `start`
 * creates the run (a duplicate is refused in its result), an `end` or
 * `error` completes it. Used by this package's tests and
 * `tests/lunary_gateway_test.ts`.
 * @module
 */
import { Ajv2020 } from "npm:ajv@8.17.1/dist/2020.js";
import addFormatsModule from "npm:ajv-formats@3.0.1";
import type { LunaryEvent } from "./events.ts";

/** The project public key the receiver accepts by default. */
export const TEST_LUNARY_KEY = "5d7c6b1a-3f2e-4c8d-9a0b-1e2f3a4b5c6d";

const addFormats = addFormatsModule as unknown as (ajv: unknown, formats?: string[]) => void;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv, ["date-time"]);
const validate = ajv.compile(
  JSON.parse(
    Deno.readTextFileSync(
      new URL("../../tests/fixtures/schemas/lunary-ingest.schema.json", import.meta.url),
    ),
  ),
);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A run as the receiver stored it. */
export interface StoredRun {
  /** The `start` event. */
  start: LunaryEvent;
  /** The `end` or `error` event, once received. */
  finish?: LunaryEvent;
}

/** A running loopback Lunary API. */
export interface LunaryReceiver {
  /** `http://127.0.0.1:<port>`: a sink's `endpoint_url` (`LUNARY_API_URL`). */
  url: string;
  /** Its port. */
  port: number;
  /** Every request: path, headers, status answered, body. */
  requests: { path: string; headers: Headers; status: number; body: unknown }[];
  /** Everything wrong with what was sent; empty when all was right. */
  problems: string[];
  /** Runs by id. */
  runs: Map<string, StoredRun>;
  /** Stops it. */
  close(): Promise<void>;
}

/** Starts a loopback Lunary API. */
export function startLunaryReceiver(
  options: { publicKey?: string; port?: number; answer?: (n: number) => number | undefined } = {},
): LunaryReceiver {
  const publicKey = options.publicKey ?? TEST_LUNARY_KEY;
  const requests: LunaryReceiver["requests"] = [];
  const problems: string[] = [];
  const runs = new Map<string, StoredRun>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen() {} },
    async (req) => {
      const path = new URL(req.url).pathname;
      let body: { events?: LunaryEvent | LunaryEvent[] } | undefined;
      try {
        body = await req.json();
      } catch (error) {
        problems.push(`unparseable body: ${error}`);
      }
      const key = req.headers.get("authorization")?.replace(/^Bearer /, "") ?? "";
      let status = !UUID.test(key) ? 402 : key === publicKey ? 200 : 401;
      if (path !== "/v1/runs/ingest" || req.method !== "POST") status = 404;
      status = options.answer?.(requests.length + 1) ?? status;
      requests.push({ path, headers: req.headers, status, body });
      if (status !== 200) {
        return Response.json({ message: `answer ${status}` }, { status });
      }
      if (!validate(body)) problems.push(ajv.errorsText(validate.errors));
      const events = Array.isArray(body?.events) ? body.events : body?.events ? [body.events] : [];
      const results = [];
      for (
        const event of [...events].sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp))
      ) {
        if (!UUID.test(event.runId)) problems.push(`runId ${event.runId} is not a UUID`);
        if (event.event === "start") {
          if (runs.has(event.runId)) {
            results.push({
              id: event.runId,
              success: false,
              error: "Run with this ID already exists in the database.",
            });
            continue;
          }
          runs.set(event.runId, { start: event });
        } else {
          const run = runs.get(event.runId);
          if (!run) problems.push(`${event.event} of run ${event.runId} without a start`);
          else run.finish = event;
        }
        results.push({ id: event.runId, success: true });
      }
      return Response.json({ results });
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
