/**
 * How S3 answers become sink outcomes: S3's XML error body, `Retry-After`,
 * and the classification into delivered, retryable, access problem (kept,
 * reported once) and malformed (permanent).
 * @module
 */

/** The `Code` and `Message` of an S3 XML error body. */
export interface S3ErrorBody {
  /** E.g. `AccessDenied`, `NoSuchBucket`, `SlowDown`. */
  code?: string;
  /** S3's human-readable message. */
  message?: string;
  /** `BucketRegion` / `Region` when S3 tells which region the bucket is in. */
  region?: string;
}

function unescapeXml(text: string): string {
  return text
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, "&");
}

function field(body: string, name: string): string | undefined {
  const match = new RegExp(`<${name}>([^<]{0,1000})</${name}>`).exec(body);
  const value = match ? unescapeXml(match[1]).trim() : "";
  return value ? value : undefined;
}

/**
 * Reads `Code`, `Message` and the bucket's region from an S3 error body
 * (`<Error><Code>…</Code><Message>…</Message></Error>`); fields that are
 * absent (or a body that is not S3 XML) give `undefined`.
 *
 * @param body The response text.
 * @returns The fields found.
 *
 * @example
 * ```ts
 * import { parseS3Error } from "@sluice/s3";
 * parseS3Error("<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>");
 * // { code: "NoSuchBucket", message: "The specified bucket does not exist", region: undefined }
 * ```
 */
export function parseS3Error(body: string): S3ErrorBody {
  return {
    code: field(body, "Code"),
    message: field(body, "Message"),
    region: field(body, "BucketRegion") ?? field(body, "Region"),
  };
}

/**
 * `Retry-After` as milliseconds: `@sluice/core/sink-http`'s `parseRetryAfter`
 * (delay-seconds or an HTTP date), exported here under the name this
 * package has always used.
 */
export { parseRetryAfter as retryAfterMs } from "@sluice/core/sink-http";

/**
 * What a failed PUT means:
 * - `access`: credentials, permissions, bucket, region or endpoint are wrong
 *   (401, 403, 404, redirects, S3 configuration errors): retried, events
 *   kept, reported once;
 * - `retry`: transient (5xx, 503 SlowDown, 429, timeouts, network);
 * - `permanent`: the object itself is refused (400/413/422 from a non-S3
 *   answer, or S3's `EntityTooLarge`/`KeyTooLongError`): dropped.
 */
export type FailureKind = "access" | "retry" | "permanent";

/** S3 error codes that refuse the object itself: no retry can succeed. */
const MALFORMED_CODES = new Set(["EntityTooLarge", "KeyTooLongError"]);

/** S3 error codes that are transient whatever their status. */
const TRANSIENT_CODES = new Set([
  "SlowDown",
  "RequestTimeout",
  "IncompleteBody",
  "BadDigest",
  "InternalError",
  "ServiceUnavailable",
  "OperationAborted",
  "RequestTimeTooSkewed",
  "Throttling",
  "ThrottlingException",
  "TooManyRequests",
]);

/**
 * Classifies a non-2xx answer.
 *
 * @param status The HTTP status.
 * @param code S3's error `Code`, when the body had one.
 * @returns The outcome kind.
 *
 * @example
 * ```ts
 * import { classifyFailure } from "@sluice/s3";
 * classifyFailure(403, "AccessDenied"); // "access"
 * classifyFailure(503, "SlowDown"); // "retry"
 * classifyFailure(400, "EntityTooLarge"); // "permanent"
 * classifyFailure(400, "InvalidArgument"); // "access" (a configuration problem: events kept)
 * ```
 */
export function classifyFailure(status: number, code?: string): FailureKind {
  if (code && MALFORMED_CODES.has(code)) return "permanent";
  if (code && TRANSIENT_CODES.has(code)) return "retry";
  if (status === 401 || status === 403 || status === 404) return "access";
  if (status >= 300 && status < 400) return "access";
  if (status === 400 || status === 413 || status === 422) {
    // S3 answers 400 for configuration problems too (wrong region, SSE/KMS
    // settings, expired tokens): with an S3 error code the events are kept.
    return code ? "access" : "permanent";
  }
  return "retry";
}
