/**
 * The webhook plugin definition.
 * @module
 */
import type { JsonSchema, PluginDefinition } from "@sluice/core/plugin";
import denoJson from "./deno.json" with { type: "json" };
import { createWebhookSink, DEFAULT_TIMEOUT_MS, type WebhookConfig } from "./webhook_sink.ts";
import { webhookLiteLLM } from "./litellm.ts";

/** JSON Schema of {@link WebhookConfig}. */
export const webhookConfigSchema: JsonSchema = {
  type: "object",
  properties: {
    url: {
      type: "string",
      format: "uri",
      pattern: "^https?://",
      description: "Where each batch is POSTed as a JSON array of events.",
    },
    headers: {
      type: "object",
      additionalProperties: { type: "string" },
      description: "Extra request headers, e.g. Authorization (use ${NAME} for secrets).",
    },
    timeout_ms: {
      type: "integer",
      minimum: 1,
      default: DEFAULT_TIMEOUT_MS,
      description: "Timeout of one POST in milliseconds.",
    },
  },
  required: ["url"],
  additionalProperties: false,
};

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
