/**
 * The gcs sink's `config:`: its zod schema, the JSON Schema the gateway
 * validates with, and the resolution of endpoint and credentials (config
 * first, then `STORAGE_EMULATOR_HOST` and the Google credential variables).
 * @module
 */
import { z } from "zod";
import type { JsonSchema } from "@sluice/core/plugin";
import { definePluginConfig, type SameShape } from "@sluice/core/plugin-config";
import {
  emulatorUrl,
  GOOGLE_AUTH_ENV_VARS,
  type GoogleCredentialSource,
  resolveGoogleCredentials,
} from "./auth.ts";

export { emulatorUrl } from "./auth.ts";

/** Timeout of one upload when the config sets none. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** The Cloud Storage JSON API's endpoint. */
export const GCS_ENDPOINT = "https://storage.googleapis.com";

/** The OAuth scope the sink's token is asked for (create objects). */
export const GCS_SCOPE = "https://www.googleapis.com/auth/devstorage.read_write";

/** Environment variables the plugin may read (its `permissions.env`). */
export const GCS_ENV_VARS: readonly string[] = ["STORAGE_EMULATOR_HOST", ...GOOGLE_AUTH_ENV_VARS];

const gcsConfigZod = z.strictObject({
  bucket: z.string()
    .regex(
      /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/,
      "3 to 222 lowercase letters, digits, '-', '_' and '.', starting and ending with a letter or digit",
    )
    .describe("The bucket the objects are written to."),
  path: z.string()
    .max(512)
    .describe("An object name prefix, e.g. logs/prod (no leading or trailing slash needed).")
    .optional(),
  use_team_prefix: z.boolean()
    .default(false)
    .describe("Put the key's team in the object name (after path)."),
  use_key_prefix: z.boolean()
    .default(false)
    .describe("Put the key's alias in the object name (after the team)."),
  format: z.enum(["json", "ndjson"])
    .default("json")
    .describe("json: one object per event; ndjson: one object per batch, one event a line."),
  endpoint_url: z.string()
    .regex(/^https?:\/\/\S+$/, "an http:// or https:// URL")
    .describe(
      "The JSON API's endpoint (a private endpoint or an emulator); default: STORAGE_EMULATOR_HOST, else https://storage.googleapis.com.",
    )
    .optional(),
  service_account_json: z.string().min(1)
    .describe("A service account key file's JSON itself (os.environ/NAME); never shown.")
    .optional(),
  service_account_file: z.string().min(1)
    .describe(
      "A service account key file's path (default: GCS_PATH_SERVICE_ACCOUNT, GOOGLE_APPLICATION_CREDENTIALS, else the metadata server).",
    )
    .optional(),
  timeout_ms: z.int()
    .positive()
    .default(DEFAULT_TIMEOUT_MS)
    .describe("Timeout of one upload in milliseconds."),
}).superRefine((config, issues) => {
  for (const segment of (config.path ?? "").split("/")) {
    if (segment === "." || segment === "..") {
      issues.addIssue({
        code: "custom",
        path: ["path"],
        message: `path may not contain a "${segment}" segment`,
      });
    }
  }
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f\\#?[\]*]/.test(config.path ?? "")) {
    issues.addIssue({
      code: "custom",
      path: ["path"],
      message: "path may not contain control characters, backslashes or # ? [ ] *",
    });
  }
  if (config.service_account_json !== undefined && config.service_account_file !== undefined) {
    issues.addIssue({
      code: "custom",
      path: ["service_account_file"],
      message: "set service_account_json or service_account_file, not both",
    });
  }
});

/** `config:` of a gcs sink entry (as written; defaults applied by {@link parseGcsConfig}). */
export interface GcsConfig {
  /** The bucket the objects are written to. */
  bucket: string;
  /** An object name prefix, e.g. `logs/prod`. */
  path?: string;
  /** Put the key's team in the object name (default false). */
  use_team_prefix?: boolean;
  /** Put the key's alias in the object name (default false). */
  use_key_prefix?: boolean;
  /** `json` (default): one object per event; `ndjson`: one object per batch. */
  format?: "json" | "ndjson";
  /** The JSON API's endpoint (default: `STORAGE_EMULATOR_HOST`, else `https://storage.googleapis.com`). */
  endpoint_url?: string;
  /** A service account key file's JSON itself; never shown. */
  service_account_json?: string;
  /** A key file's path (default: `GCS_PATH_SERVICE_ACCOUNT`, `GOOGLE_APPLICATION_CREDENTIALS`, the metadata server). */
  service_account_file?: string;
  /** Timeout of one upload in milliseconds (default 30,000). */
  timeout_ms?: number;
}

