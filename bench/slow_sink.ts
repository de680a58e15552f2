/**
 * A deliberately slow sink plugin for the load benchmark (`--sink slow`,
 * `--compare-sinks`): every `log()` call waits `delay_ms` (default 2,000 ms),
 * then confirms the batch without sending it anywhere. It shows whether a
 * slow destination leaks into request latency.
 *
 * ```yaml
 * sinks:
 *   - use: /path/to/bench/slow_sink.ts   # a path is resolved against the config's directory
 *     config: { delay_ms: 2000 }         # optional
 * ```
 * @module
 */
import type { PluginDefinition } from "../core/plugin.ts";

/** `config:` of the slow sink. */
export interface SlowSinkConfig {
  /** How long each `log()` call takes, ms (default 2,000). */
  delay_ms?: number;
}

/** The default time one `log()` call takes, ms. */
export const SLOW_SINK_DELAY_MS = 2000;

const slowSink: PluginDefinition<SlowSinkConfig> = {
  name: "slow",
  version: "1.0.0",
  apiVersion: 1,
  configSchema: {
    type: "object",
    properties: { delay_ms: { type: "integer", minimum: 0 } },
    additionalProperties: false,
  },
  create(config) {
    const delayMs = config.delay_ms ?? SLOW_SINK_DELAY_MS;
    return {
      log: () => new Promise<void>((resolve) => setTimeout(resolve, delayMs)),
    };
  },
};

export default slowSink;
