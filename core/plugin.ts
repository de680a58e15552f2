/**
 * Sluice plugin contract, version 1. A plugin module default-exports a
 * {@link PluginDefinition}; the gateway validates its config against
 * `configSchema`, calls `create(config, ctx)` once, then hands the returned
 * {@link Sink} batches of redacted {@link LogEvent}s.
 *
 * This file has no runtime dependencies: import it from anywhere.
 *
 * @example A complete sink plugin
 * ```ts
 * import type { PluginDefinition } from "@sluice/core/plugin";
 *
 * const plugin = {
 *   name: "my-sink",
 *   version: "1.0.0",
 *   apiVersion: 1,
 *   configSchema: {
 *     type: "object",
 *     properties: { url: { type: "string" } },
 *     required: ["url"],
 *     additionalProperties: false,
 *   },
 *   // Asked for; the operator's grant (the sink entry's `permissions:`) decides.
 *   permissions: (config) => ({ net: [new URL(config.url).host] }),
 *   create(config, ctx) {
 *     return {
 *       async log(events, options) {
 *         const res = await ctx.fetch(config.url, {
 *           method: "POST",
 *           body: JSON.stringify(events),
 *           signal: options?.signal, // aborts at the call's deadline
 *         });
 *         await res.body?.cancel();
 *         if (!res.ok) {
 *           throw Object.assign(new Error(`collector answered ${res.status}`), {
 *             permanent: res.status === 400 || res.status === 413 || res.status === 422,
 *           });
 *         }
 *       },
 *     };
 *   },
 * } satisfies PluginDefinition<{ url: string }>;
 * // The module's last line is `export default plugin;`.
 * ```
 * @module
 */
export type {
  CallType,
  LogEvent,
  LogEventCostBreakdown,
  LogEventError,
  LogEventMetadata,
} from "./event/log_event.ts";
export type {
  AnthropicContentBlock,
  AnthropicMessage,
  AnthropicMessageResponse,
  AnthropicTextBlock,
  AnthropicToolResultBlock,
  AnthropicToolUseBlock,
  ChatAudioPart,
  ChatContentPart,
  ChatFilePart,
  ChatFunctionCall,
  ChatImagePart,
  ChatMessage,
  ChatRefusalPart,
  ChatRole,
  ChatTextPart,
  ChatToolCall,
  CompletionPrompt,
  EmbeddingInput,
  EmbeddingSummary,
  LogEventMessages,
  LogEventResponse,
  OtherContentPart,
  OtherResponse,
  RemovedContent,
  ResponsesFunctionCallItem,
  ResponsesFunctionCallOutputItem,
  ResponsesInput,
  ResponsesItem,
  ResponsesMessageItem,
  ResponsesOtherItem,
  ResponsesReasoningItem,
  ResponsesTextPart,
} from "./event/content.ts";
export type {
  AnyValue,
  EntityRef,
  ExportLogsServiceRequest,
  ExportTraceServiceRequest,
  InstrumentationScope,
  KeyValue,
  LogRecord,
  Resource,
  ResourceLogs,
  ResourceSpans,
  ScopeLogs,
  ScopeSpans,
  Span,
  SpanEvent,
  SpanLink,
  Status,
} from "./otlp/types.ts";
import type { CallType, LogEvent } from "./event/log_event.ts";
import type { ExportLogsServiceRequest, ExportTraceServiceRequest } from "./otlp/types.ts";
import type { ChatMessage, RemovedContent } from "./event/content.ts";
import type { LiteLLMMapping } from "./plugin_litellm.ts";
export type {
  LiteLLMCallbackInput,
  LiteLLMMapping,
  LiteLLMProblem,
  LiteLLMSinkEntry,
} from "./plugin_litellm.ts";

/** The contract version this file describes. */
export const PLUGIN_API_VERSION = 1;

/**
 * What core's redaction step puts in place of removed content (messages,
 * response, prompt-echoing error messages) when a sink's policy removes it.
 * A sink compares against it ({@link isRemoved}) to leave such fields out of
 * its own payload. The one definition of the marker: never spell it out.
 */
export const REMOVED_PLACEHOLDER = "[REDACTED]";

