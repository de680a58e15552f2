/**
 * The jsonl sink's `config:`, from one zod schema: the JSON Schema the
 * gateway validates with and the parse the plugin runs; the TypeScript type
 * is checked against it by the compiler.
 * @module
 */
import { z } from "zod";
import type { JsonSchema } from "@sluice/core/plugin";

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

// The interface is what the zod schema accepts, checked by the compiler (zod's own types cannot
// appear in the public API: `deno doc --lint`); a field added to one and not the other, or typed
// differently, fails here (the key sets are compared too: an extra optional field is assignable).
type _Same<A, B> = [A, keyof A] extends [B, keyof B]
  ? ([B, keyof B] extends [A, keyof A] ? true : never)
  : never;
const _sameAsSchema: _Same<z.input<typeof jsonlConfigZod>, JsonlConfig> = true;
void _sameAsSchema;

/** JSON Schema (draft-07) of {@link JsonlConfig}. */
export const jsonlConfigSchema: JsonSchema = z.toJSONSchema(jsonlConfigZod, {
  io: "input",
  target: "draft-7",
});

/**
 * Parses a config, defaults filled in.
 * @throws Error naming each invalid field (`jsonl: invalid config: config.dir: …`)
 */
export function parseJsonlConfig(input: unknown): JsonlConfig & { fsync: boolean } {
  const result = jsonlConfigZod.safeParse(input ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) =>
    `config${i.path.map((p) => `.${String(p)}`).join("")}: ${i.message}`
  );
  throw new Error(`jsonl: invalid config: ${problems.join("; ")}`);
}
