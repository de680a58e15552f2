/**
 * The store's schema and its migrations: the `calls` table (one row per
 * event, the scalar fields the console filters and sorts on, plus the whole
 * redacted event as JSON), `call_tags`, the full-text index `calls_fts`,
 * `spans` (OTLP spans, filled once ingest lands) and `schema_version`.
 *
 * Migrations are ordered; each runs in its own `BEGIN IMMEDIATE`
 * transaction that re-reads the version first, so two processes opening the
 * same file at once migrate it once. A file written by a newer version of
 * this package is refused ({@link StoreVersionError}).
 * @module
 */
import type { DatabaseSync } from "node:sqlite";

/** One schema migration: `sql` moves a database from `version - 1` to `version`. */
export interface Migration {
  /** The version the database is at once it ran. */
  version: number;
  /** What it does, recorded in `schema_version.description`. */
  description: string;
  /** The statements (several, `;`-separated). */
  sql: string;
  /** Work after `sql` in the same transaction (a back-fill). */
  after?: (db: DatabaseSync) => void;
}

/**
 * Version 1: calls, their tags and the console's indexes.
 */
const V1_SQL = `
CREATE TABLE calls (
  seq INTEGER PRIMARY KEY,
  request_id TEXT NOT NULL UNIQUE,
  call_id TEXT NOT NULL,
  response_id TEXT,
  trace_id TEXT NOT NULL,
  span_id TEXT NOT NULL,
  parent_span_id TEXT,
  start_time INTEGER NOT NULL,
  end_time INTEGER NOT NULL,
  completion_start_time INTEGER,
  status TEXT NOT NULL,
  call_type TEXT NOT NULL,
  stream INTEGER NOT NULL,
  model TEXT,
  model_group TEXT,
  model_id TEXT,
  provider TEXT,
  api_base_host TEXT,
  user TEXT,
  end_user TEXT,
  key_alias TEXT,
  key_hash TEXT,
  team TEXT,
  tags TEXT NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  total_tokens INTEGER NOT NULL,
  cache_read_input_tokens INTEGER,
  cache_creation_input_tokens INTEGER,
  cost REAL,
  response_time_ms INTEGER NOT NULL,
  ttft_ms INTEGER,
  cache_hit INTEGER NOT NULL,
  error_status INTEGER,
  error_type TEXT,
  error_code TEXT,
  error_message TEXT,
  error_provider TEXT,
  source TEXT,
  finish_reason TEXT,
  event TEXT NOT NULL
);
CREATE INDEX calls_start ON calls (start_time);
CREATE INDEX calls_model_start ON calls (model_group, start_time);
CREATE INDEX calls_status_start ON calls (status, start_time);
CREATE INDEX calls_team_start ON calls (team, start_time);
CREATE INDEX calls_key_alias_start ON calls (key_alias, start_time);
CREATE INDEX calls_user_start ON calls (user, start_time);
CREATE INDEX calls_call_id ON calls (call_id);
CREATE INDEX calls_trace ON calls (trace_id);
CREATE TABLE call_tags (
  tag TEXT NOT NULL,
  start_time INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (tag, start_time, seq)
) WITHOUT ROWID;
CREATE INDEX call_tags_seq ON call_tags (seq);
CREATE TRIGGER calls_delete_tags AFTER DELETE ON calls BEGIN
  DELETE FROM call_tags WHERE seq = old.seq;
END;
`;

/**
 * Version 2: full-text search over the redacted content, and OTLP spans.
 */
const V2_SQL = `
CREATE VIRTUAL TABLE calls_fts USING fts5 (text, content = '', contentless_delete = 1);
CREATE TRIGGER calls_delete_fts AFTER DELETE ON calls BEGIN
  DELETE FROM calls_fts WHERE rowid = old.seq;
END;
CREATE TABLE spans (
  trace_id TEXT NOT NULL,
  span_id TEXT NOT NULL,
  parent_span_id TEXT,
  name TEXT NOT NULL,
  kind INTEGER,
  service_name TEXT,
  start_time REAL NOT NULL,
  end_time REAL NOT NULL,
  status_code INTEGER,
  status_message TEXT,
  attributes TEXT,
  events TEXT,
  resource TEXT,
  scope TEXT,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (trace_id, span_id)
) WITHOUT ROWID;
CREATE INDEX spans_start ON spans (start_time);
`;

/** The most text of one event put in the full-text index (characters). */
export const MAX_SEARCH_TEXT = 32_768;

/**
 * The searchable text of a stored event: every string under its `messages`
 * and `response` (content, tool-call arguments, embeddings inputs) and the
 * error message, as redaction left them, joined by newlines and cut at
 * {@link MAX_SEARCH_TEXT} characters. Redaction markers are left out.
 *
 * @param event A parsed event (any JSON value works).
 * @returns The text, possibly empty.
 *
 * @example
 * ```ts
 * import { searchText } from "@sluice/sqlite";
 *
 * searchText({ messages: [{ role: "user", content: "hi" }], response: "[REDACTED]" }); // "user\nhi"
 * ```
 */
