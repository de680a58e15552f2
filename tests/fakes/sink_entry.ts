/**
 * Sink entries with the schema's defaults filled in, and the plugin
 * fixtures' location, for loader, sandbox and pipeline tests.
 * @module
 */
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { SinkConfig } from "../../core/config/types.ts";

/** The fixture plugins directory. */
export const FIXTURES: string = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "fixtures",
  "plugins",
);

/** Hex sha256 of bytes or text. */
export const sha256 = (bytes: Uint8Array | string): string =>
  createHash("sha256").update(bytes).digest("hex");

/** A sink entry with the schema's defaults; `queue` fields merge over the defaults. */
export function sinkEntry(
  fields: Omit<Partial<SinkConfig>, "queue"> & {
    use: string;
    queue?: Partial<SinkConfig["queue"]>;
  },
): SinkConfig {
  return {
    allow_unpinned: false,
    optional: false,
    required: false,
    config: {},
    ...fields,
    queue: {
      batch_size: 100,
      flush_interval_ms: 1000,
      max_queue: 10_000,
      spool_max_bytes: 1 << 30,
      ...fields.queue,
    },
  };
}
