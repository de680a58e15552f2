/**
 * The langfuse plugin definition.
 * @module
 */
import type { JsonSchema, PluginDefinition } from "@sluice/core/plugin";
import { httpPermissions } from "@sluice/core/sink-http";
import denoJson from "./deno.json" with { type: "json" };
import {
  DEFAULT_HOST,
  DEFAULT_MAX_BATCH_BYTES,
  DEFAULT_TIMEOUT_MS,
  LANGFUSE_ENV,
  type LangfuseConfig,
  resolveLangfuseSettings,
} from "./config.ts";
import { createLangfuseSink } from "./langfuse_sink.ts";
import { langfuseLiteLLM } from "./litellm.ts";

/** JSON Schema of {@link LangfuseConfig}. */
export const langfuseConfigSchema: JsonSchema = {
  type: "object",
  properties: {
    public_key: {
      type: "string",
      minLength: 1,
      description: "Project public key pk-lf-… (else LANGFUSE_PUBLIC_KEY). Required.",
    },
    secret_key: {
      type: "string",
      minLength: 1,
      description:
        "Project secret key sk-lf-… (else LANGFUSE_SECRET_KEY); a secret: use os.environ/….",
    },
    host: {
      type: "string",
      minLength: 1,
      description:
        `Langfuse base URL (else LANGFUSE_HOST, else LANGFUSE_BASE_URL, else ${DEFAULT_HOST}); ` +
        "https:// is added when the scheme is missing.",
    },
    transport: {
      type: "string",
      enum: ["otel", "ingestion"],
      default: "otel",
      description: "otel: OTLP to /api/public/otel/v1/traces; ingestion: the legacy batch API " +
        "/api/public/ingestion (servers without OTLP).",
    },
    protocol: {
      type: "string",
      enum: ["http/protobuf", "http/json"],
      default: "http/protobuf",
      description: "OTLP encoding (transport otel).",
    },
    ingestion_version: {
      anyOf: [
        { type: "integer", minimum: 1, maximum: 4 },
        { type: "string", pattern: "^[1-4]$" },
        { const: false },
      ],
      default: "4",
      description: "x-langfuse-ingestion-version sent with OTLP (4: real-time ingestion on " +
        "Langfuse v4); false omits the header.",
    },
    release: {
      type: "string",
      description: "Release of every trace (else LANGFUSE_RELEASE).",
    },
    environment: {
      type: "string",
      pattern: "^(?!langfuse)[a-z0-9_-]{1,40}$",
      description: "Langfuse environment (else LANGFUSE_TRACING_ENVIRONMENT).",
    },
    sample_rate: {
      type: "number",
      minimum: 0,
      maximum: 1,
      description: "Share of traces sent, decided by trace id (else LANGFUSE_SAMPLE_RATE, else 1).",
    },
    default_tags: {
      type: "array",
      items: { type: "string" },
      description: "LiteLLM's langfuse_default_tags: event fields added as name:value tags.",
    },
    genai_messages: {
      type: "boolean",
      default: false,
      description: "Also send gen_ai.input.messages / gen_ai.output.messages over OTLP.",
    },
    max_batch_bytes: {
      type: "integer",
      minimum: 1024,
      default: DEFAULT_MAX_BATCH_BYTES,
      description: "Largest ingestion request body (Langfuse's limit: 3.5 MB).",
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
 * The langfuse plugin: a Langfuse trace and generation per call, over
 * Langfuse's OTLP endpoint (default) or its legacy batch API. Different
 * teams' projects are separate sink instances selected by `teams:` /
 * `keys:`. It asks for the host of its server (`host`, `LANGFUSE_HOST`, or
 * Langfuse Cloud) and its `LANGFUSE_*` variables.
 *
 * @example gateway.yaml
 * ```yaml
 * sinks:
 *   - use: langfuse
 *     config:
 *       public_key: os.environ/LANGFUSE_PUBLIC_KEY
 *       secret_key: os.environ/LANGFUSE_SECRET_KEY
 * ```
 */
const langfusePlugin: PluginDefinition<LangfuseConfig> = {
  name: "langfuse",
  version: denoJson.version,
  apiVersion: 1,
  configSchema: langfuseConfigSchema,
  // The host of its server (config or LANGFUSE_HOST, default Langfuse Cloud).
  permissions: (config, env) =>
    httpPermissions(() => [resolveLangfuseSettings(config, env).url], LANGFUSE_ENV),
  litellm: langfuseLiteLLM,
  create: (config, ctx) => createLangfuseSink(config, ctx),
};

export default langfusePlugin;
