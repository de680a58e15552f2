/**
 * `@sluice/s3`: a Sluice sink that keeps every LLM call as an object in an
 * S3 bucket or an S3-compatible store (MinIO, Cloudflare R2, Backblaze B2,
 * Google Cloud Storage through its XML API), in LiteLLM's layout:
 *
 * ```
 * [path/][team/][key_alias/]YYYY-MM-DD/<HH-MM-SS-micro>_<request id>.json      (format: json, default)
 * [path/][team/][key_alias/]YYYY-MM-DD/HH/<HH-MM-SS-micro>_<batch id>.ndjson   (format: ndjson)
 * ```
 *
 * Requests are signed with SigV4 (`aws4fetch`); each object is confirmed
 * before the gateway removes its events from the queue. Batching and flush
 * timing are the sink entry's `queue:`, base64 and image handling its
 * `redaction:` (core settings, not plugin config).
 *
 * The default export is the plugin definition (contract v1); the named
 * exports are the sink factory and its helpers.
 *
 * @example Use it in gateway.yaml
 * ```yaml
 * sinks:
 *   - use: s3                       # or "@sluice/s3"
 *     redaction: { drop_non_text_parts: true }   # LiteLLM's s3_strip_base64_files
 *     config:
 *       bucket: my-llm-logs
 *       region: eu-west-1
 *       path: gateway/prod
 *       access_key_id: os.environ/AWS_ACCESS_KEY_ID
 *       secret_access_key: os.environ/AWS_SECRET_ACCESS_KEY
 * ```
 *
 * @example Write events from code
 * ```ts
 * import { createS3Sink, eventObjectKey } from "@sluice/s3";
 * import { createTestContext, sampleEvents } from "@sluice/core/testing";
 *
 * // A stand-in for an S3-compatible endpoint that accepts every PUT.
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, async (req) => {
 *   await req.body?.cancel();
 *   return new Response(null, { status: 200 });
 * });
 * const sink = createS3Sink({
 *   bucket: "llm-logs",
 *   endpoint_url: `http://127.0.0.1:${server.addr.port}`,
 *   access_key_id: "AKIAEXAMPLE",
 *   secret_access_key: "example-secret",
 *   path: "gateway",
 * }, createTestContext());
 * const events = sampleEvents(3);
 * await sink.log(events);
 * console.log(eventObjectKey(events[0], { path: "gateway" })); // gateway/YYYY-MM-DD/HH-MM-SS-micro_<id>.json
 * await server.shutdown();
 * ```
 * @module
 */
export { default } from "./plugin.ts";
export { s3LiteLLM } from "./litellm.ts";
export {
  DEFAULT_REGION,
  DEFAULT_TIMEOUT_MS,
  isVirtualHostable,
  parseS3Config,
  resolveS3Target,
  S3_ENV_VARS,
  type S3Config,
  s3ConfigSchema,
  type S3Credentials,
  type S3Target,
} from "./config.ts";
export { createS3Sink, DEFAULT_THROTTLE_WAIT_MS, objectUrl, PUT_CONCURRENCY } from "./s3_sink.ts";
export {
  encodeKey,
  type EventGroup,
  eventObjectKey,
  type KeyOptions,
  MAX_KEY_BYTES,
  ndjsonGroups,
  sanitizeSegment,
} from "./keys.ts";
export {
  classifyFailure,
  type FailureKind,
  parseS3Error,
  retryAfterMs,
  type S3ErrorBody,
} from "./errors.ts";
