/**
 * How S3 answers become sink outcomes: S3's XML error body and the
 * refinement of `@sluice/core/sink-http`'s `classify` by S3's error codes.
 * @module
 */
import {
  classify,
  type HttpFailure,
  type HttpOutcome,
  parseRetryAfter,
} from "@sluice/core/sink-http";

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

/** What a failed PUT means: `@sluice/core/sink-http`'s outcome kinds other than `ok`. */
export type FailureKind = HttpFailure["kind"];

/** The wait after a throttling answer (429, S3's `SlowDown`) without a `Retry-After`. */
export const DEFAULT_THROTTLE_WAIT_MS = 1000;

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
 * Classifies an S3 answer: `@sluice/core/sink-http`'s `classify`, refined
 * by S3's error `Code`:
 * - `EntityTooLarge`/`KeyTooLongError`: `permanent` (the object itself is
 *   refused), whatever the status;
 * - transient codes (`SlowDown`, `RequestTimeout`, `InternalError`, …):
 *   `retry`, `SlowDown` after 1 s when there is no `Retry-After`;
 * - 400/413/422 with any other S3 code: `keep` (S3 answers 400 for
 *   configuration problems too: wrong region, SSE/KMS settings, expired
 *   tokens), without one `permanent`;
 * - otherwise as `classify` says: 401/403/404 and redirects `keep`, 5xx and
 *   429 `retry`.
 *
 * @param res The answer's status (and headers, for `Retry-After`).
 * @param code S3's error `Code`, when the body had one.
 * @returns The outcome.
 *
 * @example
 * ```ts
 * import { classifyFailure } from "@sluice/s3";
 * classifyFailure({ status: 403 }, "AccessDenied").kind; // "keep"
 * classifyFailure({ status: 503 }, "SlowDown"); // { kind: "retry", status: 503, afterMs: 1000 }
 * classifyFailure({ status: 400 }, "EntityTooLarge").kind; // "permanent"
 * classifyFailure({ status: 400 }, "InvalidArgument").kind; // "keep" (a configuration problem: events kept)
 * ```
 */
export function classifyFailure(
  res: Pick<Response, "status"> & Partial<Pick<Response, "headers" | "url">>,
  code?: string,
): HttpOutcome {
  const outcome = classify(res, { rateLimitWaitMs: DEFAULT_THROTTLE_WAIT_MS });
  if (!code || outcome.kind === "ok") return outcome;
  const { status } = outcome;
  if (MALFORMED_CODES.has(code)) return { kind: "permanent", status };
  if (TRANSIENT_CODES.has(code)) {
    const afterMs = outcome.kind === "retry" && outcome.afterMs !== undefined
      ? outcome.afterMs
      : parseRetryAfter(res.headers?.get("retry-after") ?? null) ??
        (code === "SlowDown" ? DEFAULT_THROTTLE_WAIT_MS : undefined);
    return afterMs === undefined ? { kind: "retry", status } : { kind: "retry", status, afterMs };
  }
  if (outcome.kind === "permanent") return { kind: "keep", status, reason: "config" };
  return outcome;
}
