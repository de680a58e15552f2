/**
 * The plugin sandbox: a module Worker started with Deno's worker
 * permissions, where the plugin can reach only the hosts it declares in
 * `permissions.net`, read only its own (cached) module file, and has no
 * environment, no write, no subprocesses, no FFI, no system info and no
 * remote imports.
 *
 * Loading takes two Workers: the first, with no network at all, imports
 * the module and reports its shape (name, version, apiVersion, declared
 * permissions, configSchema, defaultOn); the second gets `net` limited to
 * the declared hosts, receives the validated config and the values of the
 * declared environment variables (read by the loader) in its `init`
 * message, and calls `create`. The loader then talks to it through a proxy
 * {@link Sink}: `{id, op, events?}` out, `{id, ok, error?}` back, the
 * error rebuilt as an `Error` carrying `permanent` and `retryAfterMs`.
 *
 * Limits plugin authors should know: the Worker has no environment access,
 * so npm SDKs that read `process.env` when they load (or later) fail or
 * see nothing inside the sandbox: take every setting from `config` or
 * `ctx.env()`. Remote plugins must be single-file bundles: only their own
 * cached file is readable (the same holds for a local path with
 * `sandbox: true`; a sandboxed built-in may read its package directory). Deno needs `--unstable-worker-options` (or
 * `"unstable": ["worker-options"]` in the root deno.json) for any of this.
 * @module
 */
import type { Sink } from "../plugin.ts";
import type { PluginShape } from "./definition.ts";
import { errorMessage, LoadIssue } from "./errors.ts";
import { sandboxHostUrl } from "./sandbox_host.ts";
import type { CallMessage, FromWorker, InitMessage, LogMessage } from "./sandbox_protocol.ts";
import { WORKER_OPTIONS_FLAG } from "./unstable.ts";

/** How long importing (and creating) a sandboxed plugin may take. */
export const SANDBOX_START_TIMEOUT_MS = 30_000;

/** How long `close()` waits for the plugin's own `close` before terminating the Worker. */
export const SANDBOX_CLOSE_TIMEOUT_MS = 10_000;

/** What a sandbox Worker may load. */
export interface SandboxTarget {
  /** The module to import (a file URL, or an npm:/jsr: specifier). */
  moduleUrl: string;
  /** Paths the Worker may read (the plugin's file), or false. */
  read: string[] | false;
  /** Hosts the Worker may import remote modules from (jsr.io for jsr:), or false. */
  import: string[] | false;
  /** The plugin as named in messages. */
  label: string;
}

/** Permissions of a sandbox Worker reaching `net`. */
export function sandboxPermissions(target: SandboxTarget, net: readonly string[]): {
  net: string[] | false;
  read: string[] | false;
  import: string[] | false;
  env: false;
  write: false;
  run: false;
  ffi: false;
  sys: false;
} {
  return {
    net: net.length > 0 ? [...net] : false,
    read: target.read,
    import: target.import,
    env: false,
    write: false,
    run: false,
    ffi: false,
    sys: false,
  };
}

/** The error of a failed sink call, rebuilt with the contract's properties. */
export function rebuildError(
  error: { message: string; name?: string; permanent?: boolean; retryAfterMs?: number },
): Error {
  const err = new Error(error.message) as Error & { permanent?: boolean; retryAfterMs?: number };
  if (error.name) err.name = error.name;
  if (error.permanent !== undefined) err.permanent = error.permanent;
  if (error.retryAfterMs !== undefined) err.retryAfterMs = error.retryAfterMs;
  return err;
}

type Waiter = { resolve(message: FromWorker): void; reject(err: Error): void };

/** One sandbox Worker and its message plumbing. */
class SandboxWorker {
  readonly #worker: Worker;
  readonly #label: string;
  readonly #pending = new Map<
    number,
    { resolve(result?: { skipped?: number }): void; reject(err: Error): void }
  >();
  #nextId = 1;
  #waiter?: Waiter;
  #failure?: Error;
  #terminated = false;