// The interface is what the zod schema accepts (zod's types stay out of the public API).
true satisfies SameShape<z.input<typeof gcsConfigZod>, GcsConfig>;
const gcsConfig = definePluginConfig("gcs", gcsConfigZod);

/** JSON Schema (draft-07) of {@link GcsConfig}: what the gateway validates `config:` with. */
export const gcsConfigSchema: JsonSchema = gcsConfig.jsonSchema;

/**
 * Parses and checks a config, with defaults filled in.
 *
 * @param input The sink entry's `config:`.
 * @returns The config.
 * @throws Error listing every problem (`gcs: invalid config: config.bucket: …`), never a value.
 *
 * @example
 * ```ts
 * import { parseGcsConfig } from "@sluice/gcs";
 *
 * parseGcsConfig({ bucket: "llm-logs" }).format; // "json"
 * ```
 */
export function parseGcsConfig(input: unknown):
  & Required<Pick<GcsConfig, "use_team_prefix" | "use_key_prefix" | "format" | "timeout_ms">>
  & GcsConfig {
  return gcsConfig.parse(input);
}

/** Where and as whom the sink writes. */
export interface GcsTarget {
  /** The bucket. */
  bucket: string;
  /** The endpoint (a path, if any, prefixes every request path). */
  endpoint: URL;
  /** The endpoint as shown in messages (no user info or query string). */
  shownEndpoint: string;
  /** Where the credentials come from (`none` with `STORAGE_EMULATOR_HOST`). */
  credentials: GoogleCredentialSource;
}

/**
 * Resolves endpoint and credentials: `endpoint_url` (with credentials),
 * else `STORAGE_EMULATOR_HOST` (no credentials, as Google's client
 * libraries do), else Google's endpoint; credentials as
 * `resolveGoogleCredentials` (`@sluice/gcs/auth`) finds them.
 *
 * @param config A parsed config.
 * @param env Reads an environment variable (the plugin context's `env`).
 * @returns The target.
 * @throws Error when the endpoint is not an http(s) URL.
 *
 * @example
 * ```ts
 * import { resolveGcsTarget } from "@sluice/gcs";
 *
 * const env = (name: string) => name === "STORAGE_EMULATOR_HOST" ? "localhost:4443" : undefined;
 * const target = resolveGcsTarget({ bucket: "llm-logs" }, env);
 * target.shownEndpoint; // "http://localhost:4443"
 * target.credentials.kind; // "none"
 * ```
 */
export function resolveGcsTarget(
  config: GcsConfig,
  env: (name: string) => string | undefined,
): GcsTarget {
  const emulator = env("STORAGE_EMULATOR_HOST")?.trim();
  const useEmulator = config.endpoint_url === undefined && !!emulator;
  const configured = config.endpoint_url ?? (useEmulator ? emulatorUrl(emulator!) : GCS_ENDPOINT);
  let endpoint: URL;
  try {
    endpoint = new URL(configured);
  } catch {
    throw new Error(
      `gcs: ${useEmulator ? "STORAGE_EMULATOR_HOST" : "endpoint_url"} is not a valid URL`,
    );
  }
  if (endpoint.protocol !== "http:" && endpoint.protocol !== "https:") {
    throw new Error(`gcs: endpoint_url must use http or https; got ${endpoint.protocol}`);
  }
  endpoint.search = "";
  endpoint.hash = "";
  endpoint.username = "";
  endpoint.password = "";
  return {
    bucket: config.bucket,
    endpoint,
    shownEndpoint: `${endpoint.origin}${endpoint.pathname.replace(/\/+$/, "")}`,
    credentials: useEmulator
      ? { kind: "none", from: "STORAGE_EMULATOR_HOST" }
      : resolveGoogleCredentials(config, env),
  };
}
