/**
 * From a Sluice log event to what Galileo ingests: an LLM span (API-key
 * flow, `/v2/projects/{id}/traces` or `/spans`) or an Observe record
 * (legacy flow, `/projects/{id}/observe/ingest`).
 * @module
 */
import { isChatCall, type LogEvent } from "@sluice/core/plugin";

/** Roles Galileo's `Message` accepts; any other role is sent as `user`. */
export const GALILEO_ROLES: readonly string[] = [
  "agent",
  "assistant",
  "developer",
  "function",
  "system",
  "tool",
  "user",
];

/** A tool call inside a Galileo message. */
export interface GalileoToolCall {
  /** The call's id. */
  id: string;
  /** Name and arguments (a JSON string). */
  function: { name: string; arguments: string };
}

/** A chat message as Galileo takes it. */
export interface GalileoMessage {
  /** One of {@link GALILEO_ROLES}. */
  role: string;
  /** The text (non-text parts appear as `[image_url]`, `[input_audio]`, …). */
  content: string;
  /** Tool calls of an assistant message. */
  tool_calls?: GalileoToolCall[];
  /** The call a tool message answers. */
  tool_call_id?: string;
}

/** Metrics of an LLM span. */
export interface GalileoLlmMetrics {
  /** Call duration in nanoseconds. */
  duration_ns: number;
  /** Input tokens. */
  num_input_tokens: number;
  /** Output tokens. */
  num_output_tokens: number;
  /** Both. */
  num_total_tokens: number;
  /** Time to the first streamed token in nanoseconds (streams only). */
  time_to_first_token_ns?: number;
}

/** One LLM call as a Galileo LLM span (API-key flow). */
export interface GalileoLlmSpan {
  /** Always `"llm"`. */
  type: "llm";
  /** `<call type> <model group>`, e.g. `chat gpt-4o-mini`. */
  name: string;
  /** The request's messages. */
  input: GalileoMessage[];
  /** The assistant's message (empty content for a failed call). */
  output: GalileoMessage;
  /** The upstream model id. */
  model?: string;
  /** Call start, ISO 8601 in UTC. */
  created_at: string;
  /** 200 for a success, else the HTTP status the client received. */
  status_code: number;
  /** Request tags. */
  tags: string[];
  /** The request's `temperature`, if set. */
  temperature?: number;
  /** Ids, key and team, request metadata, error details: strings only. */
  user_metadata: Record<string, string>;
  /** Duration and tokens. */
  metrics: GalileoLlmMetrics;
}

/** One call as a Galileo trace holding its LLM span (API-key flow, `ingest: traces`). */
export interface GalileoTrace {
  /** Always `"trace"`. */
  type: "trace";
  /** Same as the span's. */
  name: string;
  /** The input as text. */
  input: string;
  /** The output as text. */
  output: string;
  /** Call start, ISO 8601 in UTC. */
  created_at: string;
  /** Same as the span's. */
  status_code: number;
  /** Same as the span's. */
  tags: string[];
  /** Same as the span's. */
  user_metadata: Record<string, string>;
  /** The call's duration. */
  metrics: { duration_ns: number };
  /** The call's LLM span. */
  spans: [GalileoLlmSpan];
}

/** One call as a Galileo Observe record (legacy username/password flow). */
export interface GalileoObserveRecord {
  /** The request's messages as text (JSON of `{role, content}` for chat). */
  input_text: string;
  /** The assistant's answer as text (empty for a failed call). */
  output_text: string;
  /** The upstream model id (else the public model name). */
  model: string;
  /** Input tokens. */
  num_input_tokens: number;
  /** Output tokens. */
  num_output_tokens: number;
  /** Call duration in milliseconds. */
  latency_ms: number;
  /** 200 for a success, else the HTTP status the client received. */
  status_code: number;
  /** `chat` for chat-shaped calls (chat, Responses, Anthropic Messages), `llm` for completions and embeddings. */
  node_type: "chat" | "llm";
  /** Call start in UTC as `YYYY-MM-DDTHH:MM:SS` (Galileo's documented format). */
  created_at: string;
  /** Request tags. */
  tags: string[];
  /** Ids, key and team, request metadata, error details: strings only. */
  user_metadata: Record<string, string>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Text of an OpenAI `content` (string, parts, or anything else). */
function contentText(content: unknown): string {
  if (content === undefined || content === null) return "";
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content.map((part) => {
      if (typeof part === "string") return part;
      if (isRecord(part)) {
        if (typeof part.text === "string") return part.text;
        if (typeof part.refusal === "string") return part.refusal;
        if (typeof part.type === "string") return `[${part.type}]`;
      }
      return JSON.stringify(part);
    }).join("\n");
  }
  return JSON.stringify(content);
}

function toolCallsOf(value: unknown): GalileoToolCall[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  return value.map((call, i) => {
    const c = isRecord(call) ? call : {};
    const fn = isRecord(c.function) ? c.function : {};
    const args = fn.arguments;
    return {
      id: typeof c.id === "string" ? c.id : `call_${i}`,
      function: {
        name: typeof fn.name === "string" ? fn.name : "",
        arguments: typeof args === "string" ? args : JSON.stringify(args ?? {}),
      },
    };
  });
}

