/**
 * LiteLLM's `openmeter` callback as an openmeter sink that keeps LiteLLM's
 * behaviour: CloudEvents type `litellm_tokens` (else `OPENMETER_EVENT_TYPE`),
 * the request's `user` trusted unless `OPENMETER_TRUST_REQUEST_USER=false`,
 * and `required: true` (billing: `no-log` and disabled callbacks cannot skip
 * it).
 * @module
 */
import type { LiteLLMMapping } from "@sluice/core/plugin";
import type { OpenMeterConfig } from "./config.ts";

/** The CloudEvents type LiteLLM's OpenMeter callback sends. */
export const LITELLM_EVENT_TYPE = "litellm_tokens";

/**
 * The openmeter plugin's LiteLLM mapping.
 *
 * @example
 * ```ts
 * import { openMeterLiteLLM } from "@sluice/openmeter";
 * const entry = openMeterLiteLLM.toSink!({
 *   callback: "openmeter",
 *   name: "openmeter",
 *   path: "litellm_settings.callbacks[0]",
 *   callbackSettings: {},
 *   litellmSettings: {},
 *   env: () => undefined,
 * });
 * if (entry.config?.event_type !== "litellm_tokens" || !entry.required) throw new Error("unexpected");
 * ```
 */
export const openMeterLiteLLM: LiteLLMMapping<OpenMeterConfig> = {
  callbacks: ["openmeter"],
  toSink: ({ env }) => ({
    required: true,
    config: {
      event_type: env("OPENMETER_EVENT_TYPE") ?? LITELLM_EVENT_TYPE,
      trust_request_user: env("OPENMETER_TRUST_REQUEST_USER")?.toLowerCase() !== "false",
    },
  }),
};
