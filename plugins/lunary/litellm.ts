/**
 * LiteLLM's `lunary` callback as a lunary sink: the public key and the API
 * URL come from `LUNARY_PUBLIC_KEY` and `LUNARY_API_URL`, which the plugin
 * reads itself, so the mapping adds nothing.
 * @module
 */
import type { LiteLLMMapping } from "@sluice/core/plugin";
import type { LunaryConfig } from "./config.ts";

/**
 * The lunary plugin's LiteLLM mapping.
 *
 * @example
 * ```ts
 * import { lunaryLiteLLM } from "@sluice/lunary";
 * lunaryLiteLLM.callbacks; // ["lunary"]
 * ```
 */
export const lunaryLiteLLM: LiteLLMMapping<LunaryConfig> = {
  callbacks: ["lunary"],
  toSink: () => ({ config: {} }),
};
