/**
 * `@sluice/otel/genai`: the mapping of one Sluice {@link LogEvent} to one
 * OpenTelemetry span following the GenAI semantic conventions (v1.41.0):
 * name `{gen_ai.operation.name} {gen_ai.request.model}`, kind CLIENT, the
 * `gen_ai.*` request, response and usage attributes, `error.type` and an
 * ERROR status for failures, the messages in the conventions' "parts"
 * shape when the event still carries them, and Sluice's own metadata under
 * `sluice.*`. The span keeps the event's trace context (`trace_id`,
 * `span_id`, `parent_span_id`, `trace_state`) and its real start and end
 * times.
 *
 * Everything here is a pure function of the event: no SDK state, no I/O.
 * Other plugins (Langfuse) import it to describe calls the same way, and
 * {@link toReadableSpan} to turn such a span into the SDK's finished
 * `ReadableSpan` for the official OTLP serializers.
 *
 * @example Map an event
 * ```ts
 * import { eventToGenAiSpan } from "@sluice/otel/genai";
 * import { sampleEvent } from "@sluice/core/testing";
 *
 * const span = eventToGenAiSpan(sampleEvent({ model_group: "gpt-4o-mini" }));
 * span.name; // "chat gpt-4o-mini"
 * span.attributes["gen_ai.usage.input_tokens"]; // e.g. 23
 * span.startTime; // [seconds, nanoseconds] of the call's start
 * ```
 * @module
 */
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import {
  ATTR_ERROR_TYPE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
} from "@opentelemetry/semantic-conventions";
import {
  ATTR_GEN_AI_CONVERSATION_ID,
  ATTR_GEN_AI_EMBEDDINGS_DIMENSION_COUNT,
  ATTR_GEN_AI_INPUT_MESSAGES,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_OUTPUT_MESSAGES,
  ATTR_GEN_AI_OUTPUT_TYPE,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_CHOICE_COUNT,
  ATTR_GEN_AI_REQUEST_ENCODING_FORMATS,
  ATTR_GEN_AI_REQUEST_FREQUENCY_PENALTY,
  ATTR_GEN_AI_REQUEST_MAX_TOKENS,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_REQUEST_PRESENCE_PENALTY,
  ATTR_GEN_AI_REQUEST_SEED,
  ATTR_GEN_AI_REQUEST_STOP_SEQUENCES,
  ATTR_GEN_AI_REQUEST_STREAM,
  ATTR_GEN_AI_REQUEST_TEMPERATURE,
  ATTR_GEN_AI_REQUEST_TOP_K,
  ATTR_GEN_AI_REQUEST_TOP_P,
  ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
  ATTR_GEN_AI_RESPONSE_ID,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
  ATTR_GEN_AI_SYSTEM_INSTRUCTIONS,
  ATTR_GEN_AI_TOOL_DEFINITIONS,
  ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
} from "@opentelemetry/semantic-conventions/incubating";
import { isChatCall, isRemoved, type LogEvent, REMOVED_PLACEHOLDER } from "@sluice/core/plugin";
import {
  chatInput,
  chatMessage,
  type GenAiChatMessage,
  type GenAiOutputMessage,
  type GenAiPart,
  promptInput,
  semconvFinishReason,
  toolDefinitions,
} from "./messages.ts";

/** The event types this module maps (re-exported from `@sluice/core/plugin`). */
export type {
  CallType,
  LogEvent,
  LogEventCostBreakdown,
  LogEventError,
  LogEventMetadata,
} from "@sluice/core/plugin";
export {
  chatInput,
  chatMessage,
  contentParts,
  type GenAiChatMessage,
  type GenAiOutputMessage,
  type GenAiPart,
  type GenAiToolDefinition,
  promptInput,
  semconvFinishReason,
  toolDefinitions,
} from "./messages.ts";
export { type SpanScope, toReadableSpan } from "./spans.ts";

/** The GenAI semantic conventions release this mapping follows. */
export const GENAI_SEMCONV_VERSION = "1.41.0";

/** The OTel schema URL of {@link GENAI_SEMCONV_VERSION}, for the instrumentation scope. */
export const GENAI_SCHEMA_URL = "https://opentelemetry.io/schemas/1.41.0";

/**
 * What Sluice's redaction step puts in place of removed content
 * (`messages: remove`, `mask_input`, `mask_output`). An event whose
 * `messages` or `response` is this string carries no content to record.
 *
 * @deprecated The contract's `REMOVED_PLACEHOLDER` (with `isRemoved`), from
 * `@sluice/core/plugin`; this is the same value.
 */
export const REDACTED_PLACEHOLDER: typeof REMOVED_PLACEHOLDER = REMOVED_PLACEHOLDER;

