/**
 * The otel sink's `config:`: validation (zod) and resolution against the
 * standard OpenTelemetry environment variables, LiteLLM's variables and
 * the backend presets.
 * @module
 */
import { z } from "zod";
import { definePluginConfig, type SameShape } from "@sluice/core/plugin-config";
import { SDK_INFO } from "@opentelemetry/core";
import {
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_VERSION,
  ATTR_TELEMETRY_SDK_LANGUAGE,
  ATTR_TELEMETRY_SDK_NAME,
  ATTR_TELEMETRY_SDK_VERSION,
} from "@opentelemetry/semantic-conventions";
import { DEFAULT_ATTRIBUTE_COUNT_LIMIT, type GenAiSpanOptions } from "./genai.ts";
import { displayUrl } from "@sluice/core/sink-http";
import { parseKeyValueList, tracesUrl } from "./env.ts";
import { PRESET_NAMES, type PresetName, PRESETS } from "./presets.ts";

/** Exporters: OTLP over HTTP, or the SDK's console exporter (stdout). */
export type ExporterName = "otlp_http" | "console";

/** OTLP/HTTP encodings. */
export type OtlpProtocol = "http/json" | "http/protobuf";

/** `config:` of an otel sink entry. Every field is optional. */
export interface OtelConfig {
  /** A backend template: `signoz`, `honeycomb`, `traceloop`, `laminar`, `langfuse`, `portkey`. */
  preset?: PresetName;
  /** `otlp_http` (default) or `console`. */
  exporter?: ExporterName;
  /** `http/protobuf` (default) or `http/json`. */
  protocol?: OtlpProtocol;
  /** Base OTLP/HTTP URL; `/v1/traces` is appended unless the path already ends with it. */
  endpoint?: string;
  /** The full traces URL, used as given (wins over `endpoint`). */
  traces_endpoint?: string;
  /** Request headers, e.g. authentication (use `${NAME}` for secrets). */
  headers?: Record<string, string>;
  /** Timeout of one export request in milliseconds (default 10,000). */
  timeout_ms?: number;
  /** `service.name` of the resource (default `OTEL_SERVICE_NAME`, else `sluice`). */
  service_name?: string;
  /** Extra resource attributes (over `OTEL_RESOURCE_ATTRIBUTES`). */
  resource_attributes?: Record<string, string | number | boolean>;
  /** Record message content the sink's redaction policy kept (default true). */
  capture_messages?: boolean;
  /** Where system messages go: `auto` (default), `separate` or `inline`. */
  system_instructions?: "auto" | "separate" | "inline";
  /** Most attributes per span (default `OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`, else 128). */
  attribute_count_limit?: number;
  /** Longest attribute string (default `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`, else none). */
  attribute_value_length_limit?: number;
}

/** The export timeout when neither config nor environment sets one. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/** The OTLP/HTTP traces URL when nothing sets an endpoint (the OTel default). */
export const DEFAULT_TRACES_URL = "http://localhost:4318/v1/traces";

/** `service.name` when neither config nor environment sets one. */
export const DEFAULT_SERVICE_NAME = "sluice";

/** The standard OpenTelemetry variables the plugin reads. */
export const OTEL_ENV_VARS: readonly string[] = [
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
  "OTEL_EXPORTER_OTLP_HEADERS",
  "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
  "OTEL_EXPORTER_OTLP_PROTOCOL",
  "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
  "OTEL_EXPORTER_OTLP_TIMEOUT",
  "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
  "OTEL_TRACES_EXPORTER",
  "OTEL_SERVICE_NAME",
  "OTEL_RESOURCE_ATTRIBUTES",
  "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
  "OTEL_ATTRIBUTE_COUNT_LIMIT",
  "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
  "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
];

/** LiteLLM's variables for its `otel` callback, accepted for migration. */
export const LITELLM_ENV_VARS: readonly string[] = [
  "OTEL_EXPORTER",
  "OTEL_ENDPOINT",
  "OTEL_HEADERS",
];

/** Every environment variable the plugin may read (its `permissions.env`). */
export const OTEL_PLUGIN_ENV: readonly string[] = [
  ...OTEL_ENV_VARS,
  ...LITELLM_ENV_VARS,
  ...Object.values(PRESETS).flatMap((p) => p.env),
];

