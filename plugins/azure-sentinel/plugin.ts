/**
 * The azure-sentinel plugin definition.
 * @module
 */
import type { PluginDefinition } from "@sluice/core/plugin";
import { httpPermissions } from "@sluice/core/sink-http";
import { entraTokenUrl } from "@sluice/azure";
import denoJson from "./deno.json" with { type: "json" };
import {
  AZURE_SENTINEL_ENV_VARS,
  type AzureSentinelConfig,
  azureSentinelConfigSchema,
  parseAzureSentinelConfig,
  resolveAzureSentinelTarget,
} from "./config.ts";
import { createAzureSentinelSink } from "./sentinel_sink.ts";
import { azureSentinelLiteLLM } from "./litellm.ts";

/**
 * The azure-sentinel plugin (LiteLLM's `azure_sentinel` callback): one
 * record per call to Microsoft Sentinel's Log Analytics workspace through
 * the Azure Monitor Logs Ingestion API (a data collection rule and its
 * stream), with Entra ID client credentials. It may read the
 * `AZURE_SENTINEL_*` and `AZURE_*` credential variables; it asks for the
 * ingestion endpoint's host and the authority's.
 *
 * @example gateway.yaml
 * ```yaml
 * sinks:
 *   - use: azure-sentinel
 *     config:
 *       endpoint_url: https://my-dcr-abcd.eastus-1.ingest.monitor.azure.com
 *       dcr_immutable_id: dcr-0123456789abcdef0123456789abcdef
 *       stream_name: Custom-SluiceCalls_CL
 *       tenant_id: contoso.onmicrosoft.com
 *       client_id: 11111111-2222-3333-4444-555555555555
 *       client_secret: os.environ/AZURE_SENTINEL_CLIENT_SECRET
 * ```
 */
const azureSentinelPlugin: PluginDefinition<AzureSentinelConfig> = {
  name: "azure-sentinel",
  version: denoJson.version,
  apiVersion: 1,
  configSchema: azureSentinelConfigSchema,
  permissions: (config, env) =>
    httpPermissions(() => {
      const target = resolveAzureSentinelTarget(parseAzureSentinelConfig(config), env);
      const { tenantId, authorityHost } = target.credentials;
      return [target.url, entraTokenUrl(tenantId, authorityHost)];
    }, AZURE_SENTINEL_ENV_VARS),
  litellm: azureSentinelLiteLLM,
  create: (config, ctx) => createAzureSentinelSink(config, ctx),
};

export default azureSentinelPlugin;
