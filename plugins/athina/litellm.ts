/**
 * LiteLLM's `athina` callback as an athina sink: the API key and the base
 * URL come from `ATHINA_API_KEY` and `ATHINA_BASE_URL`, which the plugin
 * reads itself, so the mapping adds nothing. The request metadata keys
 * LiteLLM forwards to Athina are forwarded the same way (see
 * `toAthinaInference`).
 * @module
 */
import type { LiteLLMMapping } from "@sluice/core/plugin";
import type { AthinaConfig } from "./config.ts";

/**
 * The athina plugin's LiteLLM mapping.
 *
 * @example
 * ```ts
 * import { athinaLiteLLM } from "@sluice/athina";
 * athinaLiteLLM.callbacks; // ["athina"]
 * ```
 */
export const athinaLiteLLM: LiteLLMMapping<AthinaConfig> = {
  callbacks: ["athina"],
  toSink: () => ({ config: {} }),
};
