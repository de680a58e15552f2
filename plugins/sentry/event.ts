/**
 * From a Sluice {@link LogEvent} to a Sentry error event (the payload of an
 * envelope's `event` item).
 * @module
 */
import { isChatCall, isRemoved, type LogEvent } from "@sluice/core/plugin";
import { displayUrl } from "@sluice/core/sink-http";
import { scrubValue } from "./scrub.ts";

/** Sentry event levels. */
export type SentryLevel = "fatal" | "error" | "warning" | "info" | "debug";

/** One exception of {@link SentryEvent.exception}. */
export interface SentryException {
  /** The error class, e.g. `RateLimitError`, `UpstreamTimeout`. */
  type: string;
  /** The error message (capped at 8,192 characters). */
  value: string;
  /** The provider that failed, when an upstream was involved. */
  module?: string;
  /** How the error was captured: by the gateway, and handled (the client got an error answer). */
  mechanism: { type: string; handled: boolean; data?: Record<string, unknown> };
}

/** The breadcrumb describing the call. */
export interface SentryBreadcrumb {
  /** Epoch seconds (the call's start). */
  timestamp: number;
  /** `http`: the call to the model. */
  type: string;
  /** `llm.call`, or `sluice.gateway` for gateway errors. */
  category: string;
  /** `error` for failures. */
  level: SentryLevel;
  /** One line, e.g. `chat gpt-4o-mini via openai: 429 RateLimitError`. */
  message: string;
  /** Method, URL, status, model, provider, timings; the messages only when the event still has them. */
  data: Record<string, unknown>;
}

/** A trace context linking the error to the call's W3C trace. */
export interface SentryTraceContext {
  /** Always `trace`. */
  type: "trace";
  /** The call's trace id (32 hex). */
  trace_id: string;
  /** The call's span id (16 hex). */
  span_id: string;
  /** The client's span id from `traceparent`, if any. */
  parent_span_id?: string;
  /** `gen_ai.<call type>` or `sluice.gateway`. */
  op: string;
  /** The span status derived from the HTTP status. */
  status: string;
  /** The context's creator. */
  origin: string;
}

/**
 * The Sentry event this sink sends: an error event (`level: error`, one
 * exception) for failures and gateway errors, an `info` event with a
 * `logentry` for successes (only with `include_success`).
 */
export interface SentryEvent {
  /** 32 lowercase hex characters derived from the event's `request_id` (stable across retries). */
  event_id: string;
  /** The call's end, epoch seconds. */
  timestamp: number;
  /** `other`: the event has no stack frames to symbolicate. */
  platform: "other";
  /** `error`, or `info` for successes. */
  level: SentryLevel;
  /** `sluice`. */
  logger: string;
  /** `<call type> <model>` (or `gateway_error <source>`): what Sentry shows as the transaction. */
  transaction: string;
  /** The configured environment (default `production`). */
  environment: string;
  /** The release (default `sluice@<gateway version>`). */
  release: string;
  /** The configured server name, if any. */
  server_name?: string;
  /** The error, for failures. */
  exception?: { values: SentryException[] };
  /** A one-line summary, for successes. */
  logentry?: { formatted: string };
  /** Searchable tags: model, provider, key alias, team, status code, call id, … */
  tags: Record<string, string>;
  /** Grouping: model, error class, status code (never the message text). */
  fingerprint: string[];
  /** `trace`, `llm` and `response` contexts. */
  contexts: Record<string, Record<string, unknown>>;
  /** One breadcrumb: the call. */
  breadcrumbs: { values: SentryBreadcrumb[] };
  /** The virtual key's user, when known (no IP address or end-user field is sent). */
  user?: { id: string };
  /** The upstream request (URL, method and scrubbed headers), only when the event carries `raw_request`. */
  request?: { url: string; method: string; headers: Record<string, string> };
  /** Ids, request tags and request metadata (scrubbed). */
  extra: Record<string, unknown>;
  /** The sender: `sluice-sentry` and its version. */
  sdk: { name: string; version: string; packages?: { name: string; version: string }[] };
}

/** What {@link toSentryEvent} needs besides the log event. */
export interface SentryEventOptions {
  /** Sentry `environment`. */
  environment: string;
  /** Sentry `release`. */
  release: string;
  /** Sentry `server_name`, if any. */
  serverName?: string;
  /** Tags added to every event (the event's own tags win). */
  tags?: Record<string, string>;
  /** The `sdk` interface. */
  sdk: SentryEvent["sdk"];
  /** Largest JSON size of the breadcrumb's messages before they are cut (default 16,384). */
  maxMessagesChars?: number;
}

