/**
 * Messages between the console's request thread and its store Worker
 * (`store_worker.ts`): SQLite (`node:sqlite`) is synchronous, so every read
 * of the store runs on that Worker, never on the thread that serves calls.
 * @module
 */

/** A read the store Worker answers (the `SqliteStore` method of the same name). */
export type StoreOp = "listCalls" | "getCall" | "traceSpans" | "stats";

/** From the request thread to the store Worker. */
export type ToStoreWorker =
  | { type: "open"; path: string; busyTimeoutMs: number }
  | { type: "query"; id: number; op: StoreOp; args: unknown[] }
  | { type: "close" };

/** From the store Worker: one answer per query. */
export type FromStoreWorker =
  | { type: "result"; id: number; value: unknown }
  | { type: "error"; id: number; code: string; message: string };
