/**
 * The OpenMeter sink: usage events as CloudEvents 1.0 to
 * `POST {endpoint}/api/v1/events`, one request per batch.
 * @module
 */
import type { LogEvent, PluginContext, Sink, SinkLogResult } from "@sluice/core/plugin";
import denoJson from "./deno.json" with { type: "json" };
import {
  classify,
  DEFAULT_RATE_LIMIT_WAIT_MS,
  displayUrl,
  failureError,
  fetchFailure,
  secretScrubber,
} from "@sluice/core/sink-http";
import {
  billingSubject,
  DEFAULT_EVENT_TYPE,
  DEFAULT_SOURCE,
  type OpenMeterCloudEvent,
  toCloudEvent,
} from "./cloud_event.ts";
import { DEFAULT_ENDPOINT, type OpenMeterConfig, parseOpenMeterConfig } from "./config.ts";

/** Environment variables the plugin reads (declared in its `permissions.env`). */
export const OPENMETER_ENV: readonly string[] = [
  "OPENMETER_API_KEY",
  "OPENMETER_API_ENDPOINT",
  "OPENMETER_EVENT_TYPE",
  "OPENMETER_TRUST_REQUEST_USER",
];

/** The wait after a 429 without a readable `Retry-After` (`@sluice/core/sink-http`'s default). */
export const DEFAULT_RETRY_AFTER_MS: number = DEFAULT_RATE_LIMIT_WAIT_MS;

/** Unbilled calls are reported at once, then at most this often (the count covers the interval). */
export const UNBILLED_REPORT_INTERVAL_MS = 60_000;

/** `Content-Type` of one event (OpenMeter compares it as an exact string). */
export const SINGLE_CONTENT_TYPE = "application/cloudevents+json";

/** `Content-Type` of a JSON array of events. */
export const BATCH_CONTENT_TYPE = "application/cloudevents-batch+json";

/** What an openmeter sink has done since it was created. */
export interface OpenMeterStats {
  /** Events OpenMeter confirmed (a retried batch counts each time it is confirmed). */
  sent: number;
  /** Calls not sent because no billing subject was found (includes `maskedSubject`). */
  noSubject: number;
  /** Of those, calls whose subject redaction had masked (`[EMAIL]`, …). */
  maskedSubject: number;
  /** Failed calls skipped because `include_failures` is off. */
  failuresSkipped: number;
}

/** An openmeter {@link Sink} with its counters. */
export interface OpenMeterSink extends Sink {
  /** A snapshot of the counters. */
  stats(): OpenMeterStats;
}

interface Settings {
  url: URL;
  apiKey: string;
  source: string;
  type: string;
  trustRequestUser: boolean;
  includeFailures: boolean;
  timeoutMs: number;
}

/** What one batch skipped. */
interface Tally {
  /** Calls with no subject. */
  none: number;
  /** Calls whose subject redaction masked. */
  masked: number;
  /** Failed calls (without `include_failures`). */
  failures: number;
  /** `gateway_error` events (never billed). */
  other: number;
  /** Request ids of the unbilled calls. */
  ids: string[];
}

function envFlag(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  if (/^(1|true|yes|on)$/i.test(value.trim())) return true;
  if (/^(0|false|no|off)$/i.test(value.trim())) return false;
  throw new Error(`openmeter: ${name} must be true or false; got "${value}"`);
}

function nonBlank(value: string | undefined): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}

