/**
 * The request thread's handle on the console's store Worker: each read is a
 * message, answered by a promise, so a slow query never blocks a call.
 * @module
 */
import type { FromStoreWorker, StoreOp, ToStoreWorker } from "./store_protocol.ts";

/** A failed store read: `code` is `store_missing`, `bad_cursor`, `store_timeout` or `store_error`. */
export class StoreError extends Error {
  /** What went wrong, for the API's error body. */
  readonly code: string;

  /**
   * @param code The error code.
   * @param message What happened.
   */
  constructor(code: string, message: string) {
    super(message);
    this.name = "StoreError";
    this.code = code;
  }
}

/** Reads the SQLite store in a dedicated Worker. */
export class StoreClient {
  readonly #worker: Worker;
  readonly #waiting = new Map<
    number,
    {
      resolve: (value: unknown) => void;
      reject: (error: Error) => void;
      timer: ReturnType<typeof setTimeout>;
    }
  >();
  readonly #timeoutMs: number;
  #nextId = 0;
  #closed = false;

  /**
   * Starts the Worker on the store at `path`.
   * @param path The SQLite file.
   * @param timeoutMs Longest wait for one answer (default 30,000 ms).
   */
  constructor(path: string, timeoutMs = 30_000) {
    this.#timeoutMs = timeoutMs;
    this.#worker = new Worker(new URL("./store_worker.ts", import.meta.url).href, {
      type: "module",
      name: "sluice-console-store",
    });
    this.#worker.onmessage = (message: MessageEvent<FromStoreWorker>) => {
      const data = message.data;
      const waiting = this.#waiting.get(data.id);
      if (!waiting) return;
      this.#waiting.delete(data.id);
      clearTimeout(waiting.timer);
      if (data.type === "result") waiting.resolve(data.value);
      else waiting.reject(new StoreError(data.code, data.message));
    };
    this.#worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#failAll(new StoreError("store_error", `the store worker failed: ${event.message}`));
    };
    this.#post({ type: "open", path, busyTimeoutMs: 5_000 });
  }

  #post(message: ToStoreWorker): void {
    this.#worker.postMessage(message);
  }

  #failAll(error: Error): void {
    for (const waiting of this.#waiting.values()) {
      clearTimeout(waiting.timer);
      waiting.reject(error);
    }
    this.#waiting.clear();
  }

  /**
   * Runs one `SqliteStore` read on the Worker.
   * @param op The method.
   * @param args Its arguments (structured-cloneable).
   * @returns Its result.
   */
  query<T>(op: StoreOp, ...args: unknown[]): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreError("store_error", "the console closed"));
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(
          new StoreError("store_timeout", `the store did not answer within ${this.#timeoutMs} ms`),
        );
      }, this.#timeoutMs);
      this.#waiting.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      this.#post({ type: "query", id, op, args });
    });
  }

  /** Closes the store and ends the Worker; pending reads fail. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#failAll(new StoreError("store_error", "the console closed"));
    this.#worker.terminate();
  }
}
