/**
 * LiteLLM's `gcs_pubsub` callback as a gcs-pubsub sink: the topic from
 * `GCS_PUBSUB_PROJECT_ID` and `GCS_PUBSUB_TOPIC_ID`, the key file from
 * `GCS_PATH_SERVICE_ACCOUNT` (read by the plugin itself, through
 * `@sluice/gcs/auth`).
 * @module
 */
import type { LiteLLMMapping } from "@sluice/core/plugin";
import type { PubSubConfig } from "./config.ts";

/**
 * The gcs-pubsub plugin's LiteLLM mapping (`gcs_pubsub`).
 *
 * @example
 * ```ts
 * import { pubsubLiteLLM } from "@sluice/gcs-pubsub";
 *
 * const vars: Record<string, string> = {
 *   GCS_PUBSUB_PROJECT_ID: "my-project",
 *   GCS_PUBSUB_TOPIC_ID: "litellm-logs",
 * };
 * const entry = pubsubLiteLLM.toSink!({
 *   callback: "gcs_pubsub",
 *   name: "gcs_pubsub",
 *   path: "litellm_settings.callbacks[0]",
 *   callbackSettings: {},
 *   litellmSettings: {},
 *   env: (name) => vars[name],
 * });
 * entry.config; // { project_id: "my-project", topic_id: "litellm-logs" }
 * ```
 */
export const pubsubLiteLLM: LiteLLMMapping<PubSubConfig> = {
  callbacks: ["gcs_pubsub"],
  toSink({ name, path, env }) {
    const project = env("GCS_PUBSUB_PROJECT_ID")?.trim();
    const topic = env("GCS_PUBSUB_TOPIC_ID")?.trim();
    const missing = [
      project ? "" : "GCS_PUBSUB_PROJECT_ID",
      topic ? "" : "GCS_PUBSUB_TOPIC_ID",
    ].filter(Boolean);
    if (missing.length > 0) {
      return {
        problems: [{
          path,
          severity: "error",
          message: `callback "${name}" needs ${missing.join(" and ")} (the topic the logs go to)`,
        }],
      };
    }
    return { config: { project_id: project, topic_id: topic } };
  },
};
