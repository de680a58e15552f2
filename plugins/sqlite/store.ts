/**
 * The SQLite store: {@link openStore} opens (creating and migrating) a
 * database file with Deno's built-in `node:sqlite`, in WAL mode. The
 * returned {@link SqliteStore} writes batches of events idempotently, prunes
 * by age and size, and answers the console's queries: calls newest first
 * with keyset paging, one call, a trace's spans and windowed statistics.
 *
 * Every method is synchronous SQLite work on the calling thread (except
 * {@link SqliteStore.prune}, which yields between chunks): call it off a
 * request thread (the gateway runs sinks in its log worker).
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { CallType, ExportTraceServiceRequest, LogEvent } from "@sluice/core/plugin";
import {
  CALL_COLUMNS,
  type CallSummary,
  callValues,
  type StoredCall,
  toSummary,
} from "./call_row.ts";
import { migrate, SCHEMA_VERSION, schemaVersion, searchText, StoreVersionError } from "./schema.ts";
import { type CallStats, computeStats, type StatsRow, type StatsWindow } from "./stats.ts";

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  /**
   * Open read-only (no migration; the file must exist at the current schema
   * version). Default false: the file is created and migrated as needed.
   */
  readOnly?: boolean;
  /** How long a statement waits for another connection's lock (default 5,000 ms). */
  busyTimeoutMs?: number;
}

/** What {@link SqliteStore.write} did with a batch. */
export interface WriteResult {
  /** Events stored now. */
  inserted: number;
  /** Events already stored (same `request_id`): left as they were. */
  duplicates: number;
}

/** Retention limits for {@link SqliteStore.prune}. */
export interface RetentionPolicy {
  /** Delete calls (and spans) that started more than this many days ago (0 or absent: keep). */
  retentionDays?: number;
  /** Delete the oldest calls until the database uses at most 90% of this (0 or absent: no cap). */
  maxBytes?: number;
  /** The clock (default `Date.now`). */
  now?: () => number;
  /** Rows deleted per transaction (default 2,000). */
  chunk?: number;
  /** Stops between chunks when aborted (what was deleted stays deleted). */
  signal?: AbortSignal;
}

/** What {@link SqliteStore.prune} deleted. */
export interface PruneResult {
  /** Calls deleted for their age. */
  byAge: number;
  /** Calls deleted to get under `maxBytes`. */
  bySize: number;
  /** Spans deleted for their age. */
  spans: number;
  /** {@link SqliteStore.usedBytes} afterwards. */
  usedBytes: number;
}

/**
 * Filters of {@link SqliteStore.listCalls}; every one given must hold.
 * Times are epoch milliseconds, `from` inclusive and `to` exclusive.
 */
export interface CallFilter {
  /** Calls that started at or after this time. */
  from?: number;
  /** Calls that started before this time. */
  to?: number;
  /** The public model name (`model_group`). */
  model?: string;
  /** The provider. */
  provider?: string;
  /** `success` or `failure`. */
  status?: "success" | "failure";
  /** The call type. */
  callType?: CallType;
  /** The virtual key's team. */
  team?: string;
  /** The virtual key's alias. */
  keyAlias?: string;
  /** The virtual key's user. */
  user?: string;
  /** The request's `user` field. */
  endUser?: string;
  /** Calls carrying this tag. */
  tag?: string;
  /** Calls of this trace. */
  traceId?: string;
  /** Least cost (USD). */
  minCost?: number;
  /** Most cost (USD). */
  maxCost?: number;
  /** Least response time (ms). */
  minLatencyMs?: number;
  /** Most response time (ms). */
  maxLatencyMs?: number;
  /**
   * Words that must all appear in the redacted content (messages, response,
   * error message); the last word also matches as a prefix. Full-text
   * search (SQLite FTS5, `unicode61` tokenizer: case and accents folded).
   */
  text?: string;
}

/** Paging of {@link SqliteStore.listCalls}. */
export interface PageOptions {
  /** Rows per page (default 50, at most 1,000). */
  limit?: number;
  /** A `next` cursor from the previous page: calls older than its last row. */
  before?: string;
  /** A cursor of a row (`cursorOf`): calls newer than it (for live updates), newest first. */
  after?: string;
}

