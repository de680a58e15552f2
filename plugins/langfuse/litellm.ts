/**
 * LiteLLM's `langfuse` and `langfuse_otel` callbacks as langfuse sinks:
 * `litellm_settings.langfuse_default_tags` as `default_tags`, and for
 * `langfuse_otel` the host from `LANGFUSE_OTEL_HOST`. Keys and other hosts
 * come from the `LANGFUSE_*` variables the plugin reads itself.
 * @module
 */
import type { LiteLLMMapping } from "@sluice/core/plugin";
import type { LangfuseConfig } from "./config.ts";

/**
 * The langfuse plugin's LiteLLM mapping.
 *
 * @example
 * ```ts
 * import { langfuseLiteLLM } from "@sluice/langfuse";
 * const entry = langfuseLiteLLM.toSink!({
 *   callback: "langfuse",
 *   name: "langfuse",
 *   path: "litellm_settings.success_callback[0]",
 *   callbackSettings: {},
 *   litellmSettings: { langfuse_default_tags: ["user_api_key_alias"] },
 *   env: () => undefined,
 * });
 * if (entry.config?.default_tags?.toString() !== "user_api_key_alias") throw new Error("unexpected");
 * ```
 */
export const langfuseLiteLLM: LiteLLMMapping<LangfuseConfig> = {
  callbacks: ["langfuse", "langfuse_otel"],
  settings: ["langfuse_default_tags"],
  toSink({ callback, litellmSettings, env }) {
    const config: { host?: string; default_tags?: unknown[] } = {};
    const host = callback === "langfuse_otel" ? env("LANGFUSE_OTEL_HOST") : undefined;
    if (host) config.host = host;
    const tags = litellmSettings.langfuse_default_tags;
    if (Array.isArray(tags)) config.default_tags = tags;
    return { config };
  },
};
