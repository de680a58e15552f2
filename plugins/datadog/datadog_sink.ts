/**
 * The datadog sink: logs to the Logs intake (`POST /api/v2/logs`, gzip,
 * at most 1,000 entries and 5 MB per request) or LLM spans to the LLM
 * Observability intake (`POST /api/intake/llm-obs/v1/trace/spans`), with
 * `DD-API-KEY`.
 * @module
 */
import type { LogEvent, PluginContext, Sink, SinkLogResult } from "@sluice/core/plugin";
import {
  classify,
  displayUrl,
  errorDetail,
  failureError,
  fetchFailure,
  secretScrubber,
} from "@sluice/core/sink-http";
import denoJson from "./deno.json" with { type: "json" };
import { utf8Length } from "./_utf8.ts";
import {
  type DatadogConfig,
  type DatadogIntake,
  DEFAULT_SERVICE,
  DEFAULT_SITE,
  DEFAULT_SOURCE,
  parseDatadogConfig,
} from "./config.ts";
import { datadogTag, type LlmObsSpansRequest, toLlmObsSpan, toLogItem } from "./records.ts";

/** Environment variables the plugin reads (declared in its `permissions.env`). */
export const DATADOG_ENV: readonly string[] = [
  "DD_API_KEY",
  "DD_SITE",
  "DD_SERVICE",
  "DD_SOURCE",
  "DD_ENV",
  "DD_VERSION",
  "DD_LLMOBS_ML_APP",
  "HOSTNAME",
];

/** The Logs intake's path. */
export const LOGS_PATH = "/api/v2/logs";

/** The LLM Observability spans intake's path. */
export const LLM_OBS_PATH = "/api/intake/llm-obs/v1/trace/spans";

/** Most entries in one Logs intake request (Datadog's limit). */
export const MAX_LOGS_PER_REQUEST = 1000;

/** Largest uncompressed body of one request (Datadog's limit for both intakes: 5 MB). */
export const MAX_REQUEST_BYTES = 5_000_000;

/** What a datadog sink resolved its config and environment to. */
export interface DatadogSettings {
  /** Which intake. */
  intake: DatadogIntake;
  /** The URL POSTed to. */
  url: URL;
  /** The API key (never shown); absent only for logs sent to an `endpoint_url`. */
  apiKey?: string;
  /** `ddsource`. */
  source: string;
  /** `service`. */
  service: string;
  /** `hostname`, if any. */
  hostname?: string;
  /** Tags on every record: `env:`, `version:` and the config's. */
  tags: string[];
  /** LLM Observability `ml_app`. */
  mlApp: string;
  /** gzip Logs intake bodies. */
  compress: boolean;
  /** POST timeout. */
  timeoutMs: number;
}

/** Datadog's application naming guidelines for `ml_app` (after lower-casing). */
const ML_APP = /^(?!.*__)(?!.*_$)[\p{L}\p{N}_:./-]{1,193}$/u;

const nonBlank = (value: string | undefined): string | undefined =>
  typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;

/** A site as Datadog names it (`us5.datadoghq.com`), from what operators write. */
function siteHost(site: string): string {
  const host = site.replace(/^https?:\/\//i, "").replace(/\/.*$/, "").replace(/^app\./i, "")
    .toLowerCase();
  if (!/^[a-z0-9.-]+\.[a-z]{2,}$/.test(host)) {
    throw new Error(
      `datadog: the site must be a Datadog site such as datadoghq.com or us5.datadoghq.com; got "${site}"`,
    );
  }
  return host;
}

/** `base` with `path` added, unless it already ends with it. */
function intakeUrl(base: string, path: string): URL {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new Error(
      `datadog: endpoint_url must be an absolute http(s) URL; got ${displayUrl(base)}`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`datadog: endpoint_url must use http or https; got ${url.protocol}`);
  }
  url.hash = "";
  const trimmed = url.pathname.replace(/\/+$/, "");
  url.pathname = trimmed.endsWith(path) ? trimmed : `${trimmed}${path}`;
  return url;
}

/**
 * Resolves a sink's settings from its config and environment: config
 * first, then the `DD_*` variables, then the defaults.
 *
 * @param input The sink's config.
 * @param env Reads an environment variable.
 * @returns The settings.
 * @throws {Error} naming the plugin when the config is invalid or the API key is missing.
 *
 * @example
 * ```ts
 * import { resolveDatadogSettings } from "@sluice/datadog";
 * const env = (name: string) => ({ DD_API_KEY: "k", DD_SITE: "us5.datadoghq.com" })[name];
 * resolveDatadogSettings({}, env).url.href; // "https://http-intake.logs.us5.datadoghq.com/api/v2/logs"
 * resolveDatadogSettings({ intake: "llm_obs" }, env).url.host; // "api.us5.datadoghq.com"
 * ```
 */
