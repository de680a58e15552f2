/**
 * The console sink's `config:`, from one zod schema: the JSON Schema the
 * gateway validates with and the parse the plugin runs; the TypeScript type
 * is checked against it by the compiler.
 * @module
 */
import { z } from "zod";
import type { JsonSchema } from "@sluice/core/plugin";

const consoleConfigZod = z.strictObject({
  stream: z.enum(["stdout", "stderr"], { error: 'stream must be "stdout" or "stderr"' })
    .default("stdout")
    .describe("Where lines go."),
});

/** `config:` of a console sink entry (described in {@link consoleConfigSchema}). */
export interface ConsoleConfig {
  /** Where lines go (default `stdout`). */
  stream?: "stdout" | "stderr";
}

// The interface is what the zod schema accepts, checked by the compiler (zod's own types cannot
// appear in the public API: `deno doc --lint`); a field added to one and not the other, or typed
// differently, fails here (the key sets are compared too: an extra optional field is assignable).
type _Same<A, B> = [A, keyof A] extends [B, keyof B]
  ? ([B, keyof B] extends [A, keyof A] ? true : never)
  : never;
const _sameAsSchema: _Same<z.input<typeof consoleConfigZod>, ConsoleConfig> = true;
void _sameAsSchema;

/** JSON Schema (draft-07) of {@link ConsoleConfig}. */
export const consoleConfigSchema: JsonSchema = z.toJSONSchema(consoleConfigZod, {
  io: "input",
  target: "draft-7",
});

/**
 * Parses a config, defaults filled in.
 * @throws Error naming each invalid field (`console: invalid config: config.stream: …`)
 */
export function parseConsoleConfig(input: unknown): Required<ConsoleConfig> {
  const result = consoleConfigZod.safeParse(input ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) =>
    `config${i.path.map((p) => `.${String(p)}`).join("")}: ${i.message}`
  );
  throw new Error(`console: invalid config: ${problems.join("; ")}`);
}
