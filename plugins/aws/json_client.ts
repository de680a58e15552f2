/**
 * One signed call to an AWS JSON-protocol API (SQS, DynamoDB): a POST of
 * a JSON body with `X-Amz-Target`, signed with SigV4 by `aws4fetch`, whose
 * answer becomes the parsed result or a failure carrying the contract's
 * error (`@sluice/core/sink-http`'s `failureError`), with no secret in it.
 * @module
 */
import { AwsV4Signer } from "aws4fetch";
import type { PluginContext } from "@sluice/core/plugin";
import {
  failureError,
  type FailureWords,
  fetchFailure,
  type HttpFailure,
  type HttpSinkError,
  secretScrubber,
} from "@sluice/core/sink-http";
import { type AwsServiceCodes, classifyAwsFailure, parseAwsError } from "./errors.ts";
import type { AwsTarget } from "./target.ts";

/** At most this much of an error answer is read. */
const MAX_ERROR_BODY_CHARS = 16_384;

/** A failed call: its outcome kind, its code and the error to throw. */
export interface AwsCallFailure {
  /** What the failure means (`retry`, `keep` or `permanent`). */
  kind: HttpFailure["kind"];
  /** The AWS error code, when the answer had one. */
  code?: string;
  /** The error, ready to throw (no secret in its message). */
  error: HttpSinkError;
}

/** The answer of {@link AwsJsonClient.call}. */
export type AwsCallResult =
  | { ok: true; body: Record<string, unknown> }
  | { ok: false; failure: AwsCallFailure };

/** Options of {@link createAwsJsonClient}. */
export interface AwsJsonClientOptions {
  /** The sink's name, for messages (`sqs`). */
  plugin: string;
  /** The SigV4 service name (`sqs`, `dynamodb`). */
  service: string;
  /** `1.0` (SQS, DynamoDB) or `1.1`: the `application/x-amz-json-*` content type. */
  jsonVersion: "1.0" | "1.1";
  /** Region, endpoint and credentials. */
  target: AwsTarget;
  /** What the calls write to, for messages (`queue "logs"`). */
  what: string;
  /** Sent as `User-Agent`. */
  userAgent: string;
  /** Timeout of one call in milliseconds. */
  timeoutMs: number;
  /** The plugin context's `fetch`. */
  fetch: PluginContext["fetch"];
  /** The service's own error codes. */
  codes?: AwsServiceCodes;
  /** What to check when access is denied (`check that this key may sqs:SendMessage…`). */
  accessHint: string;
  /** What to check when the resource is missing (`check queue_url…`). */
  missingHint: string;
  /** Other secrets to keep out of messages (besides the secret key and session token). */
  secrets?: (string | undefined)[];
}

/** A signed JSON-protocol client bound to one target. */
export interface AwsJsonClient {
  /**
   * POSTs `body` as operation `operation` (the `X-Amz-Target`, e.g.
   * `AmazonSQS.SendMessageBatch`) and reads the answer.
   */
  call(operation: string, body: unknown, signal?: AbortSignal): Promise<AwsCallResult>;
  /** Removes the sink's secrets from foreign text. */
  scrub(text: string): string;
}

/** What to check for a credential failure with this code. */
function credentialHint(code: string | undefined, accessHint: string): string {
  switch (code) {
    case "InvalidClientTokenId":
    case "UnrecognizedClientException":
    case "InvalidAccessKeyId":
      return "this access key id does not exist at this endpoint: check access_key_id (and endpoint_url)";
    case "SignatureDoesNotMatch":
    case "InvalidSignatureException":
      return "the secret access key does not match this access key id: check secret_access_key";
    case "ExpiredToken":
    case "ExpiredTokenException":
      return "the session token has expired: renew the credentials";
    default:
      return accessHint;
  }
}

