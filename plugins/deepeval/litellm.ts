/**
 * LiteLLM's `deepeval` callback as a deepeval sink: the API key, base URL
 * and environment come from `CONFIDENT_API_KEY`, `CONFIDENT_BASE_URL` and
 * `LITELM_ENVIRONMENT` (LiteLLM's spelling) or `CONFIDENT_TRACE_ENVIRONMENT`,
 * which the plugin reads itself, so the mapping adds nothing.
 * @module
 */
import type { LiteLLMMapping } from "@sluice/core/plugin";
import type { DeepEvalConfig } from "./config.ts";

/**
 * The deepeval plugin's LiteLLM mapping.
 *
 * @example
 * ```ts
 * import { deepevalLiteLLM } from "@sluice/deepeval";
 * deepevalLiteLLM.callbacks; // ["deepeval"]
 * ```
 */
export const deepevalLiteLLM: LiteLLMMapping<DeepEvalConfig> = {
  callbacks: ["deepeval"],
  toSink: () => ({ config: {} }),
};
