/**
 * The plugin sandbox: each sandboxed plugin runs in its own Deno process,
 * started with only what the operator granted (`--allow-net` for the
 * granted hosts, `--allow-read` for the granted files (a credentials file),
 * nothing else: no other file reads, no writes, no subprocesses,
 * no FFI, no system info; `--allow-env` only for the variable names it was
 * granted, over a cleared environment, so a library that probes
 * `process.env` loads while the values still reach the plugin only through
 * `ctx.env`) and a heap cap
 * (`--v8-flags=--max-old-space-size`). Measured on Deno 2.9: a Worker can
 * enforce neither limit — a Worker that runs out of heap aborts the whole
 * process, and `terminate()` does not stop a Worker spinning in a loop —
 * while a process is contained by its heap cap and killed in milliseconds.
 *
 * Loading takes two processes: the first, with no network, imports the
 * module, reports its shape and, when `permissions` is a function, what
 * it asks for the validated config; the second gets the granted hosts and
 * environment values and calls `create`. The gateway then talks to it
 * through a proxy {@link Sink}. A call past its deadline is aborted in
 * the plugin (the `signal` of `log`); a plugin that does not stop within
 * {@link SANDBOX_ABORT_GRACE_MS}, stops answering the liveness check, runs
 * out of memory or crashes is killed, and started again for the next call
 * (its batch is retried; the failure carries `code: "plugin_crashed"`).
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Sink, SinkCallOptions, SinkStats } from "../plugin.ts";
import { settlesWithin } from "../deadline.ts";
import type { PluginShape } from "./definition.ts";
import { errorMessage, LoadIssue } from "./errors.ts";
import { sandboxMainUrl } from "./sandbox_host.ts";
import type {
  Answer,
  CallMessage,
  FromChild,
  InitMessage,
  LogMessage,
  ToChild,
} from "./sandbox_protocol.ts";

/** How long importing (and creating) a sandboxed plugin may take. */
export const SANDBOX_START_TIMEOUT_MS = 30_000;

/** How long `close()` waits for the plugin's own `close` before the process is killed. */
export const SANDBOX_CLOSE_TIMEOUT_MS = 10_000;

/** How long a call may run on after its deadline aborted it before the process is killed. */
export const SANDBOX_ABORT_GRACE_MS = 2_000;

/** The liveness check's period: a process that leaves a ping unanswered this long is killed. */
export const SANDBOX_HEARTBEAT_MS = 5_000;

/** Heap cap of a sandboxed plugin's process when the sink entry sets none. */
export const DEFAULT_SANDBOX_HEAP_MB = 256;

/** What a sandbox process loads. */
export interface SandboxTarget {
  /** The module to import (a file URL, or an npm:/jsr: specifier). */
  moduleUrl: string;
  /** False for fetched single-file plugins: no remote imports at all. */
  remoteImports: boolean;
  /** The plugin as named in messages. */
  label: string;
  /** What to say when the module is not found (a built-in names the specifiers it tried). */
  notFound?: string;
}

/**
 * The deno.json(c) the gateway itself resolves imports with, if any: the
 * nearest one above its main module (in a Worker, which has none: above
 * this module, then the working directory), or the workspace root above
 * that when the nearest is a workspace member.
 */
function gatewayConfigPath(): string | undefined {
  const starts: string[] = [];
  const main = (Deno as { mainModule?: string }).mainModule;
  if (typeof main === "string" && main.startsWith("file:")) starts.push(main);
  if (import.meta.url.startsWith("file:")) starts.push(import.meta.url);
  for (const start of starts) {
    const found = configAbove(dirname(fileURLToPath(start)));
    if (found) return found;
  }
  try {
    return configAbove(Deno.cwd());
  } catch {
    return undefined;
  }
}

function configAbove(start: string): string | undefined {
  let dir = start;
  let nearest: string | undefined;
  for (;;) {
    for (const name of ["deno.json", "deno.jsonc"]) {
      const path = join(dir, name);
      let text: string;
      try {
        text = Deno.readTextFileSync(path);
      } catch {
        continue;
      }
      nearest ??= path;
      if (/"workspace"\s*:/.test(text)) return path;
    }
    const parent = dirname(dir);
    if (parent === dir) return nearest;
    dir = parent;
  }
}

/** Environment the Deno runtime of the child needs (the plugin itself reads none of it). */
const RUNTIME_ENV = [
  "HOME",
  "PATH",
  "TMPDIR",
  "DENO_DIR",
  "XDG_CACHE_HOME",
  "NPM_CONFIG_REGISTRY",
  "DENO_CERT",
  "DENO_TLS_CA_STORE",
  "HTTPS_PROXY",
  "HTTP_PROXY",
  "NO_PROXY",
  "https_proxy",
  "http_proxy",
  "no_proxy",
];

