/**
 * From Sluice log events to what Datadog's intakes take: one log item per
 * call for the Logs intake ({@link toLogItem}) and one LLM span per call
 * for LLM Observability ({@link toLlmObsSpan}), with the tags both share
 * ({@link eventTags}).
 * @module
 */
import type { ChatMessage, LogEvent } from "@sluice/core/plugin";
import { isChatCall } from "@sluice/core/plugin";
import { utf8Length } from "./_utf8.ts";

/**
 * One entry of a Logs intake request (`HTTPLogItem` of Datadog's API
 * reference): `message` is required; every other attribute is a string.
 */
export interface DatadogLogItem {
  /** The integration name of the log (`DD_SOURCE`). */
  ddsource: string;
  /** Comma-separated `key:value` tags. */
  ddtags: string;
  /** The originating host, when known. */
  hostname?: string;
  /** The call as JSON: Datadog parses a JSON message into attributes (`@model_group`, …). */
  message: string;
  /** The service (`DD_SERVICE`). */
  service: string;
  /** `info` for a successful call, `error` for a failed one. */
  status: "info" | "error";
  /** When the call ended (ISO 8601), for Datadog's date remapper; left out past the intake's 18-hour window. */
  date?: string;
}

/** What {@link toLogItem} and {@link toLlmObsSpan} need besides the event. */
export interface DatadogRecordOptions {
  /** `ddsource`. */
  source: string;
  /** `service`. */
  service: string;
  /** `hostname`, if any. */
  hostname?: string;
  /** Tags on every record (`env:…`, `version:…`, the config's own). */
  tags: readonly string[];
  /** The current time in epoch ms (default `Date.now()`), for the date window. */
  now?: number;
}

/** The Logs intake takes timestamps at most this far in the past (18 hours, less a margin). */
export const LOG_DATE_WINDOW_MS = 17.5 * 3600 * 1000;

/** Datadog's largest single log or span (1 MB): larger ones lose their content first. */
export const MAX_ITEM_BYTES = 1_000_000;

/** What a record says in place of content dropped to fit {@link MAX_ITEM_BYTES}. */
export const DROPPED_CONTENT =
  "[content dropped: the call is larger than Datadog's 1 MB limit for one log or span]";

const TAG_VALUE = /[^\p{L}\p{N}_\-:./]/gu;

/**
 * A Datadog tag `key:value`, lower-cased, characters Datadog does not keep
 * in tags replaced by `_`, at most 200 characters.
 *
 * @param key The tag's key.
 * @param value Its value.
 * @returns The tag.
 *
 * @example
 * ```ts
 * import { datadogTag } from "@sluice/datadog";
 * datadogTag("model_group", "GPT 4o"); // "model_group:gpt_4o"
 * ```
 */
export function datadogTag(key: string, value: string): string {
  return `${key}:${value}`.toLowerCase().replace(TAG_VALUE, "_").slice(0, 200);
}

/**
 * The tags of one call: model, model group, provider, call type, status,
 * the key's alias and team, and the request's tags (`request_tag:…`, as
 * LiteLLM names them). Empty values are left out.
 *
 * @param event The (redacted) log event.
 * @returns `key:value` tags.
 *
 * @example
 * ```ts
 * import { eventTags } from "@sluice/datadog";
 * import { sampleEvent } from "@sluice/core/testing";
 * eventTags(sampleEvent()).includes("team:team-a"); // true
 * ```
 */
export function eventTags(event: LogEvent): string[] {
  const meta = event.metadata ?? { tags: [], request: {} };
  const pairs: [string, unknown][] = [
    ["model", event.model],
    ["model_group", event.model_group],
    ["provider", event.provider],
    ["call_type", event.call_type],
    ["status", event.status],
    ["key_alias", meta.user_api_key_alias],
    ["team", meta.user_api_key_team],
    ...(meta.tags ?? []).map((tag): [string, unknown] => ["request_tag", tag]),
  ];
  return pairs
    .filter((pair): pair is [string, string] => typeof pair[1] === "string" && pair[1] !== "")
    .map(([key, value]) => datadogTag(key, value));
}

/**
 * The Logs intake entry of one call: the event as the JSON `message` (field
 * names follow LiteLLM's StandardLoggingPayload, so dashboards built on
 * LiteLLM's Datadog logs keep working), `status` `info` or `error`, tags
 * from {@link eventTags} and the options. An event whose JSON passes 1 MB
 * is sent without its messages, response and raw request, marked
 * {@link DROPPED_CONTENT} (Datadog would cut the JSON mid-way).
 *
 * @param event The (redacted) log event.
 * @param options Source, service, hostname and tags.
 * @returns The log item.
 *
 * @example
 * ```ts
 * import { toLogItem } from "@sluice/datadog";
 * import { sampleEvent } from "@sluice/core/testing";
 *
 * const item = toLogItem(sampleEvent(), { source: "sluice", service: "gw", tags: ["env:prod"] });
 * JSON.parse(item.message).model_group; // "gpt-4o-mini"
 * item.status; // "info"
 * ```
 */
