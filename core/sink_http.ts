/**
 * HTTP helpers for sink plugin authors: the one rule from an HTTP answer
 * to the contract's outcome ({@link classify}) and its error
 * ({@link failureError}), errors that carry the contract's properties
 * ({@link SinkError}), the one secret scrubber ({@link secretScrubber}),
 * URLs that are safe to show in messages, `Retry-After` parsing, and the
 * mapping of failed requests and error answers to messages without secrets.
 *
 * Like the contract itself, this module has no runtime dependencies and
 * imports nothing but `@sluice/core/plugin`'s types and the gateway's
 * secret policy (one name rule, one minimum length): a plugin can use it
 * without pulling in the gateway.
 *
 * @example Turn an HTTP answer into the contract's outcome
 * ```ts
 * import {
 *   classify,
 *   displayUrl,
 *   errorDetail,
 *   failureError,
 *   fetchFailure,
 *   secretScrubber,
 * } from "@sluice/core/sink-http";
 *
 * async function post(url: string, token: string, body: string): Promise<void> {
 *   const shown = displayUrl(url); // never the query string in a message
 *   const scrub = secretScrubber([token], { urls: [url] });
 *   let res: Response;
 *   try {
 *     res = await fetch(url, {
 *       method: "POST",
 *       headers: { authorization: `Bearer ${token}` },
 *       body,
 *       redirect: "manual",
 *       signal: AbortSignal.timeout(5000),
 *     });
 *   } catch (error) {
 *     throw fetchFailure(error, `my-sink: POST ${shown}`, 5000, scrub); // retried
 *   }
 *   const outcome = classify(res); // ok | retry | permanent | keep
 *   if (outcome.kind === "ok") {
 *     await res.body?.cancel();
 *     return;
 *   }
 *   const detail = await errorDetail(res, scrub);
 *   throw failureError(outcome, `my-sink: ${shown} answered ${res.status} (${detail})`, {
 *     credentials: "check MY_SINK_TOKEN",
 *   });
 * }
 * ```
 * @module
 */
import type {
  LogEvent,
  PluginLogger,
  PluginPermissions,
  SinkError,
  SinkLogResult,
} from "./plugin.ts";
import { orderSecrets, replaceSecrets } from "./redaction/secrets.ts";

export { isSecretName, MIN_SECRET_LENGTH, SECRET } from "./redaction/secrets.ts";

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

/** The wait after a 429 that sends no readable `Retry-After`. */
export const DEFAULT_RATE_LIMIT_WAIT_MS = 1000;

/** What the operator must fix before a {@link HttpOutcome} `keep` can succeed. */
export type KeepReason =
  /** 401, 403, 407: the key, token or password is refused. */
  | "credentials"
  /** 404, 405, 410: no such endpoint, project or bucket. */
  | "url"
  /** 3xx: sinks do not follow redirects (a 301/302 turns a POST into a GET). */
  | "redirect"
  /** 415: the receiver does not take this content type (a protocol setting). */
  | "format"
  /** Another setting of the sink is wrong (a sink that reads it from the answer, e.g. an S3 error code). */
  | "config";

/**
 * What an HTTP answer means for the batch that was sent, one case per
 * outcome of the plugin contract:
 * - `ok`: delivered (2xx);
 * - `retry`: transient (5xx, 429, 408 and anything unexpected): retried
 *   with backoff, no sooner than `afterMs` when the receiver said so;
 * - `permanent`: the events themselves are refused (400, 413, 422):
 *   dropped, counted and reported;
 * - `keep`: the sink's configuration is wrong (credentials, address,
 *   redirect, format): never dropped, retried until the operator fixes it.
 */
export type HttpOutcome =
  | { kind: "ok"; status: number }
  | { kind: "retry"; status: number; afterMs?: number }
  | { kind: "permanent"; status: number }
  | { kind: "keep"; status: number; reason: KeepReason; location?: string };

