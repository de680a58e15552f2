/**
 * The gateway: one `fetch` handler for OpenAI-compatible routes. The request
 * path parses, routes and relays; the log event is built when the call ends
 * and handed to the dispatcher without awaiting anything.
 * @module
 */
import { configBaseDir, configScrubber, configSecrets, parseConfig } from "../config/load.ts";
import type { GatewayConfig, GatewayConfigInput } from "../config/types.ts";
import { computeCost, type ModelPrice, priceOf } from "../cost/cost.ts";
import { errorTypeForStatus, GatewayError } from "../errors.ts";
import { GATEWAY_FIELDS } from "../log/build.ts";
import type { FinishedCall } from "../log/call.ts";
import { startLogHost } from "../log/host.ts";
import { type CallRecord, toFinishedCall } from "./call_record.ts";
import type { LogEventError } from "../event/log_event.ts";
import { ClientClosedError, ModelRouter, type UpstreamFailure } from "../providers/router.ts";
import type { Deployment, ProxyCallType } from "../providers/types.ts";
import type { CallControls } from "../pipeline/controls.ts";
import { Metrics } from "./metrics.ts";
import type { Scrubber } from "../redaction/scrub.ts";
import type { Usage } from "../stream/accumulator.ts";
import { StreamFault } from "../stream/fault.ts";
import { relayStream } from "../stream/relay.ts";
import { VERSION } from "../version.ts";
import { KeyStore, type Principal } from "./auth.ts";
import { readJsonBody } from "./body.ts";
import { validateCallBody } from "./validate.ts";
import { randomUuid } from "../ids.ts";
import { CALL_ID_PATTERN, formatTraceparent, traceContextOf } from "./trace.ts";

/** A running gateway: mount `fetch` anywhere, `close()` to drain. */
export interface Gateway {
  /** Handles one HTTP request (bound: pass it around freely). */
  fetch: (request: Request, info?: Deno.ServeHandlerInfo) => Promise<Response>;
  /** Stops accepting calls, waits for in-flight ones, flushes the sinks. */
  close: () => Promise<void>;
  /** The validated config in use. */
  readonly config: GatewayConfig;
}

const ROUTES: Record<string, ProxyCallType> = {
  "/v1/chat/completions": "chat",
  "/chat/completions": "chat",
  "/v1/completions": "completion",
  "/completions": "completion",
  "/v1/embeddings": "embedding",
  "/embeddings": "embedding",
};

/** The path of a request URL without parsing the whole URL. */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const query = url.indexOf("?", start);
  const path = query < 0 ? url.slice(start) : url.slice(start, query);
  return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

const TRUE_HEADER = /^(1|true|yes)$/i;

/** Finished calls become events in batches at most this old: one timer per batch, not per call. */
const EVENT_BATCH_MS = 5;

/**
 * Creates a gateway from a config (a validated one from `loadConfig`, or a
 * plain object in the config's shape, validated here).
 *
 * @example
 * ```ts
 * import { createGateway } from "@sluice/core";
 * const gw = await createGateway({ models: [{ name: "m", provider: "mock" }] });
 * const res = await gw.fetch(new Request("http://x/v1/models"));
 * await res.body?.cancel();
 * await gw.close();
 * ```
 */
