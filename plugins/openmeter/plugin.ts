/**
 * The openmeter plugin definition.
 * @module
 */
import type { JsonSchema, PluginDefinition } from "@sluice/core/plugin";
import { httpPermissions } from "@sluice/core/sink-http";
import denoJson from "./deno.json" with { type: "json" };
import { DEFAULT_EVENT_TYPE, DEFAULT_SOURCE } from "./cloud_event.ts";
import {
  createOpenMeterSink,
  DEFAULT_ENDPOINT,
  DEFAULT_TIMEOUT_MS,
  OPENMETER_ENV,
  type OpenMeterConfig,
  resolveSettings,
} from "./openmeter_sink.ts";
import { openMeterLiteLLM } from "./litellm.ts";

/** JSON Schema of {@link OpenMeterConfig}. */
export const openMeterConfigSchema: JsonSchema = {
  type: "object",
  properties: {
    api_key: {
      type: "string",
      minLength: 1,
      description: "OpenMeter API token (default: OPENMETER_API_KEY). Required.",
    },
    endpoint: {
      type: "string",
      pattern: "^https?://",
      description: `Base URL (default: OPENMETER_API_ENDPOINT, else ${DEFAULT_ENDPOINT}).`,
    },
    event_type: {
      type: "string",
      minLength: 1,
      description: `CloudEvents type (default: OPENMETER_EVENT_TYPE, else ${DEFAULT_EVENT_TYPE}).`,
    },
    source: {
      type: "string",
      minLength: 1,
      format: "uri-reference",
      default: DEFAULT_SOURCE,
      description: "CloudEvents source; OpenMeter de-duplicates on source + id.",
    },
    trust_request_user: {
      type: "boolean",
      description: "Bill the request's user field when the key has no user and no team " +
        "(default: OPENMETER_TRUST_REQUEST_USER, else false).",
    },
    include_failures: {
      type: "boolean",
      default: false,
      description: "Send failed calls too.",
    },
    timeout_ms: {
      type: "integer",
      minimum: 1,
      default: DEFAULT_TIMEOUT_MS,
      description: "Timeout of one POST in milliseconds.",
    },
  },
  additionalProperties: false,
};

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
