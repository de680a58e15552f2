/**
 * Messages between the loader and a sandbox Worker. Config, events and
 * errors cross as plain (structured-cloneable) data.
 * @module
 */
import type { PluginShape } from "./definition.ts";

/** Step 1: import the module and report its shape. */
export interface DescribeMessage {
  /** Discriminant. */
  type: "describe";
  /** The module to import. */
  moduleUrl: string;
}

/** Step 2: import the module and call `create(config, ctx)`. */
export interface InitMessage {
  /** Discriminant. */
  type: "init";
  /** The module to import. */
  moduleUrl: string;
  /** The validated `config:`. */
  config: unknown;
  /** Values of the declared environment variables that are set. */
  env: Record<string, string>;
  /** Names the plugin declared in `permissions.env`. */
  declaredEnv: string[];
  /** The sink entry's instance name. */
  instanceName: string;
  /** The gateway's version. */
  gatewayVersion: string;
}

/** The gateway is shutting down: abort `ctx.signal`. */
export interface AbortMessage {
  /** Discriminant. */
  type: "abort";
}

/** A call on the sink. */
export interface CallMessage {
  /** Correlates the reply. */
  id: number;
  /** Which sink method. */
  op: "log" | "flush" | "close";
  /** The batch, for `log`. */
  events?: unknown[];
}

/** Anything the loader sends. */
export type ToWorker = DescribeMessage | InitMessage | AbortMessage | CallMessage;

/** An error as data: the contract's `permanent` and `retryAfterMs` survive the crossing. */
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

/** The reply to a {@link CallMessage}. */
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

/** Replies to `describe`. */
export interface DescribedMessage {
  /** Discriminant. */
  type: "described";
  /** The default export's shape. */
  shape: PluginShape;
}

/** `init` finished: the sink is ready. */
export interface ReadyMessage {
  /** Discriminant. */
  type: "ready";
}

/** `describe` or `init` failed. */
export interface FailedMessage {
  /** Discriminant. */
  type: "failed";
  /** Where it failed. */
  stage: "import" | "create" | "sink";
  /** The cause's message. */
  message: string;
  /** The import failed because the module was not found. */
  notFound?: boolean;
}

/** A line from the plugin's `ctx.logger`. */
export interface LogMessage {
  /** Discriminant. */
  type: "log";
  /** Level. */
  level: "debug" | "info" | "warn" | "error";
  /** The message. */
  message: string;
  /** Structured detail. */
  data?: Record<string, unknown>;
}

/** An uncaught error or unhandled rejection in the Worker: the sandbox is torn down. */
export interface CrashMessage {
  /** Discriminant. */
  type: "crash";
  /** The error's message. */
  message: string;
}

/** Anything the Worker sends. */
export type FromWorker =
  | CallReply
  | DescribedMessage
  | ReadyMessage
  | FailedMessage
  | LogMessage
  | CrashMessage;