/**
 * Creates a client that signs each call with SigV4 (`aws4fetch`) and turns
 * its answer into a result: the parsed JSON body on 2xx, else a failure
 * classified by {@link classifyAwsFailure} whose error names the resource,
 * the endpoint, the region and the access key id (never the secret key or
 * the session token) and what to check. The message is the same for every
 * call while a cause lasts, so the gateway reports it once.
 *
 * @param options The service, target and wording.
 * @returns The client.
 *
 * @example
 * ```ts
 * import { awsServiceEndpoint, createAwsJsonClient, resolveAwsTarget } from "@sluice/aws";
 * import { createTestContext } from "@sluice/core/testing";
 *
 * // A stand-in for SQS that accepts any batch.
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, async (req) => {
 *   const { Entries } = await req.json();
 *   return Response.json({ Successful: Entries.map((e: { Id: string }) => ({ Id: e.Id })), Failed: [] });
 * });
 * const target = resolveAwsTarget({
 *   endpoint_url: `http://127.0.0.1:${server.addr.port}`,
 *   access_key_id: "AKIAEXAMPLE",
 *   secret_access_key: "example-secret",
 * }, () => undefined, {
 *   plugin: "sqs",
 *   endpointEnv: "AWS_ENDPOINT_URL_SQS",
 *   defaultEndpoint: (region) => awsServiceEndpoint("sqs", region),
 *   what: 'queue "logs"',
 * });
 * const client = createAwsJsonClient({
 *   plugin: "sqs",
 *   service: "sqs",
 *   jsonVersion: "1.0",
 *   target,
 *   what: 'queue "logs"',
 *   userAgent: "example/1.0",
 *   timeoutMs: 5000,
 *   fetch: createTestContext().fetch,
 *   accessHint: "check that this key may sqs:SendMessage",
 *   missingHint: "check queue_url",
 * });
 * const result = await client.call("AmazonSQS.SendMessageBatch", {
 *   QueueUrl: "https://sqs.us-east-1.amazonaws.com/123456789012/logs",
 *   Entries: [{ Id: "0", MessageBody: "{}" }],
 * });
 * result.ok; // true
 * await server.shutdown();
 * ```
 */
export function createAwsJsonClient(options: AwsJsonClientOptions): AwsJsonClient {
  const { target, plugin, timeoutMs } = options;
  const { credentials } = target;
  const url = target.endpoint.href;
  const scrub = secretScrubber([
    credentials.secretAccessKey,
    credentials.sessionToken,
    ...(options.secrets ?? []),
  ]);
  const where = `${options.what} at ${target.shownEndpoint} (region ${target.region})`;
  const who = `access key id ${credentials.accessKeyId}${
    credentials.from === "environment" ? " (from AWS_ACCESS_KEY_ID)" : ""
  }`;
  const signingCache = new Map<string, ArrayBuffer>();
  const contentType = `application/x-amz-json-${options.jsonVersion}`;

  async function call(
    operation: string,
    body: unknown,
    signal?: AbortSignal,
  ): Promise<AwsCallResult> {
    const text = JSON.stringify(body);
    let res: Response;
    try {
      const signer = new AwsV4Signer({
        method: "POST",
        url,
        headers: { "content-type": contentType, "x-amz-target": operation },
        body: text,
        accessKeyId: credentials.accessKeyId,
        secretAccessKey: credentials.secretAccessKey,
        sessionToken: credentials.sessionToken,
        service: options.service,
        region: target.region,
        cache: signingCache,
      });
      const signed = await signer.sign();
      signed.headers.set("user-agent", options.userAgent);
      res = await options.fetch(url, {
        method: "POST",
        headers: signed.headers,
        body: text,
        redirect: "manual",
        timeoutMs,
        signal,
      });
    } catch (error) {
      const failed = fetchFailure(
        error,
        `${plugin}: a call to ${where}`,
        timeoutMs,
        (t) => scrub(t).split(url).join(target.shownEndpoint),
      );
      return { ok: false, failure: { kind: "retry", error: failed } };
    }
    const answer = (await res.text().catch(() => "")).slice(0, MAX_ERROR_BODY_CHARS);
    if (res.ok) {
      try {
        const parsed = answer ? JSON.parse(answer) : {};
        if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
          return { ok: true, body: parsed };
        }
      } catch {
        // not JSON: below
      }
      const error = failureError(
        { kind: "retry", status: res.status },
        `${plugin}: ${where} answered ${res.status} with a body that is not a JSON object`,
      );
      return { ok: false, failure: { kind: "retry", error } };
    }
    const aws = parseAwsError(res.headers, answer);
    const outcome = classifyAwsFailure(res, aws.code, options.codes);
    if (outcome.kind === "ok") return { ok: true, body: {} };
    const shown = scrub(
      [
        `${res.status}${res.statusText ? ` ${res.statusText}` : ""}`,
        aws.code,
        aws.message?.slice(0, 300),
      ]
        .filter(Boolean).join(": "),
    );
    const words: FailureWords = {
      credentials: credentialHint(aws.code, options.accessHint),
      url: options.missingHint,
      refused: "the events were refused as malformed",
    };
    const answered = outcome.kind === "keep"
      ? `${plugin}: ${where} refused the call as ${who}: ${shown}`
      : `${plugin}: ${where} answered ${shown}`;
    return {
      ok: false,
      failure: {
        kind: outcome.kind,
        code: aws.code,
        error: failureError(outcome, answered, words, scrub),
      },
    };
  }

  return { call, scrub };
}
