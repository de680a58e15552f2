/**
 * Parsing of the HTTP `Retry-After` header.
 * @module
 */

/**
 * Reads a `Retry-After` value as milliseconds to wait: delay-seconds
 * (`"120"`) or an HTTP date (`"Wed, 21 Oct 2025 07:28:00 GMT"`, counted from
 * `now`, never negative).
 *
 * @param value The header value (`null` when absent).
 * @param now The current time in epoch ms (default `Date.now()`).
 * @returns The wait in ms, or `undefined` when absent or unreadable.
 *
 * @example
 * ```ts
 * import { parseRetryAfter } from "@sluice/webhook";
 * parseRetryAfter("2"); // 2000
 * parseRetryAfter("Thu, 01 Jan 1970 00:00:05 GMT", 1000); // 4000
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
  if (!/[a-z]/i.test(text)) return undefined; // "-1", "", "1e3": not a date either
  const date = Date.parse(text);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}
