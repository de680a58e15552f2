/**
 * The structural redaction step, on the event object (before any masking):
 * message and response removal, dropping non-text content parts, removing
 * key metadata and credentials, and replacing the config's secret values
 * with `[SECRET]`. It never mutates the shared event: changed parts are copied.
 * @module
 */
import type { LogEvent } from "../event/log_event.ts";
import type { EffectivePolicy } from "./policy.ts";
import { REMOVED_PLACEHOLDER } from "../plugin.ts";

/** What removed content becomes (the contract's {@link REMOVED_PLACEHOLDER}). */
export const REMOVED = REMOVED_PLACEHOLDER;
/** What a secret value from the config becomes. */
export const SECRET = "[SECRET]";

const CREDENTIAL_WORDS = new Set([
  "secret",
  "password",
  "passwd",
  "token",
  "apikey",
  "credential",
  "credentials",
  "authorization",
  "cookie",
  "dsn",
]);

/**
 * Whether a request-metadata key names a credential (`langfuse_secret_key`,
 * `access_token`, `apiKey`), by whole words so that `max_tokens` or
 * `update_trace_keys` are not mistaken for one.
 */
export function isCredentialName(name: string): boolean {
  const words = name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase().split(/[^a-z0-9]+/);
  return words.some((w, i) =>
    CREDENTIAL_WORDS.has(w) ||
    (w === "key" && (words[i - 1] === "api" || words[i - 1] === "private"))
  );
}

/** `value` with every credential-named key's value replaced by `[SECRET]`, at any depth (same object when none). */
function withoutCredentials(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== "object" || depth > 32) return value;
  if (Array.isArray(value)) {
    let changed = false;
    const out = value.map((v) => {
      const w = withoutCredentials(v, depth + 1);
      if (w !== v) changed = true;
      return w;
    });
    return changed ? out : value;
  }
  let out: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(value)) {
    const w = isCredentialName(k) && v !== null && v !== ""
      ? SECRET
      : withoutCredentials(v, depth + 1);
    if (w !== v) (out ??= { ...value as Record<string, unknown> })[k] = w;
  }
  return out ?? value;
}

const NON_TEXT_PARTS = new Set(["image_url", "input_audio", "file"]);
const CREDENTIAL_HEADERS = new Set([
  "authorization",
  "api-key",
  "x-api-key",
  "cookie",
  "proxy-authorization",
]);
/** A prompt fragment this long found in an error message means the error echoes the prompt. */
const ECHO_MIN = 12;

function textsOf(value: unknown, out: string[] = []): string[] {
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) { for (const v of value) textsOf(v, out); }
  else if (value && typeof value === "object") {
    const record = value as Record<string, unknown>;
    textsOf(record.content, out);
    if (typeof record.text === "string") out.push(record.text);
  }
  return out;
}

function echoesInput(message: string, input: unknown): boolean {
  return textsOf(input).some((t) => t.length >= ECHO_MIN && message.includes(t.slice(0, 64)));
}

function dropParts(messages: unknown): unknown {
  if (!Array.isArray(messages)) return messages;
  let changed = false;
  const out = messages.map((m) => {
    if (!m || typeof m !== "object" || !Array.isArray(m.content)) return m;
    const kept = m.content.filter((p: { type?: unknown }) => !NON_TEXT_PARTS.has(String(p?.type)));
    if (kept.length === m.content.length) return m;
    changed = true;
    return { ...m, content: kept };
  });
  return changed ? out : messages;
}

/** Applies message removal, part dropping and key-info removal; returns a new event when anything changed. */
export function applyStructural(event: LogEvent, policy: EffectivePolicy): LogEvent {
  const out: LogEvent = { ...event };
  if (policy.input === "remove") {
    if (out.messages !== undefined) out.messages = REMOVED;
    if (out.raw_request) out.raw_request = { ...out.raw_request, body: REMOVED };
    if (out.error && echoesInput(out.error.message, event.messages)) {
      out.error = { ...out.error, message: REMOVED };
    }
  } else if (policy.dropNonTextParts) {
    out.messages = dropParts(out.messages);
    if (out.raw_request?.body && typeof out.raw_request.body === "object") {
      const body = out.raw_request.body as Record<string, unknown>;
      out.raw_request = {
        ...out.raw_request,
        body: { ...body, messages: dropParts(body.messages) },
      };
    }
  }
  if (policy.output === "remove" && out.response !== undefined) out.response = REMOVED;
  if (out.raw_request) {
    const headers = Object.fromEntries(
      Object.entries(out.raw_request.headers).filter(([k]) =>
        !CREDENTIAL_HEADERS.has(k.toLowerCase())
      ),
    );
    out.raw_request = { ...out.raw_request, headers };
  }
  // Credentials a client put in its request metadata (LiteLLM's per-request
  // `langfuse_secret_key`, say) or in a logged request body never reach a sink.
  const request = withoutCredentials(out.metadata.request);
  if (request !== out.metadata.request) {
    out.metadata = { ...out.metadata, request: request as Record<string, unknown> };
  }
  if (out.raw_request?.body && typeof out.raw_request.body === "object") {
    const body = withoutCredentials(out.raw_request.body);
    if (body !== out.raw_request.body) out.raw_request = { ...out.raw_request, body };
  }
  if (policy.redactUserApiKeyInfo) {
    const metadata = { ...out.metadata } as Record<string, unknown>;
    for (const key of Object.keys(metadata)) {
      if (key.startsWith("user_api_key_")) delete metadata[key];
    }
    out.metadata = metadata as unknown as LogEvent["metadata"];
  }
  return out;
}

/**
 * Replaces every secret value (as it appears inside JSON strings) with
 * `[SECRET]` in a JSON text. Longest secrets first, so one that contains
 * another is replaced whole.
 */
export function scrubSecrets(json: string, secrets: readonly string[]): string {
  let out = json;
  for (const secret of secrets) {
    const escaped = JSON.stringify(secret).slice(1, -1);
    if (out.includes(escaped)) out = out.replaceAll(escaped, SECRET);
  }
  return out;
}

/** Secret values ordered for {@link scrubSecrets}. */
export function orderSecrets(secrets: Iterable<string>): string[] {
  return [...new Set(secrets)].sort((a, b) => b.length - a.length);
}
