/**
 * The one seam where a LiteLLM proxy `config.yaml` becomes Sluice's native
 * shape (DESIGN §8): models from `model_list` (wildcard entries like
 * `model_name: "openai/*"` with `model: "openai/*"` keep their patterns and
 * lose the provider prefix, as LiteLLM's routing does), the master key, environment
 * variables, logging callbacks as sink entries, and LiteLLM's logging and
 * redaction settings as `redaction:` and `controls:`. Every key Sluice does
 * not support becomes one warning with the reason; nothing is silently
 * dropped and nothing here throws.
 * @module
 */
import type { ConfigProblem } from "./env.ts";
import { CALLBACK_SETTINGS, translateCallbacks } from "./litellm_callbacks.ts";
import { isModelPattern } from "../providers/model_pattern.ts";

const LITELLM_KEYS = [
  "model_list",
  "litellm_settings",
  "general_settings",
  "router_settings",
  "callback_settings",
  "environment_variables",
];

type Obj = Record<string, unknown>;

/** Whether a parsed YAML document is a LiteLLM proxy config. */
export function isLiteLLMConfig(raw: unknown): raw is Record<string, unknown> {
  return raw !== null && typeof raw === "object" && !Array.isArray(raw) &&
    LITELLM_KEYS.some((k) => Object.hasOwn(raw, k));
}

/** The result of translating a LiteLLM config. */
export interface LiteLLMTranslation {
  /** The native config (not yet validated). */
  config: Record<string, unknown>;
  /** Warnings for what is not supported, and errors for what cannot work. */
  problems: ConfigProblem[];
  /**
   * Key paths of values a plugin's mapping took from the environment
   * (`sinks[0].config.url`), each with its reference (`os.environ/NAME`):
   * messages name the reference, never the value.
   */
  origins: Map<string, string>;
  /** Values a plugin's mapping took from the environment: secrets, like `os.environ/` ones. */
  secrets: Set<string>;
}

const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * OpenAI-compatible providers LiteLLM names by prefix, with their public API
 * base (used when the model entry sets no `api_base`).
 */
const OPENAI_COMPATIBLE: Record<string, string | undefined> = {
  openai: undefined,
  text_completion_openai: undefined,
  "text-completion-openai": undefined,
  custom_openai: undefined,
  hosted_vllm: undefined,
  lm_studio: undefined,
  llamafile: undefined,
  groq: "https://api.groq.com/openai/v1",
  deepseek: "https://api.deepseek.com/v1",
  mistral: "https://api.mistral.ai/v1",
  together_ai: "https://api.together.xyz/v1",
  fireworks_ai: "https://api.fireworks.ai/inference/v1",
  openrouter: "https://openrouter.ai/api/v1",
  perplexity: "https://api.perplexity.ai",
  xai: "https://api.x.ai/v1",
  deepinfra: "https://api.deepinfra.com/v1/openai",
  cerebras: "https://api.cerebras.ai/v1",
};

/** `litellm_params` keys read here; any other key is a warning. */
const MODEL_PARAMS = new Set([
  "model",
  "api_base",
  "api_key",
  "api_version",
  "timeout",
  "max_retries",
  "rpm",
  "tpm",
  "extra_headers",
  "headers",
  "input_cost_per_token",
  "output_cost_per_token",
  "stream_timeout",
]);

/** `litellm_settings` keys handled here or by a callback's plugin (everything else is a warning). */
const HANDLED_SETTINGS = new Set([
  ...CALLBACK_SETTINGS,
  "turn_off_message_logging",
  "redact_user_api_key_info",
  "global_disable_no_log_param",
  "allow_dynamic_callback_disabling",
  "forward_traceparent_to_llm_provider",
  "request_timeout",
  "num_retries",
]);

/**
 * Translates a LiteLLM config into the native shape, with a problem for
 * everything not supported. Each logging callback becomes a sink entry
 * built by the plugin that claims its name (imported here, so this is
 * async); plugins listed under `sluice.plugins` resolve against `baseDir`.
 */