/** An {@link HttpOutcome} other than `ok`. */
export type HttpFailure = Exclude<HttpOutcome, { kind: "ok" }>;

/** Options of {@link classify}. */
export interface ClassifyOptions {
  /** The wait after a 429 without a readable `Retry-After` (default {@link DEFAULT_RATE_LIMIT_WAIT_MS}). */
  rateLimitWaitMs?: number;
  /** The current time in epoch ms, for `Retry-After` dates (default `Date.now()`). */
  now?: number;
}

const PERMANENT = new Set([400, 413, 422]);
const KEEP: ReadonlyMap<number, KeepReason> = new Map([
  [401, "credentials"],
  [403, "credentials"],
  [407, "credentials"],
  [404, "url"],
  [405, "url"],
  [410, "url"],
  [415, "format"],
]);

/**
 * The one HTTP answer → outcome rule of the sink plugins, modelled on
 * OpenTelemetry's `isExportHTTPErrorRetryable` (retryable statuses and
 * `Retry-After`): see {@link HttpOutcome} for the cases. A redirect's
 * `Location` is given as {@link displayUrl} shows it. Sinks with protocol
 * details (S3 error codes, Sentry's rate-limit header, Langfuse's per-event
 * statuses) start from this outcome and refine it.
 *
 * @param res The answer (a `Response`, or its status with headers and URL).
 * @param options The wait after a 429 without `Retry-After`, and the clock.
 * @returns The outcome.
 *
 * @example
 * ```ts
 * import { classify } from "@sluice/core/sink-http";
 *
 * classify(new Response(null, { status: 204 })); // { kind: "ok", status: 204 }
 * classify(new Response(null, { status: 422 })); // { kind: "permanent", status: 422 }
 * classify(new Response(null, { status: 403 })); // { kind: "keep", status: 403, reason: "credentials" }
 * classify(new Response(null, { status: 503, headers: { "retry-after": "2" } }));
 * // { kind: "retry", status: 503, afterMs: 2000 }
 * classify(new Response(null, { status: 429 })); // { kind: "retry", status: 429, afterMs: 1000 }
 * ```
 */
export function classify(
  res: Pick<Response, "status"> & Partial<Pick<Response, "headers" | "url">>,
  options: ClassifyOptions = {},
): HttpOutcome {
  const { status } = res;
  if (status >= 200 && status < 300) return { kind: "ok", status };
  if (PERMANENT.has(status)) return { kind: "permanent", status };
  const reason = KEEP.get(status);
  if (reason) return { kind: "keep", status, reason };
  if (status >= 300 && status < 400) {
    const to = res.headers?.get("location");
    const base = res.url || undefined;
    const location = to && URL.canParse(to, base) ? displayUrl(new URL(to, base)) : undefined;
    return location
      ? { kind: "keep", status, reason: "redirect", location }
      : { kind: "keep", status, reason: "redirect" };
  }
  const afterMs = parseRetryAfter(res.headers?.get("retry-after") ?? null, options.now) ??
    (status === 429 ? options.rateLimitWaitMs ?? DEFAULT_RATE_LIMIT_WAIT_MS : undefined);
  return afterMs === undefined ? { kind: "retry", status } : { kind: "retry", status, afterMs };
}

/**
 * What {@link failureError} says after the answer for each outcome; each
 * has a generic default, so a sink names only what is its own (which
 * setting or variable to check, what the events are called).
 */
export interface FailureWords {
  /** `permanent`: what was refused (default "the receiver refused these events as malformed"). */
  refused?: string;
  /** `keep` for credentials: what to check (default "check this sink's credentials"). */
  credentials?: string;
  /** `keep` for the address: what to check (default "check this sink's url"). */
  url?: string;
  /** `keep` for a redirect: what to do (default "set the final URL in this sink's config"). */
  redirect?: string;
  /** `keep` for the content type: what to check (default "check this sink's protocol or format"). */
  format?: string;
  /** `keep` for another setting: what to check (default "check this sink's config"). */
  config?: string;
  /** `retry` other than 429: what happens (default "the batch will be retried"). */
  retry?: string;
}