function toMessage(value: unknown, fallbackRole: string): GalileoMessage {
  if (!isRecord(value)) return { role: fallbackRole, content: contentText(value) };
  const role = typeof value.role === "string" && GALILEO_ROLES.includes(value.role)
    ? value.role
    : fallbackRole;
  const message: GalileoMessage = { role, content: contentText(value.content) };
  if (!message.content && typeof value.reasoning_content === "string") {
    message.content = value.reasoning_content;
  }
  const toolCalls = toolCallsOf(value.tool_calls);
  if (toolCalls) message.tool_calls = toolCalls;
  if (typeof value.tool_call_id === "string") message.tool_call_id = value.tool_call_id;
  return message;
}

/**
 * The event's input as Galileo messages: chat messages one by one; a
 * completion prompt, an embeddings input or a redaction placeholder as one
 * `user` message.
 *
 * @param event The (redacted) log event.
 * @returns The messages (empty when the event has none).
 *
 * @example
 * ```ts
 * import { galileoInput } from "@sluice/galileo";
 * import { REMOVED_PLACEHOLDER } from "@sluice/core/plugin";
 * import { sampleEvent } from "@sluice/core/testing";
 * galileoInput(sampleEvent({ messages: REMOVED_PLACEHOLDER })); // [{ role: "user", content: REMOVED_PLACEHOLDER }]
 * ```
 */
export function galileoInput(event: LogEvent): GalileoMessage[] {
  const messages = event.messages;
  if (messages === undefined || messages === null) return [];
  if (Array.isArray(messages) && messages.every((m) => isRecord(m) && "role" in m)) {
    return messages.map((m) => toMessage(m, "user"));
  }
  return [{ role: "user", content: contentText(messages) }];
}

/**
 * The event's output as one Galileo message: the assistant message, the
 * choices joined (several choices, completions), an embeddings summary as
 * JSON, or empty content for a failed call.
 *
 * @param event The (redacted) log event.
 * @returns The message.
 *
 * @example
 * ```ts
 * import { galileoOutput } from "@sluice/galileo";
 * import { sampleEvent } from "@sluice/core/testing";
 * galileoOutput(sampleEvent({ response: { role: "assistant", content: "Hi" } })); // { role: "assistant", content: "Hi" }
 * ```
 */
export function galileoOutput(event: LogEvent): GalileoMessage {
  const response = event.response;
  if (response === undefined || response === null) return { role: "assistant", content: "" };
  if (Array.isArray(response)) {
    const parts = response.map((r) => isRecord(r) ? toMessage(r, "assistant") : toMessage(r, ""));
    const toolCalls = parts.flatMap((p) => p.tool_calls ?? []);
    const message: GalileoMessage = {
      role: "assistant",
      content: parts.map((p) => p.content).join("\n"),
    };
    if (toolCalls.length > 0) message.tool_calls = toolCalls;
    return message;
  }
  if (isRecord(response) && typeof response.role === "string") {
    return toMessage(response, "assistant");
  }
  return { role: "assistant", content: contentText(response) };
}

function statusCode(event: LogEvent): number {
  if (event.status === "success") return 200;
  const status = event.error?.status;
  return typeof status === "number" && Number.isInteger(status) ? status : 500;
}

