/**
 * What the azure-sentinel sink sends: one record per call, in the custom
 * table shape its README documents (`format: table`), or the log event as
 * is (`format: payload`, LiteLLM's standard logging payload), within the
 * Logs Ingestion API's limits (1 MB a call, 64 KB a field value).
 * @module
 */
import type { LogEvent } from "@sluice/core/plugin";
import { fitEvent } from "@sluice/aws";

/** The Logs Ingestion API's limit on one call's body (Azure Monitor service limits: 1 MB). */
export const MAX_REQUEST_BYTES = 1_000_000;

/** The Logs Ingestion API's limit on one field value (64 KB); longer values are cut to fit. */
export const MAX_FIELD_BYTES = 64_000;

/** One record of the documented custom table (`format: table`). */
export interface SentinelRecord {
  /** When the call ended (ISO 8601): the table's required `TimeGenerated`. */
  TimeGenerated: string;
  /** The gateway's request id (the de-duplication key). */
  RequestId: string;
  /** The call id (`x-sluice-call-id` / `x-litellm-call-id`). */
  CallId: string;
  /** The upstream's response id, else the request id. */
  ResponseId: string;
  /** W3C trace id. */
  TraceId: string;
  /** W3C span id of the call. */
  SpanId: string;
  /** The parent span id, if any. */
  ParentSpanId?: string;
  /** `chat`, `completion`, `embedding`, `responses`, `messages`, `gateway_error`. */
  CallType: string;
  /** `success` or `failure`. */
  Status: string;
  /** Whether the call streamed. */
  Stream: boolean;
  /** The upstream model id. */
  Model?: string;
  /** The model name the client sent. */
  ModelGroup?: string;
  /** The models entry's id. */
  ModelId?: string;
  /** The provider. */
  Provider?: string;
  /** The upstream's base URL. */
  ApiBase?: string;
  /** Start of the call (ISO 8601). */
  StartTime: string;
  /** End of the call (ISO 8601). */
  EndTime: string;
  /** First token (ISO 8601), for streams. */
  CompletionStartTime?: string;
  /** Duration in milliseconds. */
  ResponseTimeMs: number;
  /** Prompt tokens. */
  PromptTokens: number;
  /** Completion tokens. */
  CompletionTokens: number;
  /** Total tokens. */
  TotalTokens: number;
  /** Cost in USD. */
  ResponseCost?: number;
  /** sha256 of the virtual key. */
  UserApiKeyHash?: string;
  /** The key's alias. */
  UserApiKeyAlias?: string;
  /** The key's team. */
  UserApiKeyTeam?: string;
  /** The key's user. */
  UserApiKeyUserId?: string;
  /** The request's `user`. */
  EndUser?: string;
  /** The client's address. */
  RequesterIp?: string;
  /** The client's user agent. */
  UserAgent?: string;
  /** Request tags. */
  Tags: string[];
  /** The request's `metadata` keys. */
  RequestMetadata: Record<string, unknown> | string;
  /** The model parameters (temperature, max_tokens, …). */
  ModelParameters?: Record<string, unknown> | string;
  /** The request's messages (or input) as redaction leaves them. */
  Messages?: unknown;
  /** The answer as redaction leaves it. */
  Response?: unknown;
  /** The error's HTTP status. */
  ErrorStatus?: number;
  /** The error's code. */
  ErrorCode?: string;
  /** The error's class. */
  ErrorClass?: string;
  /** The error's message. */
  ErrorMessage?: string;
  /** What a `gateway_error` concerns (a sink or plugin). */
  Source?: string;
  /** The log event schema's version. */
  SchemaVersion: number;
}

const encoder = new TextEncoder();
const bytesOf = (text: string) => encoder.encode(text).length;

/** An ISO 8601 time from epoch ms, or undefined. */
function iso(ms: number | undefined): string | undefined {
  return typeof ms === "number" && Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}

/** A dynamic value whose JSON fits the field limit; else its JSON cut with a marker (a string). */
function fitField<T>(value: T): T | string | undefined {
  if (value === undefined) return undefined;
  const json = JSON.stringify(value);
  if (bytesOf(json) <= MAX_FIELD_BYTES) return value;
  return cutString(json);
}

/** A string cut to fit the field limit, with a marker saying how much was left out. */
function cutString(text: string): string {
  if (bytesOf(text) <= MAX_FIELD_BYTES) return text;
  // UTF-8 may take up to 3 bytes per UTF-16 unit: keep a third of the room, then the marker.
  const keep = Math.floor((MAX_FIELD_BYTES - 64) / 3);
  return `${text.slice(0, keep)}…[truncated ${text.length - keep} chars]`;
}

