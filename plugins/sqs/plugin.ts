/**
 * The sqs plugin definition.
 * @module
 */
import type { PluginDefinition } from "@sluice/core/plugin";
import { httpPermissions } from "@sluice/core/sink-http";
import denoJson from "./deno.json" with { type: "json" };
import {
  parseSqsConfig,
  resolveSqsTarget,
  SQS_ENV_VARS,
  type SqsConfig,
  sqsConfigSchema,
} from "./config.ts";
import { createSqsSink } from "./sqs_sink.ts";
import { sqsLiteLLM } from "./litellm.ts";

/**
 * The sqs plugin (LiteLLM's `aws_sqs` callback): one SQS message per event,
 * sent with `SendMessageBatch`. It may read the standard `AWS_*` variables
 * and `AWS_ENDPOINT_URL_SQS` (`permissions.env`); it asks for the
 * endpoint's host.
 *
 * @example gateway.yaml
 * ```yaml
 * sinks:
 *   - use: sqs
 *     queue: { batch_size: 100, flush_interval_ms: 5000 }
 *     config:
 *       queue_url: https://sqs.us-west-2.amazonaws.com/123456789012/llm-logs
 * ```
 */
const sqsPlugin: PluginDefinition<SqsConfig> = {
  name: "sqs",
  version: denoJson.version,
  apiVersion: 1,
  configSchema: sqsConfigSchema,
  permissions: (config, env) =>
    httpPermissions(() => [resolveSqsTarget(parseSqsConfig(config), env).endpoint], SQS_ENV_VARS),
  litellm: sqsLiteLLM,
  create: (config, ctx) => createSqsSink(config, ctx),
};

export default sqsPlugin;