/**
 * Whether a value is the {@link REMOVED_PLACEHOLDER}: content the sink's
 * redaction policy removed (`event.messages`, `event.response`,
 * `event.error.message`).
 *
 * @param value Any value, e.g. `event.messages`.
 * @returns True for the placeholder (and narrows to {@link RemovedContent}).
 *
 * @example
 * ```ts
 * import { isRemoved, REMOVED_PLACEHOLDER } from "@sluice/core/plugin";
 *
 * isRemoved(REMOVED_PLACEHOLDER); // true
 * isRemoved([{ role: "user", content: "hi" }]); // false
 * isRemoved(undefined); // false
 * ```
 */
export function isRemoved(value: unknown): value is RemovedContent {
  return value === REMOVED_PLACEHOLDER;
}

/**
 * The call types whose `messages` and `response` are in the chat shape:
 * Chat Completions (`chat`), and the OpenAI Responses (`responses`) and
 * Anthropic Messages (`messages`) routes, which the gateway logs as the
 * chat call it translated them to. Test an event with {@link isChatCall};
 * `call_type` itself says which route the client used.
 *
 * @example
 * ```ts
 * import { CHAT_CALL_TYPES } from "@sluice/core/plugin";
 *
 * CHAT_CALL_TYPES.includes("responses"); // true
 * ```
 */
export const CHAT_CALL_TYPES = [
  "chat",
  "responses",
  "messages",
] as const satisfies readonly CallType[];

/** A call type of {@link CHAT_CALL_TYPES}: `chat`, `responses` or `messages`. */
export type ChatCallType = typeof CHAT_CALL_TYPES[number];

/**
 * A {@link LogEvent} of a chat-shaped call ({@link isChatCall}): `messages`
 * is the request as chat messages and `response` the assistant message (an
 * array with several choices), or a string marker (removed, truncated).
 * `model_parameters` holds the request's other fields as the client sent
 * them, so in the route's own shape: Responses `tools` are
 * `{type: "function", name, parameters}`, Anthropic `tools` carry
 * `input_schema`, and `instructions`, `max_output_tokens`, `system`,
 * `max_tokens`… are the route's names.
 */
export interface ChatCallEvent extends LogEvent {
  /** `chat`, `responses` or `messages`. */
  call_type: ChatCallType;
  /** The request's chat messages, or a string marker. */
  messages?: ChatMessage[] | RemovedContent | string;
  /** The assistant message (an array with several choices), or a string marker. */
  response?: ChatMessage | ChatMessage[] | RemovedContent | string;
}

/**
 * Whether an event is a chat-shaped call (its `call_type` is one of
 * {@link CHAT_CALL_TYPES}): the one test a sink uses to map chat content,
 * so calls on the Responses and Messages routes are mapped like chat
 * calls. Content is logged as sent (a request refused before translation
 * keeps its own shape): check fields before relying on them.
 *
 * @param event A log event.
 * @returns True for `chat`, `responses` and `messages` (and narrows to {@link ChatCallEvent}).
 *
 * @example
 * ```ts
 * import { isChatCall, isRemoved } from "@sluice/core/plugin";
 * import { sampleEvent } from "@sluice/core/testing";
 *
 * const event = sampleEvent({ call_type: "responses" });
 * if (isChatCall(event) && Array.isArray(event.messages)) {
 *   event.messages[0].role; // "system"
 * }
 * isChatCall(sampleEvent({ call_type: "embedding", messages: ["a"] })); // false
 * isRemoved(event.messages); // false
 * ```
 */
export function isChatCall(event: LogEvent): event is ChatCallEvent {
  return (CHAT_CALL_TYPES as readonly CallType[]).includes(event.call_type);
}

/** A plain JSON Schema object (it must survive `structuredClone`). */
export type JsonSchema = Record<string, unknown>;

/**
 * Every kind of event a sink can subscribe to with `on:`: the one list the
 * config schema, the loader and the pipeline read.
 *
 * @example
 * ```ts
 * import { SINK_EVENT_KINDS } from "@sluice/core/plugin";
 *
 * SINK_EVENT_KINDS.includes("gateway_error"); // true
 * ```
 */
export const SINK_EVENT_KINDS = ["success", "failure", "gateway_error"] as const;

/** Events a sink can subscribe to with `on:` (one of {@link SINK_EVENT_KINDS}). */
export type SinkEventKind = typeof SINK_EVENT_KINDS[number];

