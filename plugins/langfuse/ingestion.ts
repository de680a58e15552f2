/**
 * The `ingestion` transport's payload: Langfuse's legacy batch API
 * (`POST {host}/api/public/ingestion`, `{ batch: [...] }`), one
 * `trace-create` and one `generation-create` per call, batches kept under
 * the size limit, and the per-event answers of a 207.
 * @module
 */
import type { LogEvent } from "@sluice/core/plugin";
import { type LangfuseRecord, traceUpdates } from "./mapping.ts";

/** One event of an ingestion batch. */
export interface IngestionEnvelope {
  /** The event's id: unique in the request, the same on every retry (`{request_id}-trace`, `-generation`). */
  id: string;
  /** When the call ended, ISO 8601 with offset (`Z`). */
  timestamp: string;
  /** `trace-create` or `generation-create`. */
  type: "trace-create" | "generation-create";
  /** The trace or generation. */
  body: Record<string, unknown>;
}

/** The envelopes of one call and their encoded size. */
export interface IngestionItem {
  /** The call's `request_id`. */
  requestId: string;
  /** Its envelopes (trace first). */
  envelopes: IngestionEnvelope[];
  /** UTF-8 bytes of the envelopes as JSON, with their separating commas. */
  bytes: number;
  /** Input and output were replaced to fit the size limit. */
  shrunk: boolean;
}

/** Langfuse's answer to a batch (`IngestionResponse`). */
export interface IngestionResponse {
  /** Events stored. */
  successes?: { id: string; status: number }[];
  /** Events refused, each with its status and message. */
  errors?: { id: string; status: number; message?: string | null; error?: unknown }[];
}

const encoder = new TextEncoder();

/** Bytes of a value as JSON. */
export const jsonBytes = (value: unknown): number => encoder.encode(JSON.stringify(value)).length;

function compact(body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) if (value !== undefined) out[key] = value;
  return out;
}

/**
 * The `trace-create` and `generation-create` events of a call. A new trace
 * carries every field; a trace named by `existing_trace_id` carries its id
 * and only the fields listed in `update_trace_keys`.
 *
 * @param event The event.
 * @param record Its Langfuse mapping.
 * @returns The two envelopes.
 *
 * @example
 * ```ts
 * import { toIngestionEnvelopes, toLangfuseRecord } from "@sluice/langfuse";
 * import { sampleEvent } from "@sluice/core/testing";
 * const event = sampleEvent();
 * const [trace, generation] = toIngestionEnvelopes(event, toLangfuseRecord(event));
 * trace.type; // "trace-create"
 * generation.body.traceId === event.trace_id; // true
 * ```
 */
export function toIngestionEnvelopes(
  event: LogEvent,
  record: LangfuseRecord,
): IngestionEnvelope[] {
  const { trace, generation: g } = record;
  const timestamp = new Date(Math.max(event.end_time, event.start_time)).toISOString();
  const u = traceUpdates(trace);
  // An existing trace gets only its updated fields: no timestamp or environment of its own.
  const traceBody = compact({
    id: trace.id,
    timestamp: trace.existing ? undefined : trace.timestamp,
    name: u.name,
    userId: u.user_id,
    sessionId: u.session_id,
    release: u.release,
    version: u.version,
    metadata: u.metadata,
    tags: u.tags,
    public: u.public,
    input: u.input,
    output: u.output,
    environment: trace.existing ? undefined : trace.environment,
  });
  const generationBody = compact({
    id: g.id,
    traceId: trace.id,
    parentObservationId: g.parentObservationId,
    name: g.name,
    startTime: g.startTime,
    endTime: g.endTime,
    completionStartTime: g.completionStartTime,
    model: g.model,
    modelParameters: g.modelParameters,
    input: g.input,
    output: g.output,
    usageDetails: g.usageDetails,
    costDetails: g.costDetails,
    level: g.level,
    statusMessage: g.statusMessage,
    metadata: g.metadata,
    version: g.version,
    environment: g.environment,
    promptName: g.promptName,
    promptVersion: g.promptVersion,
  });
  return [
    { id: `${event.request_id}-trace`, timestamp, type: "trace-create", body: traceBody },
    {
      id: `${event.request_id}-generation`,
      timestamp,
      type: "generation-create",
      body: generationBody,
    },
  ];
}

