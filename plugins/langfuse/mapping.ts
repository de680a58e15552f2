/**
 * The mapping of one Sluice {@link LogEvent} to one Langfuse trace and one
 * generation, following LiteLLM's Langfuse conventions (the request
 * metadata keys `trace_name`, `trace_user_id`, `session_id`,
 * `generation_name`, `generation_id`, `existing_trace_id`,
 * `update_trace_keys`, `trace_*`, `tags`, and `langfuse_default_tags`).
 * Both transports (OTLP and the batch API) start from this record.
 * @module
 */
import { createHash } from "node:crypto";
import { isChatCall, isRemoved, type LogEvent, type LogEventMessages } from "@sluice/core/plugin";

/** A Langfuse observation level. */
export type LangfuseLevel = "DEBUG" | "DEFAULT" | "WARNING" | "ERROR";

/** A model parameter value Langfuse accepts (`MapValue`). */
export type LangfuseMapValue = string | number | boolean | string[];

/** The trace fields a trace field name in `update_trace_keys` can name. */
export type LangfuseTraceField =
  | "name"
  | "user_id"
  | "session_id"
  | "release"
  | "version"
  | "metadata"
  | "tags"
  | "public"
  | "input"
  | "output";

/** Every {@link LangfuseTraceField}. */
export const TRACE_FIELDS: readonly LangfuseTraceField[] = [
  "name",
  "user_id",
  "session_id",
  "release",
  "version",
  "metadata",
  "tags",
  "public",
  "input",
  "output",
];

/** The trace of a call, as Langfuse stores it. */
export interface LangfuseTrace {
  /**
   * The trace id (32 lowercase hex): the event's `trace_id`, or the
   * `existing_trace_id` (as given when it is 32 hex, else hashed, see
   * {@link otelTraceIdOf}).
   */
  id: string;
  /** `existing_trace_id` was set: only {@link LangfuseTrace.fields} are sent. */
  existing: boolean;
  /** The trace fields to send (for an existing trace, only those in `update_trace_keys`). */
  fields: Set<LangfuseTraceField>;
  /** `trace_name`, else `sluice-{call_type}`. */
  name: string;
  /** `trace_user_id`, else the request's `user`, else the key's user. */
  userId?: string;
  /** `session_id`. */
  sessionId?: string;
  /** `trace_release`, else the sink's release. */
  release?: string;
  /** `trace_version`, else `version`. */
  version?: string;
  /** `trace_metadata` (an object). */
  metadata?: Record<string, unknown>;
  /** Request tags, `trace_tags` and the rendered default tags. */
  tags: string[];
  /** `trace_public`. */
  public?: boolean;
  /** The call's input (as the generation's). */
  input?: unknown;
  /** The call's output (as the generation's). */
  output?: unknown;
  /** The sink's environment. */
  environment?: string;
  /** The call's start, ISO 8601 (UTC, `Z`). */
  timestamp: string;
}

/** The generation of a call. */
export interface LangfuseGeneration {
  /** `generation_id`, else the event's `request_id` (the batch API's observation id). */
  id: string;
  /** The event's `span_id` (the OTLP observation id). */
  spanId: string;
  /** The caller's span (`traceparent`), if any. */
  parentObservationId?: string;
  /** `generation_name`, else `sluice:{key alias}`, else `sluice-{call_type}`. */
  name: string;
  /** Start, ISO 8601. */
  startTime: string;
  /** End, ISO 8601. */
  endTime: string;
  /** First token, ISO 8601. */
  completionStartTime?: string;
  /** The upstream model id (else the public model name). */
  model?: string;
  /** Request parameters (temperature, max_tokens, …). */
  modelParameters?: Record<string, LangfuseMapValue>;
  /** `{messages, tools?}` for chat-shaped calls, the prompt or input otherwise, or the placeholder. */
  input?: unknown;
  /** The assistant message (or completion choices, embeddings summary), or the placeholder. */
  output?: unknown;
  /** `input` (uncached), `output`, `total`, `input_cache_read`, `input_cache_creation`. */
  usageDetails?: Record<string, number>;
  /** USD: `input`, `output`, cache components, `total`. */
  costDetails?: Record<string, number>;
  /** `ERROR` for failures, else `DEFAULT`. */
  level: LangfuseLevel;
  /** The error message of a failure. */
  statusMessage?: string;
  /** Sluice's fields and the request metadata (secrets and consumed keys removed). */
  metadata: Record<string, unknown>;
  /** Request metadata `version`. */
  version?: string;
  /** The sink's environment. */
  environment?: string;
  /** Request metadata `prompt.name` (with `prompt.version`). */
  promptName?: string;
  /** Request metadata `prompt.version` (with `prompt.name`). */
  promptVersion?: number;
}

