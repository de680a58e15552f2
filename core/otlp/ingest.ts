/**
 * OTLP ingest on the log side: decodes an export body the request thread
 * read, drops what cannot be routed (spans and records without valid ids,
 * counted as rejected), prices GenAI spans, hands the batch to the
 * OTLP-capable sinks (redacted per sink policy by the pipeline) and each
 * GenAI span, as a standard event, to the others. Answers what the OTLP
 * spec asks for.
 * @module
 */
import type { ModelPrice } from "../cost/cost.ts";
import type { LogEvent } from "../event/log_event.ts";
import type { CallControls } from "../pipeline/controls.ts";
import type { TelemetryBatch } from "../plugin.ts";
import { enrichSpan, GATEWAY_CALL_ATTRIBUTE, spanEvent } from "./genai.ts";
import {
  countLogRecords,
  countSpans,
  decodeLogs,
  decodeTraces,
  encodeLogsResponse,
  encodeStatus,
  encodeTracesResponse,
  type OtlpEncoding,
  parseLogsJson,
  parseTracesJson,
} from "./proto.ts";
import type { ExportLogsServiceRequest, ExportTraceServiceRequest } from "./types.ts";

/** An export the request thread read (body bytes after gzip), with its caller. */
export interface TelemetryExport {
  /** Which signal. */
  signal: "traces" | "logs";
  /** The body's encoding (and the answer's). */
  encoding: OtlpEncoding;
  /** The body. */
  bytes: Uint8Array;
  /** The caller's logging controls (key and team rules). */
  controls: CallControls;
  /** The caller, as events name it (key hash, alias, team, user; tags). */
  caller: LogEvent["metadata"];
}

/** The answer to an export. */
export interface TelemetryAnswer {
  /** HTTP status: 200, or 400 for a body that does not decode. */
  status: 200 | 400;
  /** The answer's body in the request's encoding. */
  body: Uint8Array;
  /** Spans or records accepted (routed). */
  accepted: number;
  /** Spans or records rejected. */
  rejected: number;
  /** GenAI spans turned into events. */
  events: number;
  /** Why the body could not be decoded (status 400). */
  error?: string;
}

