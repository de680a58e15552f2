/**
 * The langfuse sink's configuration: `config:` keys, their environment
 * fallbacks, and the settings they resolve to.
 * @module
 */

/** How events reach Langfuse. */
export type LangfuseTransport = "otel" | "ingestion";

/** The OTLP encoding of the `otel` transport. */
export type LangfuseOtlpProtocol = "http/protobuf" | "http/json";

/** `config:` of a langfuse sink entry; most keys fall back to an environment variable. */
export interface LangfuseConfig {
  /** Project public key (`pk-lf-…`); else `LANGFUSE_PUBLIC_KEY`. Required. */
  public_key?: string;
  /** Project secret key (`sk-lf-…`); else `LANGFUSE_SECRET_KEY`. Required. */
  secret_key?: string;
  /**
   * Base URL of the Langfuse server; else `LANGFUSE_HOST`, else
   * `LANGFUSE_BASE_URL`, else `https://cloud.langfuse.com`. `https://` is
   * added when the scheme is missing.
   */
  host?: string;
  /**
   * `otel` (default): OTLP to `{host}/api/public/otel/v1/traces`.
   * `ingestion`: the legacy batch API `{host}/api/public/ingestion`, for
   * servers without OTLP (self-hosted before v3.22).
   */
  transport?: LangfuseTransport;
  /** OTLP encoding for `otel` (default `http/protobuf`). */
  protocol?: LangfuseOtlpProtocol;
  /**
   * `x-langfuse-ingestion-version` sent with OTLP (default `"4"`: real-time
   * ingestion on Langfuse v4). `false` omits the header.
   */
  ingestion_version?: string | number | false;
  /** Langfuse `release` of every trace; else `LANGFUSE_RELEASE`. */
  release?: string;
  /** Langfuse `environment` (`[a-z0-9-_]`, at most 40); else `LANGFUSE_TRACING_ENVIRONMENT`. */
  environment?: string;
  /** Share of traces sent, 0 to 1, decided by trace id; else `LANGFUSE_SAMPLE_RATE`, else 1. */
  sample_rate?: number;
  /**
   * LiteLLM's `langfuse_default_tags`: names of event fields added to every
   * trace's tags as `name:value` (e.g. `user_api_key_alias` →
   * `user_api_key_alias:app-a`). Fields the event lacks add nothing.
   */
  default_tags?: string[];
  /** Also send `gen_ai.input.messages` / `gen_ai.output.messages` over OTLP (default false). */
  genai_messages?: boolean;
  /** Largest ingestion request body in bytes (default 3,500,000: Langfuse's batch limit). */
  max_batch_bytes?: number;
  /** Timeout of one POST in milliseconds (default 10,000). */
  timeout_ms?: number;
}

/** Environment variables the plugin reads (its `permissions.env`). */
export const LANGFUSE_ENV: readonly string[] = [
  "LANGFUSE_PUBLIC_KEY",
  "LANGFUSE_SECRET_KEY",
  "LANGFUSE_HOST",
  "LANGFUSE_BASE_URL",
  "LANGFUSE_RELEASE",
  "LANGFUSE_SAMPLE_RATE",
  "LANGFUSE_TRACING_ENVIRONMENT",
];

/** The host when neither config nor environment sets one (Langfuse Cloud, EU). */
export const DEFAULT_HOST = "https://cloud.langfuse.com";

/** Langfuse Cloud hosts (the plugin's `permissions.net`). */
export const CLOUD_HOSTS: readonly string[] = [
  "cloud.langfuse.com",
  "us.cloud.langfuse.com",
  "jp.cloud.langfuse.com",
  "hipaa.cloud.langfuse.com",
];

/** The path of Langfuse's OTLP traces endpoint, below the host. */
export const OTEL_TRACES_PATH = "api/public/otel/v1/traces";

/** The path of Langfuse's legacy batch ingestion endpoint, below the host. */
export const INGESTION_PATH = "api/public/ingestion";

