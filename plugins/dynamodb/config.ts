/**
 * The dynamodb sink's `config:`: its zod schema, the JSON Schema the gateway
 * validates with, and where and as whom it writes (config first, then the
 * standard AWS variables, `AWS_ENDPOINT_URL_DYNAMODB` before
 * `AWS_ENDPOINT_URL`).
 * @module
 */
import { z } from "zod";
import type { JsonSchema } from "@sluice/core/plugin";
import { definePluginConfig, type SameShape } from "@sluice/core/plugin-config";
import { AWS_ENV_VARS, awsServiceEndpoint, type AwsTarget, resolveAwsTarget } from "@sluice/aws";

/** Timeout of one call when the config sets none. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** Environment variables the plugin may read (its `permissions.env`). */
export const DYNAMODB_ENV_VARS: readonly string[] = [...AWS_ENV_VARS, "AWS_ENDPOINT_URL_DYNAMODB"];

const nonEmpty = (description: string) => z.string().min(1).describe(description);

const dynamodbConfigZod = z.strictObject({
  table_name: z.string()
    .regex(/^[A-Za-z0-9_.-]{3,255}$/, "3 to 255 letters, digits, '_', '-' or '.'")
    .describe("The table the items are written to (LiteLLM's dynamodb_table_name)."),
  partition_key: nonEmpty(
    "The table's partition key attribute (a string); it holds the call id. Default: id.",
  ).default("id"),
  region: nonEmpty(
    "SigV4 region (default: AWS_REGION, AWS_DEFAULT_REGION, AWS_REGION_NAME, else us-east-1).",
  ).optional(),
  endpoint_url: z.string()
    .regex(/^https?:\/\/\S+$/, "an http:// or https:// URL")
    .describe(
      "The DynamoDB endpoint (an emulator, a VPC endpoint); default: AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL, else AWS by region.",
    )
    .optional(),
  access_key_id: nonEmpty("Access key id (default: AWS_ACCESS_KEY_ID).").optional(),
  secret_access_key: nonEmpty("Secret access key (default: AWS_SECRET_ACCESS_KEY).").optional(),
  session_token: nonEmpty("Session token of temporary credentials (default: AWS_SESSION_TOKEN).")
    .optional(),
  timeout_ms: z.int()
    .positive()
    .default(DEFAULT_TIMEOUT_MS)
    .describe("Timeout of one BatchWriteItem call in milliseconds."),
}).superRefine((config, issues) => {
  const hasId = config.access_key_id !== undefined;
  if (hasId !== (config.secret_access_key !== undefined)) {
    issues.addIssue({
      code: "custom",
      path: [hasId ? "secret_access_key" : "access_key_id"],
      message: "access_key_id and secret_access_key go together: set both or neither",
    });
  }
  if (config.session_token !== undefined && !hasId) {
    issues.addIssue({
      code: "custom",
      path: ["session_token"],
      message: "session_token needs access_key_id and secret_access_key in the config too",
    });
  }
});

/** `config:` of a dynamodb sink entry (as written; defaults applied by {@link parseDynamodbConfig}). */
export interface DynamodbConfig {
  /** The table (LiteLLM's `dynamodb_table_name`). */
  table_name: string;
  /** The table's partition key attribute, a string holding the call id (default `id`). */
  partition_key?: string;
  /** SigV4 region (default: the `AWS_*` region variables, else `us-east-1`). */
  region?: string;
  /** The endpoint (default: `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL`, else AWS by region). */
  endpoint_url?: string;
  /** Access key id (default: `AWS_ACCESS_KEY_ID`); shown in error messages. */
  access_key_id?: string;
  /** Secret access key (default: `AWS_SECRET_ACCESS_KEY`); never shown. */
  secret_access_key?: string;
  /** Session token (default: `AWS_SESSION_TOKEN`); never shown. */
  session_token?: string;
  /** Timeout of one call in milliseconds (default 30,000). */
  timeout_ms?: number;
}

true satisfies SameShape<z.input<typeof dynamodbConfigZod>, DynamodbConfig>;
const dynamodbConfig = definePluginConfig("dynamodb", dynamodbConfigZod);

/** JSON Schema (draft-07) of {@link DynamodbConfig}: what the gateway validates `config:` with. */
export const dynamodbConfigSchema: JsonSchema = dynamodbConfig.jsonSchema;

/**
 * Parses and checks a config, with defaults filled in; throws an Error listing every problem.
 *
 * @example
 * ```ts
 * import { parseDynamodbConfig } from "@sluice/dynamodb";
 * parseDynamodbConfig({ table_name: "llm-logs" }).partition_key; // "id"
 * ```
 */
export function parseDynamodbConfig(
  input: unknown,
): Required<Pick<DynamodbConfig, "partition_key" | "timeout_ms">> & DynamodbConfig {
  return dynamodbConfig.parse(input);
}

/**
 * Where and as whom the sink writes.
 *
 * @param config A parsed config.
 * @param env Reads an environment variable (the plugin context's `env`).
 * @returns The target.
 * @throws Error when no credentials are found or the endpoint is not a URL.
 */
export function resolveDynamodbTarget(
  config: DynamodbConfig,
  env: (name: string) => string | undefined,
): AwsTarget {
  return resolveAwsTarget(config, env, {
    plugin: "dynamodb",
    endpointEnv: "AWS_ENDPOINT_URL_DYNAMODB",
    defaultEndpoint: (region) => awsServiceEndpoint("dynamodb", region),
    what: `table "${config.table_name}"`,
  });
}
