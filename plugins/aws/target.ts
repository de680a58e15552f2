/**
 * Where and as whom an AWS sink calls: region, endpoint and credentials,
 * resolved from the sink's config first, then the standard AWS environment
 * variables (and LiteLLM's `AWS_REGION_NAME`).
 * @module
 */

/** The SigV4 region when neither the config, a hint nor the environment names one. */
export const DEFAULT_AWS_REGION = "us-east-1";

/** The credential and region variables every AWS sink may read. */
export const AWS_ENV_VARS: readonly string[] = [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "AWS_REGION_NAME",
  "AWS_ENDPOINT_URL",
];

/** The AWS part of a sink's config (the names the s3 sink uses too). */
export interface AwsConfig {
  /** SigV4 region. */
  region?: string;
  /** An endpoint to call instead of AWS's (an emulator, a VPC endpoint). */
  endpoint_url?: string;
  /** Access key id (shown in messages). */
  access_key_id?: string;
  /** Secret access key (never shown). */
  secret_access_key?: string;
  /** Session token of temporary credentials (never shown). */
  session_token?: string;
}

/** Credentials used to sign requests. */
export interface AwsCredentials {
  /** Access key id (shown in messages). */
  accessKeyId: string;
  /** Secret access key (never shown). */
  secretAccessKey: string;
  /** Session token (never shown). */
  sessionToken?: string;
  /** Where they came from, for messages. */
  from: "config" | "environment";
}

/** Where and as whom a sink calls. */
export interface AwsTarget {
  /** SigV4 region. */
  region: string;
  /** The URL requests are POSTed to (query string and user info removed). */
  endpoint: URL;
  /** The endpoint as messages show it. */
  shownEndpoint: string;
  /** Signing credentials. */
  credentials: AwsCredentials;
}

/** What {@link resolveAwsTarget} needs besides the config. */
export interface AwsTargetOptions {
  /** The sink's name, for messages (`sqs`). */
  plugin: string;
  /** The service's own endpoint variable (`AWS_ENDPOINT_URL_SQS`), read before `AWS_ENDPOINT_URL`. */
  endpointEnv: string;
  /** The endpoint when nothing overrides it, from the region (`https://sqs.<region>.amazonaws.com`). */
  defaultEndpoint: (region: string) => string;
  /** A region the resource itself names (a queue URL's host), used before the environment's. */
  regionHint?: string;
  /** What the sink writes to, for messages (`queue "logs"`). */
  what: string;
}

/** The AWS endpoint of a service in a region (`.amazonaws.com.cn` for China). */
export function awsServiceEndpoint(service: string, region: string): string {
  const domain = region.startsWith("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
  return `https://${service}.${region}.${domain}`;
}

/**
 * Resolves region, endpoint and credentials: the config first; then, for
 * the region, the resource's own hint, `AWS_REGION`, `AWS_DEFAULT_REGION`,
 * `AWS_REGION_NAME`; for the endpoint, the service's variable, then
 * `AWS_ENDPOINT_URL`; for credentials, `AWS_ACCESS_KEY_ID`,
 * `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`.
 *
 * @param config The sink's AWS settings.
 * @param env Reads an environment variable (the plugin context's `env`).
 * @param options The service's names and defaults.
 * @returns The target.
 * @throws Error when no credentials are found or the endpoint is not an http(s) URL.
 *
 * @example
 * ```ts
 * import { awsServiceEndpoint, resolveAwsTarget } from "@sluice/aws";
 *
 * const env: Record<string, string> = {
 *   AWS_ACCESS_KEY_ID: "AKIAEXAMPLE",
 *   AWS_SECRET_ACCESS_KEY: "example-secret",
 *   AWS_ENDPOINT_URL_SQS: "http://127.0.0.1:5000",
 * };
 * const target = resolveAwsTarget({ region: "eu-west-1" }, (name) => env[name], {
 *   plugin: "sqs",
 *   endpointEnv: "AWS_ENDPOINT_URL_SQS",
 *   defaultEndpoint: (region) => awsServiceEndpoint("sqs", region),
 *   what: 'queue "logs"',
 * });
 * target.shownEndpoint; // "http://127.0.0.1:5000"
 * target.credentials.from; // "environment"
 * ```
 */
export function resolveAwsTarget(
  config: AwsConfig,
  env: (name: string) => string | undefined,
  options: AwsTargetOptions,
): AwsTarget {
  const read = (name: string) => {
    const value = env(name)?.trim();
    return value ? value : undefined;
  };
  const { plugin } = options;
  const region = config.region ?? options.regionHint ?? read("AWS_REGION") ??
    read("AWS_DEFAULT_REGION") ?? read("AWS_REGION_NAME") ?? DEFAULT_AWS_REGION;
  const configured = config.endpoint_url ?? read(options.endpointEnv) ?? read("AWS_ENDPOINT_URL");
  let endpoint: URL;
  try {
    endpoint = new URL(configured ?? options.defaultEndpoint(region));
  } catch {
    throw new Error(`${plugin}: endpoint_url is not a valid URL`);
  }
  if (endpoint.protocol !== "http:" && endpoint.protocol !== "https:") {
    throw new Error(`${plugin}: endpoint_url must use http or https; got ${endpoint.protocol}`);
  }
  endpoint.search = "";
  endpoint.hash = "";
  endpoint.username = "";
  endpoint.password = "";
  const shownEndpoint = `${endpoint.origin}${endpoint.pathname.replace(/\/+$/, "")}`;

  let credentials: AwsCredentials;
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
        `${plugin}: no credentials for ${options.what}: set config.access_key_id and ` +
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
  return { region, endpoint, shownEndpoint, credentials };
}
