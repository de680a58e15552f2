/**
 * The console sink's `config:`, from one zod schema: the JSON Schema the
 * gateway validates with, the TypeScript type, and the parse the plugin runs.
 * @module
 */
import { z } from "zod";
import type { JsonSchema } from "@sluice/core/plugin";

const consoleConfigZod: z.ZodObject<{
  stream: z.ZodDefault<z.ZodEnum<{ stdout: "stdout"; stderr: "stderr" }>>;
}, z.core.$strict> = z.strictObject({
  stream: z.enum(["stdout", "stderr"], { error: 'stream must be "stdout" or "stderr"' })
    .default("stdout")
    .describe("Where lines go."),
});

/** `config:` of a console sink entry (`stream` defaults to `stdout`). */
export type ConsoleConfig = z.input<typeof consoleConfigZod>;

/** JSON Schema (draft-07) of {@link ConsoleConfig}. */
export const consoleConfigSchema: JsonSchema = z.toJSONSchema(consoleConfigZod, {
  io: "input",
  target: "draft-7",
});

/**
 * Parses a config, defaults filled in.
 * @throws Error naming each invalid field (`console: invalid config: config.stream: …`)
 */
export function parseConsoleConfig(input: unknown): z.output<typeof consoleConfigZod> {
  const result = consoleConfigZod.safeParse(input ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) =>
    `config${i.path.map((p) => `.${String(p)}`).join("")}: ${i.message}`
  );
  throw new Error(`console: invalid config: ${problems.join("; ")}`);
}
