/**
 * The sentry plugin definition.
 * @module
 */
import type { JsonSchema, PluginDefinition } from "@sluice/core/plugin";
import { httpPermissions } from "@sluice/core/sink-http";
import denoJson from "./deno.json" with { type: "json" };
import {
  createSentrySink,
  DEFAULT_TIMEOUT_MS,
  resolveSentrySettings,
  SENTRY_ENV_VARS,
  type SentryConfig,
} from "./sentry_sink.ts";

const rate = (description: string) => ({
  type: "number",
  minimum: 0,
  maximum: 1,
  description,
});

/** JSON Schema of {@link SentryConfig}. */
export const sentryConfigSchema: JsonSchema = {
  type: "object",
  properties: {
    dsn: {
      type: "string",
      description: "The project's DSN (else SENTRY_DSN); a secret: use os.environ/SENTRY_DSN.",
    },
    environment: {
      type: "string",
      description: "Sentry environment (else SENTRY_ENVIRONMENT, else production).",
    },
    release: {
      type: "string",
      description: "Sentry release (else SENTRY_RELEASE, else sluice@<gateway version>).",
    },
    server_name: { type: "string", description: "Sentry server_name." },
    sample_rate: rate(
      "Share of failed calls sent, 0 to 1 (else SENTRY_API_SAMPLE_RATE, else 1); " +
        "gateway errors are always sent.",
    ),
    trace_rate: rate(
      "Accepted for LiteLLM compatibility (else SENTRY_API_TRACE_RATE); no transactions are sent.",
    ),
    include_success: {
      type: "boolean",
      default: false,
      description: "Also send successful calls, as info events.",
    },
    tags: {
      type: "object",
      additionalProperties: { type: "string" },
      description: "Tags added to every event.",
    },
    timeout_ms: {
      type: "integer",
      minimum: 1,
      default: DEFAULT_TIMEOUT_MS,
      description: "Timeout of one POST in milliseconds.",
    },
    concurrency: {
      type: "integer",
      minimum: 1,
      maximum: 64,
      default: 4,
      description: "Envelopes in flight at once while sending one batch.",
    },
  },
  additionalProperties: false,
};

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
