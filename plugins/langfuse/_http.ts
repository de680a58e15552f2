/**
 * HTTP helpers private to the langfuse plugin: URLs for messages,
 * `Retry-After`, error bodies, and fetch failures as retryable sink errors.
 * @module
 */
import type { SinkError } from "@sluice/core/plugin";

/** A thrown sink error with the server's status, when there was one. */
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

/** A short excerpt of an error body (`error` / `message` of a JSON body, or text). */
export async function errorDetail(res: Response, scrub: (text: string) => string): Promise<string> {
  const text = (await res.text().catch(() => "")).trim();
  if (!text) return "";
  let detail = text;
  try {
    const body = JSON.parse(text);
    const message = body?.message ?? body?.error?.message ?? body?.error;
    if (typeof message === "string") detail = message;
  } catch {
    // plain text
  }
  detail = scrub(detail.replace(/\s+/g, " "));
  return detail.length > 200 ? `${detail.slice(0, 200)}…` : detail;
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

/** `Basic base64(public:secret)` (UTF-8). */
export function basicAuth(publicKey: string, secretKey: string): string {
  const bytes = new TextEncoder().encode(`${publicKey}:${secretKey}`);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return `Basic ${btoa(binary)}`;
}