/** One page of calls, newest first. */
export interface CallPage {
  /** The calls. */
  calls: CallSummary[];
  /** Pass as `before` for the next (older) page; absent on the last page. */
  next?: string;
}

/** One span of a trace, from a call or from ingested OTLP spans. */
export interface TraceSpan {
  /** `call` for the gateway's span of a stored call, `otlp` for an ingested span. */
  source: "call" | "otlp";
  /** The trace. */
  trace_id: string;
  /** The span. */
  span_id: string;
  /** Its parent, if any. */
  parent_span_id: string | null;
  /** `chat gpt-4o-mini`, or the OTLP span's name. */
  name: string;
  /** Epoch milliseconds (fractional for OTLP spans). */
  start_time: number;
  /** Epoch milliseconds. */
  end_time: number;
  /** Whether it failed. */
  error: boolean;
  /** The call's request id (calls only). */
  request_id: string | null;
  /** The emitting service (OTLP spans only). */
  service_name: string | null;
}

const MAX_LIMIT = 1_000;

/** The `spans` table's columns, in insert order. */
const SPAN_COLUMNS = [
  "trace_id",
  "span_id",
  "parent_span_id",
  "name",
  "kind",
  "service_name",
  "start_time",
  "end_time",
  "status_code",
  "status_message",
  "attributes",
  "events",
  "resource",
  "scope",
  "received_at",
] as const;

/** Nanoseconds since the epoch (a decimal string) to fractional milliseconds. */
function nanosToMillis(nanos: string | undefined): number {
  if (!nanos) return 0;
  const big = BigInt(nanos);
  return Number(big / 1_000_000n) + Number(big % 1_000_000n) / 1e6;
}

/**
 * The cursor of a call in the newest-first order (for `before`/`after`).
 *
 * @param call A listed call.
 * @returns An opaque cursor string.
 *
 * @example
 * ```ts
 * import { cursorOf } from "@sluice/sqlite";
 * cursorOf({ start_time: 1700000000000, seq: 42 }); // "1700000000000.42"
 * ```
 */
export function cursorOf(call: Pick<CallSummary, "start_time" | "seq">): string {
  return `${call.start_time}.${call.seq}`;
}

function parseCursor(cursor: string, name: string): [number, number] {
  const match = /^(-?\d+(?:\.\d+)?)\.(\d+)$/.exec(cursor);
  if (!match) throw new Error(`sqlite: ${name} is not a cursor from this store: ${cursor}`);
  return [Number(match[1]), Number(match[2])];
}

/** The FTS5 query for the words of `text`: each quoted, the last one a prefix too. */
function ftsQuery(text: string): string | undefined {
  const words = text.split(/\s+/).filter((w) => w !== "");
  if (words.length === 0) return undefined;
  return words.map((w, i) => {
    const quoted = `"${w.replaceAll('"', '""')}"`;
    return i === words.length - 1 ? `${quoted}*` : quoted;
  }).join(" ");
}

function dirOf(path: string): string | undefined {
  const cut = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return cut > 0 ? path.slice(0, cut) : undefined;
}

/**
 * Opens the store at `path`: creates the file (and its directory) if
 * missing, sets WAL mode, `synchronous=NORMAL`, a busy timeout and
 * incremental auto-vacuum (new files), and migrates it to
 * {@link SCHEMA_VERSION}.
 *
 * @param path The database file (`:memory:` for a private in-memory store).
 * @param options Read-only, busy timeout.
 * @returns The store; `close()` it when done.
 * @throws {StoreVersionError} when the file was written by a newer version.
 *
 * @example
 * ```ts
 * import { openStore } from "@sluice/sqlite";
 * import { sampleEvents } from "@sluice/core/testing";
 *
 * const dir = await Deno.makeTempDir();
 * const store = openStore(`${dir}/sluice.db`);
 * store.write(sampleEvents(3));
 * const page = store.listCalls({ status: "success" }, { limit: 2 });
 * console.log(page.calls.length, page.next !== undefined); // 2 true
 * store.close();
 * ```
 */
