/**
 * The sink plugin loader: `loadSink` / `loadSinks` turn `sinks:` entries
 * into ready sinks (the v1 plugin contract's `Sink`), from built-in short names, local paths, exact
 * `npm:`/`jsr:` specifiers, pinned `https://` URLs and `s3://`/`gs://`
 * bucket paths, optionally inside a permission-limited Worker.
 *
 * @example
 * ```ts
 * import { loadSinks } from "./mod.ts";
 * // A plugin file of one's own, next to the config.
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(
 *   `${dir}/my_sink.js`,
 *   `export default { name: "mine", version: "1.0.0", apiVersion: 1, create: () => ({ log() {} }) };`,
 * );
 * const controller = new AbortController();
 * const { loaded } = await loadSinks(
 *   [{ use: "./my_sink.js", config: {}, allow_unpinned: false, optional: false, required: false,
 *     queue: { batch_size: 100, flush_interval_ms: 1000, max_queue: 10_000, spool_max_bytes: 1 << 30 } }],
 *   { dataDir: `${dir}/data`, baseDir: dir, signal: controller.signal },
 * );
 * await loaded[0].sink.log([]);
 * await loaded[0].sink.close?.();
 * controller.abort();
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
export { defaultLog, loadSink, loadSinks } from "./load.ts";
export { PluginLoadError, type PluginLoadErrorCode } from "./errors.ts";
export type { LoadedSink, LoadSinkOptions, LoadSinksResult } from "./types.ts";
