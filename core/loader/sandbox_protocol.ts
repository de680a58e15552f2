/**
 * Messages between the gateway and a sandboxed plugin's process: one JSON
 * object per line, gateway → plugin on the child's stdin, plugin → gateway
 * on its stdout.
 * @module
 */
import type { PluginShape } from "./definition.ts";
import type { Grant } from "./grant.ts";
import type { SinkStats } from "../plugin.ts";

/** Asks for the plugin's shape. */
export interface DescribeMessage {
  /** Discriminant. */
  type: "describe";
}

/** Asks a plugin whose `permissions` is a function what it needs for `config`. */
export interface PermissionsMessage {
  /** Discriminant. */
  type: "permissions";
  /** The validated `config:`. */
  config: unknown;
  /** Granted environment values the function may read. */
  env: Record<string, string>;
}

/** Creates the sink. */
export interface InitMessage {
  /** Discriminant. */
  type: "init";
  /** The validated `config:`. */
  config: unknown;
  /** Values of the granted environment variables that are set. */
  env: Record<string, string>;
  /** Names the plugin was granted. */
  grantedEnv: string[];
  /** The sink entry's instance name. */
  instanceName: string;
  /** The gateway's version. */
  gatewayVersion: string;
  /** Every sink's delivery numbers now, when the gateway gives `ctx.pipelineStats` (each `log` call updates them). */
  pipelineStats?: readonly SinkStats[];
}

/** Aborts one call's signal (`id`), or the plugin's `ctx.signal` (no `id`: shutdown). */
export interface AbortMessage {
  /** Discriminant. */
  type: "abort";
  /** The call to abort. */
  id?: number;
}

/** Calls a sink method (`ping` only answers: the liveness check). */
export interface CallMessage {
  /** Correlates the reply. */
  id: number;
  /** Which sink method. */
  op: "log" | "flush" | "close" | "ping";
  /** The batch, for `log`. */
  events?: unknown[];
  /** Every sink's delivery numbers now (for `ctx.pipelineStats`), with `log`. */
  stats?: readonly SinkStats[];
}

/** Gateway → plugin. */
export type ToChild =
  | DescribeMessage
  | PermissionsMessage
  | InitMessage
  | AbortMessage
  | CallMessage;

/** An error as it crosses the pipe: the contract's properties survive. */
export interface SerializedError {
  /** The error's message. */
  message: string;
  /** The error's name, if not plain `Error`. */
  name?: string;
  /** The events are malformed: do not retry. */
  permanent?: boolean;
  /** Wait at least this long before retrying. */
  retryAfterMs?: number;
}

/** The answer to a {@link CallMessage}. */
export interface CallReply {
  /** The call's id. */
  id: number;
  /** True when the call resolved. */
  ok: boolean;
  /** `log`'s result, when it returned one. */
  result?: { skipped?: number };
  /** Why it failed. */
  error?: SerializedError;
}

/** The answer to `describe`. */
export interface DescribedMessage {
  /** Discriminant. */
  type: "described";
  /** The default export's shape. */
  shape: PluginShape;
}

/** The answer to `permissions`. */
export interface RequestedMessage {
  /** Discriminant. */
  type: "requested";
  /** What `permissions(config)` returned (checked by the gateway). */
  value?: unknown;
  /** Why it threw. */
  error?: string;
}

/** The sink is created. */
export interface ReadyMessage {
  /** Discriminant. */
  type: "ready";
  /** The sink has `exportTelemetry`: telemetry envelopes are opened in the plugin's process. */
  telemetry?: boolean;
}

/** `init` failed. */
export interface FailedMessage {
  /** Discriminant. */
  type: "failed";
  /** Where it failed. */
  stage: "create" | "sink";
  /** Why. */
  message: string;
}

/** A line the plugin logged (`ctx.logger` or `console`). */
export interface LogMessage {
  /** Discriminant. */
  type: "log";
  /** Level. */
  level: "debug" | "info" | "warn" | "error";
  /** The text. */
  message: string;
  /** Structured data, when JSON-serialisable. */
  data?: Record<string, unknown>;
}

/** An uncaught error in the plugin: the process is ended and started again. */
export interface CrashMessage {
  /** Discriminant. */
  type: "crash";
  /** What was thrown. */
  message: string;
}

/** Plugin → gateway. */
export type FromChild =
  | CallReply
  | DescribedMessage
  | RequestedMessage
  | ReadyMessage
  | FailedMessage
  | LogMessage
  | CrashMessage;

/** The plugin's answer to `describe`, `permissions` or `init` (a crash ends the wait). */
export type Answer =
  | DescribedMessage
  | RequestedMessage
  | ReadyMessage
  | FailedMessage
  | CrashMessage;

/** Re-exported for the loader: the shape of a grant. */
export type { Grant };
