/**
 * The Sentry sink: one envelope per failed call, POSTed to the DSN's
 * envelope endpoint.
 * @module
 */
import type { LogEvent, PluginContext, Sink } from "@sluice/core/plugin";
import { disabledUntil, type RateLimits, SDK_VERSION, updateRateLimits } from "@sentry/core";
import {
  classify,
  failureError,
  fetchFailure,
  type HttpSinkError,
  RecentIds,
  sinkError,
} from "@sluice/core/sink-http";
import denoJson from "./deno.json" with { type: "json" };
import { envelopeEndpoint, parseDsn, sentryAuthHeader, type SentryDsn } from "./dsn.ts";
import { eventEnvelope } from "./envelope.ts";
import { type SentryEventOptions, toSentryEvent } from "./event.ts";
import { sampleScore } from "./sampling.ts";
import { parseSentryConfig, type SentryConfig } from "./config.ts";

/** The environment variables the sink reads (its `permissions.env`). */
export const SENTRY_ENV_VARS: readonly string[] = [
  "SENTRY_DSN",
  "SENTRY_ENVIRONMENT",
  "SENTRY_RELEASE",
  "SENTRY_API_SAMPLE_RATE",
  "SENTRY_API_TRACE_RATE",
];

/** The `sentry_client` and `User-Agent` of this sink: `sluice-sentry/<version>`. */
export const SENTRY_CLIENT = `sluice-sentry/${denoJson.version}`;

/** The wait after a 429 that names no delay (Sentry's documented default: 60 s). */
export const DEFAULT_RATE_LIMIT_MS = 60_000;

/** The sink's settings after config, environment and defaults are combined. */
export interface SentrySettings {
  /** The parsed DSN. */
  dsn: SentryDsn;
  /** Where envelopes go. */
  endpoint: string;
  /** Sentry `environment`. */
  environment: string;
  /** Sentry `release`. */
  release: string;
  /** Sentry `server_name`, if set. */
  serverName?: string;
  /** Share of failed calls sent. */
  sampleRate: number;
  /** The accepted trace rate, if set. */
  traceRate?: number;
  /** Whether successes are sent. */
  includeSuccess: boolean;
  /** Static tags. */
  tags: Record<string, string>;
  /** POST timeout. */
  timeoutMs: number;
  /** Envelopes in flight per batch. */
  concurrency: number;
}

/** A rate from an environment variable (the config's are checked by its schema). */
function envRate(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === "") return undefined;
  const n = Number(value.trim());
  if (!Number.isFinite(n) || n < 0 || n > 1) {
    throw new Error(`sentry: ${name} must be a number from 0 to 1; got ${JSON.stringify(value)}`);
  }
  return n;
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}

/**
 * Combines `config:`, the `SENTRY_*` environment variables (through
 * `ctx.env`) and the defaults, and checks them. Config wins over the
 * environment. Errors name the setting, never the DSN.
 *
 * @param config The sink entry's `config:`.
 * @param ctx `env` and `gatewayVersion` of the plugin context.
 * @returns The settings.
 * @throws {Error} When there is no DSN or a value is out of range.
 *
 * @example
 * ```ts
 * import { resolveSentrySettings } from "@sluice/sentry";
 * const settings = resolveSentrySettings({ sample_rate: 0.5 }, {
 *   env: (name) => name === "SENTRY_DSN" ? "https://abc@o1.ingest.sentry.io/42" : undefined,
 *   gatewayVersion: "0.1.0",
 * });
 * settings.endpoint; // "https://o1.ingest.sentry.io/api/42/envelope/"
 * settings.release; // "sluice@0.1.0"
 * ```
 */
