/**
 * The dynamodb plugin definition.
 * @module
 */
import type { PluginDefinition } from "@sluice/core/plugin";
import { httpPermissions } from "@sluice/core/sink-http";
import denoJson from "./deno.json" with { type: "json" };
import {
  DYNAMODB_ENV_VARS,
  type DynamodbConfig,
  dynamodbConfigSchema,
  parseDynamodbConfig,
  resolveDynamodbTarget,
} from "./config.ts";
import { createDynamodbSink } from "./dynamodb_sink.ts";
import { dynamodbLiteLLM } from "./litellm.ts";

/**
 * The dynamodb plugin (LiteLLM's `dynamodb` callback): one item per event in
 * a DynamoDB table, written with `BatchWriteItem`. It may read the standard
 * `AWS_*` variables and `AWS_ENDPOINT_URL_DYNAMODB`; it asks for the
 * endpoint's host.
 *
 * @example gateway.yaml
 * ```yaml
 * sinks:
 *   - use: dynamodb
 *     on: [success]
 *     config:
 *       table_name: llm-logs
 *       region: us-west-2
 * ```
 */
const dynamodbPlugin: PluginDefinition<DynamodbConfig> = {
  name: "dynamodb",
  version: denoJson.version,
  apiVersion: 1,
  configSchema: dynamodbConfigSchema,
  permissions: (config, env) =>
    httpPermissions(
      () => [resolveDynamodbTarget(parseDynamodbConfig(config), env).endpoint],
      DYNAMODB_ENV_VARS,
    ),
  litellm: dynamodbLiteLLM,
  create: (config, ctx) => createDynamodbSink(config, ctx),
};

export default dynamodbPlugin;