export function toLogItem(event: LogEvent, options: DatadogRecordOptions): DatadogLogItem {
  let message = JSON.stringify(event);
  if (utf8Length(message) > MAX_ITEM_BYTES) {
    message = JSON.stringify({
      ...event,
      messages: DROPPED_CONTENT,
      response: DROPPED_CONTENT,
      raw_request: undefined,
    });
  }
  const now = options.now ?? Date.now();
  const item: DatadogLogItem = {
    ddsource: options.source,
    ddtags: [...options.tags, ...eventTags(event)].join(","),
    message,
    service: options.service,
    status: event.status === "success" ? "info" : "error",
  };
  if (options.hostname) item.hostname = options.hostname;
  if (Number.isFinite(event.end_time) && now - event.end_time < LOG_DATE_WINDOW_MS) {
    item.date = new Date(event.end_time).toISOString();
  }
  return item;
}

/** A message of an LLM Observability span's input or output. */
export interface LlmObsMessage {
  /** The text (required by the intake). */
  content: string;
  /** `system`, `user`, `assistant`, `tool`, …. */
  role?: string;
}

/** An LLM Observability span's input or output (`IO`). */
export interface LlmObsIO {
  /** A plain value (completions, embeddings, removed content). */
  value?: string;
  /** Messages (LLM spans). */
  messages?: LlmObsMessage[];
}

/** One span of the LLM Observability spans intake. */
export interface LlmObsSpan {
  /** The span's name: `<call type> <model group>`. */
  name: string;
  /** The call's span id as an unsigned decimal (Datadog's span id form). */
  span_id: string;
  /** The call's trace id (32 hex), shared with the otel and langfuse sinks. */
  trace_id: string;
  /** Always `"undefined"`: the LLM span is the root of its LLM Observability trace. */
  parent_id: "undefined";
  /** Start, epoch nanoseconds. */
  start_ns: number;
  /** Duration in nanoseconds. */
  duration: number;
  /** `ok` or `error`. */
  status: "ok" | "error";
  /** Kind, input, output, error and metadata. */
  meta: {
    /** `llm`, or `embedding` for embeddings calls. */
    kind: "llm" | "embedding";
    /** The request as the event carries it. */
    input?: LlmObsIO;
    /** The answer as the event carries it. */
    output?: LlmObsIO;
    /** A failed call's error. */
    error?: { message: string; type: string };
    /** `model_name`, `model_provider`, `temperature`, `max_tokens`, cost, ids. */
    metadata: Record<string, string | number | boolean>;
  };
  /** Token counts and time to first token (seconds, streams). */
  metrics: Record<string, number>;
  /** The request's `metadata.session_id`, when it is a string. */
  session_id?: string;
  /** Tags of the call ({@link eventTags}). */
  tags: string[];
}

/** The body of `POST /api/intake/llm-obs/v1/trace/spans`. */
export interface LlmObsSpansRequest {
  /** The request data. */
  data: {
    /** Always `span`. */
    type: "span";
    /** `ml_app`, tags and spans. */
    attributes: { ml_app: string; tags: string[]; spans: LlmObsSpan[] };
  };
}

/** A hex id as an unsigned decimal string (`"00f067aa0ba902b7"` → `"67667974448284343"`). */
function hexToDecimal(hex: string): string {
  return /^[0-9a-f]{1,16}$/i.test(hex) ? BigInt(`0x${hex}`).toString() : hex;
}

/** The text of a chat message's content: text parts joined, other parts named in brackets. */
function contentText(message: ChatMessage): string {
  const { content } = message;
  const parts: string[] = [];
  if (typeof content === "string") parts.push(content);
  else if (Array.isArray(content)) {
    for (const part of content) {
      if (part.type === "text" && typeof part.text === "string") parts.push(part.text);
      else if (part.type === "refusal" && typeof part.refusal === "string") {
        parts.push(part.refusal);
      } else parts.push(`[${part.type}]`);
    }
  }
  for (const call of message.tool_calls ?? []) {
    parts.push(`${call.function?.name}(${call.function?.arguments ?? ""})`);
  }
  if (message.function_call) {
    parts.push(`${message.function_call.name}(${message.function_call.arguments})`);
  }
  return parts.join("\n");
}

