/**
 * `@sluice/jsonl`: a Sluice sink that appends every event as one JSON line
 * to `<dir>/events-YYYY-MM-DD.jsonl` (UTC date of the call's start). Each
 * batch is written (and optionally fsynced) before `log` resolves.
 *
 * The default export is the plugin definition (contract v1); the named
 * exports let you write the same files from code.
 *
 * @example Use it in gateway.yaml
 * ```yaml
 * sinks:
 *   - use: jsonl                   # or "@sluice/jsonl"
 *     config: { dir: ./logs, fsync: true }
 * ```
 *
 * @example Read a day back
 * ```ts
 * import { createJsonlSink, jsonlFileName } from "@sluice/jsonl";
 * import { sampleEvent } from "@sluice/core/testing";
 *
 * const dir = await Deno.makeTempDir();
 * const event = sampleEvent();
 * const sink = await createJsonlSink({ dir });
 * await sink.log([event]);
 * await sink.close?.();
 * const lines = (await Deno.readTextFile(`${dir}/${jsonlFileName(event)}`)).trim().split("\n");
 * console.log(JSON.parse(lines[0]).request_id === event.request_id); // true
 * ```
 * @module
 */
export { default } from "./plugin.ts";
export { type JsonlConfig, jsonlConfigSchema, parseJsonlConfig } from "./config.ts";
export {
  createJsonlSink,
  DEFAULT_JSONL_DIR,
  jsonlFileName,
  type JsonlSinkOptions,
} from "./jsonl_sink.ts";
