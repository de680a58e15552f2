/**
 * LiteLLM's `s3` / `s3_v2` callbacks as an s3 sink:
 * `litellm_settings.s3_callback_params` become the plugin's config, the
 * entry's `queue:` (flush interval, batch size) and `redaction:`
 * (`s3_strip_base64_files`).
 * @module
 */
import type { LiteLLMMapping, LiteLLMProblem } from "@sluice/core/plugin";
import type { S3Config } from "./config.ts";

/** `s3_callback_params` keys that are one of the plugin's config keys. */
const DIRECT: Record<string, keyof S3Config> = {
  s3_bucket_name: "bucket",
  s3_region_name: "region",
  s3_endpoint_url: "endpoint_url",
  s3_aws_access_key_id: "access_key_id",
  s3_aws_secret_access_key: "secret_access_key",
  s3_aws_session_token: "session_token",
  s3_path: "path",
  s3_use_team_prefix: "use_team_prefix",
  s3_use_key_prefix: "use_key_prefix",
};

/**
 * The s3 plugin's LiteLLM mapping.
 *
 * @example
 * ```ts
 * import { s3LiteLLM } from "@sluice/s3";
 * const entry = s3LiteLLM.toSink!({
 *   callback: "s3_v2",
 *   name: "s3_v2",
 *   path: "litellm_settings.callbacks[0]",
 *   callbackSettings: {},
 *   litellmSettings: { s3_callback_params: { s3_bucket_name: "logs", s3_flush_interval: 5 } },
 *   env: () => undefined,
 * });
 * if (entry.config?.bucket !== "logs" || entry.queue?.flush_interval_ms !== 5000) {
 *   throw new Error("unexpected");
 * }
 * ```
 */
export const s3LiteLLM: LiteLLMMapping<S3Config> = {
  callbacks: ["s3", "s3_v2"],
  settings: ["s3_callback_params"],
  toSink({ litellmSettings }) {
    const given = litellmSettings.s3_callback_params;
    const params = given !== null && typeof given === "object" ? given : {};
    const config: { [K in keyof S3Config]?: unknown } = {};
    const queue: Record<string, unknown> = {};
    let redaction: Record<string, unknown> | undefined;
    const problems: LiteLLMProblem[] = [];
    for (const [key, value] of Object.entries(params)) {
      const path = `litellm_settings.s3_callback_params.${key}`;
      if (key in DIRECT) config[DIRECT[key]] = value;
      else if (key === "s3_flush_interval") queue.flush_interval_ms = Number(value) * 1000;
      else if (key === "s3_batch_size") queue.batch_size = value;
      else if (key === "s3_strip_base64_files") {
        if (value === true) redaction = { drop_non_text_parts: true };
      } else if (key === "s3_use_ssl" || key === "s3_verify" || key === "s3_api_version") {
        problems.push({
          path,
          severity: "warning",
          message: "TLS and API version follow the endpoint URL in Sluice; ignored",
        });
      } else {
        problems.push({
          path,
          severity: "warning",
          message: "not supported by the s3 sink (role assumption and boto config are not " +
            "implemented); ignored",
        });
      }
    }
    return {
      config,
      ...(Object.keys(queue).length > 0 ? { queue } : {}),
      ...(redaction ? { redaction } : {}),
      problems,
    };
  },
};
