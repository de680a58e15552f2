/**
 * Every response the gateway builds itself, and the one error mapper: each
 * OpenAI-shaped error body a client sees (4xx, 5xx, 499) is made here from a
 * {@link GatewayError}, and so is the error recorded in the log event.
 * Headers are set on the built `Response` one by one: in Deno 2.9 that is
 * several times cheaper than a headers object in the init.
 * @module
 */
import { errorTypeForStatus, GatewayError } from "../errors.ts";
import type { LogEventError } from "../event/log_event.ts";
import type { Scrubber } from "../redaction/scrub.ts";

/** A response with `body` and each of `headers` set. */
export function respond(
  body: BodyInit | null,
  status: number,
  headers: Record<string, string>,
): Response {
  const response = new Response(body, { status });
  for (const name in headers) response.headers.set(name, headers[name]);
  return response;
}

/** A JSON response. */
export function jsonResponse(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Response {
  headers["content-type"] = "application/json";
  return respond(JSON.stringify(body), status, headers);
}

/** The error body shapes of the routes: OpenAI's everywhere, Anthropic's on `/v1/messages`. */
export type ErrorShape = "openai" | "anthropic";

/**
 * The response for an error: the upstream's own body for a passed-through
 * 4xx, else OpenAI's shape; on the Anthropic route always Anthropic's
 * (`{"type":"error","error":{"type","message"}}`, the upstream's message kept).
 */
export function errorResponse(
  error: GatewayError,
  headers: Record<string, string> = {},
  shape: ErrorShape = "openai",
): Response {
  if (error.retryAfter) headers["retry-after"] = error.retryAfter;
  if (shape === "anthropic") return jsonResponse(error.status, anthropicError(error), headers);
  const body = error.upstreamBody !== undefined && error.status < 500
    ? error.upstreamBody
    : error.toJSON();
  return jsonResponse(error.status, body, headers);
}

/** Anthropic's error `type` for an HTTP status. */
function anthropicErrorType(status: number): string {
  switch (status) {
    case 401:
      return "authentication_error";
    case 402:
      return "billing_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 504:
      return "timeout_error";
    case 529:
      return "overloaded_error";
  }
  return status >= 500 ? "api_error" : "invalid_request_error";
}

/** An error in Anthropic's shape; a passed-through upstream body gives its message. */
export function anthropicError(error: GatewayError): {
  type: "error";
  error: { type: string; message: string };
} {
  const upstream = error.upstreamBody as
    | { error?: { message?: unknown; type?: unknown } | string; message?: unknown }
    | undefined;
  const inner = typeof upstream?.error === "object" ? upstream.error : undefined;
  const message = typeof inner?.message === "string"
    ? inner.message
    : typeof upstream?.message === "string"
    ? upstream.message
    : error.message;
  return { type: "error", error: { type: anthropicErrorType(error.status), message } };
}

/** 405 with `allow`. */
export function methodNotAllowed(method: string, path: string, allowed: string): Response {
  return errorResponse(
    new GatewayError(
      405,
      "invalid_request_error",
      "method_not_allowed",
      `${method} is not allowed on ${path}; use ${allowed}.`,
    ),
    { allow: allowed },
  );
}

/** 503 while draining. */
export function shuttingDown(): Response {
  return errorResponse(
    new GatewayError(503, "api_error", "shutting_down", "The gateway is shutting down."),
  );
}

/** 404 for a path the gateway does not serve. */
export function unknownRoute(method: string, path: string): Response {
  return errorResponse(
    new GatewayError(
      404,
      "invalid_request_error",
      "unknown_route",
      `Unknown route ${method} ${path}.`,
    ),
  );
}

/** 404 for `GET` / `DELETE /v1/responses/{id}`: the gateway keeps no responses and routes none of these. */
export function responsesNotStored(method: string, path: string): Response {
  return errorResponse(
    new GatewayError(
      404,
      "invalid_request_error",
      "response_not_stored",
      `${method} ${path} is not served: the gateway keeps no responses and cannot tell which ` +
        "upstream holds this one; read it from the upstream directly.",
    ),
  );
}

/** 404 for a model that does not exist, or that the key may not see (the same answer). */
export function unknownModel(model: string, known: string[]): GatewayError {
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

/** 499: the client went away before the answer (logged; the client never reads it). */
export function clientClosed(code: string, message: string): GatewayError {
  return new GatewayError(499, "api_error", code, message);
}

/** A 500 for an unexpected failure; its detail goes to the operator's log, scrubbed. */
export function internalError(error: unknown, scrub: Scrubber): GatewayError {
  const detail = error instanceof Error ? error.stack ?? String(error) : String(error);
  console.error(`sluice: internal error: ${scrub.text(detail)}`);
  return new GatewayError(500, "api_error", "internal_error", "Internal gateway error.", {
    cause: error,
  });
}

/** An upstream 4xx (or 429) passed through with the upstream's own error body when it has one. */
export function passThroughError(
  status: number,
  body: unknown,
  retryAfter?: string | null,
): GatewayError {
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
    {
      upstreamBody: typeof inner === "object" && inner ? body : undefined,
      retryAfter: retryAfter ?? undefined,
    },
  );
}

/** The same error with its message and upstream body scrubbed of credentials. */
export function scrubbed(error: GatewayError, scrub: Scrubber): GatewayError {
  return new GatewayError(error.status, error.type, error.code, scrub.text(error.message), {
    param: error.param,
    upstreamBody: error.upstreamBody === undefined ? undefined : scrub.value(error.upstreamBody),
    upstreamMs: error.upstreamMs,
    retryAfter: error.retryAfter,
    cause: error.cause,
  });
}

/** The log event's `error` for a failed call. */
export function logEventError(error: GatewayError, provider: string | undefined): LogEventError {
  return {
    status: error.status,
    code: error.code,
    class: errorClass(error),
    message: error.message,
    provider,
  };
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
    case 499:
      return "ClientClosed";
  }
  return error.status >= 500 ? "InternalServerError" : "BadRequestError";
}
