/**
 * LiteLLM's `azure_storage` callback as an azure-blob sink: the container
 * from `AZURE_STORAGE_FILE_SYSTEM`; the account and credentials
 * (`AZURE_STORAGE_ACCOUNT_NAME`, `AZURE_STORAGE_ACCOUNT_KEY`, or
 * `AZURE_STORAGE_TENANT_ID` / `AZURE_STORAGE_CLIENT_ID` /
 * `AZURE_STORAGE_CLIENT_SECRET`) read by the plugin itself, like
 * `AZURE_STORAGE_CONNECTION_STRING` and `AZURE_STORAGE_BLOB_ENDPOINT`.
 * @module
 */
import type { LiteLLMMapping, LiteLLMProblem } from "@sluice/core/plugin";
import type { AzureBlobConfig } from "./config.ts";

/**
 * The azure-blob plugin's LiteLLM mapping (`azure_storage`).
 *
 * @example
 * ```ts
 * import { azureBlobLiteLLM } from "@sluice/azure-blob";
 *
 * const vars: Record<string, string> = {
 *   AZURE_STORAGE_ACCOUNT_NAME: "litellm2",
 *   AZURE_STORAGE_FILE_SYSTEM: "litellm-logs",
 *   AZURE_STORAGE_ACCOUNT_KEY: "a2V5",
 * };
 * const entry = azureBlobLiteLLM.toSink!({
 *   callback: "azure_storage",
 *   name: "azure_storage",
 *   path: "litellm_settings.callbacks[0]",
 *   callbackSettings: {},
 *   litellmSettings: {},
 *   env: (name) => vars[name],
 * });
 * entry.config; // { container: "litellm-logs" }
 * ```
 */
export const azureBlobLiteLLM: LiteLLMMapping<AzureBlobConfig> = {
  callbacks: ["azure_storage"],
  toSink({ name, path, env }) {
    const problems: LiteLLMProblem[] = [];
    const container = env("AZURE_STORAGE_FILE_SYSTEM")?.trim();
    if (!container) {
      problems.push({
        path,
        severity: "error",
        message:
          `callback "${name}" needs AZURE_STORAGE_FILE_SYSTEM (the container the logs go to)`,
      });
    }
    const account = [
      "AZURE_STORAGE_ACCOUNT_NAME",
      "AZURE_STORAGE_CONNECTION_STRING",
      "AZURE_STORAGE_BLOB_ENDPOINT",
    ].some((v) => env(v)?.trim());
    if (!account) {
      problems.push({
        path,
        severity: "error",
        message: `callback "${name}" needs AZURE_STORAGE_ACCOUNT_NAME (the storage account)`,
      });
    }
    const credentials = [
      "AZURE_STORAGE_ACCOUNT_KEY",
      "AZURE_STORAGE_CLIENT_SECRET",
      "AZURE_STORAGE_CONNECTION_STRING",
    ].some((v) => env(v)?.trim());
    if (!credentials) {
      problems.push({
        path,
        severity: "error",
        message:
          `callback "${name}" needs AZURE_STORAGE_ACCOUNT_KEY, or AZURE_STORAGE_TENANT_ID, ` +
          "AZURE_STORAGE_CLIENT_ID and AZURE_STORAGE_CLIENT_SECRET",
      });
    }
    if (problems.length > 0) return { problems };
    return { config: { container } };
  },
};
