/**
 * LiteLLM's `langsmith` callback as a langsmith sink that keeps LiteLLM's
 * defaults: project `litellm-completion` and run name `LLMRun` unless
 * `LANGSMITH_PROJECT` / `LANGSMITH_DEFAULT_RUN_NAME` say otherwise. The key,
 * base URL and sampling rate come from the `LANGSMITH_*` variables the
 * plugin reads itself.
 * @module
 */
import type { LiteLLMMapping } from "@sluice/core/plugin";
import type { LangSmithConfig } from "./config.ts";

/** LiteLLM's default project. */
export const LITELLM_PROJECT = "litellm-completion";

/** LiteLLM's default run name. */
export const LITELLM_RUN_NAME = "LLMRun";

/**
 * The langsmith plugin's LiteLLM mapping.
 *
 * @example
 * ```ts
 * import { langsmithLiteLLM } from "@sluice/langsmith";
 * const entry = langsmithLiteLLM.toSink!({
 *   callback: "langsmith",
 *   name: "langsmith",
 *   path: "litellm_settings.callbacks[0]",
 *   callbackSettings: {},
 *   litellmSettings: {},
 *   env: () => undefined,
 * });
 * if (entry.config?.project !== "litellm-completion") throw new Error("unexpected");
 * ```
 */
export const langsmithLiteLLM: LiteLLMMapping<LangSmithConfig> = {
  callbacks: ["langsmith"],
  toSink({ env }) {
    const config: Partial<Record<keyof LangSmithConfig, unknown>> = {};
    if (
      env("LANGSMITH_PROJECT") === undefined &&
      env("LANGCHAIN_PROJECT") === undefined
    ) {
      config.project = LITELLM_PROJECT;
    }
    if (env("LANGSMITH_DEFAULT_RUN_NAME") === undefined) {
      config.run_name = LITELLM_RUN_NAME;
    }
    return { config };
  },
};
