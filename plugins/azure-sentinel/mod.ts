/**
 * `@sluice/azure-sentinel`: a Sluice sink that sends one record per LLM
 * call to Microsoft Sentinel (a Log Analytics workspace) through the Azure
 * Monitor Logs Ingestion API: LiteLLM's `azure_sentinel` callback.
 *
 * Records go to `POST <endpoint>/dataCollectionRules/<dcr immutable
 * id>/streams/<stream>?api-version=2023-01-01` as JSON arrays of at most
 * 1 MB, with an Entra ID token (client credentials, `@sluice/azure`). In
 * `format: table` (the default) each record is a flat row of the custom
 * table the README documents; in `format: payload` (what a LiteLLM config
 * gets) it is the log event as is, LiteLLM's standard logging payload.
 *
 * @example Send records from code (to a loopback stand-in)
 * ```ts
 * import { createAzureSentinelSink } from "@sluice/azure-sentinel";
 * import { createTestContext, sampleEvents } from "@sluice/core/testing";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, async (req) => {
 *   if (new URL(req.url).pathname.endsWith("/token")) {
 *     await req.body?.cancel();
 *     return Response.json({ token_type: "Bearer", expires_in: 3599, access_token: "eyJ0.x" });
 *   }
 *   const records = await req.json();
 *   console.log(records[0].TimeGenerated, records[0].RequestId);
 *   return new Response(null, { status: 204 });
 * });
 * const base = `http://127.0.0.1:${server.addr.port}`;
 * const ctx = createTestContext({
 *   env: {
 *     AZURE_SENTINEL_ENDPOINT: base,
 *     AZURE_SENTINEL_DCR_IMMUTABLE_ID: "dcr-0123456789abcdef0123456789abcdef",
 *     AZURE_SENTINEL_STREAM_NAME: "Custom-SluiceCalls_CL",
 *     AZURE_SENTINEL_TENANT_ID: "contoso",
 *     AZURE_SENTINEL_CLIENT_ID: "11111111-2222-3333-4444-555555555555",
 *     AZURE_SENTINEL_CLIENT_SECRET: "example-secret",
 *     AZURE_SENTINEL_AUTHORITY_HOST: base,
 *   },
 *   permissions: {
 *     env: [
 *       "AZURE_SENTINEL_ENDPOINT",
 *       "AZURE_SENTINEL_DCR_IMMUTABLE_ID",
 *       "AZURE_SENTINEL_STREAM_NAME",
 *       "AZURE_SENTINEL_TENANT_ID",
 *       "AZURE_SENTINEL_CLIENT_ID",
 *       "AZURE_SENTINEL_CLIENT_SECRET",
 *       "AZURE_SENTINEL_AUTHORITY_HOST",
 *     ],
 *   },
 * });
 * const sink = createAzureSentinelSink({}, ctx);
 * await sink.log(sampleEvents(2));
 * await server.shutdown();
 * ```
 * @module
 */
export { default } from "./plugin.ts";
export { azureSentinelLiteLLM } from "./litellm.ts";
export {
  AZURE_SENTINEL_ENV_VARS,
  type AzureSentinelConfig,
  azureSentinelConfigSchema,
  type AzureSentinelTarget,
  DEFAULT_STREAM_NAME,
  DEFAULT_TIMEOUT_MS,
  INGESTION_API_VERSION,
  MONITOR_SCOPE,
  parseAzureSentinelConfig,
  resolveAzureSentinelTarget,
} from "./config.ts";
export {
  MAX_FIELD_BYTES,
  MAX_REQUEST_BYTES,
  recordJson,
  requestBodies,
  type SentinelRecord,
  sentinelRecord,
} from "./records.ts";
export { type AzureSentinelSinkOptions, createAzureSentinelSink } from "./sentinel_sink.ts";