/** The default `x-langfuse-ingestion-version`. */
export const DEFAULT_INGESTION_VERSION = "4";

/** Langfuse's documented limit of one ingestion batch. */
export const DEFAULT_MAX_BATCH_BYTES = 3_500_000;

/** The POST timeout when the config sets none. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/** What a langfuse sink resolved its config to. */
export interface LangfuseSettings {
  /** The transport. */
  transport: LangfuseTransport;
  /** The server's base URL, normalised (no trailing slash). */
  host: string;
  /** The endpoint POSTed to. */
  url: URL;
  /** The public key (shown in messages). */
  publicKey: string;
  /** The secret key (never shown). */
  secretKey: string;
  /** OTLP encoding (transport `otel`). */
  protocol: LangfuseOtlpProtocol;
  /** `x-langfuse-ingestion-version`, or undefined to omit it. */
  ingestionVersion?: string;
  /** Release, if any. */
  release?: string;
  /** Environment, if any. */
  environment?: string;
  /** 0 to 1. */
  sampleRate: number;
  /** `langfuse_default_tags` field names. */
  defaultTags: string[];
  /** Send the GenAI message attributes too. */
  genaiMessages: boolean;
  /** Largest ingestion request body. */
  maxBatchBytes: number;
  /** POST timeout. */
  timeoutMs: number;
}

const nonBlank = (value: string | undefined): string | undefined =>
  typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;

/**
 * A Langfuse host as a base URL: `https://` added when the scheme is
 * missing, query and fragment removed, no trailing slash.
 *
 * @param host `cloud.langfuse.com`, `https://langfuse.example.com/`, `http://127.0.0.1:3000`, …
 * @returns The base URL.
 * @throws {Error} when it is not an http(s) URL.
 *
 * @example
 * ```ts
 * import { normalizeHost } from "@sluice/langfuse";
 * normalizeHost("us.cloud.langfuse.com"); // "https://us.cloud.langfuse.com"
 * normalizeHost("http://127.0.0.1:3000/"); // "http://127.0.0.1:3000"
 * ```
 */
export function normalizeHost(host: string): string {
  const text = host.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new Error(`langfuse: host must be a URL or a host name; got "${text}"`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`langfuse: host must use http or https; got ${url.protocol}`);
  }
  if (url.username || url.password) {
    throw new Error("langfuse: host must not carry credentials; use public_key and secret_key");
  }
  url.search = "";
  url.hash = "";
  return url.href.replace(/\/+$/, "");
}

/** `{host}/{path}` with exactly one slash between them. */
export function endpointUrl(host: string, path: string): URL {
  return new URL(`${host.replace(/\/+$/, "")}/${path}`);
}

/** Langfuse's environment rule: lowercase `[a-z0-9-_]`, at most 40, not starting with `langfuse`. */
const ENVIRONMENT = /^(?!langfuse)[a-z0-9-_]{1,40}$/;

function sampleRateOf(config: number | undefined, env: string | undefined): number {
  if (config !== undefined) {
    if (!Number.isFinite(config) || config < 0 || config > 1) {
      throw new Error(`langfuse: sample_rate must be between 0 and 1; got ${config}`);
    }
    return config;
  }
  const text = nonBlank(env);
  if (text === undefined) return 1;
  const rate = Number(text);
  if (!Number.isFinite(rate) || rate < 0 || rate > 1) {
    throw new Error(`langfuse: LANGFUSE_SAMPLE_RATE must be between 0 and 1; got "${text}"`);
  }
  return rate;
}

function ingestionVersionOf(value: LangfuseConfig["ingestion_version"]): string | undefined {
  if (value === false) return undefined;
  if (value === undefined) return DEFAULT_INGESTION_VERSION;
  const text = String(value).trim();
  if (!/^[1-9][0-9]*$/.test(text) || Number(text) > 4) {
    throw new Error(
      `langfuse: ingestion_version must be 1 to 4 (Langfuse rejects higher values) or false; got "${text}"`,
    );
  }
  return text;
}