function text(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

/**
 * The `user_metadata` Galileo stores with a call (string values only): the
 * gateway's ids, model group, provider, key alias, team and user, the
 * request's `user`, cost, stream flag, scalar request metadata under
 * `request.<key>`, and for a failure the error class, code and message.
 *
 * @param event The (redacted) log event.
 * @returns The map.
 *
 * @example
 * ```ts
 * import { galileoUserMetadata } from "@sluice/galileo";
 * import { sampleEvent } from "@sluice/core/testing";
 * const event = sampleEvent();
 * galileoUserMetadata(event).request_id === event.request_id; // true
 * ```
 */
export function galileoUserMetadata(event: LogEvent): Record<string, string> {
  const meta = event.metadata ?? { tags: [], request: {} };
  const out: Record<string, string> = {};
  const put = (key: string, value: unknown) => {
    const t = text(value);
    if (t !== undefined && t !== "") out[key] = t;
  };
  put("request_id", event.request_id);
  put("call_id", event.call_id);
  put("trace_id", event.trace_id);
  put("span_id", event.span_id);
  put("call_type", event.call_type);
  put("stream", event.stream);
  put("model_group", event.model_group);
  put("model_id", event.model_id);
  put("provider", event.provider);
  put("response_cost", event.response_cost);
  put("key_alias", meta.user_api_key_alias);
  put("team", meta.user_api_key_team);
  put("user", meta.user_api_key_user_id);
  put("end_user", meta.end_user);
  for (const [key, value] of Object.entries(meta.request ?? {})) put(`request.${key}`, value);
  if (event.error) {
    put("error_class", event.error.class);
    put("error_code", event.error.code);
    put("error_message", event.error.message);
  }
  return out;
}

function spanName(event: LogEvent): string {
  return `${event.call_type} ${event.model_group ?? event.model ?? "unknown"}`;
}

const ms = (value: number) => Math.max(0, Math.round(value));

/**
 * One call as a Galileo LLM span.
 *
 * @param event The (redacted) log event.
 * @returns The span.
 *
 * @example
 * ```ts
 * import { toGalileoSpan } from "@sluice/galileo";
 * import { sampleEvent } from "@sluice/core/testing";
 * const span = toGalileoSpan(sampleEvent());
 * span.metrics.duration_ns; // response_time_ms × 1,000,000
 * ```
 */
export function toGalileoSpan(event: LogEvent): GalileoLlmSpan {
  const metrics: GalileoLlmMetrics = {
    duration_ns: ms(event.response_time_ms) * 1_000_000,
    num_input_tokens: event.prompt_tokens ?? 0,
    num_output_tokens: event.completion_tokens ?? 0,
    num_total_tokens: event.total_tokens ?? 0,
  };
  if (event.stream && typeof event.completion_start_time === "number") {
    metrics.time_to_first_token_ns = ms(event.completion_start_time - event.start_time) *
      1_000_000;
  }
  const span: GalileoLlmSpan = {
    type: "llm",
    name: spanName(event),
    input: galileoInput(event),
    output: galileoOutput(event),
    model: event.model ?? event.model_group,
    created_at: new Date(event.start_time).toISOString(),
    status_code: statusCode(event),
    tags: [...(event.metadata?.tags ?? [])],
    user_metadata: galileoUserMetadata(event),
    metrics,
  };
  const temperature = event.model_parameters?.temperature;
  if (typeof temperature === "number") span.temperature = temperature;
  if (span.model === undefined) delete span.model;
  return span;
}

function inputText(event: LogEvent): string {
  const messages = event.messages;
  if (typeof messages === "string") return messages;
  const input = galileoInput(event);
  if (Array.isArray(messages) && input.length > 0 && messages.every(isRecord)) {
    return JSON.stringify(input.map(({ role, content }) => ({ role, content })));
  }
  return input.map((m) => m.content).join("\n");
}

function outputText(event: LogEvent): string {
  const out = galileoOutput(event);
  if (out.content || !out.tool_calls) return out.content;
  return JSON.stringify(out.tool_calls);
}

/**
 * One call as a Galileo trace holding its LLM span: the trace carries the
 * input and output as text, the span the messages, model and tokens.
 *
 * @param event The (redacted) log event.
 * @returns The trace.
 *
 * @example
 * ```ts
 * import { toGalileoTrace } from "@sluice/galileo";
 * import { sampleEvent } from "@sluice/core/testing";
 * toGalileoTrace(sampleEvent()).spans[0].type; // "llm"
 * ```
 */
export function toGalileoTrace(event: LogEvent): GalileoTrace {
  const span = toGalileoSpan(event);
  return {
    type: "trace",
    name: span.name,
    input: inputText(event),
    output: outputText(event),
    created_at: span.created_at,
    status_code: span.status_code,
    tags: span.tags,
    user_metadata: span.user_metadata,
    metrics: { duration_ns: span.metrics.duration_ns },
    spans: [span],
  };
}

/**
 * One call as a Galileo Observe record (legacy flow).
 *
 * @param event The (redacted) log event.
 * @returns The record.
 *
 * @example
 * ```ts
 * import { toObserveRecord } from "@sluice/galileo";
 * import { sampleEvent } from "@sluice/core/testing";
 * const record = toObserveRecord(sampleEvent());
 * record.node_type; // "chat"
 * ```
 */
export function toObserveRecord(event: LogEvent): GalileoObserveRecord {
  return {
    input_text: inputText(event),
    output_text: outputText(event),
    model: event.model ?? event.model_group ?? "unknown",
    num_input_tokens: event.prompt_tokens ?? 0,
    num_output_tokens: event.completion_tokens ?? 0,
    latency_ms: ms(event.response_time_ms),
    status_code: statusCode(event),
    node_type: isChatCall(event) ? "chat" : "llm",
    created_at: new Date(event.start_time).toISOString().slice(0, 19),
    tags: [...(event.metadata?.tags ?? [])],
    user_metadata: galileoUserMetadata(event),
  };
}

/**
 * A version-4-shaped UUID derived from a W3C trace id (32 hex): Galileo
 * ids are UUID4s, so the version and variant bits are set; calls of one
 * trace map to the same Galileo trace.
 *
 * @param traceId 32 hex characters.
 * @returns The UUID.
 *
 * @example
 * ```ts
 * import { galileoTraceUuid } from "@sluice/galileo";
 * galileoTraceUuid("0af7651916cd43dd8448eb211c80319c"); // "0af76519-16cd-43dd-8448-eb211c80319c"
 * ```
 */
export function galileoTraceUuid(traceId: string): string {
  let hex = traceId.toLowerCase().replace(/[^0-9a-f]/g, "").padEnd(32, "0").slice(0, 32);
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  hex = `${hex.slice(0, 12)}4${hex.slice(13, 16)}${variant}${hex.slice(17)}`;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}
