/**
 * The jsonl sink's `config:`, from one zod schema: the JSON Schema the
 * gateway validates with and the parse the plugin runs; the TypeScript type
 * is checked against it by the compiler.
 * @module
 */
import { z } from "zod";
import type { JsonSchema } from "@sluice/core/plugin";
import { definePluginConfig, type SameShape } from "@sluice/core/plugin-config";

const jsonlConfigZod = z.strictObject({
  dir: z.string({ error: "dir must be a non-empty path" })
    .min(1, "dir must be a non-empty path")
    .describe(
      "Directory of the daily events-YYYY-MM-DD.jsonl files (created if missing; default <data_dir>/logs).",
    )
    .optional(),
  fsync: z.boolean({ error: "fsync must be true or false" })
    .default(false)
    .describe("fsync each file after every batch: slower, survives a power loss."),
});

/** `config:` of a jsonl sink entry (described field by field in {@link jsonlConfigSchema}). */
export interface JsonlConfig {
  /** Directory of the daily files (default `<data_dir>/logs`, the gateway's data directory). */
  dir?: string;
  /** `fsync` after each batch (default false). */
  fsync?: boolean;
}

// The interface is what the zod schema accepts (zod's types stay out of the public API).
true satisfies SameShape<z.input<typeof jsonlConfigZod>, JsonlConfig>;
const jsonlConfig = definePluginConfig("jsonl", jsonlConfigZod);

/** JSON Schema (draft-07) of {@link JsonlConfig}. */
export const jsonlConfigSchema: JsonSchema = jsonlConfig.jsonSchema;

/**
 * Parses a config, defaults filled in.
 * @throws Error naming each invalid field (`jsonl: invalid config: config.dir: …`)
 */
export function parseJsonlConfig(input: unknown): JsonlConfig & { fsync: boolean } {
  return jsonlConfig.parse(input);
}
