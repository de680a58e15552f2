/**
 * The one seam where a LiteLLM proxy `config.yaml` becomes Sluice's native
 * shape (DESIGN §8): models from `model_list`, the master key, environment
 * variables, logging callbacks as sink entries, and LiteLLM's logging and
 * redaction settings as `redaction:` and `controls:`. Every key Sluice does
 * not support becomes one warning with the reason; nothing is silently
 * dropped and nothing here throws.
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

type Obj = Record<string, unknown>;
type SinkEntry = Obj & { name: string; use: string; on?: string[] };

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

/** Callback names LiteLLM documents that map onto a Sluice plugin. */
const CALLBACK_PLUGINS: Record<string, string> = {
  otel: "otel",
  opentelemetry: "otel",
  langfuse: "langfuse",
  langfuse_otel: "langfuse",
  sentry: "sentry",
  s3: "s3",
  s3_v2: "s3",
  galileo: "galileo",
  openmeter: "openmeter",
  generic_api: "webhook",
};

/** `litellm_settings` keys handled here (everything else is a warning). */
const HANDLED_SETTINGS = new Set([
  "callbacks",
  "success_callback",
  "failure_callback",
  "turn_off_message_logging",
  "redact_user_api_key_info",
  "global_disable_no_log_param",
  "allow_dynamic_callback_disabling",
  "langfuse_default_tags",
  "forward_traceparent_to_llm_provider",
  "s3_callback_params",
  "request_timeout",
  "num_retries",
]);

