/**
 * LiteLLM's `datadog` and `datadog_llm_observability` callbacks as datadog
 * sinks that keep LiteLLM's defaults: service `litellm-server` and source
 * `litellm` unless `DD_SERVICE` / `DD_SOURCE` say otherwise (so monitors
 * and dashboards built on LiteLLM's logs keep matching), LiteLLM's Agent
 * variables (`LITELLM_DD_AGENT_HOST`, `LITELLM_DD_AGENT_PORT`) as the
 * endpoint, and `datadog_llm_observability_params.turn_off_message_logging`
 * as that sink's `redaction.messages: remove`. The key, site and tags come
 * from the `DD_*` variables the plugin reads itself.
 * @module
 */
import type { LiteLLMMapping, LiteLLMProblem } from "@sluice/core/plugin";
import type { DatadogConfig } from "./config.ts";

/** LiteLLM's default `DD_SERVICE`. */
export const LITELLM_SERVICE = "litellm-server";

/** LiteLLM's default `DD_SOURCE`. */
export const LITELLM_SOURCE = "litellm";

/** The Agent port LiteLLM uses when `LITELLM_DD_AGENT_PORT` is not set. */
export const LITELLM_AGENT_PORT = "10518";

/**
 * The datadog plugin's LiteLLM mapping.
 *
 * @example
 * ```ts
 * import { datadogLiteLLM } from "@sluice/datadog";
 * const entry = datadogLiteLLM.toSink!({
 *   callback: "datadog_llm_observability",
 *   name: "datadog_llm_observability",
 *   path: "litellm_settings.callbacks[0]",
 *   callbackSettings: {},
 *   litellmSettings: { datadog_llm_observability_params: { turn_off_message_logging: true } },
 *   env: () => undefined,
 * });
 * if (entry.config?.intake !== "llm_obs" || entry.redaction?.messages !== "remove") {
 *   throw new Error("unexpected");
 * }
 * ```
 */
export const datadogLiteLLM: LiteLLMMapping<DatadogConfig> = {
  callbacks: ["datadog", "datadog_llm_observability"],
  settings: ["datadog_llm_observability_params"],
  toSink({ callback, litellmSettings, env }) {
    const config: Partial<Record<keyof DatadogConfig, unknown>> = {
      intake: callback === "datadog_llm_observability" ? "llm_obs" : "logs",
    };
    if (env("DD_SERVICE") === undefined) config.service = LITELLM_SERVICE;
    if (env("DD_SOURCE") === undefined) config.source = LITELLM_SOURCE;
    const agent = env("LITELLM_DD_AGENT_HOST");
    if (agent) {
      const port = env("LITELLM_DD_AGENT_PORT") ?? LITELLM_AGENT_PORT;
      config.endpoint_url = `http://${agent.includes(":") ? `[${agent}]` : agent}:${port}`;
    }
    const problems: LiteLLMProblem[] = [];
    let redaction: Record<string, unknown> | undefined;
    const params = litellmSettings.datadog_llm_observability_params;
    if (callback === "datadog_llm_observability" && params !== undefined) {
      const off = (params as Record<string, unknown> | null)?.turn_off_message_logging;
      if (off === true) redaction = { messages: "remove" };
      for (const key of Object.keys(params ?? {})) {
        if (key === "turn_off_message_logging") continue;
        problems.push({
          path: `litellm_settings.datadog_llm_observability_params.${key}`,
          severity: "warning",
          message: "not read by the datadog plugin; ignored",
        });
      }
    }
    return redaction ? { config, redaction, problems } : { config, problems };
  },
};
