/**
 * `@sluice/sqlite`: a Sluice sink that stores every call in a local SQLite
 * database (Deno's built-in `node:sqlite`, WAL mode, one transaction per
 * batch, idempotent by `request_id`), with retention by age and size, and
 * the read API the console uses: calls newest first with filters, text
 * search and keyset paging, one call's redacted event, a trace's spans and
 * windowed statistics. The schema is documented in the README and
 * `schema.ts`.
 *
 * The default export is the plugin definition (contract v1).
 *
 * @example Use it in gateway.yaml
 * ```yaml
 * sinks:
 *   - use: sqlite                  # or "@sluice/sqlite"
 *     sandbox: false               # it writes a local file
 *     config: { retention_days: 30, max_bytes: 1073741824 } # path: <data_dir>/sluice.db
 * ```
 *
 * @example Write and read back
 * ```ts
 * import { createSqliteSink, openStore } from "@sluice/sqlite";
 * import { sampleEvents, sampleFailureEvent } from "@sluice/core/testing";
 *
 * const dir = await Deno.makeTempDir();
 * const sink = createSqliteSink({ path: `${dir}/sluice.db` });
 * await sink.log([...sampleEvents(3), sampleFailureEvent()]);
 * await sink.close?.();
 *
 * const store = openStore(`${dir}/sluice.db`, { readOnly: true });
 * const failed = store.listCalls({ status: "failure" });
 * console.log(failed.calls[0].error_type); // "RateLimitError"
 * console.log(store.getCall(failed.calls[0].request_id)?.event.error?.status); // 429
 * console.log(store.stats({ from: Date.now() - 3_600_000, to: Date.now() + 1 }).totals.errors); // 1
 * store.close();
 * ```
 * @module
 */
export { default } from "./plugin.ts";
export { parseSqliteConfig, type SqliteConfig, sqliteConfigSchema } from "./config.ts";
export {
  createSqliteSink,
  DEFAULT_SQLITE_PATH,
  type SqliteSink,
  type SqliteSinkOptions,
} from "./sqlite_sink.ts";
export {
  type CallFilter,
  type CallPage,
  cursorOf,
  openStore,
  type OpenStoreOptions,
  type PageOptions,
  type PruneResult,
  type RetentionPolicy,
  SqliteStore,
  type TraceSpan,
  type WriteResult,
} from "./store.ts";
export { CALL_COLUMNS, type CallSummary, type StoredCall } from "./call_row.ts";
export type {
  CallStats,
  StatsBucket,
  StatsGroup,
  StatsRow,
  StatsTotals,
  StatsWindow,
} from "./stats.ts";
export {
  MAX_SEARCH_TEXT,
  migrate,
  type Migration,
  MIGRATIONS,
  SCHEMA_VERSION,
  schemaVersion,
  searchText,
  StoreVersionError,
} from "./schema.ts";