/** The OTel default span attribute count limit (`OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`). */
export const DEFAULT_ATTRIBUTE_COUNT_LIMIT = 128;

/** The prefix of Sluice's own attributes. */
export const SLUICE_PREFIX = "sluice.";

/**
 * Where system messages go:
 * - `auto` (default): into `gen_ai.system_instructions` when the provider
 *   or the client's API takes them apart from the chat history (Anthropic
 *   upstreams, Anthropic Messages calls, Responses calls), else they stay in `gen_ai.input.messages` with role
 *   `system`, as the conventions say;
 * - `separate`: always into `gen_ai.system_instructions`;
 * - `inline`: always in `gen_ai.input.messages`.
 */
export type SystemInstructionsMode = "auto" | "separate" | "inline";

/** Options of {@link eventToGenAiSpan}. */
export interface GenAiSpanOptions {
  /**
   * Record `gen_ai.input.messages`, `gen_ai.output.messages`,
   * `gen_ai.system_instructions` and `gen_ai.tool.definitions` when the
   * event still carries them (default true). Content the sink's redaction
   * policy removed is never recorded, whatever this says.
   */
  captureMessages?: boolean;
  /** Where system messages go (default `auto`). */
  systemInstructions?: SystemInstructionsMode;
  /**
   * At most this many attributes (default 128). `gen_ai.*` and `error.type`
   * are kept first; Sluice metadata, request metadata and baggage are
   * dropped first, and counted in `droppedAttributesCount`.
   */
  attributeCountLimit?: number;
  /**
   * Longest string value (default: no limit). Longer strings are cut; the
   * JSON message attributes are shortened inside their text so they stay
   * valid JSON.
   */
  attributeValueLengthLimit?: number;
}

/** An attribute value: what OTel attributes can hold (primitives and homogeneous arrays). */
export type GenAiAttributeValue = string | number | boolean | string[] | number[] | boolean[];

/** Span attributes by key (structurally the OTel API's `Attributes`). */
export type GenAiAttributes = Record<string, GenAiAttributeValue>;

/** A time as `[seconds, nanoseconds]` since the epoch (the OTel API's `HrTime`). */
export type GenAiTime = [number, number];

/** Span kinds used here, with the OTel API's `SpanKind` numbers. */
export const GenAiSpanKind: { readonly INTERNAL: 0; readonly CLIENT: 2 } = {
  INTERNAL: SpanKind.INTERNAL as 0,
  CLIENT: SpanKind.CLIENT as 2,
};

/** Span status (structurally the OTel API's `SpanStatus`): 0 unset, 1 OK, 2 ERROR. */
export interface GenAiSpanStatus {
  /** `SpanStatusCode`: 1 OK, 2 ERROR. */
  code: 0 | 1 | 2;
  /** The error's message, for ERROR. */
  message?: string;
}

