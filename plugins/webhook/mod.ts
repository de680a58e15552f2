/**
 * `@sluice/webhook`: a Sluice sink that POSTs each batch of events as a JSON
 * array to a URL with your headers (LiteLLM's `generic_api`). 2xx confirms
 * the batch; 400/413/422 drop it as malformed; 429 waits for `Retry-After`;
 * everything else is retried by the gateway.
 *
 * The default export is the plugin definition (contract v1); the named
 * exports are the sink factory and its helpers.
 *
 * @example Use it in gateway.yaml
 * ```yaml
 * sinks:
 *   - use: webhook                 # or "@sluice/webhook"
 *     config:
 *       url: https://hooks.example.com/sluice
 *       headers: { authorization: "Bearer ${HOOK_TOKEN}" }
 *       timeout_ms: 5000
 * ```
 *
 * @example Post a batch from code
 * ```ts
 * import { createWebhookSink } from "@sluice/webhook";
 * import { createTestContext, sampleEvents } from "@sluice/core/testing";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, async (req) => {
 *   console.log((await req.json()).length, "events"); // 3 events
 *   return new Response(null, { status: 204 });
 * });
 * const sink = createWebhookSink({ url: `http://127.0.0.1:${server.addr.port}/in` }, createTestContext());
 * await sink.log(sampleEvents(3));
 * await server.shutdown();
 * ```
 * @module
 */
export { default } from "./plugin.ts";
export {
  DEFAULT_TIMEOUT_MS,
  parseWebhookConfig,
  type WebhookConfig,
  webhookConfigSchema,
} from "./config.ts";
export { parseHeaderList, webhookLiteLLM } from "./litellm.ts";
export { createWebhookSink, DEFAULT_RETRY_AFTER_MS } from "./webhook_sink.ts";
// The HTTP helpers this sink uses, kept here for compatibility (they live in `@sluice/core/sink-http`).
export { displayUrl, parseRetryAfter } from "@sluice/core/sink-http";