function chatMessages(value: unknown): LlmObsMessage[] | undefined {
  const list = Array.isArray(value) ? value : value && typeof value === "object" ? [value] : [];
  const out: LlmObsMessage[] = [];
  for (const message of list) {
    if (!message || typeof message !== "object" || typeof message.role !== "string") {
      return undefined;
    }
    out.push({ role: message.role, content: contentText(message as ChatMessage) });
  }
  return out;
}

/** The IO of a value as the event carries it: chat messages, or text (JSON for anything else). */
function io(value: unknown, chat: boolean): LlmObsIO | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return { value };
  if (chat) {
    const messages = chatMessages(value);
    if (messages) return { messages };
  }
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) {
    return { value: value.join("\n") };
  }
  return { value: JSON.stringify(value) };
}

const scalar = (value: unknown): value is string | number | boolean =>
  typeof value === "string" || typeof value === "boolean" ||
  (typeof value === "number" && Number.isFinite(value));

/**
 * The LLM Observability span of one call: an `llm` span (`embedding` for
 * embeddings) with the call's own trace id and span id, start and
 * duration in nanoseconds, input and output as the event carries them
 * (messages for chat-shaped calls, a value otherwise, the removal marker
 * when the sink's redaction removed them), token metrics, model and
 * provider in `metadata`, and the error of a failed call. A span whose
 * JSON passes 1 MB is sent without its input and output text.
 *
 * @param event The (redacted) log event.
 * @param tags Tags of the span (besides {@link eventTags}).
 * @returns The span.
 *
 * @example
 * ```ts
 * import { toLlmObsSpan } from "@sluice/datadog";
 * import { sampleEvent } from "@sluice/core/testing";
 *
 * const span = toLlmObsSpan(sampleEvent(), []);
 * span.meta.kind; // "llm"
 * span.metrics.total_tokens; // the call's total tokens
 * ```
 */
export function toLlmObsSpan(event: LogEvent, tags: readonly string[]): LlmObsSpan {
  const chat = isChatCall(event);
  const params = event.model_parameters ?? {};
  const request = event.metadata?.request ?? {};
  const metadata: Record<string, string | number | boolean> = {};
  const put = (key: string, value: unknown) => {
    if (scalar(value)) metadata[key] = value;
  };
  put("model_name", event.model ?? event.model_group);
  put("model_provider", event.provider);
  put("model_group", event.model_group);
  put("temperature", params.temperature);
  put("max_tokens", params.max_tokens ?? params.max_completion_tokens ?? params.max_output_tokens);
  put("response_cost", event.response_cost);
  put("request_id", event.request_id);
  put("call_id", event.call_id);
  put("call_type", event.call_type);
  put("stream", event.stream);
  put("end_user", event.metadata?.end_user);
  put("user_api_key_hash", event.metadata?.user_api_key_hash);
  put("parent_span_id", event.parent_span_id);
  const metrics: Record<string, number> = {
    input_tokens: event.prompt_tokens ?? 0,
    output_tokens: event.completion_tokens ?? 0,
    total_tokens: event.total_tokens ?? 0,
  };
  if (event.stream && event.completion_start_time !== undefined) {
    metrics.time_to_first_token = Math.max(0, event.completion_start_time - event.start_time) /
      1000;
  }
  const span: LlmObsSpan = {
    name: `${event.call_type} ${event.model_group ?? event.model ?? "unknown"}`,
    span_id: hexToDecimal(event.span_id),
    trace_id: event.trace_id,
    parent_id: "undefined",
    start_ns: Math.round(event.start_time * 1e6),
    duration: Math.max(0, Math.round((event.end_time - event.start_time) * 1e6)),
    status: event.status === "success" ? "ok" : "error",
    meta: {
      kind: event.call_type === "embedding" ? "embedding" : "llm",
      input: io(event.messages, chat),
      output: io(event.response, chat),
      metadata,
    },
    metrics,
    tags: [...tags, ...eventTags(event)],
  };
  if (event.error) {
    span.meta.error = { message: event.error.message, type: event.error.class };
  }
  if (typeof request.session_id === "string" && request.session_id) {
    span.session_id = request.session_id;
  }
  for (const key of ["input", "output"] as const) {
    if (span.meta[key] === undefined) delete span.meta[key];
  }
  if (utf8Length(JSON.stringify(span)) > MAX_ITEM_BYTES) {
    span.meta.input = { value: DROPPED_CONTENT };
    if (span.meta.output) span.meta.output = { value: DROPPED_CONTENT };
  }
  return span;
}
