/**
 * The sqlite sink: each batch in one transaction of a {@link SqliteStore},
 * retention at start and then periodically, off the write path.
 * @module
 */
import type { LogEvent, PluginLogger, Sink, TelemetryBatch } from "@sluice/core/plugin";
import { telemetryEvents } from "@sluice/core/otlp";
import { openStore, type PruneResult, type SqliteStore } from "./store.ts";

/** Where the database goes when neither the config nor the gateway names a place. */
export const DEFAULT_SQLITE_PATH = "./.sluice/sluice.db";

/** Options of {@link createSqliteSink}. */
export interface SqliteSinkOptions {
  /** The database file (created with its directory if missing). */
  path: string;
  /** Delete calls older than this many days (0 or absent: keep). */
  retentionDays?: number;
  /** Cap on the used bytes (0 or absent: none). */
  maxBytes?: number;
  /** Between retention runs (default 300,000 ms). */
  retentionIntervalMs?: number;
  /** Busy timeout (default 5,000 ms). */
  busyTimeoutMs?: number;
  /** The clock retention reads (default `Date.now`). */
  now?: () => number;
  /** Where retention reports what it deleted and why it failed. */
  logger?: PluginLogger;
  /** Called after each retention run (tests, metrics). */
  onPrune?: (result: PruneResult) => void;
}

/** A sqlite sink with its store's retention exposed (for tests and tools). */
export interface SqliteSink extends Sink {
  /** Runs retention now (waits for a run in progress first); resolves with what it deleted. */
  prune(): Promise<PruneResult>;
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Creates a sink writing to the SQLite store at `options.path`. `log`
 * stores a batch in one transaction before it resolves; an event already
 * stored (same `request_id`) is not stored again, so the gateway's retries
 * and spool replays neither lose nor duplicate calls. A failed transaction
 * stores nothing and rejects (the gateway retries the batch); events that
 * cannot be serialised are left out and reported as permanent once the
 * rest is stored.
 *
 * Retention (`retentionDays`, `maxBytes`) runs when the sink is created and
 * every `retentionIntervalMs`, in chunks between which batches go on.
 *
 * @param options The file, limits and clock.
 * @returns The sink.
 *
 * @example
 * ```ts
 * import { createSqliteSink, openStore } from "@sluice/sqlite";
 * import { sampleEvents } from "@sluice/core/testing";
 *
 * const dir = await Deno.makeTempDir();
 * const sink = createSqliteSink({ path: `${dir}/sluice.db`, retentionDays: 30 });
 * await sink.log(sampleEvents(3));
 * await sink.close?.();
 * const store = openStore(`${dir}/sluice.db`, { readOnly: true });
 * console.log(store.listCalls().calls.length); // 3
 * store.close();
 * ```
 */
export function createSqliteSink(options: SqliteSinkOptions): SqliteSink {
  const store: SqliteStore = openStore(options.path, { busyTimeoutMs: options.busyTimeoutMs });
  const stop = new AbortController();
  let closed = false;
  let pruning: Promise<PruneResult> | undefined;
  const limited = (options.retentionDays ?? 0) > 0 || (options.maxBytes ?? 0) > 0;

  function prune(): Promise<PruneResult> {
    const previous = pruning ?? Promise.resolve();
    const run = previous.catch(() => {}).then(() =>
      store.prune({
        retentionDays: options.retentionDays,
        maxBytes: options.maxBytes,
        now: options.now,
        signal: stop.signal,
      })
    ).then((result) => {
      if (result.byAge + result.bySize + result.spans > 0) {
        options.logger?.info(
          `retention deleted ${result.byAge} calls older than ${options.retentionDays} days and ${result.bySize} to stay under ${options.maxBytes} bytes`,
          { ...result },
        );
      }
      options.onPrune?.(result);
      return result;
    });
    pruning = run;
    run.catch((error) => {
      options.logger?.warn(`retention failed on ${options.path}: ${reason(error)}`);
    }).finally(() => {
      if (pruning === run) pruning = undefined;
    });
    return run;
  }

  let timer: ReturnType<typeof setInterval> | undefined;
  if (limited) {
    prune().catch(() => {});
    timer = setInterval(() => {
      if (!pruning) prune().catch(() => {});
    }, options.retentionIntervalMs ?? 300_000);
    Deno.unrefTimer(timer as unknown as number);
  }

  return {
    log(events: readonly LogEvent[]) {
      if (closed) return Promise.reject(new Error(`sqlite: log() after close() (${options.path})`));
      if (events.length === 0) return;
      const rows: { event: LogEvent; json: string }[] = [];
      const bad: string[] = [];
      for (const event of events) {
        try {
          rows.push({ event, json: JSON.stringify(event) });
        } catch (error) {
          bad.push(`${event.request_id} (${reason(error)})`);
        }
      }
      try {
        if (rows.length > 0) store.write(rows);
      } catch (error) {
        return Promise.reject(
          new Error(
            `sqlite: cannot store a batch of ${events.length} events in ${options.path}: ${
              reason(error)
            }`,
          ),
        );
      }
      if (bad.length > 0) {
        return Promise.reject(Object.assign(
          new Error(`sqlite: events that cannot be serialised were left out: ${bad.join(", ")}`),
          { permanent: true },
        ));
      }
    },
    /**
     * An app's spans (ingested by the gateway's OTLP endpoint, redacted): the
     * spans go to the `spans` table for the console's trace view, and their
     * GenAI calls to the `calls` table as `source: "otlp"` calls, in one
     * transaction each. Log records are not stored.
     */
    exportTelemetry(batch: TelemetryBatch): Promise<void> {
      if (closed) {
        return Promise.reject(
          new Error(`sqlite: exportTelemetry() after close() (${options.path})`),
        );
      }
      if (batch.signal !== "traces") return Promise.resolve();
      try {
        store.writeSpans(batch.request);
        const calls = telemetryEvents(batch);
        if (calls.length > 0) store.write(calls);
      } catch (error) {
        return Promise.reject(
          new Error(`sqlite: cannot store spans in ${options.path}: ${reason(error)}`),
        );
      }
      return Promise.resolve();
    },
    prune,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      stop.abort();
      await pruning?.catch(() => {});
      store.close();
    },
  };
}
