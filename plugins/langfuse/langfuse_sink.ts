/**
 * The langfuse sink: one trace and one generation per call, over OTLP
 * (`otel`, default) or Langfuse's legacy batch API (`ingestion`).
 * @module
 */
import { resourceFromAttributes } from "@opentelemetry/resources";
import type {
  LogEvent,
  PluginContext,
  Sink,
  SinkLogResult,
  TelemetryBatch,
} from "@sluice/core/plugin";
import { encodeTraces } from "@sluice/core/otlp";
import { GENAI_SCHEMA_URL, toReadableSpan } from "@sluice/otel/genai";
import {
  basicAuth,
  classify,
  displayUrl,
  errorDetail,
  failureError,
  fetchFailure,
  type HttpSinkError,
  RecentIds,
  secretScrubber,
  sinkError,
} from "@sluice/core/sink-http";
import denoJson from "./deno.json" with { type: "json" };
import { type LangfuseConfig, type LangfuseSettings, resolveLangfuseSettings } from "./config.ts";
import {
  type IngestionEnvelope,
  type IngestionItem,
  isPermanentItemStatus,
  packBatches,
  parseIngestionResponse,
  sizeItem,
  toIngestionEnvelopes,
} from "./ingestion.ts";
import { type LangfuseRecord, toLangfuseRecord, traceSampleScore } from "./mapping.ts";
import { encodeSpans, type LangfuseScope, toLangfuseSpan } from "./otel.ts";

/** The instrumentation scope name of the OTLP spans. */
export const SCOPE_NAME = "@sluice/langfuse";

/** The first wait after a 429 without `Retry-After`; it doubles while 429s continue. */
export const RATE_LIMIT_BASE_MS = 1000;

/** The longest wait after repeated 429s without `Retry-After`. */
export const RATE_LIMIT_MAX_MS = 60_000;

/** Envelope ids remembered between the attempts of a partly delivered batch (at most). */
export const MAX_REMEMBERED_ITEMS = 100_000;

/** What a langfuse sink has done since it was created. */
export interface LangfuseStats {
  /** Calls Langfuse confirmed (a retried batch counts once, when it settles). */
  sent: number;
  /** Calls left out by `sample_rate`. */
  sampledOut: number;
  /** `gateway_error` events, which this sink does not send. */
  skipped: number;
  /** Calls Langfuse refused for good (per-event 4xx of a 207, or a 400/413/422 answer). */
  dropped: number;
  /** How many calls were dropped for each reason. */
  dropReasons: Record<string, number>;
  /** Calls whose input and output were replaced to fit the batch size limit. */
  shrunk: number;
}

/** The resolved settings without the secret key. */
export type LangfusePublicSettings = Readonly<Omit<LangfuseSettings, "secretKey">>;

/** A langfuse {@link Sink} with its settings and counters. */
export interface LangfuseSink extends Sink {
  /** What config and environment resolved to (without the secret key). */
  readonly settings: LangfusePublicSettings;
  /** A snapshot of the counters. */
  stats(): LangfuseStats;
}

/** One call of a batch, mapped, with its sampling verdict. */
interface Mapped {
  event: LogEvent;
  record: LangfuseRecord;
}

/**
 * Creates a langfuse sink.
 *
 * Every successful or failed call becomes a Langfuse trace and a
 * generation (see `toLangfuseRecord`); `gateway_error` events are skipped.
 * Traces are sampled by trace id (`sample_rate`), so all calls of a trace
 * are sent or left out together.
 *
 * - `otel` transport: one OTLP request per batch to
 *   `{host}/api/public/otel/v1/traces` (protobuf or JSON, Basic auth,
 *   `x-langfuse-ingestion-version`), one span per call with the event's own
 *   trace and span ids.
 * - `ingestion` transport: `POST {host}/api/public/ingestion` with
 *   `trace-create` + `generation-create` per call, split into requests under
 *   `max_batch_bytes`. A 207's per-event 4xx (except 401/403/408/429) are
 *   dropped and counted with their reason; other per-event errors are
 *   retried, and a retry sends only the events not yet confirmed.
 *
 * Answers (`@sluice/core/sink-http`'s `classify`): 2xx delivered;
 * 400/413/422 `permanent`; 401/403 retried with a message naming the host
 * and public key (never the secret), reported once; 404/405 retried with a
 * message about the server's endpoints; 429 retried after `Retry-After`
 * (else a backoff doubling from 1 s to 60 s); 5xx and network failures
 * retried.
 *
 * @param config The sink's config (keys fall back to `LANGFUSE_*` variables).
 * @param ctx The plugin context (`fetch`, `env`, `logger`, `gatewayVersion`).
 * @returns The sink.
 * @throws {Error} naming the plugin when a key is missing or a setting is invalid.
 *
 * @example
 * ```ts
 * import { createLangfuseSink } from "@sluice/langfuse";
 * import { createTestContext, sampleEvents } from "@sluice/core/testing";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, () => Response.json({}));
 * const sink = createLangfuseSink(
 *   {
 *     public_key: "pk-lf-test",
 *     secret_key: "sk-lf-test",
 *     host: `http://127.0.0.1:${server.addr.port}`,
 *     protocol: "http/json",
 *   },
 *   createTestContext(),
 * );
 * await sink.log(sampleEvents(2)); // one OTLP request with two spans
 * sink.stats().sent; // 2
 * await sink.close?.();
 * await server.shutdown();
 * ```
 */