/** Where an export goes. */
export interface TelemetryRoutes {
  /** Hands a batch to the OTLP-capable sinks (redacted per sink). */
  telemetry(batch: TelemetryBatch, traceId: string, controls: CallControls): void;
  /** Hands an event to the other sinks. */
  event(event: LogEvent, controls: CallControls): void;
  /** Whether the gateway itself logged the call a client span made (`traceId`, `spanId`). */
  gatewayLogged(traceId: string, spanId: string): boolean;
  /** The price of a model (config first, then the built-in table). */
  priceOf?(model: string): ModelPrice | undefined;
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const ZERO32 = "0".repeat(32);
const ZERO16 = "0".repeat(16);

/** Most spans or records per envelope, so one stays well under the event size limit. */
export const ENVELOPE_ITEMS = 512;

function validTrace(id: string | undefined): id is string {
  return id !== undefined && HEX32.test(id) && id !== ZERO32;
}
function validSpan(id: string | undefined): id is string {
  return id !== undefined && HEX16.test(id) && id !== ZERO16;
}

/** Splits a trace export into batches of at most {@link ENVELOPE_ITEMS} spans. */
function traceChunks(request: ExportTraceServiceRequest): ExportTraceServiceRequest[] {
  const chunks: ExportTraceServiceRequest[] = [];
  for (const rs of request.resourceSpans ?? []) {
    for (const ss of rs.scopeSpans ?? []) {
      const spans = ss.spans ?? [];
      for (let i = 0; i < spans.length; i += ENVELOPE_ITEMS) {
        chunks.push({
          resourceSpans: [{
            ...rs,
            scopeSpans: [{ ...ss, spans: spans.slice(i, i + ENVELOPE_ITEMS) }],
          }],
        });
      }
    }
  }
  return chunks;
}

function logChunks(request: ExportLogsServiceRequest): ExportLogsServiceRequest[] {
  const chunks: ExportLogsServiceRequest[] = [];
  for (const rl of request.resourceLogs ?? []) {
    for (const sl of rl.scopeLogs ?? []) {
      const records = sl.logRecords ?? [];
      for (let i = 0; i < records.length; i += ENVELOPE_ITEMS) {
        chunks.push({
          resourceLogs: [{
            ...rl,
            scopeLogs: [{ ...sl, logRecords: records.slice(i, i + ENVELOPE_ITEMS) }],
          }],
        });
      }
    }
  }
  return chunks;
}

function ingestTraces(
  request: ExportTraceServiceRequest,
  input: TelemetryExport,
  routes: TelemetryRoutes,
): TelemetryAnswer {
  const total = countSpans(request);
  let events = 0;
  for (const rs of request.resourceSpans ?? []) {
    for (const ss of rs.scopeSpans ?? []) {
      ss.spans = (ss.spans ?? []).filter((s) => validTrace(s.traceId) && validSpan(s.spanId));
      for (const span of ss.spans) {
        const genAi = enrichSpan(span, routes.priceOf);
        if (!genAi) continue;
        if (routes.gatewayLogged(span.traceId!, span.spanId!)) {
          span.attributes!.push({ key: GATEWAY_CALL_ATTRIBUTE, value: { boolValue: true } });
          continue;
        }
        routes.event(spanEvent(span, rs.resource, genAi, input.caller), input.controls);
        events++;
      }
    }
  }
  const accepted = countSpans(request);
  for (const chunk of traceChunks(request)) {
    const traceId = chunk.resourceSpans![0].scopeSpans![0].spans![0].traceId!;
    routes.telemetry({ signal: "traces", request: chunk }, traceId, input.controls);
  }
  const rejected = total - accepted;
  const partial = rejected > 0
    ? { rejected, message: `${rejected} spans had no valid trace id or span id.` }
    : undefined;
  return {
    status: 200,
    body: encodeTracesResponse(partial, input.encoding),
    accepted,
    rejected,
    events,
  };
}

function ingestLogs(
  request: ExportLogsServiceRequest,
  input: TelemetryExport,
  routes: TelemetryRoutes,
): TelemetryAnswer {
  const total = countLogRecords(request);
  for (const rl of request.resourceLogs ?? []) {
    for (const sl of rl.scopeLogs ?? []) {
      // A record needs no trace context; one that claims one must spell it correctly.
      sl.logRecords = (sl.logRecords ?? []).filter((r) =>
        (r.traceId === undefined || HEX32.test(r.traceId)) &&
        (r.spanId === undefined || HEX16.test(r.spanId))
      );
    }
  }
  const accepted = countLogRecords(request);
  for (const chunk of logChunks(request)) {
    const record = chunk.resourceLogs![0].scopeLogs![0].logRecords![0];
    routes.telemetry(
      { signal: "logs", request: chunk },
      validTrace(record.traceId) ? record.traceId : ZERO32,
      input.controls,
    );
  }
  const rejected = total - accepted;
  const partial = rejected > 0
    ? { rejected, message: `${rejected} log records had a malformed trace id or span id.` }
    : undefined;
  return {
    status: 200,
    body: encodeLogsResponse(partial, input.encoding),
    accepted,
    rejected,
    events: 0,
  };
}

/** Decodes, validates, prices and routes one export; never throws for a client's fault. */
export function ingestTelemetry(input: TelemetryExport, routes: TelemetryRoutes): TelemetryAnswer {
  if (input.signal === "traces") {
    const decoded = input.encoding === "protobuf"
      ? decodeTraces(input.bytes)
      : parseTracesJson(input.bytes);
    if (!decoded.ok) return badBody(decoded.error, input.encoding);
    return ingestTraces(decoded.value, input, routes);
  }
  const decoded = input.encoding === "protobuf"
    ? decodeLogs(input.bytes)
    : parseLogsJson(input.bytes);
  if (!decoded.ok) return badBody(decoded.error, input.encoding);
  return ingestLogs(decoded.value, input, routes);
}

function badBody(message: string, encoding: OtlpEncoding): TelemetryAnswer {
  return {
    status: 400,
    body: encodeStatus(3, message, encoding),
    accepted: 0,
    rejected: 0,
    events: 0,
    error: message,
  };
}

/** How many client spans whose calls the gateway logged are remembered. */
export const RECENT_PARENTS = 100_000;