export function resolveDatadogSettings(
  input: DatadogConfig,
  env: (name: string) => string | undefined,
): DatadogSettings {
  const config = parseDatadogConfig(input);
  const from = (key: keyof DatadogConfig, variable: string) =>
    nonBlank(config[key] as string | undefined) ?? nonBlank(env(variable));
  const intake = config.intake;
  const path = intake === "logs" ? LOGS_PATH : LLM_OBS_PATH;
  const endpoint = nonBlank(config.endpoint_url);
  let url: URL;
  if (endpoint) url = intakeUrl(endpoint, path);
  else {
    const site = siteHost(from("site", "DD_SITE") ?? DEFAULT_SITE);
    url = new URL(`https://${intake === "logs" ? "http-intake.logs" : "api"}.${site}${path}`);
  }
  const apiKey = from("api_key", "DD_API_KEY");
  if (!apiKey && (intake === "llm_obs" || !endpoint)) {
    throw new Error(
      "datadog: no API key; set DD_API_KEY or this sink's config.api_key" +
        (intake === "logs"
          ? " (only logs sent to an endpoint_url, e.g. an Agent, may go without)"
          : ""),
    );
  }
  const service = from("service", "DD_SERVICE") ?? DEFAULT_SERVICE;
  const tags: string[] = [];
  const environment = from("env", "DD_ENV");
  const version = from("version", "DD_VERSION");
  if (environment) tags.push(datadogTag("env", environment));
  if (version) tags.push(datadogTag("version", version));
  tags.push(...config.tags);
  const mlApp = (from("ml_app", "DD_LLMOBS_ML_APP") ?? service).toLowerCase();
  if (intake === "llm_obs" && !ML_APP.test(mlApp)) {
    throw new Error(
      `datadog: ml_app "${mlApp}" does not follow Datadog's application naming guidelines ` +
        "(letters, digits, _ - : . /, at most 193, no double or trailing _); set DD_LLMOBS_ML_APP or config.ml_app",
    );
  }
  return {
    intake,
    url,
    apiKey,
    source: from("source", "DD_SOURCE") ?? DEFAULT_SOURCE,
    service,
    hostname: from("hostname", "HOSTNAME"),
    tags,
    mlApp,
    compress: config.compress,
    timeoutMs: config.timeout_ms,
  };
}

