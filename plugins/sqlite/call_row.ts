/**
 * One `calls` row: the scalar fields of a {@link LogEvent} the console
 * filters and sorts on, as stored and as {@link SqliteStore.listCalls}
 * returns them.
 * @module
 */
import type { CallType, LogEvent } from "@sluice/core/plugin";

/**
 * A stored call without its event JSON: the columns of the `calls` table
 * (see the README's schema), `tags` parsed back to an array. Times are epoch
 * milliseconds; absent values are `null`.
 */
export interface CallSummary {
  /** Insertion sequence (the table's rowid): the tie-breaker of the newest-first order. */
  seq: number;
  /** The gateway's id of the call (the de-duplication key). */
  request_id: string;
  /** `x-sluice-call-id`. */
  call_id: string;
  /** The upstream response id (`event.id`). */
  response_id: string | null;
  /** W3C trace id. */
  trace_id: string;
  /** The call's span id. */
  span_id: string;
  /** The client's span id, if any. */
  parent_span_id: string | null;
  /** When the gateway received the request. */
  start_time: number;
  /** When the call ended. */
  end_time: number;
  /** First token (or the response). */
  completion_start_time: number | null;
  /** `success` or `failure`. */
  status: "success" | "failure";
  /** Kind of call (`gateway_error` for the gateway's own failure events). */
  call_type: CallType;
  /** Whether the answer was streamed. */
  stream: boolean;
  /** Upstream model id. */
  model: string | null;
  /** The public model name the client asked for. */
  model_group: string | null;
  /** The deployment id. */
  model_id: string | null;
  /** `openai`, `anthropic`, `mock`… */
  provider: string | null;
  /** Host (and port) of the upstream base URL. */
  api_base_host: string | null;
  /** The virtual key's user (`metadata.user_api_key_user_id`). */
  user: string | null;
  /** The request's `user` field (`metadata.end_user`). */
  end_user: string | null;
  /** The virtual key's alias. */
  key_alias: string | null;
  /** Hex sha256 of the key the client sent (never the key). */
  key_hash: string | null;
  /** The virtual key's team. */
  team: string | null;
  /** Request tags. */
  tags: string[];
  /** Input tokens. */
  prompt_tokens: number;
  /** Output tokens. */
  completion_tokens: number;
  /** Both. */
  total_tokens: number;
  /** Input tokens read from the provider's prompt cache. */
  cache_read_input_tokens: number | null;
  /** Input tokens written to the provider's prompt cache. */
  cache_creation_input_tokens: number | null;
  /** USD, when the price is known. */
  cost: number | null;
  /** `end_time - start_time`. */
  response_time_ms: number;
  /** Time to first token: `completion_start_time - start_time`. */
  ttft_ms: number | null;
  /** Whether the provider served input tokens from its prompt cache (`cache_read_input_tokens > 0`). */
  cache_hit: boolean;
  /** HTTP status the client got, for failures. */
  error_status: number | null;
  /** Error class (`RateLimitError`, `UpstreamTimeout`…). */
  error_type: string | null;
  /** OpenAI error code string. */
  error_code: string | null;
  /** The error message, as redaction left it. */
  error_message: string | null;
  /** The provider that failed. */
  error_provider: string | null;
  /** For `gateway_error` events: the sink or plugin concerned. */
  source: string | null;
  /** The first choice's finish reason. */
  finish_reason: string | null;
}

/** A stored call with its whole redacted event, as {@link SqliteStore.getCall} returns it. */
export interface StoredCall extends CallSummary {
  /** The event as the sink received it (after redaction). */
  event: LogEvent;
}

/** The `calls` columns a write fills, in order (all but `seq`). */
export const CALL_COLUMNS = [
  "request_id",
  "call_id",
  "response_id",
  "trace_id",
  "span_id",
  "parent_span_id",
  "start_time",
  "end_time",
  "completion_start_time",
  "status",
  "call_type",
  "stream",
  "model",
  "model_group",
  "model_id",
  "provider",
  "api_base_host",
  "user",
  "end_user",
  "key_alias",
  "key_hash",
  "team",
  "tags",
  "prompt_tokens",
  "completion_tokens",
  "total_tokens",
  "cache_read_input_tokens",
  "cache_creation_input_tokens",
  "cost",
  "response_time_ms",
  "ttft_ms",
  "cache_hit",
  "error_status",
  "error_type",
  "error_code",
  "error_message",
  "error_provider",
  "source",
  "finish_reason",
  "event",
] as const;

type SqlValue = string | number | null;

function text(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}

function num(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function host(apiBase: unknown): string | null {
  if (typeof apiBase !== "string" || apiBase === "") return null;
  try {
    return new URL(apiBase).host || null;
  } catch {
    return null;
  }
}

/**
 * The values of {@link CALL_COLUMNS} for one event (its JSON serialised
 * once, passed in).
 */
export function callValues(event: LogEvent, json: string): SqlValue[] {
  const meta = event.metadata ?? { tags: [], request: {} };
  const tags = Array.isArray(meta.tags) ? meta.tags.filter((t) => typeof t === "string") : [];
  const start = num(event.start_time) ?? 0;
  const completion = num(event.completion_start_time);
  const cacheRead = num(event.cache_read_input_tokens);
  return [
    event.request_id,
    text(event.call_id) ?? event.request_id,
    text(event.id),
    text(event.trace_id) ?? "",
    text(event.span_id) ?? "",
    text(event.parent_span_id),
    start,
    num(event.end_time) ?? start,
    completion,
    event.status === "failure" ? "failure" : "success",
    text(event.call_type) ?? "chat",
    event.stream ? 1 : 0,
    text(event.model),
    text(event.model_group),
    text(event.model_id),
    text(event.provider),
    host(event.api_base),
    text(meta.user_api_key_user_id),
    text(meta.end_user),
    text(meta.user_api_key_alias),
    text(meta.user_api_key_hash),
    text(meta.user_api_key_team),
    JSON.stringify(tags),
    num(event.prompt_tokens) ?? 0,
    num(event.completion_tokens) ?? 0,
    num(event.total_tokens) ?? 0,
    cacheRead,
    num(event.cache_creation_input_tokens),
    num(event.response_cost),
    num(event.response_time_ms) ?? 0,
    completion === null ? null : Math.max(0, completion - start),
    cacheRead !== null && cacheRead > 0 ? 1 : 0,
    num(event.error?.status),
    text(event.error?.class),
    text(event.error?.code),
    text(event.error?.message),
    text(event.error?.provider),
    text(event.source),
    text(event.finish_reasons?.[0]),
    json,
  ];
}

/** A `calls` row as read (without `event`) turned into a {@link CallSummary}. */
export function toSummary(row: Record<string, unknown>): CallSummary {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    if (key === "event") continue;
    out[key] = value;
  }
  out.tags = JSON.parse(String(row.tags ?? "[]"));
  out.stream = row.stream === 1;
  out.cache_hit = row.cache_hit === 1;
  return out as unknown as CallSummary;
}
