/**
 * The athina sink: one inference log per call to Athina's logging API
 * (`POST {endpoint}/api/v1/log/inference`, header `athina-api-key`).
 * @module
 */
import type { LogEvent, PluginContext, Sink, SinkLogResult } from "@sluice/core/plugin";
import {
  classify,
  createEachDelivery,
  displayUrl,
  errorDetail,
  type EventSent,
  failureError,
  fetchFailure,
  secretScrubber,
  skippedResult,
} from "@sluice/core/sink-http";
import denoJson from "./deno.json" with { type: "json" };
import { type AthinaConfig, DEFAULT_ENDPOINT, parseAthinaConfig } from "./config.ts";
import { toAthinaInference } from "./inference.ts";

/** Environment variables the plugin reads (declared in its `permissions.env`). */
export const ATHINA_ENV: readonly string[] = ["ATHINA_API_KEY", "ATHINA_BASE_URL"];

/** The inference log endpoint's path, below the base URL. */
export const LOG_PATH = "/api/v1/log/inference";

/** What an athina sink resolved its config and environment to. */
export interface AthinaSettings {
  /** The URL POSTed to. */
  url: URL;
  /** The API key (never shown). */
  apiKey: string;
  /** `environment` unless the request names one. */
  environment?: string;
  /** `prompt_slug` unless the request names one. */
  promptSlug?: string;
  /** Attributes on every log. */
  customAttributes: Record<string, unknown>;
  /** POSTs at once. */
  concurrency: number;
  /** POST timeout. */
  timeoutMs: number;
}

const nonBlank = (value: string | undefined): string | undefined =>
  typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;

/**
 * Resolves a sink's settings: config first, then `ATHINA_API_KEY` and
 * `ATHINA_BASE_URL` (LiteLLM's variables), then Athina's cloud.
 *
 * @param input The sink's config.
 * @param env Reads an environment variable.
 * @returns The settings.
 * @throws {Error} naming the plugin when the API key is missing or a setting is invalid.
 *
 * @example
 * ```ts
 * import { resolveAthinaSettings } from "@sluice/athina";
 * const env = (name: string) => ({ ATHINA_API_KEY: "ak-…", ATHINA_BASE_URL: "http://localhost:9000" })[name];
 * resolveAthinaSettings({}, env).url.href; // "http://localhost:9000/api/v1/log/inference"
 * ```
 */
export function resolveAthinaSettings(
  input: AthinaConfig,
  env: (name: string) => string | undefined,
): AthinaSettings {
  const config = parseAthinaConfig(input);
  const apiKey = nonBlank(config.api_key) ?? nonBlank(env("ATHINA_API_KEY"));
  if (!apiKey) {
    throw new Error("athina: no API key; set ATHINA_API_KEY or this sink's config.api_key");
  }
  const base = nonBlank(config.endpoint_url) ?? nonBlank(env("ATHINA_BASE_URL")) ??
    DEFAULT_ENDPOINT;
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new Error(
      `athina: the base URL must be an absolute http(s) URL; got ${displayUrl(base)}`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`athina: the base URL must use http or https; got ${url.protocol}`);
  }
  url.hash = "";
  const path = url.pathname.replace(/\/+$/, "");
  url.pathname = path.endsWith(LOG_PATH) ? path : `${path}${LOG_PATH}`;
  return {
    url,
    apiKey,
    environment: config.environment,
    promptSlug: config.prompt_slug,
    customAttributes: config.custom_attributes,
    concurrency: config.concurrency,
    timeoutMs: config.timeout_ms,
  };
}

/**
 * Creates an athina sink. Athina's logging API takes one inference per
 * request, so each `log(events)` POSTs one log per call (see
 * `toAthinaInference`), `concurrency` at a time, and resolves once Athina
 * accepted every one. `gateway_error` events are not model calls and are
 * skipped.
 *
 * Answers go through `@sluice/core/sink-http`'s `classify`. 429 (after
 * `Retry-After`), 5xx and network failures: the batch is retried, and the
 * logs Athina already accepted are not sent again. 401/403 (the API key),
 * 404 (the URL) and redirects keep the events with a message naming what
 * to check. A log refused as malformed (400/413/422) is reported once and
 * counted as skipped while the rest are delivered; a batch refused whole
 * is `permanent`. No further POSTs start once one failed for a reason
 * other than its own body. Messages never contain the API key.
 *
 * @param config The sink's config.
 * @param ctx The plugin context (`fetch`, `env`, `logger`).
 * @returns The sink.
 * @throws {Error} naming the plugin when the API key is missing or a setting is invalid.
 *
 * @example
 * ```ts
 * import { createAthinaSink } from "@sluice/athina";
 * import { createTestContext, sampleEvents } from "@sluice/core/testing";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, async (req) => {
 *   await req.json();
 *   return Response.json({ status: "success" });
 * });
 * const sink = createAthinaSink(
 *   { api_key: "ak-example", endpoint_url: `http://127.0.0.1:${server.addr.port}` },
 *   createTestContext(),
 * );
 * await sink.log(sampleEvents(2)); // two POSTs, one inference log each
 * await server.shutdown();
 * ```
 */
export function createAthinaSink(
  config: AthinaConfig,
  ctx: Pick<PluginContext, "fetch" | "env" | "logger">,
): Sink {
  const settings = resolveAthinaSettings(config, (name) => ctx.env(name));
  const { url, apiKey, timeoutMs } = settings;
  const shown = displayUrl(url);
  const scrub = secretScrubber([apiKey], { urls: [url] });
  const headers = {
    "content-type": "application/json",
    accept: "application/json",
    "athina-api-key": apiKey,
    "user-agent": `sluice-athina/${denoJson.version}`,
  };
  const words = {
    refused: "Athina refused this inference log",
    credentials: "check the Athina API key (ATHINA_API_KEY or config.api_key)",
    url: "check the logging URL (ATHINA_BASE_URL or config.endpoint_url)",
    redirect: "set endpoint_url to the final address",
  };

  async function send(event: LogEvent, signal?: AbortSignal): Promise<EventSent> {
    const body = JSON.stringify(toAthinaInference(event, settings));
    let res: Response;
    try {
      res = await ctx.fetch(url, {
        method: "POST",
        headers,
        body,
        redirect: "manual",
        timeoutMs,
        signal,
      });
    } catch (error) {
      const err = fetchFailure(error, `athina: POST ${shown}`, timeoutMs, scrub);
      return { ok: false, failure: { kind: "retry", status: 0 }, error: err };
    }
    const outcome = classify(res);
    if (outcome.kind === "ok") {
      await res.body?.cancel();
      return { ok: true };
    }
    const detail = await errorDetail(res, scrub);
    const error = failureError(
      outcome,
      `athina: ${shown} answered ${res.status}${detail ? ` (${detail})` : ""}`,
      words,
      scrub,
    );
    return { ok: false, failure: outcome, error };
  }

  const deliver = createEachDelivery({
    send,
    concurrency: settings.concurrency,
    receiver: "athina",
    item: "inference log",
    logger: ctx.logger,
  });

  return {
    async log(events, options): Promise<SinkLogResult | void> {
      const calls = events.filter((e) => e.call_type !== "gateway_error");
      const skipped = events.length - calls.length;
      const refused = await deliver(calls, options?.signal);
      return skippedResult(skipped + refused);
    },
  };
}
