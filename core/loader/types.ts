/**
 * The loader's public types: its options and what it returns.
 * @module
 */
import type { Sink, SinkEventKind, SinkStats } from "../plugin.ts";
import type { PluginLoadError } from "./errors.ts";

/** Options of `loadSink` and `loadSinks`. */
export interface LoadSinkOptions {
  /** The data dir; fetched plugins are cached in `<dataDir>/plugins/`. */
  dataDir: string;
  /** Relative paths in `use:` resolve against it (the config file's directory). */
  baseDir: string;
  /** Aborted at shutdown: cancels downloads and becomes each plugin's `ctx.signal`. */
  signal: AbortSignal;
  /** Reads an environment variable (default `Deno.env.get`). */
  env?: (name: string) => string | undefined;
  /** Receives warnings and errors (default: `console.error` with a `sluice: ` prefix). */
  log?: (level: "info" | "warn" | "error", message: string) => void;
  /** Deadline of each URL or bucket download (default 30,000 ms). */
  fetchTimeoutMs?: number;
  /**
   * Every secret value of the config (e.g. `configSecrets(config)`): masked in
   * each entry's messages besides the entry's own. `loadSinks` adds the
   * secrets of all its entries.
   */
  secrets?: Iterable<string>;
  /** Liveness-check period of sandboxed plugins (default 5,000 ms; shorter in tests). */
  sandboxHeartbeatMs?: number;
  /** How long a sandboxed call may run past its deadline before the kill (default 2,000 ms). */
  sandboxAbortGraceMs?: number;
  /** Every sink's delivery numbers, for in-process plugins' `ctx.pipelineStats`. */
  pipelineStats?: () => readonly SinkStats[];
}

/** A plugin loaded and created for one sink entry. */
export interface LoadedSink {
  /** The instance name (`name:`, else derived from `use:`). */
  name: string;
  /** The plugin's own name and version. */
  plugin: { name: string; version: string };
  /** The entry's `use:`. */
  use: string;
  /** The plugin's `defaultOn`, if it declares one. */
  defaultOn?: SinkEventKind[];
  /** True when the plugin runs in its own sandboxed process. */
  sandboxed: boolean;
  /** True when the sink takes OTLP telemetry (`exportTelemetry`): it is sent envelopes. */
  telemetry?: boolean;
  /** The sink, ready to use (a message-passing proxy when sandboxed). */
  sink: Sink;
  /**
   * Credentials this sink holds: config values under secret-like keys, bucket
   * credentials and the secret-like environment variables it declared. The
   * pipeline masks them in events and log lines.
   */
  secrets: string[];
}

/** What `loadSinks` returns. */
export interface LoadSinksResult {
  /** The sinks that loaded, in config order. */
  loaded: LoadedSink[];
  /** Optional entries that failed, with why. */
  skipped: { name: string; error: PluginLoadError }[];
}