export async function translateLiteLLMConfig(
  raw: Record<string, unknown>,
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
  baseDir: string = Deno.cwd(),
): Promise<LiteLLMTranslation> {
  const problems: ConfigProblem[] = [];
  const warn = (path: string, message: string) =>
    problems.push({ path, message, severity: "warning" });
  const fail = (path: string, message: string) =>
    problems.push({ path, message, severity: "error" });

  const environment = isObj(raw.environment_variables)
    ? Object.fromEntries(
      Object.entries(raw.environment_variables).map(([k, v]) => [k, String(v)]),
    )
    : {};
  const envOf = (name: string) => environment[name] ?? env(name);
  const settings = isObj(raw.litellm_settings) ? raw.litellm_settings : {};
  const general = isObj(raw.general_settings) ? raw.general_settings : {};
  const callbackSettings = isObj(raw.callback_settings) ? raw.callback_settings : {};
  const native = isObj(raw.sluice) ? raw.sluice : {};

  for (const key of Object.keys(raw)) {
    if (![...LITELLM_KEYS, "sluice"].includes(key)) {
      warn(key, "not a LiteLLM proxy setting Sluice reads; ignored");
    }
  }
  if (raw.router_settings !== undefined) {
    warn(
      "router_settings",
      "routing strategies are not supported; Sluice round-robins between deployments of a model name",
    );
  }

  const config: Obj = { server: { litellm_headers: true } };
  if (Object.keys(environment).length > 0) config.environment = environment;

  // Models.
  const defaultTimeout = settings.request_timeout;
  const defaultRetries = settings.num_retries;
  const models: Obj[] = [];
  const list = Array.isArray(raw.model_list) ? raw.model_list : [];
  if (raw.model_list !== undefined && !Array.isArray(raw.model_list)) {
    fail("model_list", "expected a list of models");
  }
  list.forEach((item, i) => {
    const path = `model_list[${i}]`;
    const model = translateModel(item, path, warn, fail);
    if (!model) return;
    if (model.timeout_s === undefined && typeof defaultTimeout === "number") {
      model.timeout_s = defaultTimeout;
    }
    if (model.max_retries === undefined && typeof defaultRetries === "number") {
      model.max_retries = defaultRetries;
    }
    models.push(model);
  });
  config.models = models;

  // general_settings.
  for (const [key, value] of Object.entries(general)) {
    if (key === "master_key") (config.server as Obj).master_key = value;
    else if (key === "allow_dynamic_callback_disabling") continue;
    else {
      warn(
        `general_settings.${key}`,
        "not supported (Sluice keeps no database, UI or alerting; keys are listed under keys:)",
      );
    }
  }

  // Redaction and controls.
  const redaction: Obj = {};
  if (settings.turn_off_message_logging === true) redaction.messages = "remove";
  if (settings.redact_user_api_key_info === true) redaction.redact_user_api_key_info = true;
  if (Object.keys(redaction).length > 0) config.redaction = redaction;
  const controls: Obj = {};
  if (settings.global_disable_no_log_param !== undefined) {
    controls.global_disable_no_log_param = settings.global_disable_no_log_param;
  }
  const dynamic = settings.allow_dynamic_callback_disabling ??
    general.allow_dynamic_callback_disabling;
  if (dynamic !== undefined) controls.allow_dynamic_callback_disabling = dynamic;
  if (settings.forward_traceparent_to_llm_provider !== undefined) {
    controls.forward_traceparent_to_llm_provider = settings.forward_traceparent_to_llm_provider;
  }
  if (Object.keys(controls).length > 0) config.controls = controls;

  const callbackProblems: ConfigProblem[] = [];
  const callbacks = await translateCallbacks({
    settings,
    callbackSettings,
    native,
    envOf,
    redaction,
    baseDir,
    problems: callbackProblems,
  });
  for (const key of Object.keys(settings)) {
    if (!HANDLED_SETTINGS.has(key) && !callbacks.settingsRead.has(key)) {
      warn(`litellm_settings.${key}`, "not supported by Sluice; ignored");
    }
  }
  problems.push(...callbackProblems);
  config.sinks = callbacks.sinks;
  return { config, problems, origins: callbacks.origins, secrets: callbacks.secrets };
}

