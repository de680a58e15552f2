/**
 * Builds the one log event of a call from what the gateway saw.
 * @module
 */
import type { Principal } from "../server/auth.ts";
import type { TraceContext } from "../server/trace.ts";
import type { Deployment, ProxyCallType } from "../providers/types.ts";
import type { Usage } from "../stream/accumulator.ts";
import type { CallType, LogEvent, LogEventCostBreakdown, LogEventError } from "./log_event.ts";

/** Request fields that belong to the gateway, never to the upstream. */
export const GATEWAY_FIELDS: readonly string[] = [
  "metadata",
  "no-log",
  "mask_input",
  "mask_output",
];

const NOT_PARAMETERS = new Set([
  ...GATEWAY_FIELDS,
  "model",
  "messages",
  "prompt",
  "input",
  "stream",
  "user",
]);

/** What the gateway knows about a call when it ends. */
export interface CallRecord {
  /** The gateway's request UUID. */
  requestId: string;
  /** The call id (client's or the request id). */
  callId: string;
  /** Kind of call. */
  callType: ProxyCallType;
  /** Trace context of the call. */
  trace: TraceContext;
  /** Epoch ms at arrival. */
  startTime: number;
  /** Epoch ms at the end. */
  endTime: number;
  /** Epoch ms of the first token. */
  completionStartTime?: number;
  /** Request headers (user agent, tags). */
  headers: Headers;
  /** Client address. */
  requesterIp?: string;
  /** Who called. */
  principal?: Principal;
  /** The client's parsed body, if it parsed. */
  body?: Record<string, unknown>;
  /** Streamed response. */
  stream: boolean;
  /** The deployment that served (or failed). */
  deployment?: Deployment;
  /** Upstream response id. */
  responseId?: string;
  /** Upstream response model. */
  responseModel?: string;
  /** Usage in OpenAI's shape. */
  usage?: Usage;
  /** The response content for the event (streams: assembled by the accumulator). */
  response?: unknown;
  /** Each choice's `finish_reason` (streams). */
  finishReasons?: string[];
  /** A non-stream upstream answer, parsed; `response` and `finish_reasons` are read from it. */
  result?: Record<string, unknown>;
  /** Cost, when the price is known. */
  cost?: { total: number; breakdown: LogEventCostBreakdown };
  /** The failure, if any. */
  error?: LogEventError;
  /** What was sent upstream, for `log_raw_request`. */
  sent?: { url: string; headers: Record<string, string>; body: unknown };
}

/** Tags from `x-sluice-tags` / `x-litellm-tags` and `metadata.tags`. */
export function tagsOf(headers: Headers, metadata: Record<string, unknown> | undefined): string[] {
  const tags: string[] = [];
  for (const name of ["x-sluice-tags", "x-litellm-tags"]) {
    const header = headers.get(name);
    if (header) tags.push(...header.split(",").map((t) => t.trim()).filter(Boolean));
  }
  if (Array.isArray(metadata?.tags)) {
    tags.push(...metadata.tags.filter((t) => typeof t === "string"));
  }
  return [...new Set(tags)];
}

/** The event's `messages`: chat messages, or the prompt / input as sent. */
/** The event's `response`: the assistant message(s), completion texts, or an embeddings summary. */
function responseOf(callType: ProxyCallType, result: Record<string, unknown>): unknown {
  if (callType === "embedding") return embeddingsSummary(result);
  const choices = result.choices as Record<string, unknown>[] | undefined;
  if (!Array.isArray(choices)) return undefined;
  if (callType === "completion") return choices.map((c) => c.text);
  return choices.length === 1 ? choices[0].message : choices.map((c) => c.message);
}

function finishReasons(r: CallRecord): string[] | undefined {
  const choices = r.result?.choices;
  const reasons = Array.isArray(choices)
    ? choices.flatMap((c) => (typeof c?.finish_reason === "string" ? [c.finish_reason] : []))
    : r.finishReasons;
  return reasons?.length ? reasons : undefined;
}

function messagesOf(callType: ProxyCallType, body: Record<string, unknown> | undefined): unknown {
  if (!body) return undefined;
  return callType === "chat" ? body.messages : callType === "completion" ? body.prompt : body.input;
}

/** A compact description of an embeddings response (vectors are not logged). */
export function embeddingsSummary(json: unknown): Record<string, unknown> | undefined {
  const data = (json as { data?: unknown })?.data;
  if (!Array.isArray(data)) return undefined;
  const first = data[0]?.embedding;
  let dimensions: number | undefined;
  if (Array.isArray(first)) dimensions = first.length;
  else if (typeof first === "string") {
    const padding = first.endsWith("==") ? 2 : first.endsWith("=") ? 1 : 0;
    dimensions = ((first.length * 3) / 4 - padding) / 4;
  }
  return { object: "list", count: data.length, dimensions };
}

/** Builds the immutable event of a finished call. */
export function buildLogEvent(r: CallRecord): LogEvent {
  const body = r.body;
  const metadata =
    body?.metadata && typeof body.metadata === "object" && !Array.isArray(body.metadata)
      ? body.metadata as Record<string, unknown>
      : undefined;
  const usage = r.usage;
  const prompt = usage?.prompt_tokens ?? 0;
  const completion = usage?.completion_tokens ?? 0;
  let parameters: Record<string, unknown> | undefined;
  if (body) {
    parameters = {};
    for (const key in body) if (!NOT_PARAMETERS.has(key)) parameters[key] = body[key];
  }
  const key = r.principal?.key;
  const event: LogEvent = {
    schema_version: 1,
    request_id: r.requestId,
    call_id: r.callId,
    id: r.responseId ?? r.requestId,
    trace_id: r.trace.traceId,
    span_id: r.trace.spanId,
    parent_span_id: r.trace.parentSpanId,
    trace_state: r.trace.traceState,
    baggage: r.trace.baggage,
    call_type: r.callType as CallType,
    stream: r.stream,
    status: r.error ? "failure" : "success",
    model: r.responseModel ?? r.deployment?.upstreamModel,
    model_group: typeof body?.model === "string" ? body.model : undefined,
    model_id: r.deployment?.id,
    provider: r.deployment?.config.provider,
    api_base: r.deployment?.apiBase,
    model_parameters: parameters,
    start_time: r.startTime,
    end_time: r.endTime,
    completion_start_time: r.completionStartTime,
    response_time_ms: r.endTime - r.startTime,
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: usage?.total_tokens ?? prompt + completion,
    cache_read_input_tokens: usage?.prompt_tokens_details?.cached_tokens,
    cache_creation_input_tokens: usage?.cache_creation_input_tokens,
    response_cost: r.cost?.total,
    cost_breakdown: r.cost?.breakdown,
    metadata: {
      user_api_key_hash: r.principal?.keyHash,
      user_api_key_alias: key?.alias ?? (r.principal?.master ? "master" : undefined),
      user_api_key_team: key?.team,
      user_api_key_user_id: key?.user,
      end_user: typeof body?.user === "string" ? body.user : undefined,
      requester_ip: r.requesterIp,
      user_agent: r.headers.get("user-agent") ?? undefined,
      tags: tagsOf(r.headers, metadata),
      request: metadata ?? {},
    },
    messages: messagesOf(r.callType, body),
    response: r.result ? responseOf(r.callType, r.result) : r.response,
    finish_reasons: finishReasons(r),
    error: r.error,
  };
  if (metadata?.log_raw_request === true && r.sent) {
    // Credentials are removed by the redaction step, before any sink sees the event.
    event.raw_request = { url: r.sent.url, headers: r.sent.headers, body: r.sent.body };
  }
  return event;
}
