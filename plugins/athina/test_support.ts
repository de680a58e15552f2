/**
 * Test support (not published): a loopback Athina logging API on
 * 127.0.0.1 that takes `POST /api/v1/log/inference`, checks the
 * `athina-api-key` header (401 for a missing or unknown key), validates
 * every body against `tests/fixtures/schemas/athina-inference.schema.json`
 * (see `athina.SOURCE.md`) and stores the logs it accepted. Used by this
 * package's tests and `tests/athina_gateway_test.ts`.
 * @module
 */
import { Ajv2020 } from "npm:ajv@8.17.1/dist/2020.js";
import type { AthinaInference } from "./inference.ts";

/** The API key the receiver accepts by default. */
export const TEST_ATHINA_KEY = "athina-test-key-7c1f0e9a2b";

const ajv = new Ajv2020({ strict: false, allErrors: true });
const validate = ajv.compile(
  JSON.parse(
    Deno.readTextFileSync(
      new URL("../../tests/fixtures/schemas/athina-inference.schema.json", import.meta.url),
    ),
  ),
);

/** A running loopback Athina logging API. */
export interface AthinaReceiver {
  /** `http://127.0.0.1:<port>`: a sink's `endpoint_url` (`ATHINA_BASE_URL`). */
  url: string;
  /** Its port. */
  port: number;
  /** Every request: path, headers, status answered, body. */
  requests: { path: string; headers: Headers; status: number; body: unknown }[];
  /** Everything wrong with what was sent; empty when all was right. */
  problems: string[];
  /** The logs it accepted, in order. */
  logs: AthinaInference[];
  /** Stops it. */
  close(): Promise<void>;
}

/**
 * Starts a loopback Athina logging API; `answer(n)` may replace the status
 * of the n-th request (1-based), e.g. to play an outage.
 */
export function startAthinaReceiver(
  options: {
    apiKey?: string;
    port?: number;
    answer?: (n: number, body: unknown) => number | undefined;
  } = {},
): AthinaReceiver {
  const apiKey = options.apiKey ?? TEST_ATHINA_KEY;
  const requests: AthinaReceiver["requests"] = [];
  const problems: string[] = [];
  const logs: AthinaInference[] = [];
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
      const key = req.headers.get("athina-api-key");
      let status = key === apiKey ? 200 : 401;
      if (path !== "/api/v1/log/inference" || req.method !== "POST") status = 404;
      if (status === 200 && req.headers.get("content-type") !== "application/json") {
        problems.push(`content-type ${req.headers.get("content-type")}`);
      }
      status = options.answer?.(requests.length + 1, body) ?? status;
      requests.push({ path, headers: req.headers, status, body });
      if (status !== 200) {
        return Response.json({ error: `answer ${status}` }, { status });
      }
      if (!validate(body)) problems.push(ajv.errorsText(validate.errors));
      logs.push(body as AthinaInference);
      return Response.json({ status: "success", data: { prompt_run_id: crypto.randomUUID() } });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    port: server.addr.port,
    requests,
    problems,
    logs,
    close: () => server.shutdown(),
  };
}