/** One call as Langfuse sees it. */
export interface LangfuseRecord {
  /** The trace. */
  trace: LangfuseTrace;
  /** The generation. */
  generation: LangfuseGeneration;
}

/** Options of {@link toLangfuseRecord}. */
export interface LangfuseMappingOptions {
  /** The sink's release. */
  release?: string;
  /** The sink's environment. */
  environment?: string;
  /** `langfuse_default_tags` field names. */
  defaultTags?: readonly string[];
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const str = (value: unknown): string | undefined =>
  typeof value === "string" && value !== "" ? value : undefined;

const isFiniteNumber = (value: unknown): value is number =>
  typeof value === "number" && Number.isFinite(value);

/** Request metadata keys this mapping consumes (they are not copied into the metadata). */
const CONSUMED = new Set([
  "tags",
  "trace_id",
  "existing_trace_id",
  "update_trace_keys",
  "generation_name",
  "generation_id",
  "session_id",
  "version",
  "prompt",
  "mask_input",
  "mask_output",
  "log_raw_request",
  "debug_langfuse",
]);

/** Per-request Langfuse credentials (LiteLLM's dynamic keys): never logged, never used. */
const DYNAMIC_CREDENTIALS = new Set([
  "langfuse_public_key",
  "langfuse_secret_key",
  "langfuse_secret",
  "langfuse_host",
]);

/** Keys whose values are secrets, whatever the value looks like. */
const SECRET_KEY =
  /secret|password|passwd|token|api[_-]?key|authorization|credential|private[_-]?key|cookie|^dsn$/i;

/**
 * Whether a request metadata key names a secret (or a per-request Langfuse
 * credential): such keys are left out of the metadata sent to Langfuse.
 *
 * @param key A metadata key.
 * @returns True for secret-like names.
 *
 * @example
 * ```ts
 * import { isSecretKey } from "@sluice/langfuse";
 * isSecretKey("langfuse_secret_key"); // true
 * isSecretKey("customer_tier"); // false
 * ```
 */
export function isSecretKey(key: string): boolean {
  return DYNAMIC_CREDENTIALS.has(key.toLowerCase()) || SECRET_KEY.test(key);
}

/** A copy without secret-named keys, at any depth. */
function withoutSecrets(value: unknown, depth = 0): unknown {
  if (depth > 8) return value;
  if (Array.isArray(value)) return value.map((v) => withoutSecrets(v, depth + 1));
  if (!isObject(value)) return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) {
    if (!isSecretKey(k)) out[k] = withoutSecrets(v, depth + 1);
  }
  return out;
}

/**
 * The 32-hex OTLP trace id of an `existing_trace_id`: as given (lowercased)
 * when it is 32 hex digits, else the first 32 hex digits of its SHA-256 (the
 * derivation core applies to `metadata.trace_id`, so a call that started a
 * trace with `trace_id: "x"` and a later one with `existing_trace_id: "x"`
 * meet in the same trace).
 *
 * @param id The id as the client sent it.
 * @returns 32 lowercase hex digits.
 *
 * @example
 * ```ts
 * import { otelTraceIdOf } from "@sluice/langfuse";
 * otelTraceIdOf("0AF7651916CD43DD8448EB211C80319C"); // "0af7651916cd43dd8448eb211c80319c"
 * otelTraceIdOf("conversation-42").length; // 32
 * ```
 */