const httpUrl = z.url({
  protocol: /^https?$/,
  error: "must be an absolute http:// or https:// URL",
});

const configZod = z.strictObject({
  preset: z.enum(PRESET_NAMES).optional()
    .describe("backend template filling endpoint and auth header from its documented env vars"),
  exporter: z.enum(["otlp_http", "console"]).optional()
    .describe("otlp_http (default) or console (stdout)"),
  protocol: z.enum(["http/json", "http/protobuf"]).optional()
    .describe("OTLP/HTTP encoding (default http/protobuf)"),
  endpoint: httpUrl.optional()
    .describe("base OTLP/HTTP URL; /v1/traces is appended unless already there"),
  traces_endpoint: httpUrl.optional().describe("full traces URL, used as given"),
  headers: z.record(z.string(), z.string()).optional()
    .describe("request headers, e.g. authentication (use ${NAME} for secrets)"),
  timeout_ms: z.int().positive().optional().describe("timeout of one export request (ms)"),
  service_name: z.string().min(1).optional().describe("resource service.name"),
  resource_attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
    .optional().describe("extra resource attributes"),
  capture_messages: z.boolean().optional()
    .describe("record the message content the sink's redaction policy kept (default true)"),
  system_instructions: z.enum(["auto", "separate", "inline"]).optional()
    .describe("system messages in gen_ai.system_instructions (separate) or in the input messages"),
  attribute_count_limit: z.int().positive().optional()
    .describe("most attributes per span (default 128); gen_ai.* are kept first"),
  attribute_value_length_limit: z.int().positive().optional()
    .describe("longest attribute string value"),
});

// The interface is what the zod schema accepts (zod's types stay out of the public API).
true satisfies SameShape<z.input<typeof configZod>, OtelConfig>;
const otelConfig = definePluginConfig("otel", configZod);

/**
 * The JSON Schema of {@link OtelConfig} (draft-07, generated from the zod
 * schema the plugin validates with), for the gateway's config check and
 * `--print-schema`.
 */
export const otelConfigSchema: Record<string, unknown> = otelConfig.jsonSchema;

/**
 * Validates a config object.
 *
 * @param config The sink entry's `config:`.
 * @returns The config, typed.
 * @throws Error naming each invalid field (`otel: invalid config: config.protocol: …`).
 */
export function parseOtelConfig(config: unknown): OtelConfig {
  return otelConfig.parse(config);
}

/** Everything the sink needs, resolved from config, preset and environment. */
export interface ResolvedOtelConfig {
  /** Which exporter. */
  exporter: ExporterName;
  /** OTLP/HTTP encoding. */
  protocol: OtlpProtocol;
  /** The traces URL (for `otlp_http`; empty for `console`). */
  url: string;
  /** Where the URL came from (`config.endpoint`, `preset langfuse`, an env var, `default`). */
  urlSource: string;
  /** Request headers, lowercase names. */
  headers: Record<string, string>;
  /** Timeout of one export request. */
  timeoutMs: number;
  /** Resource attributes. */
  resource: Record<string, string | number | boolean>;
  /** Options of the span mapping. */
  span: GenAiSpanOptions;
  /** The preset used, if any. */
  preset?: PresetName;
  /** Things worth a warning at start (never secret values). */
  warnings: string[];
}

/** Reads an environment variable (the plugin passes `ctx.env`). */
export type EnvReader = (name: string) => string | undefined;

function positiveInt(env: EnvReader, names: string[], warnings: string[]): number | undefined {
  for (const name of names) {
    const raw = env(name)?.trim();
    if (!raw) continue;
    const n = Number(raw);
    if (Number.isInteger(n) && n > 0) return n;
    warnings.push(`${name}=${JSON.stringify(raw)} is not a positive integer; ignored`);
  }
  return undefined;
}

function exporterFromEnv(env: EnvReader): ExporterName | undefined {
  const standard = env("OTEL_TRACES_EXPORTER")?.split(",").map((s) => s.trim().toLowerCase());
  if (standard?.includes("otlp")) return "otlp_http";
  if (standard?.includes("console")) return "console";
  const litellm = env("OTEL_EXPORTER")?.trim().toLowerCase();
  if (!litellm) return undefined;
  if (litellm === "console") return "console";
  if (litellm.includes("grpc")) {
    throw new Error(
      `otel: OTEL_EXPORTER=${litellm} asks for OTLP/gRPC, which this plugin does not send; ` +
        "use otlp_http (most collectors listen for OTLP/HTTP on port 4318)",
    );
  }
  return "otlp_http";
}

