/**
 * The console plugin definition.
 * @module
 */
import type { JsonSchema, PluginDefinition } from "@sluice/core/plugin";
import denoJson from "./deno.json" with { type: "json" };
import { createConsoleSink } from "./console_sink.ts";

/** `config:` of a console sink entry. */
export interface ConsoleConfig {
  /** Where lines go (default `stdout`). */
  stream?: "stdout" | "stderr";
}

/** JSON Schema of {@link ConsoleConfig}. */
export const consoleConfigSchema: JsonSchema = {
  type: "object",
  properties: {
    stream: {
      type: "string",
      enum: ["stdout", "stderr"],
      default: "stdout",
      description: "Where lines go.",
    },
  },
  additionalProperties: false,
};

/**
 * The console plugin: one line per call on stdout (or stderr).
 *
 * @example gateway.yaml
 * ```yaml
 * sinks:
 *   - use: console
 *     config: { stream: stderr }
 * ```
 */
const consolePlugin: PluginDefinition<ConsoleConfig> = {
  name: "console",
  version: denoJson.version,
  apiVersion: 1,
  configSchema: consoleConfigSchema,
  create(config) {
    const stream = config?.stream ?? "stdout";
    if (stream !== "stdout" && stream !== "stderr") {
      throw new Error(
        `console: stream must be "stdout" or "stderr"; got ${JSON.stringify(stream)}`,
      );
    }
    return createConsoleSink(stream === "stderr" ? Deno.stderr : Deno.stdout);
  },
};

export default consolePlugin;
