/**
 * Builds the one log event of a call from its hand-off record, on the log
 * side: the request thread never builds, parses or serialises an event.
 * @module
 */
import { anthropicMessages } from "../messages/request.ts";
import { responsesMessages } from "../responses/request.ts";
import type { CallType, LogEvent } from "../event/log_event.ts";
import type {
  ChatMessage,
  EmbeddingSummary,
  LogEventMessages,
  LogEventResponse,
} from "../event/content.ts";
import type { FinishedCall, FinishedCallType } from "./call.ts";

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
  // Content of the translated routes, logged in `messages` (and redacted there).
  "system",
  "instructions",
  "stream",
  "user",
]);

/** Tags from the `x-sluice-tags` / `x-litellm-tags` header values and `metadata.tags`. */
export function tagsOf(
  tagHeaders: readonly string[] | undefined,
  metadata: Record<string, unknown> | undefined,
): string[] {
  const tags: string[] = [];
  for (const header of tagHeaders ?? []) {
    tags.push(...header.split(",").map((t) => t.trim()).filter(Boolean));
  }
  if (Array.isArray(metadata?.tags)) {
    tags.push(...metadata.tags.filter((t) => typeof t === "string"));
  }
  return [...new Set(tags)];
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * The event's `response` of a non-streamed answer: the assistant message
 * (an array of them with several choices), the completion texts, or an
 * embeddings summary. A choice without a message object is left out; a
 * completion choice without text counts as "".
 */
function responseOf(
  callType: FinishedCallType,
  result: Record<string, unknown>,
): LogEventResponse | undefined {
  if (callType === "embedding") return embeddingsSummary(result);
  const choices = result.choices;
  if (!Array.isArray(choices)) return undefined;
  if (callType === "completion") {
    return choices.map((c) => (typeof c?.text === "string" ? c.text : ""));
  }
  // Logged as the upstream sent it: an upstream message's fields are not checked.
  const messages = choices.flatMap((c) => (isObject(c?.message) ? [c.message as ChatMessage] : []));
  return choices.length === 1 ? messages[0] : messages;
}

function finishReasons(r: FinishedCall, result: Record<string, unknown> | undefined) {
  const choices = result?.choices;
  const reasons = Array.isArray(choices)
    ? choices.flatMap((c) => (typeof c?.finish_reason === "string" ? [c.finish_reason] : []))
    : r.finishReasons;
  return reasons?.length ? reasons : undefined;
}

/**
 * The event's `messages`: chat messages, or the prompt / input, as sent
 * (the request was validated: chat messages are objects with a string
 * `role`, a prompt or input is a string or an array).
 */
function messagesOf(
  callType: FinishedCallType,
  body: Record<string, unknown> | undefined,
): LogEventMessages | undefined {
  if (!body) return undefined;
  if (callType === "responses" || callType === "messages") {
    try {
      const chat = callType === "responses" ? responsesMessages(body) : anthropicMessages(body);
      return chat as LogEventMessages;
    } catch {
      // A refused request: logged as sent.
      return (callType === "responses" ? body.input : body.messages) as LogEventMessages;
    }
  }
  const value = callType === "chat"
    ? body.messages
    : callType === "completion"
    ? body.prompt
    : body.input;
  return value as LogEventMessages | undefined;
}

/** A compact description of an embeddings response (vectors are not logged). */
export function embeddingsSummary(json: unknown): EmbeddingSummary | undefined {
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

/** A JSON object from bytes or text, or undefined when it is not one. */
function objectOf(json: Uint8Array | string | undefined): Record<string, unknown> | undefined {
  if (json === undefined) return undefined;
  const value = JSON.parse(typeof json === "string" ? json : utf8.decode(json));
  return value && typeof value === "object" && !Array.isArray(value) ? value : undefined;
}

const utf8 = new TextDecoder();

/**
 * Builds the immutable event of a finished call. A body or answer handed
 * over as bytes or text is parsed here, off the request thread.
 */
export function buildLogEvent(r: FinishedCall): LogEvent {
  const body = r.body ?? objectOf(r.bodyBytes);
  const result = r.result ?? objectOf(r.resultText);
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
    model_group: r.model,
    model_id: r.deployment?.id,
    provider: r.deployment?.provider,
    api_base: r.deployment?.apiBase,
    model_parameters: parameters,
    start_time: r.startTime,
    end_time: r.endTime,
    completion_start_time: r.completionStartTime,
    response_time_ms: r.endTime - r.startTime,
    upstream_ms: r.upstreamMs,
    gateway_overhead_ms: r.overheadMs,
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: usage?.total_tokens ?? prompt + completion,
    cache_read_input_tokens: usage?.prompt_tokens_details?.cached_tokens,
    cache_creation_input_tokens: usage?.cache_creation_input_tokens,
    response_cost: r.cost?.total,
    cost_breakdown: r.cost?.breakdown,
    metadata: {
      user_api_key_hash: r.caller?.keyHash,
      user_api_key_alias: r.caller?.alias,
      user_api_key_team: r.caller?.team,
      user_api_key_user_id: r.caller?.user,
      end_user: typeof body?.user === "string" ? body.user : undefined,
      requester_ip: r.requesterIp,
      user_agent: r.userAgent,
      tags: tagsOf(r.tagHeaders, metadata),
      request: metadata ?? {},
    },
    messages: messagesOf(r.callType, body),
    response: result ? responseOf(r.callType, result) : r.response,
    finish_reasons: finishReasons(r, result),
    error: r.error,
  };
  if (metadata?.log_raw_request === true && r.sent) {
    // Credentials are removed by the redaction step, before any sink sees the event.
    event.raw_request = { url: r.sent.url, headers: r.sent.headers, body: r.sent.body };
  }
  return event;
}