export function openStore(path: string, options: OpenStoreOptions = {}): SqliteStore {
  const readOnly = options.readOnly ?? false;
  const dir = path === ":memory:" ? undefined : dirOf(path);
  if (dir && !readOnly) Deno.mkdirSync(dir, { recursive: true });
  const db = new DatabaseSync(
    path,
    {
      readOnly,
      timeout: options.busyTimeoutMs ?? 5_000,
    } as ConstructorParameters<typeof DatabaseSync>[1],
  );
  try {
    if (readOnly) {
      const version = schemaVersion(db);
      if (version > SCHEMA_VERSION) throw new StoreVersionError(path, version);
      if (version < SCHEMA_VERSION) {
        throw new Error(
          `sqlite: ${path} is at schema version ${version}, not ${SCHEMA_VERSION}: open it once writable (the sink does) to migrate it`,
        );
      }
    } else {
      // auto_vacuum only takes effect on a file without tables: set it first.
      const pages = Number(db.prepare("PRAGMA page_count").get()?.page_count ?? 0);
      if (pages === 0) db.exec("PRAGMA auto_vacuum = INCREMENTAL");
      db.exec("PRAGMA journal_mode = WAL");
      db.exec("PRAGMA journal_size_limit = 67108864");
      migrate(db, path);
    }
    db.exec("PRAGMA synchronous = NORMAL");
    return new SqliteStore(db, path, readOnly);
  } catch (error) {
    db.close();
    throw error;
  }
}

/** An open store (see {@link openStore}). */
export class SqliteStore {
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  readonly #readOnly: boolean;
  /** The file it was opened from. */
  readonly path: string;

  /**
   * Wraps an open, migrated database: use {@link openStore}.
   * @param db The connection.
   * @param path Its file name.
   * @param readOnly Whether it was opened read-only.
   */
  constructor(db: DatabaseSync, path: string, readOnly = false) {
    this.#db = db;
    this.path = path;
    this.#readOnly = readOnly;
  }

