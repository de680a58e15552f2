/**
 * The jsonl plugin definition.
 * @module
 */
import type { PluginDefinition } from "@sluice/core/plugin";
import denoJson from "./deno.json" with { type: "json" };
import { type JsonlConfig, jsonlConfigSchema, parseJsonlConfig } from "./config.ts";
import { createJsonlSink, DEFAULT_JSONL_DIR } from "./jsonl_sink.ts";

/**
 * The jsonl plugin: appends every event as one JSON line to
 * `<dir>/events-YYYY-MM-DD.jsonl` (UTC date of the call's start).
 *
 * @example gateway.yaml
 * ```yaml
 * sinks:
 *   - use: jsonl
 *     config: { dir: /var/log/sluice, fsync: true }
 * ```
 */
const jsonlPlugin: PluginDefinition<JsonlConfig> = {
  name: "jsonl",
  version: denoJson.version,
  apiVersion: 1,
  configSchema: jsonlConfigSchema,
  create(config, ctx) {
    const parsed = parseJsonlConfig(config);
    const dir = parsed.dir ?? (ctx.dataDir ? `${ctx.dataDir}/logs` : DEFAULT_JSONL_DIR);
    const fsync = parsed.fsync;
    return createJsonlSink({ dir, fsync });
  },
};

export default jsonlPlugin;