const MB = (bytes: number) => `${(bytes / 1_000_000).toFixed(1)} MB`;

/**
 * The envelopes of one call, sized; when they alone exceed `maxBytes`, the
 * input and output (of trace and generation) are replaced by a note saying
 * how large they were, so metadata, usage and cost still arrive.
 *
 * @param requestId The call's `request_id`.
 * @param envelopes Its envelopes.
 * @param maxBytes The batch limit.
 * @returns The item.
 */
export function sizeItem(
  requestId: string,
  envelopes: IngestionEnvelope[],
  maxBytes: number,
): IngestionItem {
  const measure = (list: IngestionEnvelope[]) => list.reduce((sum, e) => sum + jsonBytes(e) + 1, 0);
  const bytes = measure(envelopes);
  if (bytes + BATCH_OVERHEAD <= maxBytes) {
    return { requestId, envelopes, bytes, shrunk: false };
  }
  const shrunk = envelopes.map((e) => {
    const body = { ...e.body };
    for (const key of ["input", "output"]) {
      if (body[key] === undefined) continue;
      const size = jsonBytes(body[key]);
      body[key] = `[sluice: ${key} omitted: ${MB(size)}, over Langfuse's ${
        MB(maxBytes)
      } batch limit]`;
    }
    return { ...e, body };
  });
  return { requestId, envelopes: shrunk, bytes: measure(shrunk), shrunk: true };
}

/** Room left for `{"batch":[…],"metadata":{…}}` around the events. */
export const BATCH_OVERHEAD = 512;

/**
 * Packs items into batches of at most `maxBytes` (in order; an item larger
 * than the limit on its own gets a batch of its own).
 *
 * @param items The sized items.
 * @param maxBytes The limit of one request body.
 * @returns The batches.
 *
 * @example
 * ```ts
 * import { packBatches } from "@sluice/langfuse";
 * const item = (n: number) => ({ requestId: `r${n}`, envelopes: [], bytes: 600_000, shrunk: false });
 * packBatches([item(1), item(2), item(3)], 1_300_000).map((b) => b.length); // [2, 1]
 * ```
 */
export function packBatches(items: IngestionItem[], maxBytes: number): IngestionItem[][] {
  const batches: IngestionItem[][] = [];
  let current: IngestionItem[] = [];
  let size = BATCH_OVERHEAD;
  for (const item of items) {
    if (current.length > 0 && size + item.bytes > maxBytes) {
      batches.push(current);
      current = [];
      size = BATCH_OVERHEAD;
    }
    current.push(item);
    size += item.bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * Reads a 2xx answer's body as an {@link IngestionResponse} (an empty or
 * unreadable body: no per-event errors).
 *
 * @param text The body.
 * @returns The successes and errors.
 */
export function parseIngestionResponse(text: string): IngestionResponse {
  if (!text.trim()) return {};
  try {
    const body = JSON.parse(text) as IngestionResponse;
    return {
      successes: Array.isArray(body?.successes) ? body.successes : [],
      errors: Array.isArray(body?.errors) ? body.errors : [],
    };
  } catch {
    return {};
  }
}

/**
 * Whether a per-event error status of a 207 is permanent: 4xx except 401
 * and 403 (credentials: kept, as the plugin contract asks), 408 and 429
 * (transient). Everything else is retried.
 *
 * @param status The event's status.
 * @returns True when the event is refused for good.
 *
 * @example
 * ```ts
 * import { isPermanentItemStatus } from "@sluice/langfuse";
 * isPermanentItemStatus(400); // true
 * isPermanentItemStatus(500); // false
 * ```
 */
export function isPermanentItemStatus(status: number): boolean {
  return status >= 400 && status < 500 && ![401, 403, 408, 429].includes(status);
}
