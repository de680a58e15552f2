/**
 * The code that runs in a sandboxed plugin's process. Its main module is a
 * `data:` URL: a static import of the plugin (static imports need no read
 * permission, so the process gets none) followed by the source text of
 * {@link sandboxChild} and the self-contained helpers it receives as
 * arguments. It talks to the gateway in JSON lines on stdin and stdout
 * (see `sandbox_protocol.ts`); `console` output becomes log messages.
 * @module
 */
import type { PluginShape } from "./definition.ts";
import type { PluginContext, Sink } from "../plugin.ts";
import type { FromChild, SerializedError, ToChild } from "./sandbox_protocol.ts";
import { shapeOf } from "./definition.ts";
import { pluginFetch } from "./context.ts";
import { withTelemetry } from "../otlp/telemetry.ts";

/**
 * The child's main function. Self-contained: it uses only its arguments
 * and globals, because it runs from its source text.
 * @param mod the plugin module's namespace
 * @param describe reads a module's shape ({@link shapeOf})
 * @param makeFetch builds `ctx.fetch` ({@link pluginFetch})
 */
export function sandboxChild(
  mod: unknown,
  describe: (mod: unknown) => PluginShape,
  makeFetch: (signal: AbortSignal, defaultTimeoutMs?: number) => PluginContext["fetch"],
  telemetryAware: (sink: Sink) => Sink,
): void {
  const encoder = new TextEncoder();
  const out = Deno.stdout.writable.getWriter();
  const post = (message: FromChild): void => {
    out.write(encoder.encode(JSON.stringify(message) + "\n")).catch(() => Deno.exit(0));
  };
  const messageOf = (err: unknown): string =>
    err instanceof Error
      ? err.message
      : typeof err === "object" && err !== null && "message" in err
      ? String((err as { message: unknown }).message)
      : String(err);
  const serialize = (err: unknown): SerializedError => {
    const e = (typeof err === "object" && err !== null ? err : {}) as Record<string, unknown>;
    const result: SerializedError = { message: messageOf(err) };
    if (typeof e.name === "string" && e.name !== "Error") result.name = e.name;
    if (e.permanent === true) result.permanent = true;
    if (typeof e.retryAfterMs === "number" && Number.isFinite(e.retryAfterMs)) {
      result.retryAfterMs = e.retryAfterMs;
    }
    return result;
  };
  const jsonData = (data: unknown): Record<string, unknown> | undefined => {
    try {
      return data === undefined ? undefined : JSON.parse(JSON.stringify(data));
    } catch {
      return undefined;
    }
  };
  const log =
    (level: "debug" | "info" | "warn" | "error") => (text: unknown, data?: unknown): void =>
      post({ type: "log", level, message: String(text), data: jsonData(data) });
  // Plugin output must not corrupt the protocol on stdout.
  const consoleLine = (level: "debug" | "info" | "warn" | "error") => (...args: unknown[]) =>
    log(level)(args.map((a) => typeof a === "string" ? a : Deno.inspect(a)).join(" "));
  Object.assign(console, {
    log: consoleLine("info"),
    info: consoleLine("info"),
    debug: consoleLine("debug"),
    warn: consoleLine("warn"),
    error: consoleLine("error"),
  });

  type Definition = {
    create(config: unknown, ctx: PluginContext): Sink | Promise<Sink>;
    permissions?: unknown;
  };
  const definition = (mod as { default?: Definition }).default as Definition;
  const shutdown = new AbortController();
  const calls = new Map<number, AbortController>();
  let sink: Sink | undefined;
  /** The pipeline's numbers as the last batch brought them (`ctx.pipelineStats`). */
  let stats: readonly unknown[] = [];

  const init = async (message: Extract<ToChild, { type: "init" }>): Promise<void> => {
    const logger = {
      debug: log("debug"),
      info: log("info"),
      warn: log("warn"),
      error: log("error"),
    };
    const warned = new Set<string>();
    const ctx: PluginContext = {
      logger,
      signal: shutdown.signal,
      fetch: makeFetch(shutdown.signal, 10_000),
      env(name: string): string | undefined {
        if (message.grantedEnv.includes(name)) return message.env[name];
        if (!warned.has(name)) {
          warned.add(name);
          logger.warn(
            `ctx.env("${name}") returned undefined: the variable is not granted to this plugin`,
          );
        }
        return undefined;
      },
      gatewayVersion: message.gatewayVersion,
      instanceName: message.instanceName,
    };
    if (message.pipelineStats) {
      stats = message.pipelineStats;
      (ctx as { pipelineStats?: () => readonly unknown[] }).pipelineStats = () => stats;
    }
    let created: unknown;
    try {
      created = await definition.create(message.config, ctx);
    } catch (err) {
      post({ type: "failed", stage: "create", message: messageOf(err) });
      return;
    }
    if (
      typeof created !== "object" || created === null ||
      typeof (created as Sink).log !== "function"
    ) {
      const what = created === null ? "null" : typeof created;
      post({ type: "failed", stage: "sink", message: `create() returned ${what} without log()` });
      return;
    }
    sink = telemetryAware(created as Sink);
    post({ type: "ready", telemetry: sink.exportTelemetry !== undefined });
  };

  const call = async (message: Extract<ToChild, { op: string }>): Promise<void> => {
    const controller = new AbortController();
    calls.set(message.id, controller);
    const options = { signal: AbortSignal.any([controller.signal, shutdown.signal]) };
    try {
      if (message.op === "ping") {
        post({ id: message.id, ok: true });
        return;
      }
      if (!sink) throw new Error("the sink is not ready");
      if (message.op === "log") {
        if (message.stats) stats = message.stats;
        const events = (message.events ?? []) as Parameters<Sink["log"]>[0];
        const result = await sink.log(events, options);
        const skipped = Number(result?.skipped);
        post({ id: message.id, ok: true, ...(skipped > 0 ? { result: { skipped } } : {}) });
        return;
      }
      if (message.op === "flush") await sink.flush?.(options);
      else await sink.close?.(options);
      post({ id: message.id, ok: true });
    } catch (err) {
      post({ id: message.id, ok: false, error: serialize(err) });
    } finally {
      calls.delete(message.id);
    }
  };

  const requested = (message: Extract<ToChild, { type: "permissions" }>): void => {
    try {
      const derive = definition.permissions as (config: unknown, env: unknown) => unknown;
      const value = derive(message.config, (name: string) => message.env[name]);
      post({ type: "requested", value: jsonData(value) });
    } catch (err) {
      post({ type: "requested", error: messageOf(err) });
    }
  };

  globalThis.addEventListener("error", (event: ErrorEvent) => {
    event.preventDefault();
    post({ type: "crash", message: messageOf(event.error ?? event.message) });
  });
  globalThis.addEventListener("unhandledrejection", (event: PromiseRejectionEvent) => {
    event.preventDefault();
    post({ type: "crash", message: `unhandled rejection: ${messageOf(event.reason)}` });
  });

  const handle = (message: ToChild): void => {
    if ("op" in message) void call(message);
    else if (message.type === "abort") {
      const reason = new DOMException("the call's deadline passed", "AbortError");
      if (message.id === undefined) shutdown.abort(reason);
      else calls.get(message.id)?.abort(reason);
    } else if (message.type === "describe") post({ type: "described", shape: describe(mod) });
    else if (message.type === "permissions") requested(message);
    else if (message.type === "init") void init(message);
  };

  (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of Deno.stdin.readable) {
      let from = buffer.length;
      buffer += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = buffer.indexOf("\n", from)) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        from = 0;
        if (line) handle(JSON.parse(line) as ToChild);
      }
    }
    Deno.exit(0); // the gateway closed the pipe: it is gone
  })();
}

/** The child's main module for `moduleUrl`: {@link sandboxChild} and its helpers as a `data:` URL. */
export function sandboxMainUrl(moduleUrl: string): string {
  const code = `import * as plugin from ${JSON.stringify(moduleUrl)};\n` +
    `(${sandboxChild.toString()})(plugin, ${shapeOf.toString()}, ${pluginFetch.toString()}, ` +
    `${withTelemetry.toString()});\n`;
  return `data:text/javascript;charset=utf-8,${encodeURIComponent(code)}`;
}