/** One call as an OpenTelemetry span description (what an exporter or another SDK needs). */
export interface GenAiSpan {
  /** `{gen_ai.operation.name} {gen_ai.request.model}`, e.g. `chat gpt-4o-mini`. */
  name: string;
  /** `SpanKind.CLIENT` (2) for model calls, `SpanKind.INTERNAL` (0) for gateway errors. */
  kind: 0 | 2;
  /** The event's `trace_id` (32 hex). */
  traceId: string;
  /** The event's `span_id` (16 hex): the span core created for the call. */
  spanId: string;
  /** The caller's span from its `traceparent`, if any. */
  parentSpanId?: string;
  /** The caller's `tracestate`, if any. */
  traceState?: string;
  /** The call's `start_time` as `[seconds, nanoseconds]` since the epoch. */
  startTime: GenAiTime;
  /** The call's `end_time` (for streams, the end of the stream). */
  endTime: GenAiTime;
  /** `gen_ai.*`, `error.type`, `server.*` and `sluice.*` attributes. */
  attributes: GenAiAttributes;
  /** Attributes left out to stay under the count limit. */
  droppedAttributesCount: number;
  /** OK, or ERROR with the error's message. */
  status: GenAiSpanStatus;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const isFiniteNumber = (value: unknown): value is number =>
  typeof value === "number" && Number.isFinite(value);

/**
 * Epoch milliseconds as an OTel `HrTime` (`[seconds, nanoseconds]`),
 * exact for whole milliseconds.
 *
 * @param ms Epoch milliseconds.
 * @returns The same instant as `[seconds, nanoseconds]`.
 *
 * @example
 * ```ts
 * import { epochMsToHrTime } from "@sluice/otel/genai";
 * epochMsToHrTime(1_700_000_000_123); // [1700000000, 123000000]
 * ```
 */
export function epochMsToHrTime(ms: number): GenAiTime {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.round((ms - seconds * 1000) * 1e6);
  return nanos >= 1e9 ? [seconds + 1, nanos - 1e9] : [seconds, nanos];
}

/**
 * `gen_ai.operation.name` of a call type: `chat` for the chat-shaped calls
 * (Chat Completions, and the Responses and Anthropic Messages routes, which
 * `sluice.call_type` tells apart), `text_completion`, `embeddings`; gateway
 * errors get `sluice.gateway_error`.
 *
 * @param callType The event's `call_type`.
 * @returns The operation name.
 *
 * @example
 * ```ts
 * import { genAiOperationName } from "@sluice/otel/genai";
 * genAiOperationName("completion"); // "text_completion"
 * genAiOperationName("messages"); // "chat"
 * ```
 */
export function genAiOperationName(callType: LogEvent["call_type"]): string {
  switch (callType) {
    case "chat":
    case "responses":
    case "messages":
      return "chat";
    case "completion":
      return "text_completion";
    case "embedding":
      return "embeddings";
    default:
      return "sluice.gateway_error";
  }
}

/** Hosts of OpenAI-compatible APIs, to name the provider of an `openai` upstream. */
const HOST_PROVIDERS: [RegExp, string][] = [
  [/(^|\.)openai\.azure\.com$/, "azure.ai.openai"],
  [
    /(^|\.)(services\.ai\.azure\.com|models\.inference\.ai\.azure\.com|inference\.ai\.azure\.com)$/,
    "azure.ai.inference",
  ],
  [/(^|\.)groq\.com$/, "groq"],
  [/(^|\.)deepseek\.com$/, "deepseek"],
  [/(^|\.)mistral\.ai$/, "mistral_ai"],
  [/(^|\.)x\.ai$/, "x_ai"],
  [/(^|\.)perplexity\.ai$/, "perplexity"],
  [/^generativelanguage\.googleapis\.com$/, "gcp.gemini"],
  [/(^|\.)aiplatform\.googleapis\.com$/, "gcp.vertex_ai"],
  [/(^|\.)cohere\.(ai|com)$/, "cohere"],
  [/^bedrock(-runtime)?[.-].*amazonaws\.com$/, "aws.bedrock"],
  [/(^|\.)anthropic\.com$/, "anthropic"],
  [/(^|\.)watsonx\.ai$|(^|\.)ml\.cloud\.ibm\.com$/, "ibm.watsonx.ai"],
];

function hostOf(apiBase: string | undefined): URL | undefined {
  if (!apiBase) return undefined;
  try {
    return new URL(apiBase);
  } catch {
    return undefined;
  }
}

/**
 * `gen_ai.provider.name` of an event: `anthropic`, `azure.ai.openai`, and
 * for `openai`-kind upstreams the well-known name of the API host when it
 * is one (`groq`, `deepseek`, `mistral_ai`, `x_ai`, `gcp.gemini`, …), else
 * `openai`. The mock upstream is `sluice.mock`; gateway errors `sluice`.
 *
 * @param event The event.
 * @returns The provider name.
 *
 * @example
 * ```ts
 * import { genAiProviderName } from "@sluice/otel/genai";
 * import { sampleEvent } from "@sluice/core/testing";
 * genAiProviderName(sampleEvent({ api_base: "https://api.groq.com/openai/v1" })); // "groq"
 * ```
 */
export function genAiProviderName(event: LogEvent): string {
  switch (event.provider) {
    case "anthropic":
      return "anthropic";
    case "azure":
      return "azure.ai.openai";
    case "mock":
      return "sluice.mock";
    case undefined:
      return event.call_type === "gateway_error" ? "sluice" : "openai";
  }
  const host = hostOf(event.api_base)?.hostname.toLowerCase();
  if (host) {
    for (const [pattern, name] of HOST_PROVIDERS) if (pattern.test(host)) return name;
  }
  return event.provider === "openai" ? "openai" : event.provider;
}

/**
 * `gen_ai.request.model`: the model name the client asked the gateway for
 * (`model_group`), else the upstream model.
 *
 * @param event The event.
 * @returns The model name, if any.
 *
 * @example
 * ```ts
 * import { genAiRequestModel } from "@sluice/otel/genai";
 * import { sampleEvent } from "@sluice/core/testing";
 * genAiRequestModel(sampleEvent({ model_group: "fast" })); // "fast"
 * ```
 */
export function genAiRequestModel(event: LogEvent): string | undefined {
  return event.model_group ?? event.model;
}

/**
 * The span name: `{gen_ai.operation.name} {gen_ai.request.model}` (just the
 * operation when the model is unknown); gateway errors are named
 * `sluice.gateway_error {source}`.
 *
 * @param event The event.
 * @returns The span name.
 *
 * @example
 * ```ts
 * import { genAiSpanName } from "@sluice/otel/genai";
 * import { sampleEvent } from "@sluice/core/testing";
 * genAiSpanName(sampleEvent({ call_type: "embedding", model_group: "embed" })); // "embeddings embed"
 * ```
 */
export function genAiSpanName(event: LogEvent): string {
  const operation = genAiOperationName(event.call_type);
  const subject = event.call_type === "gateway_error" ? event.source : genAiRequestModel(event);
  return subject ? `${operation} ${subject}` : operation;
}

/**
 * Whether a content field was removed by the sink's redaction policy (it
 * holds the contract's `REMOVED_PLACEHOLDER`) or is absent.
 *
 * @param value `event.messages` or `event.response`.
 * @returns True when there is no content to record.
 *
 * @example
 * ```ts
 * import { isRedacted } from "@sluice/otel/genai";
 * import { REMOVED_PLACEHOLDER } from "@sluice/core/plugin";
 * isRedacted(REMOVED_PLACEHOLDER); // true
 * isRedacted([{ role: "user", content: "hi" }]); // false
 * ```
 */
export function isRedacted(value: unknown): boolean {
  return value === undefined || value === null || isRemoved(value);
}

/** The answer's messages: a chat response's message(s), or a completion's texts as assistant messages. */
function responseMessages(event: LogEvent): unknown[] {
  const response = event.response;
  if (response === undefined || response === null || isRemoved(response)) return [];
  if (event.call_type === "completion") {
    return (Array.isArray(response) ? response : [response])
      .filter((text): text is string => typeof text === "string")
      .map((text) => ({ role: "assistant", content: text }));
  }
  if (!isChatCall(event)) return [];
  return Array.isArray(response) ? response : [response];
}

/**
 * `gen_ai.response.finish_reasons` (OpenAI values, one per choice): an
 * explicit `finish_reasons` array on the event when core provides one,
 * else inferred from the response: `tool_calls` when the message calls
 * tools, `length` when the output reached `max_tokens`, else `stop`.
 * Failed calls and embeddings have none.
 *
 * @param event The event.
 * @returns The finish reasons (possibly empty).
 *
 * @example
 * ```ts
 * import { genAiFinishReasons } from "@sluice/otel/genai";
 * import { sampleEvent } from "@sluice/core/testing";
 * genAiFinishReasons(sampleEvent()); // ["stop"]
 * ```
 */
export function genAiFinishReasons(event: LogEvent): string[] {
  const explicit = event.finish_reasons;
  if (Array.isArray(explicit) && explicit.every((r) => typeof r === "string")) return explicit;
  if (event.status !== "success" || event.call_type === "embedding") return [];
  if (event.call_type === "gateway_error") return [];
  const params = event.model_parameters ?? {};
  const maxTokens = maxTokensOf(params);
  const hitLimit = isFiniteNumber(maxTokens) && event.completion_tokens >= maxTokens &&
    event.completion_tokens > 0;
  const messages = responseMessages(event);
  const count = Math.max(1, messages.length);
  return Array.from({ length: count }, (_, i) => {
    const message = messages[i];
    if (
      isObject(message) && (Array.isArray(message.tool_calls) || isObject(message.function_call))
    ) {
      return "tool_calls";
    }
    return hitLimit ? "length" : "stop";
  });
}

/**
 * Whether `auto` takes system messages apart: when the provider does
 * (Anthropic), or the client's API does (an Anthropic Messages call's
 * `system`, a Responses call's `instructions`, both logged as the first
 * system message).
 */
function separateSystemByDefault(event: LogEvent): boolean {
  return event.provider === "anthropic" || event.call_type === "messages" ||
    event.call_type === "responses";
}

/** The output token limit by any of its names: Chat Completions', Responses' (`max_output_tokens`), Anthropic's. */
function maxTokensOf(params: Record<string, unknown>): unknown {
  return params.max_completion_tokens ?? params.max_output_tokens ?? params.max_tokens;
}

/**
 * The semconv input messages and system instructions of an event (empty
 * when the content was removed or the call is not chat-shaped or a
 * completion).
 *
 * @param event The event.
 * @param mode Where system messages go (default `auto`).
 * @returns Input messages and system instruction parts.
 *
 * @example
 * ```ts
 * import { genAiInput } from "@sluice/otel/genai";
 * import { sampleEvent } from "@sluice/core/testing";
 * const { input, system } = genAiInput(sampleEvent(), "separate");
 * input[0]; // { role: "user", parts: [{ type: "text", content: "Say hello (sample 1)." }] }
 * system; // [{ type: "text", content: "You are a terse assistant." }]
 * ```
 */
export function genAiInput(
  event: LogEvent,
  mode: SystemInstructionsMode = "auto",
): { input: GenAiChatMessage[]; system: GenAiPart[] } {
  if (isRedacted(event.messages)) return { input: [], system: [] };
  if (event.call_type === "completion") return { input: promptInput(event.messages), system: [] };
  if (!isChatCall(event)) return { input: [], system: [] };
  const separate = mode === "separate" || (mode === "auto" && separateSystemByDefault(event));
  return chatInput(event.messages, separate);
}

/**
 * The semconv output messages of an event: one per choice, each with its
 * finish reason (empty when the response was removed or absent).
 *
 * @param event The event.
 * @returns The output messages.
 *
 * @example
 * ```ts
 * import { genAiOutput } from "@sluice/otel/genai";
 * import { sampleEvent } from "@sluice/core/testing";
 * genAiOutput(sampleEvent())[0].finish_reason; // "stop"
 * ```
 */
export function genAiOutput(event: LogEvent): GenAiOutputMessage[] {
  const reasons = genAiFinishReasons(event);
  const out: GenAiOutputMessage[] = [];
  responseMessages(event).forEach((raw, i) => {
    const message = chatMessage(raw);
    if (!message) return;
    const reason = reasons[i] ?? reasons[0] ?? (event.status === "failure" ? "error" : "stop");
    out.push({
      ...message,
      role: message.role || "assistant",
      finish_reason: semconvFinishReason(reason),
    });
  });
  return out;
}

/** An attribute with the priority that decides what survives the count limit (lower first). */
interface Ranked {
  key: string;
  value: GenAiAttributeValue;
  rank: number;
}

/** Ranks: 0 required by the conventions, 1 other gen_ai.*, 2 Sluice core, 3 key metadata, 4 request metadata and baggage. */
class AttributeList {
  readonly items: Ranked[] = [];
  readonly #seen = new Set<string>();

