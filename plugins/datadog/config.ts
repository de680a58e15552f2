/**
 * The datadog sink's `config:`, from one zod schema: the JSON Schema the
 * gateway validates with and the parse the sink runs; the TypeScript type
 * is checked against it by the compiler.
 * @module
 */
import { z } from "zod";
import type { JsonSchema } from "@sluice/core/plugin";
import { definePluginConfig, type SameShape } from "@sluice/core/plugin-config";

/** Which Datadog intake a sink sends to. */
export type DatadogIntake = "logs" | "llm_obs";

/** The Datadog site when neither config nor `DD_SITE` sets one (US1). */
export const DEFAULT_SITE = "datadoghq.com";

/** `service` (and the LLM Observability `ml_app` fallback) when neither config nor `DD_SERVICE` sets one. */
export const DEFAULT_SERVICE = "sluice";

/** `ddsource` when neither config nor `DD_SOURCE` sets one. */
export const DEFAULT_SOURCE = "sluice";

/** The POST timeout when the config sets none. */
export const DEFAULT_TIMEOUT_MS = 10_000;

const text = (description: string) => z.string().min(1).describe(description).optional();

const datadogConfigZod = z.strictObject({
  intake: z.enum(["logs", "llm_obs"], { error: 'must be "logs" or "llm_obs"' })
    .default("logs")
    .describe(
      "logs: one log per call to the Logs intake (POST /api/v2/logs); llm_obs: one LLM span " +
        "per call to the LLM Observability intake (POST /api/intake/llm-obs/v1/trace/spans).",
    ),
  api_key: text("Datadog API key, sent as DD-API-KEY (default: DD_API_KEY)."),
  site: text(`Datadog site, e.g. us5.datadoghq.com (default: DD_SITE, else ${DEFAULT_SITE}).`),
  endpoint_url: z.string()
    .regex(/^https?:\/\//, "must be an absolute http:// or https:// URL")
    .describe(
      "Base URL instead of the site's intake host (a Datadog Agent, a proxy, a test " +
        "receiver); the intake's path is added unless the URL already ends with it.",
    )
    .optional(),
  service: text(`service of every log and span (default: DD_SERVICE, else ${DEFAULT_SERVICE}).`),
  source: text(`ddsource of every log (default: DD_SOURCE, else ${DEFAULT_SOURCE}).`),
  env: text("env tag (default: DD_ENV)."),
  version: text("version tag (default: DD_VERSION)."),
  hostname: text("hostname of every log (default: HOSTNAME)."),
  tags: z.array(z.string().min(1)).default([])
    .describe('Extra tags on every log and span, "key:value".'),
  ml_app: text(
    "LLM Observability application name (default: DD_LLMOBS_ML_APP, else the service).",
  ),
  compress: z.boolean().default(true).describe("gzip the Logs intake's request bodies."),
  timeout_ms: z.int().positive().default(DEFAULT_TIMEOUT_MS)
    .describe("Timeout of one POST in milliseconds."),
});

/**
 * `config:` of a datadog sink entry (described field by field in
 * {@link datadogConfigSchema}); most keys fall back to the `DD_*`
 * variable Datadog's own tools read.
 */
export interface DatadogConfig {
  /** `logs` (default): the Logs intake; `llm_obs`: LLM Observability spans. */
  intake?: DatadogIntake;
  /** API key (`DD-API-KEY`); else `DD_API_KEY`. Required, except for logs sent to an `endpoint_url`. */
  api_key?: string;
  /** Datadog site (`datadoghq.com`, `us5.datadoghq.com`, `datadoghq.eu`, …); else `DD_SITE`. */
  site?: string;
  /** Base URL used instead of the site's intake host (an Agent, a proxy, a loopback receiver). */
  endpoint_url?: string;
  /** `service`; else `DD_SERVICE`, else `sluice`. */
  service?: string;
  /** `ddsource`; else `DD_SOURCE`, else `sluice`. */
  source?: string;
  /** `env:` tag; else `DD_ENV`. */
  env?: string;
  /** `version:` tag; else `DD_VERSION`. */
  version?: string;
  /** `hostname` of each log; else `HOSTNAME`. */
  hostname?: string;
  /** Extra `key:value` tags on every log and span. */
  tags?: string[];
  /** LLM Observability `ml_app`; else `DD_LLMOBS_ML_APP`, else the service. */
  ml_app?: string;
  /** gzip Logs intake bodies (default true). */
  compress?: boolean;
  /** Timeout of one POST in milliseconds (default 10,000). */
  timeout_ms?: number;
}

// The interface is what the zod schema accepts (zod's types stay out of the public API).
true satisfies SameShape<z.input<typeof datadogConfigZod>, DatadogConfig>;
const datadogConfig = definePluginConfig("datadog", datadogConfigZod);

/** JSON Schema (draft-07) of {@link DatadogConfig}: what the gateway validates `config:` with. */
export const datadogConfigSchema: JsonSchema = datadogConfig.jsonSchema;

/**
 * Parses a config, defaults filled in.
 *
 * @param input The sink entry's `config:`.
 * @returns The config with `intake`, `tags`, `compress` and `timeout_ms` set.
 * @throws Error naming each invalid field (`datadog: invalid config: config.intake: …`);
 *   never a value.
 *
 * @example
 * ```ts
 * import { parseDatadogConfig } from "@sluice/datadog";
 * parseDatadogConfig({ api_key: "k" }).intake; // "logs"
 * ```
 */
export function parseDatadogConfig(
  input: unknown,
): DatadogConfig & Required<Pick<DatadogConfig, "intake" | "tags" | "compress" | "timeout_ms">> {
  return datadogConfig.parse(input);
}
