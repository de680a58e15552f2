/**
 * The langsmith sink's `config:`, from one zod schema: the JSON Schema the
 * gateway validates with and the parse the sink runs; the TypeScript type
 * is checked against it by the compiler.
 * @module
 */
import { z } from "zod";
import type { JsonSchema } from "@sluice/core/plugin";
import { definePluginConfig, type SameShape } from "@sluice/core/plugin-config";

/** LangSmith's API when neither config nor environment sets one. */
export const DEFAULT_ENDPOINT = "https://api.smith.langchain.com";

/** The project (tracing session) when neither config nor environment names one. */
export const DEFAULT_PROJECT = "default";

/** The POST timeout when the config sets none. */
export const DEFAULT_TIMEOUT_MS = 10_000;

const text = (description: string) => z.string().min(1).describe(description).optional();

const langsmithConfigZod = z.strictObject({
  api_key: text(
    "LangSmith API key, sent as x-api-key (default: LANGSMITH_API_KEY).",
  ),
  project: text(
    `Project the runs go to (default: LANGSMITH_PROJECT, else ${DEFAULT_PROJECT}).`,
  ),
  endpoint_url: z.string()
    .regex(/^https?:\/\//, "must be an absolute http:// or https:// URL")
    .describe(
      `API base URL (default: LANGSMITH_BASE_URL, LANGSMITH_ENDPOINT, else ${DEFAULT_ENDPOINT}).`,
    )
    .optional(),
  workspace_id: text(
    "Workspace id, sent as x-tenant-id (default: LANGSMITH_WORKSPACE_ID).",
  ),
  run_name: text(
    "Name of every run (default: LANGSMITH_DEFAULT_RUN_NAME, else the model the client asked for).",
  ),
  tags: z.array(z.string().min(1)).default([]).describe("Tags on every run."),
  sampling_rate: z.number().min(0, "must be between 0 and 1").max(
    1,
    "must be between 0 and 1",
  )
    .describe(
      "Share of calls sent, decided by trace id (default: LANGSMITH_SAMPLING_RATE, else 1).",
    )
    .optional(),
  timeout_ms: z.int().positive().default(DEFAULT_TIMEOUT_MS)
    .describe("Timeout of one POST in milliseconds."),
});

/**
 * `config:` of a langsmith sink entry (described field by field in
 * {@link langsmithConfigSchema}); most keys fall back to the `LANGSMITH_*`
 * variable LangSmith's SDKs read.
 */
export interface LangSmithConfig {
  /** API key (`x-api-key`); else `LANGSMITH_API_KEY` (or the older `LANGCHAIN_API_KEY`). Required. */
  api_key?: string;
  /** Project; else `LANGSMITH_PROJECT` (or `LANGCHAIN_PROJECT`), else `default`. */
  project?: string;
  /** API base URL; else `LANGSMITH_BASE_URL`, `LANGSMITH_ENDPOINT`, `LANGCHAIN_ENDPOINT`, else LangSmith's cloud. */
  endpoint_url?: string;
  /** Workspace (`x-tenant-id`) for keys that reach several; else `LANGSMITH_WORKSPACE_ID`. */
  workspace_id?: string;
  /** Name of every run; else `LANGSMITH_DEFAULT_RUN_NAME`, else the call's model group. */
  run_name?: string;
  /** Tags on every run. */
  tags?: string[];
  /** Share of calls sent (0 to 1, by trace id); else `LANGSMITH_SAMPLING_RATE`, else 1. */
  sampling_rate?: number;
  /** Timeout of one POST in milliseconds (default 10,000). */
  timeout_ms?: number;
}

// The interface is what the zod schema accepts (zod's types stay out of the public API).
true satisfies SameShape<z.input<typeof langsmithConfigZod>, LangSmithConfig>;
const langsmithConfig = definePluginConfig("langsmith", langsmithConfigZod);

/** JSON Schema (draft-07) of {@link LangSmithConfig}: what the gateway validates `config:` with. */
export const langsmithConfigSchema: JsonSchema = langsmithConfig.jsonSchema;

/**
 * Parses a config, defaults filled in.
 *
 * @param input The sink entry's `config:`.
 * @returns The config with `tags` and `timeout_ms` set.
 * @throws Error naming each invalid field (`langsmith: invalid config: config.sampling_rate: …`);
 *   never a value.
 *
 * @example
 * ```ts
 * import { parseLangSmithConfig } from "@sluice/langsmith";
 * parseLangSmithConfig({ api_key: "k" }).timeout_ms; // 10000
 * ```
 */
export function parseLangSmithConfig(
  input: unknown,
): LangSmithConfig & Required<Pick<LangSmithConfig, "tags" | "timeout_ms">> {
  return langsmithConfig.parse(input);
}