export function createLangfuseSink(
  config: LangfuseConfig,
  ctx: Pick<PluginContext, "fetch" | "env" | "logger" | "gatewayVersion">,
): LangfuseSink {
  const settings = resolveLangfuseSettings(config ?? {}, (name) => ctx.env(name));
  const { secretKey, ...publicSettings } = settings;
  const shown = displayUrl(settings.url);
  // A shortened public key: the gateway scrubs config values under `*key*` names from its
  // logs, and this still tells which project's key was refused.
  const keyHint = settings.publicKey.length > 20
    ? `${settings.publicKey.slice(0, 12)}…${settings.publicKey.slice(-4)}`
    : settings.publicKey;
  const who = `${settings.host} (public key ${keyHint})`;
  const scrub = secretScrubber([secretKey]);
  const stats: LangfuseStats = {
    sent: 0,
    sampledOut: 0,
    skipped: 0,
    dropped: 0,
    dropReasons: {},
    shrunk: 0,
  };
  const resource = resourceFromAttributes({
    "service.name": "sluice",
    "sluice.gateway.version": ctx.gatewayVersion,
  });
  const scope: LangfuseScope = {
    name: SCOPE_NAME,
    version: denoJson.version,
    schemaUrl: GENAI_SCHEMA_URL,
  };
  const headers: Record<string, string> = {
    authorization: basicAuth(settings.publicKey, secretKey),
    "user-agent": `sluice-langfuse/${denoJson.version}`,
  };
  if (settings.transport === "otel") {
    headers["content-type"] = settings.protocol === "http/json"
      ? "application/json"
      : "application/x-protobuf";
    if (settings.ingestionVersion) {
      headers["x-langfuse-ingestion-version"] = settings.ingestionVersion;
    }
  } else {
    headers["content-type"] = "application/json";
  }
  ctx.logger.info(
    `sending traces to ${shown} (${
      settings.transport === "otel" ? `OTLP ${settings.protocol}` : "batch ingestion API"
    }, public key ${keyHint}${
      settings.sampleRate < 1 ? `, sample rate ${settings.sampleRate}` : ""
    })`,
  );

  let closed = false;
  let rateLimited = 0;
  let reportedFailure = "";
  let warnedDynamicKeys = false;
  /** Ingestion envelopes confirmed or refused for good, across the attempts of a batch. */
  const settled = new RecentIds(MAX_REMEMBERED_ITEMS);
  /** Why a call's envelopes were refused for good (counted when its batch settles). */
  const dropReasonOf = new Map<string, string>();

  const remember = (id: string) => settled.add(id);

  /** Maps the batch; counts what is sampled out or skipped. */
  const prepare = (events: readonly LogEvent[]) => {
    const mapped: Mapped[] = [];
    let skipped = 0;
    let sampledOut = 0;
    for (const event of events) {
      if (event.call_type === "gateway_error") {
        skipped++;
        continue;
      }
      const request = event.metadata?.request;
      if (
        !warnedDynamicKeys && typeof request === "object" && request !== null &&
        ("langfuse_public_key" in request || "langfuse_secret_key" in request)
      ) {
        warnedDynamicKeys = true;
        ctx.logger.warn(
          "a request carried per-request Langfuse keys (metadata.langfuse_public_key / " +
            "langfuse_secret_key): they are ignored and never logged; route teams or keys to " +
            "their own langfuse sink instances instead",
        );
      }
      const record = toLangfuseRecord(event, {
        release: settings.release,
        environment: settings.environment,
        defaultTags: settings.defaultTags,
      });
      if (settings.sampleRate < 1 && traceSampleScore(record.trace.id) >= settings.sampleRate) {
        sampledOut++;
        continue;
      }
      mapped.push({ event, record });
    }
    return { mapped, skipped, sampledOut };
  };

  const post = async (body: Uint8Array | string): Promise<Response> => {
    try {
      return await ctx.fetch(settings.url, {
        method: "POST",
        headers,
        body: body as BodyInit,
        redirect: "manual",
        timeoutMs: settings.timeoutMs,
      });
    } catch (error) {
      throw fetchFailure(error, `langfuse: POST ${shown}`, settings.timeoutMs, scrub);
    }
  };

  /** Reports a credentials or endpoint problem once (until a delivery succeeds). */
  const reportOnce = (error: HttpSinkError) => {
    if (error.message === reportedFailure) return;
    reportedFailure = error.message;
    ctx.logger.error(error.message);
  };

  /** The error of a non-2xx whole-request answer (a credentials or endpoint problem is logged once). */
  const failureOf = async (res: Response): Promise<HttpSinkError> => {
    const status = res.status;
    const outcome = classify(res, {
      rateLimitWaitMs: Math.min(RATE_LIMIT_MAX_MS, RATE_LIMIT_BASE_MS * 2 ** rateLimited),
    });
    rateLimited = status === 429 ? rateLimited + 1 : 0;
    const detail = await errorDetail(res, scrub);
    if (outcome.kind === "permanent" && status === 400 && /ingestion.version/i.test(detail)) {
      const error = sinkError(
        `langfuse: ${who} does not accept x-langfuse-ingestion-version ` +
          `${settings.ingestionVersion}: set ingestion_version: false (or a lower version) ` +
          `for this server; the events are kept and retried`,
        { status },
      );
      reportOnce(error);
      return error;
    }
    if (outcome.kind === "ok") return sinkError(`langfuse: ${shown} answered ${status}`);
    const answered = `langfuse: ${shown} answered ${status}${detail ? ` (${detail})` : ""}`;
    const error = failureError(outcome, answered, {
      refused: "Langfuse refused these events as malformed",
      credentials: "check public_key and secret_key (LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY) " +
        `of ${who}`,
      url: settings.transport === "otel"
        ? "the server has no OTLP endpoint (self-hosted Langfuse before v3.22?): upgrade it, " +
          "or set transport: ingestion"
        : "the server has no batch ingestion endpoint (removed from Langfuse Cloud on " +
          "2026-11-16 and from self-hosted v4): set transport: otel",
      redirect: "set host to the final URL",
      retry: "the events will be retried",
    });
    if (outcome.kind === "keep") reportOnce(error);
    return error;
  };

  const delivered = () => {
    rateLimited = 0;
    if (reportedFailure) ctx.logger.info(`delivering to ${shown} again`);
    reportedFailure = "";
  };

  /** Counts the calls of a settled batch that were refused for good, and logs why. */
  const settleDrops = (mapped: Mapped[]): number => {
    let dropped = 0;
    const examples: string[] = [];
    for (const { event } of mapped) {
      const reason = dropReasonOf.get(event.request_id);
      if (reason === undefined) continue;
      dropReasonOf.delete(event.request_id);
      dropped++;
      stats.dropReasons[reason] = (stats.dropReasons[reason] ?? 0) + 1;
      if (examples.length < 3) examples.push(`${event.request_id}: ${reason}`);
    }
    if (dropped > 0) {
      stats.dropped += dropped;
      ctx.logger.warn(`Langfuse refused ${dropped} call(s) for good; dropped`, {
        dropped_total: stats.dropped,
        examples,
      });
    }
    return dropped;
  };

  const forget = (mapped: Mapped[], items: IngestionItem[]) => {
    for (const item of items) for (const e of item.envelopes) settled.delete(e.id);
    for (const { event } of mapped) dropReasonOf.delete(event.request_id);
  };

  async function sendOtel(mapped: Mapped[]): Promise<void> {
    const spans = mapped.map(({ event, record }) =>
      toReadableSpan(
        toLangfuseSpan(event, record, { genaiMessages: settings.genaiMessages }),
        resource,
        scope,
      )
    );
    const res = await post(encodeSpans(spans, settings.protocol));
    if (res.status >= 200 && res.status < 300) {
      await res.body?.cancel();
      delivered();
      stats.sent += mapped.length;
      return;
    }
    throw await failureOf(res);
  }

  async function sendIngestion(mapped: Mapped[]): Promise<number> {
    const requestIdOf = new Map<string, string>();
    const all: IngestionItem[] = mapped.map(({ event, record }) => {
      const envelopes = toIngestionEnvelopes(event, record);
      for (const e of envelopes) requestIdOf.set(e.id, event.request_id);
      return sizeItem(event.request_id, envelopes, settings.maxBatchBytes);
    });
    // A retry sends only what Langfuse has not confirmed or refused for good yet.
    const pending: IngestionItem[] = [];
    for (const item of all) {
      const left = item.envelopes.filter((e) => !settled.has(e.id));
      if (left.length === 0) continue;
      pending.push(left.length === item.envelopes.length ? item : { ...item, envelopes: left });
    }
    const shrunk = pending.filter((item) => item.shrunk).length;
    const retryable: string[] = [];
    let failure: HttpSinkError | undefined;
    let refusedWhole: HttpSinkError | undefined;
    for (const batch of packBatches(pending, settings.maxBatchBytes)) {
      const envelopes: IngestionEnvelope[] = batch.flatMap((item) => item.envelopes);
      const body = JSON.stringify({
        batch: envelopes,
        metadata: {
          sdk_name: "sluice",
          sdk_version: denoJson.version,
          batch_size: envelopes.length,
        },
      });
      const res = await post(body);
      if (res.status >= 200 && res.status < 300) {
        delivered();
        const answer = parseIngestionResponse(await res.text().catch(() => ""));
        const errors = new Map((answer.errors ?? []).map((e) => [e.id, e]));
        for (const envelope of envelopes) {
          const error = errors.get(envelope.id);
          if (!error) {
            remember(envelope.id);
            continue;
          }
          const status = Number(error.status);
          const message = scrub(
            String(error.message ?? (typeof error.error === "string" ? error.error : "")),
          )
            .replace(/\s+/g, " ").slice(0, 160);
          const reason = `${envelope.type} ${status}${message ? `: ${message}` : ""}`;
          if (isPermanentItemStatus(status)) {
            remember(envelope.id);
            const requestId = requestIdOf.get(envelope.id);
            if (requestId && !dropReasonOf.has(requestId)) dropReasonOf.set(requestId, reason);
          } else {
            retryable.push(reason);
          }
        }
        continue;
      }
      const error = await failureOf(res);
      if (error.permanent) {
        // This request's events are refused for good; the other requests go on.
        refusedWhole = error;
        const reason = `HTTP ${res.status}`;
        for (const envelope of envelopes) {
          remember(envelope.id);
          const requestId = requestIdOf.get(envelope.id);
          if (requestId && !dropReasonOf.has(requestId)) dropReasonOf.set(requestId, reason);
        }
        continue;
      }
      failure = error;
      break;
    }
    if (failure || retryable.length > 0) {
      throw failure ?? sinkError(
        `langfuse: ${shown} could not store ${retryable.length} event(s) yet (${
          retryable.slice(0, 3).join("; ")
        }); retrying only those`,
      );
    }
    stats.shrunk += shrunk;
    const dropped = settleDrops(mapped);
    forget(mapped, all);
    if (dropped === mapped.length && dropped > 0) {
      throw refusedWhole ?? sinkError(
        `langfuse: ${shown} refused all ${dropped} call(s) of the batch as malformed`,
        { permanent: true },
      );
    }
    stats.sent += mapped.length - dropped;
    return dropped;
  }

  /** Spans an app exported to the gateway, forwarded as they are (Langfuse takes no OTLP logs). */
  async function exportTelemetry(batch: TelemetryBatch): Promise<void> {
    if (closed) throw new Error("langfuse: the sink is closed");
    if (batch.signal !== "traces") return;
    const res = await post(
      settings.protocol === "http/json"
        ? JSON.stringify(batch.request)
        : encodeTraces(batch.request),
    );
    if (res.status < 200 || res.status >= 300) throw await failureOf(res);
    await res.body?.cancel();
    delivered();
  }

  return {
    settings: publicSettings,
    // Only the OTLP transport takes an app's spans; the batch API gets GenAI spans as events.
    ...(settings.transport === "otel" ? { exportTelemetry } : {}),
    async log(events: readonly LogEvent[]): Promise<SinkLogResult> {
      if (closed) throw new Error("langfuse: the sink is closed");
      const { mapped, skipped, sampledOut } = prepare(events);
      if (mapped.length > 0) {
        if (settings.transport === "otel") await sendOtel(mapped);
        else {
          const dropped = await sendIngestion(mapped);
          stats.skipped += skipped;
          stats.sampledOut += sampledOut;
          return { skipped: skipped + sampledOut + dropped };
        }
      }
      stats.skipped += skipped;
      stats.sampledOut += sampledOut;
      return { skipped: skipped + sampledOut };
    },
    flush() {},
    close() {
      closed = true;
      settled.clear();
      dropReasonOf.clear();
    },
    stats: () => ({ ...stats, dropReasons: { ...stats.dropReasons } }),
  };
}