export async function createGateway(input: GatewayConfig | GatewayConfigInput): Promise<Gateway> {
  const config = parseConfig(input);
  const litellmHeaders = config.server.litellm_headers;
  const router = new ModelRouter(config.models);
  const keys = new KeyStore(config);
  // The log side (plugins, redaction, write-ahead logs) runs in its own Worker.
  const log = await startLogHost({
    config,
    baseDir: configBaseDir(config),
    secrets: [...configSecrets(config)],
  });
  const metrics = new Metrics(router.names());
  const prices = new Map<Deployment, ModelPrice | undefined>();
  const controlsConfig = config.controls;
  const teams = new Map(config.teams.map((t) => [t.name, t]));
  let inflight = 0;
  let closing: Promise<void> | undefined;
  let idle: (() => void) | undefined;

  const priceFor = (d: Deployment) => {
    if (!prices.has(d)) prices.set(d, priceOf(d.config, d.upstreamModel));
    return prices.get(d);
  };

  function controlsOf(
    req: Request,
    body: Record<string, unknown>,
    principal: Principal,
  ): CallControls {
    const metadata = (body.metadata ?? {}) as Record<string, unknown>;
    const key = principal.key;
    const team = key?.team ? teams.get(key.team) : undefined;
    const disabled = controlsConfig.allow_dynamic_callback_disabling
      ? (req.headers.get("x-sluice-disable-sinks") ??
        req.headers.get("x-litellm-disable-callbacks") ?? "")
        .split(",").map((s) => s.trim()).filter(Boolean)
      : [];
    const optOutHeader = req.headers.get("x-sluice-disable-redaction") ??
      req.headers.get("litellm-disable-message-redaction");
    return {
      noLog: !controlsConfig.global_disable_no_log_param && body["no-log"] === true,
      disabledSinks: disabled,
      sinks: key?.sinks ?? team?.sinks,
      maskInput: metadata.mask_input === true || body.mask_input === true,
      maskOutput: metadata.mask_output === true || body.mask_output === true,
      disableRedaction: key?.allow_redaction_opt_out === true &&
        TRUE_HEADER.test(optOutHeader ?? ""),
      redaction: [key?.redaction, team?.redaction].filter((r) => r !== undefined),
    };
  }

  function baseHeaders(record: CallRecord): Record<string, string> {
    const headers: Record<string, string> = {
      "x-sluice-call-id": record.callId,
      "x-sluice-trace-id": record.trace.traceId,
      "x-sluice-version": VERSION,
    };
    if (record.deployment) {
      headers["x-sluice-model-id"] = record.deployment.id;
      headers["x-sluice-api-base"] = record.deployment.apiBase;
    }
    return headers;
  }

  /** LiteLLM's response header names next to Sluice's own (LiteLLM configs). */
  function addLiteLLMHeaders(headers: Record<string, string>, t0: number): void {
    if (!litellmHeaders) return;
    const copy: [string, string][] = [
      ["x-sluice-call-id", "x-litellm-call-id"],
      ["x-sluice-model-id", "x-litellm-model-id"],
      ["x-sluice-api-base", "x-litellm-model-api-base"],
      ["x-sluice-version", "x-litellm-version"],
      ["x-sluice-response-cost", "x-litellm-response-cost"],
      ["x-sluice-overhead-ms", "x-litellm-overhead-duration-ms"],
    ];
    for (const [from, to] of copy) if (headers[from] !== undefined) headers[to] = headers[from];
    headers["x-litellm-response-duration-ms"] = (performance.now() - t0).toFixed(3);
  }

  function usageCost(d: Deployment, usage: Usage | undefined) {
    const price = priceFor(d);
    if (!price || !usage) return undefined;
    return computeCost(price, {
      prompt: usage.prompt_tokens ?? 0,
      completion: usage.completion_tokens ?? 0,
      cacheRead: usage.prompt_tokens_details?.cached_tokens,
      cacheCreation: usage.cache_creation_input_tokens,
    });
  }

  // Finished calls go to the log side in batches, after the response has left.
  let finished: FinishedCall[] = [];
  let flushScheduled = false;
  function flushFinished(): void {
    flushScheduled = false;
    if (finished.length === 0) return;
    const batch = finished;
    finished = [];
    log.submit(batch);
  }

  function finish(record: CallRecord, controls: CallControls | undefined): void {
    record.endTime = Date.now();
    const call = toFinishedCall(record, controls);
    metrics.recordCall(call);
    finished.push(call);
    if (!flushScheduled) {
      flushScheduled = true;
      setTimeout(flushFinished, EVENT_BATCH_MS);
    }
  }

  function errorOf(error: GatewayError, record: CallRecord): LogEventError {
    return {
      status: error.status,
      code: error.code,
      class: errorClass(error),
      message: error.message,
      provider: record.deployment?.config.provider,
    };
  }

  async function handleCall(
    req: Request,
    info: Deno.ServeHandlerInfo | undefined,
    callType: ProxyCallType,
  ): Promise<Response> {
    const t0 = performance.now();
    const requestId = randomUuid();
    const clientCallId = req.headers.get("x-sluice-call-id") ??
      req.headers.get("x-litellm-call-id");
    const record: CallRecord = {
      requestId,
      callId: clientCallId && CALL_ID_PATTERN.test(clientCallId) ? clientCallId : requestId,
      callType,
      trace: traceContextOf(req.headers, undefined),
      startTime: Date.now(),
      endTime: 0,
      headers: req.headers,
      requesterIp: (info?.remoteAddr as Deno.NetAddr | undefined)?.hostname,
      stream: false,
    };
    let controls: CallControls | undefined;
    let upstreamMs = 0;
    try {
      record.principal = keys.authenticate(req.headers);
      const { value: body, bytes } = await readJsonBody(req, config.server);
      record.bodyBytes = bytes;
      record.stream = body.stream === true;
      if (typeof body.model === "string") record.model = body.model;
      const model = validateCallBody(callType, body);
      const metadata = body.metadata as Record<string, unknown> | undefined;
      // `metadata.trace_id` (or LiteLLM's `existing_trace_id`) names the trace when no traceparent does.
      const namedTrace = metadata?.trace_id ?? metadata?.existing_trace_id;
      if (namedTrace !== undefined && !req.headers.has("traceparent")) {
        record.trace = traceContextOf(req.headers, namedTrace);
      }
      controls = controlsOf(req, body, record.principal);
      const group = router.deployments(model);
      // A model hidden from the key answers exactly like one that does not exist.
      const allowed = record.principal.key?.models;
      if (group.length === 0 || (allowed && !allowed.includes(model))) {
        throw unknownModel(model, allowedModels(record.principal));
      }
      let upstreamBody = body;
      if (!group[0].config.forward_metadata && GATEWAY_FIELDS.some((f) => f in body)) {
        // Build a copy without them (deleting keys would slow every later access).
        upstreamBody = {};
        for (const key in body) if (!GATEWAY_FIELDS.includes(key)) upstreamBody[key] = body[key];
      }
      const upstreamHeaders: Record<string, string> = {};
      if (controlsConfig.forward_traceparent_to_llm_provider) {
        upstreamHeaders.traceparent = formatTraceparent(record.trace);
        if (record.trace.traceState) upstreamHeaders.tracestate = record.trace.traceState;
      }
      const routed = await router.send(
        model,
        {
          callType,
          body: upstreamBody,
          bytes: upstreamBody === body ? bytes : undefined,
          stream: record.stream,
          headers: upstreamHeaders,
        },
        req.signal,
        (d) => (record.deployment = d),
      );
      upstreamMs = routed.upstreamMs;
      const { response } = routed;
      // The request as sent is kept only when the event will carry it.
      if ((metadata as { log_raw_request?: unknown } | undefined)?.log_raw_request === true) {
        record.sent = response.sent;
      }
      if (response.status >= 400) {
        throw passThroughError(response.status, response.json, response.retryAfter);
      }

      if (response.stream) {
        const clientAskedUsage =
          (body.stream_options as Record<string, unknown> | undefined)?.include_usage === true;
        const headers = baseHeaders(record);
        headers["content-type"] = "text/event-stream; charset=utf-8";
        headers["cache-control"] = "no-cache";
        headers["x-sluice-overhead-ms"] = (performance.now() - t0 - upstreamMs).toFixed(3);
        addLiteLLMHeaders(headers, t0);
        const relayed = relayStream(response.stream, {
          forwardUsage: clientAskedUsage,
          clientSignal: req.signal,
          describeError: (error) => streamErrorBody(error, record),
          // Runs exactly once (the relay sees to it); the call is released whatever throws here.
          onEnd: ({ accumulator, aborted, error }) => {
            try {
              routed.done();
              record.responseId = accumulator.id;
              record.responseModel = accumulator.model;
              record.usage = accumulator.usage;
              record.completionStartTime = accumulator.firstTokenAt;
              record.response = callType === "completion"
                ? accumulator.texts()
                : accumulator.messages()[0];
              record.finishReasons = accumulator.finishReasons();
              record.cost = usageCost(routed.deployment, accumulator.usage);
              record.error = streamEndError(aborted, error, record);
            } catch (fault) {
              record.error = streamEndError("gateway", fault, record);
            } finally {
              try {
                finish(record, controls);
              } finally {
                release();
              }
            }
          },
        });
        inflight++; // the stream stays in flight until it ends
        return new Response(relayed, { status: 200, headers });
      }

      routed.done();
      const result = response.json as Record<string, unknown>;
      record.completionStartTime = Date.now();
      record.responseId = typeof result.id === "string" ? result.id : undefined;
      record.responseModel = typeof result.model === "string" ? result.model : undefined;
      record.usage = result.usage as Usage | undefined;
      // The event's response and finish reasons are read from it on the log side.
      if (response.text !== undefined) record.resultText = response.text;
      else record.result = result;
      record.cost = usageCost(routed.deployment, record.usage);
      const headers = baseHeaders(record);
      headers["content-type"] = "application/json";
      if (record.cost) headers["x-sluice-response-cost"] = String(record.cost.total);
      headers["x-sluice-overhead-ms"] = (performance.now() - t0 - upstreamMs).toFixed(3);
      addLiteLLMHeaders(headers, t0);
      const out = new Response(response.text ?? JSON.stringify(result), {
        status: response.status,
        headers,
      });
      finish(record, controls);
      return out;
    } catch (error) {
      if (error instanceof ClientClosedError) {
        record.error = {
          status: 499,
          code: error.code,
          class: "ClientClosed",
          message: error.message,
          provider: record.deployment?.config.provider,
        };
        finish(record, controls);
        return json(499, {
          error: { message: error.message, type: "api_error", code: error.code },
        });
      }
      // Upstream messages and bodies may echo credentials: what leaves is scrubbed.
      const scrub = configScrubber(config);
      const gatewayError = scrubbed(
        error instanceof GatewayError ? error : internalError(error, scrub),
        scrub,
      );
      if (
        gatewayError.cause && typeof gatewayError.cause === "object" &&
        "upstreamMs" in gatewayError.cause
      ) {
        upstreamMs = (gatewayError.cause as UpstreamFailure).upstreamMs;
      }
      record.error = errorOf(gatewayError, record);
      const headers = baseHeaders(record);
      headers["x-sluice-overhead-ms"] = (performance.now() - t0 - upstreamMs).toFixed(3);
      const retryAfter = (gatewayError.cause as { retryAfter?: string } | undefined)?.retryAfter;
      if (retryAfter) headers["retry-after"] = retryAfter;
      addLiteLLMHeaders(headers, t0);
      finish(record, controls);
      return json(gatewayError.status, errorBody(gatewayError), scrub.headers(headers));
    }
  }

  function allowedModels(principal: Principal): string[] {
    const names = router.names();
    const allowed = principal.key?.models;
    return allowed ? names.filter((n) => allowed.includes(n)) : names;
  }

  function listModels(req: Request): Response {
    let principal: Principal;
    try {
      principal = keys.authenticate(req.headers);
    } catch (error) {
      const e = error as GatewayError;
      return json(e.status, e.toJSON());
    }
    const created = Math.floor(Date.now() / 1000);
    return json(200, {
      object: "list",
      data: allowedModels(principal).map((id) => ({
        id,
        object: "model",
        created,
        owned_by: router.deployments(id)[0].config.provider,
      })),
    });
  }

  function release(): void {
    inflight--;
    if (inflight === 0) idle?.();
  }

  /** Ready or shutting down for anyone; version and sinks only for the master or metrics key. */
  function readiness(req: Request): Response {
    const status = closing ? 503 : 200;
    const body = { status: closing ? "shutting_down" : "ready" };
    try {
      keys.authorizeOperator(req.headers);
    } catch {
      return json(status, body);
    }
    return json(status, { ...body, version: VERSION, sinks: log.sinkNames });
  }

  async function handle(req: Request, info?: Deno.ServeHandlerInfo): Promise<Response> {
    const path = pathOf(req.url);
    const callType = ROUTES[path];
    if (callType) {
      if (req.method !== "POST") return methodNotAllowed(req.method, path, "POST");
      if (closing) return shuttingDown();
      inflight++;
      try {
        return await handleCall(req, info, callType);
      } finally {
        release();
      }
    }
    switch (path) {
      case "/v1/models":
      case "/models":
        return req.method === "GET" ? listModels(req) : methodNotAllowed(req.method, path, "GET");
      case "/health/liveness":
        return json(200, { status: "ok" });
      case "/health/readiness":
        return readiness(req);
      case "/metrics":
        try {
          keys.authorizeOperator(req.headers);
        } catch (error) {
          return json((error as GatewayError).status, (error as GatewayError).toJSON());
        }
        return log.snapshot().then((sinks) =>
          new Response(metrics.render(sinks), {
            headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
          })
        );
    }
    return json(404, {
      error: {
        message: `Unknown route ${req.method} ${path}.`,
        type: "invalid_request_error",
        param: null,
        code: "unknown_route",
      },
    });
  }

  function close(): Promise<void> {
    closing ??= (async () => {
      const deadline = config.server.shutdown_timeout_ms;
      if (inflight > 0) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          new Promise<void>((resolve) => (idle = resolve)),
          new Promise<void>((resolve) => (timer = setTimeout(resolve, deadline))),
        ]);
        clearTimeout(timer);
      }
      router.close();
      flushFinished();
      await log.close(deadline);
    })();
    return closing;
  }

  return { fetch: handle, close, config };
}

