/**
 * The console plugin definition.
 * @module
 */
import type { PluginDefinition } from "@sluice/core/plugin";
import denoJson from "./deno.json" with { type: "json" };
import { type ConsoleConfig, consoleConfigSchema, parseConsoleConfig } from "./config.ts";
import { createConsoleSink } from "./console_sink.ts";

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
    const { stream } = parseConsoleConfig(config);
    return createConsoleSink(stream === "stderr" ? Deno.stderr : Deno.stdout);
  },
};

export default consolePlugin;
