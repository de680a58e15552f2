/**
 * Sentry-side scrubbing of the event the sink builds, on top of the
 * gateway's own redaction.
 * @module
 */
import { isSecretName } from "@sluice/core/sink-http";

/** What a scrubbed value is replaced with (Sentry's own marker). */
export const FILTERED = "[Filtered]";

/** Credential shapes scrubbed inside any string value. */
const SENSITIVE_VALUES: [RegExp, string][] = [
  // `Authorization: Bearer …` / `Basic …` values quoted in text.
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/-]{6,}=*/gi, `$1 ${FILTERED}`],
  // OpenAI, Anthropic and Sluice-style keys: sk-…, sk-proj-…, sk-ant-…
  [/\bsk-[A-Za-z0-9_-]{8,}/g, FILTERED],
];

/**
 * Removes credentials from a string: `Bearer …`/`Basic …` tokens and `sk-…`
 * keys become `[Filtered]`.
 *
 * @param text Any text.
 * @returns The text without those credentials.
 *
 * @example
 * ```ts
 * import { scrubString } from "@sluice/sentry";
 * scrubString("upstream said: invalid key sk-abcdefghijklmnop"); // "upstream said: invalid key [Filtered]"
 * ```
 */
export function scrubString(text: string): string {
  let out = text;
  for (const [pattern, replacement] of SENSITIVE_VALUES) out = out.replace(pattern, replacement);
  return out;
}

/**
 * Returns a deep copy of `value` in which every value under a secret name
 * (the gateway's one rule, `isSecretName` of `@sluice/core/sink-http`:
 * credentials, cookies, DSNs, `X-Sentry-Auth`; not counters such as
 * `prompt_tokens`) is `[Filtered]` and every string is passed through
 * {@link scrubString}. Keys are kept, so the reader sees that a
 * header was there. The input is not modified.
 *
 * @param value Any JSON-like value.
 * @returns The scrubbed copy.
 *
 * @example
 * ```ts
 * import { scrubValue } from "@sluice/sentry";
 * scrubValue({ headers: { authorization: "Bearer abc", "x-trace": "1" } });
 * // { headers: { authorization: "[Filtered]", "x-trace": "1" } }
 * ```
 */
export function scrubValue<T>(value: T): T {
  return walk(value, 0) as T;
}

const MAX_DEPTH = 64;

function walk(value: unknown, depth: number): unknown {
  if (typeof value === "string") return scrubString(value);
  if (typeof value !== "object" || value === null) return value;
  if (depth > MAX_DEPTH) return FILTERED;
  if (Array.isArray(value)) return value.map((item) => walk(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (item === undefined) continue;
    out[key] = isSecretName(key) && item !== null ? FILTERED : walk(item, depth + 1);
  }
  return out;
}
