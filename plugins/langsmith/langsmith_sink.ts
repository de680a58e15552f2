/**
 * The langsmith sink: one `llm` run per call to LangSmith's batch ingest
 * endpoint (`POST {endpoint}/runs/batch`, `x-api-key`).
 * @module
 */
import type { PluginContext, Sink, SinkLogResult } from "@sluice/core/plugin";
import {
  classify,
  displayUrl,
  errorDetail,
  failureError,
  fetchFailure,
  secretScrubber,
} from "@sluice/core/sink-http";
import denoJson from "./deno.json" with { type: "json" };
import {
  DEFAULT_ENDPOINT,
  DEFAULT_PROJECT,
  type LangSmithConfig,
  parseLangSmithConfig,
} from "./config.ts";
import { type LangSmithRun, toLangSmithRun } from "./runs.ts";

/** Environment variables the plugin reads (declared in its `permissions.env`). */
export const LANGSMITH_ENV: readonly string[] = [
  "LANGSMITH_API_KEY",
  "LANGSMITH_PROJECT",
  "LANGSMITH_BASE_URL",
  "LANGSMITH_ENDPOINT",
  "LANGSMITH_WORKSPACE_ID",
  "LANGSMITH_DEFAULT_RUN_NAME",
  "LANGSMITH_SAMPLING_RATE",
  "LANGCHAIN_API_KEY",
  "LANGCHAIN_PROJECT",
  "LANGCHAIN_ENDPOINT",
];

/** The batch ingest endpoint's path, below the API base URL. */
export const BATCH_PATH = "/runs/batch";

/** Most runs in one request (the LangSmith SDKs' default batch size). */
export const MAX_RUNS_PER_REQUEST = 100;

/** Largest body of one request (below the SDKs' default limit of 24 MiB). */
export const MAX_REQUEST_BYTES = 20_000_000;

/** What a langsmith sink resolved its config and environment to. */
export interface LangSmithSettings {
  /** The URL POSTed to. */
  url: URL;
  /** The API key (never shown). */
  apiKey: string;
  /** The project. */
  project: string;
  /** The workspace (`x-tenant-id`), if any. */
  workspaceId?: string;
  /** The run name, if set. */
  runName?: string;
  /** Tags on every run. */
  tags: string[];
  /** Share of calls sent. */
  samplingRate: number;
  /** POST timeout. */
  timeoutMs: number;
}

const nonBlank = (value: string | undefined): string | undefined =>
  typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;

/**
 * Resolves a sink's settings: config first, then the `LANGSMITH_*`
 * variables (and the older `LANGCHAIN_*` names), then the defaults.
 *
 * @param input The sink's config.
 * @param env Reads an environment variable.
 * @returns The settings.
 * @throws {Error} naming the plugin when the API key is missing or a setting is invalid.
 *
 * @example
 * ```ts
 * import { resolveLangSmithSettings } from "@sluice/langsmith";
 * const env = (name: string) => ({ LANGSMITH_API_KEY: "lsv2_pt_x" })[name];
 * resolveLangSmithSettings({}, env).url.href; // "https://api.smith.langchain.com/runs/batch"
 * ```
 */
export function resolveLangSmithSettings(
  input: LangSmithConfig,
  env: (name: string) => string | undefined,
): LangSmithSettings {
  const config = parseLangSmithConfig(input);
  const first = (...values: (string | undefined)[]) => values.map(nonBlank).find(Boolean);
  const apiKey = first(
    config.api_key,
    env("LANGSMITH_API_KEY"),
    env("LANGCHAIN_API_KEY"),
  );
  if (!apiKey) {
    throw new Error(
      "langsmith: no API key; set LANGSMITH_API_KEY or this sink's config.api_key",
    );
  }
  const base = first(
    config.endpoint_url,
    env("LANGSMITH_BASE_URL"),
    env("LANGSMITH_ENDPOINT"),
    env("LANGCHAIN_ENDPOINT"),
  ) ?? DEFAULT_ENDPOINT;
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new Error(
      `langsmith: the endpoint must be an absolute http(s) URL; got ${displayUrl(base)}`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(
      `langsmith: the endpoint must use http or https; got ${url.protocol}`,
    );
  }
  url.hash = "";
  const path = url.pathname.replace(/\/+$/, "");
  url.pathname = path.endsWith(BATCH_PATH) ? path : `${path}${BATCH_PATH}`;
  let samplingRate = config.sampling_rate;
  const rateText = nonBlank(env("LANGSMITH_SAMPLING_RATE"));
  if (samplingRate === undefined && rateText !== undefined) {
    samplingRate = Number(rateText);
    if (
      !Number.isFinite(samplingRate) || samplingRate < 0 || samplingRate > 1
    ) {
      throw new Error(
        `langsmith: LANGSMITH_SAMPLING_RATE must be a number from 0 to 1`,
      );
    }
  }
  return {
    url,
    apiKey,
    project: first(
      config.project,
      env("LANGSMITH_PROJECT"),
      env("LANGCHAIN_PROJECT"),
    ) ??
      DEFAULT_PROJECT,
    workspaceId: first(config.workspace_id, env("LANGSMITH_WORKSPACE_ID")),
    runName: first(config.run_name, env("LANGSMITH_DEFAULT_RUN_NAME")),
    tags: config.tags,
    samplingRate: samplingRate ?? 1,
    timeoutMs: config.timeout_ms,
  };
}

