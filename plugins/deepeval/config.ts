/**
 * The deepeval sink's `config:`, from one zod schema: the JSON Schema the
 * gateway validates with and the parse the sink runs; the TypeScript type
 * is checked against it by the compiler.
 * @module
 */
import { z } from "zod";
import type { JsonSchema } from "@sluice/core/plugin";
import { definePluginConfig, type SameShape } from "@sluice/core/plugin-config";

/** Confident AI's API when neither config nor `CONFIDENT_BASE_URL` sets one. */
export const DEFAULT_ENDPOINT = "https://api.confident-ai.com";

/** The POST timeout when the config sets none. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/** How many traces are POSTed at once when the config sets no `concurrency`. */
export const DEFAULT_CONCURRENCY = 4;

/** The environments Confident AI's trace model allows. */
export const CONFIDENT_ENVIRONMENTS = ["production", "development", "staging", "testing"] as const;

/** One of {@link CONFIDENT_ENVIRONMENTS}. */
export type ConfidentEnvironment = typeof CONFIDENT_ENVIRONMENTS[number];

const deepevalConfigZod = z.strictObject({
  api_key: z.string().min(1)
    .describe("Confident AI project API key (default: CONFIDENT_API_KEY).").optional(),
  endpoint_url: z.string()
    .regex(/^https?:\/\//, "must be an absolute http:// or https:// URL")
    .describe(`API base URL (default: CONFIDENT_BASE_URL, else ${DEFAULT_ENDPOINT}).`)
    .optional(),
  environment: z.enum(CONFIDENT_ENVIRONMENTS)
    .describe(
      "Trace environment (default: CONFIDENT_TRACE_ENVIRONMENT, else LiteLLM's LITELM_ENVIRONMENT, else development).",
    ).optional(),
  tags: z.array(z.string().min(1)).default([]).describe("Tags on every trace."),
  concurrency: z.int().min(1).max(32).default(DEFAULT_CONCURRENCY)
    .describe("Traces POSTed at once (Confident AI takes one per request)."),
  timeout_ms: z.int().positive().default(DEFAULT_TIMEOUT_MS)
    .describe("Timeout of one POST in milliseconds."),
});

/**
 * `config:` of a deepeval sink entry (described field by field in
 * {@link deepevalConfigSchema}).
 */
export interface DeepEvalConfig {
  /** The project's API key (`CONFIDENT_API_KEY` header); else `CONFIDENT_API_KEY`. Required. */
  api_key?: string;
  /** API base URL; else `CONFIDENT_BASE_URL`, else `https://api.confident-ai.com`. */
  endpoint_url?: string;
  /** Trace environment; else `CONFIDENT_TRACE_ENVIRONMENT`, else `LITELM_ENVIRONMENT`, else `development`. */
  environment?: ConfidentEnvironment;
  /** Tags on every trace. */
  tags?: string[];
  /** Traces POSTed at once (1–32, default 4). */
  concurrency?: number;
  /** Timeout of one POST in milliseconds (default 10,000). */
  timeout_ms?: number;
}

// The interface is what the zod schema accepts (zod's types stay out of the public API).
true satisfies SameShape<z.input<typeof deepevalConfigZod>, DeepEvalConfig>;
const deepevalConfig = definePluginConfig("deepeval", deepevalConfigZod);

/** JSON Schema (draft-07) of {@link DeepEvalConfig}: what the gateway validates `config:` with. */
export const deepevalConfigSchema: JsonSchema = deepevalConfig.jsonSchema;

/**
 * Parses a config, defaults filled in.
 *
 * @param input The sink entry's `config:`.
 * @returns The config with `tags`, `concurrency` and `timeout_ms` set.
 * @throws Error naming each invalid field (`deepeval: invalid config: config.environment: …`);
 *   never a value.
 *
 * @example
 * ```ts
 * import { parseDeepEvalConfig } from "@sluice/deepeval";
 * parseDeepEvalConfig({}).tags; // []
 * ```
 */
export function parseDeepEvalConfig(
  input: unknown,
): DeepEvalConfig & Required<Pick<DeepEvalConfig, "tags" | "concurrency" | "timeout_ms">> {
  return deepevalConfig.parse(input);
}
