/**
 * HTTP helpers private to the openmeter plugin: safe URLs for messages,
 * `Retry-After` parsing, and the mapping of answers and fetch failures to
 * the plugin contract's error properties.
 * @module
 */
import type { SinkError } from "@sluice/core/plugin";

/** A thrown sink error with the receiver's status, when there was one. */
export type FailedSend = SinkError & { status?: number };

/** An Error carrying the contract's properties (`permanent`, `retryAfterMs`). */
export function fail(message: string, props: Partial<FailedSend> = {}): FailedSend {
  return Object.assign(new Error(message), props);
}

/** Scheme, host, port and path only: no user info, query string or fragment. */
export function displayUrl(url: string | URL): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return "<invalid url>";
  }
}

/** `Retry-After` (delay-seconds or an HTTP date) in milliseconds, or undefined. */
export function parseRetryAfter(
  value: string | null,
  now: number = Date.now(),
): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  if (!/[a-z]/i.test(text)) return undefined;
  const date = Date.parse(text);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

/**
 * Turns a rejected `fetch` into a retryable sink error whose message names
 * the request and never the URL's query string or credentials.
 */
export function fetchFailure(
  error: unknown,
  request: string,
  timeoutMs: number,
  scrub: (text: string) => string,
): FailedSend {
  const name = error instanceof Error ? error.name : "";
  if (name === "TimeoutError") return fail(`${request} timed out after ${timeoutMs} ms`);
  if (name === "AbortError") return fail(`${request} aborted (shutting down)`);
  const message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error && error.cause instanceof Error
    ? `: ${error.cause.message}`
    : "";
  return fail(`${request} failed: ${scrub(message + cause)}`);
}