  add(rank: number, key: string, value: unknown): void {
    const attribute = toAttributeValue(value);
    if (attribute === undefined || this.#seen.has(key)) return;
    this.#seen.add(key);
    this.items.push({ key, value: attribute, rank });
  }
}

/** A JS value as an OTel attribute value (primitives, homogeneous primitive arrays; else JSON). */
function toAttributeValue(value: unknown): GenAiAttributeValue | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === "string")) return value as string[];
    if (value.every((v) => typeof v === "boolean")) return value as boolean[];
    if (value.every((v) => isFiniteNumber(v))) return value as number[];
  }
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

const intOf = (value: unknown): number | undefined =>
  isFiniteNumber(value) ? Math.trunc(value) : undefined;

const stopSequences = (stop: unknown): string[] | undefined =>
  typeof stop === "string"
    ? [stop]
    : Array.isArray(stop) && stop.every((s) => typeof s === "string")
    ? stop
    : undefined;

function outputType(format: unknown): string | undefined {
  const type = isObject(format) ? format.type : format;
  if (type === "json_object" || type === "json_schema") return "json";
  if (type === "text") return "text";
  return undefined;
}

function serverOf(apiBase: string | undefined): { address: string; port: number } | undefined {
  const url = hostOf(apiBase);
  if (!url || !url.hostname || !/^https?:$/.test(url.protocol)) return undefined;
  const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
  return { address: url.hostname, port };
}

