/**
 * The code that runs inside a sandbox Worker: it imports the plugin,
 * reports its shape (`describe`), creates the sink with a message-passing
 * context (`init`), then answers `log`/`flush`/`close` calls. It is sent to
 * the Worker as the source text of {@link sandboxHost} (plus the
 * self-contained helpers it receives as arguments) in a `data:` URL, so it
 * needs no file of its own and no read permission beyond the plugin's.
 * @module
 */
import type { PluginShape } from "./definition.ts";
import type { PluginContext, Sink } from "../plugin.ts";
import type { FromWorker, SerializedError, ToWorker } from "./sandbox_protocol.ts";
import { shapeOf } from "./definition.ts";
import { pluginFetch } from "./context.ts";

/**
 * The Worker's main function. Self-contained: it uses only its arguments
 * and globals, because it runs from its source text.
 * @param describe reads a module's shape ({@link shapeOf})
 * @param makeFetch builds `ctx.fetch` ({@link pluginFetch})
 */
export function sandboxHost(
  describe: (mod: unknown) => PluginShape,
  makeFetch: (signal: AbortSignal, defaultTimeoutMs?: number) => PluginContext["fetch"],
): void {
  const scope = globalThis as unknown as {
    onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
    postMessage(message: FromWorker): void;
  };
  const post = (message: FromWorker): void => scope.postMessage(message);
  const messageOf = (err: unknown): string =>
    err instanceof Error
      ? err.message
      : typeof err === "object" && err !== null && "message" in err
      ? String((err as { message: unknown }).message)
      : String(err);
  const serialize = (err: unknown): SerializedError => {
    const e = (typeof err === "object" && err !== null ? err : {}) as Record<string, unknown>;
    const out: SerializedError = { message: messageOf(err) };
    if (typeof e.name === "string" && e.name !== "Error") out.name = e.name;
    if (e.permanent === true) out.permanent = true;
    if (typeof e.retryAfterMs === "number" && Number.isFinite(e.retryAfterMs)) {
      out.retryAfterMs = e.retryAfterMs;
    }
    return out;
  };
  const isNotFound = (err: unknown): boolean =>
    (err as { code?: unknown } | null)?.code === "ERR_MODULE_NOT_FOUND";

  const controller = new AbortController();
  let sink: Sink | undefined;

  const init = async (message: Extract<ToWorker, { type: "init" }>): Promise<void> => {
    let mod: { default?: unknown };
    try {
      mod = await import(message.moduleUrl);
    } catch (err) {
      post({ type: "failed", stage: "import", message: messageOf(err), notFound: isNotFound(err) });
      return;
    }
    const definition = mod.default as {
      create(config: unknown, ctx: PluginContext): Sink | Promise<Sink>;
    };
    const log =
      (level: "debug" | "info" | "warn" | "error") =>
      (text: string, data?: Record<string, unknown>): void => {
        let safe: Record<string, unknown> | undefined;
        try {
          safe = data === undefined ? undefined : structuredClone(data);
        } catch {
          safe = undefined;
        }
        post({ type: "log", level, message: String(text), data: safe });
      };
    const logger = {
      debug: log("debug"),
      info: log("info"),
      warn: log("warn"),
      error: log("error"),
    };
    const warned = new Set<string>();
    const ctx: PluginContext = {
      logger,
      signal: controller.signal,
      fetch: makeFetch(controller.signal, 10_000),
      env(name: string): string | undefined {
        if (message.declaredEnv.includes(name)) return message.env[name];
        if (!warned.has(name)) {
          warned.add(name);
          logger.warn(
            `ctx.env("${name}") returned undefined: the plugin does not declare it in permissions.env`,
          );
        }
        return undefined;
      },
      gatewayVersion: message.gatewayVersion,
      instanceName: message.instanceName,
    };
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
      post({
        type: "failed",
        stage: "sink",
        message: `create() returned ${
          created === null ? "null" : typeof created
        } without a log(events) function`,
      });
      return;
    }
    sink = created as Sink;
    post({ type: "ready" });
  };

  const call = async (message: Extract<ToWorker, { op: string }>): Promise<void> => {
    try {
      if (!sink) throw new Error("the sink is not ready");
      if (message.op === "log") {
        const result = await sink.log((message.events ?? []) as Parameters<Sink["log"]>[0]);
        const skipped = Number(result?.skipped);
        post({ id: message.id, ok: true, ...(skipped > 0 ? { result: { skipped } } : {}) });
        return;
      } else if (message.op === "flush") {
        await sink.flush?.();
      } else {
        await sink.close?.();
      }
      post({ id: message.id, ok: true });
    } catch (err) {
      post({ id: message.id, ok: false, error: serialize(err) });
    }
  };

  // Report uncaught errors ourselves (the loader then rejects pending calls
  // and ends the Worker) instead of letting them print and propagate.
  globalThis.addEventListener("error", (event: ErrorEvent) => {
    event.preventDefault();
    post({ type: "crash", message: messageOf(event.error ?? event.message) });
  });
  globalThis.addEventListener("unhandledrejection", (event: PromiseRejectionEvent) => {
    event.preventDefault();
    post({ type: "crash", message: `unhandled rejection: ${messageOf(event.reason)}` });
  });

  scope.onmessage = (event: MessageEvent<ToWorker>): void => {
    const message = event.data;
    if ("op" in message) {
      void call(message);
    } else if (message.type === "abort") {
      controller.abort(new DOMException("the gateway is shutting down", "AbortError"));
    } else if (message.type === "describe") {
      import(message.moduleUrl).then(
        (mod) => post({ type: "described", shape: describe(mod) }),
        (err) =>
          post({
            type: "failed",
            stage: "import",
            message: messageOf(err),
            notFound: isNotFound(err),
          }),
      );
    } else if (message.type === "init") {
      void init(message);
    }
  };
}

/** The Worker's main module: {@link sandboxHost} and its helpers as a `data:` URL. */
export function sandboxHostUrl(): string {
  const code = `(${sandboxHost.toString()})(${shapeOf.toString()}, ${pluginFetch.toString()});\n`;
  return `data:text/javascript;charset=utf-8,${encodeURIComponent(code)}`;
}