/** Splits `items` (serialised) into requests of at most `maxCount` items and `maxBytes` bytes. */
function chunks<T>(
  items: readonly T[],
  sizeOf: (item: T) => number,
  maxCount: number,
  maxBytes: number,
  overhead: number,
): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let bytes = overhead;
  for (const item of items) {
    const size = sizeOf(item) + 1; // the comma
    if (current.length > 0 && (current.length >= maxCount || bytes + size > maxBytes)) {
      out.push(current);
      current = [];
      bytes = overhead;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

async function gzip(text: string): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Creates a datadog sink.
 *
 * `intake: logs` (default): each call is one entry of `POST
 * {intake}/api/v2/logs`, gzip-compressed, a batch split into requests of
 * at most 1,000 entries and 5 MB (uncompressed), as Datadog's Logs API
 * requires. `intake: llm_obs`: each call is one LLM span of `POST
 * {api}/api/intake/llm-obs/v1/trace/spans` under the sink's `ml_app`,
 * requests of at most 5 MB; `gateway_error` events are not LLM calls and
 * are skipped. Both send `DD-API-KEY`.
 *
 * When a batch needs several requests and a later one fails, the ones
 * Datadog already accepted are not sent again when the gateway retries
 * the batch (Datadog does not de-duplicate logs).
 *
 * Answers go through `@sluice/core/sink-http`'s `classify`: 2xx
 * delivered; 400/413/422 `permanent`; 429 retried after `Retry-After`;
 * 401/403 (the API key), 404 (site or endpoint) and redirects keep the
 * events with a message naming what to check; anything else retried.
 * Messages never contain the API key.
 *
 * @param config The sink's config.
 * @param ctx The plugin context (`fetch`, `env`).
 * @returns The sink.
 * @throws {Error} naming the plugin when the API key is missing or a setting is invalid.
 *
 * @example
 * ```ts
 * import { createDatadogSink } from "@sluice/datadog";
 * import { createTestContext, sampleEvents } from "@sluice/core/testing";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, () => new Response("{}", { status: 202 }));
 * const sink = createDatadogSink(
 *   { api_key: "dd-test-key", endpoint_url: `http://127.0.0.1:${server.addr.port}` },
 *   createTestContext(),
 * );
 * await sink.log(sampleEvents(2)); // one gzip POST of two log entries
 * await server.shutdown();
 * ```
 */
export function createDatadogSink(
  config: DatadogConfig,
  ctx: Pick<PluginContext, "fetch" | "env">,
): Sink {
  const settings = resolveDatadogSettings(config, (name) => ctx.env(name));
  const { url, apiKey, timeoutMs, intake } = settings;
  const shown = displayUrl(url);
  const scrub = secretScrubber([apiKey], { urls: [url] });
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: "application/json",
    "user-agent": `sluice-datadog/${denoJson.version}`,
  };
  if (apiKey) headers["dd-api-key"] = apiKey;
  if (intake === "logs" && settings.compress) headers["content-encoding"] = "gzip";
  /** Request ids of batches partly accepted: not sent again when the batch is retried. */
  const accepted = new Set<string>();

  /** The request bodies of a batch, each with the request ids it carries. */
  function requests(events: readonly LogEvent[]): { ids: string[]; body: string }[] {
    if (intake === "logs") {
      const items = events.map((event) => ({
        id: event.request_id,
        json: JSON.stringify(toLogItem(event, settings)),
      }));
      return chunks(items, (i) => utf8Length(i.json), MAX_LOGS_PER_REQUEST, MAX_REQUEST_BYTES, 2)
        .map((chunk) => ({
          ids: chunk.map((i) => i.id),
          body: `[${chunk.map((i) => i.json).join(",")}]`,
        }));
    }
    const spans = events.map((event) => {
      const span = toLlmObsSpan(event, []);
      return { id: event.request_id, span, size: utf8Length(JSON.stringify(span)) };
    });
    return chunks(spans, (s) => s.size, Infinity, MAX_REQUEST_BYTES, 1024).map((chunk) => {
      const body: LlmObsSpansRequest = {
        data: {
          type: "span",
          attributes: {
            ml_app: settings.mlApp,
            tags: [
              datadogTag("service", settings.service),
              datadogTag("source", settings.source),
              ...settings.tags,
            ],
            spans: chunk.map((s) => s.span),
          },
        },
      };
      return { ids: chunk.map((s) => s.id), body: JSON.stringify(body) };
    });
  }

  async function post(body: string, signal?: AbortSignal): Promise<Response> {
    const payload = headers["content-encoding"] === "gzip" ? await gzip(body) : body;
    try {
      return await ctx.fetch(url, {
        method: "POST",
        headers,
        body: payload,
        redirect: "manual",
        timeoutMs,
        signal,
      });
    } catch (error) {
      throw fetchFailure(error, `datadog: POST ${shown}`, timeoutMs, scrub);
    }
  }

  return {
    async log(events, options): Promise<SinkLogResult | void> {
      const sendable = intake === "llm_obs"
        ? events.filter((e) => e.call_type !== "gateway_error")
        : events;
      const skipped = events.length - sendable.length;
      const pending = sendable.filter((e) => !accepted.has(e.request_id));
      const settle = () => {
        for (const event of sendable) accepted.delete(event.request_id);
      };
      for (const request of requests(pending)) {
        const res = await post(request.body, options?.signal);
        const outcome = classify(res);
        if (outcome.kind === "ok") {
          await res.body?.cancel();
          if (accepted.size > 100_000) accepted.clear(); // bounded; at worst a retry repeats some
          for (const id of request.ids) accepted.add(id);
          continue;
        }
        if (outcome.kind === "permanent") settle();
        const detail = await errorDetail(res, scrub);
        throw failureError(
          outcome,
          `datadog: ${shown} answered ${res.status}${detail ? ` (${detail})` : ""}`,
          {
            refused: `Datadog refused these ${request.ids.length} ${
              intake === "logs" ? "logs" : "spans"
            }`,
            credentials: "check the API key (DD_API_KEY or config.api_key) and the site (DD_SITE)",
            url: "check the site (DD_SITE or config.site) and config.endpoint_url",
            redirect: "set endpoint_url to the final address",
          },
          scrub,
        );
      }
      settle();
      return skipped > 0 ? { skipped } : undefined;
    },
  };
}