export function otelTraceIdOf(id: string): string {
  if (/^[0-9a-fA-F]{32}$/.test(id) && !/^0+$/.test(id)) return id.toLowerCase();
  return createHash("sha256").update(id).digest("hex").slice(0, 32);
}

/**
 * A number in [0, 1) derived from a trace id (the first 48 bits of its
 * SHA-256). A trace is sent when its score is below the sample rate, so all
 * calls of one trace are in or out together, and retries decide alike.
 *
 * @param traceId The trace id.
 * @returns The sampling score.
 *
 * @example
 * ```ts
 * import { traceSampleScore } from "@sluice/langfuse";
 * const sent = traceSampleScore("0af7651916cd43dd8448eb211c80319c") < 0.25;
 * ```
 */
export function traceSampleScore(traceId: string): number {
  const digest = createHash("sha256").update(traceId).digest();
  let value = 0;
  for (let i = 0; i < 6; i++) value = value * 256 + digest[i];
  return value / 2 ** 48;
}

/** Aliases of default tag names (LiteLLM's proxy metadata names) to Sluice's event fields. */
const TAG_ALIASES: Record<string, string> = {
  user_api_key_team_alias: "user_api_key_team",
  user_api_key_team_id: "user_api_key_team",
  user_api_key_end_user_id: "end_user",
};

