/**
 * HTTP helpers for sink plugin authors: errors that carry the plugin
 * contract's properties ({@link SinkError}), URLs that are safe to show in
 * messages, `Retry-After` parsing, and the mapping of failed requests and
 * error answers to messages without secrets.
 *
 * Like the contract itself, this module has no runtime dependencies and
 * imports nothing but `@sluice/core/plugin`'s types: a plugin can use it
 * without pulling in the gateway.
 *
 * @example Turn an HTTP answer into the contract's outcome
 * ```ts
 * import { displayUrl, errorDetail, fetchFailure, parseRetryAfter, sinkError } from "@sluice/core/sink-http";
 *
 * async function post(url: string, body: string): Promise<void> {
 *   const shown = displayUrl(url);
 *   const scrub = (text: string) => text.split(url).join(shown);
 *   let res: Response;
 *   try {
 *     res = await fetch(url, { method: "POST", body, signal: AbortSignal.timeout(5000) });
 *   } catch (error) {
 *     throw fetchFailure(error, `my-sink: POST ${shown}`, 5000, scrub);
 *   }
 *   if (res.ok) {
 *     await res.body?.cancel();
 *     return;
 *   }
 *   const answered = `my-sink: ${shown} answered ${res.status}`;
 *   const detail = await errorDetail(res, scrub);
 *   if ([400, 413, 422].includes(res.status)) {
 *     throw sinkError(`${answered}: ${detail}`, { permanent: true, status: res.status });
 *   }
 *   const retryAfterMs = parseRetryAfter(res.headers.get("retry-after")) ??
 *     (res.status === 429 ? 1000 : undefined);
 *   throw sinkError(`${answered}; retrying`, { retryAfterMs, status: res.status });
 * }
 * ```
 * @module
 */
import type { SinkError } from "./plugin.ts";

/** The contract's error properties, re-exported from `@sluice/core/plugin`. */
export type { SinkError } from "./plugin.ts";

/** A {@link SinkError} that also names the receiver's HTTP status, when there was an answer. */
export interface HttpSinkError extends SinkError {
  /** The HTTP status of the answer, if the receiver answered. */
  status?: number;
}

/** The properties {@link sinkError} sets on the error. */
export interface SinkErrorProps {
  /** The events themselves are malformed (400/413/422): the batch is dropped, not retried. */
  permanent?: boolean;
  /** Wait at least this long before retrying (a 429's `Retry-After`). */
  retryAfterMs?: number;
  /** The HTTP status of the answer, if any (shown in metrics and logs). */
  status?: number;
}

/**
 * An `Error` carrying the plugin contract's properties (`permanent`,
 * `retryAfterMs`) and the answer's `status`. The gateway reads them as
 * properties, so they survive module copies and Worker messages.
 *
 * @param message The error message (never put secrets in it).
 * @param props `permanent`, `retryAfterMs` and `status`; none set means "retry with backoff".
 * @returns The error, ready to throw.
 *
 * @example
 * ```ts
 * import { sinkError } from "@sluice/core/sink-http";
 *
 * const error = sinkError("collector answered 422: bad payload", { permanent: true, status: 422 });
 * error.permanent; // true
 * error.status; // 422
 * ```
 */
export function sinkError(message: string, props: SinkErrorProps = {}): HttpSinkError {
  return Object.assign(new Error(message), props);
}

/**
 * A URL safe to show in errors and logs: scheme, host, port and path only
 * (no user info, query string or fragment, which often carry tokens).
 *
 * @param url An absolute URL.
 * @returns The shown form, or `"<invalid url>"` when `url` is not a URL.
 *
 * @example
 * ```ts
 * import { displayUrl } from "@sluice/core/sink-http";
 *
 * displayUrl("https://user:pw@hooks.example.com/in?token=abc#x"); // "https://hooks.example.com/in"
 * displayUrl("not a url"); // "<invalid url>"
 * ```
 */
export function displayUrl(url: string | URL): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return "<invalid url>";
  }
}