/**
 * Resolves a sink's config against its environment: credentials, host,
 * transport, release, environment, sampling and limits.
 *
 * @param config The sink entry's `config:`.
 * @param env Reads an environment variable (the plugin context's `env`).
 * @returns The settings.
 * @throws {Error} naming the plugin when a key is missing or a value is invalid.
 *
 * @example
 * ```ts
 * import { resolveLangfuseSettings } from "@sluice/langfuse";
 * const settings = resolveLangfuseSettings(
 *   { host: "langfuse.example.com" },
 *   (name) => ({ LANGFUSE_PUBLIC_KEY: "pk-lf-1", LANGFUSE_SECRET_KEY: "sk-lf-1" })[name],
 * );
 * settings.url.href; // "https://langfuse.example.com/api/public/otel/v1/traces"
 * ```
 */
export function resolveLangfuseSettings(
  config: LangfuseConfig,
  env: (name: string) => string | undefined,
): LangfuseSettings {
  const publicKey = nonBlank(config.public_key) ?? nonBlank(env("LANGFUSE_PUBLIC_KEY"));
  const secretKey = nonBlank(config.secret_key) ?? nonBlank(env("LANGFUSE_SECRET_KEY"));
  if (!publicKey || !secretKey) {
    const missing = [
      publicKey ? "" : "public key (config.public_key or LANGFUSE_PUBLIC_KEY)",
      secretKey ? "" : "secret key (config.secret_key or LANGFUSE_SECRET_KEY)",
    ].filter(Boolean).join(" and ");
    throw new Error(`langfuse: no ${missing}; find both in the Langfuse project's settings`);
  }
  const host = normalizeHost(
    nonBlank(config.host) ?? nonBlank(env("LANGFUSE_HOST")) ?? nonBlank(env("LANGFUSE_BASE_URL")) ??
      DEFAULT_HOST,
  );
  const transport = config.transport ?? "otel";
  if (transport !== "otel" && transport !== "ingestion") {
    throw new Error(`langfuse: transport must be "otel" or "ingestion"; got "${transport}"`);
  }
  const protocol = config.protocol ?? "http/protobuf";
  if (protocol !== "http/protobuf" && protocol !== "http/json") {
    throw new Error(`langfuse: protocol must be "http/protobuf" or "http/json"; got "${protocol}"`);
  }
  const environment = nonBlank(config.environment) ?? nonBlank(env("LANGFUSE_TRACING_ENVIRONMENT"));
  if (environment !== undefined && !ENVIRONMENT.test(environment)) {
    throw new Error(
      `langfuse: environment must be 1 to 40 of a-z, 0-9, "-" and "_", not starting with "langfuse"; got "${environment}"`,
    );
  }
  const timeoutMs = config.timeout_ms ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new Error(`langfuse: timeout_ms must be a positive integer; got ${config.timeout_ms}`);
  }
  const maxBatchBytes = config.max_batch_bytes ?? DEFAULT_MAX_BATCH_BYTES;
  if (!Number.isInteger(maxBatchBytes) || maxBatchBytes < 1024) {
    throw new Error(`langfuse: max_batch_bytes must be an integer ≥ 1024; got ${maxBatchBytes}`);
  }
  return {
    transport,
    host,
    url: endpointUrl(host, transport === "otel" ? OTEL_TRACES_PATH : INGESTION_PATH),
    publicKey,
    secretKey,
    protocol,
    ingestionVersion: ingestionVersionOf(config.ingestion_version),
    release: nonBlank(config.release) ?? nonBlank(env("LANGFUSE_RELEASE")),
    environment,
    sampleRate: sampleRateOf(config.sample_rate, env("LANGFUSE_SAMPLE_RATE")),
    defaultTags: (config.default_tags ?? []).filter((t) => typeof t === "string" && t.trim())
      .map((t) => t.trim()),
    genaiMessages: config.genai_messages ?? false,
    maxBatchBytes,
    timeoutMs,
  };
}
