/**
 * The sqlite plugin definition.
 * @module
 */
import type { PluginDefinition } from "@sluice/core/plugin";
import denoJson from "./deno.json" with { type: "json" };
import { parseSqliteConfig, type SqliteConfig, sqliteConfigSchema } from "./config.ts";
import { createSqliteSink, DEFAULT_SQLITE_PATH } from "./sqlite_sink.ts";

/**
 * The sqlite plugin: every event as a row of a local SQLite database
 * (`<data_dir>/sluice.db` by default) that the console reads. It writes a
 * local file, so its entry runs in the gateway's process (`sandbox: false`).
 *
 * @example gateway.yaml
 * ```yaml
 * sinks:
 *   - use: sqlite
 *     sandbox: false
 *     config: { path: ./.sluice/sluice.db, retention_days: 30, max_bytes: 1073741824 }
 * ```
 */
const sqlitePlugin: PluginDefinition<SqliteConfig> = {
  name: "sqlite",
  version: denoJson.version,
  apiVersion: 1,
  configSchema: sqliteConfigSchema,
  create(config, ctx) {
    const parsed = parseSqliteConfig(config);
    const path = parsed.path ?? (ctx.dataDir ? `${ctx.dataDir}/sluice.db` : DEFAULT_SQLITE_PATH);
    try {
      return createSqliteSink({
        path,
        retentionDays: parsed.retention_days,
        maxBytes: parsed.max_bytes,
        retentionIntervalMs: parsed.retention_interval_s * 1000,
        busyTimeoutMs: parsed.busy_timeout_ms,
        logger: ctx.logger,
      });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (!/Requires (read|write) access|NotCapable|PermissionDenied/.test(`${error} ${message}`)) {
        throw error;
      }
      // A sandboxed plugin may not touch the file system.
      throw new Error(
        `sqlite: cannot open ${path}: ${message}. The sink writes a local file: run its entry in the gateway's process (sandbox: false)`,
      );
    }
  },
};

export default sqlitePlugin;
