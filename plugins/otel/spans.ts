/**
 * A {@link GenAiSpan} as the SDK's `ReadableSpan`, built directly with the
 * event's ids: the call's span was "started" by core on the request path,
 * so no live SDK span (with fresh ids) is created here.
 * @module
 */
import { type HrTime, type SpanContext, TraceFlags } from "@opentelemetry/api";
import { TraceState } from "@opentelemetry/core";
import type { Resource } from "@opentelemetry/resources";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import type { GenAiSpan } from "./genai.ts";

/** The instrumentation scope of the spans (the plugin that emits them). */
export interface SpanScope {
  /** Scope name (e.g. `@sluice/otel`). */
  name: string;
  /** Scope version (the plugin's). */
  version: string;
  /** The semantic conventions' schema URL. */
  schemaUrl?: string;
}

function durationOf(start: HrTime, end: HrTime): HrTime {
  let seconds = end[0] - start[0];
  let nanos = end[1] - start[1];
  if (nanos < 0) {
    seconds -= 1;
    nanos += 1e9;
  }
  return seconds < 0 ? [0, 0] : [seconds, nanos];
}

function traceStateOf(raw: string | undefined): TraceState | undefined {
  if (!raw) return undefined;
  const state = new TraceState(raw);
  return state.serialize() ? state : undefined;
}

// deno-doc-ignore private-type-ref -- `ReadableSpan` and `Resource` are the OpenTelemetry SDK's public types
/**
 * Builds the finished SDK span (`ReadableSpan`) of a {@link GenAiSpan} with
 * the span's own trace and span ids (no live SDK span with fresh ids is
 * created), ready for an SDK exporter or the official OTLP serializers. The
 * span is sampled; its parent (the caller's span from `traceparent`) is
 * marked remote; a `tracestate` without valid entries is left out.
 *
 * @param span The span description (e.g. from `eventToGenAiSpan`).
 * @param resource The resource (service name and attributes).
 * @param scope The instrumentation scope (the emitting plugin's name and version).
 * @returns A finished `ReadableSpan`.
 *
 * @example Encode a call's span as OTLP/JSON
 * ```ts
 * import { eventToGenAiSpan, GENAI_SCHEMA_URL, toReadableSpan } from "@sluice/otel/genai";
 * import { sampleEvent } from "@sluice/core/testing";
 * import { resourceFromAttributes } from "@opentelemetry/resources";
 * import { JsonTraceSerializer } from "@opentelemetry/otlp-transformer";
 *
 * const span = toReadableSpan(
 *   eventToGenAiSpan(sampleEvent()),
 *   resourceFromAttributes({ "service.name": "my-gateway" }),
 *   { name: "my-sink", version: "1.0.0", schemaUrl: GENAI_SCHEMA_URL },
 * );
 * span.spanContext().traceId; // the event's trace_id
 * const body = JsonTraceSerializer.serializeRequest([span]); // an ExportTraceServiceRequest
 * ```
 */
export function toReadableSpan(
  span: GenAiSpan,
  resource: Resource,
  scope: SpanScope,
): ReadableSpan {
  const traceState = traceStateOf(span.traceState);
  const context: SpanContext = {
    traceId: span.traceId,
    spanId: span.spanId,
    traceFlags: TraceFlags.SAMPLED,
    ...(traceState ? { traceState } : {}),
  };
  const parent: SpanContext | undefined = span.parentSpanId
    ? {
      traceId: span.traceId,
      spanId: span.parentSpanId,
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
      ...(traceState ? { traceState } : {}),
    }
    : undefined;
  return {
    name: span.name,
    kind: span.kind,
    spanContext: () => context,
    parentSpanContext: parent,
    startTime: span.startTime,
    endTime: span.endTime,
    duration: durationOf(span.startTime, span.endTime),
    status: span.status,
    attributes: span.attributes,
    links: [],
    events: [],
    ended: true,
    resource,
    instrumentationScope: scope,
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}