  #prepare(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs `work` in one `BEGIN IMMEDIATE` transaction. */
  #transaction<T>(work: () => T): T {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const result = work();
      this.#db.exec("COMMIT");
      return result;
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  /**
   * Stores a batch in one transaction: all of it or, on error, none. An
   * event whose `request_id` is already stored is left as it is, so a
   * retried or replayed batch adds nothing.
   *
   * @param events The events (as the sink receives them: redacted).
   * @returns How many were new and how many already stored.
   * @throws when SQLite fails (busy past the timeout, disk full…); nothing of the batch is stored.
   *
   * @example
   * ```ts
   * import { openStore } from "@sluice/sqlite";
   * import { sampleEvents } from "@sluice/core/testing";
   *
   * const store = openStore(":memory:");
   * const batch = sampleEvents(2);
   * store.write(batch); // { inserted: 2, duplicates: 0 }
   * store.write(batch); // { inserted: 0, duplicates: 2 }
   * store.close();
   * ```
   */
  write(events: readonly { event: LogEvent; json: string }[] | readonly LogEvent[]): WriteResult {
    const rows = events.map((item) =>
      "json" in item && "event" in item
        ? item as { event: LogEvent; json: string }
        : { event: item as LogEvent, json: JSON.stringify(item) }
    );
    const insertCall = this.#prepare(
      `INSERT INTO calls (${CALL_COLUMNS.join(", ")}) VALUES (${
        CALL_COLUMNS.map(() => "?").join(", ")
      }) ON CONFLICT (request_id) DO NOTHING`,
    );
    const insertTag = this.#prepare(
      "INSERT OR IGNORE INTO call_tags (tag, start_time, seq) VALUES (?, ?, ?)",
    );
    const insertText = this.#prepare("INSERT INTO calls_fts (rowid, text) VALUES (?, ?)");
    return this.#transaction(() => {
      let inserted = 0;
      for (const { event, json } of rows) {
        const values = callValues(event, json);
        const result = insertCall.run(...values);
        if (Number(result.changes) === 0) continue;
        inserted++;
        const seq = Number(result.lastInsertRowid);
        const start = values[CALL_COLUMNS.indexOf("start_time")];
        for (const tag of new Set(JSON.parse(String(values[CALL_COLUMNS.indexOf("tags")])))) {
          insertTag.run(String(tag), start, seq);
        }
        const text = searchText(event as unknown as Record<string, unknown>);
        if (text) insertText.run(seq, text);
      }
      return { inserted, duplicates: rows.length - inserted };
    });
  }

  /**
   * Stores an OTLP trace export's spans (as a sink's `exportTelemetry` gets
   * them: redacted, ids as hex) in the `spans` table, in one transaction; a
   * span already stored (same trace and span id) is left as it is. They show
   * in {@link SqliteStore.traceSpans} beside the calls of their trace.
   *
   * @param request The export, in the OTLP/JSON shape.
   * @returns How many spans were new and how many already stored.
   *
   * @example
   * ```ts
   * import { openStore } from "@sluice/sqlite";
   * import { sampleTelemetry } from "@sluice/core/testing";
   *
   * const store = openStore(":memory:");
   * const batch = sampleTelemetry();
   * if (batch.signal === "traces") console.log(store.writeSpans(batch.request).inserted); // 2
   * store.close();
   * ```
   */
  writeSpans(request: ExportTraceServiceRequest): WriteResult {
    const insert = this.#prepare(
      `INSERT INTO spans (${SPAN_COLUMNS.join(", ")}) VALUES (${
        SPAN_COLUMNS.map(() => "?").join(", ")
      }) ON CONFLICT (trace_id, span_id) DO NOTHING`,
    );
    const receivedAt = Date.now();
    return this.#transaction(() => {
      let inserted = 0;
      let total = 0;
      for (const rs of request.resourceSpans ?? []) {
        const service = rs.resource?.attributes?.find((a) => a.key === "service.name")?.value
          ?.stringValue ?? null;
        for (const ss of rs.scopeSpans ?? []) {
          for (const span of ss.spans ?? []) {
            total++;
            if (!span.traceId || !span.spanId) continue;
            const result = insert.run(
              span.traceId,
              span.spanId,
              span.parentSpanId ?? null,
              span.name ?? "",
              span.kind ?? null,
              service,
              nanosToMillis(span.startTimeUnixNano),
              nanosToMillis(span.endTimeUnixNano ?? span.startTimeUnixNano),
              span.status?.code ?? null,
              span.status?.message ?? null,
              JSON.stringify(span.attributes ?? []),
              JSON.stringify(span.events ?? []),
              JSON.stringify(rs.resource ?? {}),
              JSON.stringify(ss.scope ?? {}),
              receivedAt,
            );
            inserted += Number(result.changes);
          }
        }
      }
      return { inserted, duplicates: total - inserted };
    });
  }

  /**
   * Bytes the database's pages in use take (`(page_count - freelist_count) *
   * page_size`): what `maxBytes` caps. The write-ahead log (`-wal`, at most
   * 64 MiB after a checkpoint) is not counted.
   *
   * @returns The size in bytes.
   */
  usedBytes(): number {
    const row = this.#prepare(
      "SELECT (SELECT page_count FROM pragma_page_count) - (SELECT freelist_count FROM pragma_freelist_count) AS pages, (SELECT page_size FROM pragma_page_size) AS size",
    ).get();
    return Number(row?.pages ?? 0) * Number(row?.size ?? 0);
  }

  /**
   * Deletes calls older than `retentionDays`, then the oldest calls until
   * the used size is at most 90% of `maxBytes`, in transactions of `chunk`
   * rows with a macrotask between them (writes go on meanwhile); then
   * returns free pages to the file system (`PRAGMA incremental_vacuum`) and
   * checkpoints the write-ahead log. Spans older than `retentionDays` go too.
   *
   * @param policy The limits and the clock.
   * @returns What was deleted.
   *
   * @example
   * ```ts
   * import { openStore } from "@sluice/sqlite";
   * import { sampleEvent } from "@sluice/core/testing";
   *
   * const store = openStore(":memory:");
   * store.write([sampleEvent({ start_time: Date.now() - 40 * 86_400_000 }), sampleEvent()]);
   * const result = await store.prune({ retentionDays: 30 });
   * console.log(result.byAge); // 1
   * store.close();
   * ```
   */
  async prune(policy: RetentionPolicy): Promise<PruneResult> {
    const now = (policy.now ?? Date.now)();
    const chunk = policy.chunk ?? 2_000;
    const result: PruneResult = { byAge: 0, bySize: 0, spans: 0, usedBytes: 0 };
    const yieldTurn = async () => {
      await new Promise((resolve) => setTimeout(resolve, 0));
      return policy.signal?.aborted !== true;
    };
    if (policy.retentionDays && policy.retentionDays > 0) {
      const cutoff = now - policy.retentionDays * 86_400_000;
      const deleteOld = this.#prepare(
        "DELETE FROM calls WHERE seq IN (SELECT seq FROM calls WHERE start_time < ? ORDER BY start_time LIMIT ?)",
      );
      for (;;) {
        const changes = Number(this.#transaction(() => deleteOld.run(cutoff, chunk)).changes);
        result.byAge += changes;
        if (changes < chunk || !(await yieldTurn())) break;
      }
      const deleteSpans = this.#prepare(
        "DELETE FROM spans WHERE (trace_id, span_id) IN (SELECT trace_id, span_id FROM spans WHERE start_time < ? ORDER BY start_time LIMIT ?)",
      );
      for (;;) {
        const changes = Number(this.#transaction(() => deleteSpans.run(cutoff, chunk)).changes);
        result.spans += changes;
        if (changes < chunk || !(await yieldTurn())) break;
      }
    }
    if (policy.maxBytes && policy.maxBytes > 0) {
      const target = policy.maxBytes * 0.9;
      const deleteOldest = this.#prepare(
        "DELETE FROM calls WHERE seq IN (SELECT seq FROM calls ORDER BY start_time, seq LIMIT ?)",
      );
      if (this.usedBytes() > policy.maxBytes) {
        while (this.usedBytes() > target) {
          const changes = Number(this.#transaction(() => deleteOldest.run(chunk)).changes);
          result.bySize += changes;
          if (changes === 0 || !(await yieldTurn())) break;
        }
      }
    }
    if (result.byAge + result.bySize + result.spans > 0) {
      this.#db.exec("PRAGMA incremental_vacuum");
      this.#db.exec("PRAGMA wal_checkpoint(PASSIVE)");
      this.#db.exec("PRAGMA optimize");
    }
    result.usedBytes = this.usedBytes();
    return result;
  }

  /**
   * Lists calls newest first (by `start_time`, then insertion order),
   * filtered, one page at a time with keyset paging: pass the page's `next`
   * as `before` for the following page. Each page is one indexed range
   * scan, however deep the paging goes.
   *
   * @param filter Conditions every call must meet.
   * @param page Limit and cursor.
   * @returns The page.
   *
   * @example
   * ```ts
   * import { openStore } from "@sluice/sqlite";
   * import { sampleEvents, sampleFailureEvent } from "@sluice/core/testing";
   *
   * const store = openStore(":memory:");
   * store.write([...sampleEvents(5), sampleFailureEvent()]);
   * const first = store.listCalls({}, { limit: 4 });
   * const second = store.listCalls({}, { limit: 4, before: first.next });
   * console.log(first.calls.length + second.calls.length); // 6
   * console.log(store.listCalls({ status: "failure" }).calls[0].error_status); // 429
   * store.close();
   * ```
   */
  listCalls(filter: CallFilter = {}, page: PageOptions = {}): CallPage {
    const limit = Math.max(1, Math.min(MAX_LIMIT, Math.floor(page.limit ?? 50)));
    const byTag = filter.tag !== undefined;
    // With a tag, walk call_tags' (tag, start_time, seq) key: newest first for that tag alone.
    const order = byTag ? ["t.start_time", "t.seq"] : ["c.start_time", "c.seq"];
    const where: string[] = [];
    const params: (string | number)[] = [];
    const equal = (column: string, value: string | undefined) => {
      if (value === undefined) return;
      where.push(`${column} = ?`);
      params.push(value);
    };
    if (byTag) equal("t.tag", filter.tag);
    equal("c.model_group", filter.model);
    equal("c.provider", filter.provider);
    equal("c.status", filter.status);
    equal("c.call_type", filter.callType);
    equal("c.team", filter.team);
    equal("c.key_alias", filter.keyAlias);
    equal("c.user", filter.user);
    equal("c.end_user", filter.endUser);
    equal("c.trace_id", filter.traceId);
    const range = (column: string, op: string, value: number | undefined) => {
      if (value === undefined || !Number.isFinite(value)) return;
      where.push(`${column} ${op} ?`);
      params.push(value);
    };
    range(order[0], ">=", filter.from);
    range(order[0], "<", filter.to);
    range("c.cost", ">=", filter.minCost);
    range("c.cost", "<=", filter.maxCost);
    range("c.response_time_ms", ">=", filter.minLatencyMs);
    range("c.response_time_ms", "<=", filter.maxLatencyMs);
    const match = filter.text === undefined ? undefined : ftsQuery(filter.text);
    if (match !== undefined) {
      // The matches are collected once (about 2 µs each), then the page is a lookup.
      where.push("c.seq IN (SELECT rowid FROM calls_fts WHERE calls_fts MATCH ?)");
      params.push(match);
    }
    if (page.before !== undefined) {
      const [time, seq] = parseCursor(page.before, "before");
      where.push(`${order[0]} <= ? AND (${order[0]} < ? OR ${order[1]} < ?)`);
      params.push(time, time, seq);
    }
    if (page.after !== undefined) {
      const [time, seq] = parseCursor(page.after, "after");
      where.push(`${order[0]} >= ? AND (${order[0]} > ? OR ${order[1]} > ?)`);
      params.push(time, time, seq);
    }
    const columns = ["seq", ...CALL_COLUMNS.filter((c) => c !== "event")].map((c) => `c.${c}`);
    const from = byTag ? "call_tags t JOIN calls c ON c.seq = t.seq" : "calls c";
    const sql = `SELECT ${columns.join(", ")} FROM ${from}${
      where.length ? ` WHERE ${where.join(" AND ")}` : ""
    } ORDER BY ${order[0]} DESC, ${order[1]} DESC LIMIT ?`;
    const rows = this.#prepare(sql).all(...params, limit + 1);
    const calls = rows.slice(0, limit).map((row) => toSummary(row as Record<string, unknown>));
    const last = calls[calls.length - 1];
    return rows.length > limit && last ? { calls, next: cursorOf(last) } : { calls };
  }

  /**
   * One call with its whole redacted event, by `request_id`, else by
   * `call_id` (the newest with it).
   *
   * @param id A request id or call id.
   * @returns The call, or undefined.
   *
   * @example
   * ```ts
   * import { openStore } from "@sluice/sqlite";
   * import { sampleEvent } from "@sluice/core/testing";
   *
   * const store = openStore(":memory:");
   * const event = sampleEvent();
   * store.write([event]);
   * console.log(store.getCall(event.call_id)?.event.messages); // the messages, as stored
   * store.close();
   * ```
   */
  getCall(id: string): StoredCall | undefined {
    const row = this.#prepare("SELECT * FROM calls WHERE request_id = ?").get(id) ??
      this.#prepare("SELECT * FROM calls WHERE call_id = ? ORDER BY start_time DESC LIMIT 1")
        .get(id);
    if (!row) return undefined;
    return { ...toSummary(row), event: JSON.parse(String(row.event)) };
  }

  /**
   * The spans of a trace, by start time: the gateway's span of each stored
   * call of the trace, and the OTLP spans stored for it.
   *
   * @param traceId 32 hex characters.
   * @returns The spans (empty for an unknown trace).
   *
   * @example
   * ```ts
   * import { openStore } from "@sluice/sqlite";
   * import { sampleEvent } from "@sluice/core/testing";
   *
   * const store = openStore(":memory:");
   * const event = sampleEvent();
   * store.write([event]);
   * console.log(store.traceSpans(event.trace_id)[0].name); // "chat gpt-4o-mini"
   * store.close();
   * ```
   */
  traceSpans(traceId: string): TraceSpan[] {
    const spans: TraceSpan[] = [];
    for (
      const row of this.#prepare(
        "SELECT request_id, trace_id, span_id, parent_span_id, call_type, model_group, start_time, end_time, status FROM calls WHERE trace_id = ?",
      ).all(traceId)
    ) {
      spans.push({
        source: "call",
        trace_id: String(row.trace_id),
        span_id: String(row.span_id),
        parent_span_id: row.parent_span_id === null ? null : String(row.parent_span_id),
        name: [row.call_type, row.model_group].filter((p) => p !== null).join(" "),
        start_time: Number(row.start_time),
        end_time: Number(row.end_time),
        error: row.status === "failure",
        request_id: String(row.request_id),
        service_name: null,
      });
    }
    // A GenAI span stored as a call too is shown once, as the call (it links to the call's page).
    const calls = new Set(spans.map((s) => s.span_id));
    for (
      const row of this.#prepare(
        "SELECT trace_id, span_id, parent_span_id, name, service_name, start_time, end_time, status_code FROM spans WHERE trace_id = ?",
      ).all(traceId)
    ) {
      if (calls.has(String(row.span_id))) continue;
      spans.push({
        source: "otlp",
        trace_id: String(row.trace_id),
        span_id: String(row.span_id),
        parent_span_id: row.parent_span_id === null ? null : String(row.parent_span_id),
        name: String(row.name),
        start_time: Number(row.start_time),
        end_time: Number(row.end_time),
        error: row.status_code === 2,
        request_id: null,
        service_name: row.service_name === null ? null : String(row.service_name),
      });
    }
    return spans.sort((a, b) => a.start_time - b.start_time);
  }

  /**
   * Statistics of the calls that started in a window (`gateway_error`
   * events excluded): per bucket (default one minute) calls, errors,
   * latency p50/p95, TTFT p50, tokens and cost; totals; and calls, errors,
   * tokens and cost by model, team and key (alias, else the key hash's first
   * 12 characters). Percentiles are nearest-rank. One indexed scan of the
   * window's rows.
   *
   * @param window The time range and bucket width.
   * @returns The statistics.
   *
   * @example
   * ```ts
   * import { openStore } from "@sluice/sqlite";
   * import { sampleEvents } from "@sluice/core/testing";
   *
   * const store = openStore(":memory:");
   * store.write(sampleEvents(10));
   * const stats = store.stats({ from: Date.now() - 3_600_000, to: Date.now() + 1 });
   * console.log(stats.totals.calls, stats.byModel[0].key); // 10 "gpt-4o-mini"
   * store.close();
   * ```
   */
  stats(window: StatsWindow): CallStats {
    const statement = this.#prepare(
      "SELECT start_time, status, response_time_ms, ttft_ms, prompt_tokens, completion_tokens, cost, model_group, team, key_alias, key_hash FROM calls WHERE start_time >= ? AND start_time < ? AND call_type != 'gateway_error'",
    );
    // Arrays, not objects, per row: the scan may cover many rows (Deno's types lack the method).
    const arrays = statement as unknown as { setReturnArrays(enabled: boolean): void };
    arrays.setReturnArrays(true);
    try {
      const rows = statement.iterate(window.from, window.to) as unknown as Iterable<StatsRow>;
      return computeStats(window, rows);
    } finally {
      arrays.setReturnArrays(false);
    }
  }

  /**
   * Checks the file (`PRAGMA integrity_check`).
   *
   * @returns `["ok"]` for a sound file, else SQLite's findings.
   */
  integrityCheck(): string[] {
    return this.#db.prepare("PRAGMA integrity_check").all().map((r) => String(r.integrity_check));
  }

  /** Closes the connection (idempotent). */
  close(): void {
    if (!this.#db.isOpen) return;
    this.#statements.clear();
    try {
      if (!this.#readOnly) this.#db.exec("PRAGMA optimize");
    } catch {
      // best effort
    }
    this.#db.close();
  }
}