export function resolveSentrySettings(
  config: SentryConfig,
  ctx: Pick<PluginContext, "env" | "gatewayVersion">,
): SentrySettings {
  const cfg = parseSentryConfig(config);
  const dsnText = text(cfg.dsn) ?? text(ctx.env("SENTRY_DSN"));
  if (!dsnText) {
    throw new Error("sentry: no DSN: set config.dsn (e.g. os.environ/SENTRY_DSN) or SENTRY_DSN");
  }
  const dsn = parseDsn(dsnText);
  const sampleRate = cfg.sample_rate ??
    envRate(ctx.env("SENTRY_API_SAMPLE_RATE"), "SENTRY_API_SAMPLE_RATE") ?? 1;
  const traceRate = cfg.trace_rate ??
    envRate(ctx.env("SENTRY_API_TRACE_RATE"), "SENTRY_API_TRACE_RATE");
  return {
    dsn,
    endpoint: envelopeEndpoint(dsn),
    environment: text(cfg.environment) ?? text(ctx.env("SENTRY_ENVIRONMENT")) ?? "production",
    release: text(cfg.release) ?? text(ctx.env("SENTRY_RELEASE")) ??
      `sluice@${ctx.gatewayVersion}`,
    serverName: text(cfg.server_name),
    sampleRate,
    traceRate,
    includeSuccess: cfg.include_success,
    tags: { ...cfg.tags },
    timeoutMs: cfg.timeout_ms,
    concurrency: cfg.concurrency,
  };
}

/** How many delivered request ids are remembered so a retried batch skips them. */
const REMEMBERED = 10_000;

/**
 * Creates a Sentry sink. For each event of a batch:
 * - successes are skipped (unless `include_success`), with one warning the
 *   first time: the sink entry's `on:` should not list `success`;
 * - failed calls are sampled by `sample_rate`, deterministically by
 *   `request_id` ({@link sampleScore}); gateway errors are always sent;
 * - the event becomes a Sentry event ({@link toSentryEvent}) in an envelope
 *   ({@link eventEnvelope}), POSTed to the DSN's envelope endpoint with
 *   `X-Sentry-Auth` (`sentry_version=7`, the public key, `sentry_client`).
 *
 * Envelopes of a batch go out `concurrency` at a time; delivered ids are
 * remembered, so a batch retried after a partial failure sends only the
 * rest (and Sentry de-duplicates by `event_id` anyway).
 *
 * Answers (see the plugin contract's `SinkError`):
 * - 2xx: delivered; an `X-Sentry-Rate-Limits` header on it is remembered
 *   and the next batch waits (rejects with `retryAfterMs`, sending nothing)
 *   until the `error` category is allowed again;
 * - 429: retryable with `retryAfterMs` from `X-Sentry-Rate-Limits` (the
 *   `error` category), else `Retry-After`, else 60 s;
 * - 400, 413, 422: `permanent` (Sentry refused the event as malformed or
 *   too large);
 * - 401, 403, 404 (DSN key or project wrong), redirects, other statuses
 *   (`@sluice/core/sink-http`'s `classify`), timeouts and network errors:
 *   retryable; the batch stops at the first of these.
 *
 * @param config The sink entry's `config:`.
 * @param ctx The plugin context (`fetch`, `env`, `logger`, `gatewayVersion`).
 * @returns The sink.
 *
 * @example
 * ```ts
 * import { createSentrySink } from "@sluice/sentry";
 * import { createTestContext, sampleFailureEvent } from "@sluice/core/testing";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, () => Response.json({ id: "x" }));
 * const sink = createSentrySink(
 *   { dsn: `http://public@127.0.0.1:${server.addr.port}/1` },
 *   createTestContext(),
 * );
 * await sink.log([sampleFailureEvent()]); // one envelope to /api/1/envelope/
 * await server.shutdown();
 * ```
 */
