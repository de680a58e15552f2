/**
 * The athina sink's `config:`, from one zod schema: the JSON Schema the
 * gateway validates with and the parse the sink runs; the TypeScript type
 * is checked against it by the compiler.
 * @module
 */
import { z } from "zod";
import type { JsonSchema } from "@sluice/core/plugin";
import { definePluginConfig, type SameShape } from "@sluice/core/plugin-config";

/** Athina's logging host when neither config nor `ATHINA_BASE_URL` sets one. */
export const DEFAULT_ENDPOINT = "https://log.athina.ai";

/** The POST timeout when the config sets none. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/** How many inference logs are POSTed at once when the config sets no `concurrency`. */
export const DEFAULT_CONCURRENCY = 4;

const athinaConfigZod = z.strictObject({
  api_key: z.string().min(1)
    .describe("Athina API key, sent as athina-api-key (default: ATHINA_API_KEY).").optional(),
  endpoint_url: z.string()
    .regex(/^https?:\/\//, "must be an absolute http:// or https:// URL")
    .describe(`Logging base URL (default: ATHINA_BASE_URL, else ${DEFAULT_ENDPOINT}).`)
    .optional(),
  environment: z.string().min(1)
    .describe("environment of every log unless the request's metadata names one.").optional(),
  prompt_slug: z.string().min(1)
    .describe("prompt_slug of every log unless the request's metadata names one.").optional(),
  custom_attributes: z.record(z.string(), z.unknown()).default({})
    .describe("custom_attributes added to every log."),
  concurrency: z.int().min(1).max(32).default(DEFAULT_CONCURRENCY)
    .describe("Inference logs POSTed at once (Athina takes one per request)."),
  timeout_ms: z.int().positive().default(DEFAULT_TIMEOUT_MS)
    .describe("Timeout of one POST in milliseconds."),
});

/**
 * `config:` of an athina sink entry (described field by field in
 * {@link athinaConfigSchema}).
 */
export interface AthinaConfig {
  /** The API key (`athina-api-key` header); else `ATHINA_API_KEY`. Required. */
  api_key?: string;
  /** Logging base URL; else `ATHINA_BASE_URL`, else `https://log.athina.ai`. */
  endpoint_url?: string;
  /** `environment` of every log unless the request's metadata names one. */
  environment?: string;
  /** `prompt_slug` of every log unless the request's metadata names one. */
  prompt_slug?: string;
  /** `custom_attributes` added to every log (the request's own win). */
  custom_attributes?: Record<string, unknown>;
  /** Inference logs POSTed at once (1–32, default 4). */
  concurrency?: number;
  /** Timeout of one POST in milliseconds (default 10,000). */
  timeout_ms?: number;
}

// The interface is what the zod schema accepts (zod's types stay out of the public API).
true satisfies SameShape<z.input<typeof athinaConfigZod>, AthinaConfig>;
const athinaConfig = definePluginConfig("athina", athinaConfigZod);

/** JSON Schema (draft-07) of {@link AthinaConfig}: what the gateway validates `config:` with. */
export const athinaConfigSchema: JsonSchema = athinaConfig.jsonSchema;

/**
 * Parses a config, defaults filled in.
 *
 * @param input The sink entry's `config:`.
 * @returns The config with `custom_attributes`, `concurrency` and `timeout_ms` set.
 * @throws Error naming each invalid field (`athina: invalid config: config.endpoint_url: …`);
 *   never a value.
 *
 * @example
 * ```ts
 * import { parseAthinaConfig } from "@sluice/athina";
 * parseAthinaConfig({}).concurrency; // 4
 * ```
 */
export function parseAthinaConfig(
  input: unknown,
): AthinaConfig & Required<Pick<AthinaConfig, "custom_attributes" | "concurrency" | "timeout_ms">> {
  return athinaConfig.parse(input);
}