/** Whether a call is sampled: the first 8 hex digits of its trace id against the rate. */
function sampled(traceId: string, rate: number): boolean {
  if (rate >= 1) return true;
  const head = Number.parseInt(traceId.slice(0, 8), 16);
  return Number.isFinite(head) && head / 0x1_0000_0000 < rate;
}

/**
 * Creates a langsmith sink: each batch is `POST {endpoint}/runs/batch`
 * with `{ "post": [runs], "patch": [] }` and `x-api-key` (plus
 * `x-tenant-id` with a workspace), at most 100 runs and 20 MB per request.
 * Each call is one complete `llm` run (see `toLangSmithRun`), so nothing is
 * patched later. `gateway_error` events are not model calls and are
 * skipped, as are calls the sampling rate leaves out.
 *
 * Answers go through `@sluice/core/sink-http`'s `classify`: 2xx
 * delivered; 400/413/422 `permanent`; 429 retried after `Retry-After`;
 * 401/403 (the API key or workspace), 404 (the endpoint) and redirects keep
 * the events with a message naming what to check; anything else retried.
 * LangSmith upserts runs by id, so a batch sent again after a lost answer
 * does not duplicate them. Messages never contain the API key.
 *
 * @param config The sink's config.
 * @param ctx The plugin context (`fetch`, `env`).
 * @returns The sink.
 * @throws {Error} naming the plugin when the API key is missing or a setting is invalid.
 *
 * @example
 * ```ts
 * import { createLangSmithSink } from "@sluice/langsmith";
 * import { createTestContext, sampleEvents } from "@sluice/core/testing";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, () => Response.json({}, { status: 202 }));
 * const sink = createLangSmithSink(
 *   { api_key: "lsv2_pt_test", endpoint_url: `http://127.0.0.1:${server.addr.port}` },
 *   createTestContext(),
 * );
 * await sink.log(sampleEvents(2)); // one POST /runs/batch with two runs
 * await server.shutdown();
 * ```
 */
export function createLangSmithSink(
  config: LangSmithConfig,
  ctx: Pick<PluginContext, "fetch" | "env">,
): Sink {
  const settings = resolveLangSmithSettings(config, (name) => ctx.env(name));
  const { url, apiKey, timeoutMs } = settings;
  const shown = displayUrl(url);
  const scrub = secretScrubber([apiKey], { urls: [url] });
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: "application/json",
    "x-api-key": apiKey,
    "user-agent": `sluice-langsmith/${denoJson.version}`,
  };
  if (settings.workspaceId) headers["x-tenant-id"] = settings.workspaceId;
  const encoder = new TextEncoder();

  /** Request bodies of at most {@link MAX_RUNS_PER_REQUEST} runs and {@link MAX_REQUEST_BYTES}. */
  function bodies(runs: LangSmithRun[]): string[] {
    const out: string[] = [];
    let current: string[] = [];
    let bytes = 0;
    const flush = () => {
      if (current.length > 0) {
        out.push(`{"post":[${current.join(",")}],"patch":[]}`);
      }
      current = [];
      bytes = 0;
    };
    for (const run of runs) {
      const json = JSON.stringify(run);
      const size = encoder.encode(json).byteLength + 1;
      if (
        current.length >= MAX_RUNS_PER_REQUEST ||
        bytes + size > MAX_REQUEST_BYTES
      ) flush();
      current.push(json);
      bytes += size;
    }
    flush();
    return out;
  }

  return {
    async log(events, options): Promise<SinkLogResult | void> {
      const runs = events
        .filter((e) =>
          e.call_type !== "gateway_error" &&
          sampled(e.trace_id, settings.samplingRate)
        )
        .map((e) => toLangSmithRun(e, settings));
      for (const body of bodies(runs)) {
        let res: Response;
        try {
          res = await ctx.fetch(url, {
            method: "POST",
            headers,
            body,
            redirect: "manual",
            timeoutMs,
            signal: options?.signal,
          });
        } catch (error) {
          throw fetchFailure(
            error,
            `langsmith: POST ${shown}`,
            timeoutMs,
            scrub,
          );
        }
        const outcome = classify(res);
        if (outcome.kind === "ok") {
          await res.body?.cancel();
          continue;
        }
        const detail = await errorDetail(res, scrub);
        throw failureError(
          outcome,
          `langsmith: ${shown} answered ${res.status}${detail ? ` (${detail})` : ""}`,
          {
            refused: "LangSmith refused these runs",
            credentials:
              "check the API key (LANGSMITH_API_KEY or config.api_key) and, for a key of several " +
              "workspaces, the workspace (LANGSMITH_WORKSPACE_ID)",
            url: "check the endpoint (LANGSMITH_BASE_URL or config.endpoint_url)",
            redirect: "set endpoint_url to the final address",
          },
          scrub,
        );
      }
      const skipped = events.length - runs.length;
      return skipped > 0 ? { skipped } : undefined;
    },
  };
}
