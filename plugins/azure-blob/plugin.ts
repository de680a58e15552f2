/**
 * The azure-blob plugin definition.
 * @module
 */
import type { PluginDefinition } from "@sluice/core/plugin";
import { httpPermissions } from "@sluice/core/sink-http";
import { entraTokenUrl } from "@sluice/azure";
import denoJson from "./deno.json" with { type: "json" };
import {
  AZURE_BLOB_ENV_VARS,
  type AzureBlobConfig,
  azureBlobConfigSchema,
  parseAzureBlobConfig,
  resolveAzureBlobTarget,
} from "./config.ts";
import { createAzureBlobSink } from "./azure_blob_sink.ts";
import { azureBlobLiteLLM } from "./litellm.ts";

/**
 * The azure-blob plugin (LiteLLM's `azure_storage` callback): one block
 * blob per event, or one NDJSON blob per batch, in an Azure Storage
 * container (Blob Storage or Data Lake Storage Gen2). It may read the
 * `AZURE_STORAGE_*` variables and `AZURE_AUTHORITY_HOST`
 * (`permissions.env`); it asks for the Blob endpoint's host and, with Entra
 * ID, the authority's.
 *
 * @example gateway.yaml
 * ```yaml
 * sinks:
 *   - use: azure-blob
 *     queue: { batch_size: 100, flush_interval_ms: 5000 }
 *     config:
 *       container: llm-logs
 *       account_name: mylogs
 *       account_key: os.environ/AZURE_STORAGE_ACCOUNT_KEY
 *       path: gateway/prod
 * ```
 */
const azureBlobPlugin: PluginDefinition<AzureBlobConfig> = {
  name: "azure-blob",
  version: denoJson.version,
  apiVersion: 1,
  configSchema: azureBlobConfigSchema,
  permissions: (config, env) =>
    httpPermissions(() => {
      const target = resolveAzureBlobTarget(parseAzureBlobConfig(config), env);
      const { credentials } = target;
      return [
        target.endpoint,
        credentials.kind === "entra"
          ? entraTokenUrl(credentials.tenantId, credentials.authorityHost)
          : undefined,
      ];
    }, AZURE_BLOB_ENV_VARS),
  litellm: azureBlobLiteLLM,
  create: (config, ctx) => createAzureBlobSink(config, ctx),
};

export default azureBlobPlugin;
