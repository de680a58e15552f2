/**
 * The stand-in for an event that cannot be serialised or redacted (a body
 * nested too deep, a value JSON cannot hold): the call's ids, model, status,
 * timings, usage and cost, and an `error` saying why. Everything copied is a
 * bounded scalar, so the stand-in itself always serialises; content,
 * request metadata and raw requests are left out because they are what
 * failed.
 * @module
 */
import type { LogEvent, LogEventMetadata } from "./log_event.ts";

/** The `error.code` of a replaced event. */
export const REPLACED_EVENT_CODE = "event_replaced";

/** Longest string copied from the original event. */
const MAX_STRING = 512;

const STRING_FIELDS = [
  "request_id",
  "call_id",
  "id",
  "trace_id",
  "span_id",
  "parent_span_id",
  "trace_state",
  "model",
  "model_group",
  "model_id",
  "provider",
  "api_base",
  "source",
] as const;

const NUMBER_FIELDS = [
  "start_time",
  "end_time",
  "completion_start_time",
  "response_time_ms",
  "prompt_tokens",
  "completion_tokens",
  "total_tokens",
  "cache_read_input_tokens",
  "cache_creation_input_tokens",
  "response_cost",
] as const;

const METADATA_FIELDS = [
  "user_api_key_hash",
  "user_api_key_alias",
  "user_api_key_team",
  "user_api_key_user_id",
  "end_user",
  "requester_ip",
  "user_agent",
] as const;

function text(value: unknown): string | undefined {
  return typeof value === "string" ? value.slice(0, MAX_STRING) : undefined;
}

function finite(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

/**
 * A minimal, always-serialisable copy of `event` that says why the full
 * event could not be logged. Reads the original defensively: any field may
 * be missing or of the wrong type.
 */
export function minimalEvent(event: LogEvent, reason: string): LogEvent {
  const source = event as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {
    schema_version: 1,
    call_type: text(source.call_type) ?? "chat",
    stream: source.stream === true,
    status: source.status === "success" ? "success" : "failure",
  };
  for (const field of STRING_FIELDS) {
    const value = text(source[field]);
    if (value !== undefined) out[field] = value;
  }
  for (const field of NUMBER_FIELDS) {
    const value = finite(source[field]);
    if (value !== undefined) out[field] = value;
  }
  for (const field of ["request_id", "call_id", "id", "trace_id", "span_id"] as const) {
    out[field] ??= "";
  }
  for (const field of ["start_time", "end_time", "response_time_ms"] as const) out[field] ??= 0;
  for (const field of ["prompt_tokens", "completion_tokens", "total_tokens"] as const) {
    out[field] ??= 0;
  }
  out.metadata = minimalMetadata(source.metadata);
  const original = source.error as Record<string, unknown> | undefined;
  out.error = {
    status: finite(original?.status) ?? 0,
    code: REPLACED_EVENT_CODE,
    class: "EventReplaced",
    message: `the full event could not be logged (${reason.slice(0, MAX_STRING)}); ` +
      "content and request metadata were left out",
    provider: text(original?.provider) ?? text(source.provider),
  };
  return out as unknown as LogEvent;
}

function minimalMetadata(value: unknown): LogEventMetadata {
  const metadata = (typeof value === "object" && value !== null ? value : {}) as Record<
    string,
    unknown
  >;
  const out: LogEventMetadata = { tags: [], request: {} };
  for (const field of METADATA_FIELDS) {
    const v = text(metadata[field]);
    if (v !== undefined) out[field] = v;
  }
  if (Array.isArray(metadata.tags)) {
    out.tags = metadata.tags.filter((t): t is string => typeof t === "string").slice(0, 64)
      .map((t) => t.slice(0, MAX_STRING));
  }
  return out;
}
