/**
 * The gcs-pubsub sink's `config:`: its zod schema, the JSON Schema the
 * gateway validates with, and the resolution of endpoint and credentials
 * (config first, then `PUBSUB_EMULATOR_HOST` and the Google credential
 * variables of `@sluice/gcs/auth`).
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
} from "@sluice/gcs/auth";

/** Timeout of one publish request when the config sets none. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** Pub/Sub's REST endpoint. */
export const PUBSUB_ENDPOINT = "https://pubsub.googleapis.com";

/** The OAuth scope the sink's token is asked for. */
export const PUBSUB_SCOPE = "https://www.googleapis.com/auth/pubsub";

/** Environment variables the plugin may read (its `permissions.env`). */
export const PUBSUB_ENV_VARS: readonly string[] = ["PUBSUB_EMULATOR_HOST", ...GOOGLE_AUTH_ENV_VARS];

/** Event fields a message's ordering key can come from. */
export const ORDERING_KEY_FIELDS = [
  "trace_id",
  "user_api_key_team",
  "user_api_key_alias",
  "end_user",
  "model_group",
] as const;

/** A field of {@link ORDERING_KEY_FIELDS}. */
export type OrderingKeyField = typeof ORDERING_KEY_FIELDS[number];

/** Attributes the sink sets on every message (static `attributes` may not use them). */
export const EVENT_ATTRIBUTES: readonly string[] = [
  "request_id",
  "call_id",
  "status",
  "call_type",
  "model_group",
  "schema_version",
];

const encoder = new TextEncoder();

