/**
 * The config's types, written out (not inferred from the schema) so the
 * public API has explicit types. `schema.ts` is checked against them.
 * @module
 */

/** Detector names of the redaction core. */
export type { DetectorName } from "@sluice/redact";
import type { DetectorName } from "@sluice/redact";
/** Upstream provider kinds. */
export type ProviderKind = "openai" | "azure" | "anthropic" | "mock";
/** Events a sink can subscribe to (the contract's `SinkEventKind`). */
export type { SinkEventKind } from "../plugin.ts";
import type { SinkEventKind } from "../plugin.ts";
/** What happens to message content: logged as sent, masked, or removed. */
export type MessagesPolicy = "keep" | "mask" | "remove";

/** A redaction override (sink, key, team): every field optional. */
export interface RedactionOverride {
  /** keep, mask or remove message content. */
  messages?: MessagesPolicy;
  /** Which detectors mask string values. */
  detectors?: "all" | "none" | DetectorName[];
  /** Replace base64 payloads with a size placeholder. */
  strip_base64?: boolean;
  /** Bare base64 runs at least this long are stripped. */
  base64_min_length?: number;
  /** Remove image_url, input_audio and file content parts. */
  drop_non_text_parts?: boolean;
  /** Remove `metadata.user_api_key_*` from events. */
  redact_user_api_key_info?: boolean;
  /** With a secret, masks become keyed pseudonyms. */
  pseudonym_secret?: string;
  /** Ignore the client's disable-redaction header. */
  locked?: boolean;
}

/** The global redaction policy, with defaults filled in. */
export interface RedactionConfig {
  /** Default `mask`. */
  messages: MessagesPolicy;
  /** Default `all`. */
  detectors: "all" | "none" | DetectorName[];
  /** Default true. */
  strip_base64: boolean;
  /** Default 256. */
  base64_min_length: number;
  /** Default false. */
  drop_non_text_parts: boolean;
  /** Default false. */
  redact_user_api_key_info: boolean;
  /** Optional pseudonym key. */
  pseudonym_secret?: string;
  /** Default false. */
  locked: boolean;
}

/** `server:`. */
export interface ServerConfig {
  /** Listen address (default 127.0.0.1). */
  host: string;
  /** Listen port (default 4000). */
  port: number;
  /**
   * Also take OTLP/gRPC exports (traces and logs) on this port, on `host`
   * (usually 4317; 0: any free port). Absent: OTLP over HTTP only.
   */
  otlp_grpc_port?: number;
  /** Clients must send it as a Bearer token. */
  master_key?: string;
  /** Request body limit (default 32 MiB). */
  max_body_bytes: number;
  /** Deepest JSON nesting a request body may have (default 64; the body object is level 1). */
  max_json_depth: number;
  /** Time allowed to receive a request body once its headers are in (default 30 s), else 408. */
  body_timeout_ms: number;
  /** Bearer token that may read `/metrics` and readiness details (besides the master key). */
  metrics_key?: string;
  /** Logs, spool and plugin cache (default ./.sluice). */
  data_dir: string;
  /** Drain deadline at shutdown (default 10 s). */
  shutdown_timeout_ms: number;
  /** Also send LiteLLM's `x-litellm-*` response headers (on for a LiteLLM config). */
  litellm_headers: boolean;
  /**
   * Serving isolates on the one port (default 1): the CLI runs this many
   * `Deno.serve` Workers with `reusePort` (Linux), sharing one log Worker.
   */
  workers: number;
}

/** One `models:` entry. */
export interface ModelConfig {
  /** The public model name clients send, or a wildcard pattern (`*`, `openai/*`) serving every name it matches. */
  name: string;
  /** Deployment id (default: short hash of provider + model + api_base). */
  id?: string;
  /** Upstream kind. */
  provider: ProviderKind;
  /** Upstream model id (default: name); in a wildcard entry, each `*` takes what the name's `*` matched. */
  model?: string;
  /** Upstream base URL. */
  api_base?: string;
  /** Upstream credential. */
  api_key?: string;
  /** Azure api-version (`v1` for the v1 API). */
  api_version?: string;
  /**
   * What the upstream speaks for `POST /v1/responses`: `responses` (passed
   * through; the default for `openai` and `azure`) or `chat` (translated to
   * Chat Completions: OpenAI-compatible servers without the Responses API).
   */
  api?: "responses" | "chat";
  /** Extra headers to the upstream. */
  headers?: Record<string, string>;
  /** Per-attempt deadline in seconds (default 600). */
  timeout_s: number;
  /** Retries on connection errors and 5xx (default 2). */
  max_retries: number;
  /** USD per input token (overrides the built-in table). */
  input_cost_per_token?: number;
  /** USD per output token (overrides the built-in table). */
  output_cost_per_token?: number;
  /** Send gateway-only request fields upstream (default false). */
  forward_metadata: boolean;
}

