/**
 * Events that must fit a service's size limit (an SQS message, a DynamoDB
 * item): base64 payloads are stripped first, then long strings are cut with
 * a visible marker, so an event is shortened, never dropped.
 * @module
 */
import type { LogEvent } from "@sluice/core/plugin";
import { maskJson } from "@sluice/redact";

const encoder = new TextEncoder();

/** UTF-8 length of a string. */
export function utf8Length(text: string): number {
  return encoder.encode(text).length;
}

/** The marker put after a cut string: `…[truncated 1234 chars]`. */
export function truncatedMarker(cut: number): string {
  return `…[truncated ${cut} chars]`;
}

/** An event as it will be sent, and what was done to make it fit. */
export interface FittedEvent {
  /** The event (the original when it fitted). */
  event: LogEvent;
  /** Its JSON text. */
  json: string;
  /** The UTF-8 length of `json`. */
  bytes: number;
  /** `none`: sent as is; `base64`: base64 payloads stripped; `truncated`: strings cut too. */
  change: "none" | "base64" | "truncated";
}

/** Fields never cut: they identify, time and price the call. */
const KEEP = new Set([
  "schema_version",
  "request_id",
  "call_id",
  "id",
  "trace_id",
  "span_id",
  "parent_span_id",
  "call_type",
  "status",
  "model",
  "model_group",
  "model_id",
  "provider",
]);

function cutStrings(value: unknown, limit: number): unknown {
  if (typeof value === "string") {
    return value.length > limit
      ? value.slice(0, limit) + truncatedMarker(value.length - limit)
      : value;
  }
  if (Array.isArray(value)) return value.map((v) => cutStrings(v, limit));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) out[key] = cutStrings(v, limit);
    return out;
  }
  return value;
}

function cutEvent(event: LogEvent, limit: number): LogEvent {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(event)) {
    out[key] = KEEP.has(key) ? value : cutStrings(value, limit);
  }
  return out as unknown as LogEvent;
}

function fitted(event: LogEvent, change: FittedEvent["change"]): FittedEvent {
  const json = JSON.stringify(event);
  return { event, json, bytes: utf8Length(json), change };
}

/**
 * Makes an event fit `maxBytes` of UTF-8 JSON: as is when it fits; else
 * with its base64 payloads (data URLs, bare runs of 64+ characters)
 * replaced by a size placeholder (`@sluice/redact`); else with its strings
 * cut ever shorter, each ending in `…[truncated N chars]`; else with its
 * content replaced by that marker. Ids, model, status and timings are never
 * cut. The result always fits when `maxBytes` is at least 4 KiB.
 *
 * @param event The event.
 * @param maxBytes The limit in bytes.
 * @returns The event to send and what was changed.
 *
 * @example
 * ```ts
 * import { fitEvent } from "@sluice/aws";
 * import { sampleEvent } from "@sluice/core/testing";
 *
 * const event = sampleEvent({ messages: [{ role: "user", content: "x".repeat(100_000) }] });
 * const fitted = fitEvent(event, 10_000);
 * fitted.change; // "truncated"
 * fitted.bytes <= 10_000; // true
 * ```
 */
export function fitEvent(event: LogEvent, maxBytes: number): FittedEvent {
  const whole = fitted(event, "none");
  if (whole.bytes <= maxBytes) return whole;
  const stripped = maskJson(whole.json, { detectors: [], stripBase64: true, base64MinLength: 64 });
  const strippedEvent = JSON.parse(stripped) as LogEvent;
  if (utf8Length(stripped) <= maxBytes) {
    return { event: strippedEvent, json: stripped, bytes: utf8Length(stripped), change: "base64" };
  }
  // UTF-8 may take up to 3 bytes per UTF-16 unit: start at a third of the room.
  for (let limit = Math.floor(maxBytes / 3); limit >= 32; limit = Math.floor(limit / 2)) {
    const cut = fitted(cutEvent(strippedEvent, limit), "truncated");
    if (cut.bytes <= maxBytes) return cut;
  }
  const marker = truncatedMarker(whole.json.length);
  const bare: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(event)) {
    if (KEEP.has(key) || typeof value === "number" || typeof value === "boolean") bare[key] = value;
  }
  const minimal = { ...bare, messages: marker, response: marker } as unknown as LogEvent;
  return fitted(cutEvent(minimal, 128), "truncated");
}
