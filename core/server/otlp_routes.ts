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

  /** Answers one export to `path` (one of {@link OTLP_PATHS}). */
  async handle(req: Request, path: string, info?: Deno.ServeHandlerInfo): Promise<Response> {
    if (req.method !== "POST") return methodNotAllowed(req.method, path, "POST");
    const signal = OTLP_PATHS[path];
    const answerEncoding = otlpEncoding(req.headers.get("content-type")) ?? "json";
    let principal: Principal;
    try {
      principal = this.#keys.authenticate(req.headers);
    } catch (error) {
      await req.body?.cancel().catch(() => {});
      this.#log.ingestRefused(signal, "unauthenticated");
      const status = (error as GatewayError).status ?? 401;
      return otlpResponse(
        status,
        encodeStatus(UNAUTHENTICATED, (error as Error).message, answerEncoding),
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
    const key = principal.key;
    this.#flushCalls();
    const answer = await this.#log.ingest({
      signal,
      encoding: read.encoding,
      bytes: read.bytes,
      controls: readControls(
        {
          headers: req.headers,
          body: {},
          key,
          team: key?.team ? this.#teams.get(key.team) : undefined,
        },
        this.#config.controls,
      ),
      caller: callerOf(req, principal, info),
    });
    if (answer === "saturated") {
      this.#log.ingestRefused(signal, "saturated");
      return otlpResponse(
        429,
        encodeStatus(
          RESOURCE_EXHAUSTED,
          "The gateway's log path is saturated; retry later.",
          read.encoding,
        ),
        read.encoding,
        { "retry-after": "1" },
      );
    }
    if (answer === "unavailable") {
      return otlpResponse(
        503,
        encodeStatus(UNAVAILABLE, "The gateway's log path is not available.", read.encoding),
        read.encoding,
        { "retry-after": "5" },
      );
    }
    return otlpResponse(answer.status, answer.body, read.encoding);
  }
}

/** The caller as events name it: key hash and alias (never the key), team, user, tags. */
function callerOf(
  req: Request,
  principal: Principal,
  info?: Deno.ServeHandlerInfo,
): LogEventMetadata {
  const key = principal.key;
  const tagHeaders = TAG_HEADERS
    .map((h) => req.headers.get(h))
    .filter((v): v is string => v !== null);
  const caller = {
    user_api_key_hash: principal.keyHash,
    user_api_key_alias: key?.alias ?? (principal.master ? "master" : undefined),
    user_api_key_team: key?.team,
    user_api_key_user_id: key?.user,
    requester_ip: (info?.remoteAddr as Deno.NetAddr | undefined)?.hostname,
    user_agent: req.headers.get("user-agent") ?? undefined,
    tags: tagsOf(tagHeaders, undefined),
    request: {},
  };
  for (const k of Object.keys(caller) as (keyof typeof caller)[]) {
    if (caller[k] === undefined) delete caller[k];
  }
  return caller;
}
