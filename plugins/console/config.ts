/**
 * The console sink's `config:`, from one zod schema: the JSON Schema the
 * gateway validates with and the parse the plugin runs; the TypeScript type
 * is checked against it by the compiler.
 * @module
 */
import { z } from "zod";
import type { JsonSchema } from "@sluice/core/plugin";
import { definePluginConfig, type SameShape } from "@sluice/core/plugin-config";

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

// The interface is what the zod schema accepts (zod's types stay out of the public API).
true satisfies SameShape<z.input<typeof consoleConfigZod>, ConsoleConfig>;
const consoleConfig = definePluginConfig("console", consoleConfigZod);

/** JSON Schema (draft-07) of {@link ConsoleConfig}. */
export const consoleConfigSchema: JsonSchema = consoleConfig.jsonSchema;

/**
 * Parses a config, defaults filled in.
 * @throws Error naming each invalid field (`console: invalid config: config.stream: …`)
 */
export function parseConsoleConfig(input: unknown): Required<ConsoleConfig> {
  return consoleConfig.parse(input);
}