const DEFAULT_WORDS: Required<FailureWords> = {
  refused: "the receiver refused these events as malformed",
  credentials: "check this sink's credentials",
  url: "check this sink's url",
  redirect: "set the final URL in this sink's config",
  format: "check this sink's protocol or format",
  config: "check this sink's config",
  retry: "the batch will be retried",
};

/**
 * The contract's error for an outcome other than `ok`: `permanent: true`
 * for `permanent`, `retryAfterMs` for a `retry` with a wait, the status
 * always. The message is `answered` (e.g. `"my-sink: https://host/in
 * answered 401 Unauthorized"`) followed by what the outcome means, passed
 * through `scrub` when given.
 *
 * @param outcome The outcome ({@link classify}, maybe refined by the sink).
 * @param answered Who answered what, without secrets.
 * @param words What the sink says for each outcome (see {@link FailureWords}).
 * @param scrub Removes secrets from the finished message (default: none).
 * @returns The error, ready to throw.
 *
 * @example
 * ```ts
 * import { classify, failureError } from "@sluice/core/sink-http";
 *
 * const res = new Response(null, { status: 401, statusText: "Unauthorized" });
 * const outcome = classify(res);
 * if (outcome.kind !== "ok") {
 *   const error = failureError(outcome, "my-sink: https://host/in answered 401 Unauthorized", {
 *     credentials: "check MY_SINK_TOKEN",
 *   });
 *   error.message;
 *   // "my-sink: https://host/in answered 401 Unauthorized: check MY_SINK_TOKEN; the events are kept and retried"
 *   error.permanent; // undefined: the events are kept
 * }
 * ```
 */
export function failureError(
  outcome: HttpFailure,
  answered: string,
  words: FailureWords = {},
  scrub: (text: string) => string = (text) => text,
): HttpSinkError {
  const say = { ...DEFAULT_WORDS, ...words };
  const { status } = outcome;
  switch (outcome.kind) {
    case "permanent":
      return sinkError(scrub(`${answered}: ${say.refused}`), { permanent: true, status });
    case "keep": {
      const what = outcome.reason === "redirect"
        ? `a redirect${
          outcome.location ? ` to ${outcome.location}` : ""
        }; redirects are not followed, ${say.redirect}`
        : say[outcome.reason];
      return sinkError(scrub(`${answered}: ${what}; the events are kept and retried`), { status });
    }
    case "retry": {
      const retryAfterMs = outcome.afterMs;
      const what = status === 429
        ? `: rate limited; retry in ${retryAfterMs} ms`
        : `; ${say.retry}`;
      return sinkError(scrub(`${answered}${what}`), { retryAfterMs, status });
    }
  }
}

/**
 * The one way sinks remove secrets from foreign text (fetch errors, answer
 * bodies, per-event error messages) before it goes into a message: each
 * secret value (and its URL-encoded form) becomes `[SECRET]`, each URL in
 * `urls` is shown as {@link displayUrl} shows it (no user info, query
 * string or fragment). Values shorter than the gateway's
 * `MIN_SECRET_LENGTH` are left alone, as everywhere in the gateway.
 *
 * @param secrets The sink's secret values (`undefined` entries are skipped).
 * @param options `urls`: the sink's URLs, which may carry tokens in their query string.
 * @returns The scrubbing function.
 *
 * @example
 * ```ts
 * import { secretScrubber } from "@sluice/core/sink-http";
 *
 * const scrub = secretScrubber(["sk-live-123456"], { urls: ["https://h.example.com/in?token=abc123"] });
 * scrub("POST https://h.example.com/in?token=abc123 with sk-live-123456 failed");
 * // "POST https://h.example.com/in with [SECRET] failed"
 * ```
 */