function embeddingDimensions(event: LogEvent): number | undefined {
  const summary = event.response;
  if (isObject(summary) && isFiniteNumber(summary.dimensions)) {
    return Math.trunc(summary.dimensions);
  }
  return intOf(event.model_parameters?.dimensions);
}

/**
 * Every attribute of the span, in priority order, before limits.
 */
function collectAttributes(event: LogEvent, options: GenAiSpanOptions): AttributeList {
  const list = new AttributeList();
  const gateway = event.call_type === "gateway_error";
  const params = event.model_parameters ?? {};
  const server = serverOf(event.api_base);

  // Required or sampler-relevant (set at span creation by an instrumentation).
  if (!gateway) {
    list.add(0, ATTR_GEN_AI_OPERATION_NAME, genAiOperationName(event.call_type));
    list.add(0, ATTR_GEN_AI_PROVIDER_NAME, genAiProviderName(event));
    list.add(0, ATTR_GEN_AI_REQUEST_MODEL, genAiRequestModel(event));
  }
  if (event.status === "failure") {
    list.add(0, ATTR_ERROR_TYPE, event.error?.class || event.error?.code || "_OTHER");
  }
  if (server) {
    list.add(0, ATTR_SERVER_ADDRESS, server.address);
    list.add(0, ATTR_SERVER_PORT, server.port);
  }

  if (!gateway) {
    // Request parameters.
    list.add(
      1,
      ATTR_GEN_AI_REQUEST_MAX_TOKENS,
      intOf(maxTokensOf(params)),
    );
    list.add(
      1,
      ATTR_GEN_AI_REQUEST_TEMPERATURE,
      isFiniteNumber(params.temperature) ? params.temperature : undefined,
    );
    list.add(1, ATTR_GEN_AI_REQUEST_TOP_P, isFiniteNumber(params.top_p) ? params.top_p : undefined);
    list.add(1, ATTR_GEN_AI_REQUEST_TOP_K, isFiniteNumber(params.top_k) ? params.top_k : undefined);
    list.add(
      1,
      ATTR_GEN_AI_REQUEST_FREQUENCY_PENALTY,
      isFiniteNumber(params.frequency_penalty) ? params.frequency_penalty : undefined,
    );
    list.add(
      1,
      ATTR_GEN_AI_REQUEST_PRESENCE_PENALTY,
      isFiniteNumber(params.presence_penalty) ? params.presence_penalty : undefined,
    );
    list.add(
      1,
      ATTR_GEN_AI_REQUEST_STOP_SEQUENCES,
      stopSequences(params.stop ?? params.stop_sequences),
    );
    list.add(1, ATTR_GEN_AI_REQUEST_SEED, intOf(params.seed));
    const n = intOf(params.n);
    if (n !== undefined && n !== 1) list.add(1, ATTR_GEN_AI_REQUEST_CHOICE_COUNT, n);
    if (event.stream) list.add(1, ATTR_GEN_AI_REQUEST_STREAM, true);
    // Chat's `response_format`, or the Responses API's `text.format`.
    const format = params.response_format ??
      (isObject(params.text) ? params.text.format : undefined);
    list.add(1, ATTR_GEN_AI_OUTPUT_TYPE, outputType(format));
    if (event.call_type === "embedding") {
      if (typeof params.encoding_format === "string") {
        list.add(1, ATTR_GEN_AI_REQUEST_ENCODING_FORMATS, [params.encoding_format]);
      }
      list.add(1, ATTR_GEN_AI_EMBEDDINGS_DIMENSION_COUNT, embeddingDimensions(event));
    }
    const session = event.metadata?.request?.session_id;
    if (typeof session === "string" && session) list.add(1, ATTR_GEN_AI_CONVERSATION_ID, session);

    // Response.
    if (event.id && event.id !== event.request_id) list.add(1, ATTR_GEN_AI_RESPONSE_ID, event.id);
    list.add(1, ATTR_GEN_AI_RESPONSE_MODEL, event.model);
    const reasons = genAiFinishReasons(event);
    if (reasons.length) list.add(1, ATTR_GEN_AI_RESPONSE_FINISH_REASONS, reasons);
    if (event.stream && isFiniteNumber(event.completion_start_time)) {
      list.add(
        1,
        ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
        Math.max(0, event.completion_start_time - event.start_time) / 1000,
      );
    }

    // Usage: only what was measured (a failed call before any answer has none).
    if (event.status === "success" || event.prompt_tokens > 0 || event.completion_tokens > 0) {
      list.add(1, ATTR_GEN_AI_USAGE_INPUT_TOKENS, intOf(event.prompt_tokens));
      if (event.call_type !== "embedding" || event.completion_tokens > 0) {
        list.add(1, ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, intOf(event.completion_tokens));
      }
    }
    list.add(1, ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, intOf(event.cache_read_input_tokens));
    list.add(
      1,
      ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
      intOf(event.cache_creation_input_tokens),
    );

    // Content, only what the sink's redaction policy left in the event.
    if (options.captureMessages !== false) {
      const { input, system } = genAiInput(event, options.systemInstructions);
      if (system.length) list.add(1, ATTR_GEN_AI_SYSTEM_INSTRUCTIONS, JSON.stringify(system));
      if (input.length) list.add(1, ATTR_GEN_AI_INPUT_MESSAGES, JSON.stringify(input));
      const output = genAiOutput(event);
      if (output.length) list.add(1, ATTR_GEN_AI_OUTPUT_MESSAGES, JSON.stringify(output));
      const tools = isRedacted(event.messages) ? [] : toolDefinitions(params.tools);
      if (tools.length) list.add(1, ATTR_GEN_AI_TOOL_DEFINITIONS, JSON.stringify(tools));
    }
  }

  // Sluice: ids, outcome, timing, cost.
  const s = SLUICE_PREFIX;
  list.add(2, `${s}call_id`, event.call_id);
  list.add(2, `${s}request_id`, event.request_id);
  list.add(2, `${s}call_type`, event.call_type);
  list.add(2, `${s}status`, event.status);
  if (event.error) {
    list.add(2, `${s}error.status`, intOf(event.error.status));
    list.add(2, `${s}error.code`, event.error.code || undefined);
    list.add(2, `${s}error.class`, event.error.class || undefined);
    list.add(2, `${s}error.provider`, event.error.provider);
  }
  list.add(2, `${s}source`, event.source);
  list.add(2, `${s}model_group`, event.model_group);
  list.add(2, `${s}model_id`, event.model_id);
  list.add(2, `${s}api_base`, event.api_base);
  list.add(2, `${s}response_time_ms`, intOf(event.response_time_ms));
  if (event.stream && isFiniteNumber(event.completion_start_time)) {
    list.add(
      2,
      `${s}time_to_first_token_ms`,
      Math.max(0, Math.round(event.completion_start_time - event.start_time)),
    );
  }
  if (!gateway) list.add(2, `${s}usage.total_tokens`, intOf(event.total_tokens));
  list.add(
    2,
    `${s}cost.usd`,
    isFiniteNumber(event.response_cost) ? event.response_cost : undefined,
  );
  // Components that cost nothing are left out (most calls read and write no cache).
  const breakdown = event.cost_breakdown;
  if (breakdown) {
    const components: [string, number][] = [
      ["input_usd", breakdown.input],
      ["output_usd", breakdown.output],
      ["cache_read_usd", breakdown.cache_read],
      ["cache_creation_usd", breakdown.cache_creation],
    ];
    for (const [name, usd] of components) {
      if (isFiniteNumber(usd) && usd > 0) list.add(2, `${s}cost.${name}`, usd);
    }
  }

  // Caller: key info (absent when redact_user_api_key_info removed it), end user, tags.
  const metadata = event.metadata ?? { tags: [], request: {} };
  list.add(3, `${s}user_api_key_alias`, metadata.user_api_key_alias);
  list.add(3, `${s}user_api_key_team`, metadata.user_api_key_team);
  list.add(3, `${s}user_api_key_user_id`, metadata.user_api_key_user_id);
  list.add(3, `${s}user_api_key_hash`, metadata.user_api_key_hash);
  list.add(3, `${s}end_user`, metadata.end_user);
  if (Array.isArray(metadata.tags) && metadata.tags.length) list.add(3, `${s}tags`, metadata.tags);
  list.add(3, `${s}requester_ip`, metadata.requester_ip);
  list.add(3, `${s}user_agent`, metadata.user_agent);

  // The request's own metadata and the W3C baggage.
  for (const [key, value] of Object.entries(metadata.request ?? {})) {
    if (key === "tags") continue;
    list.add(4, `${s}metadata.${key}`, value);
  }
  for (const [key, value] of Object.entries(event.baggage ?? {})) {
    list.add(4, `${s}baggage.${key}`, value);
  }
  return list;
}