/** What a sink receives when neither its entry's `on:` nor its plugin's `defaultOn` says. */
export const DEFAULT_SINK_EVENT_KINDS: readonly SinkEventKind[] = ["success", "failure"];

/**
 * What a plugin may reach: hosts (`host` or `host:port`), environment
 * variables and files.
 */
export interface PluginPermissions {
  /** Hosts the plugin connects to; a sandboxed plugin can reach only these. */
  net?: string[];
  /** Environment variables `ctx.env()` may read. */
  env?: string[];
  /**
   * Files the plugin reads, as absolute paths (a credentials file named by
   * its config or environment); a sandboxed plugin can read only these.
   * Contract v1 addition: older gateways ignore it.
   */
  read?: string[];
}

/** A logger that prefixes the plugin's instance name. */
export interface PluginLogger {
  /** Debug detail, shown with verbose logging. */
  debug(message: string, data?: Record<string, unknown>): void;
  /** Normal operation. */
  info(message: string, data?: Record<string, unknown>): void;
  /** Something to look at. */
  warn(message: string, data?: Record<string, unknown>): void;
  /** A failure. */
  error(message: string, data?: Record<string, unknown>): void;
}

/** `fetch` options plus a per-call timeout. */
export interface PluginFetchInit extends RequestInit {
  /** Abort the call after this many milliseconds (default 10,000). */
  timeoutMs?: number;
}

/** What the gateway gives a plugin at `create`. */
export interface PluginContext {
  /** Logs under the plugin's instance name. */
  logger: PluginLogger;
  /** Aborts when the gateway shuts down. */
  signal: AbortSignal;
  /** `fetch` with a timeout, aborted at shutdown. */
  fetch(input: string | URL | Request, init?: PluginFetchInit): Promise<Response>;
  /** Reads an environment variable declared in `permissions.env` (else undefined). */
  env(name: string): string | undefined;
  /** The gateway's version. */
  gatewayVersion: string;
  /** The sink entry's instance name. */
  instanceName: string;
  /**
   * The gateway's data directory (`server.data_dir`). A plugin that keeps
   * files uses a subdirectory of it; sandboxed plugins cannot write here.
   */
  dataDir?: string;
  /**
   * Every sink's delivery numbers now, as `/metrics` shows them (the
   * `sluice_sink_*` families), for a plugin that exports the gateway's own
   * telemetry (the otel sink's `sluice.sink.*` metrics). Contract v1
   * addition (after core 0.4.0): absent in older gateways. A sandboxed
   * plugin gets the numbers with each batch (as of its last `log` call); an
   * in-process one reads them now. Call it when exporting, not per event.
   */
  pipelineStats?(): readonly SinkStats[];
}

/** One sink's delivery numbers ({@link PluginContext.pipelineStats}). */
export interface SinkStats {
  /** The sink's instance name (`sink` label of `/metrics`). */
  name: string;
  /** Events by outcome since start (`sluice_sink_events_total{outcome}`). */
  counters: Readonly<{
    /** Confirmed by the sink. */
    sent: number;
    /** Confirmed but deliberately not sent. */
    skipped: number;
    /** Failed attempts, in events. */
    retried: number;
    /** Written to the write-ahead log. */
    spooled: number;
    /** Dropped (malformed, past the spool limit, lost at shutdown). */
    dropped: number;
    /** Replaced by a minimal event (not serialisable). */
    replaced: number;
    /** Content cut to `log.max_event_bytes`. */
    truncated: number;
  }>;
  /** Events waiting in memory (`sluice_sink_queue_depth`). */
  queueDepth: number;
  /** Events waiting in the disk spool (`sluice_sink_spool_events`). */
  spoolSize: number;
  /** Whether the sink's circuit is open (`sluice_sink_circuit_open`). */
  circuitOpen: boolean;
}

/**
 * What `log` may report about a batch it confirmed: how many of its events
 * the sink deliberately did not send (a billing sink skipping calls without
 * a customer, say). They count as `skipped`, not `sent`, in `/metrics`.
 */
export interface SinkLogResult {
  /** Events of the batch intentionally not delivered (0 … batch size). */
  skipped?: number;
}

/**
 * What the gateway passes to each {@link Sink} call (optional: sinks written
 * before it ignore it).
 */
