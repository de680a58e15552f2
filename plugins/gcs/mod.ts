/**
 * `@sluice/gcs`: a Sluice sink that keeps every LLM call as an object in a
 * Google Cloud Storage bucket (LiteLLM's `gcs_bucket` callback), named as
 * the s3 sink names them:
 *
 * ```
 * [path/][team/][key_alias/]YYYY-MM-DD/<HH-MM-SS-micro>_<request id>.json      (format: json, default)
 * [path/][team/][key_alias/]YYYY-MM-DD/HH/<HH-MM-SS-micro>_<batch id>.ndjson   (format: ndjson)
 * ```
 *
 * Objects are written with the Cloud Storage JSON API's media upload and
 * confirmed before the gateway removes their events from the queue. The
 * credentials (a service account key, an authorized user, or the metadata
 * server) are `@sluice/gcs/auth`'s, which `@sluice/gcs-pubsub` shares.
 *
 * The default export is the plugin definition (contract v1); the named
 * exports are the sink factory and its helpers.
 *
 * @example Use it in gateway.yaml
 * ```yaml
 * sinks:
 *   - use: gcs                       # or "@sluice/gcs"
 *     config:
 *       bucket: my-llm-logs
 *       path: gateway/prod
 *       service_account_json: os.environ/GCS_SERVICE_ACCOUNT_JSON
 * ```
 *
 * @example Write events from code (to an emulator: no credentials)
 * ```ts
 * import { createGcsSink } from "@sluice/gcs";
 * import { createTestContext, sampleEvents } from "@sluice/core/testing";
 *
 * // A stand-in for fake-gcs-server or the JSON API: accepts every upload.
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, async (req) => {
 *   await req.body?.cancel();
 *   return Response.json({ kind: "storage#object" });
 * });
 * const ctx = createTestContext({
 *   env: { STORAGE_EMULATOR_HOST: `127.0.0.1:${server.addr.port}` },
 *   permissions: { env: ["STORAGE_EMULATOR_HOST"] },
 * });
 * const sink = await createGcsSink({ bucket: "llm-logs", path: "gateway" }, ctx);
 * await sink.log(sampleEvents(3)); // gateway/YYYY-MM-DD/HH-MM-SS-micro_<id>.json, three objects
 * await server.shutdown();
 * ```
 * @module
 */
export { default } from "./plugin.ts";
export { gcsLiteLLM } from "./litellm.ts";
export {
  DEFAULT_TIMEOUT_MS,
  emulatorUrl,
  GCS_ENDPOINT,
  GCS_ENV_VARS,
  GCS_SCOPE,
  type GcsConfig,
  gcsConfigSchema,
  type GcsTarget,
  parseGcsConfig,
  resolveGcsTarget,
} from "./config.ts";
export type {
  AuthorizedUserKey,
  GoogleAuth,
  GoogleCredentialSource,
  GoogleKey,
  ServiceAccountKey,
} from "./auth.ts";
export { createGcsSink, type GcsSinkOptions, UPLOAD_CONCURRENCY, uploadUrl } from "./gcs_sink.ts";
