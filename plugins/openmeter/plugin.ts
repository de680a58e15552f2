/**
 * The openmeter plugin definition.
 * @module
 */
import type { PluginDefinition } from "@sluice/core/plugin";
import { httpPermissions } from "@sluice/core/sink-http";
import denoJson from "./deno.json" with { type: "json" };
import { type OpenMeterConfig, openMeterConfigSchema } from "./config.ts";
import { createOpenMeterSink, OPENMETER_ENV, resolveSettings } from "./openmeter_sink.ts";
import { openMeterLiteLLM } from "./litellm.ts";

/**
 * The openmeter plugin: usage events (CloudEvents 1.0) for billing, one
 * per successful call, to OpenMeter's `POST /api/v1/events`. Mark its sink
 * entry `required: true` so that `no-log` and disabled-sink headers cannot
 * skip billing.
 *
 * @example gateway.yaml
 * ```yaml
 * sinks:
 *   - use: openmeter
 *     required: true
 *     config: { api_key: os.environ/OPENMETER_API_KEY }
 * ```
 */
const openMeterPlugin: PluginDefinition<OpenMeterConfig> = {
  name: "openmeter",
  version: denoJson.version,
  apiVersion: 1,
  configSchema: openMeterConfigSchema,
  // The host of its endpoint (config or OPENMETER_API_ENDPOINT, default openmeter.cloud).
  permissions: (config, env) =>
    httpPermissions(() => [resolveSettings(config, env).url], OPENMETER_ENV),
  litellm: openMeterLiteLLM,
  create: (config, ctx) => createOpenMeterSink(config, ctx),
};

export default openMeterPlugin;
