/**
 * The webhook plugin definition.
 * @module
 */
import type { PluginDefinition } from "@sluice/core/plugin";
import { httpPermissions } from "@sluice/core/sink-http";
import denoJson from "./deno.json" with { type: "json" };
import { type WebhookConfig, webhookConfigSchema } from "./config.ts";
import { webhookLiteLLM } from "./litellm.ts";
import { createWebhookSink } from "./webhook_sink.ts";

/**
 * The webhook plugin (LiteLLM's `generic_api`): POSTs each batch as a JSON
 * array of events. It asks for the host of its `url` only, which the
 * gateway grants a built-in by default.
 *
 * @example gateway.yaml
 * ```yaml
 * sinks:
 *   - use: webhook
 *     config:
 *       url: https://hooks.example.com/sluice
 *       headers: { authorization: "Bearer ${HOOK_TOKEN}" }
 * ```
 */
const webhookPlugin: PluginDefinition<WebhookConfig> = {
  name: "webhook",
  version: denoJson.version,
  apiVersion: 1,
  configSchema: webhookConfigSchema,
  // The host of its url.
  permissions: (config) => httpPermissions(() => [config.url]),
  litellm: webhookLiteLLM,
  create: (config, ctx) => createWebhookSink(config, ctx),
};

export default webhookPlugin;
