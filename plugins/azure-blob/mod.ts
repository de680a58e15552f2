/**
 * `@sluice/azure-blob`: a Sluice sink that keeps every LLM call as a blob
 * in an Azure Storage container (LiteLLM's `azure_storage` callback; Blob
 * Storage and Data Lake Storage Gen2 accounts alike), named as the s3
 * sink names its objects:
 *
 * ```
 * [path/][team/][key_alias/]YYYY-MM-DD/<HH-MM-SS-micro>_<request id>.json      (format: json, default)
 * [path/][team/][key_alias/]YYYY-MM-DD/HH/<HH-MM-SS-micro>_<batch id>.ndjson   (format: ndjson)
 * ```
 *
 * Blobs are written with Put Blob and confirmed before the gateway removes
 * their events from the queue. Credentials (Shared Key, Entra ID client
 * credentials, a connection string's key or SAS token) are
 * `@sluice/azure`'s, which `@sluice/azure-sentinel` shares.
 *
 * The default export is the plugin definition (contract v1); the named
 * exports are the sink factory and its helpers.
 *
 * @example Use it in gateway.yaml
 * ```yaml
 * sinks:
 *   - use: azure-blob                 # or "@sluice/azure-blob"
 *     config:
 *       container: llm-logs
 *       path: gateway/prod
 *       connection_string: os.environ/AZURE_STORAGE_CONNECTION_STRING
 * ```
 *
 * @example Write events from code (to Azurite: its documented connection string)
 * ```ts
 * import { createAzureBlobSink } from "@sluice/azure-blob";
 * import { createTestContext, sampleEvents } from "@sluice/core/testing";
 *
 * // A stand-in for Azurite's Blob service: accepts every upload.
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, async (req) => {
 *   await req.body?.cancel();
 *   return new Response(null, { status: 201 });
 * });
 * const ctx = createTestContext({
 *   env: {
 *     AZURE_STORAGE_CONNECTION_STRING: "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
 *       "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
 *       `BlobEndpoint=http://127.0.0.1:${server.addr.port}/devstoreaccount1;`,
 *   },
 *   permissions: { env: ["AZURE_STORAGE_CONNECTION_STRING"] },
 * });
 * const sink = await createAzureBlobSink({ container: "llm-logs", path: "gateway" }, ctx);
 * await sink.log(sampleEvents(3)); // gateway/YYYY-MM-DD/HH-MM-SS-micro_<id>.json, three blobs
 * await server.shutdown();
 * ```
 * @module
 */
export { default } from "./plugin.ts";
export { azureBlobLiteLLM } from "./litellm.ts";
export {
  AZURE_BLOB_ENV_VARS,
  type AzureBlobConfig,
  azureBlobConfigSchema,
  type AzureBlobTarget,
  BLOB_API_VERSION,
  type BlobCredentials,
  DEFAULT_TIMEOUT_MS,
  parseAzureBlobConfig,
  resolveAzureBlobTarget,
  STORAGE_SCOPE,
} from "./config.ts";
export {
  type AzureBlobSinkOptions,
  blobUrl,
  createAzureBlobSink,
  UPLOAD_CONCURRENCY,
} from "./azure_blob_sink.ts";
