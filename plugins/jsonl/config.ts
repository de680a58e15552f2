/**
 * The jsonl sink's `config:`, from one zod schema: the JSON Schema the
 * gateway validates with, the TypeScript type, and the parse the plugin runs.
 * @module
 */
import { z } from "zod";
import type { JsonSchema } from "@sluice/core/plugin";

const jsonlConfigZod: z.ZodObject<{
  dir: z.ZodOptional<z.ZodString>;
  fsync: z.ZodDefault<z.ZodBoolean>;
}, z.core.$strict> = z.strictObject({
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

/** `config:` of a jsonl sink entry (`dir` defaults to `<data_dir>/logs`, `fsync` to false). */
export type JsonlConfig = z.input<typeof jsonlConfigZod>;

/** JSON Schema (draft-07) of {@link JsonlConfig}. */
export const jsonlConfigSchema: JsonSchema = z.toJSONSchema(jsonlConfigZod, {
  io: "input",
  target: "draft-7",
});

/**
 * Parses a config, defaults filled in.
 * @throws Error naming each invalid field (`jsonl: invalid config: config.dir: …`)
 */
export function parseJsonlConfig(input: unknown): z.output<typeof jsonlConfigZod> {
  const result = jsonlConfigZod.safeParse(input ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) =>
    `config${i.path.map((p) => `.${String(p)}`).join("")}: ${i.message}`
  );
  throw new Error(`jsonl: invalid config: ${problems.join("; ")}`);
}
