/**
 * Secret masking for loader messages: the values a sink entry carries under
 * secret-like keys, its bucket credentials and its declared environment
 * values never appear in an error or a log line; they become `[SECRET]`.
 * @module
 */
import type { SinkConfig } from "../config/types.ts";
import { isSecretKeyName } from "../config/env.ts";

/** Values shorter than this are not masked (they would garble every message). */
const MIN_SECRET_LENGTH = 3;

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

/** Replaces each secret (longest first) in `text` with `[SECRET]`. */
export function maskSecrets(text: string, secrets: Iterable<string>): string {
  const list = [...new Set(secrets)].filter((s) => s.length >= MIN_SECRET_LENGTH)
    .sort((a, b) => b.length - a.length);
  let out = text;
  for (const secret of list) out = out.split(secret).join("[SECRET]");
  return out;
}
