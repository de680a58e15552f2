/**
 * The sentry plugin definition.
 * @module
 */
import type { PluginDefinition } from "@sluice/core/plugin";
import { httpPermissions } from "@sluice/core/sink-http";
import denoJson from "./deno.json" with { type: "json" };
import { type SentryConfig, sentryConfigSchema } from "./config.ts";
import { createSentrySink, resolveSentrySettings, SENTRY_ENV_VARS } from "./sentry_sink.ts";

/**
 * The sentry plugin: failed calls and gateway errors as Sentry error
 * events. Its `on:` defaults to `[failure, gateway_error]`. It asks for the
 * host of its DSN (config or `SENTRY_DSN`) and its `SENTRY_*` variables.
 *
 * @example gateway.yaml
 * ```yaml
 * sinks:
 *   - use: sentry
 *     config:
 *       dsn: os.environ/SENTRY_DSN
 *       environment: staging
 *       sample_rate: 0.25
 * ```
 */
const sentryPlugin: PluginDefinition<SentryConfig> = {
  name: "sentry",
  version: denoJson.version,
  apiVersion: 1,
  configSchema: sentryConfigSchema,
  permissions: (config, env) =>
    httpPermissions(
      () => [resolveSentrySettings(config, { env, gatewayVersion: "" }).endpoint],
      SENTRY_ENV_VARS,
    ),
  defaultOn: ["failure", "gateway_error"],
  // LiteLLM's SENTRY_* variables are read by the plugin itself.
  litellm: { callbacks: ["sentry"] },
  create: (config, ctx) => createSentrySink(config, ctx),
};

export default sentryPlugin;