/** Resolves the sink's settings from config and environment (throws on a config it refuses). */
export function resolveSettings(
  input: OpenMeterConfig,
  env: (name: string) => string | undefined,
): Settings {
  const config = parseOpenMeterConfig(input);
  const apiKey = nonBlank(config.api_key) ?? nonBlank(env("OPENMETER_API_KEY"));
  if (!apiKey) {
    throw new Error(
      "openmeter: no API key; set OPENMETER_API_KEY or this sink's config.api_key " +
        "(the openmeter plugin cannot bill without one)",
    );
  }
  const endpoint = nonBlank(config.endpoint) ?? nonBlank(env("OPENMETER_API_ENDPOINT")) ??
    DEFAULT_ENDPOINT;
  let base: URL;
  try {
    base = new URL(endpoint);
  } catch {
    throw new Error(
      `openmeter: endpoint must be an absolute http(s) URL; got ${displayUrl(endpoint)}`,
    );
  }
  if (base.protocol !== "http:" && base.protocol !== "https:") {
    throw new Error(`openmeter: endpoint must use http or https; got ${base.protocol}`);
  }
  base.search = "";
  base.hash = "";
  if (!base.pathname.endsWith("/")) base.pathname += "/";
  const url = new URL("api/v1/events", base);
  const type = nonBlank(config.event_type) ?? nonBlank(env("OPENMETER_EVENT_TYPE")) ??
    DEFAULT_EVENT_TYPE;
  const source = nonBlank(config.source) ?? DEFAULT_SOURCE;
  const trustRequestUser = config.trust_request_user ??
    envFlag("OPENMETER_TRUST_REQUEST_USER", env("OPENMETER_TRUST_REQUEST_USER")) ?? false;
  return {
    url,
    apiKey,
    source,
    type,
    trustRequestUser,
    includeFailures: config.include_failures,
    timeoutMs: config.timeout_ms,
  };
}

/**
 * Creates an openmeter sink. Each batch becomes one `POST
 * {endpoint}/api/v1/events` with `Authorization: Bearer <key>`: a single
 * event as `application/cloudevents+json`, several as a JSON array with
 * `application/cloudevents-batch+json`.
 *
 * Which calls are sent: successful chat, completion and embedding calls
 * (failed ones too with `include_failures`), never `gateway_error` events,
 * and only those with a billing subject (see `billingSubject`). Calls with
 * no subject are counted in {@link OpenMeterSink.stats} and reported
 * through `ctx.logger` (at once, then at most once a minute), never sent:
 * OpenMeter requires a subject, and guessing one would bill the wrong
 * customer.
 *
 * Answers (`@sluice/core/sink-http`'s `classify`): 2xx delivered;
 * 400/413/422 `permanent` (OpenMeter refused the events as malformed); 429
 * retried after `Retry-After`; 401/403 (key), 404 (endpoint) and redirects
 * retried with a clear message, events kept; anything else retried.
 * Messages never contain the API key.
 *
 * @param config The sink's config (each key falls back to its variable).
 * @param ctx The plugin context (`fetch`, `env`, `logger`).
 * @returns The sink.
 * @throws {Error} naming the plugin when there is no API key or a setting is invalid.
 *
 * @example
 * ```ts
 * import { createOpenMeterSink } from "@sluice/openmeter";
 * import { createTestContext, sampleEvents } from "@sluice/core/testing";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, () => new Response(null, { status: 204 }));
 * const sink = createOpenMeterSink(
 *   { api_key: "om_test", endpoint: `http://127.0.0.1:${server.addr.port}` },
 *   createTestContext(),
 * );
 * await sink.log(sampleEvents(2)); // one POST with a batch of two CloudEvents
 * sink.stats().sent; // 2
 * await server.shutdown();
 * ```
 */
