/**
 * The gateway's one secret policy, with no runtime dependencies (the sink
 * plugins' HTTP helpers build on it): what a secret value becomes, how
 * long a value must be to count as one, which field names hold secrets,
 * and replacing known secret values in a text.
 * @module
 */

/** What a secret value becomes. */
export const SECRET = "[SECRET]";

/** Values shorter than this are never treated as secrets (they would mask ordinary words). */
export const MIN_SECRET_LENGTH = 6;

/** Words that make a field name a credential wherever they stand in it. */
const CREDENTIAL_WORDS = new Set([
  "authorization",
  "authentication",
  "cookie",
  "cookies",
  "credential",
  "credentials",
  "dsn",
  "pwd",
  "signature",
]);

/** A word ending like this names a credential (`api_key`, `apikey`, `access_token`, `clientsecret`). */
const CREDENTIAL_ENDING = /(key|token|secret|password|passwd)$/;

/**
 * Whether values under a field or key name are secrets: the one name rule
 * for config values, logged request fields, headers and Sentry events.
 *
 * The name is read as words (`camelCase`, `snake_case`, `kebab-case` and
 * `dotted.names` alike); it names a credential when a word is a credential
 * word (`authorization`, `cookie`, `credentials`, `dsn`, `signature`, …) or
 * ends in `key`, `token`, `secret` or `password` (`api_key`, `x-api-key`,
 * `access_token`, `secret_access_key`), or when the last word is `auth`
 * (`X-Sentry-Auth`). The word `key` counts only as the last word, so
 * identifiers are not secrets: `access_key_id`, `key_alias`,
 * `user_api_key_hash`, and neither is `langfuse_public_key`. Counters are
 * not either: `max_tokens`, `prompt_tokens`, `update_trace_keys`.
 *
 * @param name A field, key, header or variable name.
 * @returns True when values under that name must never be shown.
 *
 * @example
 * ```ts
 * import { isSecretName } from "@sluice/core/sink-http";
 *
 * isSecretName("OPENMETER_API_KEY"); // true
 * isSecretName("X-Sentry-Auth"); // true
 * isSecretName("access_key_id"); // false
 * isSecretName("max_tokens"); // false
 * ```
 */
export function isSecretName(name: string): boolean {
  const words = name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase().split(/[^a-z0-9]+/)
    .filter(Boolean);
  return words.some((word, i) => {
    if (CREDENTIAL_WORDS.has(word)) return true;
    if (word === "auth") return i === words.length - 1;
    if (!CREDENTIAL_ENDING.test(word)) return false;
    return word !== "key" || (i === words.length - 1 && words[i - 1] !== "public");
  });
}

/** Secret values ready for replacing: distinct, long enough, longest first. */
export function orderSecrets(secrets: Iterable<string>): string[] {
  return [...new Set(secrets)].filter((s) => s.length >= MIN_SECRET_LENGTH)
    .sort((a, b) => b.length - a.length);
}

/** Replaces each of `ordered` (from {@link orderSecrets}) with `[SECRET]` in a plain text. */
export function replaceSecrets(text: string, ordered: readonly string[]): string {
  let out = text;
  for (const secret of ordered) if (out.includes(secret)) out = out.replaceAll(secret, SECRET);
  return out;
}

/** Replaces each secret value (longest first, short ones ignored) in a plain text. */
export function maskSecrets(text: string, secrets: Iterable<string>): string {
  return replaceSecrets(text, orderSecrets(secrets));
}