/**
 * The table record of one call (`format: table`): names in the PascalCase
 * of Azure tables, times ISO 8601, identity and key columns flat, request
 * metadata, model parameters, messages and answer as dynamic values (cut
 * with a marker when over 64 KB). Undefined columns are left out.
 *
 * @param event The (redacted) log event.
 * @returns The record.
 *
 * @example
 * ```ts
 * import { sentinelRecord } from "@sluice/azure-sentinel";
 * import { sampleEvent } from "@sluice/core/testing";
 *
 * const record = sentinelRecord(sampleEvent({ model_group: "gpt-4o", prompt_tokens: 12 }));
 * record.ModelGroup; // "gpt-4o"
 * record.PromptTokens; // 12
 * record.TimeGenerated; // the call's end, e.g. "2025-01-31T14:00:00.420Z"
 * ```
 */
export function sentinelRecord(event: LogEvent): SentinelRecord {
  const m = event.metadata ?? { tags: [], request: {} };
  const record: SentinelRecord = {
    TimeGenerated: iso(event.end_time) ?? iso(event.start_time) ?? new Date(0).toISOString(),
    RequestId: event.request_id,
    CallId: event.call_id,
    ResponseId: event.id,
    TraceId: event.trace_id,
    SpanId: event.span_id,
    ParentSpanId: event.parent_span_id,
    CallType: event.call_type,
    Status: event.status,
    Stream: event.stream === true,
    Model: event.model,
    ModelGroup: event.model_group,
    ModelId: event.model_id,
    Provider: event.provider,
    ApiBase: event.api_base,
    StartTime: iso(event.start_time) ?? new Date(0).toISOString(),
    EndTime: iso(event.end_time) ?? new Date(0).toISOString(),
    CompletionStartTime: iso(event.completion_start_time),
    ResponseTimeMs: event.response_time_ms ?? 0,
    PromptTokens: event.prompt_tokens ?? 0,
    CompletionTokens: event.completion_tokens ?? 0,
    TotalTokens: event.total_tokens ?? 0,
    ResponseCost: event.response_cost,
    UserApiKeyHash: m.user_api_key_hash,
    UserApiKeyAlias: m.user_api_key_alias,
    UserApiKeyTeam: m.user_api_key_team,
    UserApiKeyUserId: m.user_api_key_user_id,
    EndUser: m.end_user,
    RequesterIp: m.requester_ip,
    UserAgent: m.user_agent,
    Tags: [...(m.tags ?? [])],
    RequestMetadata: fitField(m.request ?? {}) as Record<string, unknown> | string,
    ModelParameters: fitField(event.model_parameters),
    Messages: fitField(event.messages),
    Response: fitField(event.response),
    ErrorStatus: event.error?.status,
    ErrorCode: event.error?.code,
    ErrorClass: event.error?.class,
    ErrorMessage: event.error ? cutString(event.error.message) : undefined,
    Source: event.source,
    SchemaVersion: event.schema_version,
  };
  for (const key of Object.keys(record) as (keyof SentinelRecord)[]) {
    if (record[key] === undefined) delete record[key];
  }
  return record;
}

/**
 * The record of one event in a format, as JSON that fits one call
 * (`payload` events over the limit are shortened by `@sluice/aws`'s
 * `fitEvent`: base64 stripped, then long strings cut, never dropped).
 *
 * @param event The log event.
 * @param format `table` or `payload`.
 * @returns The record's JSON text.
 *
 * @example
 * ```ts
 * import { recordJson } from "@sluice/azure-sentinel";
 * import { sampleEvent } from "@sluice/core/testing";
 *
 * JSON.parse(recordJson(sampleEvent(), "payload")).request_id; // the event's request_id
 * ```
 */
export function recordJson(event: LogEvent, format: "table" | "payload"): string {
  const room = MAX_REQUEST_BYTES - 2; // the array's brackets
  if (format === "payload") return fitEvent(event, room).json;
  const json = JSON.stringify(sentinelRecord(event));
  if (bytesOf(json) <= room) return json;
  return JSON.stringify(sentinelRecord(fitEvent(event, Math.floor(room / 2)).event));
}

/**
 * Splits records (JSON texts) into request bodies (JSON arrays) of at most
 * {@link MAX_REQUEST_BYTES}, in order.
 *
 * @param records The records' JSON texts, each under the limit.
 * @returns For each request, the indexes of its records and its body.
 *
 * @example
 * ```ts
 * import { requestBodies } from "@sluice/azure-sentinel";
 *
 * requestBodies(['{"a":1}', '{"b":2}']); // [{ indexes: [0, 1], body: '[{"a":1},{"b":2}]' }]
 * ```
 */
export function requestBodies(records: readonly string[]): { indexes: number[]; body: string }[] {
  const out: { indexes: number[]; body: string }[] = [];
  let indexes: number[] = [];
  let parts: string[] = [];
  let size = 2;
  const close = () => {
    if (parts.length > 0) out.push({ indexes, body: `[${parts.join(",")}]` });
    indexes = [];
    parts = [];
    size = 2;
  };
  records.forEach((json, index) => {
    const bytes = bytesOf(json) + (parts.length > 0 ? 1 : 0);
    if (parts.length > 0 && size + bytes > MAX_REQUEST_BYTES) close();
    size += bytesOf(json) + (parts.length > 0 ? 1 : 0);
    parts.push(json);
    indexes.push(index);
  });
  close();
  return out;
}