function unknownModel(model: string, known: string[]): GatewayError {
  return new GatewayError(
    404,
    "invalid_request_error",
    "model_not_found",
    `The model "${model}" does not exist on this gateway. Available models: ${
      known.join(", ") || "none"
    }.`,
    { param: "model" },
  );
}

function methodNotAllowed(method: string, path: string, allowed: string): Response {
  return json(405, {
    error: {
      message: `${method} is not allowed on ${path}; use ${allowed}.`,
      type: "invalid_request_error",
      param: null,
      code: "method_not_allowed",
    },
  }, { allow: allowed });
}

function shuttingDown(): Response {
  return json(503, {
    error: {
      message: "The gateway is shutting down.",
      type: "api_error",
      param: null,
      code: "shutting_down",
    },
  });
}

function internalError(error: unknown, scrub: Scrubber): GatewayError {
  const detail = error instanceof Error ? error.stack ?? String(error) : String(error);
  console.error(`sluice: internal error: ${scrub.text(detail)}`);
  return new GatewayError(500, "api_error", "internal_error", "Internal gateway error.", {
    cause: error,
  });
}

/** An upstream 4xx (or 429) passed through with the upstream's own error body when it has one. */
function passThroughError(status: number, body: unknown, retryAfter?: string | null): GatewayError {
  const inner = (body as { error?: unknown } | undefined)?.error;
  const message = typeof inner === "object" && inner &&
      typeof (inner as { message?: unknown }).message === "string"
    ? (inner as { message: string }).message
    : typeof inner === "string"
    ? inner
    : `upstream returned ${status}`;
  const code = typeof inner === "object" && inner && (inner as { code?: unknown }).code;
  return new GatewayError(
    status,
    errorTypeForStatus(status),
    typeof code === "string" ? code : status === 429 ? "rate_limit_exceeded" : "upstream_error",
    message,
    { upstreamBody: typeof inner === "object" && inner ? body : undefined, cause: { retryAfter } },
  );
}