function protocolOf(raw: string | undefined, from: string): OtlpProtocol | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  const value = raw.trim().toLowerCase();
  if (value === "http/json" || value === "http/protobuf") return value;
  if (value === "grpc") {
    throw new Error(
      `otel: ${from}=grpc is not supported: this plugin sends OTLP/HTTP; ` +
        "set http/protobuf or http/json (and the collector's HTTP port, usually 4318)",
    );
  }
  throw new Error(`otel: ${from}=${JSON.stringify(raw)}: expected http/protobuf or http/json`);
}

function lowerKeys(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = v;
  return out;
}

function envHeaders(env: EnvReader, warnings: string[]): Record<string, string> {
  const merged: Record<string, string> = {};
  for (
    const name of [
      "OTEL_HEADERS",
      "OTEL_EXPORTER_OTLP_HEADERS",
      "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    ]
  ) {
    const { pairs, skipped } = parseKeyValueList(env(name), { colon: name === "OTEL_HEADERS" });
    if (skipped.length) {
      warnings.push(`${name}: entries ${skipped.join(", ")} are not key=value pairs; skipped`);
    }
    Object.assign(merged, lowerKeys(pairs));
  }
  return merged;
}

function checkUrl(url: string, from: string): string {
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
    throw new Error(`otel: ${from} must be an absolute http(s) URL; got ${displayUrl(url)}`);
  }
  return url;
}