export function createOpenMeterSink(
  config: OpenMeterConfig,
  ctx: Pick<PluginContext, "fetch" | "env" | "logger">,
): OpenMeterSink {
  const settings = resolveSettings(config, (name) => ctx.env(name));
  const { url, apiKey, timeoutMs } = settings;
  const shown = displayUrl(url);
  const scrub = secretScrubber([apiKey]);
  const stats: OpenMeterStats = { sent: 0, noSubject: 0, maskedSubject: 0, failuresSkipped: 0 };

  // Unbilled calls, reported at once and then at most once per interval.
  let pending = { none: 0, masked: 0, ids: [] as string[] };
  let reportedAt = -Infinity;
  const report = (force: boolean) => {
    const count = pending.none + pending.masked;
    if (count === 0) return;
    const now = Date.now();
    if (!force && now - reportedAt < UNBILLED_REPORT_INTERVAL_MS) return;
    reportedAt = now;
    const parts: string[] = [];
    if (pending.none > 0) {
      parts.push(
        `${pending.none} call(s) had no billing subject (give their keys a user or a team, ` +
          `or set trust_request_user: true to bill the request's user field)`,
      );
    }
    if (pending.masked > 0) {
      parts.push(
        `${pending.masked} call(s) had a subject masked by redaction (set redaction: ` +
          `{ detectors: none } on this sink, or use ids that are not e-mail addresses)`,
      );
    }
    ctx.logger.warn(`not sent to OpenMeter, not billed: ${parts.join("; ")}`, {
      unbilled_total: stats.noSubject,
      request_ids: pending.ids,
    });
    pending = { none: 0, masked: 0, ids: [] };
  };

  /** Maps a batch; what it skips is tallied, and counted only once the batch is settled. */
  const billable = (events: readonly LogEvent[]): { out: OpenMeterCloudEvent[]; tally: Tally } => {
    const out: OpenMeterCloudEvent[] = [];
    const tally: Tally = { none: 0, masked: 0, failures: 0, other: 0, ids: [] };
    for (const event of events) {
      if (event.call_type === "gateway_error") {
        tally.other++;
        continue;
      }
      if (event.status !== "success" && !settings.includeFailures) {
        tally.failures++;
        continue;
      }
      const who = billingSubject(event, settings.trustRequestUser);
      if (who.subject === undefined) {
        if (who.reason === "masked") tally.masked++;
        else tally.none++;
        tally.ids.push(event.request_id);
        continue;
      }
      out.push(toCloudEvent(event, {
        source: settings.source,
        type: settings.type,
        subject: who.subject,
      }));
    }
    return { out, tally };
  };

  /**
   * Counts a settled batch's skipped calls (a retried batch is counted once,
   * when it settles) and tells the gateway how many were not sent.
   */
  const commit = (tally: Tally): SinkLogResult => {
    stats.failuresSkipped += tally.failures;
    stats.noSubject += tally.none + tally.masked;
    stats.maskedSubject += tally.masked;
    pending.none += tally.none;
    pending.masked += tally.masked;
    for (const id of tally.ids) if (pending.ids.length < 10) pending.ids.push(id);
    report(false);
    return { skipped: tally.none + tally.masked + tally.failures + tally.other };
  };

  const headers = (single: boolean) => ({
    "content-type": single ? SINGLE_CONTENT_TYPE : BATCH_CONTENT_TYPE,
    authorization: `Bearer ${apiKey}`,
    accept: "application/json, application/problem+json",
    "user-agent": `sluice-openmeter/${denoJson.version}`,
  });

  async function post(body: string, single: boolean): Promise<Response> {
    try {
      return await ctx.fetch(url, {
        method: "POST",
        headers: headers(single),
        body,
        redirect: "manual",
        timeoutMs,
      });
    } catch (error) {
      throw fetchFailure(error, `openmeter: POST ${shown}`, timeoutMs, scrub);
    }
  }

  /** OpenMeter's problem+json `title`, if any (never `detail`, which may quote the payload). */
  async function problemTitle(res: Response): Promise<string> {
    const text = await res.text().catch(() => "");
    try {
      const title = (JSON.parse(text) as { title?: unknown }).title;
      return typeof title === "string" && title ? ` (${scrub(title.slice(0, 200))})` : "";
    } catch {
      return "";
    }
  }

  return {
    async log(events) {
      const { out: cloudEvents, tally } = billable(events);
      if (cloudEvents.length === 0) return commit(tally);
      const single = cloudEvents.length === 1;
      const res = await post(JSON.stringify(single ? cloudEvents[0] : cloudEvents), single);
      const outcome = classify(res);
      if (outcome.kind === "ok") {
        await res.body?.cancel();
        stats.sent += cloudEvents.length;
        return commit(tally);
      }
      if (outcome.kind === "permanent") commit(tally); // the batch is settled: the gateway drops it
      throw failureError(
        outcome,
        `openmeter: ${shown} answered ${res.status}${await problemTitle(res)}`,
        {
          refused: `OpenMeter refused these ${cloudEvents.length} events`,
          credentials: "check the API key (OPENMETER_API_KEY or config.api_key)",
          url: "check the endpoint (OPENMETER_API_ENDPOINT or config.endpoint)",
          redirect: "set the endpoint to the final address",
        },
      );
    },
    flush() {
      report(true);
    },
    close() {
      report(true);
    },
    stats: () => ({ ...stats }),
  };
}
