/**
 * Secret values of sink entries for loader messages: the values an entry
 * carries under secret-like keys, its bucket credentials and its declared
 * environment values never appear in an error or a log line; they become
 * `[SECRET]` (through `maskSecrets`, the gateway's one scrubber).
 * @module
 */
import type { SinkConfig } from "../config/types.ts";
import { isSecretKeyName } from "../config/env.ts";

// Masking itself is the gateway's one credential scrubber (values shorter than
// its MIN_SECRET_LENGTH are not masked); the name stays importable from here.
export { maskSecrets } from "../redaction/scrub.ts";

/** Collects every string under a secret-like key, at any depth. */
export function secretValuesIn(
  value: unknown,
  underSecretKey = false,
  out: string[] = [],
): string[] {
  if (typeof value === "string") {
    if (underSecretKey) out.push(value);
  } else if (Array.isArray(value)) {
    for (const item of value) secretValuesIn(item, underSecretKey, out);
  } else if (typeof value === "object" && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      secretValuesIn(v, underSecretKey || isSecretKeyName(k), out);
    }
  }
  return out;
}

/**
 * The secrets of one sink entry: config values under secret-like keys, the
 * bucket source's secret key and session token, and the URL's password.
 */
export function entrySecrets(entry: SinkConfig): string[] {
  const out = secretValuesIn(entry.config ?? {});
  if (entry.source?.secret_access_key) out.push(entry.source.secret_access_key);
  if (entry.source?.session_token) out.push(entry.source.session_token);
  try {
    const url = new URL(entry.use);
    if (url.password) out.push(decodeURIComponent(url.password));
  } catch {
    // not a URL
  }
  return out;
}