/** The traces URL and where it came from; `fromEnv` when the environment chose it. */
function endpointOf(
  config: OtelConfig,
  preset: { name: PresetName; endpoint: string } | undefined,
  env: EnvReader,
): { url: string; source: string; fromEnv: boolean } {
  if (config.traces_endpoint) {
    return {
      url: checkUrl(config.traces_endpoint, "config.traces_endpoint"),
      source: "config.traces_endpoint",
      fromEnv: false,
    };
  }
  if (config.endpoint) {
    return {
      url: tracesUrl(checkUrl(config.endpoint, "config.endpoint"), { keepTracesPath: true }),
      source: "config.endpoint",
      fromEnv: false,
    };
  }
  if (preset) {
    return {
      url: tracesUrl(checkUrl(preset.endpoint, `preset ${preset.name} endpoint`)),
      source: `preset ${preset.name}`,
      fromEnv: false,
    };
  }
  const traces = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")?.trim();
  if (traces) {
    return {
      url: checkUrl(traces, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
      source: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
      fromEnv: true,
    };
  }
  const generic = env("OTEL_EXPORTER_OTLP_ENDPOINT")?.trim();
  if (generic) {
    // The specification: the signal path is always appended to the generic endpoint.
    return {
      url: tracesUrl(checkUrl(generic, "OTEL_EXPORTER_OTLP_ENDPOINT")),
      source: "OTEL_EXPORTER_OTLP_ENDPOINT",
      fromEnv: true,
    };
  }
  const litellm = env("OTEL_ENDPOINT")?.trim();
  if (litellm) {
    return {
      url: tracesUrl(checkUrl(litellm, "OTEL_ENDPOINT"), { keepTracesPath: true }),
      source: "OTEL_ENDPOINT",
      fromEnv: true,
    };
  }
  return { url: DEFAULT_TRACES_URL, source: "default", fromEnv: true };
}

function resourceOf(
  config: OtelConfig,
  env: EnvReader,
  gatewayVersion: string,
  warnings: string[],
): Record<string, string | number | boolean> {
  const { pairs, skipped } = parseKeyValueList(env("OTEL_RESOURCE_ATTRIBUTES"));
  if (skipped.length) {
    warnings.push(
      `OTEL_RESOURCE_ATTRIBUTES: entries ${skipped.join(", ")} are not key=value pairs; skipped`,
    );
  }
  const resource: Record<string, string | number | boolean> = {
    [ATTR_SERVICE_NAME]: DEFAULT_SERVICE_NAME,
    [ATTR_SERVICE_VERSION]: gatewayVersion,
    [ATTR_TELEMETRY_SDK_NAME]: SDK_INFO[ATTR_TELEMETRY_SDK_NAME],
    [ATTR_TELEMETRY_SDK_LANGUAGE]: SDK_INFO[ATTR_TELEMETRY_SDK_LANGUAGE],
    [ATTR_TELEMETRY_SDK_VERSION]: SDK_INFO[ATTR_TELEMETRY_SDK_VERSION],
    "telemetry.distro.name": "@sluice/otel",
    ...pairs,
  };
  const serviceName = env("OTEL_SERVICE_NAME")?.trim();
  if (serviceName) resource[ATTR_SERVICE_NAME] = serviceName;
  Object.assign(resource, config.resource_attributes ?? {});
  if (config.service_name) resource[ATTR_SERVICE_NAME] = config.service_name;
  return resource;
}

/**
 * Resolves a validated config against a preset and the environment.
 *
 * Precedence, highest first: the sink's `config`, then its `preset`, then
 * the standard `OTEL_*` variables, then LiteLLM's `OTEL_EXPORTER` /
 * `OTEL_ENDPOINT` / `OTEL_HEADERS`, then the defaults. Header variables
 * (`OTEL_EXPORTER_OTLP_HEADERS`, …) apply only when the endpoint also came
 * from the environment, so credentials meant for one collector never go
 * to another.
 *
 * @param config The validated config.
 * @param env Reads an environment variable (the plugin passes `ctx.env`).
 * @param gatewayVersion `service.version` of the resource.
 * @returns The resolved settings.
 * @throws Error for unusable settings (gRPC, a bad URL, a preset without its credentials).
 */
export function resolveOtelConfig(
  config: OtelConfig,
  env: EnvReader,
  gatewayVersion = "0.0.0",
): ResolvedOtelConfig {
  const warnings: string[] = [];
  const presetName = config.preset;
  const preset = presetName ? PRESETS[presetName].resolve(env) : undefined;
  const exporter: ExporterName = config.exporter ?? (preset ? "otlp_http" : exporterFromEnv(env)) ??
    "otlp_http";
  const protocol = config.protocol ??
    protocolOf(env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"), "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") ??
    protocolOf(env("OTEL_EXPORTER_OTLP_PROTOCOL"), "OTEL_EXPORTER_OTLP_PROTOCOL") ??
    "http/protobuf";
  const endpoint = exporter === "otlp_http"
    ? endpointOf(
      config,
      preset && presetName ? { name: presetName, endpoint: preset.endpoint } : undefined,
      env,
    )
    : { url: "", source: "console", fromEnv: false };
  const headers: Record<string, string> = {
    ...(endpoint.fromEnv ? envHeaders(env, warnings) : {}),
    ...lowerKeys(preset?.headers ?? {}),
    ...lowerKeys(config.headers ?? {}),
  };
  if (exporter === "otlp_http" && preset) {
    const unmet = preset.missing.filter((m) => !(m.header in headers));
    if (unmet.length) {
      const needs = unmet.map((m) => `${m.env.join(" and ")} (or config.headers["${m.header}"])`);
      throw new Error(`otel: preset ${presetName} needs ${needs.join(", ")}`);
    }
  }
  const timeoutMs = config.timeout_ms ??
    positiveInt(
      env,
      ["OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"],
      warnings,
    ) ??
    DEFAULT_TIMEOUT_MS;
  const attributeCountLimit = config.attribute_count_limit ??
    positiveInt(env, ["OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "OTEL_ATTRIBUTE_COUNT_LIMIT"], warnings) ??
    DEFAULT_ATTRIBUTE_COUNT_LIMIT;
  const attributeValueLengthLimit = config.attribute_value_length_limit ??
    positiveInt(
      env,
      ["OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT"],
      warnings,
    );
  return {
    exporter,
    protocol,
    url: endpoint.url,
    urlSource: endpoint.source,
    headers,
    timeoutMs,
    resource: resourceOf(config, env, gatewayVersion, warnings),
    span: {
      captureMessages: config.capture_messages ?? true,
      systemInstructions: config.system_instructions ?? "auto",
      attributeCountLimit,
      attributeValueLengthLimit,
    },
    preset: presetName,
    warnings,
  };
}
