/**
 * The OTLP/HTTP endpoints: `POST /v1/traces` and `/v1/logs`, and Portkey's
 * `/v1/otel/v1/traces` and `/v1/otel/v1/logs`. The request thread only
 * authenticates, reads the body within limits (gzip undone) and hands the
 * bytes to the log side, which decodes, redacts, prices and routes them;
 * the answer follows the OTLP spec: 200 (with `partial_success` when items
 * were rejected), 400 for a body that does not decode, 401 without a valid
 * key, 413 over the size limit, 415 for another media type, 429 with
 * `Retry-After` while the log side is saturated, 503 when it is down.
 * @module
 */
import type { GatewayConfig, TeamConfig } from "../config/types.ts";
import type { GatewayError } from "../errors.ts";
import type { LogHost } from "../log/host.ts";
import type { LogEventMetadata } from "../event/log_event.ts";
import { tagsOf } from "../log/build.ts";
import { readControls } from "../pipeline/controls.ts";
import { otlpEncoding, readOtlpBytes } from "../otlp/body.ts";
import { encodeStatus, type OtlpEncoding } from "../otlp/proto.ts";
import type { RefusedReason } from "../otlp/metrics.ts";
import type { TelemetryAnswer } from "../otlp/ingest.ts";
import type { KeyStore, Principal } from "./auth.ts";
import { methodNotAllowed } from "./responses.ts";
import { TAG_HEADERS } from "./call_record.ts";

/** The signal each OTLP path takes. */
export const OTLP_PATHS: Record<string, "traces" | "logs"> = {
  "/v1/traces": "traces",
  "/v1/logs": "logs",
  "/v1/otel/v1/traces": "traces",
  "/v1/otel/v1/logs": "logs",
};

/** What a saturated or failed log side answers (HTTP and gRPC). */
export const SATURATED_MESSAGE = "The gateway's log path is saturated; retry later.";
/** What a failed log side answers. */
export const UNAVAILABLE_MESSAGE = "The gateway's log path is not available.";

/** gRPC status codes the OTLP error bodies carry. */
const INVALID_ARGUMENT = 3;
const RESOURCE_EXHAUSTED = 8;
const UNAVAILABLE = 14;
const UNAUTHENTICATED = 16;

const CONTENT_TYPES: Record<OtlpEncoding, string> = {
  protobuf: "application/x-protobuf",
  json: "application/json",
};

function otlpResponse(
  status: number,
  body: Uint8Array,
  encoding: OtlpEncoding,
  headers: Record<string, string> = {},
): Response {
  return new Response(body as Uint8Array<ArrayBuffer>, {
    status,
    headers: { "content-type": CONTENT_TYPES[encoding], ...headers },
  });
}

const REFUSED: Record<number, RefusedReason> = {
  400: "bad_body",
  408: "timeout",
  413: "too_large",
  415: "unsupported_media",
};

/** The OTLP endpoints of one gateway. */
export class OtlpRoutes {
  readonly #config: GatewayConfig;
  readonly #keys: KeyStore;
  readonly #log: LogHost;
  readonly #teams: Map<string, TeamConfig>;
  readonly #flushCalls: () => void;

  /**
   * Routes over the gateway's config, keys and log side; `flushCalls` hands
   * the calls this thread finished to the log side now, so they are logged
   * before an export that arrives after them (an app's span around a call
   * is then known as the gateway's).
   */
  constructor(config: GatewayConfig, keys: KeyStore, log: LogHost, flushCalls: () => void) {
    this.#config = config;
    this.#keys = keys;
    this.#log = log;
    this.#flushCalls = flushCalls;
    this.#teams = new Map(config.teams.map((t) => [t.name, t]));
  }