function tagValue(value: unknown): string | undefined {
  if (typeof value === "string") return value === "" ? undefined : value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

/**
 * Renders LiteLLM's `langfuse_default_tags`: each name becomes
 * `name:value`, the value read from the event's metadata
 * (`user_api_key_alias`, `user_api_key_team`, `user_api_key_user_id`,
 * `user_api_key_hash`, `end_user`, `requester_ip`, `user_agent`), its
 * top-level fields (`model`, `model_group`, `model_id`, `provider`,
 * `api_base`, `call_type`, `status`, `stream`, `request_id`, `call_id`) or
 * the request metadata. Names with no value (or a value redaction removed)
 * add nothing.
 *
 * @param event The event.
 * @param names The tag names.
 * @returns The rendered tags.
 *
 * @example
 * ```ts
 * import { renderDefaultTags } from "@sluice/langfuse";
 * import { sampleEvent } from "@sluice/core/testing";
 * renderDefaultTags(sampleEvent(), ["user_api_key_alias", "nope"]); // ["user_api_key_alias:app-a"]
 * ```
 */
export function renderDefaultTags(event: LogEvent, names: readonly string[]): string[] {
  const metadata = (event.metadata ?? {}) as unknown as Json;
  const request = isObject(metadata.request) ? metadata.request : {};
  const top = event as unknown as Json;
  const out: string[] = [];
  for (const name of names) {
    const field = TAG_ALIASES[name] ?? name;
    let value: string | undefined;
    if (field !== "request" && field !== "tags" && Object.hasOwn(metadata, field)) {
      value = tagValue(metadata[field]);
    } else if (
      [
        "model",
        "model_group",
        "model_id",
        "provider",
        "api_base",
        "call_type",
        "status",
        "stream",
        "request_id",
        "call_id",
      ].includes(field)
    ) {
      value = tagValue(top[field]);
    } else if (!isSecretKey(field)) {
      value = tagValue(request[field]);
    }
    if (value !== undefined) out.push(`${name}:${value}`);
  }
  return out;
}

/** `update_trace_keys` as trace fields (`trace_user_id` → `user_id`, `input` → `input`). */
function updateFields(keys: unknown): Set<LangfuseTraceField> {
  const out = new Set<LangfuseTraceField>();
  if (!Array.isArray(keys)) return out;
  for (const key of keys) {
    if (typeof key !== "string") continue;
    const field = key.replace(/^trace_/, "") as LangfuseTraceField;
    if (TRACE_FIELDS.includes(field)) out.add(field);
  }
  return out;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * The call's input as Langfuse shows it: `{messages, tools?}` for chat-shaped
 * calls (chat, Responses, Anthropic Messages), else as logged (the
 * placeholder too).
 */
function inputOf(
  event: LogEvent,
): LogEventMessages | { messages: LogEventMessages; tools?: unknown } | undefined {
  const messages = event.messages;
  if (messages === undefined || isRemoved(messages)) return messages;
  if (!isChatCall(event)) return messages;
  const tools = event.model_parameters?.tools;
  if (Array.isArray(tools)) return { messages, tools: tools.map(chatTool) };
  const legacy = tools ?? event.model_parameters?.functions;
  return legacy === undefined ? { messages } : { messages, tools: legacy };
}

/**
 * A tool in Chat Completions' shape, `{type: "function", function: {name,
 * description?, parameters?, strict?}}`, which Langfuse renders: the
 * Responses API's `{type: "function", name, parameters}` and Anthropic's
 * `{name, input_schema}` are rewritten; others are kept as sent.
 */
function chatTool(tool: unknown): unknown {
  if (!isObject(tool) || isObject(tool.function) || typeof tool.name !== "string") return tool;
  const anthropic = isObject(tool.input_schema) &&
    (tool.type === undefined || tool.type === "custom");
  if (tool.type !== "function" && !anthropic) return tool;
  const fn: Json = { name: tool.name };
  if (typeof tool.description === "string") fn.description = tool.description;
  const parameters = anthropic ? tool.input_schema : tool.parameters;
  if (parameters !== undefined) fn.parameters = parameters;
  if (typeof tool.strict === "boolean") fn.strict = tool.strict;
  return { type: "function", function: fn };
}

/** Keys of `model_parameters` the input holds already: the tool definitions. */
const CONTENT_PARAMETERS = new Set(["tools", "functions"]);

/** Parameters other than the tool definitions (which go to the input). */
function modelParametersOf(event: LogEvent): Record<string, LangfuseMapValue> | undefined {
  const params = event.model_parameters;
  if (!params) return undefined;
  const out: Record<string, LangfuseMapValue> = {};
  for (const [key, value] of Object.entries(params)) {
    if (CONTENT_PARAMETERS.has(key) || value === undefined || value === null) continue;
    if (typeof value === "string" || typeof value === "boolean") out[key] = value;
    else if (isFiniteNumber(value)) out[key] = value;
    else if (Array.isArray(value) && value.every((v) => typeof v === "string")) out[key] = value;
    else out[key] = JSON.stringify(value);
  }
  if (event.stream) out.stream = true;
  return Object.keys(out).length ? out : undefined;
}

/** Usage in Langfuse's keys: `input` excludes the cached input tokens listed beside it. */
function usageDetailsOf(event: LogEvent): Record<string, number> | undefined {
  const measured = event.status === "success" || event.prompt_tokens > 0 ||
    event.completion_tokens > 0;
  if (!measured) return undefined;
  const int = (v: unknown) => (isFiniteNumber(v) ? Math.max(0, Math.trunc(v)) : 0);
  const cacheRead = int(event.cache_read_input_tokens);
  const cacheCreation = int(event.cache_creation_input_tokens);
  const usage: Record<string, number> = {
    input: Math.max(0, int(event.prompt_tokens) - cacheRead - cacheCreation),
    output: int(event.completion_tokens),
    total: int(event.total_tokens),
  };
  if (cacheRead > 0) usage.input_cache_read = cacheRead;
  if (cacheCreation > 0) usage.input_cache_creation = cacheCreation;
  return usage;
}

/** Cost in USD under the same keys as the usage, plus `total`. */
function costDetailsOf(event: LogEvent): Record<string, number> | undefined {
  if (!isFiniteNumber(event.response_cost)) return undefined;
  const cost: Record<string, number> = {};
  const b = event.cost_breakdown;
  if (b) {
    if (isFiniteNumber(b.input)) cost.input = b.input;
    if (isFiniteNumber(b.output)) cost.output = b.output;
    if (isFiniteNumber(b.cache_read) && b.cache_read > 0) cost.input_cache_read = b.cache_read;
    if (isFiniteNumber(b.cache_creation) && b.cache_creation > 0) {
      cost.input_cache_creation = b.cache_creation;
    }
  }
  cost.total = event.response_cost;
  return cost;
}

/** Sluice's own fields plus the request metadata (consumed and secret keys removed). */
function metadataOf(event: LogEvent, request: Json): Record<string, unknown> {
  const out: Json = {};
  for (const [key, value] of Object.entries(request)) {
    if (CONSUMED.has(key) || key.startsWith("trace_") || isSecretKey(key)) continue;
    if (value !== undefined) out[key] = withoutSecrets(value);
  }
  const m = event.metadata ?? { tags: [], request: {} };
  const own: Json = {
    request_id: event.request_id,
    call_id: event.call_id,
    call_type: event.call_type,
    status: event.status,
    stream: event.stream,
    model_group: event.model_group,
    model_id: event.model_id,
    provider: event.provider,
    api_base: event.api_base,
    response_id: event.id !== event.request_id ? event.id : undefined,
    response_time_ms: event.response_time_ms,
    response_cost: event.response_cost,
    user_api_key_hash: m.user_api_key_hash,
    user_api_key_alias: m.user_api_key_alias,
    user_api_key_team: m.user_api_key_team,
    user_api_key_user_id: m.user_api_key_user_id,
    end_user: m.end_user,
    requester_ip: m.requester_ip,
    user_agent: m.user_agent,
    generation_id: str(request.generation_id),
    error: event.error
      ? {
        status: event.error.status,
        code: event.error.code,
        class: event.error.class,
        provider: event.error.provider,
      }
      : undefined,
  };
  for (const [key, value] of Object.entries(own)) if (value !== undefined) out[key] = value;
  return out;
}

/**
 * Maps one event to its Langfuse trace and generation (LiteLLM's
 * conventions):
 * - trace id: the event's `trace_id`; with `existing_trace_id`, that id
 *   (as 32 hex, see {@link otelTraceIdOf}), and only the trace fields
 *   listed in `update_trace_keys` are sent;
 * - trace name `trace_name` or `sluice-{call_type}`; user `trace_user_id`,
 *   else the request's `user`, else the key's user; session `session_id`;
 *   other `trace_*` keys to the matching trace field; tags = request tags,
 *   `trace_tags` and the default tags;
 * - generation name `generation_name`, else `sluice:{key alias}`, else
 *   `sluice-{call_type}`; id `generation_id` or the event's `request_id`;
 *   times, model and parameters, input `{messages, tools?}`, output the
 *   assistant message (the redaction placeholder when removed), usage and
 *   cost details, level `ERROR` with the error's message for failures;
 *   metadata without secrets (key info is already gone when the sink's
 *   policy has `redact_user_api_key_info`).
 *
 * @param event The event, already redacted for this sink.
 * @param options The sink's release, environment and default tags.
 * @returns The trace and the generation.
 *
 * @example
 * ```ts
 * import { toLangfuseRecord } from "@sluice/langfuse";
 * import { sampleEvent } from "@sluice/core/testing";
 * const { trace, generation } = toLangfuseRecord(sampleEvent(), { defaultTags: ["user_api_key_alias"] });
 * trace.name; // "sluice-chat"
 * trace.tags; // ["sample", "user_api_key_alias:app-a"]
 * generation.name; // "greeting" (the sample's generation_name)
 * ```
 */
export function toLangfuseRecord(
  event: LogEvent,
  options: LangfuseMappingOptions = {},
): LangfuseRecord {
  const metadata = event.metadata ?? { tags: [], request: {} };
  const request: Json = isObject(metadata.request) ? metadata.request : {};
  const existingId = str(request.existing_trace_id);
  const existing = existingId !== undefined;

  const requestTags = Array.isArray(metadata.tags)
    ? metadata.tags.filter((t): t is string => typeof t === "string" && t !== "")
    : [];
  const traceTags = Array.isArray(request.trace_tags)
    ? request.trace_tags.filter((t): t is string => typeof t === "string" && t !== "")
    : [];
  const tags = [
    ...new Set([
      ...requestTags,
      ...traceTags,
      ...renderDefaultTags(event, options.defaultTags ?? []),
    ]),
  ];

  const input = inputOf(event);
  const output = event.response;
  const traceMetadata = isObject(request.trace_metadata)
    ? withoutSecrets(request.trace_metadata) as Json
    : undefined;
  const publicFlag = typeof request.trace_public === "boolean" ? request.trace_public : undefined;

  const trace: LangfuseTrace = {
    id: existingId !== undefined ? otelTraceIdOf(existingId) : event.trace_id,
    existing,
    fields: existing ? updateFields(request.update_trace_keys) : new Set(TRACE_FIELDS),
    name: str(request.trace_name) ?? `sluice-${event.call_type}`,
    userId: str(request.trace_user_id) ?? str(metadata.end_user) ??
      str(metadata.user_api_key_user_id),
    sessionId: str(request.session_id) ?? str(request.trace_session_id),
    release: str(request.trace_release) ?? options.release,
    version: str(request.trace_version) ?? str(request.version),
    metadata: traceMetadata,
    tags,
    public: publicFlag,
    input,
    output,
    environment: options.environment,
    timestamp: iso(event.start_time),
  };

  const prompt = isObject(request.prompt) ? request.prompt : undefined;
  const promptName = str(prompt?.name);
  const promptVersion = isFiniteNumber(prompt?.version) ? Math.trunc(prompt.version) : undefined;
  const alias = str(metadata.user_api_key_alias);
  const generation: LangfuseGeneration = {
    id: str(request.generation_id) ?? event.request_id,
    spanId: event.span_id,
    parentObservationId: trace.id === event.trace_id
      ? event.parent_span_id || undefined
      : undefined,
    name: str(request.generation_name) ??
      (alias ? `sluice:${alias}` : `sluice-${event.call_type}`),
    startTime: iso(event.start_time),
    endTime: iso(Math.max(event.end_time, event.start_time)),
    completionStartTime: isFiniteNumber(event.completion_start_time)
      ? iso(event.completion_start_time)
      : undefined,
    model: event.model ?? event.model_group,
    modelParameters: modelParametersOf(event),
    input,
    output,
    usageDetails: usageDetailsOf(event),
    costDetails: costDetailsOf(event),
    level: event.status === "failure" ? "ERROR" : "DEFAULT",
    statusMessage: event.status === "failure"
      ? (event.error?.message || event.error?.code || "the call failed")
      : undefined,
    metadata: metadataOf(event, request),
    version: str(request.version),
    environment: options.environment,
    ...(promptName !== undefined && promptVersion !== undefined
      ? { promptName, promptVersion }
      : {}),
  };
  return { trace, generation };
}

/**
 * The trace fields to send, with their values (fields without a value are
 * left out, so nothing already on the trace is overwritten with nothing).
 *
 * @param trace The mapped trace.
 * @returns Field name → value.
 *
 * @example
 * ```ts
 * import { toLangfuseRecord, traceUpdates } from "@sluice/langfuse";
 * import { sampleEvent } from "@sluice/core/testing";
 * const event = sampleEvent();
 * const request = { existing_trace_id: "t-1", update_trace_keys: ["trace_user_id"] };
 * const { trace } = toLangfuseRecord({ ...event, metadata: { ...event.metadata, request } });
 * Object.keys(traceUpdates(trace)); // ["user_id"]
 * ```
 */
export function traceUpdates(trace: LangfuseTrace): Partial<Record<LangfuseTraceField, unknown>> {
  const values: Record<LangfuseTraceField, unknown> = {
    name: trace.name,
    user_id: trace.userId,
    session_id: trace.sessionId,
    release: trace.release,
    version: trace.version,
    metadata: trace.metadata && Object.keys(trace.metadata).length ? trace.metadata : undefined,
    tags: trace.tags.length ? trace.tags : undefined,
    public: trace.public,
    input: trace.input,
    output: trace.output,
  };
  const out: Partial<Record<LangfuseTraceField, unknown>> = {};
  for (const field of TRACE_FIELDS) {
    if (trace.fields.has(field) && values[field] !== undefined) out[field] = values[field];
  }
  return out;
}