/** Sentry's documented limits. */
const MAX_TAG_CHARS = 200;
const MAX_MESSAGE_CHARS = 8192;
const MAX_EXTRA_VALUE_CHARS = 16_000;
const MAX_CONTEXT_CHARS = 8_000;
/** Stay well below the 1 MiB event item limit. */
const MAX_EVENT_CHARS = 900_000;

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;

/**
 * The Sentry `event_id` of a log event: its `request_id` (a UUID) without
 * dashes, lowercased; a `request_id` that is not a UUID is hashed
 * (SHA-256, first 32 hex). The same event always gets the same id, so a
 * batch retried after a partial failure is de-duplicated by Sentry.
 *
 * @param requestId The event's `request_id`.
 * @returns 32 lowercase hex characters.
 *
 * @example
 * ```ts
 * import { eventIdFor } from "@sluice/sentry";
 * await eventIdFor("9EC79C33-EC99-42AB-8353-589FCB2E04DC"); // "9ec79c33ec9942ab8353589fcb2e04dc"
 * ```
 */
export async function eventIdFor(requestId: string): Promise<string> {
  const plain = requestId.replace(/-/g, "").toLowerCase();
  if (HEX32.test(plain)) return plain;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(requestId));
  return hex(new Uint8Array(digest)).slice(0, 32);
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The Sentry span status of an HTTP status (the mapping Sentry's SDKs use).
 *
 * @param status An HTTP status.
 * @returns A span status such as `resource_exhausted` or `deadline_exceeded`.
 *
 * @example
 * ```ts
 * import { spanStatusOf } from "@sluice/sentry";
 * spanStatusOf(429); // "resource_exhausted"
 * ```
 */
export function spanStatusOf(status: number): string {
  if (status >= 200 && status < 400) return "ok";
  switch (status) {
    case 400:
      return "invalid_argument";
    case 401:
      return "unauthenticated";
    case 403:
      return "permission_denied";
    case 404:
      return "not_found";
    case 409:
      return "already_exists";
    case 413:
      return "failed_precondition";
    case 429:
      return "resource_exhausted";
    case 499:
      return "cancelled";
    case 501:
      return "unimplemented";
    case 503:
      return "unavailable";
    case 504:
      return "deadline_exceeded";
  }
  if (status >= 400 && status < 500) return "invalid_argument";
  if (status >= 500 && status < 600) return "internal_error";
  return "unknown";
}

/** The model name events are grouped and tagged by: the public name, else the upstream id. */
function modelOf(event: LogEvent): string | undefined {
  return event.model_group ?? event.model;
}

/**
 * The Sentry fingerprint of a log event: `[model, error class, status code]`
 * for failed calls, `[gateway_error, source, error class, status code]` for
 * gateway errors and `[model, call type, success]` for successes. The
 * message text never takes part, so "try again in 2s" and "try again in 3s"
 * are one issue.
 *
 * @param event A log event.
 * @returns The fingerprint.
 *
 * @example
 * ```ts
 * import { fingerprintOf } from "@sluice/sentry";
 * import { sampleFailureEvent } from "@sluice/core/testing";
 * fingerprintOf(sampleFailureEvent()); // ["gpt-4o-mini", "RateLimitError", "429"]
 * ```
 */
export function fingerprintOf(event: LogEvent): string[] {
  if (event.call_type === "gateway_error") {
    return [
      "gateway_error",
      event.source ?? "unknown",
      event.error?.class ?? "GatewayError",
      String(event.error?.status ?? 500),
    ];
  }
  if (event.status === "success" || !event.error) {
    return [modelOf(event) ?? "unknown", event.call_type, "success"];
  }
  return [modelOf(event) ?? "unknown", event.error.class, String(event.error.status)];
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A tag value as Sentry stores it: one line, at most 200 characters. */
function tagValue(value: unknown): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const text = String(value).replace(/[\r\n\t]+/g, " ").trim();
  return text === "" ? undefined : cut(text, MAX_TAG_CHARS);
}

/** A JSON value, or its JSON text cut to `max` characters when larger. */
function bounded(value: unknown, max: number): unknown {
  let text: string;
  try {
    text = JSON.stringify(value) ?? "";
  } catch {
    return "[unserialisable]";
  }
  return text.length <= max ? value : `${text.slice(0, max)}… [truncated ${text.length} chars]`;
}

/** True when the event still carries the call's messages (no `remove` policy emptied them). */
function messagesKept(messages: LogEvent["messages"]): boolean {
  return messages !== undefined && messages !== null && !isRemoved(messages);
}

/** Model parameters with scalar values only (tools and schemas would crowd the context). */
function scalarParameters(params: Record<string, unknown> | undefined) {
  if (!params) return undefined;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(params)) {
    if (["string", "number", "boolean"].includes(typeof value)) out[key] = value;
  }
  return Object.keys(out).length ? out : undefined;
}

