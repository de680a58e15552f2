/**
 * The structural redaction step, on the event object (before any masking):
 * message and response removal, dropping non-text content parts, removing
 * key metadata and credential-named fields. Secret values are replaced by
 * the one credential scrubber (`scrub.ts`, re-exported here). It never
 * mutates the shared event: changed parts are copied.
 * @module
 */
import type { LogEvent } from "../event/log_event.ts";
import type { EffectivePolicy } from "./policy.ts";
import { REMOVED_PLACEHOLDER } from "../plugin.ts";
import { withoutCredentials } from "./scrub.ts";

// The credential scrubber lives in scrub.ts; these names stay importable from here.
export { isSecretName, orderSecrets, scrubSecrets, SECRET } from "./scrub.ts";

/** What removed content becomes (the contract's {@link REMOVED_PLACEHOLDER}). */
export const REMOVED = REMOVED_PLACEHOLDER;
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

/** Prompt fragments compared with the message (a scrubbed secret inside one must not hide the rest). */
const ECHO_FRAGMENT = 24;
const ECHO_MAX_FRAGMENTS = 64;

function echoesInput(message: string, input: unknown): boolean {
  return textsOf(input).some((t) => {
    if (t.length < ECHO_MIN) return false;
    const end = Math.min(t.length, ECHO_FRAGMENT * ECHO_MAX_FRAGMENTS);
    for (let i = 0; i < end; i += ECHO_FRAGMENT) {
      const fragment = t.slice(i, i + ECHO_FRAGMENT);
      if (fragment.length >= ECHO_MIN && message.includes(fragment)) return true;
    }
    return false;
  });
}

function dropParts<T>(messages: T): T {
  if (!Array.isArray(messages)) return messages;
  let changed = false;
  const out = messages.map((m) => {
    if (!m || typeof m !== "object" || !Array.isArray(m.content)) return m;
    const kept = m.content.filter((p: { type?: unknown }) => !NON_TEXT_PARTS.has(String(p?.type)));
    if (kept.length === m.content.length) return m;
    changed = true;
    return { ...m, content: kept };
  });
  return changed ? out as T : messages;
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
