/**
 * One OpenTelemetry log record per call, made with the official
 * `@opentelemetry/sdk-logs`: the GenAI event
 * `gen_ai.client.inference.operation.details` with the call's span
 * attributes (messages only where the sink's redaction policy kept them and
 * `capture_messages` puts content on log records), in the call's trace and span, so a backend's
 * "related logs" finds it from the span. When the sink exports the spans
 * too, the record keeps the GenAI identity, usage, outcome and content
 * attributes only (the span has the rest). A gateway error (a sink's failure,
 * for a sink whose `on:` lists `gateway_error`) becomes a `sluice.gateway_error`
 * record, `WARN` when the gateway retries, else `ERROR`. Records are
 * collected per batch and exported by the sink in one request, like spans.
 * @module
 */
import { type Attributes, ROOT_CONTEXT, trace, TraceFlags } from "@opentelemetry/api";
import { SeverityNumber } from "@opentelemetry/api-logs";
import type { Resource } from "@opentelemetry/resources";
import {
  LoggerProvider,
  type LogRecordProcessor,
  type ReadableLogRecord,
} from "@opentelemetry/sdk-logs";
import type { LogEvent } from "@sluice/core/plugin";
import {
  CONTENT_ATTRIBUTES,
  eventToGenAiSpan,
  type GenAiSpanOptions,
  withoutContent,
} from "./genai.ts";
import type { SpanScope } from "./spans.ts";

/** The GenAI event name of a call's log record. */
export const CALL_EVENT_NAME = "gen_ai.client.inference.operation.details";

/** The event name of a gateway error's log record (a sink's failure, a sink that did not start). */
export const GATEWAY_ERROR_EVENT_NAME = "sluice.gateway_error";

/**
 * The attributes a call's record keeps when the sink exports the call's
 * span too (the span has the rest; the record points at it by its ids):
 * the GenAI identity, usage, outcome and content, as the semantic
 * conventions' inference event lists them, plus the call's ids and cost.
 */
export const COMPACT_RECORD_ATTRIBUTES: readonly string[] = [
  "gen_ai.operation.name",
  "gen_ai.provider.name",
  "gen_ai.request.model",
  "gen_ai.response.model",
  "gen_ai.response.id",
  "gen_ai.response.finish_reasons",
  "gen_ai.usage.input_tokens",
  "gen_ai.usage.output_tokens",
  "gen_ai.conversation.id",
  "gen_ai.input.messages",
  "gen_ai.output.messages",
  "gen_ai.system_instructions",
  "gen_ai.tool.definitions",
  "error.type",
  "sluice.call_id",
  "sluice.request_id",
  "sluice.status",
  "sluice.cost.usd",
];

/** Gateway error codes of failures the gateway retries (a warning, not an error). */
const RETRIED_CODES = new Set(["call_timeout", "plugin_crashed"]);

/** Holds what the logger emitted until the sink takes it. */
class Collector implements LogRecordProcessor {
  records: ReadableLogRecord[] = [];
  onEmit(record: ReadableLogRecord): void {
    this.records.push(record);
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    this.records = [];
    return Promise.resolve();
  }
}

/** What a call's record keeps. */
export interface CallRecordOptions {
  /** Keep only {@link COMPACT_RECORD_ATTRIBUTES} (the sink exports the spans too; default false). */
  compact?: boolean;
  /** Keep the content attributes (`capture_messages` puts content on log records; default true). */
  content?: boolean;
}

/** Turns events into log records. */
export interface CallLogger {
  /**
   * One log record per event, in order; `spans` (the events' spans, when the
   * sink built them already) saves mapping each event again.
   */
  records(
    events: readonly LogEvent[],
    spans?: readonly ReturnType<typeof eventToGenAiSpan>[],
  ): ReadableLogRecord[];
  /** Releases the provider. */
  shutdown(): Promise<void>;
}

// deno-doc-ignore private-type-ref -- `Resource` is the OpenTelemetry SDK's public type
/**
 * A logger emitting one record per call through the SDK's `LoggerProvider`
 * (its attribute limits apply) with the call's trace context.
 *
 * @param resource The resource (service name and attributes).
 * @param scope The instrumentation scope.
 * @param options The span mapping's options (message capture, limits).
 * @param record What a call's record keeps.
 * @returns The call logger.
 */
export function createCallLogger(
  resource: Resource,
  scope: SpanScope,
  options: GenAiSpanOptions,
  record: CallRecordOptions = {},
): CallLogger {
  const content = record.content ?? true;
  const compactKeys = COMPACT_RECORD_ATTRIBUTES.filter((key) =>
    content || !CONTENT_ATTRIBUTES.has(key)
  );
  const attributesOf = (all: Attributes): Attributes => {
    if (!record.compact) return content ? all : withoutContent(all);
    const kept: Attributes = {};
    for (const key of compactKeys) if (all[key] !== undefined) kept[key] = all[key];
    return kept;
  };
  const collector = new Collector();
  const provider = new LoggerProvider({
    resource,
    processors: [collector],
    logRecordLimits: {
      attributeCountLimit: options.attributeCountLimit,
      attributeValueLengthLimit: options.attributeValueLengthLimit,
    },
  });
  const logger = provider.getLogger(scope.name, scope.version, { schemaUrl: scope.schemaUrl });
  return {
    records(events, spans) {
      for (const [i, event] of events.entries()) {
        const span = spans?.[i] ?? eventToGenAiSpan(event, options);
        const context = trace.setSpanContext(ROOT_CONTEXT, {
          traceId: span.traceId,
          spanId: span.spanId,
          traceFlags: TraceFlags.SAMPLED,
        });
        if (event.call_type === "gateway_error") {
          // A sink's failure (or a sink that did not start), as core reported it: its message
          // went through this sink's redaction step and core's secret masking like any event.
          const code = event.error?.code ?? "gateway_error";
          const retried = RETRIED_CODES.has(code);
          logger.emit({
            eventName: GATEWAY_ERROR_EVENT_NAME,
            timestamp: span.endTime,
            observedTimestamp: span.endTime,
            severityNumber: retried ? SeverityNumber.WARN : SeverityNumber.ERROR,
            severityText: retried ? "WARN" : "ERROR",
            body: `sink ${event.source ?? "?"}: ${event.error?.message ?? code}`,
            attributes: {
              ...span.attributes,
              "sluice.sink": event.source ?? "",
              "error.type": code,
            },
            context,
          });
          continue;
        }
        const failed = event.status === "failure";
        logger.emit({
          eventName: CALL_EVENT_NAME,
          timestamp: span.endTime,
          observedTimestamp: span.endTime,
          severityNumber: failed ? SeverityNumber.ERROR : SeverityNumber.INFO,
          severityText: failed ? "ERROR" : "INFO",
          body: failed
            ? `${span.name} failed: ${event.error?.message ?? "error"}`
            : `${span.name} succeeded`,
          attributes: attributesOf(span.attributes),
          context,
        });
      }
      const records = collector.records;
      collector.records = [];
      return records;
    },
    shutdown: () => provider.shutdown(),
  };
}
