/**
 * The native config shape (`gateway.yaml`), as one zod schema. Every object
 * is strict: unknown keys are errors. Defaults live here and nowhere else.
 * @module
 */
import { z } from "zod";
import { DETECTOR_NAMES } from "@sluice/redact";
import type { DetectorName, GatewayConfig, GatewayConfigInput, ProviderKind } from "./types.ts";
import { SINK_EVENT_KINDS } from "../plugin.ts";

/** Names of the PII and secret detectors of the redaction core. */
export const DETECTORS: readonly DetectorName[] = DETECTOR_NAMES;

/** Upstream provider kinds. */
export const PROVIDERS: readonly ProviderKind[] = ["openai", "azure", "anthropic", "mock"];

const messagesPolicy = z.enum(["keep", "mask", "remove"]).describe(
  "keep: log as sent; mask: log with PII and secrets masked; remove: replace content with a placeholder",
);

/** A redaction policy; every field optional so it can override or tighten another. */
const redactionOverride = z.strictObject({
  messages: messagesPolicy.optional(),
  detectors: z.union([z.enum(["all", "none"]), z.array(z.enum(DETECTORS))]).optional()
    .describe("which detectors mask string values: all, none, or a list"),
  strip_base64: z.boolean().optional().describe("replace base64 payloads with a size placeholder"),
  base64_min_length: z.int().positive().optional()
    .describe("bare base64 runs at least this long are stripped"),
  drop_non_text_parts: z.boolean().optional()
    .describe("remove image_url, input_audio and file content parts"),
  redact_user_api_key_info: z.boolean().optional()
    .describe("remove metadata.user_api_key_* from events"),
  pseudonym_secret: z.string().optional()
    .describe("with a secret, masks become keyed pseudonyms like [EMAIL:9f2c41d0]"),
  locked: z.boolean().optional().describe("ignore the client's disable-redaction header"),
});

const globalRedaction = z.strictObject({
  messages: messagesPolicy.default("mask"),
  detectors: z.union([z.enum(["all", "none"]), z.array(z.enum(DETECTORS))]).default("all"),
  strip_base64: z.boolean().default(true),
  base64_min_length: z.int().positive().default(256),
  drop_non_text_parts: z.boolean().default(false),
  redact_user_api_key_info: z.boolean().default(false),
  pseudonym_secret: z.string().optional(),
  locked: z.boolean().default(false),
});

const server = z.strictObject({
  host: z.string().default("127.0.0.1"),
  port: z.int().min(0).max(65535).default(4000),
  otlp_grpc_port: z.int().min(0).max(65535).optional()
    .describe("also take OTLP/gRPC exports (traces, logs) on this port (usually 4317; 0: any)"),
  master_key: z.string().min(1).optional().describe("clients must send it as a Bearer token"),
  max_body_bytes: z.int().positive().default(33_554_432),
  max_json_depth: z.int().min(1).max(1024).default(64)
    .describe("deepest JSON nesting a request body may have; the body object is level 1"),
  body_timeout_ms: z.int().positive().default(30_000)
    .describe("time allowed to receive a request body once its headers are in, else 408"),
  metrics_key: z.string().min(1).optional()
    .describe("Bearer token that may read /metrics and readiness details (besides the master key)"),
  data_dir: z.string().default("./.sluice").describe("logs, spool and plugin cache"),
  shutdown_timeout_ms: z.int().positive().default(10_000),
  litellm_headers: z.boolean().default(false)
    .describe("also send LiteLLM's x-litellm-* response headers (on for a LiteLLM config)"),
  workers: z.int().min(1).max(16).default(1)
    .describe("serving isolates on the one port (CLI; Linux reusePort), sharing one log Worker"),
});

const model = z.strictObject({
  name: z.string().min(1)
    .describe("the public model name clients send, or a wildcard pattern (*, openai/*)"),
  id: z.string().min(1).optional()
    .describe("deployment id; default: short hash of provider + model + api_base"),
  provider: z.enum(PROVIDERS),
  model: z.string().min(1).optional()
    .describe(
      "upstream model id (default: name); in a wildcard entry each * takes what the name's * matched",
    ),
  api_base: z.url().optional()
    .describe("upstream base URL; a query (?key=…) stays the query; user info becomes Basic auth"),
  api_key: z.string().optional(),
  api_version: z.string().optional().describe("Azure api-version"),
  api: z.enum(["responses", "chat"]).optional()
    .describe("for /v1/responses: passed through (openai, azure default) or translated to chat"),
  headers: z.record(z.string(), z.string()).optional().describe("extra headers to the upstream"),
  timeout_s: z.number().positive().default(600),
  max_retries: z.int().min(0).default(2),
  input_cost_per_token: z.number().min(0).optional(),
  output_cost_per_token: z.number().min(0).optional(),
  forward_metadata: z.boolean().default(false),
});

const team = z.strictObject({
  name: z.string().min(1),
  sinks: z.array(z.string()).optional(),
  redaction: redactionOverride.optional(),
});

