/**
 * The webhook plugin definition.
 * @module
 */
import type { PluginDefinition } from "@sluice/core/plugin";
import denoJson from "./deno.json" with { type: "json" };
import { type WebhookConfig, webhookConfigSchema } from "./config.ts";
import { webhookLiteLLM } from "./litellm.ts";
import { createWebhookSink } from "./webhook_sink.ts";

/**
 * The webhook plugin (LiteLLM's `generic_api`): POSTs each batch as a JSON
 * array of events. `permissions` is left undefined: the hosts it reaches
 * come from config, so a sandboxed webhook needs the gateway to grant the
 * URL's host.
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
  litellm: webhookLiteLLM,
  create: (config, ctx) => createWebhookSink(config, ctx),
};

export default webhookPlugin;