function runtimeEnv(): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1" };
  for (const name of RUNTIME_ENV) {
    try {
      const value = Deno.env.get(name);
      if (value !== undefined) env[name] = value;
    } catch {
      // not readable: the child uses its defaults
    }
  }
  return env;
}

/** What a sandbox process is allowed: hosts, variable names, files. */
export interface ProcessGrant {
  /** Hosts it may reach. */
  net: readonly string[];
  /** Variable names it may look up (its own, cleared environment holds none of the gateway's values). */
  env?: readonly string[];
  /** Files it may read. */
  read?: readonly string[];
}

/** The `deno run` arguments of a sandbox process allowed `grant`, with a `heapMb` cap. */
export function sandboxArgs(
  target: SandboxTarget,
  grant: ProcessGrant,
  heapMb: number,
): string[] {
  const { net, env = [], read = [] } = grant;
  const config = gatewayConfigPath();
  return [
    "run",
    "--quiet",
    "--no-prompt",
    config ? `--config=${config}` : "--no-config",
    `--v8-flags=--max-old-space-size=${heapMb},--max-semi-space-size=1`,
    ...(net.length > 0 ? [`--allow-net=${net.join(",")}`] : []),
    ...(env.length > 0 ? [`--allow-env=${env.join(",")}`] : []),
    ...(read.length > 0 ? [`--allow-read=${read.join(",")}`] : []),
    ...(target.remoteImports ? [] : ["--deny-import"]),
    sandboxMainUrl(target.moduleUrl),
  ];
}

/** An error of a sandboxed plugin's process, with the code reports use. */
export function sandboxError(message: string, code = "plugin_crashed"): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}

/** The error of a failed call, rebuilt with the contract's properties. */
export function rebuildError(
  error: { message: string; name?: string; permanent?: boolean; retryAfterMs?: number },
): Error {
  const err = new Error(error.message) as Error & { permanent?: boolean; retryAfterMs?: number };
  if (error.name) err.name = error.name;
  if (error.permanent !== undefined) err.permanent = error.permanent;
  if (error.retryAfterMs !== undefined) err.retryAfterMs = error.retryAfterMs;
  return err;
}

type Reply = { skipped?: number } | undefined;

/** One plugin process and its pipes. */
class SandboxProcess {
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #label: string;
  readonly #heapMb: number;
  readonly #pending = new Map<number, { resolve(r: Reply): void; reject(e: Error): void }>();
  readonly #answers: ((message: Answer) => void)[] = [];
  #nextId = 1;
  #stderr = "";
  #failure?: Error;
  #killed = false;
  /** Resolves when the process has exited and its output is read. */
  readonly exited: Promise<void>;
  /** Whether the plugin's sink takes OTLP telemetry (its `ready` said so). */
  telemetry = false;

