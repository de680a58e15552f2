/**
 * LiteLLM's `aws_sqs` callback as an sqs sink:
 * `litellm_settings.aws_sqs_callback_params` become the plugin's config,
 * the entry's `queue:` (batch size, flush interval) and `redaction:`
 * (`sqs_strip_base64_files`).
 * @module
 */
import type { LiteLLMMapping, LiteLLMProblem } from "@sluice/core/plugin";
import type { SqsConfig } from "./config.ts";

/** `aws_sqs_callback_params` keys that are one of the plugin's config keys. */
const DIRECT: Record<string, keyof SqsConfig> = {
  sqs_queue_url: "queue_url",
  sqs_region_name: "region",
  sqs_endpoint_url: "endpoint_url",
  sqs_aws_access_key_id: "access_key_id",
  sqs_aws_secret_access_key: "secret_access_key",
  sqs_aws_session_token: "session_token",
};

/** Keys about TLS and the client library: the endpoint URL decides these in Sluice. */
const TRANSPORT = new Set(["sqs_use_ssl", "sqs_verify", "sqs_api_version", "sqs_config"]);

/** The encryption keys go with `sqs_aws_use_application_level_encryption`. */
const ENCRYPTION = new Set(["sqs_app_encryption_key_b64", "sqs_app_encryption_aad"]);

/**
 * The sqs plugin's LiteLLM mapping (`callbacks: ["aws_sqs"]`).
 *
 * @example
 * ```ts
 * import { sqsLiteLLM } from "@sluice/sqs";
 * const entry = sqsLiteLLM.toSink!({
 *   callback: "aws_sqs",
 *   name: "aws_sqs",
 *   path: "litellm_settings.callbacks[0]",
 *   callbackSettings: {},
 *   litellmSettings: {
 *     aws_sqs_callback_params: {
 *       sqs_queue_url: "https://sqs.us-west-2.amazonaws.com/123456789012/my-queue",
 *       sqs_region_name: "us-west-2",
 *       sqs_strip_base64_files: true,
 *     },
 *   },
 *   env: () => undefined,
 * });
 * if (entry.config?.region !== "us-west-2" || entry.redaction?.drop_non_text_parts !== true) {
 *   throw new Error("unexpected");
 * }
 * ```
 */
export const sqsLiteLLM: LiteLLMMapping<SqsConfig> = {
  callbacks: ["aws_sqs"],
  settings: ["aws_sqs_callback_params"],
  toSink({ litellmSettings }) {
    const given = litellmSettings.aws_sqs_callback_params;
    const params: Record<string, unknown> = given !== null && typeof given === "object"
      ? given as Record<string, unknown>
      : {};
    const config: { [K in keyof SqsConfig]?: unknown } = {};
    const queue: Record<string, unknown> = {};
    let redaction: Record<string, unknown> | undefined;
    const problems: LiteLLMProblem[] = [];
    const at = (key: string) => `litellm_settings.aws_sqs_callback_params.${key}`;
    for (const [key, value] of Object.entries(params)) {
      if (key in DIRECT) config[DIRECT[key]] = value;
      else if (key === "sqs_flush_interval") queue.flush_interval_ms = Number(value) * 1000;
      else if (key === "sqs_batch_size") queue.batch_size = value;
      else if (key === "sqs_strip_base64_files") {
        if (value === true) redaction = { drop_non_text_parts: true };
      } else if (key === "s3_use_team_prefix" || key === "s3_use_key_prefix") {
        // LiteLLM's docs list these for SQS; messages have no key to prefix.
        if (value === true) {
          problems.push({
            path: at(key),
            severity: "warning",
            message: "SQS messages have no object key to prefix; ignored",
          });
        }
      } else if (key === "sqs_aws_use_application_level_encryption") {
        if (value === true) {
          problems.push({
            path: at(key),
            severity: "error",
            message: "application-level encryption of SQS messages is not implemented in Sluice; " +
              "use the queue's server-side encryption (SSE-SQS or SSE-KMS) and remove this key",
          });
        }
      } else if (ENCRYPTION.has(key)) {
        problems.push({ path: at(key), severity: "warning", message: "not used; ignored" });
      } else if (TRANSPORT.has(key)) {
        problems.push({
          path: at(key),
          severity: "warning",
          message: "TLS and API version follow the endpoint URL in Sluice; ignored",
        });
      } else {
        problems.push({
          path: at(key),
          severity: "warning",
          message: "not supported by the sqs sink (role assumption, profiles and web identity " +
            "are not implemented); ignored",
        });
      }
    }
    if (config.queue_url === undefined) {
      problems.push({
        path: at("sqs_queue_url"),
        severity: "error",
        message: "aws_sqs needs the queue: set aws_sqs_callback_params.sqs_queue_url",
      });
    }
    return {
      config,
      ...(Object.keys(queue).length > 0 ? { queue } : {}),
      ...(redaction ? { redaction } : {}),
      problems,
    };
  },
};
