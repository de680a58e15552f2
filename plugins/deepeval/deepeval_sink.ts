/**
 * The deepeval sink: one trace with an LLM span per call to Confident AI's
 * trace ingestion (`POST {endpoint}/v1/traces`, header `CONFIDENT_API_KEY`).
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
  type HttpFailure,
  secretScrubber,
  skippedResult,
} from "@sluice/core/sink-http";
import denoJson from "./deno.json" with { type: "json" };
import {
  CONFIDENT_ENVIRONMENTS,
  type ConfidentEnvironment,
  type DeepEvalConfig,
  DEFAULT_ENDPOINT,
  parseDeepEvalConfig,
} from "./config.ts";
import { toConfidentTrace } from "./trace.ts";

/** Environment variables the plugin reads (declared in its `permissions.env`). */
export const DEEPEVAL_ENV: readonly string[] = [
  "CONFIDENT_API_KEY",
  "CONFIDENT_BASE_URL",
  "CONFIDENT_TRACE_ENVIRONMENT",
  "LITELM_ENVIRONMENT",
];

/** The trace ingestion path, below the API base URL. */
export const TRACES_PATH = "/v1/traces";

/** The environment when neither config nor a variable names one (LiteLLM's default). */
export const DEFAULT_ENVIRONMENT: ConfidentEnvironment = "development";

/** What a deepeval sink resolved its config and environment to. */
export interface DeepEvalSettings {
  /** The URL POSTed to. */
  url: URL;
  /** The project's API key (never shown). */
  apiKey: string;
  /** The trace environment. */
  environment: ConfidentEnvironment;
  /** Tags on every trace. */
  tags: string[];
  /** POSTs at once. */
  concurrency: number;
  /** POST timeout. */
  timeoutMs: number;
}

const nonBlank = (value: string | undefined): string | undefined =>
  typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;

/** An environment variable's environment, checked against Confident AI's values. */
function environmentFrom(
  env: (name: string) => string | undefined,
): ConfidentEnvironment | undefined {
  for (const name of ["CONFIDENT_TRACE_ENVIRONMENT", "LITELM_ENVIRONMENT"]) {
    const value = nonBlank(env(name));
    if (value === undefined) continue;
    if (!(CONFIDENT_ENVIRONMENTS as readonly string[]).includes(value)) {
      throw new Error(
        `deepeval: ${name} must be one of ${CONFIDENT_ENVIRONMENTS.join(", ")}; got "${
          value.slice(0, 40)
        }"`,
      );
    }
    return value as ConfidentEnvironment;
  }
  return undefined;
}

/**
 * Resolves a sink's settings: config first, then `CONFIDENT_API_KEY`,
 * `CONFIDENT_BASE_URL` and `CONFIDENT_TRACE_ENVIRONMENT` (deepeval's
 * variables) or `LITELM_ENVIRONMENT` (LiteLLM's, spelt as LiteLLM reads
 * it), then Confident AI's cloud and `development`.
 *
 * @param input The sink's config.
 * @param env Reads an environment variable.
 * @returns The settings.
 * @throws {Error} naming the plugin when the API key is missing or a setting is invalid.
 *
 * @example
 * ```ts
 * import { resolveDeepEvalSettings } from "@sluice/deepeval";
 * const env = (name: string) => ({ CONFIDENT_API_KEY: "confident_us_…", CONFIDENT_BASE_URL: "http://localhost:8080" })[name];
 * resolveDeepEvalSettings({}, env).url.href; // "http://localhost:8080/v1/traces"
 * ```
 */
export function resolveDeepEvalSettings(
  input: DeepEvalConfig,
  env: (name: string) => string | undefined,
): DeepEvalSettings {
  const config = parseDeepEvalConfig(input);
  const apiKey = nonBlank(config.api_key) ?? nonBlank(env("CONFIDENT_API_KEY"));
  if (!apiKey) {
    throw new Error(
      "deepeval: no Confident AI API key; set CONFIDENT_API_KEY or this sink's config.api_key",
    );
  }
  const base = nonBlank(config.endpoint_url) ?? nonBlank(env("CONFIDENT_BASE_URL")) ??
    DEFAULT_ENDPOINT;
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new Error(
      `deepeval: the API URL must be an absolute http(s) URL; got ${displayUrl(base)}`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`deepeval: the API URL must use http or https; got ${url.protocol}`);
  }
  url.hash = "";
  const path = url.pathname.replace(/\/+$/, "");
  url.pathname = path.endsWith(TRACES_PATH) ? path : `${path}${TRACES_PATH}`;
  return {
    url,
    apiKey,
    environment: config.environment ?? environmentFrom(env) ?? DEFAULT_ENVIRONMENT,
    tags: config.tags,
    concurrency: config.concurrency,
    timeoutMs: config.timeout_ms,
  };
}