/** The same error with its message and upstream body scrubbed of credentials. */
function scrubbed(error: GatewayError, scrub: Scrubber): GatewayError {
  return new GatewayError(error.status, error.type, error.code, scrub.text(error.message), {
    param: error.param,
    upstreamBody: error.upstreamBody === undefined ? undefined : scrub.value(error.upstreamBody),
    cause: error.cause,
  });
}

/** The body sent for an error: the upstream's own for a passed-through 4xx (already scrubbed). */
function errorBody(error: GatewayError): unknown {
  return error.upstreamBody !== undefined && error.status < 500
    ? error.upstreamBody
    : error.toJSON();
}

function errorClass(error: GatewayError): string {
  switch (error.code) {
    case "upstream_timeout":
      return "UpstreamTimeout";
    case "upstream_unreachable":
      return "UpstreamConnectionError";
    case "upstream_error":
      return error.status >= 500 ? "UpstreamServerError" : "UpstreamBadRequest";
  }
  switch (error.status) {
    case 400:
      return "BadRequestError";
    case 401:
      return "AuthenticationError";
    case 403:
      return "PermissionDeniedError";
    case 404:
      return "NotFoundError";
    case 413:
      return "RequestTooLargeError";
    case 429:
      return "RateLimitError";
  }
  return error.status >= 500 ? "InternalServerError" : "BadRequestError";
}