/** Translates a LiteLLM config into the native shape, with a problem for everything not supported. */
export function translateLiteLLMConfig(
  raw: Record<string, unknown>,
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): LiteLLMTranslation {
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

  for (const key of Object.keys(settings)) {
    if (!HANDLED_SETTINGS.has(key)) {
      warn(`litellm_settings.${key}`, "not supported by Sluice; ignored");
    }
  }

  // Callbacks → sinks.
  const pins = pinsOf(native, envOf, problems);
  const sinks = new Map<string, SinkEntry>();
  const addCallbacks = (key: string, on: string[]) => {
    const value = settings[key];
    if (value === undefined) return;
    const names = typeof value === "string" ? [value] : Array.isArray(value) ? value : [];
    names.forEach((name, i) => {
      const path = `litellm_settings.${key}[${i}]`;
      if (typeof name !== "string") return fail(path, "expected a callback name");
      const existing = sinks.get(name);
      if (existing) {
        existing.on = [...new Set([...(existing.on ?? []), ...on])];
        return;
      }
      const entry = sinkFor(name, path, {
        settings,
        callbackSettings,
        envOf,
        pins,
        warn,
        fail,
      });
      if (!entry) return;
      const { onOverride, ...rest } = entry;
      sinks.set(name, { ...rest, on: (onOverride as string[] | undefined) ?? on });
    });
  };
  addCallbacks("callbacks", ["success", "failure"]);
  addCallbacks("success_callback", ["success"]);
  addCallbacks("failure_callback", ["failure"]);
  for (const [name, value] of Object.entries(callbackSettings)) {
    const entry = sinks.get(name);
    if (!entry) {
      warn(`callback_settings.${name}`, "no callback of that name is enabled; ignored");
      continue;
    }
    if (isObj(value) && value.message_logging === false) {
      entry.redaction = { ...(entry.redaction as Obj | undefined), messages: "remove" };
    }
  }
  // A sink's own `redaction` replaces the global one in Sluice; LiteLLM's global settings apply to every callback.
  for (const entry of sinks.values()) {
    if (entry.redaction) entry.redaction = { ...redaction, ...(entry.redaction as Obj) };
  }
  config.sinks = [...sinks.values()];
  return { config, problems };
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

interface SinkContext {
  settings: Obj;
  callbackSettings: Obj;
  envOf: (name: string) => string | undefined;
  pins: Pins;
  warn: (path: string, message: string) => void;
  fail: (path: string, message: string) => void;
}

function sinkFor(name: string, path: string, ctx: SinkContext): SinkEntry | undefined {
  if (/^(s3|gs):\/\//.test(name)) return bucketPlugin(name, path, ctx);
  const own = ctx.callbackSettings[name];
  const type = isObj(own) && typeof own.callback_type === "string" ? own.callback_type : name;
  const plugin = CALLBACK_PLUGINS[type];
  if (!plugin) {
    ctx.warn(
      path,
      `callback "${name}" has no Sluice sink (available: ${
        Object.keys(CALLBACK_PLUGINS).join(", ")
      }, or an s3:// / gs:// plugin path); ignored`,
    );
    return undefined;
  }
  const entry: SinkEntry = { name, use: plugin, config: {} };
  const config = entry.config as Obj;
  switch (type) {
    case "langfuse": {
      const tags = ctx.settings.langfuse_default_tags;
      if (Array.isArray(tags)) config.default_tags = tags;
      break;
    }
    case "langfuse_otel": {
      const host = ctx.envOf("LANGFUSE_OTEL_HOST");
      if (host) config.host = host;
      const tags = ctx.settings.langfuse_default_tags;
      if (Array.isArray(tags)) config.default_tags = tags;
      break;
    }
    case "openmeter": {
      // LiteLLM's defaults: its event type, and the request's `user` trusted unless turned off.
      // Billing: `no-log` and disabled callbacks must not skip it.
      entry.required = true;
      config.event_type = ctx.envOf("OPENMETER_EVENT_TYPE") ?? "litellm_tokens";
      config.trust_request_user = ctx.envOf("OPENMETER_TRUST_REQUEST_USER")?.toLowerCase() !==
        "false";
      break;
    }
    case "s3":
    case "s3_v2":
      return s3Sink(entry, ctx);
    case "generic_api": {
      const endpoint = (isObj(own) ? own.endpoint : undefined) ??
        ctx.envOf("GENERIC_LOGGER_ENDPOINT");
      if (typeof endpoint !== "string") {
        ctx.fail(
          path,
          `callback "${name}" needs callback_settings.${name}.endpoint or GENERIC_LOGGER_ENDPOINT`,
        );
        return undefined;
      }
      config.url = endpoint;
      const headers = (isObj(own) && isObj(own.headers) ? own.headers : undefined) ??
        parseHeaderList(ctx.envOf("GENERIC_LOGGER_HEADERS"));
      if (headers && Object.keys(headers).length > 0) config.headers = headers;
      if (isObj(own) && Array.isArray(own.event_types)) {
        const on = own.event_types.flatMap((t) =>
          t === "llm_api_success" ? ["success"] : t === "llm_api_failure" ? ["failure"] : []
        );
        if (on.length > 0) entry.onOverride = on;
      }
      break;
    }
  }
  return entry;
}

/** `k=v,k2=v2` (or `k:v`) header lists, as LiteLLM's env vars hold them. */
function parseHeaderList(value: string | undefined): Obj | undefined {
  if (!value) return undefined;
  const out: Obj = {};
  for (const part of value.split(",")) {
    const at = part.search(/[=:]/);
    if (at > 0) out[part.slice(0, at).trim()] = part.slice(at + 1).trim();
  }
  return out;
}

/** `s3_callback_params` → the s3 plugin's config, the entry's `queue:` and `redaction:`. */
function s3Sink(entry: SinkEntry, ctx: SinkContext): SinkEntry {
  const params = isObj(ctx.settings.s3_callback_params) ? ctx.settings.s3_callback_params : {};
  const config = entry.config as Obj;
  const direct: Record<string, string> = {
    s3_bucket_name: "bucket",
    s3_region_name: "region",
    s3_endpoint_url: "endpoint_url",
    s3_aws_access_key_id: "access_key_id",
    s3_aws_secret_access_key: "secret_access_key",
    s3_aws_session_token: "session_token",
    s3_path: "path",
    s3_use_team_prefix: "use_team_prefix",
    s3_use_key_prefix: "use_key_prefix",
  };
  for (const [key, value] of Object.entries(params)) {
    const path = `litellm_settings.s3_callback_params.${key}`;
    if (key in direct) config[direct[key]] = value;
    else if (key === "s3_flush_interval") {
      entry.queue = { ...(entry.queue as Obj), flush_interval_ms: Number(value) * 1000 };
    } else if (key === "s3_batch_size") {
      entry.queue = { ...(entry.queue as Obj), batch_size: value };
    } else if (key === "s3_strip_base64_files") {
      if (value === true) {
        entry.redaction = { ...(entry.redaction as Obj), drop_non_text_parts: true };
      }
    } else if (key === "s3_use_ssl" || key === "s3_verify" || key === "s3_api_version") {
      ctx.warn(path, "TLS and API version follow the endpoint URL in Sluice; ignored");
    } else {
      ctx.warn(
        path,
        "not supported by the s3 sink (role assumption and boto config are not implemented); ignored",
      );
    }
  }
  return entry;
}

interface Pins {
  sha256: Map<string, string>;
  unpinned: Set<string>;
}

/** Pins for plugin paths named in callbacks: a `sluice:` section, then `SLUICE_PLUGIN_PINS`. */
function pinsOf(
  native: Obj,
  envOf: (name: string) => string | undefined,
  problems: ConfigProblem[],
): Pins {
  const pins: Pins = { sha256: new Map(), unpinned: new Set() };
  for (const part of (envOf("SLUICE_PLUGIN_PINS") ?? "").split(",")) {
    const at = part.lastIndexOf("=");
    if (at > 0) pins.sha256.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  if (isObj(native.plugin_pins)) {
    for (const [url, hash] of Object.entries(native.plugin_pins)) {
      pins.sha256.set(url, String(hash));
    }
  }
  if (Array.isArray(native.allow_unpinned)) {
    for (const url of native.allow_unpinned) pins.unpinned.add(String(url));
  }
  for (const key of Object.keys(native)) {
    if (key !== "plugin_pins" && key !== "allow_unpinned") {
      problems.push({
        path: `sluice.${key}`,
        message: "expected plugin_pins or allow_unpinned",
        severity: "error",
      });
    }
  }
  return pins;
}

/** A callback `s3://bucket/dir/module.instance`: a Sluice plugin at `s3://bucket/dir/module.ts`. */
function bucketPlugin(name: string, path: string, ctx: SinkContext): SinkEntry | undefined {
  const file = /\.(ts|js|mjs)$/.test(name) ? name : name.replace(/\.[A-Za-z_][\w]*$/, ".ts");
  const instance = name.slice(name.lastIndexOf("/") + 1).replace(/\.(ts|js|mjs)$/, "")
    .replaceAll(".", "-");
  const sha256 = ctx.pins.sha256.get(name) ?? ctx.pins.sha256.get(file);
  // `callback_settings.<callback>` holds the plugin's own config (LiteLLM's keys aside).
  const own = ctx.callbackSettings[name];
  const config = Object.fromEntries(
    Object.entries(isObj(own) ? own : {}).filter(([k]) =>
      k !== "message_logging" && k !== "callback_type"
    ),
  );
  const entry: SinkEntry = { name: instance, use: file, config };
  if (sha256) entry.sha256 = sha256;
  else if (ctx.pins.unpinned.has(name) || ctx.pins.unpinned.has(file)) entry.allow_unpinned = true;
  else {
    ctx.fail(
      path,
      `callback "${name}" loads code from a bucket and needs a pin: add to this file\n` +
        `      sluice:\n        plugin_pins:\n          "${name}": <sha256 of ${file}>\n` +
        `    or set SLUICE_PLUGIN_PINS="${name}=<sha256>" (or list it under sluice.allow_unpinned)`,
    );
    return undefined;
  }
  return entry;
}