  /**
   * The caller of an export, or why it may not export (counted as refused):
   * the same keys as calls, from HTTP headers or gRPC metadata.
   */
  authenticate(
    signal: "traces" | "logs",
    headers: Headers,
  ): { principal: Principal } | { error: GatewayError } {
    try {
      return { principal: this.#keys.authenticate(headers) };
    } catch (error) {
      this.#log.ingestRefused(signal, "unauthenticated");
      return { error: error as GatewayError };
    }
  }

  /**
   * Hands an authenticated export's body to the log side, after the calls
   * this thread finished; `saturated` and `unavailable` are counted.
   */
  async submit(
    signal: "traces" | "logs",
    encoding: OtlpEncoding,
    bytes: Uint8Array,
    principal: Principal,
    headers: Headers,
    remoteAddress?: string,
  ): Promise<TelemetryAnswer | "saturated" | "unavailable"> {
    const key = principal.key;
    this.#flushCalls();
    const answer = await this.#log.ingest({
      signal,
      encoding,
      bytes,
      controls: readControls(
        { headers, body: {}, key, team: key?.team ? this.#teams.get(key.team) : undefined },
        this.#config.controls,
      ),
      caller: callerOf(headers, principal, remoteAddress),
    });
    if (answer === "saturated") this.#log.ingestRefused(signal, "saturated");
    return answer;
  }

  /** Answers one OTLP/HTTP export to `path` (one of {@link OTLP_PATHS}). */
  async handle(req: Request, path: string, info?: Deno.ServeHandlerInfo): Promise<Response> {
    if (req.method !== "POST") return methodNotAllowed(req.method, path, "POST");
    const signal = OTLP_PATHS[path];
    const answerEncoding = otlpEncoding(req.headers.get("content-type")) ?? "json";
    const caller = this.authenticate(signal, req.headers);
    if ("error" in caller) {
      await req.body?.cancel().catch(() => {});
      return otlpResponse(
        caller.error.status ?? 401,
        encodeStatus(UNAUTHENTICATED, caller.error.message, answerEncoding),
        answerEncoding,
      );
    }
    const server = this.#config.server;
    const read = await readOtlpBytes(req, {
      maxBodyBytes: server.max_body_bytes,
      bodyTimeoutMs: server.body_timeout_ms,
    });
    if (!read.ok) {
      this.#log.ingestRefused(signal, REFUSED[read.status]);
      return otlpResponse(
        read.status,
        encodeStatus(INVALID_ARGUMENT, read.message, read.encoding),
        read.encoding,
      );
    }
    const answer = await this.submit(
      signal,
      read.encoding,
      read.bytes,
      caller.principal,
      req.headers,
      (info?.remoteAddr as Deno.NetAddr | undefined)?.hostname,
    );
    if (answer === "saturated") {
      return otlpResponse(
        429,
        encodeStatus(RESOURCE_EXHAUSTED, SATURATED_MESSAGE, read.encoding),
        read.encoding,
        { "retry-after": "1" },
      );
    }
    if (answer === "unavailable") {
      return otlpResponse(
        503,
        encodeStatus(UNAVAILABLE, UNAVAILABLE_MESSAGE, read.encoding),
        read.encoding,
        { "retry-after": "5" },
      );
    }
    return otlpResponse(answer.status, answer.body, read.encoding);
  }
}

/** The caller as events name it: key hash and alias (never the key), team, user, tags. */
function callerOf(
  headers: Headers,
  principal: Principal,
  remoteAddress?: string,
): LogEventMetadata {
  const key = principal.key;
  const tagHeaders = TAG_HEADERS
    .map((h) => headers.get(h))
    .filter((v): v is string => v !== null);
  const caller = {
    user_api_key_hash: principal.keyHash,
    user_api_key_alias: key?.alias ?? (principal.master ? "master" : undefined),
    user_api_key_team: key?.team,
    user_api_key_user_id: key?.user,
    requester_ip: remoteAddress,
    user_agent: headers.get("user-agent") ?? undefined,
    tags: tagsOf(tagHeaders, undefined),
    request: {},
  };
  for (const k of Object.keys(caller) as (keyof typeof caller)[]) {
    if (caller[k] === undefined) delete caller[k];
  }
  return caller;
}