/** Shortens every string inside a JSON value to at most `cap` characters. */
function capStrings(value: unknown, cap: number): unknown {
  if (typeof value === "string") return value.length > cap ? value.slice(0, cap) : value;
  if (Array.isArray(value)) return value.map((v) => capStrings(v, cap));
  if (isObject(value)) {
    const out: Json = {};
    for (const [k, v] of Object.entries(value)) out[k] = capStrings(v, cap);
    return out;
  }
  return value;
}

/** The content attributes (JSON text): messages, system instructions, tool definitions. */
export const CONTENT_ATTRIBUTES: ReadonlySet<string> = new Set<string>([
  ATTR_GEN_AI_INPUT_MESSAGES,
  ATTR_GEN_AI_OUTPUT_MESSAGES,
  ATTR_GEN_AI_SYSTEM_INSTRUCTIONS,
  ATTR_GEN_AI_TOOL_DEFINITIONS,
]);

/**
 * The attributes without the {@link CONTENT_ATTRIBUTES} (the same object
 * when it has none).
 *
 * @param attributes A span's or log record's attributes.
 * @returns The attributes, content left out.
 */
export function withoutContent<T extends Record<string, unknown>>(attributes: T): T {
  let kept: T | undefined;
  for (const key of CONTENT_ATTRIBUTES) {
    if (attributes[key] === undefined) continue;
    kept ??= { ...attributes };
    delete kept[key];
  }
  return kept ?? attributes;
}

