/**
 * The s3 sink's `config:`: its zod schema, the JSON Schema the gateway
 * validates with, and the resolution of endpoint, addressing style, region
 * and credentials (config first, then the standard AWS environment
 * variables).
 * @module
 */
import { z } from "zod";
import type { JsonSchema } from "@sluice/core/plugin";
import { definePluginConfig, type SameShape } from "@sluice/core/plugin-config";

/** Timeout of one PUT when the config sets none. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** The SigV4 region when neither the config nor the environment names one. */
export const DEFAULT_REGION = "us-east-1";

/** Environment variables the plugin may read (its `permissions.env`). */
export const S3_ENV_VARS: readonly string[] = [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "AWS_ENDPOINT_URL_S3",
  "AWS_ENDPOINT_URL",
];

const nonEmpty = (description: string) => z.string().min(1).describe(description);

/** The zod schema of {@link S3Config} (cross-field rules included). */
const s3ConfigZod = z.strictObject({
  bucket: z.string()
    .min(1)
    .max(222)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "letters, digits, '.', '_' and '-' only")
    .describe("The bucket the objects are written to."),
  region: nonEmpty(
    "SigV4 region (default: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1; R2 uses auto).",
  ).optional(),
  endpoint_url: z.string()
    .regex(/^https?:\/\/\S+$/, "an http:// or https:// URL")
    .describe(
      "An S3-compatible endpoint (MinIO, Cloudflare R2, Backblaze B2, GCS XML API); default: AWS by region.",
    )
    .optional(),
  path_style: z.boolean()
    .describe(
      "Address the bucket in the path (<endpoint>/<bucket>/<key>) instead of the host name. Default: true with endpoint_url, false for AWS.",
    )
    .optional(),
  path: z.string()
    .max(512)
    .describe("A key prefix, e.g. logs/prod (no leading or trailing slash needed).")
    .optional(),
  use_team_prefix: z.boolean()
    .default(false)
    .describe("Put the key's team in the object key (after path)."),
  use_key_prefix: z.boolean()
    .default(false)
    .describe("Put the key's alias in the object key (after the team)."),
  server_side_encryption: z.enum(["AES256", "aws:kms"])
    .describe("Sent as x-amz-server-side-encryption on every PUT.")
    .optional(),
  sse_kms_key_id: nonEmpty(
    "The KMS key (id, ARN or alias) for server_side_encryption: aws:kms.",
  ).optional(),
  format: z.enum(["json", "ndjson"])
    .default("json")
    .describe("json: one object per event; ndjson: one object per batch, one event a line."),
  access_key_id: nonEmpty("Access key id (default: AWS_ACCESS_KEY_ID).").optional(),
  secret_access_key: nonEmpty("Secret access key (default: AWS_SECRET_ACCESS_KEY).").optional(),
  session_token: nonEmpty("Session token of temporary credentials (default: AWS_SESSION_TOKEN).")
    .optional(),
  timeout_ms: z.int()
    .positive()
    .default(DEFAULT_TIMEOUT_MS)
    .describe("Timeout of one PUT in milliseconds."),
}).superRefine((config, issues) => {
  if (config.sse_kms_key_id !== undefined && config.server_side_encryption !== "aws:kms") {
    issues.addIssue({
      code: "custom",
      path: ["sse_kms_key_id"],
      message: "sse_kms_key_id needs server_side_encryption: aws:kms",
    });
  }
  const hasId = config.access_key_id !== undefined;
  const hasSecret = config.secret_access_key !== undefined;
  if (hasId !== hasSecret) {
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
  for (const segment of (config.path ?? "").split("/")) {
    if (segment === "." || segment === "..") {
      issues.addIssue({
        code: "custom",
        path: ["path"],
        message: `path may not contain a "${segment}" segment`,
      });
    }
  }
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(config.path ?? "")) {
    issues.addIssue({
      code: "custom",
      path: ["path"],
      message: "path may not contain control characters or backslashes",
    });
  }
});

/** `config:` of an s3 sink entry (as written; defaults applied by {@link parseS3Config}). */
export interface S3Config {
  /** The bucket the objects are written to. */
  bucket: string;
  /** SigV4 region (default: `AWS_REGION`, `AWS_DEFAULT_REGION`, else `us-east-1`). */
  region?: string;
  /** An S3-compatible endpoint, e.g. `http://127.0.0.1:9000` (default: AWS by region). */
  endpoint_url?: string;
  /** Bucket in the path instead of the host name (default: true with `endpoint_url`, else false). */
  path_style?: boolean;
  /** A key prefix, e.g. `logs/prod`. */
  path?: string;
  /** Put the key's team in the object key (default false). */
  use_team_prefix?: boolean;
  /** Put the key's alias in the object key (default false). */
  use_key_prefix?: boolean;
  /** `x-amz-server-side-encryption` on every PUT. */
  server_side_encryption?: "AES256" | "aws:kms";
  /** `x-amz-server-side-encryption-aws-kms-key-id` (only with `aws:kms`). */
  sse_kms_key_id?: string;
  /** `json` (default): one object per event; `ndjson`: one object per batch. */
  format?: "json" | "ndjson";
  /** Access key id (default: `AWS_ACCESS_KEY_ID`); shown in error messages. */
  access_key_id?: string;
  /** Secret access key (default: `AWS_SECRET_ACCESS_KEY`); never shown. */
  secret_access_key?: string;
  /** Session token of temporary credentials (default: `AWS_SESSION_TOKEN`); never shown. */
  session_token?: string;
  /** Timeout of one PUT in milliseconds (default 30,000). */
  timeout_ms?: number;
}

