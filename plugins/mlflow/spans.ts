/**
 * From a Sluice log event to the span of one MLflow trace
 * ({@link toMlflowSpan}): the root span of its own trace, in MLflow's span
 * schema (`mlflow.spanType`, `mlflow.spanInputs`, `mlflow.spanOutputs`,
 * `mlflow.chat.tokenUsage`, … as JSON strings, the way MLflow's clients
 * write span attributes).
 * @module
 */
import type { LogEvent } from "@sluice/core/plugin";
import { isChatCall } from "@sluice/core/plugin";
import type { OtlpSpan, OtlpValue } from "./otlp_protobuf.ts";

/** MLflow's span attribute keys this sink writes (`mlflow/tracing/constant.py`). */
export const SPAN_ATTRIBUTES = {
  spanType: "mlflow.spanType",
  inputs: "mlflow.spanInputs",
  outputs: "mlflow.spanOutputs",
  tokenUsage: "mlflow.chat.tokenUsage",
  cost: "mlflow.llm.cost",
  model: "mlflow.llm.model",
  provider: "mlflow.llm.provider",
  /** Prefix of a span attribute MLflow turns into a trace tag (plain string value). */
  traceTagPrefix: "mlflow.traceTag.",
  /** MLflow's trace user (`mlflow.trace.user`), from the OpenTelemetry `user.id`. */
  user: "user.id",
  /** MLflow's trace session (`mlflow.trace.session`), from the OpenTelemetry `session.id`. */
  session: "session.id",
} as const;

/** MLflow's token usage (`mlflow.chat.tokenUsage`; summed into the trace's `mlflow.trace.tokenUsage`). */
export interface MlflowTokenUsage {
  /** Input (prompt) tokens. */
  input_tokens: number;
  /** Output (completion) tokens. */
  output_tokens: number;
  /** Both. */
  total_tokens: number;
  /** Input tokens read from the provider's prompt cache. */
  cache_read_input_tokens?: number;
  /** Input tokens written to the provider's prompt cache. */
  cache_creation_input_tokens?: number;
}

