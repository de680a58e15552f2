/**
 * The sink plugin loader: `loadSink` / `loadSinks` turn `sinks:` entries
 * into ready sinks (the v1 plugin contract's `Sink`), from built-in short names, local paths, exact
 * `npm:`/`jsr:` specifiers, pinned `https://` URLs and `s3://`/`gs://`
 * bucket paths, optionally inside a permission-limited Worker.
 *
 * @example
 * ```ts
 * import { loadSinks } from "./mod.ts";
 * const controller = new AbortController();
 * const { loaded } = await loadSinks(
 *   [{ use: "./my_sink.ts", config: {}, allow_unpinned: false, optional: false, required: false,
 *     queue: { batch_size: 100, flush_interval_ms: 1000, max_queue: 10_000, spool_max_bytes: 1 << 30 } }],
 *   { dataDir: ".sluice", baseDir: Deno.cwd(), signal: controller.signal },
 * );
 * await loaded[0].sink.log([]);
 * ```
 * @module
 */
export { defaultLog, loadSink, loadSinks } from "./load.ts";
export { PluginLoadError, type PluginLoadErrorCode } from "./errors.ts";
export type { LoadedSink, LoadSinkOptions, LoadSinksResult } from "./types.ts";
export { workerOptionsEnabled } from "./unstable.ts";
