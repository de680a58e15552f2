/**
 * Call ids and W3C trace context (traceparent, tracestate, baggage).
 * @module
 */
import { createHash } from "node:crypto";
import { randomHex } from "../ids.ts";

export { randomHex } from "../ids.ts";

/** What a client-supplied call id must look like to be used. */
export const CALL_ID_PATTERN: RegExp = /^[A-Za-z0-9._:-]{1,128}$/;

/** The trace context of one call. */
export interface TraceContext {
  /** 32 hex. */
  traceId: string;
  /** This call's span, 16 hex. */
  spanId: string;
  /** The client's span from `traceparent`. */
  parentSpanId?: string;
  /** Trace flags from `traceparent` (default sampled). */
  flags: string;
  /** `tracestate`, passed through. */
  traceState?: string;
  /** Parsed `baggage`. */
  baggage?: Record<string, string>;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** Parses a `traceparent` header; undefined when invalid. */
export function parseTraceparent(
  header: string | null,
): { traceId: string; parentSpanId: string; flags: string } | undefined {
  if (!header) return undefined;
  const m = TRACEPARENT.exec(header.trim().toLowerCase());
  if (!m || m[1] === "ff" || (m[1] === "00" && m[5])) return undefined;
  if (/^0+$/.test(m[2]) || /^0+$/.test(m[3])) return undefined;
  return { traceId: m[2], parentSpanId: m[3], flags: m[4] };
}

/** A trace id from `metadata.trace_id`: 32 hex as given, else the first 32 hex of its sha256. */
export function traceIdFromMetadata(value: string): string {
  if (/^[0-9a-fA-F]{32}$/.test(value) && !/^0+$/.test(value)) return value.toLowerCase();
  return createHash("sha256").update(value).digest("hex").slice(0, 32);
}

/** Parses a W3C `baggage` header into a map (properties after `;` dropped). */
export function parseBaggage(header: string | null): Record<string, string> | undefined {
  if (!header) return undefined;
  const out: Record<string, string> = {};
  for (const member of header.split(",")) {
    const [pair] = member.split(";");
    const eq = pair.indexOf("=");
    if (eq <= 0) continue;
    const key = pair.slice(0, eq).trim();
    try {
      out[key] = decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      out[key] = pair.slice(eq + 1).trim();
    }
  }
  return Object.keys(out).length ? out : undefined;
}

/** Builds the call's trace context from headers, else `metadata.trace_id`, else at random. */
export function traceContextOf(headers: Headers, metadataTraceId: unknown): TraceContext {
  const parent = parseTraceparent(headers.get("traceparent"));
  const baggage = parseBaggage(headers.get("baggage"));
  const spanId = randomHex(8);
  if (parent) {
    return {
      traceId: parent.traceId,
      spanId,
      parentSpanId: parent.parentSpanId,
      flags: parent.flags,
      traceState: headers.get("tracestate") ?? undefined,
      baggage,
    };
  }
  const traceId = typeof metadataTraceId === "string" && metadataTraceId
    ? traceIdFromMetadata(metadataTraceId)
    : randomHex(16);
  return { traceId, spanId, flags: "01", baggage };
}

/** The `traceparent` to send upstream: this call's span as the parent. */
export function formatTraceparent(trace: TraceContext): string {
  return `00-${trace.traceId}-${trace.spanId}-${trace.flags}`;
}
