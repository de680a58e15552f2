/**
 * Parsers for the OpenTelemetry environment variable formats.
 * @module
 */

/** The OTLP/HTTP path of the traces signal. */
export const TRACES_PATH = "v1/traces";

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Parses a `key=value,key2=value2` list (`OTEL_EXPORTER_OTLP_HEADERS`,
 * `OTEL_RESOURCE_ATTRIBUTES`): entries are trimmed, values are
 * percent-decoded, entries without `=` or with an empty key are skipped and
 * reported by key position only (values may be secrets).
 *
 * @param text The variable's value.
 * @param options `colon`: also accept `key:value` entries (LiteLLM's `OTEL_HEADERS`).
 * @returns The pairs, and the 1-based positions of the entries skipped.
 *
 * @example
 * ```ts
 * import { parseKeyValueList } from "@sluice/otel";
 * parseKeyValueList("api-key=a%20b, x=1").pairs; // { "api-key": "a b", x: "1" }
 * ```
 */
export function parseKeyValueList(
  text: string | undefined,
  options: { colon?: boolean } = {},
): { pairs: Record<string, string>; skipped: number[] } {
  const pairs: Record<string, string> = {};
  const skipped: number[] = [];
  if (!text) return { pairs, skipped };
  text.split(",").forEach((entry, i) => {
    if (!entry.trim()) return;
    let eq = entry.indexOf("=");
    if (eq < 0 && options.colon) eq = entry.indexOf(":");
    const key = eq > 0 ? decode(entry.slice(0, eq).trim()) : "";
    if (!key) {
      skipped.push(i + 1);
      return;
    }
    pairs[key] = decode(entry.slice(eq + 1).trim());
  });
  return { pairs, skipped };
}

/**
 * The URL of a signal on a base OTLP/HTTP endpoint, as the OTel
 * specification builds it from `OTEL_EXPORTER_OTLP_ENDPOINT`:
 * `v1/<signal>` is appended to the base path (with exactly one `/`
 * between them).
 *
 * @param base A base URL such as `http://collector:4318` or `https://host/api/public/otel`.
 * @param signal `traces`, `metrics` or `logs`.
 * @param options `keepSignalPath`: leave a URL whose path already ends with
 *   `/v1/<signal>` as it is (and put the signal's path in place of another
 *   signal's: `…/v1/traces` → `…/v1/logs`).
 * @returns The signal's URL.
 *
 * @example
 * ```ts
 * import { signalPathUrl } from "@sluice/otel";
 * signalPathUrl("http://collector:4318", "metrics"); // "http://collector:4318/v1/metrics"
 * signalPathUrl("http://c:4318/v1/traces", "logs", { keepSignalPath: true }); // "http://c:4318/v1/logs"
 * ```
 */
export function signalPathUrl(
  base: string,
  signal: "traces" | "metrics" | "logs",
  options: { keepSignalPath?: boolean } = {},
): string {
  const url = new URL(base);
  if (options.keepSignalPath) {
    const given = /\/v1\/(traces|metrics|logs)\/?$/.exec(url.pathname);
    if (given) {
      url.pathname = `${url.pathname.slice(0, given.index)}/v1/${signal}`;
      return url.href;
    }
  }
  url.pathname = url.pathname.endsWith("/")
    ? `${url.pathname}v1/${signal}`
    : `${url.pathname}/v1/${signal}`;
  return url.href;
}

/**
 * The traces URL of a base OTLP/HTTP endpoint ({@link signalPathUrl} for traces).
 *
 * @param base A base URL such as `http://collector:4318` or `https://host/api/public/otel`.
 * @param options `keepTracesPath`: leave a URL whose path already ends with `/v1/traces` as it is.
 * @returns The traces URL.
 *
 * @example
 * ```ts
 * import { tracesUrl } from "@sluice/otel";
 * tracesUrl("http://collector:4318"); // "http://collector:4318/v1/traces"
 * tracesUrl("https://h/api/public/otel/"); // "https://h/api/public/otel/v1/traces"
 * ```
 */
export function tracesUrl(base: string, options: { keepTracesPath?: boolean } = {}): string {
  return signalPathUrl(base, "traces", { keepSignalPath: options.keepTracesPath });
}
