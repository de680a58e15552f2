/**
 * The {@link PluginContext} an in-process plugin receives at `create`: a
 * logger prefixed with the instance name, the gateway's abort signal, a
 * `fetch` with a per-call timeout, `env()` limited to the variables the
 * plugin declared, the gateway version and the instance name.
 * @module
 */
import type { PluginContext, PluginFetchInit, PluginLogger, SinkStats } from "../plugin.ts";
import { VERSION } from "../version.ts";

/** The default per-call timeout of `ctx.fetch`. */
export const DEFAULT_PLUGIN_FETCH_TIMEOUT_MS = 10_000;

/** A log function as given in the loader's options. */
export type LogFn = (level: "info" | "warn" | "error", message: string) => void;

/**
 * A `fetch` that aborts after `init.timeoutMs` (default 10,000 ms), when
 * `signal` aborts, or when the caller's own `init.signal` aborts.
 * Self-contained: the sandbox Worker runs its source text too.
 */
export function pluginFetch(
  signal: AbortSignal,
  defaultTimeoutMs = 10_000,
): PluginContext["fetch"] {
  return (input: string | URL | Request, init?: PluginFetchInit): Promise<Response> => {
    const { timeoutMs = defaultTimeoutMs, ...rest } = init ?? {};
    const signals = [signal, AbortSignal.timeout(timeoutMs)];
    if (rest.signal) signals.push(rest.signal);
    return fetch(input, { ...rest, signal: AbortSignal.any(signals) });
  };
}

/**
 * A logger that writes `sink "<name>": <message>` through `log` (the
 * default log adds the `sluice: ` prefix); `mask` hides secrets. `debug`
 * is dropped.
 */
export function pluginLogger(
  instanceName: string,
  log: LogFn,
  mask: (text: string) => string = (t) => t,
): PluginLogger {
  const write = (level: "info" | "warn" | "error") =>
  (
    message: string,
    data?: Record<string, unknown>,
  ): void => {
    let text = `sink "${instanceName}": ${escapeControls(String(message))}`;
    if (data !== undefined) {
      try {
        text += ` ${JSON.stringify(data)}`;
      } catch {
        // unserialisable data is left out
      }
    }
    log(level, mask(text));
  };
  return { debug: () => {}, info: write("info"), warn: write("warn"), error: write("error") };
}

/**
 * A plugin's message on one line: newlines and other control characters
 * are written as escapes, so a message cannot forge gateway log lines.
 */
export function escapeControls(text: string): string {
  return text.replace(
    // deno-lint-ignore no-control-regex
    /[\u0000-\u001f\u007f\u2028\u2029]/g,
    (c) =>
      c === "\n"
        ? "\\n"
        : c === "\r"
        ? "\\r"
        : c === "\t"
        ? "\\t"
        : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** What {@link createPluginContext} needs. */
export interface ContextOptions {
  /** The sink entry's instance name. */
  instanceName: string;
  /** Variables the plugin declared in `permissions.env`. */
  declaredEnv: readonly string[];
  /** Reads an environment variable. */
  env: (name: string) => string | undefined;
  /** Loader log function. */
  log: LogFn;
  /** Aborted at shutdown. */
  signal: AbortSignal;
  /** Masks secrets in log lines. */
  mask?: (text: string) => string;
  /** The gateway's data directory. */
  dataDir?: string;
  /** Every sink's delivery numbers (`ctx.pipelineStats`; in-process plugins only). */
  pipelineStats?: () => readonly SinkStats[];
}

/** Builds the context of an in-process plugin. */
export function createPluginContext(options: ContextOptions): PluginContext {
  const logger = pluginLogger(options.instanceName, options.log, options.mask);
  const warned = new Set<string>();
  return {
    logger,
    signal: options.signal,
    fetch: pluginFetch(options.signal, DEFAULT_PLUGIN_FETCH_TIMEOUT_MS),
    env(name: string): string | undefined {
      if (options.declaredEnv.includes(name)) return options.env(name);
      if (!warned.has(name)) {
        warned.add(name);
        logger.warn(
          `ctx.env("${name}") returned undefined: the variable is not granted to this plugin`,
        );
      }
      return undefined;
    },
    gatewayVersion: VERSION,
    instanceName: options.instanceName,
    dataDir: options.dataDir,
    ...(options.pipelineStats ? { pipelineStats: options.pipelineStats } : {}),
  };
}
