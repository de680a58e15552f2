/**
 * The langfuse sink's configuration: `config:` keys from one zod schema (the
 * JSON Schema the gateway validates with and the parse the sink runs; the
 * TypeScript type is checked against it by the compiler), their environment
 * fallbacks, and the settings they resolve to.
 * @module
 */
import { z } from "zod";
import type { JsonSchema } from "@sluice/core/plugin";
import { definePluginConfig, type SameShape } from "@sluice/core/plugin-config";

/** How events reach Langfuse. */
export type LangfuseTransport = "otel" | "ingestion";

/** The OTLP encoding of the `otel` transport. */
export type LangfuseOtlpProtocol = "http/protobuf" | "http/json";

/**
 * `config:` of a langfuse sink entry (described field by field in
 * {@link langfuseConfigSchema}); most keys fall back to an environment
 * variable.
 */
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

/** Langfuse's environment rule: lowercase `[a-z0-9_-]`, at most 40, not starting with `langfuse`. */
const ENVIRONMENT = /^(?!langfuse)[a-z0-9_-]{1,40}$/;

const VERSION = "must be 1 to 4 (Langfuse rejects higher values) or false";

const langfuseConfigZod = z.strictObject({
  public_key: z.string().min(1)
    .describe("Project public key pk-lf-… (else LANGFUSE_PUBLIC_KEY). Required.")
    .optional(),
  secret_key: z.string().min(1)
    .describe("Project secret key sk-lf-… (else LANGFUSE_SECRET_KEY); a secret: use os.environ/….")
    .optional(),
  host: z.string().min(1)
    .describe(
      `Langfuse base URL (else LANGFUSE_HOST, else LANGFUSE_BASE_URL, else ${DEFAULT_HOST}); ` +
        "https:// is added when the scheme is missing.",
    )
    .optional(),
  transport: z.enum(["otel", "ingestion"], { error: 'must be "otel" or "ingestion"' })
    .default("otel")
    .describe(
      "otel: OTLP to /api/public/otel/v1/traces; ingestion: the legacy batch API " +
        "/api/public/ingestion (servers without OTLP).",
    ),
  protocol: z.enum(["http/protobuf", "http/json"], {
    error: 'must be "http/protobuf" or "http/json"',
  })
    .default("http/protobuf")
    .describe("OTLP encoding (transport otel)."),
  ingestion_version: z.union([
    z.int().min(1, VERSION).max(4, VERSION),
    z.string().regex(/^[1-4]$/, VERSION),
    z.literal(false),
  ], { error: VERSION })
    .default(DEFAULT_INGESTION_VERSION)
    .describe(
      "x-langfuse-ingestion-version sent with OTLP (4: real-time ingestion on Langfuse v4); " +
        "false omits the header.",
    ),
  release: z.string().describe("Release of every trace (else LANGFUSE_RELEASE).").optional(),
  environment: z.string()
    .regex(ENVIRONMENT, 'must be 1 to 40 of a-z, 0-9, "-" and "_", not starting with "langfuse"')
    .describe("Langfuse environment (else LANGFUSE_TRACING_ENVIRONMENT).")
    .optional(),
  sample_rate: z.number()
    .min(0, "must be between 0 and 1")
    .max(1, "must be between 0 and 1")
    .describe("Share of traces sent, decided by trace id (else LANGFUSE_SAMPLE_RATE, else 1).")
    .optional(),
  default_tags: z.array(z.string())
    .describe("LiteLLM's langfuse_default_tags: event fields added as name:value tags.")
    .optional(),
  genai_messages: z.boolean().default(false)
    .describe("Also send gen_ai.input.messages / gen_ai.output.messages over OTLP."),
  max_batch_bytes: z.int().min(1024).default(DEFAULT_MAX_BATCH_BYTES)
    .describe("Largest ingestion request body (Langfuse's limit: 3.5 MB)."),
  timeout_ms: z.int().positive().default(DEFAULT_TIMEOUT_MS)
    .describe("Timeout of one POST in milliseconds."),
});

// The interface is what the zod schema accepts (zod's types stay out of the public API).
true satisfies SameShape<z.input<typeof langfuseConfigZod>, LangfuseConfig>;
const langfuseConfig = definePluginConfig("langfuse", langfuseConfigZod);

/** JSON Schema (draft-07) of {@link LangfuseConfig}: what the gateway validates `config:` with. */
export const langfuseConfigSchema: JsonSchema = langfuseConfig.jsonSchema;

/**
 * Parses a config, defaults filled in.
 *
 * @example
 * ```ts
 * import { parseLangfuseConfig } from "@sluice/langfuse";
 * parseLangfuseConfig({ transport: "ingestion" }).timeout_ms; // 10000
 * ```
 * @throws Error naming each invalid field (`langfuse: invalid config: config.transport: …`);
 *   never a value.
 */
export function parseLangfuseConfig(
  input: unknown,
):
  & LangfuseConfig
  & Required<
    Pick<
      LangfuseConfig,
      | "transport"
      | "protocol"
      | "ingestion_version"
      | "genai_messages"
      | "max_batch_bytes"
      | "timeout_ms"
    >
  > {
  return langfuseConfig.parse(input);
}

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

function sampleRateFromEnv(env: string | undefined): number {
  const text = nonBlank(env);
  if (text === undefined) return 1;
  const rate = Number(text);
  if (!Number.isFinite(rate) || rate < 0 || rate > 1) {
    throw new Error(`langfuse: LANGFUSE_SAMPLE_RATE must be between 0 and 1; got "${text}"`);
  }
  return rate;
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
  input: LangfuseConfig,
  env: (name: string) => string | undefined,
): LangfuseSettings {
  const config = parseLangfuseConfig(input);
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
  const { transport, protocol } = config;
  const environment = nonBlank(config.environment) ?? nonBlank(env("LANGFUSE_TRACING_ENVIRONMENT"));
  if (environment !== undefined && !ENVIRONMENT.test(environment)) {
    throw new Error(
      `langfuse: environment must be 1 to 40 of a-z, 0-9, "-" and "_", not starting with "langfuse"; got "${environment}"`,
    );
  }
  return {
    transport,
    host,
    url: endpointUrl(host, transport === "otel" ? OTEL_TRACES_PATH : INGESTION_PATH),
    publicKey,
    secretKey,
    protocol,
    ingestionVersion: config.ingestion_version === false
      ? undefined
      : String(config.ingestion_version),
    release: nonBlank(config.release) ?? nonBlank(env("LANGFUSE_RELEASE")),
    environment,
    sampleRate: config.sample_rate ?? sampleRateFromEnv(env("LANGFUSE_SAMPLE_RATE")),
    defaultTags: (config.default_tags ?? []).filter((t) => t.trim()).map((t) => t.trim()),
    genaiMessages: config.genai_messages,
    maxBatchBytes: config.max_batch_bytes,
    timeoutMs: config.timeout_ms,
  };
}