function translateModel(
  item: unknown,
  path: string,
  warn: (path: string, message: string) => void,
  fail: (path: string, message: string) => void,
): Obj | undefined {
  if (!isObj(item)) return fail(path, "expected a model entry"), undefined;
  const name = item.model_name;
  const params = isObj(item.litellm_params) ? item.litellm_params : undefined;
  if (typeof name !== "string") return fail(`${path}.model_name`, "expected a string"), undefined;
  if (!params || typeof params.model !== "string") {
    return fail(`${path}.litellm_params.model`, "expected `<provider>/<model>`"), undefined;
  }
  const full = params.model;
  const slash = full.indexOf("/");
  let prefix = slash > 0 ? full.slice(0, slash) : inferProvider(full);
  const upstream = slash > 0 ? full.slice(slash + 1) : full;
  if (prefix === undefined && isModelPattern(full)) {
    // LiteLLM picks a provider per requested name; one entry has one upstream.
    prefix = "openai";
    warn(
      `${path}.litellm_params.model`,
      `"${full}" names no provider: LiteLLM infers one from each requested name, Sluice sends every name this entry serves to one OpenAI-compatible upstream (api_base, else api.openai.com); write "openai/${full}" (or another provider's prefix) to say so`,
    );
  }
  const out: Obj = { name, model: upstream };
  if (prefix === "azure" || prefix === "azure_text") out.provider = "azure";
  else if (prefix === "anthropic") out.provider = "anthropic";
  else if (prefix !== undefined && prefix in OPENAI_COMPATIBLE) {
    out.provider = "openai";
    if (OPENAI_COMPATIBLE[prefix] && params.api_base === undefined) {
      out.api_base = OPENAI_COMPATIBLE[prefix];
    }
  } else {
    prefix ??= "(none)";
    warn(
      `${path}.litellm_params.model`,
      `provider "${prefix}" is not supported (Sluice speaks OpenAI-compatible, Azure OpenAI and Anthropic); model "${name}" is skipped`,
    );
    return undefined;
  }
  if (params.api_base !== undefined) out.api_base = params.api_base;
  if (params.api_key !== undefined) out.api_key = params.api_key;
  if (params.api_version !== undefined) out.api_version = params.api_version;
  if (params.timeout !== undefined) out.timeout_s = params.timeout;
  if (params.max_retries !== undefined) out.max_retries = params.max_retries;
  const headers = params.extra_headers ?? params.headers;
  if (headers !== undefined) out.headers = headers;
  const info = isObj(item.model_info) ? item.model_info : {};
  if (typeof info.id === "string") out.id = info.id;
  for (const price of ["input_cost_per_token", "output_cost_per_token"]) {
    const value = params[price] ?? info[price];
    if (value !== undefined) out[price] = value;
  }
  for (const key of Object.keys(params)) {
    if (key === "rpm" || key === "tpm") {
      warn(
        `${path}.litellm_params.${key}`,
        "rate limits are not enforced by Sluice; accepted and ignored",
      );
    } else if (key === "stream_timeout") {
      warn(`${path}.litellm_params.${key}`, "Sluice uses `timeout` for streams too; ignored");
    } else if (!MODEL_PARAMS.has(key)) {
      warn(`${path}.litellm_params.${key}`, "not supported by Sluice; ignored");
    }
  }
  for (const key of Object.keys(info)) {
    if (
      !["id", "input_cost_per_token", "output_cost_per_token", "mode", "base_model"].includes(key)
    ) {
      warn(`${path}.model_info.${key}`, "not used by Sluice; ignored");
    }
  }
  for (const key of Object.keys(item)) {
    if (!["model_name", "litellm_params", "model_info"].includes(key)) {
      warn(`${path}.${key}`, "not supported by Sluice; ignored");
    }
  }
  return out;
}

/** LiteLLM's provider for a model written without a prefix. */
function inferProvider(model: string): string | undefined {
  if (/^(gpt-|o\d|chatgpt-|text-embedding-|davinci|babbage|omni-)/.test(model)) return "openai";
  if (model.startsWith("claude")) return "anthropic";
  return undefined;
}
