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
import { parseKeyValueList, signalPathUrl } from "./env.ts";
import { PRESET_NAMES, type PresetName, PRESETS, type PresetValues } from "./presets.ts";

/** The three OpenTelemetry signals. */
export const SIGNAL_NAMES = ["traces", "metrics", "logs"] as const;

/** An OpenTelemetry signal. */
export type SignalName = typeof SIGNAL_NAMES[number];

/**
 * Exporters: OTLP (over HTTP or gRPC; LiteLLM's names `otlp_http` and
 * `otlp_grpc` pick the transport), or the SDK's console exporters (stdout).
 */
export type ExporterName = "otlp" | "otlp_http" | "otlp_grpc" | "console";

/** OTLP transports and encodings. */
export type OtlpProtocol = "grpc" | "http/json" | "http/protobuf";

/** Request body compression. */
export type Compression = "gzip" | "none";

/** Metric aggregation temporality preference (the OTel variable's values). */
export type TemporalityPreference = "cumulative" | "delta" | "lowmemory";

/**
 * Where message content goes, as OpenTelemetry's GenAI instrumentation
 * utilities name it (`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`):
 * `span_only`, `event_only` (the calls' log records), `span_and_event`,
 * `no_content`.
 */
export type ContentCapture = "span_only" | "event_only" | "span_and_event" | "no_content";

/** Every {@link ContentCapture} mode. */
export const CONTENT_CAPTURE_MODES: readonly [ContentCapture, ...ContentCapture[]] = [
  "span_only",
  "event_only",
  "span_and_event",
  "no_content",
];