/**
 * Creates a deepeval sink. Confident AI's trace ingestion takes one trace
 * per request, so each `log(events)` POSTs one trace per call (see
 * `toConfidentTrace`), `concurrency` at a time, and resolves once Confident
 * AI accepted every one (`{ "success": true }`). `gateway_error` events are
 * not model calls and are skipped.
 *
 * Answers go through `@sluice/core/sink-http`'s `classify`. 429 (after
 * `Retry-After`), 5xx and network failures: the batch is retried, and the
 * traces already accepted are not sent again. 401/403 (the API key), 404
 * (the URL) and redirects keep the events with a message naming what to
 * check. A trace refused as malformed (400/413/422, or a 200 with
 * `success: false`) is reported once and counted as skipped while the
 * rest are delivered; a batch refused whole is `permanent`. No further
 * POSTs start once one failed for a reason other than its own body.
 * Messages never contain the API key.
 *
 * @param config The sink's config.
 * @param ctx The plugin context (`fetch`, `env`, `logger`).
 * @returns The sink.
 * @throws {Error} naming the plugin when the API key is missing or a setting is invalid.
 *
 * @example
 * ```ts
 * import { createDeepEvalSink } from "@sluice/deepeval";
 * import { createTestContext, sampleEvents } from "@sluice/core/testing";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, async (req) => {
 *   const trace = await req.json();
 *   return Response.json({ success: true, data: { id: trace.uuid } });
 * });
 * const sink = createDeepEvalSink(
 *   { api_key: "confident_us_example", endpoint_url: `http://127.0.0.1:${server.addr.port}` },
 *   createTestContext(),
 * );
 * await sink.log(sampleEvents(2)); // two POSTs, one trace each
 * await server.shutdown();
 * ```
 */
export function createDeepEvalSink(
  config: DeepEvalConfig,
  ctx: Pick<PluginContext, "fetch" | "env" | "logger">,
): Sink {
  const settings = resolveDeepEvalSettings(config, (name) => ctx.env(name));
  const { url, apiKey, timeoutMs } = settings;
  const shown = displayUrl(url);
  const scrub = secretScrubber([apiKey], { urls: [url] });
  const headers = {
    "content-type": "application/json",
    accept: "application/json",
    CONFIDENT_API_KEY: apiKey,
    "user-agent": `sluice-deepeval/${denoJson.version}`,
  };
  const words = {
    refused: "Confident AI refused this trace",
    credentials: "check the Confident AI project API key (CONFIDENT_API_KEY or config.api_key)",
    url: "check the API URL (CONFIDENT_BASE_URL or config.endpoint_url)",
    redirect: "set endpoint_url to the final address",
  };

  async function send(event: LogEvent, signal?: AbortSignal): Promise<EventSent> {
    const body = JSON.stringify(await toConfidentTrace(event, settings));
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
      const err = fetchFailure(error, `deepeval: POST ${shown}`, timeoutMs, scrub);
      return { ok: false, failure: { kind: "retry", status: 0 }, error: err };
    }
    const outcome = classify(res);
    if (outcome.kind === "ok") {
      const answer = await res.json().catch(() => undefined) as
        | { success?: boolean; error?: unknown }
        | undefined;
      if (answer?.success !== false) return { ok: true };
      const detail = scrub(String(answer.error ?? "success: false").slice(0, 200));
      const failure: HttpFailure = { kind: "permanent", status: res.status };
      const error = failureError(
        failure,
        `deepeval: ${shown} answered ${res.status} (${detail})`,
        words,
        scrub,
      );
      return { ok: false, failure, error };
    }
    const detail = await errorDetail(res, scrub);
    const error = failureError(
      outcome,
      `deepeval: ${shown} answered ${res.status}${detail ? ` (${detail})` : ""}`,
      words,
      scrub,
    );
    return { ok: false, failure: outcome, error };
  }

  const deliver = createEachDelivery({
    send,
    concurrency: settings.concurrency,
    receiver: "deepeval: Confident AI",
    item: "trace",
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