// The interface is what the zod schema accepts (zod's types stay out of the public API).
true satisfies SameShape<z.input<typeof s3ConfigZod>, S3Config>;
const s3Config = definePluginConfig("s3", s3ConfigZod);

/** JSON Schema (draft-07) of {@link S3Config}: what the gateway validates `config:` with. */
export const s3ConfigSchema: JsonSchema = s3Config.jsonSchema;

/** Parses and checks a config, with defaults filled in; throws an Error listing every problem. */
export function parseS3Config(input: unknown):
  & Required<
    Pick<S3Config, "use_team_prefix" | "use_key_prefix" | "format" | "timeout_ms">
  >
  & S3Config {
  return s3Config.parse(input);
}

/** Credentials used to sign requests. */
export interface S3Credentials {
  /** Access key id (shown in messages). */
  accessKeyId: string;
  /** Secret access key (never shown). */
  secretAccessKey: string;
  /** Session token (never shown). */
  sessionToken?: string;
  /** Where they came from, for messages: `config` or `environment`. */
  from: "config" | "environment";
}

/** Where and as whom the sink writes. */
export interface S3Target {
  /** The bucket. */
  bucket: string;
  /** SigV4 region. */
  region: string;
  /** The endpoint, e.g. `https://s3.eu-west-1.amazonaws.com` (a path, if any, prefixes every object path). */
  endpoint: URL;
  /** Whether the bucket goes in the path (else in the host name). */
  pathStyle: boolean;
  /** The endpoint as shown in messages (no user info or query string). */
  shownEndpoint: string;
  /** Signing credentials. */
  credentials: S3Credentials;
}

/** True when a bucket name can be a DNS label under TLS (virtual-hosted style). */
export function isVirtualHostable(bucket: string): boolean {
  return /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(bucket);
}

/** The AWS S3 endpoint of a region (`s3.<region>.amazonaws.com`, `.com.cn` for China). */
export function awsEndpoint(region: string): string {
  const domain = region.startsWith("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
  return `https://s3.${region}.${domain}`;
}

/**
 * Resolves bucket, region, endpoint, addressing style and credentials:
 * config first, then `env` (the standard `AWS_*` variables).
 *
 * @param config A parsed config.
 * @param env Reads an environment variable (the plugin context's `env`).
 * @returns The target.
 * @throws Error when no credentials are found or the endpoint is not a URL.
 */
export function resolveS3Target(
  config: S3Config,
  env: (name: string) => string | undefined,
): S3Target {
  const read = (name: string) => {
    const value = env(name)?.trim();
    return value ? value : undefined;
  };
  const region = config.region ?? read("AWS_REGION") ?? read("AWS_DEFAULT_REGION") ??
    DEFAULT_REGION;
  const configured = config.endpoint_url ?? read("AWS_ENDPOINT_URL_S3") ??
    read("AWS_ENDPOINT_URL");
  let endpoint: URL;
  try {
    endpoint = new URL(configured ?? awsEndpoint(region));
  } catch {
    throw new Error("s3: endpoint_url is not a valid URL");
  }
  if (endpoint.protocol !== "http:" && endpoint.protocol !== "https:") {
    throw new Error(`s3: endpoint_url must use http or https; got ${endpoint.protocol}`);
  }
  endpoint.search = "";
  endpoint.hash = "";
  endpoint.username = "";
  endpoint.password = "";
  const shownEndpoint = `${endpoint.origin}${endpoint.pathname.replace(/\/+$/, "")}`;
  const pathStyle = config.path_style ??
    (configured !== undefined || !isVirtualHostable(config.bucket));

  let credentials: S3Credentials;
  if (config.access_key_id !== undefined && config.secret_access_key !== undefined) {
    credentials = {
      accessKeyId: config.access_key_id,
      secretAccessKey: config.secret_access_key,
      sessionToken: config.session_token,
      from: "config",
    };
  } else {
    const accessKeyId = read("AWS_ACCESS_KEY_ID");
    const secretAccessKey = read("AWS_SECRET_ACCESS_KEY");
    if (!accessKeyId || !secretAccessKey) {
      throw new Error(
        `s3: no credentials for bucket "${config.bucket}": set config.access_key_id and ` +
          "config.secret_access_key (os.environ/NAME works), or the environment variables " +
          `AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY${
            accessKeyId ? " (AWS_SECRET_ACCESS_KEY is missing)" : ""
          }`,
      );
    }
    credentials = {
      accessKeyId,
      secretAccessKey,
      sessionToken: read("AWS_SESSION_TOKEN"),
      from: "environment",
    };
  }
  return { bucket: config.bucket, region, endpoint, pathStyle, shownEndpoint, credentials };
}
