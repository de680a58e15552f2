/**
 * The lunary sink: a `start` and an `end` (or `error`) run event per call
 * to Lunary's ingest endpoint (`POST {endpoint}/v1/runs/ingest`,
 * `Authorization: Bearer <public key>`).
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
import { DEFAULT_ENDPOINT, type LunaryConfig, parseLunaryConfig } from "./config.ts";
import { toLunaryEvents } from "./events.ts";

/** Environment variables the plugin reads (declared in its `permissions.env`). */
export const LUNARY_ENV: readonly string[] = ["LUNARY_PUBLIC_KEY", "LUNARY_API_URL"];

/** The ingest endpoint's path, below the API base URL. */
export const INGEST_PATH = "/v1/runs/ingest";

/** What a lunary sink resolved its config and environment to. */
export interface LunarySettings {
  /** The URL POSTed to. */
  url: URL;
  /** The project's public key (never shown). */
  publicKey: string;
  /** Tags on every run. */
  tags: string[];
  /** POST timeout. */
  timeoutMs: number;
}

const nonBlank = (value: string | undefined): string | undefined =>
  typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;

/**
 * Resolves a sink's settings: config first, then `LUNARY_PUBLIC_KEY` and
 * `LUNARY_API_URL`, then Lunary's cloud.
 *
 * @param input The sink's config.
 * @param env Reads an environment variable.
 * @returns The settings.
 * @throws {Error} naming the plugin when the public key is missing or a setting is invalid.
 *
 * @example
 * ```ts
 * import { resolveLunarySettings } from "@sluice/lunary";
 * const env = (name: string) => ({ LUNARY_PUBLIC_KEY: "7d3c…", LUNARY_API_URL: "http://localhost:3333" })[name];
 * resolveLunarySettings({}, env).url.href; // "http://localhost:3333/v1/runs/ingest"
 * ```
 */
export function resolveLunarySettings(
  input: LunaryConfig,
  env: (name: string) => string | undefined,
): LunarySettings {
  const config = parseLunaryConfig(input);
  const publicKey = nonBlank(config.public_key) ?? nonBlank(env("LUNARY_PUBLIC_KEY"));
  if (!publicKey) {
    throw new Error(
      "lunary: no public key; set LUNARY_PUBLIC_KEY or this sink's config.public_key",
    );
  }
  const base = nonBlank(config.endpoint_url) ?? nonBlank(env("LUNARY_API_URL")) ??
    DEFAULT_ENDPOINT;
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new Error(`lunary: the API URL must be an absolute http(s) URL; got ${displayUrl(base)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`lunary: the API URL must use http or https; got ${url.protocol}`);
  }
  url.hash = "";
  const path = url.pathname.replace(/\/+$/, "");
  url.pathname = path.endsWith(INGEST_PATH) ? path : `${path}${INGEST_PATH}`;
  return { url, publicKey, tags: config.tags, timeoutMs: config.timeout_ms };
}

/** Lunary's answer to a `start` for a run it already has: the batch was sent before. */
const DUPLICATE = /already exists/i;

/**
 * Creates a lunary sink: each batch is one `POST {endpoint}/v1/runs/ingest`
 * with `{ "events": [...] }` and `Authorization: Bearer <public key>`, a
 * `start` and an `end` (or `error`) event per call (see `toLunaryEvents`).
 * `gateway_error` events are not model calls and are skipped.
 *
 * Lunary answers 200 with a result per event. A `start` refused because the
 * run already exists is a batch sent again after a lost answer (its `end`
 * still applies); other refused events are reported through `ctx.logger`,
 * counted as skipped, and not sent again (resending would not change
 * Lunary's verdict). Other answers go through `@sluice/core/sink-http`'s
 * `classify`: 400/413/422 `permanent`; 429 retried after `Retry-After`;
 * 401/402/403 (the public key), 404 (the URL) and redirects keep the events
 * with a message naming what to check; anything else retried. Messages
 * never contain the public key.
 *
 * @param config The sink's config.
 * @param ctx The plugin context (`fetch`, `env`, `logger`).
 * @returns The sink.
 * @throws {Error} naming the plugin when the public key is missing or a setting is invalid.
 *
 * @example
 * ```ts
 * import { createLunarySink } from "@sluice/lunary";
 * import { createTestContext, sampleEvents } from "@sluice/core/testing";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, async (req) => {
 *   const { events } = await req.json();
 *   return Response.json({ results: events.map((e: { runId: string }) => ({ id: e.runId, success: true })) });
 * });
 * const sink = createLunarySink(
 *   { public_key: crypto.randomUUID(), endpoint_url: `http://127.0.0.1:${server.addr.port}` },
 *   createTestContext(),
 * );
 * await sink.log(sampleEvents(2)); // one POST with four events
 * await server.shutdown();
 * ```
 */
export function createLunarySink(
  config: LunaryConfig,
  ctx: Pick<PluginContext, "fetch" | "env" | "logger">,
): Sink {
  const settings = resolveLunarySettings(config, (name) => ctx.env(name));
  const { url, publicKey, timeoutMs } = settings;
  const shown = displayUrl(url);
  const scrub = secretScrubber([publicKey], { urls: [url] });
  const runtime = `sluice-lunary/${denoJson.version}`;
  const headers = {
    "content-type": "application/json",
    accept: "application/json",
    authorization: `Bearer ${publicKey}`,
    "user-agent": runtime,
  };

  return {
    async log(events, options): Promise<SinkLogResult | void> {
      const calls = events.filter((e) => e.call_type !== "gateway_error");
      let skipped = events.length - calls.length;
      if (calls.length > 0) {
        const body = JSON.stringify({
          events: calls.flatMap((e) => toLunaryEvents(e, { tags: settings.tags, runtime })),
        });
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
          throw fetchFailure(error, `lunary: POST ${shown}`, timeoutMs, scrub);
        }
        // 402 is Lunary's answer to a public key that is not a project id.
        const outcome = classify(res.status === 402 ? { status: 401 } : res);
        if (outcome.kind !== "ok") {
          const detail = await errorDetail(res, scrub);
          throw failureError(
            outcome,
            `lunary: ${shown} answered ${res.status}${detail ? ` (${detail})` : ""}`,
            {
              refused: "Lunary refused these events",
              credentials:
                "check the project's public key (LUNARY_PUBLIC_KEY or config.public_key)",
              url: "check the API URL (LUNARY_API_URL or config.endpoint_url)",
              redirect: "set endpoint_url to the final address",
            },
            scrub,
          );
        }
        const answer = await res.json().catch(() => undefined) as
          | { results?: { id?: string; success?: boolean; error?: string }[] }
          | undefined;
        const refused = (answer?.results ?? []).filter((r) =>
          r.success === false && !DUPLICATE.test(String(r.error))
        );
        if (refused.length > 0) {
          const runs = new Set(refused.map((r) => r.id));
          skipped += runs.size;
          ctx.logger.warn(
            `lunary refused ${refused.length} event(s) of ${runs.size} call(s): ${
              scrub(String(refused[0].error).slice(0, 200))
            }`,
            { request_ids: [...runs].slice(0, 10) },
          );
        }
      }
      return skipped > 0 ? { skipped } : undefined;
    },
  };
}