export function secretScrubber(
  secrets: Iterable<string | undefined>,
  options: { urls?: Iterable<string | URL> } = {},
): (text: string) => string {
  const values: string[] = [];
  for (const secret of secrets) {
    if (secret === undefined) continue;
    values.push(secret, encodeURIComponent(secret));
  }
  const ordered = orderSecrets(values);
  // Each form of a URL maps to its shown form, which maps to itself: one pass over the
  // text, longest form first, so a shown form already in the text is never rewritten again.
  const urls = new Map<string, string>();
  for (const url of options.urls ?? []) {
    const shown = displayUrl(url);
    urls.set(shown, shown);
    for (const form of [String(url), URL.canParse(url) ? new URL(url).href : ""]) {
      if (form && !urls.has(form)) urls.set(form, shown);
    }
  }
  const pattern = urls.size === 0 ? undefined : new RegExp(
    [...urls.keys()].sort((a, b) => b.length - a.length)
      .map((form) => form.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"),
    "g",
  );
  return (text) => {
    const out = pattern ? text.replace(pattern, (form) => urls.get(form) ?? form) : text;
    return replaceSecrets(out, ordered);
  };
}

/**
 * The `permissions` of an HTTP sink: the hosts of the URLs it will reach
 * (`host:port` when the URL names a port) and the environment variables
 * it reads. `urls` resolves them from the validated config (and granted
 * environment); when it throws, the config is one `create` will refuse,
 * so no host is asked for and `create` reports the problem.
 *
 * @param urls The URLs the sink sends to.
 * @param env The variables it reads.
 * @returns The value for a plugin's `permissions(config, env)`.
 *
 * @example
 * ```ts
 * import { httpPermissions } from "@sluice/core/sink-http";
 *
 * httpPermissions(() => ["https://hooks.example.com/in", "http://127.0.0.1:8080/x"]);
 * // { net: ["hooks.example.com", "127.0.0.1:8080"], env: [] }
 * httpPermissions(() => {
 *   throw new Error("no api key");
 * }, ["MY_API_KEY"]); // { net: [], env: ["MY_API_KEY"] }
 * ```
 */
export function httpPermissions(
  urls: () => Iterable<string | URL | undefined>,
  env: readonly string[] = [],
): { net: string[]; env: string[] } & PluginPermissions {
  const net = new Set<string>();
  try {
    for (const url of urls()) {
      if (url === undefined) continue;
      try {
        const { hostname, port } = new URL(url);
        if (hostname) net.add(port ? `${hostname}:${port}` : hostname);
      } catch {
        // not a URL: create() says so
      }
    }
  } catch {
    // a config create() refuses
  }
  return { net: [...net], env: [...env] };
}

/** How sending one event went: delivered, or the failure's outcome and error. */
export type EventSent =
  | { ok: true }
  | { ok: false; failure: HttpFailure; error: HttpSinkError };

/** Options of {@link createEachDelivery}. */
export interface EachDeliveryOptions {
  /** Sends one event (one request), never throwing for an answer or a network failure. */
  send(event: LogEvent, signal?: AbortSignal): Promise<EventSent>;
  /** Requests in flight at once. */
  concurrency: number;
  /** Who refused, for the warning (`athina`, `deepeval: Confident AI`). */
  receiver: string;
  /** What one request carries, singular (`inference log`, `trace`). */
  item: string;
  /** Where the warning about refused items goes. */
  logger: Pick<PluginLogger, "warn">;
  /** Most accepted ids remembered across failed batches (default 10,000). */
  maxRemembered?: number;
}

/**
 * Delivery for APIs that take one event per request: `concurrency` at a
 * time, and no new request once one failed for a reason other than its
 * own body. The returned `log(events, signal)`:
 * - rejects when a request must be retried (the largest `Retry-After`
 *   among them) or kept (credentials, address); the events the API
 *   already accepted are remembered by `request_id` and not sent again
 *   when the pipeline retries the batch;
 * - rejects as `permanent` when the API refused every event of the batch;
 * - otherwise resolves with how many events it refused (reported once
 *   with a warning and counted as skipped), 0 when all were accepted.
 *
 * @param options The sender and how to run it.
 * @returns The batch delivery.
 *
 * @example
 * ```ts
 * import { createEachDelivery } from "@sluice/core/sink-http";
 * import { sampleEvents } from "@sluice/core/testing";
 *
 * const sent: string[] = [];
 * const deliver = createEachDelivery({
 *   send: (event) => {
 *     sent.push(event.request_id);
 *     return Promise.resolve({ ok: true });
 *   },
 *   concurrency: 4,
 *   receiver: "example",
 *   item: "record",
 *   logger: console,
 * });
 * await deliver(sampleEvents(3)); // 0 refused
 * console.log(sent.length); // 3
 * ```
 */
export function createEachDelivery(
  options: EachDeliveryOptions,
): (events: readonly LogEvent[], signal?: AbortSignal) => Promise<number> {
  const { send, concurrency, receiver, item, logger } = options;
  const maxRemembered = options.maxRemembered ?? 10_000;
  /** request_ids accepted during a batch that then failed. */
  const confirmed = new Set<string>();
  return async (events, signal) => {
    const pending = events.filter((e) => !confirmed.has(e.request_id));
    const failures: { event: LogEvent; sent: Extract<EventSent, { ok: false }> }[] = [];
    let stop = false;
    let next = 0;
    const worker = async () => {
      while (!stop && next < pending.length) {
        const event = pending[next++];
        const sent = await send(event, signal);
        if (sent.ok) confirmed.add(event.request_id);
        else {
          failures.push({ event, sent });
          if (sent.failure.kind !== "permanent") stop = true;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, pending.length) }, worker));

    const blocking = failures.filter((f) => f.sent.failure.kind !== "permanent");
    if (blocking.length > 0) {
      if (confirmed.size > maxRemembered) confirmed.clear();
      const keep = blocking.find((f) => f.sent.failure.kind === "keep");
      if (keep) throw keep.sent.error;
      const waits = blocking.map((f) => f.sent.error.retryAfterMs)
        .filter((w): w is number => w !== undefined);
      const first = blocking[0].sent.error;
      throw sinkError(first.message, {
        status: first.status,
        retryAfterMs: waits.length ? Math.max(...waits) : undefined,
      });
    }
    confirmed.clear();
    if (failures.length > 0 && failures.length === pending.length) {
      const first = failures[0].sent.error;
      throw sinkError(
        failures.length === 1
          ? first.message
          : `${first.message} (all ${failures.length} ${item}s)`,
        { permanent: true, status: first.status },
      );
    }
    if (failures.length > 0) {
      logger.warn(
        `${receiver} refused ${failures.length} of ${pending.length} ${item}(s): ${
          failures[0].sent.error.message
        }`,
        { request_ids: failures.slice(0, 10).map((f) => f.event.request_id) },
      );
    }
    return failures.length;
  };
}