  constructor(
    target: SandboxTarget,
    grant: ProcessGrant,
    heapMb: number,
    onLog: (m: LogMessage) => void,
  ) {
    this.#label = target.label;
    this.#heapMb = heapMb;
    try {
      this.#child = new Deno.Command(Deno.execPath(), {
        args: sandboxArgs(target, grant, heapMb),
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
        clearEnv: true,
        env: runtimeEnv(),
      }).spawn();
    } catch (err) {
      throw new LoadIssue(
        "sandbox_failed",
        `the sandbox process could not start: ${errorMessage(err)}`,
        "the gateway needs permission to run the deno executable (run it with -A or " +
          "--allow-run), or set `sandbox: false` on this sink (only for plugins you trust)",
      );
    }
    this.#stdin = this.#child.stdin.getWriter();
    const stdout = this.#readLines(this.#child.stdout, (line) => this.#receive(line, onLog));
    const stderr = this.#readLines(this.#child.stderr, (line) => {
      // Stack lines (which quote the whole main module) and blank lines say nothing here.
      if (!line.trim() || /^\s+at |^Stack backtrace|^\s+\d+: |data:text\/javascript/.test(line)) {
        return;
      }
      this.#stderr = (this.#stderr + line.slice(0, 1000) + "\n").slice(-2000);
    });
    this.exited = Promise.all([this.#child.status, stdout, stderr]).then(([status]) => {
      this.#fail(this.#exitError(status));
    });
  }

  async #readLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) {
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of stream) {
        let from = buffer.length;
        buffer += decoder.decode(chunk, { stream: true });
        let newline: number;
        while ((newline = buffer.indexOf("\n", from)) >= 0) {
          onLine(buffer.slice(0, newline));
          buffer = buffer.slice(newline + 1);
          from = 0;
        }
      }
    } catch {
      // the process is gone
    }
    if (buffer) onLine(buffer);
  }

  #receive(line: string, onLog: (m: LogMessage) => void): void {
    let message: FromChild;
    try {
      message = JSON.parse(line);
    } catch {
      if (line.trim()) onLog({ type: "log", level: "warn", message: `printed: ${line}` });
      return;
    }
    if ("id" in message) {
      const pending = this.#pending.get(message.id);
      if (!pending) return;
      this.#pending.delete(message.id);
      if (message.ok) pending.resolve(message.result);
      else pending.reject(rebuildError(message.error ?? { message: "unknown error" }));
    } else if (message.type === "log") {
      onLog(message);
    } else if (message.type === "crash") {
      this.kill(sandboxError(`sandboxed plugin ${this.#label} crashed: ${message.message}`));
    } else {
      this.#answers.shift()?.(message);
    }
  }

  #exitError(status: Deno.CommandStatus): Error {
    const lines = this.#stderr.trim().split("\n");
    const error = lines.findIndex((l) => l.startsWith("error:"));
    const said = (error >= 0 ? lines.slice(error, error + 2) : lines.slice(-3)).join(" ");
    if (/heap limit|out of memory/i.test(this.#stderr)) {
      return sandboxError(
        `sandboxed plugin ${this.#label} ran out of memory (heap cap ${this.#heapMb} MiB)`,
      );
    }
    const how = status.signal ? `was killed (${status.signal})` : `exited with code ${status.code}`;
    return sandboxError(`sandboxed plugin ${this.#label} ${how}${said ? `: ${said}` : ""}`);
  }

  #fail(err: Error): void {
    if (this.#failure) return;
    this.#failure = err;
    for (const pending of this.#pending.values()) pending.reject(err);
    this.#pending.clear();
    for (const answer of this.#answers.splice(0)) answer({ type: "crash", message: err.message });
  }

  /** True once the process failed or was killed. */
  get failed(): boolean {
    return this.#failure !== undefined;
  }

  /** Why the process ended, once it did. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  #send(message: ToChild): void {
    this.#stdin.write(new TextEncoder().encode(JSON.stringify(message) + "\n")).catch(() => {});
  }

  /** Sends a `describe`, `permissions` or `init` message and waits for its answer. */
  ask(message: ToChild, signal: AbortSignal, timeoutMs: number, stage: string): Promise<Answer> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise<Answer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.kill(new Error(`${stage} did not finish within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      const onAbort = () => this.kill(new Error("aborted: the gateway is shutting down"));
      signal.addEventListener("abort", onAbort, { once: true });
      this.#answers.push((answer) => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        if (answer.type === "crash") reject(this.#failure ?? new Error(answer.message));
        else resolve(answer);
      });
      if (signal.aborted) onAbort();
      else this.#send(message);
    });
  }

  /** Calls a sink method; returns its id (for {@link abort}) and its answer. */
  call(
    op: CallMessage["op"],
    events?: unknown[],
    stats?: CallMessage["stats"],
  ): { id: number; reply: Promise<Reply> } {
    const id = this.#nextId++;
    if (this.#failure) return { id, reply: Promise.reject(this.#failure) };
    const reply = new Promise<Reply>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
    });
    const message: CallMessage = events === undefined ? { id, op } : { id, op, events };
    if (stats) message.stats = stats;
    this.#send(message);
    return { id, reply };
  }

  /** Aborts one call's signal in the plugin, or its `ctx.signal` (no id). */
  abort(id?: number): void {
    if (!this.#failure) this.#send(id === undefined ? { type: "abort" } : { type: "abort", id });
  }

  /** Kills the process (SIGKILL); pending calls reject with `reason`. */
  kill(reason: Error): void {
    this.#fail(reason);
    if (this.#killed) return;
    this.#killed = true;
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
}

function importIssue(err: unknown, target: SandboxTarget): LoadIssue {
  const message = errorMessage(err).replace(`sandboxed plugin ${target.label} `, "");
  const notFound = /module not found|failed to load|not found|no such file/i.test(message);
  if (notFound && target.notFound) {
    return new LoadIssue("plugin_not_found", `${target.notFound} (${message})`);
  }
  return new LoadIssue(
    notFound ? "plugin_not_found" : "import_failed",
    `importing the plugin in the sandbox failed: ${message}`,
    notFound
      ? "check the source"
      : "the module must evaluate with no environment, files or network; fetched plugins " +
        "must be single-file ES modules with no remote imports",
  );
}

/** The first sandbox process: the plugin's shape, and its request for a config. */
export interface SandboxProbe {
  /** The default export's shape. */
  shape: PluginShape;
  /** Calls `permissions(config, env)` in the probe; resolves to what it returned. */
  requested(config: unknown, env: Record<string, string>): Promise<unknown>;
  /** Ends the probe process. */
  close(): Promise<void>;
}

/**
 * Step 1: imports the module in a process with no network and returns its shape.
 * @throws {LoadIssue} `plugin_not_found`, `import_failed` or `sandbox_failed`
 */
export async function probeInSandbox(
  target: SandboxTarget,
  signal: AbortSignal,
  timeoutMs: number = SANDBOX_START_TIMEOUT_MS,
): Promise<SandboxProbe> {
  const probe = new SandboxProcess(target, { net: [] }, DEFAULT_SANDBOX_HEAP_MB, () => {});
  const close = async () => {
    probe.kill(new Error("probe closed"));
    await probe.exited;
  };
  try {
    const answer = await probe.ask({ type: "describe" }, signal, timeoutMs, "import");
    if (answer.type !== "described") throw new Error(`unexpected answer ${answer.type}`);
    return {
      shape: answer.shape,
      async requested(config, env) {
        const reply = await probe.ask(
          { type: "permissions", config, env },
          signal,
          timeoutMs,
          "permissions()",
        );
        if (reply.type !== "requested") throw new Error(`unexpected answer ${reply.type}`);
        if (reply.error !== undefined) {
          throw new LoadIssue("invalid_plugin", `permissions(config) threw: ${reply.error}`);
        }
        return reply.value;
      },
      close,
    };
  } catch (err) {
    await close();
    throw importIssue(err, target);
  }
}

/** What {@link createSandboxedSink} needs. */
export interface SandboxedSinkOptions {
  /** What to load. */
  target: SandboxTarget;
  /** The hosts granted. */
  net: readonly string[];
  /** The files granted. */
  read?: readonly string[];
  /** Heap cap in MiB. */
  heapMb: number;
  /** The `init` message (config, env values, names). */
  init: Omit<InitMessage, "type">;
  /** Receives the plugin's log lines. */
  onLog(message: LogMessage): void;
  /** Aborted at shutdown (forwarded to the plugin's `ctx.signal`). */
  signal: AbortSignal;
  /** Start deadline. */
  timeoutMs?: number;
  /** Every sink's delivery numbers, sent with each batch for the plugin's `ctx.pipelineStats`. */
  pipelineStats?: () => readonly SinkStats[];
  /** Liveness-check period (default {@link SANDBOX_HEARTBEAT_MS}). */
  heartbeatMs?: number;
  /** Grace after a call's deadline before the kill (default {@link SANDBOX_ABORT_GRACE_MS}). */
  abortGraceMs?: number;
}

async function startProcess(options: SandboxedSinkOptions): Promise<SandboxProcess> {
  const process = new SandboxProcess(
    options.target,
    { net: options.net, env: options.init.grantedEnv, read: options.read },
    options.heapMb,
    options.onLog,
  );
  let answer: Answer;
  try {
    answer = await process.ask(
      { type: "init", ...options.init },
      options.signal,
      options.timeoutMs ?? SANDBOX_START_TIMEOUT_MS,
      "create()",
    );
  } catch (err) {
    process.kill(err as Error);
    throw new LoadIssue("create_failed", `starting the plugin failed: ${errorMessage(err)}`);
  }
  if (answer.type === "ready") {
    process.telemetry = answer.telemetry === true;
    return process;
  }
  process.kill(new Error("create failed"));
  if (answer.type === "failed" && answer.stage === "create") {
    throw new LoadIssue("create_failed", `create() threw: ${answer.message}`);
  }
  throw new LoadIssue(
    "invalid_plugin",
    answer.type === "failed" ? answer.message : `unexpected answer ${answer.type}`,
  );
}

/** The gateway's side of a sandboxed sink: calls, deadlines, liveness and restarts. */
class SandboxedSink implements Sink {
  readonly #options: SandboxedSinkOptions;
  #process: SandboxProcess;
  #starting?: Promise<SandboxProcess>;
  #closed = false;
  #pingSentAt?: number;
  readonly #heartbeat: ReturnType<typeof setInterval>;

  /** Whether the plugin's sink takes OTLP telemetry (envelopes are opened in its process). */
  readonly telemetry: boolean;

  constructor(options: SandboxedSinkOptions, first: SandboxProcess) {
    this.#options = options;
    this.#process = first;
    this.telemetry = first.telemetry;
    this.#watch(first);
    const period = options.heartbeatMs ?? SANDBOX_HEARTBEAT_MS;
    this.#heartbeat = setInterval(() => this.#checkLiveness(period), period);
    Deno.unrefTimer(this.#heartbeat);
    options.signal.addEventListener("abort", () => this.#process.abort(), { once: true });
  }

  #checkLiveness(period: number): void {
    const process = this.#process;
    if (process.failed || this.#starting) return;
    if (this.#pingSentAt !== undefined) {
      if (performance.now() - this.#pingSentAt >= period) {
        const message = `stopped answering for ${period / 1000} s (a busy loop?): its process ` +
          "is killed and started again at the next call";
        process.kill(sandboxError(`sandboxed plugin ${this.#options.target.label} ${message}`));
      }
      return;
    }
    this.#pingSentAt = performance.now();
    process.call("ping").reply.then(
      () => (this.#pingSentAt = undefined),
      () => (this.#pingSentAt = undefined),
    );
  }

  /** Tells the operator why a process ended that was not asked to (once per process). */
  #watch(process: SandboxProcess): void {
    process.exited.then(() => {
      if (!this.#closed && process.failure) {
        this.#options.onLog({
          type: "log",
          level: "warn",
          message: /started again/.test(process.failure.message)
            ? process.failure.message
            : `${process.failure.message}; it is started again at the next call`,
        });
      }
    });
  }

  /** The running process, started again after a failure. */
  async #live(): Promise<SandboxProcess> {
    if (!this.#process.failed) return this.#process;
    if (this.#closed) {
      throw sandboxError(`sandboxed plugin ${this.#options.target.label} is closed`);
    }
    this.#starting ??= (async () => {
      try {
        this.#process = await startProcess(this.#options);
        this.#watch(this.#process);
        this.#options.onLog({
          type: "log",
          level: "warn",
          message: "the plugin's process was started again",
        });
        return this.#process;
      } finally {
        this.#starting = undefined;
      }
    })();
    return await this.#starting;
  }

  async #call(
    op: CallMessage["op"],
    events?: unknown[],
    signal?: AbortSignal,
    grace = this.#options.abortGraceMs ?? SANDBOX_ABORT_GRACE_MS,
  ): Promise<Reply> {
    let process: SandboxProcess;
    try {
      process = await this.#live();
      this.#pingSentAt = undefined;
    } catch (err) {
      throw sandboxError(
        `sandboxed plugin ${this.#options.target.label} could not be started again: ${
          errorMessage(err)
        }`,
      );
    }
    // Each batch carries the pipeline's numbers now: the plugin's ctx.pipelineStats reads them.
    const stats = op === "log" ? this.#options.pipelineStats?.() : undefined;
    const { id, reply } = process.call(op, events, stats);
    if (!signal) return await reply;
    const label = this.#options.target.label;
    const onAbort = async () => {
      process.abort(id);
      if (await settlesWithin(reply, grace)) return;
      process.kill(sandboxError(
        op === "close"
          ? `sandboxed plugin ${label} is closed: the shutdown deadline cut its close() short`
          : `sandboxed plugin ${label} did not stop ${op}() within ${grace / 1000} s of its ` +
            "deadline; it is killed and started again",
      ));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    if (signal.aborted) void onAbort();
    try {
      return await reply;
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  log(events: readonly unknown[], options?: SinkCallOptions): Promise<Reply> {
    return this.#call("log", events as unknown[], options?.signal);
  }

  async flush(options?: SinkCallOptions): Promise<void> {
    if (this.#process.failed) return;
    await this.#call("flush", undefined, options?.signal);
  }

  async close(options?: SinkCallOptions): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    const process = this.#process;
    if (!process.failed) {
      // At shutdown there is no grace: an aborted close ends the process at once.
      const closing = this.#call("close", undefined, options?.signal, 0).catch(() => {});
      await settlesWithin(closing, SANDBOX_CLOSE_TIMEOUT_MS);
    }
    process.kill(sandboxError(`sandboxed plugin ${this.#options.target.label} is closed`));
    await process.exited;
  }
}

/**
 * Step 2: starts the process with the granted hosts, creates the sink in
 * it, and returns the proxy.
 * @throws {LoadIssue} `create_failed`, `invalid_plugin` or `sandbox_failed`
 */
export async function createSandboxedSink(
  options: SandboxedSinkOptions,
): Promise<Sink & { readonly telemetry: boolean }> {
  const first = await startProcess(options);
  return new SandboxedSink(options, first);
}