/**
 * Reads a `Retry-After` value as milliseconds to wait: delay-seconds
 * (`"120"`, `"1.5"`) or an HTTP date (`"Wed, 21 Oct 2025 07:28:00 GMT"`,
 * counted from `now`, never negative).
 *
 * @param value The header value (`null` when absent).
 * @param now The current time in epoch ms (default `Date.now()`).
 * @returns The wait in ms, or `undefined` when absent or unreadable.
 *
 * @example
 * ```ts
 * import { parseRetryAfter } from "@sluice/core/sink-http";
 *
 * parseRetryAfter("2"); // 2000
 * parseRetryAfter("Thu, 01 Jan 1970 00:00:05 GMT", 1000); // 4000
 * parseRetryAfter("-1"); // undefined
 * parseRetryAfter(null); // undefined
 * ```
 */
export function parseRetryAfter(
  value: string | null,
  now: number = Date.now(),
): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  if (!/[a-z]/i.test(text)) return undefined; // "-1", "", "+5": not a date either
  const date = Date.parse(text);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

/**
 * Turns a rejected `fetch` into a retryable sink error: a timeout
 * (`TimeoutError`), a shutdown (`AbortError`) or a network failure, named
 * after the request. Network messages (and their `cause`) often quote the
 * full URL: they go through `scrub` first.
 *
 * @param error What `fetch` threw.
 * @param request The request as messages name it, e.g. `"my-sink: POST https://host/path"`.
 * @param timeoutMs The request's timeout (for the timeout message).
 * @param scrub Removes secrets (the full URL, keys) from a foreign message.
 * @returns The error to throw (no `permanent`: the batch is retried).
 *
 * @example
 * ```ts
 * import { fetchFailure } from "@sluice/core/sink-http";
 *
 * const timeout = new DOMException("Signal timed out.", "TimeoutError");
 * fetchFailure(timeout, "my-sink: POST https://host/in", 5000, (t) => t).message;
 * // "my-sink: POST https://host/in timed out after 5000 ms"
 *
 * const refused = new TypeError("error sending request for url (https://host/in?key=s3cret)");
 * fetchFailure(refused, "my-sink: POST https://host/in", 5000, (t) => t.replaceAll("?key=s3cret", ""))
 *   .message;
 * // "my-sink: POST https://host/in failed: error sending request for url (https://host/in)"
 * ```
 */
export function fetchFailure(
  error: unknown,
  request: string,
  timeoutMs: number,
  scrub: (text: string) => string,
): HttpSinkError {
  const name = error instanceof Error ? error.name : "";
  if (name === "TimeoutError") return sinkError(`${request} timed out after ${timeoutMs} ms`);
  if (name === "AbortError") return sinkError(`${request} aborted (shutting down)`);
  const message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error && error.cause instanceof Error
    ? `: ${error.cause.message}`
    : "";
  return sinkError(`${request} failed: ${scrub(message + cause)}`);
}

/**
 * A short excerpt of an error answer's body for a message: the `message`,
 * `error.message` or `error` string of a JSON body, or else the text;
 * white space folded, passed through `scrub`, at most 200 characters. Reads
 * (and so consumes) the body.
 *
 * @param res The error answer.
 * @param scrub Removes secrets from the excerpt.
 * @returns The excerpt, or `""` when the body is empty or unreadable.
 *
 * @example
 * ```ts
 * import { errorDetail } from "@sluice/core/sink-http";
 *
 * const res = Response.json({ error: { message: "unknown   project" } }, { status: 404 });
 * await errorDetail(res, (t) => t); // "unknown project"
 * ```
 */
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
 * An HTTP Basic `Authorization` value: `Basic base64(user:secret)`, with the
 * credentials encoded as UTF-8.
 *
 * @param user The user name or public key.
 * @param secret The password or secret key.
 * @returns The header value.
 *
 * @example
 * ```ts
 * import { basicAuth } from "@sluice/core/sink-http";
 *
 * basicAuth("pk-lf-1", "sk-lf-2"); // "Basic cGstbGYtMTpzay1sZi0y"
 * ```
 */
export function basicAuth(user: string, secret: string): string {
  const bytes = new TextEncoder().encode(`${user}:${secret}`);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return `Basic ${btoa(binary)}`;
}