function withoutUndefined<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/**
 * Builds the Sentry event of a log event: exception (error class and
 * message), level, environment, release, tags (model, provider, key alias,
 * team, status code, call id, request id, call type, error code, source),
 * fingerprint ({@link fingerprintOf}), a `trace` context with the call's
 * W3C ids, an `llm` context (model, provider, tokens, timings), one
 * breadcrumb for the call with its messages only when the event still
 * carries them (a `messages: remove` policy has already replaced them), and
 * the virtual key's user id. No IP address, end user, API key hash or
 * request body is sent. The result is scrubbed ({@link scrubValue}) and
 * sized to Sentry's limits (tags 200 characters, messages 8,192, contexts
 * and extra values about 8 and 16 kB).
 *
 * @param event A (redacted) log event.
 * @param options Environment, release, static tags and the sdk interface.
 * @returns The Sentry event.
 *
 * @example
 * ```ts
 * import { toSentryEvent } from "@sluice/sentry";
 * import { sampleFailureEvent } from "@sluice/core/testing";
 * const event = await toSentryEvent(sampleFailureEvent(), {
 *   environment: "production",
 *   release: "sluice@0.1.0",
 *   sdk: { name: "sluice-sentry", version: "0.1.0" },
 * });
 * event.exception?.values[0].type; // "RateLimitError"
 * event.tags.status_code; // "429"
 * ```
 */
