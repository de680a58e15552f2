/**
 * The `otel` transport's payload: one span per call, the GenAI span of
 * `@sluice/otel/genai` plus Langfuse's `langfuse.*` attributes, built as an
 * SDK `ReadableSpan` with the event's own trace and span ids and encoded by
 * the official OTLP serializers (`@opentelemetry/otlp-transformer`).
 * @module
 */
import { JsonTraceSerializer, ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import type { LogEvent } from "@sluice/core/plugin";
import {
  eventToGenAiSpan,
  type GenAiAttributes,
  type GenAiAttributeValue,
  type GenAiSpan,
} from "@sluice/otel/genai";
import { createHash } from "node:crypto";
import type { LangfuseOtlpProtocol } from "./config.ts";
import { type LangfuseRecord, traceUpdates } from "./mapping.ts";

/** Langfuse's span attribute names (its OpenTelemetry property mapping). */
export const LANGFUSE_ATTRIBUTES: {
  readonly TRACE_NAME: "langfuse.trace.name";
  readonly TRACE_TAGS: "langfuse.trace.tags";
  readonly TRACE_PUBLIC: "langfuse.trace.public";
  readonly TRACE_METADATA: "langfuse.trace.metadata";
  readonly TRACE_INPUT: "langfuse.trace.input";
  readonly TRACE_OUTPUT: "langfuse.trace.output";
  readonly USER_ID: "user.id";
  readonly SESSION_ID: "session.id";
  readonly COMPAT_USER_ID: "langfuse.user.id";
  readonly COMPAT_SESSION_ID: "langfuse.session.id";
  readonly OBSERVATION_TYPE: "langfuse.observation.type";
  readonly OBSERVATION_METADATA: "langfuse.observation.metadata";
  readonly OBSERVATION_LEVEL: "langfuse.observation.level";
  readonly OBSERVATION_STATUS_MESSAGE: "langfuse.observation.status_message";
  readonly OBSERVATION_INPUT: "langfuse.observation.input";
  readonly OBSERVATION_OUTPUT: "langfuse.observation.output";
  readonly OBSERVATION_COMPLETION_START_TIME: "langfuse.observation.completion_start_time";
  readonly OBSERVATION_MODEL: "langfuse.observation.model.name";
  readonly OBSERVATION_MODEL_PARAMETERS: "langfuse.observation.model.parameters";
  readonly OBSERVATION_USAGE_DETAILS: "langfuse.observation.usage_details";
  readonly OBSERVATION_COST_DETAILS: "langfuse.observation.cost_details";
  readonly OBSERVATION_PROMPT_NAME: "langfuse.observation.prompt.name";
  readonly OBSERVATION_PROMPT_VERSION: "langfuse.observation.prompt.version";
  readonly ENVIRONMENT: "langfuse.environment";
  readonly RELEASE: "langfuse.release";
  readonly VERSION: "langfuse.version";
} = {
  TRACE_NAME: "langfuse.trace.name",
  TRACE_TAGS: "langfuse.trace.tags",
  TRACE_PUBLIC: "langfuse.trace.public",
  TRACE_METADATA: "langfuse.trace.metadata",
  TRACE_INPUT: "langfuse.trace.input",
  TRACE_OUTPUT: "langfuse.trace.output",
  USER_ID: "user.id",
  SESSION_ID: "session.id",
  COMPAT_USER_ID: "langfuse.user.id",
  COMPAT_SESSION_ID: "langfuse.session.id",
  OBSERVATION_TYPE: "langfuse.observation.type",
  OBSERVATION_METADATA: "langfuse.observation.metadata",
  OBSERVATION_LEVEL: "langfuse.observation.level",
  OBSERVATION_STATUS_MESSAGE: "langfuse.observation.status_message",
  OBSERVATION_INPUT: "langfuse.observation.input",
  OBSERVATION_OUTPUT: "langfuse.observation.output",
  OBSERVATION_COMPLETION_START_TIME: "langfuse.observation.completion_start_time",
  OBSERVATION_MODEL: "langfuse.observation.model.name",
  OBSERVATION_MODEL_PARAMETERS: "langfuse.observation.model.parameters",
  OBSERVATION_USAGE_DETAILS: "langfuse.observation.usage_details",
  OBSERVATION_COST_DETAILS: "langfuse.observation.cost_details",
  OBSERVATION_PROMPT_NAME: "langfuse.observation.prompt.name",
  OBSERVATION_PROMPT_VERSION: "langfuse.observation.prompt.version",
  ENVIRONMENT: "langfuse.environment",
  RELEASE: "langfuse.release",
  VERSION: "langfuse.version",
};

const A = LANGFUSE_ATTRIBUTES;

/** The instrumentation scope of the spans. */
export interface LangfuseScope {
  /** Scope name (`@sluice/langfuse`). */
  name: string;
  /** Scope version (the plugin's). */
  version: string;
  /** The GenAI conventions' schema URL. */
  schemaUrl?: string;
}

/** Options of {@link toLangfuseSpan}. */
export interface LangfuseSpanOptions {
  /** Also keep `gen_ai.input.messages` / `gen_ai.output.messages` (default false). */
  genaiMessages?: boolean;
}

/** Input or output as an attribute: strings as they are, anything else as JSON. */
function contentAttribute(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

/** A metadata value as an attribute value: primitives and string arrays as they are, else JSON. */
function metadataAttribute(value: unknown): GenAiAttributeValue | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value as string[];
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

/**
 * The parent given to a call appended to an `existing_trace_id` when the
 * caller sent no `traceparent`: a span id derived from the trace id.
 * Langfuse treats a span without a parent as the trace's root and rewrites
 * the trace's name, input and output from it; a parent keeps the existing
 * trace as it is, apart from the fields in `update_trace_keys`.
 *
 * @param traceId The 32-hex trace id.
 * @returns 16 hex digits, the same for every call of the trace.
 *
 * @example
 * ```ts
 * import { existingTraceParentId } from "@sluice/langfuse";
 * existingTraceParentId("0af7651916cd43dd8448eb211c80319c").length; // 16
 * ```
 */
export function existingTraceParentId(traceId: string): string {
  const hex = createHash("sha256").update(`sluice-existing-trace:${traceId}`).digest("hex");
  const id = hex.slice(0, 16);
  return /^0+$/.test(id) ? "0000000000000001" : id;
}

/**
 * The `langfuse.*` attributes of a call (and `user.id` / `session.id`):
 * the observation's type (`generation`), input, output, model, parameters,
 * usage and cost details, completion start time, level and status message,
 * metadata, prompt, release, version and environment, and the trace's
 * fields (only those in `update_trace_keys` for an existing trace).
 *
 * @param record The mapped call.
 * @param hasParent Whether the span has a parent (then Langfuse does not
 *   derive the trace's input and output from it, so they are sent).
 * @returns The attributes.
 *
 * @example
 * ```ts
 * import { langfuseAttributes, toLangfuseRecord } from "@sluice/langfuse";
 * import { sampleEvent } from "@sluice/core/testing";
 * const attributes = langfuseAttributes(toLangfuseRecord(sampleEvent()), false);
 * attributes["langfuse.observation.type"]; // "generation"
 * attributes["langfuse.trace.name"]; // "sluice-chat"
 * ```
 */
export function langfuseAttributes(record: LangfuseRecord, hasParent: boolean): GenAiAttributes {
  const { trace, generation: g } = record;
  const out: GenAiAttributes = {};
  const set = (key: string, value: GenAiAttributeValue | undefined) => {
    if (value !== undefined) out[key] = value;
  };

  // The trace (for an existing trace, only the fields of update_trace_keys).
  const updates = traceUpdates(trace);
  set(A.TRACE_NAME, updates.name as string | undefined);
  set(A.USER_ID, updates.user_id as string | undefined);
  set(A.COMPAT_USER_ID, updates.user_id as string | undefined);
  set(A.SESSION_ID, updates.session_id as string | undefined);
  set(A.COMPAT_SESSION_ID, updates.session_id as string | undefined);
  set(A.TRACE_TAGS, updates.tags as string[] | undefined);
  set(A.TRACE_PUBLIC, updates.public as boolean | undefined);
  set(A.RELEASE, updates.release as string | undefined);
  if (updates.metadata) {
    for (const [key, value] of Object.entries(updates.metadata as Record<string, unknown>)) {
      set(`${A.TRACE_METADATA}.${key}`, metadataAttribute(value));
    }
  }
  if (trace.existing || hasParent) {
    set(A.TRACE_INPUT, contentAttribute(updates.input));
    set(A.TRACE_OUTPUT, contentAttribute(updates.output));
  }
  const version = g.version ?? (updates.version as string | undefined);
  set(A.VERSION, version);
  set(A.ENVIRONMENT, g.environment);

  // The generation.
  set(A.OBSERVATION_TYPE, "generation");
  set(A.OBSERVATION_INPUT, contentAttribute(g.input));
  set(A.OBSERVATION_OUTPUT, contentAttribute(g.output));
  set(A.OBSERVATION_MODEL, g.model);
  if (g.modelParameters) set(A.OBSERVATION_MODEL_PARAMETERS, JSON.stringify(g.modelParameters));
  if (g.usageDetails) set(A.OBSERVATION_USAGE_DETAILS, JSON.stringify(g.usageDetails));
  if (g.costDetails) set(A.OBSERVATION_COST_DETAILS, JSON.stringify(g.costDetails));
  set(A.OBSERVATION_COMPLETION_START_TIME, g.completionStartTime);
  set(A.OBSERVATION_LEVEL, g.level);
  set(A.OBSERVATION_STATUS_MESSAGE, g.statusMessage);
  set(A.OBSERVATION_PROMPT_NAME, g.promptName);
  set(A.OBSERVATION_PROMPT_VERSION, g.promptVersion);
  for (const [key, value] of Object.entries(g.metadata)) {
    set(`${A.OBSERVATION_METADATA}.${key}`, metadataAttribute(value));
  }
  return out;
}

/**
 * The span Langfuse receives for a call: the GenAI span of
 * `@sluice/otel/genai` (its `gen_ai.*`, `error.type`, `server.*` and
 * `sluice.*` attributes, ids, times and status), named after the
 * generation, plus {@link langfuseAttributes}. `sluice.metadata.*` is left
 * out (the request metadata travels, secrets removed, as
 * `langfuse.observation.metadata.*`), and so are the GenAI message
 * attributes unless `genaiMessages` (Langfuse reads
 * `langfuse.observation.input` / `output` first). A call appended to an
 * existing trace without a `traceparent` gets {@link existingTraceParentId}
 * as its parent.
 *
 * @param event The event, already redacted for this sink.
 * @param record Its Langfuse mapping.
 * @param options Whether to keep the GenAI message attributes.
 * @returns The span description.
 *
 * @example
 * ```ts
 * import { toLangfuseRecord, toLangfuseSpan } from "@sluice/langfuse";
 * import { sampleEvent } from "@sluice/core/testing";
 * const event = sampleEvent();
 * const span = toLangfuseSpan(event, toLangfuseRecord(event));
 * span.traceId === event.trace_id && span.spanId === event.span_id; // true
 * span.attributes["gen_ai.operation.name"]; // "chat"
 * ```
 */
export function toLangfuseSpan(
  event: LogEvent,
  record: LangfuseRecord,
  options: LangfuseSpanOptions = {},
): GenAiSpan {
  const base = eventToGenAiSpan(event, {
    captureMessages: options.genaiMessages === true,
    attributeCountLimit: 1000,
  });
  const attributes: GenAiAttributes = {};
  for (const [key, value] of Object.entries(base.attributes)) {
    if (key.startsWith("sluice.metadata.")) continue;
    // Langfuse reads gen_ai.conversation.id as the trace's session: not for an existing
    // trace unless update_trace_keys lists the session.
    if (
      key === "gen_ai.conversation.id" && record.trace.existing &&
      !record.trace.fields.has("session_id")
    ) continue;
    attributes[key] = value;
  }
  // With existing_trace_id naming another trace, the caller's traceparent belongs elsewhere.
  const sameTrace = record.trace.id === event.trace_id;
  const parentSpanId = (sameTrace ? event.parent_span_id : undefined) ||
    (record.trace.existing ? existingTraceParentId(record.trace.id) : undefined);
  Object.assign(attributes, langfuseAttributes(record, parentSpanId !== undefined));
  const span: GenAiSpan = {
    ...base,
    name: record.generation.name,
    traceId: record.trace.id,
    attributes,
    droppedAttributesCount: 0,
  };
  if (parentSpanId) span.parentSpanId = parentSpanId;
  else delete span.parentSpanId;
  if (!sameTrace) delete span.traceState;
  return span;
}

/**
 * Encodes spans as an OTLP `ExportTraceServiceRequest` with the official
 * serializers: protobuf, or OTLP/JSON (hex ids, 64-bit integers as strings).
 *
 * @param spans The spans.
 * @param protocol `http/protobuf` or `http/json`.
 * @returns The request body.
 */
export function encodeSpans(spans: ReadableSpan[], protocol: LangfuseOtlpProtocol): Uint8Array {
  const serializer = protocol === "http/json" ? JsonTraceSerializer : ProtobufTraceSerializer;
  const body = serializer.serializeRequest(spans);
  if (!body) throw new Error("langfuse: the OTLP serializer produced no body");
  return body;
}
