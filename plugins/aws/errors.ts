/**
 * AWS error answers: the error code wherever the service put it (a JSON
 * `__type`, the `x-amzn-query-error` / `x-amzn-errortype` headers, an XML
 * `<Code>`), and the outcome it means for a sink: `@sluice/core/sink-http`'s
 * `classify`, refined by the code.
 * @module
 */
import { classify, type HttpOutcome, parseRetryAfter } from "@sluice/core/sink-http";

/** The code and message of an AWS error answer. */
export interface AwsErrorBody {
  /** E.g. `ThrottlingException`, `QueueDoesNotExist`, `SignatureDoesNotMatch`. */
  code?: string;
  /** The service's message. */
  message?: string;
}

function xmlField(body: string, name: string): string | undefined {
  const match = new RegExp(`<${name}>([^<]{0,1000})</${name}>`).exec(body);
  const value = match?.[1]
    .replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'").replace(/&amp;/g, "&").trim();
  return value ? value : undefined;
}

/** `com.amazonaws.sqs#QueueDoesNotExist` → `QueueDoesNotExist`; `X:http://…` → `X`. */
function shortCode(value: string | null | undefined): string | undefined {
  if (!value) return undefined;
  const code = value.split("#").pop()!.split(":")[0].split(";")[0].trim();
  return code ? code : undefined;
}

/**
 * Reads an AWS error answer: the code from the `x-amzn-query-error` header
 * (the Query-protocol name, e.g. `AWS.SimpleQueueService.NonExistentQueue`),
 * else the JSON body's `__type` or `code`, else `x-amzn-errortype`, else an
 * XML `<Code>`; the message from `message` / `Message` / `<Message>`.
 *
 * @param headers The answer's headers.
 * @param body The answer's text.
 * @returns What was found (both `undefined` for a body that is not an AWS error).
 *
 * @example
 * ```ts
 * import { parseAwsError } from "@sluice/aws";
 *
 * parseAwsError(new Headers(), '{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"Requested resource not found"}');
 * // { code: "ResourceNotFoundException", message: "Requested resource not found" }
 * parseAwsError(new Headers(), "<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code></Error></ErrorResponse>").code;
 * // "SignatureDoesNotMatch"
 * ```
 */
export function parseAwsError(headers: Headers, body: string): AwsErrorBody {
  let json: Record<string, unknown> | undefined;
  try {
    const parsed = JSON.parse(body);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) json = parsed;
  } catch {
    // XML or text
  }
  const text = (value: unknown) => typeof value === "string" && value ? value : undefined;
  const code = shortCode(headers.get("x-amzn-query-error")) ??
    shortCode(text(json?.__type) ?? text(json?.code) ?? text(json?.Code)) ??
    shortCode(headers.get("x-amzn-errortype")) ?? xmlField(body, "Code");
  const message = text(json?.message) ?? text(json?.Message) ?? xmlField(body, "Message");
  return { code, message };
}

/** The wait after a throttling answer without `Retry-After`. */
export const DEFAULT_THROTTLE_WAIT_MS = 1000;

/** Codes that refuse the credentials: the events are kept until they are fixed. */
export const CREDENTIAL_CODES: ReadonlySet<string> = new Set([
  "AccessDenied",
  "AccessDeniedException",
  "AuthFailure",
  "ExpiredToken",
  "ExpiredTokenException",
  "IncompleteSignature",
  "IncompleteSignatureException",
  "InvalidAccessKeyId",
  "InvalidClientTokenId",
  "InvalidSecurity",
  "InvalidSignatureException",
  "MissingAuthenticationToken",
  "MissingAuthenticationTokenException",
  "NotAuthorized",
  "OptInRequired",
  "SignatureDoesNotMatch",
  "UnrecognizedClientException",
]);

/** Codes that say "slow down": retried after {@link DEFAULT_THROTTLE_WAIT_MS} unless told otherwise. */
export const THROTTLING_CODES: ReadonlySet<string> = new Set([
  "LimitExceededException",
  "ProvisionedThroughputExceededException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
  "SlowDown",
  "Throttling",
  "ThrottlingException",
  "TooManyRequestsException",
]);

/** Codes of transient service trouble, retried whatever their status. */
export const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  "InternalError",
  "InternalFailure",
  "InternalServerError",
  "RequestTimeTooSkewed",
  "RequestTimeout",
  "RequestTimeoutException",
  "ServiceUnavailable",
  "TransactionInProgressException",
]);

/** A service's own codes, on top of the shared ones. */
export interface AwsServiceCodes {
  /** Codes that refuse the request itself (its events are malformed): `permanent`. */
  malformed?: ReadonlySet<string>;
  /** Codes of a missing or misconfigured resource: `keep` (reason `url`). */
  missing?: ReadonlySet<string>;
}

/**
 * Classifies an AWS answer: `@sluice/core/sink-http`'s `classify`, refined
 * by the error code:
 * - credential codes: `keep` (reason `credentials`), whatever the status
 *   (AWS JSON services answer 400 for a bad signature);
 * - the service's `missing` codes: `keep` (reason `url`);
 * - throttling codes: `retry`, after 1 s without `Retry-After`;
 * - transient codes: `retry`;
 * - the service's `malformed` codes: `permanent`;
 * - any other code on a 400/413/422: `keep` (reason `config`): AWS answers
 *   400 for configuration problems too, so the events are kept; without a
 *   code (not an AWS answer) such a status stays `permanent`.
 *
 * @param res The answer's status and headers.
 * @param code The error code, when the answer had one.
 * @param codes The service's own codes.
 * @returns The outcome.
 *
 * @example
 * ```ts
 * import { classifyAwsFailure } from "@sluice/aws";
 *
 * classifyAwsFailure({ status: 400 }, "UnrecognizedClientException").kind; // "keep"
 * classifyAwsFailure({ status: 400 }, "ThrottlingException"); // { kind: "retry", status: 400, afterMs: 1000 }
 * classifyAwsFailure({ status: 400 }).kind; // "permanent" (no AWS code)
 * classifyAwsFailure({ status: 400 }, "SomethingNew").kind; // "keep"
 * ```
 */
export function classifyAwsFailure(
  res: Pick<Response, "status"> & Partial<Pick<Response, "headers" | "url">>,
  code?: string,
  codes: AwsServiceCodes = {},
): HttpOutcome {
  const outcome = classify(res, { rateLimitWaitMs: DEFAULT_THROTTLE_WAIT_MS });
  if (!code || outcome.kind === "ok") return outcome;
  const { status } = outcome;
  if (CREDENTIAL_CODES.has(code)) return { kind: "keep", status, reason: "credentials" };
  if (codes.missing?.has(code)) return { kind: "keep", status, reason: "url" };
  const throttled = THROTTLING_CODES.has(code);
  if (throttled || TRANSIENT_CODES.has(code)) {
    const afterMs = outcome.kind === "retry" && outcome.afterMs !== undefined
      ? outcome.afterMs
      : parseRetryAfter(res.headers?.get("retry-after") ?? null) ??
        (throttled ? DEFAULT_THROTTLE_WAIT_MS : undefined);
    return afterMs === undefined ? { kind: "retry", status } : { kind: "retry", status, afterMs };
  }
  if (codes.malformed?.has(code)) return { kind: "permanent", status };
  if (outcome.kind === "permanent") return { kind: "keep", status, reason: "config" };
  return outcome;
}