/**
 * The one error a batch throws when some of its uploads failed, by the
 * outcome rule: a `keep` failure's error (credentials, address), else a
 * retryable one's with the longest `Retry-After` among them, else (only
 * refused items are left, the rest of the batch was written) a `permanent`
 * error counting the events refused and written.
 *
 * @param failures The failed uploads' outcome kinds and errors (at least one).
 * @param counts Events in refused uploads, and events written.
 * @returns The error to throw from `log`.
 *
 * @example
 * ```ts
 * import { batchFailure, sinkError } from "@sluice/core/sink-http";
 *
 * const error = batchFailure(
 *   [{ kind: "permanent", error: sinkError("store: answered 400", { status: 400 }) }],
 *   { refused: 1, written: 9 },
 * );
 * error.message; // "store: answered 400 (1 event refused, 9 written)"
 * error.permanent; // true
 * ```
 */
export function batchFailure(
  failures: readonly { kind: HttpFailure["kind"]; error: HttpSinkError }[],
  counts: { refused: number; written: number },
): HttpSinkError {
  const kept = failures.find((f) => f.kind === "keep");
  if (kept) return kept.error;
  const retryable = failures.filter((f) => f.kind === "retry");
  if (retryable.length > 0) {
    const waits = retryable.map((f) => f.error.retryAfterMs)
      .filter((w): w is number => w !== undefined);
    const first = retryable[0].error;
    if (waits.length > 0) first.retryAfterMs = Math.max(...waits);
    return first;
  }
  const { refused, written } = counts;
  const first = failures[0].error;
  return sinkError(
    `${first.message} (${refused} event${refused === 1 ? "" : "s"} refused${
      written ? `, ${written} written` : ""
    })`,
    { permanent: true, status: first.status },
  );
}

