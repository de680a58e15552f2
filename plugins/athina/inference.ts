/**
 * From a Sluice log event to the body of one Athina inference log
 * ({@link toAthinaInference}).
 * @module
 */
import type { ChatMessage, LogEvent } from "@sluice/core/plugin";
import { isChatCall } from "@sluice/core/plugin";

/** An OpenAI `ChatCompletion` object, the `response` shape Athina reads tokens and cost from. */
export interface AthinaChatCompletion {
  /** The upstream response id. */
  id: string;
  /** Always `chat.completion`. */
  object: "chat.completion";
  /** Epoch seconds of the call's end. */
  created: number;
  /** The upstream model. */
  model: string;
  /** One choice per answer. */
  choices: { index: number; message: ChatMessage; finish_reason: string | null }[];
  /** Token counts. */
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

/** The body of `POST {endpoint}/api/v1/log/inference` (Athina's logging attributes). */
export interface AthinaInference {
  /** The model (a label; Athina prices known models by it). */
  language_model_id: string;
  /** The request's messages (chat), else its prompt or input as text; a marker when removed. */
  prompt: ChatMessage[] | string;
  /** A `ChatCompletion` (chat), the text (completions), a summary (embeddings); `""` when a call failed without one. */
  response: AthinaChatCompletion | string;
  /** Milliseconds from request to answer. */
  response_time: number;
  /** The status the client got: 200, or the failure's status. */
  status_code: number;
  /** What failed, for a failed call. */
  error?: string;
  /** Input tokens. */
  prompt_tokens: number;
  /** Output tokens. */
  completion_tokens: number;
  /** Both. */
  total_tokens: number;
  /** USD, when the gateway knows the price. */
  cost?: number;
  /** The user's query: the request's `metadata.user_query`, else the last user message's text. */
  user_query?: string;
  /** Retrieved context from the request's metadata. */
  context?: string | Record<string, unknown>;
  /** The reference answer from the request's metadata. */
  expected_response?: string;
  /** The request's `metadata.environment`, else the sink's. */
  environment?: string;
  /** The request's `metadata.prompt_slug`, else the sink's. */
  prompt_slug?: string;
  /** The request's `metadata.customer_id`. */
  customer_id?: string;
  /** The request's `metadata.customer_user_id`, else its `user`, else the key's user. */
  customer_user_id?: string;
  /** The request's `metadata.session_id`. */
  session_id?: string;
  /** The request's `metadata.external_reference_id`, else the gateway's `request_id`. */
  external_reference_id: string;
  /** The request's tags. */
  tags?: string[];
  /** The request's `metadata.user_feedback`. */
  user_feedback?: number;
  /** The request's `metadata.model_options`, else its parameters. */
  model_options?: Record<string, unknown>;
  /** The sink's, the call's ids, model group, provider, key alias and team, the request's own. */
  custom_attributes: Record<string, unknown>;
}

/** What {@link toAthinaInference} adds besides the event (the sink's config). */
export interface AthinaInferenceOptions {
  /** `environment` unless the request names one. */
  environment?: string;
  /** `prompt_slug` unless the request names one. */
  promptSlug?: string;
  /** Attributes on every log. */
  customAttributes?: Record<string, unknown>;
}

const text = (value: unknown): string | undefined =>
  typeof value === "string" && value.trim() !== ""
    ? value
    : typeof value === "number" || typeof value === "boolean"
    ? String(value)
    : undefined;

const record = (value: unknown): Record<string, unknown> | undefined =>
  typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as Record<string, unknown>
    : undefined;

/** The text of a message's content (its text parts joined), if any. */
function contentText(message: ChatMessage): string | undefined {
  const { content } = message;
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return undefined;
  const parts = content.flatMap((p) =>
    p && typeof p === "object" && p.type === "text" && typeof p.text === "string" ? [p.text] : []
  );
  return parts.length > 0 ? parts.join("\n") : undefined;
}

const asText = (value: unknown): string =>
  typeof value === "string" ? value : value === undefined ? "" : JSON.stringify(value);

/**
 * The Athina inference log of one call: `language_model_id` the upstream
 * model, `prompt` the request's messages (or prompt, or input) and
 * `response` the answer as a `ChatCompletion` object, both as the sink's
 * redaction leaves them (a removed field is its marker string); tokens,
 * cost, `response_time` in ms, `status_code` and `error`; the keys
 * LiteLLM forwards from the request's metadata (`environment`,
 * `prompt_slug`, `customer_id`, `customer_user_id`, `session_id`,
 * `external_reference_id`, `context`, `expected_response`, `user_query`,
 * `tags`, `user_feedback`, `model_options`, `custom_attributes`), with
 * defaults where the call has the value: the request's `user` as
 * `customer_user_id`, the last user message as `user_query`,
 * `request_id` as `external_reference_id`, and the call's ids, model
 * group, provider, key alias and team in `custom_attributes`.
 *
 * @param event The (redacted) log event.
 * @param options The sink's environment, prompt slug and attributes.
 * @returns The body to POST.
 *
 * @example
 * ```ts
 * import { toAthinaInference } from "@sluice/athina";
 * import { sampleEvent } from "@sluice/core/testing";
 *
 * const log = toAthinaInference(sampleEvent(), { environment: "production" });
 * log.language_model_id; // "gpt-4o-mini-2024-07-18"
 * log.status_code; // 200
 * ```
 */
export function toAthinaInference(
  event: LogEvent,
  options: AthinaInferenceOptions = {},
): AthinaInference {
  const meta = event.metadata ?? { tags: [], request: {} };
  const request = meta.request ?? {};
  const model = event.model ?? event.model_group ?? event.call_type;
  const usage = {
    prompt_tokens: event.prompt_tokens ?? 0,
    completion_tokens: event.completion_tokens ?? 0,
    total_tokens: event.total_tokens ??
      (event.prompt_tokens ?? 0) + (event.completion_tokens ?? 0),
  };

  let prompt: ChatMessage[] | string;
  let response: AthinaChatCompletion | string;
  let userQuery = text(request.user_query);
  if (isChatCall(event)) {
    prompt = Array.isArray(event.messages) ? event.messages : asText(event.messages);
    if (!userQuery && Array.isArray(event.messages)) {
      const last = event.messages.findLast((m) => m?.role === "user");
      userQuery = last ? contentText(last) : undefined;
    }
    const answer = event.response;
    const choices = Array.isArray(answer)
      ? answer
      : answer && typeof answer === "object"
      ? [answer]
      : [];
    response = choices.length > 0
      ? {
        id: event.id,
        object: "chat.completion",
        created: Math.floor(event.end_time / 1000),
        model,
        choices: choices.map((message, index) => ({
          index,
          message,
          finish_reason: event.finish_reasons?.[index] ?? null,
        })),
        usage,
      }
      : asText(answer);
  } else {
    prompt = asText(event.messages);
    if (!userQuery && typeof event.messages === "string") userQuery = event.messages;
    const answer = event.response;
    response = Array.isArray(answer) && answer.length === 1 && typeof answer[0] === "string"
      ? answer[0]
      : asText(answer);
  }

  const customAttributes: Record<string, unknown> = {
    ...options.customAttributes,
    request_id: event.request_id,
    call_id: event.call_id,
    trace_id: event.trace_id,
    span_id: event.span_id,
    call_type: event.call_type,
    model_group: event.model_group,
    provider: event.provider,
    stream: event.stream,
    key_alias: meta.user_api_key_alias,
    team: meta.user_api_key_team,
    ...record(request.custom_attributes),
  };
  for (const [key, value] of Object.entries(customAttributes)) {
    if (value === undefined) delete customAttributes[key];
  }

  const log: AthinaInference = {
    language_model_id: model,
    prompt,
    response,
    response_time: Math.max(
      0,
      Math.round(event.response_time_ms ?? event.end_time - event.start_time),
    ),
    status_code: event.status === "success" ? 200 : event.error?.status ?? 500,
    ...usage,
    external_reference_id: text(request.external_reference_id) ?? event.request_id,
    custom_attributes: customAttributes,
  };
  if (event.status !== "success") {
    const error = event.error;
    log.error = error
      ? `${error.class} (${error.status} ${error.code}): ${error.message}`
      : "failed";
  }
  if (typeof event.response_cost === "number") log.cost = event.response_cost;
  if (userQuery) log.user_query = userQuery;
  const context = typeof request.context === "string" ? request.context : record(request.context);
  if (context !== undefined) log.context = context;
  const strings = {
    expected_response: text(request.expected_response),
    environment: text(request.environment) ?? options.environment,
    prompt_slug: text(request.prompt_slug) ?? options.promptSlug,
    customer_id: text(request.customer_id),
    customer_user_id: text(request.customer_user_id) ?? text(meta.end_user) ??
      text(meta.user_api_key_user_id),
    session_id: text(request.session_id),
  };
  for (const [key, value] of Object.entries(strings)) {
    if (value !== undefined) log[key as keyof typeof strings] = value;
  }
  const tags = (meta.tags ?? []).filter((t) => typeof t === "string");
  if (tags.length > 0) log.tags = tags;
  const feedback = Number(request.user_feedback);
  if (request.user_feedback !== undefined && Number.isFinite(feedback)) {
    log.user_feedback = feedback;
  }
  const modelOptions = record(request.model_options) ??
    (event.model_parameters && Object.keys(event.model_parameters).length > 0
      ? event.model_parameters
      : undefined);
  if (modelOptions) log.model_options = modelOptions;
  return log;
}
