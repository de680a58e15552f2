/**
 * Telemetry batches on the log path. An application's spans and log records
 * travel to OTLP-capable sinks inside an envelope: an event-shaped record
 * (`call_type: "otlp_export"`) that the pipeline queues, spools, retries and
 * forwards like any event, so telemetry has the same durability. Where the
 * plugin's sink runs (in-process or in its sandbox), {@link withTelemetry}
 * opens the envelopes and hands them to the sink's `exportTelemetry`.
 * @module
 */
import type { LogEvent } from "../event/log_event.ts";
import { randomUuid } from "../ids.ts";
import type { Sink, SinkCallOptions, SinkLogResult, TelemetryBatch } from "../plugin.ts";

/** The `call_type` of an envelope (never seen by a plugin). */
export const ENVELOPE_CALL_TYPE = "otlp_export";

/** An envelope: an event-shaped record carrying one telemetry batch. */
export interface TelemetryEnvelope extends Omit<LogEvent, "call_type"> {
  /** Always {@link ENVELOPE_CALL_TYPE}. */
  call_type: typeof ENVELOPE_CALL_TYPE;
  /** The redacted batch. */
  telemetry: TelemetryBatch;
}

/** Whether an event is a telemetry envelope. */
export function isEnvelope(event: unknown): event is TelemetryEnvelope {
  return (event as { call_type?: unknown }).call_type === ENVELOPE_CALL_TYPE;
}

/** Wraps a batch in an envelope with a fresh id (the de-duplication key downstream). */
export function envelopeOf(batch: TelemetryBatch, traceId: string): LogEvent {
  const id = randomUuid();
  const now = Date.now();
  const envelope: TelemetryEnvelope = {
    schema_version: 1,
    request_id: id,
    call_id: id,
    id,
    trace_id: traceId,
    span_id: "0000000000000000",
    call_type: ENVELOPE_CALL_TYPE,
    stream: false,
    status: "success",
    start_time: now,
    end_time: now,
    response_time_ms: 0,
    prompt_tokens: 0,
    completion_tokens: 0,
    total_tokens: 0,
    metadata: { tags: [], request: {} },
    telemetry: batch,
  };
  return envelope as unknown as LogEvent;
}

/**
 * The sink as the pipeline calls it: batches with envelopes have them opened
 * and sent through `exportTelemetry` (one call per signal, the batches'
 * resource lists concatenated), the other events through `log`. A sink
 * without `exportTelemetry` is returned as is (it is never sent envelopes).
 * A failure of either part fails the batch, which is retried whole: delivery
 * is at least once. Self-contained (no outer references): the sandbox child
 * runs its source text.
 */
export function withTelemetry(sink: Sink): Sink {
  const exportTelemetry = sink.exportTelemetry?.bind(sink);
  if (!exportTelemetry) return sink;
  const envelope = (e: LogEvent) => (e as { call_type: string }).call_type === "otlp_export";
  const batchesOf = (events: readonly LogEvent[]): TelemetryBatch[] => {
    const spans = [];
    const logs = [];
    for (const e of events) {
      const batch = (e as unknown as { telemetry: TelemetryBatch }).telemetry;
      if (batch.signal === "traces") spans.push(...(batch.request.resourceSpans ?? []));
      else logs.push(...(batch.request.resourceLogs ?? []));
    }
    const out: TelemetryBatch[] = [];
    if (spans.length > 0) out.push({ signal: "traces", request: { resourceSpans: spans } });
    if (logs.length > 0) out.push({ signal: "logs", request: { resourceLogs: logs } });
    return out;
  };
  return {
    async log(
      events: readonly LogEvent[],
      options?: SinkCallOptions,
    ): Promise<void | SinkLogResult> {
      const envelopes = events.filter(envelope);
      if (envelopes.length === 0) return await sink.log(events, options);
      for (const batch of batchesOf(envelopes)) await exportTelemetry(batch, options);
      const rest = events.filter((e) => !envelope(e));
      if (rest.length > 0) return await sink.log(rest, options);
    },
    exportTelemetry,
    flush: sink.flush?.bind(sink),
    close: sink.close?.bind(sink),
  };
}