/** A value within the length limit; undefined when a JSON attribute cannot be made to fit. */
function limitLength(
  key: string,
  value: GenAiAttributeValue,
  limit: number,
): GenAiAttributeValue | undefined {
  if (typeof value === "string") {
    if (value.length <= limit) return value;
    if (!CONTENT_ATTRIBUTES.has(key)) return value.slice(0, limit);
    // Keep the JSON structure valid: shorten the strings inside it until it fits.
    const parsed = JSON.parse(value) as unknown;
    for (let cap = Math.floor(limit / 2); cap >= 1; cap = Math.floor(cap / 2)) {
      const text = JSON.stringify(capStrings(parsed, cap));
      if (text.length <= limit) return text;
    }
    return undefined;
  }
  if (Array.isArray(value)) {
    return (value as unknown[]).map((v) =>
      typeof v === "string" && v.length > limit ? v.slice(0, limit) : v
    ) as GenAiAttributeValue;
  }
  return value;
}

/**
 * Applies the count and value-length limits to ranked attributes: keeps
 * the highest-priority ones (ties in insertion order), so `gen_ai.*`
 * attributes are never evicted in favour of Sluice metadata.
 */
function applyLimits(
  items: readonly Ranked[],
  options: GenAiSpanOptions,
): { attributes: GenAiAttributes; dropped: number } {
  const countLimit = Math.max(0, options.attributeCountLimit ?? DEFAULT_ATTRIBUTE_COUNT_LIMIT);
  const lengthLimit = options.attributeValueLengthLimit;
  const sorted = items.map((item, index) => ({ item, index }))
    .sort((a, b) => a.item.rank - b.item.rank || a.index - b.index);
  const attributes: GenAiAttributes = {};
  let kept = 0;
  let dropped = 0;
  for (const { item } of sorted) {
    if (kept >= countLimit) {
      dropped++;
      continue;
    }
    const value = lengthLimit === undefined
      ? item.value
      : limitLength(item.key, item.value, lengthLimit);
    if (value === undefined) {
      dropped++;
      continue;
    }
    attributes[item.key] = value;
    kept++;
  }
  return { attributes, dropped };
}

