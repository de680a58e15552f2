/**
 * LiteLLM's `azure_sentinel` callback as an azure-sentinel sink: the
 * records are LiteLLM's standard logging payload as is (`format:
 * payload`), so a rule written for LiteLLM's stream keeps working; the
 * `AZURE_SENTINEL_*` variables are read by the plugin itself.
 * @module
 */
import type { LiteLLMMapping, LiteLLMProblem } from "@sluice/core/plugin";
import type { AzureSentinelConfig } from "./config.ts";

/** The variables LiteLLM requires (its `AZURE_*` fallbacks count for the credentials). */
const REQUIRED: [string, ...string[]][] = [
  ["AZURE_SENTINEL_ENDPOINT"],
  ["AZURE_SENTINEL_DCR_IMMUTABLE_ID"],
  ["AZURE_SENTINEL_TENANT_ID", "AZURE_TENANT_ID"],
  ["AZURE_SENTINEL_CLIENT_ID", "AZURE_CLIENT_ID"],
  ["AZURE_SENTINEL_CLIENT_SECRET", "AZURE_CLIENT_SECRET"],
];

/**
 * The azure-sentinel plugin's LiteLLM mapping (`azure_sentinel`).
 *
 * @example
 * ```ts
 * import { azureSentinelLiteLLM } from "@sluice/azure-sentinel";
 *
 * const vars: Record<string, string> = {
 *   AZURE_SENTINEL_ENDPOINT: "https://my-dcr.eastus-1.ingest.monitor.azure.com",
 *   AZURE_SENTINEL_DCR_IMMUTABLE_ID: "dcr-0123456789abcdef0123456789abcdef",
 *   AZURE_SENTINEL_TENANT_ID: "t",
 *   AZURE_SENTINEL_CLIENT_ID: "c",
 *   AZURE_SENTINEL_CLIENT_SECRET: "s",
 * };
 * const entry = azureSentinelLiteLLM.toSink!({
 *   callback: "azure_sentinel",
 *   name: "azure_sentinel",
 *   path: "litellm_settings.callbacks[0]",
 *   callbackSettings: {},
 *   litellmSettings: {},
 *   env: (name) => vars[name],
 * });
 * entry.config; // { format: "payload" }
 * ```
 */
export const azureSentinelLiteLLM: LiteLLMMapping<AzureSentinelConfig> = {
  callbacks: ["azure_sentinel"],
  toSink({ name, path, env }) {
    const problems: LiteLLMProblem[] = REQUIRED
      .filter((names) => !names.some((n) => env(n)?.trim()))
      .map((names) => ({
        path,
        severity: "error" as const,
        message: `callback "${name}" needs ${names[0]}`,
      }));
    if (problems.length > 0) return { problems };
    return { config: { format: "payload" } };
  },
};