/** Options of {@link toMlflowSpan}. */
export interface MlflowSpanOptions {
  /** Tags on every trace (the sink's `tags`). */
  tags: Readonly<Record<string, string>>;
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const ZERO = /^0+$/;

const text = (value: unknown): string | undefined =>
  typeof value === "string" && value.trim() !== "" ? value : undefined;

/** Fills a 128-bit id from `seed` (FNV-1a, four lanes), for request ids that are not UUIDs. */
function hashHex(seed: string, digits: number): string {
  let out = "";
  for (let lane = 0; out.length < digits; lane++) {
    let h = 0x811c9dc5 ^ lane;
    for (let i = 0; i < seed.length; i++) {
      h ^= seed.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    out += h.toString(16).padStart(8, "0");
  }
  return out.slice(0, digits);
}

/**
 * The trace id of a call's MLflow trace: its `request_id` (a UUID) as 32
 * hex digits, so a batch sent again lands on the same trace. MLflow names
 * the trace `tr-<these digits>`.
 *
 * @param event The log event.
 * @returns 32 hex digits.
 *
 * @example
 * ```ts
 * import { mlflowTraceId } from "@sluice/mlflow";
 * import { sampleEvent } from "@sluice/core/testing";
 *
 * const event = sampleEvent();
 * mlflowTraceId(event) === event.request_id.replaceAll("-", ""); // true
 * ```
 */
export function mlflowTraceId(event: Pick<LogEvent, "request_id">): string {
  const hex = event.request_id.toLowerCase().replaceAll("-", "");
  return HEX32.test(hex) && !ZERO.test(hex) ? hex : hashHex(event.request_id, 32);
}

function spanIdOf(event: LogEvent): string {
  const id = (event.span_id ?? "").toLowerCase();
  return HEX16.test(id) && !ZERO.test(id) ? id : hashHex(`span:${event.request_id}`, 16);
}

const json = (value: unknown): string => JSON.stringify(value ?? null);
const ns = (ms: number): bigint => BigInt(Math.round(ms * 1000)) * 1000n;

/** The call's request, in OpenAI's shape: model, messages (or prompt, input), parameters. */
function inputsOf(event: LogEvent): Record<string, unknown> {
  const inputs: Record<string, unknown> = {};
  if (event.model_group ?? event.model) inputs.model = event.model_group ?? event.model;
  if (isChatCall(event)) inputs.messages = event.messages;
  else if (event.call_type === "embedding") inputs.input = event.messages;
  else inputs.prompt = event.messages;
  return { ...inputs, ...event.model_parameters };
}

/** The answer, in OpenAI's shape (a chat completion, a text completion), else as the event has it. */
function outputsOf(event: LogEvent): unknown {
  const usage = {
    prompt_tokens: event.prompt_tokens ?? 0,
    completion_tokens: event.completion_tokens ?? 0,
    total_tokens: event.total_tokens ?? 0,
  };
  const base = {
    id: event.id,
    created: Math.floor(event.start_time / 1000),
    model: event.model ?? event.model_group,
  };
  const response = event.response;
  if (isChatCall(event) && response && typeof response === "object") {
    const messages = Array.isArray(response) ? response : [response];
    return {
      ...base,
      object: "chat.completion",
      choices: messages.map((message, index) => ({
        index,
        message,
        finish_reason: event.finish_reasons?.[index] ?? null,
      })),
      usage,
    };
  }
  if (event.call_type === "completion" && Array.isArray(response)) {
    return {
      ...base,
      object: "text_completion",
      choices: response.map((textOut, index) => ({
        index,
        text: textOut,
        finish_reason: event.finish_reasons?.[index] ?? null,
      })),
      usage,
    };
  }
  return response;
}

function tokenUsageOf(event: LogEvent): MlflowTokenUsage {
  const usage: MlflowTokenUsage = {
    input_tokens: event.prompt_tokens ?? 0,
    output_tokens: event.completion_tokens ?? 0,
    total_tokens: event.total_tokens ?? 0,
  };
  if (event.cache_read_input_tokens) usage.cache_read_input_tokens = event.cache_read_input_tokens;
  if (event.cache_creation_input_tokens) {
    usage.cache_creation_input_tokens = event.cache_creation_input_tokens;
  }
  return usage;
}

/**
 * The span of one call: the root (and only) span of the call's own MLflow
 * trace (trace id from {@link mlflowTraceId}, span id the call's span id),
 * named `litellm-<call type>` as LiteLLM's mlflow callback names it, span
 * type `LLM` (`EMBEDDING` for embeddings), with
 *
 * - `mlflow.spanInputs`: model, messages (prompt, input) and parameters,
 *   as the sink's redaction policy leaves them;
 * - `mlflow.spanOutputs`: the answer as an OpenAI chat (or text)
 *   completion with its usage; absent for a failed call;
 * - `mlflow.chat.tokenUsage`, `mlflow.llm.cost` (when the price is
 *   known), `mlflow.llm.model`, `mlflow.llm.provider`;
 * - the sink's tags as `mlflow.traceTag.<key>`, the end user (else the
 *   key's user) as `user.id`, the request's `metadata.session_id` as
 *   `session.id` (MLflow makes them the trace's user and session);
 * - the call's ids, model group, key alias and team, request tags and
 *   request metadata as plain attributes;
 * - status OK, or ERROR with the error and an `exception` event.
 *
 * Attribute values are JSON strings, as MLflow's clients write them.
 *
 * @param event The (redacted) log event.
 * @param options Tags on every trace.
 * @returns The span.
 *
 * @example
 * ```ts
 * import { toMlflowSpan } from "@sluice/mlflow";
 * import { sampleEvent } from "@sluice/core/testing";
 *
 * const span = toMlflowSpan(sampleEvent(), { tags: { env: "prod" } });
 * new Map(span.attributes).get("mlflow.spanType"); // '"LLM"'
 * ```
 */
export function toMlflowSpan(event: LogEvent, options: MlflowSpanOptions): OtlpSpan {
  const meta = event.metadata ?? { tags: [], request: {} };
  const request = meta.request ?? {};
  const attributes: [string, OtlpValue][] = [];
  const add = (key: string, value: unknown) => {
    if (value !== undefined && value !== null) attributes.push([key, json(value)]);
  };
  add(SPAN_ATTRIBUTES.spanType, event.call_type === "embedding" ? "EMBEDDING" : "LLM");
  add(SPAN_ATTRIBUTES.inputs, inputsOf(event));
  if (event.status === "success") add(SPAN_ATTRIBUTES.outputs, outputsOf(event));
  add(SPAN_ATTRIBUTES.tokenUsage, tokenUsageOf(event));
  if (typeof event.response_cost === "number" && Number.isFinite(event.response_cost)) {
    const b = event.cost_breakdown;
    add(
      SPAN_ATTRIBUTES.cost,
      b
        ? {
          input_cost: b.input + b.cache_read + b.cache_creation,
          output_cost: b.output,
          total_cost: event.response_cost,
        }
        : { total_cost: event.response_cost },
    );
  }
  add(SPAN_ATTRIBUTES.model, event.model ?? event.model_group);
  add(SPAN_ATTRIBUTES.provider, event.provider);
  for (const [key, value] of Object.entries(options.tags)) {
    attributes.push([`${SPAN_ATTRIBUTES.traceTagPrefix}${key}`, value]);
  }
  const user = text(meta.end_user) ?? text(meta.user_api_key_user_id);
  if (user) attributes.push([SPAN_ATTRIBUTES.user, user]);
  const session = text(request.session_id);
  if (session) attributes.push([SPAN_ATTRIBUTES.session, session]);
  add("call_type", event.call_type);
  add("stream", event.stream);
  add("model_group", event.model_group);
  add("model_id", event.model_id);
  add("request_id", event.request_id);
  add("call_id", event.call_id);
  add("otel_trace_id", event.trace_id);
  add("otel_span_id", event.span_id);
  add("otel_parent_span_id", event.parent_span_id);
  add("response_cost", event.response_cost);
  add("user_api_key_hash", meta.user_api_key_hash);
  add("user_api_key_alias", meta.user_api_key_alias);
  add("user_api_key_team", meta.user_api_key_team);
  add("user_api_key_user_id", meta.user_api_key_user_id);
  add("end_user", meta.end_user);
  if ((meta.tags ?? []).length > 0) add("tags", meta.tags);
  if (Object.keys(request).length > 0) add("metadata", request);
  if (event.finish_reasons?.length) add("finish_reasons", event.finish_reasons);

  const span: OtlpSpan = {
    traceId: mlflowTraceId(event),
    spanId: spanIdOf(event),
    name: `litellm-${event.call_type}`,
    kind: 1,
    startTimeUnixNano: ns(event.start_time),
    endTimeUnixNano: ns(Math.max(event.end_time, event.start_time)),
    attributes,
    events: [],
    status: { code: 1 },
  };
  if (event.stream && event.completion_start_time !== undefined) {
    span.events.push({
      timeUnixNano: ns(event.completion_start_time),
      name: "first_token",
      attributes: [],
    });
  }
  if (event.status !== "success") {
    const error = event.error;
    const message = error
      ? `${error.class} (${error.status} ${error.code}): ${error.message}`
      : "failed";
    span.status = { code: 2, message };
    span.events.push({
      timeUnixNano: ns(event.end_time),
      name: "exception",
      attributes: [
        ["exception.type", error?.class ?? "Error"],
        ["exception.message", error?.message ?? "failed"],
      ],
    });
  }
  return span;
}
