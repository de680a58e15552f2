/**
 * The sqlite sink's `config:`, from one zod schema: the JSON Schema the
 * gateway validates with and the parse the plugin runs.
 * @module
 */
import { z } from "zod";
import type { JsonSchema } from "@sluice/core/plugin";
import { definePluginConfig, type SameShape } from "@sluice/core/plugin-config";

const sqliteConfigZod = z.strictObject({
  path: z.string({ error: "path must be a non-empty file path" })
    .min(1, "path must be a non-empty file path")
    .describe(
      "The database file (created with its directory if missing; default <data_dir>/sluice.db).",
    )
    .optional(),
  retention_days: z.number({ error: "retention_days must be a number of days (0: keep)" })
    .min(0, "retention_days must be 0 or more")
    .default(30)
    .describe("Delete calls that started more than this many days ago (0: keep them)."),
  max_bytes: z.number({ error: "max_bytes must be a number of bytes (0: no cap)" })
    .int("max_bytes must be a whole number of bytes")
    .min(0, "max_bytes must be 0 or more")
    .default(1_073_741_824)
    .describe(
      "Delete the oldest calls when the database uses more, down to 90% of it (0: no cap).",
    ),
  retention_interval_s: z.number({ error: "retention_interval_s must be a number of seconds" })
    .min(1, "retention_interval_s must be at least 1")
    .default(300)
    .describe("How often retention runs (it also runs when the sink starts)."),
  busy_timeout_ms: z.number({ error: "busy_timeout_ms must be a number of milliseconds" })
    .int("busy_timeout_ms must be a whole number")
    .min(0, "busy_timeout_ms must be 0 or more")
    .default(5_000)
    .describe("How long a write waits for another connection's lock before the batch is retried."),
});

/** `config:` of a sqlite sink entry (described field by field in {@link sqliteConfigSchema}). */
export interface SqliteConfig {
  /** The database file (default `<data_dir>/sluice.db`). */
  path?: string;
  /** Delete calls older than this many days (default 30; 0 keeps them). */
  retention_days?: number;
  /** Cap on the database's used bytes (default 1 GiB; 0: no cap). */
  max_bytes?: number;
  /** Seconds between retention runs (default 300). */
  retention_interval_s?: number;
  /** Busy timeout of the connection (default 5,000 ms). */
  busy_timeout_ms?: number;
}

// The interface is what the zod schema accepts (zod's types stay out of the public API).
true satisfies SameShape<z.input<typeof sqliteConfigZod>, SqliteConfig>;
const sqliteConfig = definePluginConfig("sqlite", sqliteConfigZod);

/** JSON Schema (draft-07) of {@link SqliteConfig}. */
export const sqliteConfigSchema: JsonSchema = sqliteConfig.jsonSchema;

/**
 * Parses a config, defaults filled in.
 *
 * @param input The entry's `config:`.
 * @returns The config with every default.
 * @throws Error naming each invalid field (`sqlite: invalid config: config.max_bytes: …`)
 *
 * @example
 * ```ts
 * import { parseSqliteConfig } from "@sluice/sqlite";
 * parseSqliteConfig({}).retention_days; // 30
 * ```
 */
export function parseSqliteConfig(
  input: unknown,
): SqliteConfig & Required<Omit<SqliteConfig, "path">> {
  return sqliteConfig.parse(input);
}
