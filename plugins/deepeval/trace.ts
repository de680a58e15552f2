/**
 * From a Sluice log event to a Confident AI trace with one LLM span
 * ({@link toConfidentTrace}), the body of `POST /v1/traces`.
 * @module
 */
import type { ChatMessage, LogEvent } from "@sluice/core/plugin";
import { isChatCall } from "@sluice/core/plugin";
import type { ConfidentEnvironment } from "./config.ts";

/** `SUCCESS` or `ERRORED`. */
export type ConfidentStatus = "SUCCESS" | "ERRORED";

/** An LLM span of a Confident AI trace. */
export interface ConfidentLlmSpan {
  /** The span's UUID, derived from the call's `request_id` (the same on every resend). */
  uuid: string;
  /** The request's `metadata.generation_name`, else the upstream model. */
  name: string;
  /** `llm`. */
  type: "llm";
  /** `SUCCESS`, or `ERRORED` for a failed call. */
  status: ConfidentStatus;
  /** When the call started, ISO 8601 with milliseconds. */
  startTime: string;
  /** When it ended. */
  endTime: string;
  /** The request's messages (or prompt, or input) as the sink's redaction leaves them. */
  input?: unknown;
  /** The answer's text, else the answer as the event carries it. */
  output?: unknown;
  /** What failed. */
  error?: string;
  /** The upstream model. */
  model?: string;
  /** The upstream provider. */
  provider?: string;
  /** Input tokens. */
  inputTokenCount: number;
  /** Output tokens. */
  outputTokenCount: number;
  /** USD per input token, when the gateway knows the price. */
  costPerInputToken?: number;
  /** USD per output token, when the gateway knows the price. */
  costPerOutputToken?: number;
  /** Parameters, finish reasons, cache tokens, total cost, time to first token. */
  metadata: Record<string, unknown>;
}

/** The body of `POST /v1/traces`: one trace per call. */
export interface ConfidentTrace {
  /** The gateway's `request_id`. */
  uuid: string;
  /** The request's `metadata.trace_name`, else the model group. */
  name: string;
  /** `SUCCESS` or `ERRORED`. */
  status: ConfidentStatus;
  /** When the call started. */
  startTime: string;
  /** When it ended. */
  endTime: string;
  /** The trace environment. */
  environment: ConfidentEnvironment;
  /** The user's text (the last user message, or the prompt), when there is one. */
  input?: string;
  /** The answer's text, when there is one. */
  output?: string;
  /** The sink's tags and the request's. */
  tags?: string[];
  /** The call's ids, model group, provider, the key's alias and team, the request's metadata. */
  metadata: Record<string, unknown>;
  /** The request's `metadata.thread_id`, else its `session_id`. */
  threadId?: string;
  /** The request's `user`, else the key's user. */
  userId?: string;
  /** The request's `metadata.metric_collection` (online evals on Confident AI). */
  metricCollection?: string;
  /** The one LLM span. */
  llmSpans: [ConfidentLlmSpan];
}

/** What {@link toConfidentTrace} needs besides the event. */
export interface ConfidentTraceOptions {
  /** The trace environment. */
  environment: ConfidentEnvironment;
  /** Tags on every trace. */
  tags?: readonly string[];
}

const text = (value: unknown): string | undefined =>
  typeof value === "string" && value.trim() !== "" ? value : undefined;

/** The text of a message's content (its text parts joined), if any. */
function contentText(message: ChatMessage | undefined): string | undefined {
  const content = message?.content;
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return undefined;
  const parts = content.flatMap((p) =>
    p && typeof p === "object" && p.type === "text" && typeof p.text === "string" ? [p.text] : []
  );
  return parts.length > 0 ? parts.join("\n") : undefined;
}

/** ISO 8601 in UTC with milliseconds and `Z`, as Confident AI's API validates it. */
const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * The UUID of a call's LLM span: SHA-256 of `request_id` and `/llm`,
 * formatted as an RFC 9562 version 8 UUID, so a batch sent again names the
 * same span.
 *
 * @param requestId The call's `request_id`.
 * @returns The span's UUID.
 *
 * @example
 * ```ts
 * import { llmSpanUuid } from "@sluice/deepeval";
 * const uuid = await llmSpanUuid("0b9a3f6e-6f0c-4a43-9d7e-5f3c1b2a8e11");
 * uuid[14]; // "8"
 * ```
 */