export async function toSentryEvent(
  event: LogEvent,
  options: SentryEventOptions,
): Promise<SentryEvent> {
  const failed = event.status === "failure";
  const gatewayError = event.call_type === "gateway_error";
  const model = modelOf(event);
  const error = event.error;
  const status = error?.status ?? (failed ? 500 : 200);
  const meta = event.metadata ?? { tags: [], request: {} };

  const tags: Record<string, string> = {};
  const addTag = (key: string, value: unknown) => {
    const v = tagValue(value);
    if (v !== undefined) tags[key] = v;
  };
  for (const [key, value] of Object.entries(options.tags ?? {})) addTag(key, value);
  addTag("model", model);
  if (event.model && event.model !== model) addTag("upstream_model", event.model);
  addTag("model_id", event.model_id);
  addTag("provider", error?.provider ?? event.provider);
  addTag("key_alias", meta.user_api_key_alias);
  addTag("team", meta.user_api_key_team);
  addTag("status_code", failed || error ? status : undefined);
  addTag("error_code", error?.code);
  addTag("call_id", event.call_id);
  addTag("request_id", event.request_id);
  addTag("call_type", event.call_type);
  addTag("stream", event.stream);
  addTag("source", event.source);

  const what = gatewayError
    ? `gateway_error ${event.source ?? "gateway"}`
    : `${event.call_type} ${model ?? "unknown model"}`;

  const contexts: Record<string, Record<string, unknown>> = {};
  if (HEX32.test(event.trace_id) && HEX16.test(event.span_id)) {
    const trace: SentryTraceContext = {
      type: "trace",
      trace_id: event.trace_id,
      span_id: event.span_id,
      // Chat-shaped calls (Responses, Anthropic Messages too) are `gen_ai.chat`; the tag tells them apart.
      op: gatewayError
        ? "sluice.gateway"
        : isChatCall(event)
        ? "gen_ai.chat"
        : `gen_ai.${event.call_type}`,
      status: spanStatusOf(status),
      origin: "auto.sluice",
    };
    if (event.parent_span_id && HEX16.test(event.parent_span_id)) {
      trace.parent_span_id = event.parent_span_id;
    }
    contexts.trace = { ...trace };
  }
  if (!gatewayError) {
    contexts.llm = bounded(
      withoutUndefined({
        type: "llm",
        model: event.model,
        model_group: event.model_group,
        model_id: event.model_id,
        provider: event.provider,
        api_base: event.api_base ? displayUrl(event.api_base) : undefined,
        call_type: event.call_type,
        stream: event.stream,
        response_time_ms: event.response_time_ms,
        prompt_tokens: event.prompt_tokens,
        completion_tokens: event.completion_tokens,
        total_tokens: event.total_tokens,
        response_cost: event.response_cost,
        model_parameters: scalarParameters(event.model_parameters),
      }),
      MAX_CONTEXT_CHARS,
    ) as Record<string, unknown>;
  }
  if (failed || error) contexts.response = { type: "response", status_code: status };

  const crumbData: Record<string, unknown> = withoutUndefined({
    method: gatewayError ? undefined : "POST",
    url: event.api_base ? displayUrl(event.api_base) : undefined,
    status_code: failed || error ? status : undefined,
    reason: error?.code,
    model,
    provider: event.provider,
    stream: event.stream,
    duration_ms: event.response_time_ms,
    prompt_tokens: event.prompt_tokens || undefined,
  });
  if (messagesKept(event.messages)) {
    crumbData.messages = bounded(event.messages, options.maxMessagesChars ?? 16_384);
  }
  const outcome = error ? `${error.status} ${error.class}` : "ok";
  const breadcrumb: SentryBreadcrumb = {
    timestamp: event.start_time / 1000,
    type: gatewayError ? "error" : "http",
    category: gatewayError ? "sluice.gateway" : "llm.call",
    level: failed ? "error" : "info",
    message: cut(
      gatewayError
        ? `${event.source ?? "gateway"}: ${outcome}`
        : `${what}${event.provider ? ` via ${event.provider}` : ""}: ${outcome}`,
      MAX_MESSAGE_CHARS,
    ),
    data: crumbData,
  };

  const extra: Record<string, unknown> = withoutUndefined({
    request_id: event.request_id,
    call_id: event.call_id,
    source: event.source,
    request_tags: meta.tags?.length ? meta.tags : undefined,
    request_metadata: meta.request && Object.keys(meta.request).length
      ? bounded(meta.request, MAX_EXTRA_VALUE_CHARS)
      : undefined,
  });

  const sentry: SentryEvent = {
    event_id: await eventIdFor(event.request_id),
    timestamp: event.end_time / 1000,
    platform: "other",
    level: failed ? "error" : "info",
    logger: "sluice",
    transaction: cut(what, MAX_TAG_CHARS),
    environment: options.environment,
    release: options.release,
    tags,
    fingerprint: fingerprintOf(event),
    contexts,
    breadcrumbs: { values: [breadcrumb] },
    extra,
    sdk: options.sdk,
  };
  if (options.serverName) sentry.server_name = options.serverName;
  if (failed || error) {
    const exception: SentryException = {
      type: error?.class ?? "GatewayError",
      value: cut(error?.message ?? "the call failed", MAX_MESSAGE_CHARS),
      mechanism: {
        type: gatewayError ? "sluice.gateway" : "sluice.upstream",
        handled: true,
        data: withoutUndefined({ status_code: status, code: error?.code }),
      },
    };
    if (error?.provider) exception.module = error.provider;
    sentry.exception = { values: [exception] };
  } else {
    sentry.logentry = { formatted: cut(`${what} succeeded`, MAX_MESSAGE_CHARS) };
  }
  if (meta.user_api_key_user_id) sentry.user = { id: meta.user_api_key_user_id };
  if (event.raw_request && typeof event.raw_request.url === "string") {
    sentry.request = {
      url: displayUrl(event.raw_request.url),
      method: "POST",
      headers: { ...(event.raw_request.headers ?? {}) },
    };
  }

  const scrubbed = scrubValue(sentry);
  return fitted(scrubbed);
}

/** Drops the bulkiest parts until the event is well under Sentry's 1 MiB item limit. */
function fitted(event: SentryEvent): SentryEvent {
  if (JSON.stringify(event).length <= MAX_EVENT_CHARS) return event;
  const crumb = event.breadcrumbs.values[0];
  if (crumb?.data.messages !== undefined) crumb.data.messages = "[dropped: event too large]";
  if (JSON.stringify(event).length <= MAX_EVENT_CHARS) return event;
  event.extra = { request_id: event.extra.request_id, call_id: event.extra.call_id };
  return event;
}