/** A sink's `log` result for `skipped` events (none: no result). */
export function skippedResult(skipped: number): SinkLogResult | void {
  return skipped > 0 ? { skipped } : undefined;
}

/**
 * The last `capacity` ids added, in insertion order: what a sink remembers
 * to skip, on a retried batch, the items the destination already took
 * (delivery is at least once, so the gateway may hand the same batch again).
 * The oldest id is forgotten once it is full. Every operation takes
 * constant time, full or not: the ids sit in a `Map` (id → when it was
 * last added) and a queue in insertion order; forgetting the oldest pops
 * the queue, skipping the entries a later `add` or a `delete` made stale,
 * and the queue is compacted once it holds more popped and stale entries
 * than live ones.
 *
 * @example
 * ```ts
 * import { RecentIds } from "@sluice/core/sink-http";
 * const sent = new RecentIds(2);
 * sent.add("a");
 * sent.add("b");
 * sent.add("c"); // "a" is forgotten
 * console.log(sent.has("a"), sent.has("c")); // false true
 * ```
 */
export class RecentIds {
  /** Each id held, with the number of its latest `add`. */
  readonly #ids = new Map<string, number>();
  /** Ids in the order they were added (from `#head`), with the number of that add. */
  #queue: string[] = [];
  #adds: number[] = [];
  #head = 0;
  #count = 0;
  readonly #capacity: number;

  /** A set that keeps at most `capacity` ids. */
  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** How many ids it holds. */
  get size(): number {
    return this.#ids.size;
  }

  /** Whether `id` was added and not yet forgotten. */
  has(id: string): boolean {
    return this.#ids.has(id);
  }

  /** Adds `id` (as the newest), forgetting the oldest when full. */
  add(id: string): void {
    const n = this.#count++;
    this.#ids.set(id, n);
    this.#queue.push(id);
    this.#adds.push(n);
    while (this.#ids.size > this.#capacity) this.#forgetOldest();
    this.#compactWhenStale();
  }

  /** Forgets `id`. */
  delete(id: string): void {
    if (this.#ids.delete(id)) this.#compactWhenStale();
  }

  /** Forgets every id. */
  clear(): void {
    this.#ids.clear();
    this.#queue = [];
    this.#adds = [];
    this.#head = 0;
  }

  #forgetOldest(): void {
    while (this.#head < this.#queue.length) {
      const id = this.#queue[this.#head];
      const n = this.#adds[this.#head++];
      if (this.#ids.get(id) === n) {
        this.#ids.delete(id);
        return;
      }
    }
  }

  /**
   * Rebuilds the queue from the live entries once the popped or stale ones
   * outnumber them (so it stays within about three times the ids held).
   */
  #compactWhenStale(): void {
    const queued = this.#queue.length - this.#head;
    const stale = queued - this.#ids.size;
    if (stale + this.#head <= this.#ids.size + 64) return;
    const queue: string[] = [];
    const adds: number[] = [];
    for (let i = this.#head; i < this.#queue.length; i++) {
      if (this.#ids.get(this.#queue[i]) === this.#adds[i]) {
        queue.push(this.#queue[i]);
        adds.push(this.#adds[i]);
      }
    }
    this.#queue = queue;
    this.#adds = adds;
    this.#head = 0;
  }
}
