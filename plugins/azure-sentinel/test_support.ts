/**
 * Test support (not published): a loopback stand-in for the Azure Monitor
 * Logs Ingestion API that checks what Microsoft documents (path with rule
 * and stream, `api-version=2023-01-01`, a bearer token Entra ID issued for
 * `https://monitor.azure.com/.default`, JSON content, at most 1 MB a
 * call) and validates every `format: table` body against the schema in
 * `tests/fixtures/schemas/azure-sentinel-table.schema.json`.
 * @module
 */
import { Ajv2020 } from "npm:ajv@8.17.1/dist/2020.js";
import addFormats from "npm:ajv-formats@3.0.1";
import type { EntraFake } from "../azure/test_support.ts";
import schema from "../../tests/fixtures/schemas/azure-sentinel-table.schema.json" with {
  type: "json",
};

const ajv = new Ajv2020({ strict: false, allErrors: true });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
const validate = ajv.compile(schema);

/** The rule and stream the stand-in serves. */
export const TEST_DCR = "dcr-00112233445566778899aabbccddeeff";
/** The stream the stand-in serves. */
export const TEST_STREAM = "Custom-SluiceCalls_CL";

/** Options of {@link startIngestionFake}. */
export interface IngestionFakeOptions {
  /** The Entra ID stand-in whose tokens are accepted. */
  entra: EntraFake;
  /** `table`: validate each record against the schema; `payload`: records are log events. */
  format?: "table" | "payload";
  /** A fixed port (to come back on the same one after an outage). */
  port?: number;
  /** An answer to give instead of accepting (called per request; undefined accepts). */
  script?: (records: unknown[]) => Response | undefined;
}

/** A running stand-in. */
export interface IngestionFake {
  /** The endpoint (`http://127.0.0.1:<port>`). */
  url: string;
  /** The port. */
  port: number;
  /** Records accepted, in order. */
  records: Record<string, unknown>[];
  /** Accepted requests' sizes in bytes. */
  sizes: number[];
  /** Requests refused by a check (what was wrong). */
  refusals: string[];
  /** Tokens the stand-in no longer accepts (answered 401). */
  revoked: Set<string>;
  /** Stops it. */
  close(): Promise<void>;
}

/** Starts the stand-in on 127.0.0.1. */
export function startIngestionFake(options: IngestionFakeOptions): IngestionFake {
  const format = options.format ?? "table";
  const fake: IngestionFake = {
    url: "",
    port: 0,
    records: [],
    sizes: [],
    refusals: [],
    revoked: new Set(),
    close: () => server.shutdown(),
  };
  const error = (status: number, code: string, message: string, why: string) => {
    fake.refusals.push(why);
    return Response.json({ error: { code, message } }, {
      status,
      headers: { "x-ms-error-code": code },
    });
  };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen() {} },
    async (req) => {
      const url = new URL(req.url);
      const bytes = new Uint8Array(await req.arrayBuffer());
      const token = req.headers.get("authorization")?.replace(/^Bearer /, "") ?? "";
      const grant = options.entra.grants.find((g) => g.token === token);
      if (!grant || fake.revoked.has(token)) {
        return error(401, "InvalidToken", "The provided token is not valid.", "token");
      }
      if (grant.scope !== "https://monitor.azure.com/.default") {
        return error(401, "InvalidAudience", "The token audience is not valid.", "scope");
      }
      if (req.method !== "POST") return error(405, "MethodNotAllowed", "POST only", "method");
      if (url.pathname !== `/dataCollectionRules/${TEST_DCR}/streams/${TEST_STREAM}`) {
        return error(404, "NotFound", "Data collection rule or stream not found.", "path");
      }
      if (url.searchParams.get("api-version") !== "2023-01-01") {
        return error(400, "InvalidApiVersion", "api-version 2023-01-01 expected.", "api-version");
      }
      if (!req.headers.get("content-type")?.startsWith("application/json")) {
        return error(415, "UnsupportedMediaType", "application/json expected.", "content-type");
      }
      if (bytes.length > 1_000_000) {
        return error(413, "ContentLengthLimitExceeded", "The request is over 1 MB.", "size");
      }
      let records: unknown;
      try {
        records = JSON.parse(new TextDecoder().decode(bytes));
      } catch {
        return error(400, "InvalidPayload", "The body is not JSON.", "json");
      }
      if (format === "table" && !validate(records)) {
        return error(400, "InvalidPayload", ajv.errorsText(validate.errors), "schema");
      }
      if (
        !Array.isArray(records) || records.length === 0 ||
        records.some((r) => typeof r !== "object" || r === null || Array.isArray(r))
      ) {
        return error(400, "InvalidPayload", "A JSON array of objects expected.", "shape");
      }
      const scripted = options.script?.(records);
      if (scripted) return scripted;
      fake.records.push(...records as Record<string, unknown>[]);
      fake.sizes.push(bytes.length);
      return new Response(null, { status: 204 });
    },
  );
  fake.port = server.addr.port;
  fake.url = `http://127.0.0.1:${fake.port}`;
  return fake;
}