/** `config:` of an otel sink entry. Every field is optional. */
export interface OtelConfig {
  /**
   * A backend template: `signoz`, `honeycomb`, `traceloop`, `laminar`, `langfuse`, `portkey`,
   * `arize`, `langtrace`, `langsmith`.
   */
  preset?: PresetName;
  /**
   * The signals to send (default: traces, plus metrics and logs when
   * `OTEL_METRICS_EXPORTER` / `OTEL_LOGS_EXPORTER` ask for them).
   */
  signals?: SignalName[];
  /** `otlp` (default), `otlp_http`, `otlp_grpc` or `console`. */
  exporter?: ExporterName;
  /** `http/protobuf` (default), `http/json` or `grpc`. */
  protocol?: OtlpProtocol;
  /**
   * Base OTLP URL. Over HTTP `/v1/<signal>` is appended (unless the path
   * already ends with it); over gRPC it is the collector's address.
   */
  endpoint?: string;
  /** The full traces URL, used as given (wins over `endpoint`). */
  traces_endpoint?: string;
  /** The full metrics URL, used as given (wins over `endpoint`). */
  metrics_endpoint?: string;
  /** The full logs URL, used as given (wins over `endpoint`). */
  logs_endpoint?: string;
  /** Request headers (gRPC metadata), e.g. authentication (use `${NAME}` for secrets). */
  headers?: Record<string, string>;
  /** PEM file (absolute path) of the CA that signed the collector's certificate (default `OTEL_EXPORTER_OTLP_CERTIFICATE`). */
  certificate?: string;
  /** PEM file (absolute path) of the client's private key for mTLS (default `OTEL_EXPORTER_OTLP_CLIENT_KEY`). */
  client_key?: string;
  /** PEM file (absolute path) of the client's certificate chain for mTLS (default `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`). */
  client_certificate?: string;
  /** `gzip` or `none` (default `OTEL_EXPORTER_OTLP_COMPRESSION`, else none). */
  compression?: Compression;
  /** Timeout of one export request in milliseconds (default 10,000). */
  timeout_ms?: number;
  /** Interval between metric exports in milliseconds (default `OTEL_METRIC_EXPORT_INTERVAL`, else 60,000). */
  metric_export_interval_ms?: number;
  /** Metric temporality (default `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`, else cumulative). */
  metrics_temporality?: TemporalityPreference;
  /**
   * Export the sink pipeline's numbers (`sluice.sink.*`, every sink's) with the metrics
   * (default true; they need the gateway's process: `sandbox: false`).
   */
  pipeline_metrics?: boolean;
  /** `service.name` of the resource (default `OTEL_SERVICE_NAME`, else `sluice`). */
  service_name?: string;
  /** Extra resource attributes (over `OTEL_RESOURCE_ATTRIBUTES`). */
  resource_attributes?: Record<string, string | number | boolean>;
  /**
   * Where the message content the sink's redaction policy kept goes: on the
   * spans, on the calls' log records (the GenAI event), on both (`true`,
   * the default) or nowhere (`false`). Default
   * `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`, else `true`.
   */
  capture_messages?: boolean | ContentCapture;
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

/** The OTLP/gRPC address when nothing sets an endpoint (the OTel default). */
export const DEFAULT_GRPC_URL = "http://localhost:4317";

/** The metric export interval when neither config nor environment sets one (the OTel default). */
export const DEFAULT_METRIC_INTERVAL_MS = 60_000;

/** `service.name` when neither config nor environment sets one. */
export const DEFAULT_SERVICE_NAME = "sluice";

const SIGNAL_ENV = ["TRACES", "METRICS", "LOGS"] as const;

/** The standard OpenTelemetry variables the plugin reads. */
export const OTEL_ENV_VARS: readonly string[] = [
  ...[
    "ENDPOINT",
    "HEADERS",
    "PROTOCOL",
    "TIMEOUT",
    "COMPRESSION",
    "CERTIFICATE",
    "CLIENT_KEY",
    "CLIENT_CERTIFICATE",
  ].flatMap((what) => [
    `OTEL_EXPORTER_OTLP_${what}`,
    ...SIGNAL_ENV.map((signal) => `OTEL_EXPORTER_OTLP_${signal}_${what}`),
  ]),
  "OTEL_EXPORTER_OTLP_INSECURE",
  ...SIGNAL_ENV.map((signal) => `OTEL_${signal}_EXPORTER`),
  "OTEL_METRIC_EXPORT_INTERVAL",
  "OTEL_METRIC_EXPORT_TIMEOUT",
  "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
  "OTEL_SERVICE_NAME",
  "OTEL_RESOURCE_ATTRIBUTES",
  "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
  "OTEL_ATTRIBUTE_COUNT_LIMIT",
  "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
  "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
  "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
];

/** LiteLLM's variables for its `otel` callback, accepted for migration. */
export const LITELLM_ENV_VARS: readonly string[] = [
  "OTEL_EXPORTER",
  "OTEL_ENDPOINT",
  "OTEL_HEADERS",
];

/**
 * The variables `@grpc/grpc-js` reads when it loads or connects (logging,
 * tracing, resolver, TLS and proxy settings): a sandboxed plugin must be
 * allowed to read them, or the gRPC transport fails to load.
 */
export const GRPC_ENV_VARS: readonly string[] = [
  "GRPC_NODE_VERBOSITY",
  "GRPC_VERBOSITY",
  "GRPC_NODE_TRACE",
  "GRPC_TRACE",
  "GRPC_NODE_USE_ALTERNATIVE_RESOLVER",
  "GRPC_NODE_DEBUG_SEND_ERROR_DETAILS",
  "GRPC_EXPERIMENTAL_ENABLE_OUTLIER_DETECTION",
  "GRPC_SSL_CIPHER_SUITES",
  "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH",
  "grpc_proxy",
  "https_proxy",
  "http_proxy",
  "no_grpc_proxy",
  "no_proxy",
];

/** Every environment variable the plugin may read (its `permissions.env`). */
export const OTEL_PLUGIN_ENV: readonly string[] = [
  ...OTEL_ENV_VARS,
  ...LITELLM_ENV_VARS,
  ...GRPC_ENV_VARS,
  ...Object.values(PRESETS).flatMap((p) => p.env),
];

const httpUrl = z.url({
  protocol: /^https?$/,
  error: "must be an absolute http:// or https:// URL",
});

const absolutePath = z.string().regex(/^\//, { error: "must be an absolute file path" });

const configZod = z.strictObject({
  preset: z.enum(PRESET_NAMES).optional()
    .describe("backend template filling endpoint and auth header from its documented env vars"),
  signals: z.array(z.enum(SIGNAL_NAMES)).min(1).optional()
    .describe("signals to send: traces, metrics, logs (default traces, plus OTEL_*_EXPORTER)"),
  exporter: z.enum(["otlp", "otlp_http", "otlp_grpc", "console"]).optional()
    .describe("otlp (default), otlp_http, otlp_grpc or console (stdout)"),
  protocol: z.enum(["grpc", "http/json", "http/protobuf"]).optional()
    .describe("OTLP transport and encoding (default http/protobuf)"),
  endpoint: httpUrl.optional()
    .describe("base OTLP URL; over HTTP /v1/<signal> is appended unless already there"),
  traces_endpoint: httpUrl.optional().describe("full traces URL, used as given"),
  metrics_endpoint: httpUrl.optional().describe("full metrics URL, used as given"),
  logs_endpoint: httpUrl.optional().describe("full logs URL, used as given"),
  headers: z.record(z.string(), z.string()).optional()
    .describe("request headers / gRPC metadata, e.g. authentication (use ${NAME} for secrets)"),
  compression: z.enum(["gzip", "none"]).optional().describe("request compression (default none)"),
  certificate: absolutePath.optional().describe(
    "PEM file of the CA that signed the collector's certificate",
  ),
  client_key: absolutePath.optional().describe("PEM file of the client's private key (mTLS)"),
  client_certificate: absolutePath.optional().describe(
    "PEM file of the client's certificate (mTLS)",
  ),
  timeout_ms: z.int().positive().optional().describe("timeout of one export request (ms)"),
  metric_export_interval_ms: z.int().min(100).optional()
    .describe("interval between metric exports (ms, default 60000)"),
  metrics_temporality: z.enum(["cumulative", "delta", "lowmemory"]).optional()
    .describe("metric temporality preference (default cumulative)"),
  pipeline_metrics: z.boolean().optional()
    .describe("export every sink's pipeline numbers as sluice.sink.* metrics (default true)"),
  service_name: z.string().min(1).optional().describe("resource service.name"),
  resource_attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
    .optional().describe("extra resource attributes"),
  capture_messages: z.union([z.boolean(), z.enum(CONTENT_CAPTURE_MODES)]).optional()
    .describe(
      "where the message content the sink's redaction policy kept goes: true (spans and log records), false, or one of " +
        CONTENT_CAPTURE_MODES.join(", "),
    ),
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

/** How one signal is exported. */
export interface ResolvedSignal {
  /** OTLP, or the SDK's console exporter. */
  exporter: "otlp" | "console";
  /** Transport and encoding (OTLP only). */
  protocol: OtlpProtocol;
  /** The signal's URL (OTLP/HTTP) or the collector's address (gRPC); empty for `console`. */
  url: string;
  /** Where the URL came from (`config.endpoint`, `preset langfuse`, an env var, `default`). */
  urlSource: string;
  /** Request headers (gRPC metadata), lowercase names. */
  headers: Record<string, string>;
  /** Timeout of one export request. */
  timeoutMs: number;
  /** Request body compression. */
  compression: Compression;
  /** TLS files (absolute paths of PEM files): a CA to trust, a client key and certificate (mTLS). */
  tls: TlsFiles;
}

/** PEM files for TLS: the CA to trust (beside the system's), the client's key and certificate. */
export interface TlsFiles {
  /** CA certificate(s) that signed the collector's certificate. */
  ca?: string;
  /** The client's private key (mTLS). */
  key?: string;
  /** The client's certificate chain (mTLS). */
  cert?: string;
}

/** Everything the sink needs, resolved from config, preset and environment. */
export interface ResolvedOtelConfig {
  /** The signals sent, each with its exporter settings. */
  signals: Partial<Record<SignalName, ResolvedSignal>>;
  /** Metric export interval and temporality, and whether the pipeline's numbers go with them. */
  metrics: { intervalMs: number; temporality: TemporalityPreference; pipeline: boolean };
  /** Resource attributes. */
  resource: Record<string, string | number | boolean>;
  /** Options of the span mapping (`captureMessages`: content on the spans or the log records). */
  span: GenAiSpanOptions;
  /** Where message content goes. */
  content: { spans: boolean; logs: boolean };
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

/** The content mode of `capture_messages`, else the environment's, else both. */
function contentOf(
  config: OtelConfig,
  env: EnvReader,
  signals: ResolvedOtelConfig["signals"],
  warnings: string[],
): ResolvedOtelConfig["content"] {
  const name = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT";
  let mode: boolean | ContentCapture = config.capture_messages ?? true;
  const raw = config.capture_messages === undefined ? env(name)?.trim().toLowerCase() : undefined;
  if (raw === "true" || raw === "false") mode = raw === "true";
  else if (raw && (CONTENT_CAPTURE_MODES as readonly string[]).includes(raw)) {
    mode = raw as ContentCapture;
  } else if (raw) {
    warnings.push(
      `${name}=${JSON.stringify(raw)} is not true, false or one of ${
        CONTENT_CAPTURE_MODES.join(", ")
      }; content goes on spans and log records`,
    );
  }
  const content = {
    spans: mode === true || mode === "span_only" || mode === "span_and_event",
    logs: mode === true || mode === "event_only" || mode === "span_and_event",
  };
  const from = config.capture_messages === undefined ? name : "capture_messages";
  if (content.spans && !content.logs && !signals.traces && signals.logs) {
    warnings.push(
      `${from} puts message content on spans only, and traces are not sent: no content leaves`,
    );
  }
  if (content.logs && !content.spans && !signals.logs && signals.traces) {
    warnings.push(
      `${from} puts message content on log records only, and logs are not sent: no content leaves`,
    );
  }
  return content;
}

/** The first of `names` that is set, with its value trimmed. */
function firstEnv(env: EnvReader, names: string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = env(name)?.trim();
    if (value) return { name, value };
  }
  return undefined;
}

/** The signal-specific variable name, then the generic one (`OTEL_EXPORTER_OTLP_<SIGNAL>_<what>`). */
const otlpVars = (signal: SignalName, what: string) => [
  `OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_${what}`,
  `OTEL_EXPORTER_OTLP_${what}`,
];

function oneOf<T extends string>(raw: string, from: string, allowed: readonly T[]): T {
  const value = raw.toLowerCase() as T;
  if (allowed.includes(value)) return value;
  throw new Error(
    `otel: ${from}=${JSON.stringify(raw)}: expected ${allowed.join(", ")}`,
  );
}

/** `OTEL_<SIGNAL>_EXPORTER`: `otlp`, `console`, `none` (the first one listed that this plugin has). */
function signalExporterFromEnv(
  env: EnvReader,
  signal: SignalName,
): "otlp" | "console" | "none" | undefined {
  const name = `OTEL_${signal.toUpperCase()}_EXPORTER`;
  const listed = env(name)?.split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
  if (!listed?.length) return undefined;
  const known = listed.find((e) => e === "otlp" || e === "console" || e === "none");
  if (!known) {
    throw new Error(
      `otel: ${name}=${JSON.stringify(env(name))}: expected otlp, console or none`,
    );
  }
  return known as "otlp" | "console" | "none";
}

/** LiteLLM's `OTEL_EXPORTER`: `console`, `otlp_http`, `otlp_grpc` (also `grpc`, `http/…`). */
function litellmExporter(
  env: EnvReader,
): { exporter: "otlp" | "console"; grpc: boolean } | undefined {
  const value = env("OTEL_EXPORTER")?.trim().toLowerCase();
  if (!value) return undefined;
  if (value === "console") return { exporter: "console", grpc: false };
  return { exporter: "otlp", grpc: value.includes("grpc") };
}

/** Which signals are sent: `config.signals`, else traces plus those `OTEL_<SIGNAL>_EXPORTER` turns on. */
function signalsOf(config: OtelConfig, env: EnvReader): SignalName[] {
  if (config.signals) return [...new Set(config.signals)];
  return SIGNAL_NAMES.filter((signal) => {
    const chosen = signalExporterFromEnv(env, signal);
    return chosen === undefined ? signal === "traces" : chosen !== "none";
  });
}

function lowerKeys(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = v;
  return out;
}

function envHeaders(
  env: EnvReader,
  signal: SignalName,
  warnings: string[],
): Record<string, string> {
  const merged: Record<string, string> = {};
  for (const name of ["OTEL_HEADERS", ...otlpVars(signal, "HEADERS").reverse()]) {
    const { pairs, skipped } = parseKeyValueList(env(name), { colon: name === "OTEL_HEADERS" });
    if (skipped.length) {
      const warning = `${name}: entries ${skipped.join(", ")} are not key=value pairs; skipped`;
      if (!warnings.includes(warning)) warnings.push(warning);
    }
    Object.assign(merged, lowerKeys(pairs));
  }
  return merged;
}

/**
 * An endpoint as a URL: http(s) URLs as given; for gRPC also a bare
 * `host:port`, which is `https://` unless `OTEL_EXPORTER_OTLP_INSECURE` is true.
 */
function checkUrl(url: string, from: string, grpc: boolean, env: EnvReader): string {
  if (grpc && !/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    const insecure = env("OTEL_EXPORTER_OTLP_INSECURE")?.trim().toLowerCase() === "true";
    url = `${insecure ? "http" : "https"}://${url}`;
  }
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
    throw new Error(`otel: ${from} must be an absolute http(s) URL; got ${displayUrl(url)}`);
  }
  return url;
}

interface Endpoint {
  url: string;
  source: string;
  /** The environment chose it (its header variables apply). */
  fromEnv: boolean;
}

/** The signal's URL (HTTP) or the collector's address (gRPC), and where it came from. */
function endpointOf(
  config: OtelConfig,
  signal: SignalName,
  grpc: boolean,
  preset: { name: PresetName; endpoint: string; url?: string } | undefined,
  env: EnvReader,
): Endpoint {
  const signalUrl = (base: string, keepPath: boolean) =>
    grpc ? base : signalPathUrl(base, signal, { keepSignalPath: keepPath });
  const own = config[`${signal}_endpoint`];
  if (own) {
    const from = `config.${signal}_endpoint`;
    return { url: checkUrl(own, from, grpc, env), source: from, fromEnv: false };
  }
  if (config.endpoint) {
    const url = checkUrl(config.endpoint, "config.endpoint", grpc, env);
    return { url: signalUrl(url, true), source: "config.endpoint", fromEnv: false };
  }
  if (preset) {
    const from = `preset ${preset.name}`;
    if (preset.url && !grpc) {
      return {
        url: checkUrl(preset.url, `${from} endpoint`, grpc, env),
        source: from,
        fromEnv: false,
      };
    }
    const url = checkUrl(preset.endpoint, `${from} endpoint`, grpc, env);
    return { url: signalUrl(url, false), source: from, fromEnv: false };
  }
  const [specific, generic] = otlpVars(signal, "ENDPOINT");
  const exact = env(specific)?.trim();
  if (exact) return { url: checkUrl(exact, specific, grpc, env), source: specific, fromEnv: true };
  const base = env(generic)?.trim();
  if (base) {
    // The specification: the signal path is always appended to the generic endpoint.
    return {
      url: signalUrl(checkUrl(base, generic, grpc, env), false),
      source: generic,
      fromEnv: true,
    };
  }
  const litellm = env("OTEL_ENDPOINT")?.trim();
  if (litellm) {
    const url = checkUrl(litellm, "OTEL_ENDPOINT", grpc, env);
    return { url: signalUrl(url, true), source: "OTEL_ENDPOINT", fromEnv: true };
  }
  const url = grpc ? DEFAULT_GRPC_URL : signalPathUrl("http://localhost:4318", signal);
  return { url, source: "default", fromEnv: true };
}

/** How one signal is exported, from config, preset and environment. */
function resolveSignal(
  config: OtelConfig,
  signal: SignalName,
  preset: { name: PresetName; values: PresetValues } | undefined,
  env: EnvReader,
  warnings: string[],
): ResolvedSignal {
  const litellm = litellmExporter(env);
  const fromEnv = signalExporterFromEnv(env, signal);
  const console = config.exporter === "console" ||
    (config.exporter === undefined && !preset &&
      (fromEnv === "console" || (fromEnv === undefined && litellm?.exporter === "console")));
  const protocolVar = firstEnv(env, otlpVars(signal, "PROTOCOL"));
  const protocol: OtlpProtocol = config.protocol ??
    (config.exporter === "otlp_grpc" ? "grpc" : undefined) ??
    (config.exporter === "otlp_http" ? "http/protobuf" : undefined) ??
    preset?.values.protocol ??
    (protocolVar
      ? oneOf(protocolVar.value, protocolVar.name, ["grpc", "http/protobuf", "http/json"])
      : undefined) ??
    (litellm?.grpc ? "grpc" : "http/protobuf");
  const compressionVar = firstEnv(env, otlpVars(signal, "COMPRESSION"));
  const compression: Compression = config.compression ??
    (compressionVar ? oneOf(compressionVar.value, compressionVar.name, ["gzip", "none"]) : "none");
  const timeoutMs = config.timeout_ms ??
    positiveInt(env, otlpVars(signal, "TIMEOUT"), warnings) ?? DEFAULT_TIMEOUT_MS;
  const tls = tlsOf(config, signal, env);
  if (console) {
    return {
      exporter: "console",
      protocol,
      url: "",
      urlSource: "console",
      headers: {},
      timeoutMs,
      compression,
      tls: {},
    };
  }
  const endpoint = endpointOf(
    config,
    signal,
    protocol === "grpc",
    preset
      ? { name: preset.name, endpoint: preset.values.endpoint, url: preset.values.urls?.[signal] }
      : undefined,
    env,
  );
  const headers: Record<string, string> = {
    ...(endpoint.fromEnv ? envHeaders(env, signal, warnings) : {}),
    ...lowerKeys(preset?.values.headers ?? {}),
    ...lowerKeys(config.headers ?? {}),
  };
  if (preset) {
    const unmet = preset.values.missing.filter((m) => !(m.header in headers));
    if (unmet.length) {
      const needs = unmet.map((m) => `${m.env.join(" and ")} (or config.headers["${m.header}"])`);
      throw new Error(`otel: preset ${preset.name} needs ${needs.join(", ")}`);
    }
  }
  return {
    exporter: "otlp",
    protocol,
    url: endpoint.url,
    urlSource: endpoint.source,
    headers,
    timeoutMs,
    compression,
    tls,
  };
}

/** The TLS files: config, else `OTEL_EXPORTER_OTLP_<SIGNAL>_…`, else `OTEL_EXPORTER_OTLP_…`. */
function tlsOf(config: OtelConfig, signal: SignalName, env: EnvReader): TlsFiles {
  const pick = (own: string | undefined, what: string, key: keyof OtelConfig) => {
    if (own) return own;
    const found = firstEnv(env, otlpVars(signal, what));
    if (!found) return undefined;
    if (!found.value.startsWith("/")) {
      throw new Error(`otel: ${found.name} must be an absolute file path (config.${key} too)`);
    }
    return found.value;
  };
  const files: TlsFiles = {
    ca: pick(config.certificate, "CERTIFICATE", "certificate"),
    key: pick(config.client_key, "CLIENT_KEY", "client_key"),
    cert: pick(config.client_certificate, "CLIENT_CERTIFICATE", "client_certificate"),
  };
  if (Boolean(files.key) !== Boolean(files.cert)) {
    throw new Error(
      "otel: a client key needs its client certificate and the other way round " +
        "(client_key and client_certificate, or OTEL_EXPORTER_OTLP_CLIENT_KEY and _CLIENT_CERTIFICATE)",
    );
  }
  return Object.fromEntries(Object.entries(files).filter(([, v]) => v)) as TlsFiles;
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

/** Metric export interval and temporality, from config and environment. */
function metricsOf(
  config: OtelConfig,
  env: EnvReader,
  warnings: string[],
): ResolvedOtelConfig["metrics"] {
  const temporalityVar = firstEnv(env, ["OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"]);
  return {
    intervalMs: config.metric_export_interval_ms ??
      positiveInt(env, ["OTEL_METRIC_EXPORT_INTERVAL"], warnings) ?? DEFAULT_METRIC_INTERVAL_MS,
    temporality: config.metrics_temporality ??
      (temporalityVar
        ? oneOf(temporalityVar.value, temporalityVar.name, ["cumulative", "delta", "lowmemory"])
        : "cumulative"),
    pipeline: config.pipeline_metrics ?? true,
  };
}

/**
 * Resolves a validated config against a preset and the environment.
 *
 * Precedence, highest first: the sink's `config`, then its `preset`, then
 * the standard `OTEL_*` variables (signal-specific before generic), then
 * LiteLLM's `OTEL_EXPORTER` / `OTEL_ENDPOINT` / `OTEL_HEADERS`, then the
 * defaults. Header variables (`OTEL_EXPORTER_OTLP_HEADERS`, …) apply only
 * when the endpoint also came from the environment, so credentials meant
 * for one collector never go to another. A preset sends only the signals
 * its backend accepts.
 *
 * @param config The validated config.
 * @param env Reads an environment variable (the plugin passes `ctx.env`).
 * @param gatewayVersion `service.version` of the resource.
 * @returns The resolved settings.
 * @throws Error for unusable settings (a bad URL or protocol, a preset without its credentials).
 */
export function resolveOtelConfig(
  config: OtelConfig,
  env: EnvReader,
  gatewayVersion = "0.0.0",
): ResolvedOtelConfig {
  const warnings: string[] = [];
  const presetName = config.preset;
  const preset = presetName
    ? { name: presetName, values: PRESETS[presetName].resolve(env) }
    : undefined;
  const signals: ResolvedOtelConfig["signals"] = {};
  for (const signal of signalsOf(config, env)) {
    const accepted = presetName ? PRESETS[presetName].signals : SIGNAL_NAMES;
    if (!accepted.includes(signal)) {
      const message = `preset ${presetName} accepts ${accepted.join(", ")} only`;
      if (config.signals) throw new Error(`otel: config.signals: ${signal}: ${message}`);
      warnings.push(`${signal} not sent: ${message}`);
      continue;
    }
    signals[signal] = resolveSignal(config, signal, preset, env, warnings);
  }
  const attributeCountLimit = config.attribute_count_limit ??
    positiveInt(env, ["OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "OTEL_ATTRIBUTE_COUNT_LIMIT"], warnings) ??
    DEFAULT_ATTRIBUTE_COUNT_LIMIT;
  const attributeValueLengthLimit = config.attribute_value_length_limit ??
    positiveInt(
      env,
      ["OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT"],
      warnings,
    );
  const content = contentOf(config, env, signals, warnings);
  return {
    signals,
    metrics: metricsOf(config, env, warnings),
    resource: resourceOf(config, env, gatewayVersion, warnings),
    content,
    span: {
      captureMessages: content.spans || content.logs,
      systemInstructions: config.system_instructions ?? "auto",
      attributeCountLimit,
      attributeValueLengthLimit,
    },
    preset: presetName,
    warnings,
  };
}
