/**
 * OpenAI-shaped errors: every error a client sees is
 * `{"error":{"message","type","param","code"}}` with a matching HTTP status.
 * @module
 */

/** The OpenAI error types Sluice uses, by HTTP status. */
export type OpenAIErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "rate_limit_error"
  | "api_error"
  | "timeout_error";

/** What a {@link GatewayError} may carry besides status, type, code and message. */
export interface GatewayErrorOptions {
  /** The request field at fault. */
  param?: string | null;
  /** The upstream's own error body (upstream 4xx pass-through). */
  upstreamBody?: unknown;
  /** Milliseconds spent on the upstream. */
  upstreamMs?: number;
  /** The upstream's `Retry-After`. */
  retryAfter?: string;
  /** The underlying error, for the operator's log. */
  cause?: unknown;
}

/** An error that becomes an OpenAI-shaped HTTP response. */
export class GatewayError extends Error {
  /** HTTP status sent to the client. */
  readonly status: number;
  /** OpenAI error type. */
  readonly type: OpenAIErrorType;
  /** Machine-readable code, e.g. `model_not_found`. */
  readonly code: string;
  /** The request field at fault, if any. */
  readonly param: string | null;
  /** The upstream's own error body, passed through for upstream 4xx. */
  readonly upstreamBody?: unknown;
  /** Milliseconds spent on the upstream before this error (not the gateway's overhead). */
  readonly upstreamMs?: number;
  /** The upstream's `Retry-After`, passed on to the client. */
  readonly retryAfter?: string;

  /** Creates an error with status, type, code and message. */
  constructor(
    status: number,
    type: OpenAIErrorType,
    code: string,
    message: string,
    options: GatewayErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "GatewayError";
    this.status = status;
    this.type = type;
    this.code = code;
    this.param = options.param ?? null;
    this.upstreamBody = options.upstreamBody;
    this.upstreamMs = options.upstreamMs;
    this.retryAfter = options.retryAfter;
  }

  /** The JSON body OpenAI clients expect. */
  toJSON(): { error: { message: string; type: string; param: string | null; code: string } } {
    return {
      error: { message: this.message, type: this.type, param: this.param, code: this.code },
    };
  }
}

/** The OpenAI error type that belongs to an HTTP status. */
export function errorTypeForStatus(status: number): OpenAIErrorType {
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  if (status === 429) return "rate_limit_error";
  if (status === 504 || status === 408) return "timeout_error";
  if (status >= 400 && status < 500) return "invalid_request_error";
  return "api_error";
}

/** A 400 for a malformed request. */
export function badRequest(
  message: string,
  code = "invalid_request",
  param?: string,
): GatewayError {
  return new GatewayError(400, "invalid_request_error", code, message, { param });
}
