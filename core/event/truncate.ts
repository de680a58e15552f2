/**
 * Bounded events: an event whose JSON line is over `log.max_event_bytes`
 * (after redaction, so stripped base64 no longer counts) has its content's
 * long strings cut, each with a visible marker saying how much was cut,
 * until it fits; ids, model, timings, usage, cost and caller metadata are
 * never touched. Sinks and the write-ahead log then handle events of a known
 * size, and a huge call cannot hold the log side for long.
 * @module
 */
import type { LogEvent } from "./log_event.ts";

/** The content fields that may be cut (the rest of the event is small and bounded). */
const CONTENT = ["messages", "response", "raw_request", "error", "model_parameters"] as const;

/** The marker put after a cut string: `…[truncated 1234567 chars]`. */
export function truncationMarker(cut: number): string {
  return `…[truncated ${cut} chars]`;
}

/** `value` with every string longer than `limit` cut to `limit` and marked. */
function cutStrings(value: unknown, limit: number): unknown {
  if (typeof value === "string") {
    return value.length > limit
      ? value.slice(0, limit) + truncationMarker(value.length - limit)
      : value;
  }
  if (Array.isArray(value)) return value.map((v) => cutStrings(v, limit));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key in value) out[key] = cutStrings((value as Record<string, unknown>)[key], limit);
    return out;
  }
  return value;
}

/**
 * The event cut to fit `maxBytes` as a JSON line (UTF-16 length, a close
 * bound for mostly ASCII content), or the event itself when it fits.
 * Strings are cut to ever shorter lengths; if content made of many short
 * strings still does not fit, the content is replaced by one marker.
 */
export function truncateEvent(event: LogEvent, line: string, maxBytes: number): LogEvent {
  if (line.length <= maxBytes) return event;
  const request = event.metadata.request;
  for (let limit = Math.floor(maxBytes / 4); limit >= 64; limit = Math.floor(limit / 4)) {
    const cut: LogEvent = { ...event, metadata: { ...event.metadata } };
    for (const field of CONTENT) {
      const value = event[field];
      if (value !== undefined) {
        (cut as unknown as Record<string, unknown>)[field] = cutStrings(value, limit);
      }
    }
    cut.metadata.request = cutStrings(request, limit) as Record<string, unknown>;
    // An OTLP telemetry envelope's attribute values and log bodies are content too.
    const telemetry = (event as { telemetry?: unknown }).telemetry;
    if (telemetry !== undefined) {
      (cut as unknown as Record<string, unknown>).telemetry = cutStrings(telemetry, limit);
    }
    if (JSON.stringify(cut).length <= maxBytes) return cut;
  }
  const marker = truncationMarker(line.length);
  return {
    ...event,
    messages: marker,
    response: marker,
    raw_request: undefined,
    model_parameters: undefined,
    error: event.error && { ...event.error, message: String(event.error.message).slice(0, 512) },
    metadata: { ...event.metadata, request: {} },
  };
}