/**
 * The span attributes of an event, with the limits applied.
 *
 * @param event The event (already redacted for this sink).
 * @param options Content capture and limits.
 * @returns The attributes and how many were dropped.
 *
 * @example
 * ```ts
 * import { genAiAttributes } from "@sluice/otel/genai";
 * import { sampleEvent } from "@sluice/core/testing";
 * const { attributes } = genAiAttributes(sampleEvent(), { captureMessages: false });
 * attributes["gen_ai.operation.name"]; // "chat"
 * attributes["gen_ai.input.messages"]; // undefined
 * ```
 */
export function genAiAttributes(
  event: LogEvent,
  options: GenAiSpanOptions = {},
): { attributes: GenAiAttributes; droppedAttributesCount: number } {
  const { attributes, dropped } = applyLimits(collectAttributes(event, options).items, options);
  return { attributes, droppedAttributesCount: dropped };
}

/**
 * The span status: ERROR with the error's message for failures, else OK.
 *
 * @param event The event.
 * @returns The status.
 *
 * @example
 * ```ts
 * import { genAiStatus } from "@sluice/otel/genai";
 * import { sampleFailureEvent } from "@sluice/core/testing";
 * genAiStatus(sampleFailureEvent()).code; // SpanStatusCode.ERROR (2)
 * ```
 */
export function genAiStatus(event: LogEvent): GenAiSpanStatus {
  if (event.status === "failure") {
    return {
      code: SpanStatusCode.ERROR,
      message: event.error?.message || event.error?.code || "the call failed",
    };
  }
  return { code: SpanStatusCode.OK };
}

/**
 * Maps one event to one span description: name, kind (CLIENT; INTERNAL for
 * gateway errors), the event's trace context, its real start and end times,
 * attributes (limits applied) and status.
 *
 * @param event The event, as the sink received it (already redacted).
 * @param options Content capture, system instructions and limits.
 * @returns The span.
 *
 * @example
 * ```ts
 * import { eventToGenAiSpan } from "@sluice/otel/genai";
 * import { sampleEvent } from "@sluice/core/testing";
 * const event = sampleEvent({ parent_span_id: "b7ad6b7169203331" });
 * const span = eventToGenAiSpan(event, { attributeCountLimit: 64 });
 * span.traceId === event.trace_id; // true
 * span.parentSpanId; // "b7ad6b7169203331"
 * ```
 */
export function eventToGenAiSpan(event: LogEvent, options: GenAiSpanOptions = {}): GenAiSpan {
  const { attributes, droppedAttributesCount } = genAiAttributes(event, options);
  const span: GenAiSpan = {
    name: genAiSpanName(event),
    kind: event.call_type === "gateway_error" ? GenAiSpanKind.INTERNAL : GenAiSpanKind.CLIENT,
    traceId: event.trace_id,
    spanId: event.span_id,
    startTime: epochMsToHrTime(event.start_time),
    endTime: epochMsToHrTime(Math.max(event.end_time, event.start_time)),
    attributes,
    droppedAttributesCount,
    status: genAiStatus(event),
  };
  if (event.parent_span_id) span.parentSpanId = event.parent_span_id;
  if (event.trace_state) span.traceState = event.trace_state;
  return span;
}