  constructor(target: SandboxTarget, net: readonly string[], onLog: (m: LogMessage) => void) {
    this.#label = target.label;
    const options = {
      type: "module" as const,
      name: `sluice sandbox ${target.label.replace(/"/g, "")}`,
      deno: { permissions: sandboxPermissions(target, net) },
    };
    try {
      this.#worker = new Worker(sandboxHostUrl(), options as WorkerOptions);
    } catch (err) {
      throw new LoadIssue(
        "sandbox_failed",
        `the sandbox Worker could not start: ${errorMessage(err)}`,
        "the gateway process itself must be allowed to read the plugin file and reach the " +
          `hosts the plugin declares (${net.join(", ") || "none"})`,
      );
    }
    this.#worker.onmessage = (event: MessageEvent<FromWorker>) => this.#receive(event.data, onLog);
    this.#worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#fail(new Error(`sandboxed plugin ${this.#label} crashed: ${event.message}`));
    };
    this.#worker.onmessageerror = () => {
      this.#fail(new Error(`sandboxed plugin ${this.#label} sent a message that cannot be read`));
    };
  }

  #receive(message: FromWorker, onLog: (m: LogMessage) => void): void {
    if ("id" in message) {
      const pending = this.#pending.get(message.id);
      if (!pending) return;
      this.#pending.delete(message.id);
      if (message.ok) pending.resolve(message.result);
      else pending.reject(rebuildError(message.error ?? { message: "unknown error" }));
    } else if (message.type === "log") {
      onLog(message);
    } else if (message.type === "crash") {
      this.#fail(new Error(`sandboxed plugin ${this.#label} crashed: ${message.message}`));
    } else {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter?.resolve(message);
    }
  }

  #fail(err: Error): void {
    if (this.#failure) return;
    this.#failure = err;
    this.#waiter?.reject(err);
    this.#waiter = undefined;
    for (const pending of this.#pending.values()) pending.reject(err);
    this.#pending.clear();
    this.terminate();
  }

  /** Sends a `describe` or `init` message and waits for its answer. */
  handshake(
    message: { type: "describe"; moduleUrl: string } | InitMessage,
    signal: AbortSignal,
    timeoutMs: number,
  ): Promise<FromWorker> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise<FromWorker>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
      };
      const onAbort = () => this.#fail(new Error("aborted: the gateway is shutting down"));
      const timer = setTimeout(
        () =>
          this.#fail(
            new Error(
              `${message.type === "init" ? "create()" : "import"} did not finish within ${
                timeoutMs / 1000
              } s`,
            ),
          ),
        timeoutMs,
      );
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiter = {
        resolve: (m) => {
          done();
          resolve(m);
        },
        reject: (err) => {
          done();
          reject(err);
        },
      };
      if (signal.aborted) onAbort();
      else this.#worker.postMessage(message);
    });
  }

  /** Calls a sink method in the Worker. */
  call(op: CallMessage["op"], events?: unknown[]): Promise<{ skipped?: number } | undefined> {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    return new Promise<{ skipped?: number } | undefined>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      const message: CallMessage = events === undefined ? { id, op } : { id, op, events };
      try {
        this.#worker.postMessage(message);
      } catch (err) {
        this.#pending.delete(id);
        reject(
          new Error(
            `could not send ${op} to sandboxed plugin ${this.#label}: ${errorMessage(err)}`,
          ),
        );
      }
    });
  }

  /** Asks the plugin to abort its work (`ctx.signal`). */
  abort(): void {
    if (!this.#terminated) this.#worker.postMessage({ type: "abort" });
  }

  /** Stops the Worker; later calls reject. */
  terminate(reason?: Error): void {
    if (this.#terminated) return;
    this.#terminated = true;
    this.#worker.terminate();
    if (!this.#failure) {
      this.#failure = reason ?? new Error(`sandboxed plugin ${this.#label} is closed`);
      this.#waiter?.reject(this.#failure);
      this.#waiter = undefined;
      for (const pending of this.#pending.values()) pending.reject(this.#failure);
      this.#pending.clear();
    }
  }
}

function handshakeFailure(message: FromWorker, stage: "describe" | "init"): LoadIssue {
  if ("type" in message && message.type === "failed") {
    if (message.stage === "import") {
      return new LoadIssue(
        message.notFound ? "plugin_not_found" : "import_failed",
        `importing the plugin in the sandbox failed: ${message.message}`,
        message.notFound
          ? "check the source"
          : "sandboxed plugins must be single-file ES modules with no remote imports",
      );
    }
    return new LoadIssue(
      message.stage === "create" ? "create_failed" : "invalid_plugin",
      message.stage === "create" ? `create() threw: ${message.message}` : message.message,
    );
  }
  return new LoadIssue(
    "sandbox_failed",
    `unexpected answer from the sandbox during ${stage}: ${JSON.stringify(message)}`,
  );
}

function startFailure(err: unknown, stage: "describe" | "init"): LoadIssue {
  if (err instanceof LoadIssue) return err;
  return new LoadIssue(
    stage === "init" ? "create_failed" : "sandbox_failed",
    `${stage === "init" ? "creating" : "importing"} the plugin in the sandbox failed: ${
      errorMessage(err)
    }`,
  );
}

/** The message for `sandbox: true` without Deno's worker options. */
export function sandboxUnavailable(): LoadIssue {
  return new LoadIssue(
    "sandbox_unavailable",
    `sandboxing needs Deno's worker options, which are not enabled`,
    `run deno with ${WORKER_OPTIONS_FLAG} or add "unstable": ["worker-options"] to the root ` +
      `deno.json, or set \`sandbox: false\` on this sink to run the plugin in-process ` +
      `(only for plugins you trust)`,
  );
}

/**
 * Step 1: imports the module in a Worker with no network and returns its shape.
 * @throws {LoadIssue} `plugin_not_found`, `import_failed` or `sandbox_failed`
 */
export async function describeInSandbox(
  target: SandboxTarget,
  signal: AbortSignal,
  timeoutMs: number = SANDBOX_START_TIMEOUT_MS,
): Promise<PluginShape> {
  const worker = new SandboxWorker(target, [], () => {});
  try {
    const answer = await worker.handshake(
      { type: "describe", moduleUrl: target.moduleUrl },
      signal,
      timeoutMs,
    );
    if ("type" in answer && answer.type === "described") return answer.shape;
    throw handshakeFailure(answer, "describe");
  } catch (err) {
    throw startFailure(err, "describe");
  } finally {
    worker.terminate();
  }
}

/** What {@link createSandboxedSink} needs. */
export interface SandboxedSinkOptions {
  /** What to load. */
  target: SandboxTarget;
  /** Hosts the plugin declared. */
  net: readonly string[];
  /** The `init` message (config, env values, names). */
  init: Omit<InitMessage, "type" | "moduleUrl">;
  /** Receives the plugin's log lines. */
  onLog(message: LogMessage): void;
  /** Aborted at shutdown (forwarded to the plugin's `ctx.signal`). */
  signal: AbortSignal;
  /** Start deadline. */
  timeoutMs?: number;
}

/**
 * Step 2: starts the Worker with the declared hosts, creates the sink in
 * it, and returns the proxy.
 * @throws {LoadIssue} `create_failed`, `invalid_plugin`, `import_failed` or `sandbox_failed`
 */
export async function createSandboxedSink(options: SandboxedSinkOptions): Promise<Sink> {
  const { target, signal } = options;
  const worker = new SandboxWorker(target, options.net, options.onLog);
  try {
    const answer = await worker.handshake(
      { type: "init", moduleUrl: target.moduleUrl, ...options.init },
      signal,
      options.timeoutMs ?? SANDBOX_START_TIMEOUT_MS,
    );
    if (!("type" in answer) || answer.type !== "ready") throw handshakeFailure(answer, "init");
  } catch (err) {
    worker.terminate();
    throw startFailure(err, "init");
  }
  const onAbort = () => worker.abort();
  signal.addEventListener("abort", onAbort, { once: true });
  let closing: Promise<void> | undefined;
  return {
    log: (events) => worker.call("log", events as unknown[]),
    flush: async () => void await worker.call("flush"),
    close: () => {
      closing ??= (async () => {
        signal.removeEventListener("abort", onAbort);
        let timer: ReturnType<typeof setTimeout> | undefined;
        try {
          await Promise.race([
            worker.call("close"),
            new Promise<void>((resolve) => {
              timer = setTimeout(resolve, SANDBOX_CLOSE_TIMEOUT_MS);
            }),
          ]);
        } finally {
          clearTimeout(timer);
          worker.terminate();
        }
      })();
      return closing;
    },
  };
}
