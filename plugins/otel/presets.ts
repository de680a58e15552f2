/**
 * Backend presets: templates that fill the OTLP endpoint and the auth
 * header from each backend's documented environment variables. Anything
 * set explicitly in the sink's config wins over the preset.
 * @module
 */
import { basicAuth } from "@sluice/core/sink-http";

/** The backends with a preset. */
export const PRESET_NAMES = [
  "signoz",
  "honeycomb",
  "traceloop",
  "laminar",
  "langfuse",
  "portkey",
  "arize",
  "langtrace",
  "langsmith",
] as const;

/** A backend with a preset. */
export type PresetName = typeof PRESET_NAMES[number];

/** What a preset contributes: a base endpoint and headers. */
export interface PresetValues {
  /** Base OTLP/HTTP URL (`/v1/traces` is appended). */
  endpoint: string;
  /** Headers (authentication and backend options). */
  headers: Record<string, string>;
  /**
   * Headers the preset needs but could not fill, each with the variables
   * that fill it (the config's `headers` may supply them instead).
   */
  missing: { header: string; env: string[] }[];
  /**
   * Full OTLP/HTTP URLs of signals, used as given instead of
   * `endpoint` + `/v1/<signal>` (a backend with its own path, like Langtrace's `/api/trace`).
   */
  urls?: Partial<Record<"traces" | "metrics" | "logs", string>>;
  /**
   * The transport the backend's variables chose (Arize's `ARIZE_ENDPOINT`
   * is gRPC); `config.protocol` and `config.exporter` win over it.
   */
  protocol?: "grpc" | "http/protobuf";
}

/** One preset: its variables (for `permissions.env` and the docs) and how it resolves. */
export interface PresetDefinition {
  /** Environment variables the preset reads. */
  env: readonly string[];
  /** The signals the backend accepts over OTLP. */
  signals: readonly ("traces" | "metrics" | "logs")[];
  /** Hosts of the backend's cloud service (for `permissions.net`). */
  hosts: readonly string[];
  /** Builds the endpoint and headers from the environment. */
  resolve(env: (name: string) => string | undefined): PresetValues;
}

const trimSlash = (url: string) => url.replace(/\/+$/, "");

/** `url` without a trailing `suffix` path (and slashes): `https://h/v1/traces` → `https://h`. */
const withoutPath = (url: string, suffix: RegExp) => trimSlash(trimSlash(url).replace(suffix, ""));

function bearer(
  header: string,
  variable: string,
  env: (name: string) => string | undefined,
  prefix = "Bearer ",
): Pick<PresetValues, "headers" | "missing"> {
  const key = env(variable);
  return key
    ? { headers: { [header]: `${prefix}${key}` }, missing: [] }
    : { headers: {}, missing: [{ header, env: [variable] }] };
}

