/**
 * The galileo sink's `config:`, from one zod schema: the JSON Schema the
 * gateway validates with and the parse the sink runs; the TypeScript type
 * is checked against it by the compiler.
 * @module
 */
import { z } from "zod";
import type { JsonSchema } from "@sluice/core/plugin";
import { definePluginConfig, type SameShape } from "@sluice/core/plugin-config";

/** The API base when neither config nor environment sets one. */
export const DEFAULT_BASE_URL = "https://api.galileo.ai";

/** The request timeout when the config sets none. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/** Which v2 endpoint the API-key flow posts to. */
export type GalileoIngest = "traces" | "spans";

const text = (description: string) => z.string().min(1).describe(description).optional();

const galileoConfigZod = z.strictObject({
  base_url: z.string()
    .regex(/^https?:\/\//, "must be an absolute http:// or https:// URL")
    .describe(`API base URL (default: GALILEO_BASE_URL, else ${DEFAULT_BASE_URL}).`)
    .optional(),
  project_id: text("Project id (default: GALILEO_PROJECT_ID). Required."),
  api_key: text("API key, sent as Galileo-API-Key (default: GALILEO_API_KEY)."),
  username: text("Legacy flow user (default: GALILEO_USERNAME)."),
  password: text("Legacy flow password (default: GALILEO_PASSWORD)."),
  log_stream_id: text("Log stream id, API-key flow (default: GALILEO_LOG_STREAM_ID)."),
  ingest: z.enum(["traces", "spans"], { error: 'must be "traces" or "spans"' })
    .default("traces")
    .describe(
      "API-key flow endpoint: v2 traces (one request per batch) or v2 spans " +
        "(one request per trace in a batch).",
    ),
  timeout_ms: z.int().positive().default(DEFAULT_TIMEOUT_MS)
    .describe("Timeout of one request in milliseconds."),
});

/**
 * `config:` of a galileo sink entry (described field by field in
 * {@link galileoConfigSchema}); every key falls back to its environment
 * variable.
 */
export interface GalileoConfig {
  /** API base URL; else `GALILEO_BASE_URL`, else `https://api.galileo.ai`. */
  base_url?: string;
  /** Project id (a UUID); else `GALILEO_PROJECT_ID`. Required. */
  project_id?: string;
  /** API key (`Galileo-API-Key` header); else `GALILEO_API_KEY`. Selects the API-key flow. */
  api_key?: string;
  /** Legacy flow user; else `GALILEO_USERNAME`. */
  username?: string;
  /** Legacy flow password; else `GALILEO_PASSWORD`. */
  password?: string;
  /** Log stream id for the API-key flow; else `GALILEO_LOG_STREAM_ID`. */
  log_stream_id?: string;
  /**
   * API-key flow endpoint: `traces` (default; one request per batch, each
   * call a trace holding its LLM span) or `spans` (one request per trace
   * in the batch, spans under a trace derived from the call's trace id).
   */
  ingest?: GalileoIngest;
  /** Timeout of one request in milliseconds (default 10,000). */
  timeout_ms?: number;
}

// The interface is what the zod schema accepts (zod's types stay out of the public API).
true satisfies SameShape<z.input<typeof galileoConfigZod>, GalileoConfig>;
const galileoConfig = definePluginConfig("galileo", galileoConfigZod);

/** JSON Schema (draft-07) of {@link GalileoConfig}: what the gateway validates `config:` with. */
export const galileoConfigSchema: JsonSchema = galileoConfig.jsonSchema;

/**
 * Parses a config, defaults filled in.
 *
 * @example
 * ```ts
 * import { parseGalileoConfig } from "@sluice/galileo";
 * parseGalileoConfig({ project_id: "p" }).ingest; // "traces"
 * ```
 * @throws Error naming each invalid field (`galileo: invalid config: config.ingest: …`);
 *   never a value.
 */
export function parseGalileoConfig(
  input: unknown,
): GalileoConfig & { ingest: GalileoIngest; timeout_ms: number } {
  return galileoConfig.parse(input);
}