/** The error object of a stream's last SSE event (and of its log event), by what ended it. */
function streamErrorBody(error: unknown, record: CallRecord): Record<string, unknown> {
  const timeout = error instanceof DOMException && error.name === "TimeoutError";
  if (error instanceof StreamFault) {
    return {
      message: error.message,
      type: "api_error",
      param: null,
      code: error.code,
      status: 502,
    };
  }
  const upstreamError = error && typeof error === "object" && !(error instanceof Error)
    ? error as Record<string, unknown>
    : undefined;
  return {
    message: timeout
      ? `upstream did not finish within ${record.deployment?.config.timeout_s} s`
      : typeof upstreamError?.message === "string"
      ? upstreamError.message
      : `upstream stream failed: ${error instanceof Error ? error.message : String(error)}`,
    type: timeout ? "timeout_error" : "api_error",
    param: null,
    code: timeout ? "upstream_timeout" : "upstream_stream_error",
    status: timeout ? 504 : 502,
  };
}

/** The log event's error for a stream that ended early (`gateway`: the gateway failed while logging it). */
function streamEndError(
  aborted: "client" | "upstream" | "gateway" | undefined,
  error: unknown,
  record: CallRecord,
): LogEventError | undefined {
  const provider = record.deployment?.config.provider;
  if (aborted === "client") {
    return {
      status: 499,
      code: "client_closed_request",
      class: "ClientClosed",
      message: "client disconnected before the stream ended",
      provider,
    };
  }
  if (aborted === "gateway") {
    const name = error instanceof Error ? error.name : typeof error;
    return {
      status: 500,
      code: "internal_error",
      class: "InternalServerError",
      message: `the stream's log event could not be assembled (${name})`,
      provider,
    };
  }
  if (aborted !== "upstream") return undefined;
  const body = streamErrorBody(error, record);
  return {
    status: body.status as number,
    code: String(body.code),
    class: body.status === 504 ? "UpstreamTimeout" : "UpstreamStreamError",
    message: String(body.message),
    provider,
  };
}
