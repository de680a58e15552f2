/**
 * `@sluice/console`: a Sluice sink that writes one line per call to stdout
 * (or stderr): time, call type, stream flag, model group, outcome, tokens,
 * duration, cost and call id.
 *
 * The default export is the plugin definition (contract v1); the named
 * exports let you format lines or write them elsewhere.
 *
 * @example Use it in gateway.yaml
 * ```yaml
 * sinks:
 *   - use: console                 # or "@sluice/console"
 * ```
 *
 * @example Write lines to stderr from code
 * ```ts
 * import { createConsoleSink } from "@sluice/console";
 * import { sampleEvent } from "@sluice/core/testing";
 *
 * const sink = createConsoleSink(Deno.stderr);
 * await sink.log([sampleEvent()]);
 * ```
 * @module
 */
export { default } from "./plugin.ts";
export { type ConsoleConfig, consoleConfigSchema, parseConsoleConfig } from "./config.ts";
export { type ConsoleOutput, createConsoleSink } from "./console_sink.ts";
export { formatConsoleLine } from "./console_line.ts";