const virtualKey = z.strictObject({
  key: z.string().min(1),
  alias: z.string().optional(),
  team: z.string().optional(),
  user: z.string().optional(),
  models: z.array(z.string()).optional().describe(
    "allowed public model names or patterns like openai/* (default: all)",
  ),
  sinks: z.array(z.string()).optional(),
  redaction: redactionOverride.optional(),
  allow_redaction_opt_out: z.boolean().default(false),
  admin: z.boolean().optional().describe("may log in to the console (/ui) like the master key"),
});

const queue = z.strictObject({
  batch_size: z.int().positive().default(100),
  flush_interval_ms: z.int().positive().default(1000),
  max_queue: z.int().positive().default(10_000),
  spool_max_bytes: z.int().min(0).default(1_073_741_824),
  call_timeout_ms: z.int().min(100).max(600_000).optional()
    .describe("deadline of one call to the plugin (default 30000)"),
});

const sink = z.strictObject({
  name: z.string().min(1).optional().describe("instance name (default: the plugin's name)"),
  use: z.string().min(1)
    .describe("short name | path | jsr:/npm: specifier | https:// URL | s3:// | gs://"),
  sha256: z.string().regex(/^[0-9a-f]{64}$/i, "64 hex characters").optional(),
  source: z.strictObject({
    endpoint_url: z.url().optional(),
    region: z.string().optional(),
    access_key_id: z.string().optional(),
    secret_access_key: z.string().optional(),
    session_token: z.string().optional(),
  }).optional().describe("endpoint and credentials for s3:// and gs:// plugin sources"),
  allow_unpinned: z.boolean().default(false),
  sandbox: z.union([
    z.boolean(),
    z.strictObject({
      heap_mb: z.int().min(16).max(16_384).optional()
        .describe("heap cap of the plugin's process in MiB (default 256)"),
    }),
  ]).optional().describe("run the plugin in its own restricted process (default: true)"),
  permissions: z.strictObject({
    net: z.array(z.string().min(1)).optional()
      .describe("hosts (host or host:port) the plugin may reach"),
    env: z.array(z.string().min(1)).optional()
      .describe("environment variables the plugin may read"),
    read: z.array(z.string().min(1)).optional()
      .describe("files (absolute paths) the plugin may read, e.g. a credentials file"),
  }).optional().describe("what the operator grants the plugin (default: see DESIGN)"),
  optional: z.boolean().default(false),
  on: z.array(z.enum(SINK_EVENT_KINDS)).optional(),
  required: z.boolean().default(false),
  redaction: redactionOverride.optional(),
  queue: queue.prefault({}),
  config: z.record(z.string(), z.unknown()).default({}),
});

const controls = z.strictObject({
  global_disable_no_log_param: z.boolean().default(false),
  allow_dynamic_callback_disabling: z.boolean().default(true),
  forward_traceparent_to_llm_provider: z.boolean().default(false),
});

const log = z.strictObject({
  fsync_ms: z.int().min(0).max(10_000).default(20)
    .describe("longest wait before an event is fsynced to the write-ahead log"),
  max_event_bytes: z.int().min(4096).default(4_194_304)
    .describe("an event larger than this after redaction has its content cut, with a marker"),
  transport: z.strictObject({
    kind: z.enum(["local", "nats", "redis"]).default("local")
      .describe("local: deliver in this process; nats / redis: publish to a stream for `deliver`"),
    url: z.string().min(1).optional()
      .describe("nats://host:4222 or redis://host:6379/0 (redis: else REDIS_URL, REDIS_HOST…)"),
    stream: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "1-64 of A-Z a-z 0-9 _ -")
      .default("sluice-events").describe("stream name (Redis: key prefix)"),
    max_bytes: z.int().positive().optional().describe("largest stream size (oldest dropped)"),
    max_age_ms: z.int().positive().optional().describe("oldest message age kept in the stream"),
    ack_wait_ms: z.int().min(1000).max(3_600_000).default(30_000)
      .describe("a message a worker has not acked within this long goes to another worker"),
    max_attempts: z.int().min(1).max(1000).default(10)
      .describe("deliveries of one event before it goes to the dead-letter stream"),
  }).prefault({}),
});

const ui = z.strictObject({
  store: z.string().min(1).optional().describe(
    "the SQLite file the console reads (default: the sqlite sink's path, else <data_dir>/sluice.db)",
  ),
  allow_remote: z.boolean().default(false)
    .describe("serve /ui to clients beyond loopback (default: 127.0.0.1 and ::1 only)"),
  session_ttl_s: z.int().min(60).max(2_592_000).default(43_200)
    .describe("lifetime of a console login session"),
});

/** The whole `gateway.yaml` schema. */
export const configSchema: z.ZodType<GatewayConfig, GatewayConfigInput> = z.strictObject({
  server: server.prefault({}),
  models: z.array(model).default([]),
  teams: z.array(team).default([]),
  keys: z.array(virtualKey).default([]),
  redaction: globalRedaction.prefault({}),
  sinks: z.array(sink).default([]),
  controls: controls.prefault({}),
  log: log.prefault({}),
  ui: ui.optional().describe("the console at /ui (calls, traces, costs, sink health)"),
  environment: z.record(z.string(), z.string()).default({})
    .describe("environment variables set before sinks start (LiteLLM's environment_variables)"),
});

/** The config's JSON Schema, for editors (`--print-schema`). */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }),
    title: "Sluice gateway config",
  };
}
