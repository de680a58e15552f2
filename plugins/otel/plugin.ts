/**
 * The otel plugin definition.
 * @module
 */
import type { JsonSchema, PluginDefinition } from "@sluice/core/plugin";
import { httpPermissions } from "@sluice/core/sink-http";
import denoJson from "./deno.json" with { type: "json" };
import {
  OTEL_PLUGIN_ENV,
  type OtelConfig,
  otelConfigSchema,
  parseOtelConfig,
  resolveOtelConfig,
} from "./config.ts";
import { createOtelSink } from "./otel_sink.ts";
import type { PresetName } from "./presets.ts";

/** The LiteLLM callback names that become an otel sink with the preset of the same name. */
export const LITELLM_PRESET_CALLBACKS: readonly PresetName[] = ["arize", "langtrace"];

/**
 * The otel plugin: per call one OpenTelemetry GenAI span, a log record in
 * that span and GenAI metrics, exported over OTLP (gRPC, HTTP protobuf or
 * HTTP JSON, gzip optional) or to the console.
 *
 * `permissions.env` lists every variable it reads (the `OTEL_*` standard
 * ones, LiteLLM's `OTEL_EXPORTER`/`OTEL_ENDPOINT`/`OTEL_HEADERS`, and each
 * preset's), and the host of the collector it resolves from them.
 *
 * @example gateway.yaml
 * ```yaml
 * sinks:
 *   - use: otel
 *     config:
 *       endpoint: http://127.0.0.1:4317
 *       protocol: grpc
 *       compression: gzip
 *       signals: [traces, metrics, logs]
 * ```
 */
const otelPlugin: PluginDefinition<OtelConfig> = {
  name: "otel",
  version: denoJson.version,
  apiVersion: 1,
  configSchema: otelConfigSchema as JsonSchema,
  // The collectors' hosts it resolves per signal (config, a preset or the OTEL_* variables).
  // The TLS files it reads (CA, client key and certificate), when set.
  permissions: (config, env) => {
    const signals = () => {
      try {
        return Object.values(resolveOtelConfig(parseOtelConfig(config), env).signals);
      } catch {
        return []; // a config create() refuses
      }
    };
    const read = [...new Set(signals().flatMap((s) => Object.values(s.tls)))];
    return {
      ...httpPermissions(() => signals().map((signal) => signal.url || undefined), OTEL_PLUGIN_ENV),
      ...(read.length ? { read } : {}),
    };
  },
  // LiteLLM's OTEL_EXPORTER / OTEL_ENDPOINT / OTEL_HEADERS are read by the plugin itself.
  // `arize` and `langtrace` are LiteLLM callbacks that export OTLP: their presets. LiteLLM's
  // `langsmith` callback is the langsmith plugin (runs API); `preset: langsmith` is native only.
  litellm: {
    callbacks: ["otel", "opentelemetry", ...LITELLM_PRESET_CALLBACKS],
    toSink: ({ callback }) =>
      (LITELLM_PRESET_CALLBACKS as readonly string[]).includes(callback)
        ? { config: { preset: callback } }
        : {},
  },
  create: (config, ctx) => createOtelSink(config, ctx),
};

export default otelPlugin;