/** One `teams:` entry. */
export interface TeamConfig {
  /** Team name. */
  name: string;
  /** Replaces the global sink list for this team's keys. */
  sinks?: string[];
  /** Can only tighten. */
  redaction?: RedactionOverride;
}

/** One `keys:` entry (a static virtual key). */
export interface KeyConfig {
  /** The key clients send. */
  key: string;
  /** Alias shown in logs. */
  alias?: string;
  /** Team name. */
  team?: string;
  /** User id. */
  user?: string;
  /** Allowed public model names or wildcard patterns like `openai/*` (default: all). */
  models?: string[];
  /** Replaces the team's or global sink list. */
  sinks?: string[];
  /** Can only tighten. */
  redaction?: RedactionOverride;
  /** May send the disable-redaction header (default false). */
  allow_redaction_opt_out: boolean;
  /** May log in to the console (`/ui`) like the master key (default false). */
  admin?: boolean;
}

/** `ui:`: the console at `/ui`, served when the key is present. */
export interface UiConfig {
  /** The SQLite file it reads (default: the sqlite sink's `path`, else `<data_dir>/sluice.db`). */
  store?: string;
  /** Serve clients beyond loopback (default false: 127.0.0.1 and ::1 only). */
  allow_remote: boolean;
  /** Lifetime of a login session in seconds (default 43,200). */
  session_ttl_s: number;
}

/** A sink entry's queue settings. */
export interface QueueConfig {
  /** Events per batch (default 100). */
  batch_size: number;
  /** Maximum age of a batch (default 1000 ms). */
  flush_interval_ms: number;
  /** In-memory queue bound (default 10,000). */
  max_queue: number;
  /** Disk spool bound (default 1 GiB). */
  spool_max_bytes: number;
  /**
   * Deadline of one call to the plugin (default 30,000 ms): its signal then
   * aborts; a sandboxed plugin that does not stop is killed and restarted.
   */
  call_timeout_ms?: number;
}

/** Where and how to fetch a plugin from a bucket (`s3://`, `gs://`). */
export interface PluginSourceConfig {
  /** S3-compatible endpoint (default: AWS by region; `https://storage.googleapis.com` for gs://). */
  endpoint_url?: string;
  /** Region for SigV4 (default `AWS_REGION`, else us-east-1; `auto` for GCS). */
  region?: string;
  /** Access key id (default `AWS_ACCESS_KEY_ID`). */
  access_key_id?: string;
  /** Secret access key (default `AWS_SECRET_ACCESS_KEY`). */
  secret_access_key?: string;
  /** Session token (default `AWS_SESSION_TOKEN`). */
  session_token?: string;
}

/** One `sinks:` entry. */
export interface SinkConfig {
  /** Instance name (default: the plugin's name). */
  name?: string;
  /** Plugin source: short name, path, jsr:/npm:, https://, s3://, gs://. */
  use: string;
  /** Pin for URL and bucket sources. */
  sha256?: string;
  /** Credentials and endpoint for bucket sources. */
  source?: PluginSourceConfig;
  /** Load an unpinned URL or bucket source (default false). */
  allow_unpinned: boolean;
  /**
   * Run the plugin in its own restricted process (`true`, the default but for
   * the console, jsonl and sqlite built-ins), with a heap cap (`{ heap_mb }`), or in
   * the gateway itself (`false`).
   */
  sandbox?: boolean | { heap_mb?: number };
  /** What the operator grants the plugin; unset: the default grant (see the loader). */
  permissions?: { net?: string[]; env?: string[]; read?: string[] };
  /** Skip with a warning when it fails to load (default false). */
  optional: boolean;
  /** Events to receive (default: success, failure). */
  on?: SinkEventKind[];
  /** Every call goes here whatever the request says (default false). */
  required: boolean;
  /** Replaces the global redaction for this sink. */
  redaction?: RedactionOverride;
  /** Queue settings. */
  queue: QueueConfig;
  /** The plugin's own config. */
  config: Record<string, unknown>;
}

