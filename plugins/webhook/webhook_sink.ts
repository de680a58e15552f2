/**
 * The webhook sink: POSTs each batch as a JSON array.
 * @module
 */
import type { LogEvent, PluginContext, Sink } from "@sluice/core/plugin";
import {
  classify,
  DEFAULT_RATE_LIMIT_WAIT_MS,
  displayUrl,
  failureError,
  fetchFailure,
  secretScrubber,
} from "@sluice/core/sink-http";
import denoJson from "./deno.json" with { type: "json" };
import { parseWebhookConfig, type WebhookConfig } from "./config.ts";

/** The wait after a 429 without a readable `Retry-After` (`@sluice/core/sink-http`'s default). */
export const DEFAULT_RETRY_AFTER_MS: number = DEFAULT_RATE_LIMIT_WAIT_MS;

function checkConfig(input: WebhookConfig): { url: URL; headers: Headers; timeoutMs: number } {
  const config = parseWebhookConfig(input);
  const url = new URL(config.url);
  const headers = new Headers({
    "content-type": "application/json",
    "user-agent": `sluice-webhook/${denoJson.version}`,
  });
  for (const [name, value] of Object.entries(config.headers ?? {})) {
    try {
      headers.set(name, value);
    } catch {
      // The value is a secret more often than not: name the header only.
      throw new Error(`webhook: headers["${name}"] is not a valid header name and string value`);
    }
  }
  return { url, headers, timeoutMs: config.timeout_ms };
}

/**
 * Creates a webhook sink: each batch is one `POST` of a JSON array of the
 * events to `config.url` with `config.headers`, through `ctx.fetch`.
 * Redirects are not followed (a 301/302 would turn the POST into a GET).
 *
 * How answers become outcomes: `@sluice/core/sink-http`'s `classify` (see
 * the plugin contract's `SinkError`):
 * - 2xx: delivered;
 * - 400, 413, 422: `permanent: true` (the events are refused: dropped);
 * - 429: retryable, `retryAfterMs` from `Retry-After` (default 1000);
 * - 401, 403, 404, 415 and redirects: a clear, retryable error naming
 *   status and URL (the events are kept while credentials or the URL are
 *   fixed);
 * - any other status, network errors, timeouts: retryable (`Retry-After`
 *   honoured).
 *
 * Error messages show the URL without user info or query string and never
 * show header values.
 *
 * @param config The URL, headers and timeout.
 * @param ctx The plugin context (its `fetch` is used).
 * @returns The sink.
 *
 * @example
 * ```ts
 * import { createWebhookSink } from "@sluice/webhook";
 * import { createTestContext, sampleEvents } from "@sluice/core/testing";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, () => new Response(null, { status: 204 }));
 * const sink = createWebhookSink(
 *   { url: `http://127.0.0.1:${server.addr.port}/in`, headers: { authorization: "Bearer k" } },
 *   createTestContext(),
 * );
 * await sink.log(sampleEvents(2));
 * await server.shutdown();
 * ```
 */
export function createWebhookSink(
  config: WebhookConfig,
  ctx: Pick<PluginContext, "fetch">,
): Sink {
  const { url, headers, timeoutMs } = checkConfig(config);
  const shown = displayUrl(url);
  /** Removes the full URL (with its query string) and header values from a foreign message. */
  const scrub = secretScrubber(Object.values(config.headers ?? {}), { urls: [config.url, url] });

  async function post(events: readonly LogEvent[]): Promise<Response> {
    try {
      return await ctx.fetch(url, {
        method: "POST",
        headers,
        body: JSON.stringify(events),
        redirect: "manual",
        timeoutMs,
      });
    } catch (error) {
      throw fetchFailure(error, `webhook: POST ${shown}`, timeoutMs, scrub);
    }
  }

  return {
    async log(events) {
      if (events.length === 0) return;
      const res = await post(events);
      // Read the answer so the connection can be reused; its content is not needed.
      await res.arrayBuffer().catch(() => {});
      const outcome = classify(res);
      if (outcome.kind === "ok") return;
      const answered = `webhook: ${shown} answered ${res.status}${
        res.statusText ? ` ${res.statusText}` : ""
      }`;
      throw failureError(outcome, answered, {
        refused: `the receiver refused these ${events.length} events`,
        credentials: "check the credentials in this sink's headers",
        redirect: "set url to the final address",
      });
    },
  };
}
