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
};
