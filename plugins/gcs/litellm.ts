/**
 * LiteLLM's `gcs_bucket` callback as a gcs sink: the bucket from
 * `GCS_BUCKET_NAME` (a `bucket/prefix` value puts the objects under the
 * prefix), the key file from `GCS_PATH_SERVICE_ACCOUNT` (read by the
 * plugin itself, like `GOOGLE_APPLICATION_CREDENTIALS`), and
 * `GCS_FLUSH_INTERVAL` (seconds) / `GCS_BATCH_SIZE` as the entry's `queue:`.
 * @module
 */
import type { LiteLLMMapping, LiteLLMProblem } from "@sluice/core/plugin";
import type { GcsConfig } from "./config.ts";

/**
 * The gcs plugin's LiteLLM mapping (`gcs_bucket`).
 *
 * @example
 * ```ts
 * import { gcsLiteLLM } from "@sluice/gcs";
 *
 * const vars: Record<string, string> = { GCS_BUCKET_NAME: "llm-logs/proxy", GCS_FLUSH_INTERVAL: "5" };
 * const entry = gcsLiteLLM.toSink!({
 *   callback: "gcs_bucket",
 *   name: "gcs_bucket",
 *   path: "litellm_settings.callbacks[0]",
 *   callbackSettings: {},
 *   litellmSettings: {},
 *   env: (name) => vars[name],
 * });
 * entry.config; // { bucket: "llm-logs", path: "proxy" }
 * entry.queue; // { flush_interval_ms: 5000 }
 * ```
 */
export const gcsLiteLLM: LiteLLMMapping<GcsConfig> = {
  callbacks: ["gcs_bucket"],
  toSink({ name, path, env }) {
    const problems: LiteLLMProblem[] = [];
    const given = env("GCS_BUCKET_NAME")?.trim();
    if (!given) {
      return {
        problems: [{
          path,
          severity: "error",
          message: `callback "${name}" needs GCS_BUCKET_NAME (the bucket the logs go to)`,
        }],
      };
    }
    const [bucket, ...prefix] = given.split("/");
    const config: { [K in keyof GcsConfig]?: unknown } = { bucket };
    const folder = prefix.filter(Boolean).join("/");
    if (folder) config.path = folder;
    const queue: Record<string, unknown> = {};
    const seconds = env("GCS_FLUSH_INTERVAL");
    if (seconds !== undefined) {
      const value = Number(seconds);
      if (Number.isFinite(value) && value > 0) queue.flush_interval_ms = Math.round(value * 1000);
      else {
        problems.push({
          path,
          severity: "warning",
          message: "GCS_FLUSH_INTERVAL is not a positive number of seconds; the default is used",
        });
      }
    }
    const size = env("GCS_BATCH_SIZE");
    if (size !== undefined) {
      const value = Number(size);
      if (Number.isInteger(value) && value > 0) queue.batch_size = value;
      else {
        problems.push({
          path,
          severity: "warning",
          message: "GCS_BATCH_SIZE is not a positive integer; the default is used",
        });
      }
    }
    return {
      config,
      ...(Object.keys(queue).length > 0 ? { queue } : {}),
      ...(problems.length > 0 ? { problems } : {}),
    };
  },
};