/** `controls:`. */
export interface ControlsConfig {
  /** Ignore `"no-log": true` (default false). */
  global_disable_no_log_param: boolean;
  /** Honour the disable-sinks header (default true). */
  allow_dynamic_callback_disabling: boolean;
  /** Send `traceparent` upstream (default false). */
  forward_traceparent_to_llm_provider: boolean;
}

/** `log:`: the log path's own settings. */
export interface LogConfig {
  /**
   * Longest wait before a finished call's event is fsynced to its sinks'
   * write-ahead logs (default 20 ms): the window a SIGKILL can lose.
   */
  fsync_ms: number;
  /**
   * Largest event, as a JSON line after redaction (default 4 MiB): a larger
   * one has its content's long strings cut with a visible marker, counted
   * as `outcome="truncated"`.
   */
  max_event_bytes: number;
  /** Where events go between the gateway and delivery (default `local`: this process). */
  transport: LogTransportConfig;
}

/** `log.transport:`: the durable stream between gateways and delivery workers. */
export interface LogTransportConfig {
  /** `local` (deliver in this process), `nats` (JetStream) or `redis` (Redis Streams). */
  kind: "local" | "nats" | "redis";
  /** Engine URL; Redis falls back to `REDIS_URL`, then `REDIS_HOST`/`REDIS_PORT`/`REDIS_PASSWORD`. */
  url?: string;
  /** Stream name (Redis: key prefix), default `sluice-events`. */
  stream: string;
  /** Largest stream size in bytes (oldest dropped past it). */
  max_bytes?: number;
  /** Oldest message age kept, in ms. */
  max_age_ms?: number;
  /** A message not acked within this long goes to another worker (default 30,000). */
  ack_wait_ms: number;
  /** Deliveries of one event before it is dead-lettered (default 10). */
  max_attempts: number;
}

/** A validated config with every default filled in. */
export interface GatewayConfig {
  /** Listener and limits. */
  server: ServerConfig;
  /** Upstream deployments. */
  models: ModelConfig[];
  /** Teams. */
  teams: TeamConfig[];
  /** Static virtual keys. */
  keys: KeyConfig[];
  /** Global redaction policy. */
  redaction: RedactionConfig;
  /** Log sinks. */
  sinks: SinkConfig[];
  /** Request controls. */
  controls: ControlsConfig;
  /** The log path. */
  log: LogConfig;
  /** The console at `/ui` (absent: not served). */
  ui?: UiConfig;
  /** Environment variables set before sinks start (LiteLLM's `environment_variables`). */
  environment: Record<string, string>;
  /**
   * What loading learned, kept as data so that it survives a copy of the
   * config (`structuredClone`, a message to another thread): the secret
   * values to mask wherever text leaves, and the directory relative paths
   * resolve against. Set by the loader; never written in a config file.
   */
  loaded?: LoadedFacts;
}

/** See {@link GatewayConfig.loaded}. */
export interface LoadedFacts {
  /** Values from the environment or under secret-like keys (never shown). */
  secrets: string[];
  /** The config file's directory (default: the working directory). */
  base_dir?: string;
}

/** `T` with the keys `K` made optional (the input form of fields that have defaults). */
export type Loose<T, K extends keyof T> = Omit<T, K> & Partial<Pick<T, K>>;

/** A config as a user writes it: everything with a default may be left out. */
export interface GatewayConfigInput {
  /** Listener and limits. */
  server?: Partial<ServerConfig>;
  /** Upstream deployments. */
  models?: Loose<ModelConfig, "timeout_s" | "max_retries" | "forward_metadata">[];
  /** Teams. */
  teams?: TeamConfig[];
  /** Static virtual keys. */
  keys?: Loose<KeyConfig, "allow_redaction_opt_out">[];
  /** Global redaction policy. */
  redaction?: RedactionOverride;
  /** Log sinks. */
  sinks?:
    (Omit<Loose<SinkConfig, "allow_unpinned" | "optional" | "required" | "config">, "queue"> & {
      queue?: Partial<QueueConfig>;
    })[];
  /** Request controls. */
  controls?: Partial<ControlsConfig>;
  /** The log path. */
  log?: Partial<Omit<LogConfig, "transport">> & {
    transport?: Partial<LogTransportConfig>;
  };
  /** Environment variables set before sinks start. */
  environment?: Record<string, string>;
  /** The console at `/ui` (absent: not served). */
  ui?: Partial<UiConfig>;
}