export function searchText(event: Record<string, unknown>): string {
  const parts: string[] = [];
  let size = 0;
  const visit = (value: unknown, depth: number): void => {
    if (size >= MAX_SEARCH_TEXT || depth > 32) return;
    if (typeof value === "string") {
      if (value === "" || value === "[REDACTED]") return;
      parts.push(value);
      size += value.length + 1;
    } else if (Array.isArray(value)) {
      for (const item of value) visit(item, depth + 1);
    } else if (value && typeof value === "object") {
      for (const item of Object.values(value)) visit(item, depth + 1);
    }
  };
  visit(event.messages, 0);
  visit(event.response, 0);
  const error = event.error as { message?: unknown } | undefined;
  visit(error?.message, 0);
  return parts.join("\n").slice(0, MAX_SEARCH_TEXT);
}

/** The migrations, in order; the last one's version is {@link SCHEMA_VERSION}. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, description: "calls, call_tags and their indexes", sql: V1_SQL },
  {
    version: 2,
    description: "calls_fts (full-text search over the redacted content) and spans",
    sql: V2_SQL,
    after(db) {
      // Back-fill the index from the calls a version-1 database already holds.
      const insert = db.prepare("INSERT INTO calls_fts (rowid, text) VALUES (?, ?)");
      for (const row of db.prepare("SELECT seq, event FROM calls").iterate()) {
        const text = searchText(JSON.parse(String(row.event)));
        if (text) insert.run(Number(row.seq), text);
      }
    },
  },
];

/** The schema version this package writes and reads. */
export const SCHEMA_VERSION: number = MIGRATIONS[MIGRATIONS.length - 1].version;

/** A database file's schema is newer than this package knows. */
export class StoreVersionError extends Error {
  /** Stable code: `store_too_new`. */
  readonly code = "store_too_new";
  /** The file. */
  readonly path: string;
  /** Its schema version. */
  readonly found: number;
  /**
   * Names the file and both versions.
   *
   * @param path The file.
   * @param found Its schema version.
   */
  constructor(path: string, found: number) {
    super(
      `sqlite: ${path} has schema version ${found}, newer than the ${SCHEMA_VERSION} this ` +
        `@sluice/sqlite knows: upgrade the gateway (or @sluice/sqlite), or set config.path to another file`,
    );
    this.name = "StoreVersionError";
    this.path = path;
    this.found = found;
  }
}

const VERSION_TABLE = `CREATE TABLE IF NOT EXISTS schema_version (
  version INTEGER PRIMARY KEY,
  description TEXT NOT NULL,
  applied_at INTEGER NOT NULL
)`;

/**
 * The database's schema version: the highest row of `schema_version`, 0
 * for an empty file.
 *
 * @param db An open database.
 * @returns The version.
 *
 * @example
 * ```ts
 * import { DatabaseSync } from "node:sqlite";
 * import { schemaVersion } from "@sluice/sqlite";
 *
 * schemaVersion(new DatabaseSync(":memory:")); // 0
 * ```
 */
export function schemaVersion(db: DatabaseSync): number {
  const table = db.prepare(
    "SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
  ).get();
  if (!table) return 0;
  const row = db.prepare("SELECT max(version) AS version FROM schema_version").get();
  return Number(row?.version ?? 0);
}

/**
 * Brings a database to {@link SCHEMA_VERSION}: runs each missing migration
 * in its own immediate transaction (re-reading the version inside it, so
 * concurrent openers apply each once) and records it in `schema_version`.
 *
 * @param db An open, writable database.
 * @param path The file's name, for the error.
 * @param migrations The migrations (default {@link MIGRATIONS}).
 * @returns The versions applied (empty when it was current).
 * @throws {StoreVersionError} when the file is newer than this package.
 *
 * @example
 * ```ts
 * import { DatabaseSync } from "node:sqlite";
 * import { migrate, SCHEMA_VERSION, schemaVersion } from "@sluice/sqlite";
 *
 * const db = new DatabaseSync(":memory:");
 * migrate(db, ":memory:"); // [1, 2]
 * schemaVersion(db) === SCHEMA_VERSION; // true
 * ```
 */
export function migrate(
  db: DatabaseSync,
  path: string,
  migrations: readonly Migration[] = MIGRATIONS,
): number[] {
  const latest = migrations[migrations.length - 1]?.version ?? 0;
  const current = schemaVersion(db);
  if (current > latest) throw new StoreVersionError(path, current);
  const applied: number[] = [];
  for (const migration of migrations) {
    if (migration.version <= current) continue;
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(VERSION_TABLE);
      const now = schemaVersion(db);
      if (now > latest) throw new StoreVersionError(path, now);
      if (now < migration.version) {
        if (now !== migration.version - 1) {
          throw new Error(
            `sqlite: ${path} is at schema version ${now}; migration ${migration.version} needs ${
              migration.version - 1
            }`,
          );
        }
        db.exec(migration.sql);
        migration.after?.(db);
        db.prepare(
          "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)",
        ).run(migration.version, migration.description, Date.now());
        applied.push(migration.version);
      }
      db.exec("COMMIT");
    } catch (error) {
      if (db.isTransaction) db.exec("ROLLBACK");
      throw error;
    }
  }
  return applied;
}
