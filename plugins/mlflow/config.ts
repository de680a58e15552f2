/**
 * The mlflow sink's `config:`, from one zod schema: the JSON Schema the
 * gateway validates with and the parse the sink runs; the TypeScript type
 * is checked against it by the compiler.
 * @module
 */
import { z } from "zod";
import type { JsonSchema } from "@sluice/core/plugin";
import { definePluginConfig, type SameShape } from "@sluice/core/plugin-config";

/** The POST timeout when the config sets none. */
export const DEFAULT_TIMEOUT_MS = 10_000;

const mlflowConfigZod = z.strictObject({
  endpoint_url: z.string()
    .regex(/^https?:\/\//, "must be an absolute http:// or https:// URL")
    .describe("Tracking server base URL (default: MLFLOW_TRACKING_URI).").optional(),
  experiment_id: z.string().min(1)
    .describe("Experiment id the traces go to (default: MLFLOW_EXPERIMENT_ID).").optional(),
  experiment_name: z.string().min(1)
    .describe(
      "Experiment name, looked up (and created if missing) once (default: MLFLOW_EXPERIMENT_NAME).",
    ).optional(),
  tracking_token: z.string().min(1)
    .describe("Bearer token (default: MLFLOW_TRACKING_TOKEN).").optional(),
  username: z.string().min(1)
    .describe("Basic auth user (default: MLFLOW_TRACKING_USERNAME).").optional(),
  password: z.string().min(1)
    .describe("Basic auth password (default: MLFLOW_TRACKING_PASSWORD).").optional(),
  tags: z.record(z.string().min(1), z.string()).default({})
    .describe("Tags set on every trace."),
  timeout_ms: z.int().positive().default(DEFAULT_TIMEOUT_MS)
    .describe("Timeout of one request in milliseconds."),
});

/**
 * `config:` of an mlflow sink entry (described field by field in
 * {@link mlflowConfigSchema}). Every field falls back to the variable
 * MLflow's own client reads.
 */
export interface MlflowConfig {
  /** The tracking server's base URL; else `MLFLOW_TRACKING_URI`. Required. */
  endpoint_url?: string;
  /** The experiment id; else `MLFLOW_EXPERIMENT_ID`. */
  experiment_id?: string;
  /** The experiment name (resolved once, created if missing); else `MLFLOW_EXPERIMENT_NAME`. */
  experiment_name?: string;
  /** A bearer token; else `MLFLOW_TRACKING_TOKEN`. */
  tracking_token?: string;
  /** Basic auth user; else `MLFLOW_TRACKING_USERNAME`. */
  username?: string;
  /** Basic auth password; else `MLFLOW_TRACKING_PASSWORD`. */
  password?: string;
  /** Tags set on every trace. */
  tags?: Record<string, string>;
  /** Timeout of one request in milliseconds (default 10,000). */
  timeout_ms?: number;
}

// The interface is what the zod schema accepts (zod's types stay out of the public API).
true satisfies SameShape<z.input<typeof mlflowConfigZod>, MlflowConfig>;
const mlflowConfig = definePluginConfig("mlflow", mlflowConfigZod);

/** JSON Schema (draft-07) of {@link MlflowConfig}: what the gateway validates `config:` with. */
export const mlflowConfigSchema: JsonSchema = mlflowConfig.jsonSchema;

/**
 * Parses a config, defaults filled in.
 *
 * @param input The sink entry's `config:`.
 * @returns The config with `tags` and `timeout_ms` set.
 * @throws Error naming each invalid field (`mlflow: invalid config: config.endpoint_url: …`);
 *   never a value.
 *
 * @example
 * ```ts
 * import { parseMlflowConfig } from "@sluice/mlflow";
 * parseMlflowConfig({}).timeout_ms; // 10000
 * ```
 */
export function parseMlflowConfig(
  input: unknown,
): MlflowConfig & Required<Pick<MlflowConfig, "tags" | "timeout_ms">> {
  return mlflowConfig.parse(input);
}
