/**
 * How a relayed stream that ended early is told: the error object of its
 * last SSE event (for the client), and the log event's `error` (for the
 * sinks), by what ended it (the upstream, its deadline, the client, or the
 * gateway itself).
 * @module
 */
import type { LogEventError } from "../event/log_event.ts";
import type { Deployment } from "../providers/types.ts";
import { StreamFault } from "../stream/fault.ts";

/** What ended a stream early. */
export type StreamAbort = "client" | "upstream" | "gateway" | undefined;

/** The error object of a stream's last SSE event, by what ended it. */
export function streamErrorBody(
  error: unknown,
  deployment: Deployment | undefined,
): Record<string, unknown> {
  if (error instanceof StreamFault) {
    return {
      message: error.message,
      type: "api_error",
      param: null,
      code: error.code,
      status: 502,
    };
  }
  const timeout = error instanceof DOMException && error.name === "TimeoutError";
  const upstreamError = error && typeof error === "object" && !(error instanceof Error)
    ? error as Record<string, unknown>
    : undefined;
  return {
    message: timeout
      ? `upstream did not finish within ${deployment?.config.timeout_s} s`
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
export function streamEndError(
  aborted: StreamAbort,
  error: unknown,
  deployment: Deployment | undefined,
): LogEventError | undefined {
  const provider = deployment?.config.provider;
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
  const body = streamErrorBody(error, deployment);
  return {
    status: body.status as number,
    code: String(body.code),
    class: body.status === 504 ? "UpstreamTimeout" : "UpstreamStreamError",
    message: String(body.message),
    provider,
  };
}