export interface SinkCallOptions {
  /**
   * Aborts when the call's deadline passes or the gateway stops: pass it to
   * `fetch` (or `ctx.fetch`'s init). The gateway does not start the next
   * attempt of a batch before this call has settled; a sandboxed plugin
   * that ignores it is stopped and restarted.
   */
  signal: AbortSignal;
}

/**
 * Telemetry an application exported to the gateway's OTLP endpoint
 * (`POST /v1/traces`, `/v1/logs`), redacted under the sink's policy and
 * enriched (GenAI spans carry `sluice.cost.usd`), in the OTLP/JSON shape:
 * ids are lowercase hex, 64-bit integers decimal strings. Resource and scope
 * are as the application sent them.
 */
export type TelemetryBatch =
  | {
    /** Spans. */
    signal: "traces";
    /** The export request, as OTLP/JSON. */
    request: ExportTraceServiceRequest;
  }
  | {
    /** Log records. */
    signal: "logs";
    /** The export request, as OTLP/JSON. */
    request: ExportLogsServiceRequest;
  };

/** A log destination created by a plugin. */
export interface Sink {
  /**
   * Delivers a batch. Resolve only once the destination confirmed it: the
   * gateway removes the batch from its queue when this resolves. Throw to
   * have the batch retried (see {@link SinkError}).
   */
  log(
    events: readonly LogEvent[],
    options?: SinkCallOptions,
  ): Promise<void | SinkLogResult> | void | SinkLogResult;
  /**
   * Optional (added to contract 1 after core 0.4.0): the sink takes OTLP telemetry as
   * is. A sink that has it receives the application's redacted spans and log
   * records through it, with the same durability as events (write-ahead
   * log, retry, circuit): resolve once the destination confirmed, throw as
   * from `log` (see {@link SinkError}). A sink without it receives each
   * GenAI span as a {@link LogEvent} with `source: "otlp"` instead.
   */
  exportTelemetry?(batch: TelemetryBatch, options?: SinkCallOptions): Promise<void> | void;
  /** Sends anything the sink buffers itself. */
  flush?(options?: SinkCallOptions): Promise<void> | void;
  /** Releases resources; called once at shutdown, after the last `log`. */
  close?(options?: SinkCallOptions): Promise<void> | void;
}

/**
 * Properties a thrown error may carry (they are read as properties, not by
 * class, so they survive module copies and Worker messages).
 * - default: the batch is retried with backoff;
 * - `retryAfterMs`: wait at least this long first (429 `Retry-After`);
 * - `permanent: true`: the events are malformed (400/413/422): dropped,
 *   counted and reported. Never for 401/403/404: those keep the events.
 */
export interface SinkError extends Error {
  /** The events themselves are malformed; do not retry. */
  permanent?: boolean;
  /** Wait at least this long before retrying. */
  retryAfterMs?: number;
}

/** What a plugin module default-exports. */
export interface PluginDefinition<Config = Record<string, unknown>> {
  /** Plugin name (the default instance name). */
  name: string;
  /** The plugin's own semver. */
  version: string;
  /** The contract version it implements: 1. */
  apiVersion: 1;
  /** JSON Schema of `config:`; the gateway validates config with it. */
  configSchema?: JsonSchema;
  /**
   * Hosts and environment variables it asks for: a fixed set, or derived
   * from its validated config (`(config) => ({ net: [new URL(config.url).host] })`).
   * A function may read granted environment variables through `env` (a host
   * from `MY_ENDPOINT`, say; it is asked again once the names it asks for
   * are granted). The operator grants (the sink entry's `permissions:`); a
   * request beyond the grant stops the gateway at start, showing both lists.
   */
  permissions?:
    | PluginPermissions
    | ((config: Config, env: (name: string) => string | undefined) => PluginPermissions);
  /** `on:` when the sink entry sets none (default `[success, failure]`). */
  defaultOn?: SinkEventKind[];
  /**
   * The LiteLLM callback names it answers to and how LiteLLM's settings
   * become its sink entry, for configs migrated from LiteLLM.
   */
  litellm?: LiteLLMMapping<Config>;
  /** Creates the sink (sync or async); throw to refuse the config. */
  create(config: Config, ctx: PluginContext): Sink | Promise<Sink>;
}
