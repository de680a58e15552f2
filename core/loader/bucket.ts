/**
 * Reads a plugin file from a bucket: `s3://bucket/key` through the S3 API,
 * `gs://bucket/key` through GCS's S3-compatible XML API with HMAC keys.
 * Requests are path-style (`<endpoint>/<bucket>/<key>`) and signed with
 * SigV4 by `aws4fetch` (service `s3`).
 * @module
 */
import { AwsClient } from "aws4fetch";
import type { PluginSourceConfig } from "../config/types.ts";
import { LoadIssue } from "./errors.ts";
import { DEFAULT_SOURCE_TIMEOUT_MS, fetchFailure, readBody, withTimeout } from "./fetch_url.ts";
import type { BucketSource } from "./source.ts";

/** Endpoint, region and credentials for one bucket read. */
export interface BucketAccess {
  /** Base URL, no trailing slash. */
  endpoint: string;
  /** SigV4 region. */
  region: string;
  /** Access key id (shown in messages). */
  accessKeyId?: string;
  /** Secret key (never shown). */
  secretAccessKey?: string;
  /** Session token (never shown). */
  sessionToken?: string;
}

/**
 * Resolves where and as whom to read: `source:` first, then the AWS
 * environment variables (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL` and
 * `AWS_REGION` for s3:// only), then the defaults (AWS by region;
 * `https://storage.googleapis.com` with region `auto` for gs://).
 */
export function resolveBucketAccess(
  target: BucketSource,
  source: PluginSourceConfig | undefined,
  env: (name: string) => string | undefined,
): BucketAccess {
  const gs = target.scheme === "gs";
  const region = source?.region ?? (gs ? "auto" : env("AWS_REGION") ?? "us-east-1");
  const endpoint = source?.endpoint_url ??
    (gs
      ? "https://storage.googleapis.com"
      : env("AWS_ENDPOINT_URL_S3") ?? env("AWS_ENDPOINT_URL") ??
        `https://s3.${region}.amazonaws.com`);
  const fromSource = source?.access_key_id !== undefined ||
    source?.secret_access_key !== undefined;
  return {
    endpoint: endpoint.replace(/\/+$/, ""),
    region,
    accessKeyId: fromSource ? source?.access_key_id : env("AWS_ACCESS_KEY_ID"),
    secretAccessKey: fromSource ? source?.secret_access_key : env("AWS_SECRET_ACCESS_KEY"),
    sessionToken: source?.session_token ?? (fromSource ? undefined : env("AWS_SESSION_TOKEN")),
  };
}

/** The path-style object URL: each key segment percent-encoded once. */
export function objectUrl(access: BucketAccess, target: BucketSource): string {
  const key = target.key.split("/").map(encodeURIComponent).join("/");
  return `${access.endpoint}/${encodeURIComponent(target.bucket)}/${key}`;
}

function xmlField(body: string, field: string): string | undefined {
  return new RegExp(`<${field}>([^<]*)</${field}>`).exec(body)?.[1];
}

/**
 * GETs the object and returns its bytes.
 * @throws {LoadIssue} `source_fetch_failed` naming bucket, key, endpoint and access key id
 */
export function fetchBucketObject(
  target: BucketSource,
  access: BucketAccess,
  signal: AbortSignal,
  timeoutMs: number = DEFAULT_SOURCE_TIMEOUT_MS,
): Promise<Uint8Array> {
  const url = objectUrl(access, target);
  const who = access.accessKeyId
    ? `access key id ${access.accessKeyId}`
    : "no credentials (unsigned request)";
  const what =
    `${target.scheme}://${target.bucket}/${target.key} (bucket "${target.bucket}", key "${target.key}", endpoint ${access.endpoint}, ${who})`;
  return withTimeout(signal, timeoutMs, async (combined) => {
    let res: Response;
    try {
      if (access.accessKeyId && access.secretAccessKey) {
        const client = new AwsClient({
          accessKeyId: access.accessKeyId,
          secretAccessKey: access.secretAccessKey,
          sessionToken: access.sessionToken,
          service: "s3",
          region: access.region,
          retries: 2,
        });
        res = await client.fetch(url, { method: "GET", signal: combined });
      } else {
        res = await fetch(url, { method: "GET", signal: combined });
      }
    } catch (err) {
      throw new LoadIssue(
        "source_fetch_failed",
        `GET ${what} failed: ${fetchFailure(err, combined)}`,
        "check source.endpoint_url and that the endpoint is reachable from the gateway",
      );
    }
    if (!res.ok) {
      const body = await res.text().catch(() => "");
      const code = xmlField(body, "Code");
      const detail = [code, xmlField(body, "Message")].filter(Boolean).join(": ");
      const hint = res.status === 404
        ? "check the bucket name, the key and the endpoint (and region)"
        : res.status === 403 || res.status === 401
        ? `check that ${who} may read this object (s3:GetObject) and that its secret is right`
        : "retry later or check the endpoint";
      throw new LoadIssue(
        "source_fetch_failed",
        `GET ${what} answered ${res.status}${detail ? ` (${detail})` : ""}`,
        hint,
      );
    }
    try {
      return await readBody(res);
    } catch (err) {
      throw new LoadIssue(
        "source_fetch_failed",
        `reading ${what} failed: ${fetchFailure(err, combined)}`,
      );
    }
  });
}