export async function llmSpanUuid(requestId: string): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${requestId}/llm`)),
  ).slice(0, 16);
  digest[6] = (digest[6] & 0x0f) | 0x80;
  digest[8] = (digest[8] & 0x3f) | 0x80;
  const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}

const META_KEYS = ["trace_name", "generation_name", "thread_id", "metric_collection", "tags"];

/**
 * The Confident AI trace of one call: `uuid` the call's `request_id`, one
 * LLM span (`llmSpans`) with the model and provider, the request's
 * messages as `input` and the answer as `output` as the sink's redaction
 * leaves them, input and output token counts, the cost per input and per
 * output token (Confident AI's cost fields) when the price is known,
 * `SUCCESS` or `ERRORED` with the error; the trace carries the user's and
 * the answer's text, the environment, tags, the end user (`userId`), the
 * thread (`metadata.thread_id` or `session_id`) and the call's ids (W3C
 * trace and span ids included) in `metadata`.
 *
 * @param event The (redacted) log event.
 * @param options The environment and the sink's tags.
 * @returns The body to POST.
 *
 * @example
 * ```ts
 * import { toConfidentTrace } from "@sluice/deepeval";
 * import { sampleEvent } from "@sluice/core/testing";
 *
 * const trace = await toConfidentTrace(sampleEvent(), { environment: "production" });
 * trace.llmSpans[0].type; // "llm"
 * trace.status; // "SUCCESS"
 * ```
 */
export async function toConfidentTrace(
  event: LogEvent,
  options: ConfidentTraceOptions,
): Promise<ConfidentTrace> {
  const meta = event.metadata ?? { tags: [], request: {} };
  const request = meta.request ?? {};
  const status: ConfidentStatus = event.status === "success" ? "SUCCESS" : "ERRORED";
  const startTime = iso(event.start_time);
  const endTime = iso(event.end_time);

  let userText: string | undefined;
  let answerText: string | undefined;
  let output: unknown = event.response;
  if (isChatCall(event)) {
    if (Array.isArray(event.messages)) {
      userText = contentText(event.messages.findLast((m) => m?.role === "user"));
    } else userText = text(event.messages);
    const answer = event.response;
    if (Array.isArray(answer)) {
      answerText = answer.length === 1 ? contentText(answer[0]) : undefined;
    } else if (answer && typeof answer === "object") {
      answerText = contentText(answer);
      const plain = !answer.tool_calls?.length && !answer.function_call;
      if (answerText !== undefined && plain) output = answerText;
    } else answerText = text(answer);
  } else {
    userText = text(event.messages);
    const answer = event.response;
    if (Array.isArray(answer) && answer.length === 1 && typeof answer[0] === "string") {
      answerText = output = answer[0];
    } else answerText = text(answer);
  }

  const span: ConfidentLlmSpan = {
    uuid: await llmSpanUuid(event.request_id),
    name: text(request.generation_name) ?? event.model ?? event.model_group ?? "llm",
    type: "llm",
    status,
    startTime,
    endTime,
    inputTokenCount: event.prompt_tokens ?? 0,
    outputTokenCount: event.completion_tokens ?? 0,
    metadata: {},
  };
  if (event.messages !== undefined) span.input = event.messages;
  if (output !== undefined) span.output = output;
  if (event.model) span.model = event.model;
  if (event.provider) span.provider = event.provider;
  const breakdown = event.cost_breakdown;
  if (breakdown && event.prompt_tokens > 0) {
    span.costPerInputToken = breakdown.input / event.prompt_tokens;
  }
  if (breakdown && event.completion_tokens > 0) {
    span.costPerOutputToken = breakdown.output / event.completion_tokens;
  }
  if (event.status !== "success") {
    const error = event.error;
    span.error = error
      ? `${error.class} (${error.status} ${error.code}): ${error.message}`
      : "failed";
  }
  const spanMeta: Record<string, unknown> = {
    call_type: event.call_type,
    stream: event.stream,
    model_parameters: event.model_parameters,
    finish_reasons: event.finish_reasons,
    total_tokens: event.total_tokens,
    cache_read_input_tokens: event.cache_read_input_tokens,
    cache_creation_input_tokens: event.cache_creation_input_tokens,
    response_cost: event.response_cost,
    completion_start_time: event.completion_start_time === undefined
      ? undefined
      : iso(event.completion_start_time),
    api_base: event.api_base,
  };
  for (const [key, value] of Object.entries(spanMeta)) {
    if (value !== undefined) span.metadata[key] = value;
  }

  const metadata: Record<string, unknown> = {
    ...request,
    request_id: event.request_id,
    call_id: event.call_id,
    response_id: event.id,
    trace_id: event.trace_id,
    span_id: event.span_id,
    parent_span_id: event.parent_span_id,
    model_group: event.model_group,
    provider: event.provider,
    user_api_key_alias: meta.user_api_key_alias,
    user_api_key_team: meta.user_api_key_team,
    user_api_key_hash: meta.user_api_key_hash,
  };
  for (const key of META_KEYS) delete metadata[key];
  for (const [key, value] of Object.entries(metadata)) {
    if (value === undefined) delete metadata[key];
  }

  const trace: ConfidentTrace = {
    uuid: event.request_id,
    name: text(request.trace_name) ?? event.model_group ?? event.model ?? event.call_type,
    status,
    startTime,
    endTime,
    environment: options.environment,
    metadata,
    llmSpans: [span],
  };
  if (userText !== undefined) trace.input = userText;
  if (answerText !== undefined) trace.output = answerText;
  const tags = [...new Set([...(options.tags ?? []), ...(meta.tags ?? [])])];
  if (tags.length > 0) trace.tags = tags;
  const thread = text(request.thread_id) ?? text(request.session_id);
  if (thread) trace.threadId = thread;
  const user = text(meta.end_user) ?? text(meta.user_api_key_user_id);
  if (user) trace.userId = user;
  const collection = text(request.metric_collection);
  if (collection) trace.metricCollection = collection;
  return trace;
}
