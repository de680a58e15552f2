/**
 * The jsonl plugin definition.
 * @module
 */
import type { JsonSchema, PluginDefinition } from "@sluice/core/plugin";
import denoJson from "./deno.json" with { type: "json" };
import { createJsonlSink, DEFAULT_JSONL_DIR } from "./jsonl_sink.ts";

/** `config:` of a jsonl sink entry. */
export interface JsonlConfig {
  /** Directory of the daily files (default `<data_dir>/logs`, the gateway's data directory). */
  dir?: string;
  /** `fsync` after each batch (default false). */
  fsync?: boolean;
}

/** JSON Schema of {@link JsonlConfig}. */
export const jsonlConfigSchema: JsonSchema = {
  type: "object",
  properties: {
    dir: {
      type: "string",
      minLength: 1,
      description:
        "Directory of the daily events-YYYY-MM-DD.jsonl files (created if missing; default <data_dir>/logs).",
    },
    fsync: {
      type: "boolean",
      default: false,
      description: "fsync each file after every batch: slower, survives a power loss.",
    },
  },
  additionalProperties: false,
};

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
    const dir = config?.dir ?? (ctx.dataDir ? `${ctx.dataDir}/logs` : DEFAULT_JSONL_DIR);
    const fsync = config?.fsync ?? false;
    if (typeof dir !== "string" || dir === "") {
      throw new Error(`jsonl: dir must be a non-empty path; got ${JSON.stringify(dir)}`);
    }
    if (typeof fsync !== "boolean") {
      throw new Error(`jsonl: fsync must be true or false; got ${JSON.stringify(fsync)}`);
    }
    return createJsonlSink({ dir, fsync });
  },
};

export default jsonlPlugin;