/** Every preset, by name. */
export const PRESETS: Readonly<Record<PresetName, PresetDefinition>> = {
  // SigNoz Cloud: https://ingest.<region>.signoz.cloud:443 with `signoz-ingestion-key`;
  // self-hosted SigNoz (SIGNOZ_ENDPOINT) needs no key.
  signoz: {
    signals: ["traces", "metrics", "logs"],
    env: ["SIGNOZ_INGESTION_KEY", "SIGNOZ_REGION", "SIGNOZ_ENDPOINT"],
    hosts: ["ingest.us.signoz.cloud", "ingest.eu.signoz.cloud", "ingest.in.signoz.cloud"],
    resolve(env): PresetValues {
      const selfHosted = env("SIGNOZ_ENDPOINT");
      const endpoint = selfHosted ??
        `https://ingest.${env("SIGNOZ_REGION") || "us"}.signoz.cloud:443`;
      const key = env("SIGNOZ_INGESTION_KEY");
      if (key) return { endpoint, headers: { "signoz-ingestion-key": key }, missing: [] };
      return {
        endpoint,
        headers: {},
        missing: selfHosted
          ? []
          : [{ header: "signoz-ingestion-key", env: ["SIGNOZ_INGESTION_KEY"] }],
      };
    },
  },
  // Honeycomb: https://api.honeycomb.io (EU: https://api.eu1.honeycomb.io) with
  // `x-honeycomb-team`; `x-honeycomb-dataset` only for Honeycomb Classic.
  honeycomb: {
    signals: ["traces", "metrics", "logs"],
    env: ["HONEYCOMB_API_KEY", "HONEYCOMB_API_ENDPOINT", "HONEYCOMB_DATASET"],
    hosts: ["api.honeycomb.io", "api.eu1.honeycomb.io"],
    resolve(env) {
      const auth = bearer("x-honeycomb-team", "HONEYCOMB_API_KEY", env, "");
      const dataset = env("HONEYCOMB_DATASET");
      return {
        endpoint: env("HONEYCOMB_API_ENDPOINT") || "https://api.honeycomb.io",
        headers: { ...auth.headers, ...(dataset ? { "x-honeycomb-dataset": dataset } : {}) },
        missing: auth.missing,
      };
    },
  },
  // Traceloop: https://api.traceloop.com with `Authorization: Bearer <TRACELOOP_API_KEY>`.
  traceloop: {
    signals: ["traces"],
    env: ["TRACELOOP_API_KEY", "TRACELOOP_BASE_URL"],
    hosts: ["api.traceloop.com"],
    resolve(env) {
      return {
        endpoint: env("TRACELOOP_BASE_URL") || "https://api.traceloop.com",
        ...bearer("authorization", "TRACELOOP_API_KEY", env),
      };
    },
  },
  // Laminar: OTLP/HTTP at https://api.lmnr.ai/v1/traces with the project API key as a Bearer token.
  laminar: {
    signals: ["traces"],
    env: ["LMNR_PROJECT_API_KEY", "LMNR_BASE_URL"],
    hosts: ["api.lmnr.ai"],
    resolve(env) {
      return {
        endpoint: env("LMNR_BASE_URL") || "https://api.lmnr.ai",
        ...bearer("authorization", "LMNR_PROJECT_API_KEY", env),
      };
    },
  },
  // Langfuse: <host>/api/public/otel with Basic auth of public:secret key;
  // `x-langfuse-ingestion-version: 4` asks for direct (real-time) ingestion.
  langfuse: {
    signals: ["traces"],
    env: [
      "LANGFUSE_PUBLIC_KEY",
      "LANGFUSE_SECRET_KEY",
      "LANGFUSE_HOST",
      "LANGFUSE_BASE_URL",
      "LANGFUSE_OTEL_HOST",
    ],
    hosts: ["cloud.langfuse.com", "us.cloud.langfuse.com"],
    resolve(env) {
      const host = env("LANGFUSE_OTEL_HOST") || env("LANGFUSE_BASE_URL") ||
        env("LANGFUSE_HOST") || "https://cloud.langfuse.com";
      const publicKey = env("LANGFUSE_PUBLIC_KEY");
      const secretKey = env("LANGFUSE_SECRET_KEY");
      const headers: Record<string, string> = { "x-langfuse-ingestion-version": "4" };
      const missing: PresetValues["missing"] = [];
      if (publicKey && secretKey) {
        headers.authorization = basicAuth(publicKey, secretKey);
      } else {
        missing.push({
          header: "authorization",
          env: ["LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY"],
        });
      }
      return { endpoint: `${trimSlash(host)}/api/public/otel`, headers, missing };
    },
  },
  // Portkey: https://api.portkey.ai/v1/otel with `x-portkey-api-key`.
  portkey: {
    signals: ["traces", "logs"],
    env: ["PORTKEY_API_KEY", "PORTKEY_BASE_URL"],
    hosts: ["api.portkey.ai"],
    resolve(env) {
      const base = env("PORTKEY_BASE_URL") || "https://api.portkey.ai/v1";
      return {
        endpoint: `${trimSlash(base)}/otel`,
        ...bearer("x-portkey-api-key", "PORTKEY_API_KEY", env, ""),
      };
    },
  },
  // Arize AX: OTLP at https://otlp.arize.com (gRPC, or HTTP at /v1/traces) with the
  // `space_id` and `api_key` headers. LiteLLM's `arize` callback reads ARIZE_SPACE_KEY (newer
  // Arize docs: ARIZE_SPACE_ID), ARIZE_API_KEY, ARIZE_ENDPOINT (gRPC) and ARIZE_HTTP_ENDPOINT.
  arize: {
    signals: ["traces"],
    env: [
      "ARIZE_SPACE_ID",
      "ARIZE_SPACE_KEY",
      "ARIZE_API_KEY",
      "ARIZE_ENDPOINT",
      "ARIZE_HTTP_ENDPOINT",
    ],
    hosts: ["otlp.arize.com"],
    resolve(env) {
      const grpc = env("ARIZE_ENDPOINT");
      const http = env("ARIZE_HTTP_ENDPOINT");
      const given = grpc || http || "https://otlp.arize.com";
      const space = env("ARIZE_SPACE_ID") || env("ARIZE_SPACE_KEY");
      const key = env("ARIZE_API_KEY");
      const headers: Record<string, string> = {};
      const missing: PresetValues["missing"] = [];
      if (space) headers.space_id = space;
      else missing.push({ header: "space_id", env: ["ARIZE_SPACE_ID", "ARIZE_SPACE_KEY"] });
      if (key) headers.api_key = key;
      else missing.push({ header: "api_key", env: ["ARIZE_API_KEY"] });
      return {
        // LiteLLM's examples give `https://otlp.arize.com/v1`: the base is what precedes /v1.
        endpoint: withoutPath(given, /\/v1(\/traces)?\/?$/),
        headers,
        missing,
        ...(grpc ? { protocol: "grpc" as const } : {}),
      };
    },
  },
  // Langtrace: OTLP/HTTP protobuf at <host>/api/trace with `x-api-key` (Langtrace's SDKs:
  // LANGTRACE_API_HOST, default https://app.langtrace.ai; self-hosted http://host:3000).
  langtrace: {
    signals: ["traces"],
    env: ["LANGTRACE_API_KEY", "LANGTRACE_API_HOST"],
    hosts: ["app.langtrace.ai"],
    resolve(env) {
      // The SDK's variable names the whole traces URL (…/api/trace) or the host alone.
      const host = withoutPath(
        env("LANGTRACE_API_HOST") || "https://app.langtrace.ai",
        /\/api\/trace\/?$/,
      );
      return {
        endpoint: host,
        urls: { traces: `${host}/api/trace` },
        ...bearer("x-api-key", "LANGTRACE_API_KEY", env, ""),
      };
    },
  },
  // LangSmith: OTLP/HTTP at <endpoint>/otel/v1/traces with `x-api-key` and, when set, the
  // `Langsmith-Project` header (EU: https://eu.api.smith.langchain.com). Not LiteLLM's
  // `langsmith` callback: that one is the langsmith plugin (LangSmith's runs API).
  langsmith: {
    signals: ["traces"],
    env: ["LANGSMITH_API_KEY", "LANGSMITH_PROJECT", "LANGSMITH_ENDPOINT", "LANGSMITH_BASE_URL"],
    hosts: ["api.smith.langchain.com", "eu.api.smith.langchain.com"],
    resolve(env) {
      const base = env("LANGSMITH_ENDPOINT") || env("LANGSMITH_BASE_URL") ||
        "https://api.smith.langchain.com";
      const auth = bearer("x-api-key", "LANGSMITH_API_KEY", env, "");
      const project = env("LANGSMITH_PROJECT");
      return {
        endpoint: `${trimSlash(base)}/otel`,
        headers: { ...auth.headers, ...(project ? { "langsmith-project": project } : {}) },
        missing: auth.missing,
      };
    },
  },
};
