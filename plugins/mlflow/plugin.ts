/**
 * The mlflow plugin definition.
 * @module
 */
import type { PluginDefinition } from "@sluice/core/plugin";
import { httpPermissions } from "@sluice/core/sink-http";
import denoJson from "./deno.json" with { type: "json" };
import { type MlflowConfig, mlflowConfigSchema } from "./config.ts";
import { createMlflowSink, MLFLOW_ENV, resolveMlflowSettings } from "./mlflow_sink.ts";
import { mlflowLiteLLM } from "./litellm.ts";

/**
 * The mlflow plugin: one MLflow trace (one LLM span) per call to the
 * tracking server's OTLP endpoint. Answers to LiteLLM's `mlflow` callback.
 *
 * @example gateway.yaml
 * ```yaml
 * sinks:
 *   - use: mlflow
 *     config: { endpoint_url: http://localhost:5000, experiment_name: LiteLLM }
 * ```
 */
const mlflowPlugin: PluginDefinition<MlflowConfig> = {
  name: "mlflow",
  version: denoJson.version,
  apiVersion: 1,
  configSchema: mlflowConfigSchema,
  // The host of the tracking server (config or MLFLOW_TRACKING_URI).
  permissions: (config, env) =>
    httpPermissions(() => [resolveMlflowSettings(config, env).trackingUrl], MLFLOW_ENV),
  litellm: mlflowLiteLLM,
  create: (config, ctx) => createMlflowSink(config, ctx),
};

export default mlflowPlugin;
