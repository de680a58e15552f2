/**
 * The JSONL sink: one JSON event per line in `<dir>/events-YYYY-MM-DD.jsonl`.
 * @module
 */
import type { LogEvent, Sink } from "@sluice/core/plugin";

/** Where events go when the config sets no `dir`. */
export const DEFAULT_JSONL_DIR = "./.sluice/logs";

/** Options of {@link createJsonlSink}. */
export interface JsonlSinkOptions {
  /** The directory of the daily files (created if missing). */
  dir: string;
  /** `fsync` each file after every batch (default false: the OS flushes). */
  fsync?: boolean;
}

/**
 * The file an event belongs to: `events-YYYY-MM-DD.jsonl`, the UTC date of
 * its `start_time` (the current date if `start_time` is not a valid time).
 *
 * @param event The event.
 * @returns The file name, without directory.
 *
 * @example
 * ```ts
 * import { jsonlFileName } from "@sluice/jsonl";
 * import { sampleEvent } from "@sluice/core/testing";
 * jsonlFileName(sampleEvent({ start_time: Date.UTC(2025, 0, 31, 23, 59) })); // "events-2025-01-31.jsonl"
 * ```
 */
export function jsonlFileName(event: LogEvent): string {
  const start = new Date(event.start_time);
  const date = Number.isFinite(start.getTime()) ? start : new Date();
  return `events-${date.toISOString().slice(0, 10)}.jsonl`;
}

/**
 * Creates a JSONL sink writing under `options.dir`. Each batch is grouped by
 * file; each group is appended in one write and, with `fsync`, synced to
 * disk, before `log` resolves. Batches are written one after the other. The
 * current day's file stays open until the date changes or `close()`.
 *
 * A failed write rejects `log` (the gateway retries the batch), so a batch
 * that failed half-way may appear twice: readers de-duplicate on
 * `request_id`. Events that cannot be serialised reject with
 * `permanent: true`.
 *
 * @param options The directory and whether to fsync.
 * @returns The sink.
 *
 * @example
 * ```ts
 * import { createJsonlSink } from "@sluice/jsonl";
 * import { sampleEvents } from "@sluice/core/testing";
 *
 * const dir = await Deno.makeTempDir();
 * const sink = await createJsonlSink({ dir, fsync: true });
 * await sink.log(sampleEvents(3));
 * await sink.close?.();
 * ```
 */
export async function createJsonlSink(options: JsonlSinkOptions): Promise<Sink> {
  const dir = options.dir.replace(/(.)[\\/]+$/, "$1");
  const fsync = options.fsync ?? false;
  await Deno.mkdir(dir, { recursive: true });
  const encoder = new TextEncoder();
  let open: { name: string; file: Deno.FsFile } | undefined;
  let tail: Promise<void> = Promise.resolve();
  let closed = false;

  function closeOpen(): void {
    const current = open;
    open = undefined;
    try {
      current?.file.close();
    } catch {
      // already closed
    }
  }

  async function fileFor(name: string): Promise<Deno.FsFile> {
    if (open?.name === name) return open.file;
    closeOpen();
    const file = await Deno.open(`${dir}/${name}`, { append: true, create: true });
    open = { name, file };
    return file;
  }

  function group(events: readonly LogEvent[]): Map<string, string[]> {
    const byFile = new Map<string, string[]>();
    for (const event of events) {
      let line: string;
      try {
        line = JSON.stringify(event);
      } catch (error) {
        throw Object.assign(
          new Error(`jsonl: event ${event.request_id} cannot be serialised: ${error}`),
          { permanent: true },
        );
      }
      const name = jsonlFileName(event);
      const lines = byFile.get(name);
      if (lines) lines.push(line);
      else byFile.set(name, [line]);
    }
    return byFile;
  }

  async function append(events: readonly LogEvent[]): Promise<void> {
    if (closed) throw new Error(`jsonl: log() after close() (dir ${dir})`);
    for (const [name, lines] of group(events)) {
      try {
        const file = await fileFor(name);
        const bytes = encoder.encode(lines.join("\n") + "\n");
        for (let n = 0; n < bytes.length;) n += await file.write(bytes.subarray(n));
        if (fsync) await file.sync();
      } catch (error) {
        closeOpen(); // reopen on the next attempt (the file may have been moved or deleted)
        const reason = error instanceof Error ? error.message : String(error);
        throw new Error(`jsonl: cannot append to ${dir}/${name}: ${reason}`);
      }
    }
  }

  function serial(task: () => Promise<void>): Promise<void> {
    const run = tail.then(task);
    tail = run.catch(() => {});
    return run;
  }

  return {
    log(events) {
      if (events.length === 0) return;
      return serial(() => append(events));
    },
    flush() {
      return tail;
    },
    close() {
      return serial(() => {
        closed = true;
        closeOpen();
        return Promise.resolve();
      });
    },
  };
}