const pubsubConfigZod = z.strictObject({
  project_id: z.string()
    .regex(/^[a-z][a-z0-9.:-]{0,99}$/, "a Google Cloud project id (lowercase letters, digits, '-')")
    .describe("The project of the topic (LiteLLM: GCS_PUBSUB_PROJECT_ID)."),
  topic_id: z.string()
    .regex(
      /^(?!goog)[A-Za-z][A-Za-z0-9._~+%-]{2,254}$/,
      "3 to 255 letters, digits and - _ . ~ + %, starting with a letter, not with goog",
    )
    .describe("The topic the messages are published to (LiteLLM: GCS_PUBSUB_TOPIC_ID)."),
  ordering_key: z.enum(ORDERING_KEY_FIELDS)
    .describe(
      "Give each message an orderingKey from this event field (subscriptions with message ordering then get each key's calls in order).",
    )
    .optional(),
  attributes: z.record(
    z.string(),
    z.string().refine((v) => encoder.encode(v).length <= 1024, "values are at most 1,024 bytes"),
  )
    .superRefine((attributes, issues) => {
      const keys = Object.keys(attributes);
      if (keys.length > 90) issues.addIssue({ code: "custom", message: "at most 90 attributes" });
      for (const key of keys) {
        const problem = key === ""
          ? "attribute keys may not be empty"
          : encoder.encode(key).length > 256
          ? "attribute keys are at most 256 bytes"
          : key.startsWith("goog")
          ? "attribute keys may not start with goog"
          : EVENT_ATTRIBUTES.includes(key)
          ? "this attribute is set from the event"
          : undefined;
        if (problem) issues.addIssue({ code: "custom", path: [key], message: problem });
      }
    })
    .describe("Attributes added to every message, e.g. { env: prod }.")
    .optional(),
  endpoint_url: z.string()
    .regex(/^https?:\/\/\S+$/, "an http:// or https:// URL")
    .describe(
      "Pub/Sub's endpoint (a regional or private one); default: PUBSUB_EMULATOR_HOST, else https://pubsub.googleapis.com.",
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
    .describe("Timeout of one publish request in milliseconds."),
}).superRefine((config, issues) => {
  if (config.service_account_json !== undefined && config.service_account_file !== undefined) {
    issues.addIssue({
      code: "custom",
      path: ["service_account_file"],
      message: "set service_account_json or service_account_file, not both",
    });
  }
});

/** `config:` of a gcs-pubsub sink entry (as written; defaults applied by {@link parsePubSubConfig}). */
export interface PubSubConfig {
  /** The project of the topic. */
  project_id: string;
  /** The topic the messages are published to. */
  topic_id: string;
  /** The event field each message's `orderingKey` comes from (default: none). */
  ordering_key?: OrderingKeyField;
  /** Attributes added to every message. */
  attributes?: Record<string, string>;
  /** Pub/Sub's endpoint (default: `PUBSUB_EMULATOR_HOST`, else `https://pubsub.googleapis.com`). */
  endpoint_url?: string;
  /** A service account key file's JSON itself; never shown. */
  service_account_json?: string;
  /** A key file's path (default: `GCS_PATH_SERVICE_ACCOUNT`, `GOOGLE_APPLICATION_CREDENTIALS`, the metadata server). */
  service_account_file?: string;
  /** Timeout of one publish request in milliseconds (default 30,000). */
  timeout_ms?: number;
}

// The interface is what the zod schema accepts (zod's types stay out of the public API).
true satisfies SameShape<z.input<typeof pubsubConfigZod>, PubSubConfig>;
const pubsubConfig = definePluginConfig("gcs-pubsub", pubsubConfigZod);

/** JSON Schema (draft-07) of {@link PubSubConfig}: what the gateway validates `config:` with. */
export const pubsubConfigSchema: JsonSchema = pubsubConfig.jsonSchema;

/**
 * Parses and checks a config, with defaults filled in.
 *
 * @param input The sink entry's `config:`.
 * @returns The config.
 * @throws Error listing every problem (`gcs-pubsub: invalid config: config.topic_id: …`), never a value.
 *
 * @example
 * ```ts
 * import { parsePubSubConfig } from "@sluice/gcs-pubsub";
 *
 * parsePubSubConfig({ project_id: "my-project", topic_id: "llm-logs" }).timeout_ms; // 30000
 * ```
 */
export function parsePubSubConfig(
  input: unknown,
): PubSubConfig & Required<Pick<PubSubConfig, "timeout_ms">> {
  return pubsubConfig.parse(input);
}

/** Where and as whom the sink publishes. */
export interface PubSubTarget {
  /** `projects/<project>/topics/<topic>`. */
  topic: string;
  /** The endpoint (a path, if any, prefixes every request path). */
  endpoint: URL;
  /** The endpoint as shown in messages. */
  shownEndpoint: string;
  /** Where the credentials come from (`none` with `PUBSUB_EMULATOR_HOST`). */
  credentials: GoogleCredentialSource;
}

/**
 * Resolves endpoint and credentials: `endpoint_url` (with credentials),
 * else `PUBSUB_EMULATOR_HOST` (no credentials, as Google's client libraries
 * do with the emulator), else Google's endpoint.
 *
 * @param config A parsed config.
 * @param env Reads an environment variable (the plugin context's `env`).
 * @returns The target.
 * @throws Error when the endpoint is not an http(s) URL.
 *
 * @example
 * ```ts
 * import { resolvePubSubTarget } from "@sluice/gcs-pubsub";
 *
 * const env = (name: string) => name === "PUBSUB_EMULATOR_HOST" ? "localhost:8085" : undefined;
 * const target = resolvePubSubTarget({ project_id: "p1", topic_id: "llm-logs" }, env);
 * target.topic; // "projects/p1/topics/llm-logs"
 * target.shownEndpoint; // "http://localhost:8085"
 * target.credentials.kind; // "none"
 * ```
 */
export function resolvePubSubTarget(
  config: PubSubConfig,
  env: (name: string) => string | undefined,
): PubSubTarget {
  const emulator = env("PUBSUB_EMULATOR_HOST")?.trim();
  const useEmulator = config.endpoint_url === undefined && !!emulator;
  const configured = config.endpoint_url ??
    (useEmulator ? emulatorUrl(emulator!) : PUBSUB_ENDPOINT);
  let endpoint: URL;
  try {
    endpoint = new URL(configured);
  } catch {
    throw new Error(
      `gcs-pubsub: ${useEmulator ? "PUBSUB_EMULATOR_HOST" : "endpoint_url"} is not a valid URL`,
    );
  }
  if (endpoint.protocol !== "http:" && endpoint.protocol !== "https:") {
    throw new Error(`gcs-pubsub: endpoint_url must use http or https; got ${endpoint.protocol}`);
  }
  endpoint.search = "";
  endpoint.hash = "";
  endpoint.username = "";
  endpoint.password = "";
  return {
    topic: `projects/${config.project_id}/topics/${config.topic_id}`,
    endpoint,
    shownEndpoint: `${endpoint.origin}${endpoint.pathname.replace(/\/+$/, "")}`,
    credentials: useEmulator
      ? { kind: "none", from: "PUBSUB_EMULATOR_HOST" }
      : resolveGoogleCredentials(config, env),
  };
}
