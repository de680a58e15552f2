/**
 * The sqs sink's `config:`: its zod schema, the JSON Schema the gateway
 * validates with, and where and as whom it sends (config first, then the
 * standard AWS variables, `AWS_ENDPOINT_URL_SQS` before `AWS_ENDPOINT_URL`).
 * @module
 */
import { z } from "zod";
import type { JsonSchema } from "@sluice/core/plugin";
import { definePluginConfig, type SameShape } from "@sluice/core/plugin-config";
import { AWS_ENV_VARS, awsServiceEndpoint, type AwsTarget, resolveAwsTarget } from "@sluice/aws";

/** Timeout of one call when the config sets none. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** SQS's documented limit on one message, and on the sum of a batch's messages: 1 MiB. */
export const SQS_MAX_BYTES = 1_048_576;

/** SQS's limit on the entries of one `SendMessageBatch`. */
export const SQS_MAX_BATCH_ENTRIES = 10;

/** Environment variables the plugin may read (its `permissions.env`). */
export const SQS_ENV_VARS: readonly string[] = [...AWS_ENV_VARS, "AWS_ENDPOINT_URL_SQS"];

const nonEmpty = (description: string) => z.string().min(1).describe(description);

const sqsConfigZod = z.strictObject({
  queue_url: z.string()
    .regex(/^https?:\/\/[^/\s]+\/\S+$/, "an http:// or https:// queue URL")
    .describe("The queue, e.g. https://sqs.us-west-2.amazonaws.com/123456789012/llm-logs."),
  region: nonEmpty(
    "SigV4 region (default: the queue URL's, else AWS_REGION, AWS_DEFAULT_REGION, AWS_REGION_NAME, else us-east-1).",
  ).optional(),
  endpoint_url: z.string()
    .regex(/^https?:\/\/\S+$/, "an http:// or https:// URL")
    .describe(
      "The SQS endpoint to call (an emulator, a VPC endpoint); default: AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL, else the queue URL's host.",
    )
    .optional(),
  access_key_id: nonEmpty("Access key id (default: AWS_ACCESS_KEY_ID).").optional(),
  secret_access_key: nonEmpty("Secret access key (default: AWS_SECRET_ACCESS_KEY).").optional(),
  session_token: nonEmpty("Session token of temporary credentials (default: AWS_SESSION_TOKEN).")
    .optional(),
  max_message_bytes: z.int()
    .min(4096)
    .max(SQS_MAX_BYTES)
    .default(SQS_MAX_BYTES)
    .describe(
      "Largest message sent: events over it are shortened (base64 stripped, then strings truncated). Set the queue's MaximumMessageSize.",
    ),
  message_group_id: nonEmpty("MessageGroupId for a FIFO queue (default: sluice).").optional(),
  timeout_ms: z.int()
    .positive()
    .default(DEFAULT_TIMEOUT_MS)
    .describe("Timeout of one SendMessageBatch call in milliseconds."),
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

/** `config:` of an sqs sink entry (as written; defaults applied by {@link parseSqsConfig}). */
export interface SqsConfig {
  /** The queue URL, e.g. `https://sqs.us-west-2.amazonaws.com/123456789012/llm-logs`. */
  queue_url: string;
  /** SigV4 region (default: the queue URL's, else the `AWS_*` region variables, else `us-east-1`). */
  region?: string;
  /** The SQS endpoint (default: `AWS_ENDPOINT_URL_SQS`, `AWS_ENDPOINT_URL`, else the queue URL's host). */
  endpoint_url?: string;
  /** Access key id (default: `AWS_ACCESS_KEY_ID`); shown in error messages. */
  access_key_id?: string;
  /** Secret access key (default: `AWS_SECRET_ACCESS_KEY`); never shown. */
  secret_access_key?: string;
  /** Session token (default: `AWS_SESSION_TOKEN`); never shown. */
  session_token?: string;
  /** Largest message sent, 4 KiB … 1 MiB (default 1 MiB, SQS's limit). */
  max_message_bytes?: number;
  /** `MessageGroupId` for a FIFO queue (default `sluice`). */
  message_group_id?: string;
  /** Timeout of one call in milliseconds (default 30,000). */
  timeout_ms?: number;
}

true satisfies SameShape<z.input<typeof sqsConfigZod>, SqsConfig>;
const sqsConfig = definePluginConfig("sqs", sqsConfigZod);

/** JSON Schema (draft-07) of {@link SqsConfig}: what the gateway validates `config:` with. */
export const sqsConfigSchema: JsonSchema = sqsConfig.jsonSchema;

/**
 * Parses and checks a config, with defaults filled in; throws an Error listing every problem.
 *
 * @example
 * ```ts
 * import { parseSqsConfig } from "@sluice/sqs";
 * parseSqsConfig({ queue_url: "https://sqs.eu-west-1.amazonaws.com/123456789012/logs" }).max_message_bytes; // 1048576
 * ```
 */
export function parseSqsConfig(
  input: unknown,
): Required<Pick<SqsConfig, "max_message_bytes" | "timeout_ms">> & SqsConfig {
  return sqsConfig.parse(input);
}

/**
 * The region a queue URL names: `https://sqs.<region>.amazonaws.com/…` or
 * the legacy `https://<region>.queue.amazonaws.com/…`.
 *
 * @example
 * ```ts
 * import { queueRegion } from "@sluice/sqs";
 * queueRegion("https://sqs.eu-west-1.amazonaws.com/123456789012/logs"); // "eu-west-1"
 * queueRegion("http://127.0.0.1:5000/123456789012/logs"); // undefined
 * ```
 */
export function queueRegion(queueUrl: string): string | undefined {
  const host = URL.canParse(queueUrl) ? new URL(queueUrl).hostname : "";
  return /^sqs\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(host)?.[1] ??
    /^([a-z0-9-]+)\.queue\.amazonaws\.com(\.cn)?$/.exec(host)?.[1];
}

/**
 * Where and as whom the sink sends: the config's region, endpoint and
 * credentials, else the queue URL's region, `AWS_ENDPOINT_URL_SQS` /
 * `AWS_ENDPOINT_URL`, the queue URL's host, and the `AWS_*` credentials.
 *
 * @param config A parsed config.
 * @param env Reads an environment variable (the plugin context's `env`).
 * @returns The target.
 * @throws Error when no credentials are found or the endpoint is not a URL.
 */
export function resolveSqsTarget(
  config: SqsConfig,
  env: (name: string) => string | undefined,
): AwsTarget {
  const queue = new URL(config.queue_url);
  const hinted = queueRegion(config.queue_url);
  return resolveAwsTarget(config, env, {
    plugin: "sqs",
    endpointEnv: "AWS_ENDPOINT_URL_SQS",
    // An AWS queue URL's own host is a JSON-protocol endpoint too; the legacy host is not.
    defaultEndpoint: (region) =>
      hinted && !queue.hostname.startsWith("sqs.")
        ? awsServiceEndpoint("sqs", region)
        : `${queue.origin}/`,
    regionHint: hinted,
    what: `queue ${displayQueue(config.queue_url)}`,
  });
}

/** A queue URL as messages show it (no query string or user info). */
export function displayQueue(queueUrl: string): string {
  if (!URL.canParse(queueUrl)) return "<invalid queue url>";
  const url = new URL(queueUrl);
  return `${url.protocol}//${url.host}${url.pathname}`;
}
