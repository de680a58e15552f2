/**
 * LiteLLM's `generic_api` callback as a webhook sink: the endpoint and
 * headers from `callback_settings.<name>` or `GENERIC_LOGGER_ENDPOINT` /
 * `GENERIC_LOGGER_HEADERS`, and `event_types` as the sink's `on:`.
 * @module
 */
import type { LiteLLMMapping, SinkEventKind } from "@sluice/core/plugin";
import type { WebhookConfig } from "./config.ts";

const isObj = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

/** `k=v,k2=v2` (or `k:v`) header lists, as LiteLLM's `GENERIC_LOGGER_HEADERS` holds them. */
export function parseHeaderList(value: string | undefined): Record<string, string> | undefined {
  if (!value) return undefined;
  const out: Record<string, string> = {};
  for (const part of value.split(",")) {
    const at = part.search(/[=:]/);
    if (at > 0) out[part.slice(0, at).trim()] = part.slice(at + 1).trim();
  }
  return out;
}

const EVENT_TYPES: Record<string, SinkEventKind> = {
  llm_api_success: "success",
  llm_api_failure: "failure",
};

/**
 * The webhook plugin's LiteLLM mapping (`generic_api`).
 *
 * @example
 * ```ts
 * import { webhookLiteLLM } from "@sluice/webhook";
 * const entry = webhookLiteLLM.toSink!({
 *   callback: "generic_api",
 *   name: "generic_api",
 *   path: "litellm_settings.callbacks[0]",
 *   callbackSettings: {},
 *   litellmSettings: {},
 *   env: (name) => name === "GENERIC_LOGGER_ENDPOINT" ? "https://logs.example.com" : undefined,
 * });
 * if (entry.config?.url !== "https://logs.example.com") throw new Error("unexpected");
 * ```
 */
export const webhookLiteLLM: LiteLLMMapping<WebhookConfig> = {
  callbacks: ["generic_api"],
  toSink({ name, path, callbackSettings: own, env }) {
    const url = own.endpoint ?? env("GENERIC_LOGGER_ENDPOINT");
    if (typeof url !== "string") {
      return {
        problems: [{
          path,
          severity: "error",
          message:
            `callback "${name}" needs callback_settings.${name}.endpoint or GENERIC_LOGGER_ENDPOINT`,
        }],
      };
    }
    const headers = (isObj(own.headers) ? own.headers : undefined) ??
      parseHeaderList(env("GENERIC_LOGGER_HEADERS"));
    const types = Array.isArray(own.event_types) ? own.event_types : [];
    const on = types.flatMap((t) => EVENT_TYPES[t] ?? []);
    return {
      config: { url, ...(headers && Object.keys(headers).length > 0 ? { headers } : {}) },
      ...(on.length > 0 ? { on } : {}),
    };
  },
};
