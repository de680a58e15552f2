/**
 * The console's store Worker: opens the SQLite store read-only (through
 * `@sluice/sqlite`, imported at run time as the loader imports built-ins, so
 * core does not depend on it) and
 * answers queries one at a time, off the request thread. A store that does
 * not exist yet (no call stored so far) is opened again at the next query.
 * @module
 */
/// <reference lib="deno.worker" />
import type { FromStoreWorker, StoreOp, ToStoreWorker } from "./store_protocol.ts";
import { importBuiltin } from "../loader/import.ts";

/** The part of `@sluice/sqlite`'s `SqliteStore` the console reads. */
type Store = Record<StoreOp, (...args: unknown[]) => unknown> & { close(): void };
type OpenStore = (path: string, options: { readOnly: boolean; busyTimeoutMs: number }) => Store;

let path = "";
let busyTimeoutMs = 5_000;
let store: Store | undefined;
let openStore: OpenStore | undefined;

async function open(): Promise<Store> {
  if (store) return store;
  if (!openStore) {
    // The sqlite built-in, resolved as the loader resolves it (workspace, else JSR).
    const sqlite = await importBuiltin({
      kind: "builtin",
      name: "sqlite",
      specifiers: ["@sluice/sqlite", "jsr:@sluice/sqlite"],
    });
    openStore = (sqlite as { openStore: OpenStore }).openStore;
  }
  try {
    Deno.statSync(path);
  } catch {
    throw Object.assign(new Error(`no store at ${path} yet: no call has been stored`), {
      code: "store_missing",
    });
  }
  store = openStore(path, { readOnly: true, busyTimeoutMs });
  return store;
}

function reply(message: FromStoreWorker): void {
  self.postMessage(message);
}

self.onmessage = async (message: MessageEvent<ToStoreWorker>) => {
  const data = message.data;
  if (data.type === "open") {
    path = data.path;
    busyTimeoutMs = data.busyTimeoutMs;
    return;
  }
  if (data.type === "close") {
    store?.close();
    store = undefined;
    self.close();
    return;
  }
  try {
    const opened = await open();
    reply({ type: "result", id: data.id, value: opened[data.op](...data.args) });
  } catch (error) {
    const given = (error as { code?: unknown })?.code;
    const message = error instanceof Error ? error.message : String(error);
    const code = typeof given === "string"
      ? given
      : /is not a cursor/.test(message)
      ? "bad_cursor"
      : "store_error";
    // A file being created or migrated by the sink: open it afresh next time.
    if (/schema version|no such table/.test(message)) {
      store?.close();
      store = undefined;
    }
    reply({ type: "error", id: data.id, code, message });
  }
};
