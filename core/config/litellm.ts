/**
 * The one seam where a LiteLLM proxy `config.yaml` becomes Sluice's native
 * shape. Detection is here now; the translation itself is a later step.
 * @module
 */
import type { ConfigProblem } from "./env.ts";

const LITELLM_KEYS = [
  "model_list",
  "litellm_settings",
  "general_settings",
  "router_settings",
  "callback_settings",
  "environment_variables",
];

/** Whether a parsed YAML document is a LiteLLM proxy config. */
export function isLiteLLMConfig(raw: unknown): raw is Record<string, unknown> {
  return raw !== null && typeof raw === "object" &&
    LITELLM_KEYS.some((k) => Object.hasOwn(raw, k));
}

/** Translates a LiteLLM config into the native shape, with warnings for what is not supported. */
export function translateLiteLLMConfig(
  _raw: Record<string, unknown>,
): { config: unknown; problems: ConfigProblem[] } {
  return {
    config: {},
    problems: [{
      path: "model_list",
      message: "this is a LiteLLM config.yaml; reading it is not supported in this version yet. " +
        "Write the native shape (see README, Configuration)",
      severity: "error",
    }],
  };
}