export function createSentrySink(
  config: SentryConfig,
  ctx: Pick<PluginContext, "fetch" | "env" | "logger" | "gatewayVersion">,
): Sink {
  const settings = resolveSentrySettings(config, ctx);
  const { endpoint, timeoutMs } = settings;
  const headers = {
    "content-type": "application/x-sentry-envelope",
    "user-agent": SENTRY_CLIENT,
    "x-sentry-auth": sentryAuthHeader(settings.dsn, SENTRY_CLIENT),
  };
  const eventOptions: SentryEventOptions = {
    environment: settings.environment,
    release: settings.release,
    serverName: settings.serverName,
    tags: settings.tags,
    sdk: {
      name: "sluice-sentry",
      version: denoJson.version,
      packages: [{ name: "npm:@sentry/core", version: SDK_VERSION }],
    },
  };
  if (settings.traceRate !== undefined) {
    ctx.logger.info(
      `trace_rate ${settings.traceRate} accepted: this sink sends error events, not Sentry ` +
        "transactions; each event carries the call's trace id (contexts.trace), so send traces " +
        "with the otel sink to join them",
    );
  }

  let limits: RateLimits = {};
  const delivered = new RecentIds(REMEMBERED);
  let warnedSuccess = false;

  const remember = (id: string) => delivered.add(id);

  async function post(body: Uint8Array<ArrayBuffer>): Promise<Response> {
    try {
      return await ctx.fetch(endpoint, {
        method: "POST",
        headers,
        body,
        redirect: "manual",
        timeoutMs,
      });
    } catch (error) {
      throw fetchFailure(error, `sentry: POST ${endpoint}`, timeoutMs, (text) => text);
    }
  }

  async function send(event: LogEvent): Promise<void> {
    const sentryEvent = await toSentryEvent(event, eventOptions);
    const res = await post(eventEnvelope(sentryEvent, new Date()));
    await res.arrayBuffer().catch(() => {});
    const status = res.status;
    const rateHeader = res.headers.get("x-sentry-rate-limits");
    const retryAfter = res.headers.get("retry-after");
    if (rateHeader) {
      limits = updateRateLimits(limits, {
        statusCode: status,
        headers: { "x-sentry-rate-limits": rateHeader, "retry-after": null },
      });
    }
    let outcome = classify(res, { rateLimitWaitMs: DEFAULT_RATE_LIMIT_MS });
    if (outcome.kind === "ok") return;
    if (status === 429) {
      // Sentry's own header, for the `error` category, wins over Retry-After.
      const now = Date.now();
      const byHeaders = disabledUntil(
        updateRateLimits({}, {
          statusCode: status,
          headers: { "x-sentry-rate-limits": rateHeader, "retry-after": retryAfter },
        }, now),
        "error",
      ) - now;
      if (byHeaders > 0) outcome = { kind: "retry", status, afterMs: byHeaders };
    }
    const answered = `sentry: ${endpoint} answered ${status}${
      res.statusText ? ` ${res.statusText}` : ""
    }`;
    throw failureError(outcome, answered, {
      refused: "Sentry refused the event",
      credentials: "check the DSN's public key and project",
      url: "check the DSN's host and project id",
      redirect: "check the DSN's host",
    });
  }

  return {
    async log(events) {
      const todo: LogEvent[] = [];
      let successes = 0;
      for (const event of events) {
        if (event.status === "success" && !settings.includeSuccess) {
          successes++;
          continue;
        }
        if (delivered.has(event.request_id)) continue;
        if (event.call_type !== "gateway_error" && settings.sampleRate < 1) {
          if (await sampleScore(event.request_id) >= settings.sampleRate) continue;
        }
        todo.push(event);
      }
      if (successes > 0 && !warnedSuccess) {
        warnedSuccess = true;
        ctx.logger.warn(
          `skipped ${successes} successful call(s): this sink sends failures only; remove ` +
            '"success" from its on: list, or set include_success: true to send them as info events',
        );
      }
      if (todo.length === 0) return;

      const now = Date.now();
      const blockedFor = disabledUntil(limits, "error") - now;
      if (blockedFor > 0) {
        throw sinkError(
          `sentry: Sentry paused error events (X-Sentry-Rate-Limits) for ${blockedFor} ms more; ` +
            `${todo.length} event(s) wait`,
          { retryAfterMs: blockedFor },
        );
      }

      let halt: HttpSinkError | undefined;
      const refused: HttpSinkError[] = [];
      let next = 0;
      let sent = 0;
      const worker = async () => {
        while (halt === undefined && next < todo.length) {
          const event = todo[next++];
          try {
            await send(event);
            remember(event.request_id);
            sent++;
          } catch (error) {
            const e = error as HttpSinkError;
            if (e.permanent === true) refused.push(e);
            else halt ??= e;
          }
        }
      };
      await Promise.all(
        Array.from({ length: Math.min(settings.concurrency, todo.length) }, worker),
      );
      if (halt !== undefined) {
        const progress = todo.length > 1 ? ` (${sent} of ${todo.length} sent)` : "";
        throw sinkError(`${halt.message}${progress}`, {
          retryAfterMs: halt.retryAfterMs,
          status: halt.status,
        });
      }
      if (refused.length > 0) {
        throw sinkError(
          `${refused[0].message}: ${refused.length} of ${todo.length} event(s) refused`,
          { permanent: true, status: refused[0].status },
        );
      }
    },
  };
}
