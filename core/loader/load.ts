/**
 * Loads sink plugins for `sinks:` entries: resolves the source, fetches
 * and verifies remote files, imports the module (in-process, or in a
 * sandbox Worker), checks the definition and the config, and creates the
 * sink. Every failure is a {@link PluginLoadError} naming the sink, the
 * source, the cause and what to do, with secrets masked.
 * @module
 */
import { pathToFileURL } from "node:url";
import { sinkInstanceName } from "../config/semantics.ts";
import type { SinkConfig } from "../config/types.ts";
import type { Sink } from "../plugin.ts";
import { VERSION } from "../version.ts";
import { fetchBucketObject, resolveBucketAccess } from "./bucket.ts";
import { obtainPinnedFile } from "./cache.ts";
import { configIssues, configProblems } from "./config_schema.ts";
import { createPluginContext, type LogFn, pluginLogger } from "./context.ts";
import { type PluginMetadata, readPermissions, shapeOf, validateShape } from "./definition.ts";
import { errorMessage, LoadIssue, PluginLoadError } from "./errors.ts";
import { DEFAULT_SOURCE_TIMEOUT_MS, fetchUrlBytes } from "./fetch_url.ts";
import { normalizeSha256 } from "./hash.ts";
import { assertFileExists, importBuiltin, importModule, resolveBuiltin } from "./import.ts";
import { withDeadline } from "../deadline.ts";
import { decidePermissions, describeGrant, type Grant, type Permitted } from "./grant.ts";
import {
  createSandboxedSink,
  DEFAULT_SANDBOX_HEAP_MB,
  probeInSandbox,
  SANDBOX_START_TIMEOUT_MS,
  type SandboxTarget,
} from "./sandbox.ts";
import { entrySecrets, maskSecrets } from "./secrets.ts";
import { isSecretKeyName } from "../config/env.ts";
import { displaySource, parseSource, type PluginSource } from "./source.ts";
import type { LoadedSink, LoadSinkOptions, LoadSinksResult } from "./types.ts";
import { withTelemetry } from "../otlp/telemetry.ts";

/** The default log: one line on stderr, prefixed `sluice: `. */
export function defaultLog(_level: "info" | "warn" | "error", message: string): void {
  console.error(`sluice: ${message}`);
}

function defaultEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/** Per-entry state shared by the loading steps. */
interface Job {
  entry: SinkConfig;
  name: string;
  shown: string;
  options: LoadSinkOptions;
  env: (name: string) => string | undefined;
  log: LogFn;
  secrets: string[];
  mask: (text: string) => string;
  warn(message: string): void;
}

/** Where the module to import is, once any remote file is fetched and verified. */
interface Located {
  /** For `import()` in-process. */
  specifier: string;
  /** For the sandbox process. */
  target: SandboxTarget;
}

async function locate(job: Job, source: PluginSource, sandboxed: boolean): Promise<Located> {
  const { entry, options } = job;
  const timeoutMs = options.fetchTimeoutMs ?? DEFAULT_SOURCE_TIMEOUT_MS;
  const label = `"${job.name}"`;
  if (source.kind === "url" || source.kind === "bucket") {
    const fetchBytes = source.kind === "url"
      ? () => fetchUrlBytes(source.url, options.signal, timeoutMs)
      : () => {
        const access = resolveBucketAccess(source, entry.source, job.env);
        if (access.secretAccessKey) job.secrets.push(access.secretAccessKey);
        if (access.sessionToken) job.secrets.push(access.sessionToken);
        return fetchBucketObject(source, access, options.signal, timeoutMs);
      };
    const file = await obtainPinnedFile({
      fetchBytes,
      expected: normalizeSha256(entry.sha256),
      allowUnpinned: entry.allow_unpinned ?? false,
      dataDir: options.dataDir,
      ext: source.ext,
      warn: job.warn,
    });
    const url = pathToFileURL(file.path).href;
    return { specifier: url, target: { moduleUrl: url, remoteImports: false, label } };
  }
  if (entry.sha256) {
    job.warn(
      "sha256: is checked only for URL and bucket sources; this source is pinned by its path, " +
        "its registry's integrity and deno.lock",
    );
  }
  if (source.kind === "file") {
    if (sandboxed) await assertFileExists(source.url, job.shown);
    return {
      specifier: source.url,
      target: { moduleUrl: source.url, remoteImports: true, label },
    };
  }
  if (source.kind === "registry") {
    return {
      specifier: source.specifier,
      target: { moduleUrl: source.specifier, remoteImports: true, label },
    };
  }
  // built-in
  const resolved = sandboxed ? resolveBuiltin(source) : source.specifiers[0];
  const notFound = `no built-in plugin "${source.name}": tried ${source.specifiers.join(" and ")}`;
  return {
    specifier: resolved,
    target: { moduleUrl: resolved, remoteImports: true, label, notFound },
  };
}

function checkConfig(job: Job, meta: PluginMetadata): void {
  const problems = configProblems(meta.configSchema, job.entry.config ?? {}, job.name);
  if (problems.length > 0) {
    throw new LoadIssue(
      "invalid_config",
      `config does not match plugin "${meta.name}" ${meta.version}'s configSchema: ${
        problems.join("; ")
      }`,
      "fix this sink's `config:`",
    );
  }
}

/** Reads the granted variables that are set; secret-like ones join the masked values. */
function envValues(job: Job, names: readonly string[]): Record<string, string> {
  const values: Record<string, string> = {};
  for (const name of names) {
    const value = job.env(name);
    if (value === undefined) continue;
    values[name] = value;
    if (isSecretKeyName(name)) job.secrets.push(value);
  }
  return values;
}

/**
 * What the plugin asks for with this entry's config. A `permissions`
 * function sees only granted environment values; when what it asks for
 * depends on them (a host from an env var), it is asked again with them.
 */
async function requestedPermissions(
  job: Job,
  meta: PluginMetadata,
  ask: (config: unknown, env: Record<string, string>) => unknown,
  builtin: boolean,
): Promise<Grant> {
  if (!meta.derivedPermissions) return { net: meta.net, env: meta.env, read: meta.read };
  const grantable = (names: string[]) =>
    names.filter((n) => job.entry.permissions ? job.entry.permissions.env?.includes(n) : builtin);
  let env: Record<string, string> = {};
  let requested: Grant = { net: [], env: [], read: [] };
  for (let round = 0; round < 3; round++) {
    const invalid: string[] = [];
    requested = readPermissions(await ask(job.entry.config ?? {}, env), invalid);
    if (invalid.length > 0) {
      throw new LoadIssue("invalid_plugin", `permissions(config) returned: ${invalid.join("; ")}`);
    }
    const next = envValues(job, grantable(requested.env));
    if (Object.keys(next).join() === Object.keys(env).join()) break;
    env = next;
  }
  return requested;
}

function isBuiltin(source: PluginSource): boolean {
  return source.kind === "builtin";
}

/** The start-up line naming what the plugin may reach. */
function announce(job: Job, meta: PluginMetadata, permitted: Permitted, how: string): void {
  job.log(
    "info",
    job.mask(
      `sink "${job.name}": plugin "${meta.name}" ${meta.version} ${how}; ` +
        `${describeGrant(permitted.effective)} (granted by ${permitted.source})`,
    ),
  );
}

/** A plugin definition, wherever it was imported. */
interface Described {
  /** Its validated shape. */
  meta: PluginMetadata;
  /** Calls its `permissions(config, env)` where it was imported. */
  ask(config: unknown, env: Record<string, string>): unknown;
  /** The definition itself, when imported into the gateway. */
  definition?: Definition;
  /** Ends the probe process, if any. */
  close(): Promise<void>;
}

type Definition = {
  create(config: unknown, ctx: unknown): unknown;
  permissions?: (config: unknown, env: (name: string) => string | undefined) => unknown;
};

/** Imports the definition: in a probe process when sandboxed, else into the gateway. */
async function describe(
  job: Job,
  source: PluginSource,
  located: Located,
  sandboxed: boolean,
): Promise<Described> {
  if (sandboxed) {
    const probe = await probeInSandbox(located.target, job.options.signal);
    try {
      return { meta: validateShape(probe.shape), ask: probe.requested, close: probe.close };
    } catch (err) {
      await probe.close();
      throw err;
    }
  }
  const mod = source.kind === "builtin"
    ? await importBuiltin(source)
    : await importModule(located.specifier, job.shown);
  const meta = validateShape(shapeOf(mod));
  const definition = (mod as { default: Definition }).default;
  return {
    meta,
    definition,
    ask: (config, env) => definition.permissions?.(structuredClone(config), (name) => env[name]),
    close: () => Promise.resolve(),
  };
}

/** What start decides before creating anything: the plugin, its checked config and permissions. */
async function inspect(
  job: Job,
  source: PluginSource,
  located: Located,
  sandboxed: boolean,
): Promise<{ described: Described; permitted: Permitted }> {
  const described = await describe(job, source, located, sandboxed);
  try {
    checkConfig(job, described.meta);
    const builtin = isBuiltin(source);
    const requested = await requestedPermissions(job, described.meta, described.ask, builtin);
    const permitted = decidePermissions(
      requested,
      job.entry.permissions,
      job.entry.config,
      builtin,
    );
    return { described, permitted };
  } finally {
    await described.close();
  }
}

async function loadInProcess(
  job: Job,
  source: PluginSource,
  located: Located,
): Promise<LoadedSink> {
  const { described, permitted } = await inspect(job, source, located, false);
  const { meta } = described;
  const definition = described.definition as Definition;
  announce(job, meta, permitted, "runs in the gateway process (hosts not enforced)");
  envValues(job, permitted.effective.env); // registers secret-like values for masking
  const ctx = createPluginContext({
    instanceName: job.name,
    declaredEnv: permitted.effective.env,
    env: job.env,
    log: job.log,
    signal: job.options.signal,
    mask: job.mask,
    dataDir: job.options.dataDir,
    pipelineStats: job.options.pipelineStats,
  });
  let created: unknown;
  try {
    created = await withDeadline(
      "create()",
      SANDBOX_START_TIMEOUT_MS,
      () => definition.create(structuredClone(job.entry.config ?? {}), ctx),
    );
  } catch (err) {
    throw new LoadIssue(
      "create_failed",
      `plugin "${meta.name}" ${meta.version} refused to start: create() threw: ${
        errorMessage(err)
      }`,
      "fix this sink's config or environment",
    );
  }
  const sink = created as Partial<Sink> | null;
  if (typeof sink !== "object" || sink === null || typeof sink.log !== "function") {
    throw new LoadIssue(
      "invalid_plugin",
      `plugin "${meta.name}"'s create() returned ${
        sink === null ? "null" : typeof sink
      } without a log(events) function`,
      "report this to the plugin's author",
    );
  }
  const target = withTelemetry(sink as Sink);
  return {
    name: job.name,
    plugin: { name: meta.name, version: meta.version },
    use: job.entry.use,
    defaultOn: meta.defaultOn,
    sandboxed: false,
    telemetry: target.exportTelemetry !== undefined,
    secrets: job.secrets,
    sink: {
      log: (events, call) => target.log(events, call),
      flush: target.flush ? (call) => target.flush?.(call) : undefined,
      close: target.close ? (call) => target.close?.(call) : undefined,
    },
  };
}

async function loadSandboxed(
  job: Job,
  source: PluginSource,
  located: Located,
  heapMb: number,
): Promise<LoadedSink> {
  const { described: { meta }, permitted } = await inspect(job, source, located, true);
  announce(job, meta, permitted, `runs in its own process (heap cap ${heapMb} MiB)`);
  const logger = pluginLogger(job.name, job.log, job.mask);
  const sink = await createSandboxedSink({
    target: located.target,
    net: permitted.effective.net,
    read: permitted.effective.read,
    heapMb,
    init: {
      config: job.entry.config ?? {},
      env: envValues(job, permitted.effective.env),
      grantedEnv: permitted.effective.env,
      instanceName: job.name,
      gatewayVersion: VERSION,
      ...(job.options.pipelineStats ? { pipelineStats: job.options.pipelineStats() } : {}),
    },
    onLog: (m) => logger[m.level === "debug" ? "debug" : m.level](m.message, m.data),
    signal: job.options.signal,
    pipelineStats: job.options.pipelineStats,
    heartbeatMs: job.options.sandboxHeartbeatMs,
    abortGraceMs: job.options.sandboxAbortGraceMs,
  }).catch((err) => {
    if (err instanceof LoadIssue && err.code === "create_failed") {
      throw new LoadIssue(
        "create_failed",
        `plugin "${meta.name}" ${meta.version} refused to start: ${err.message}`,
        err.hint ?? "fix this sink's config or environment",
      );
    }
    throw err;
  });
  return {
    name: job.name,
    plugin: { name: meta.name, version: meta.version },
    use: job.entry.use,
    defaultOn: meta.defaultOn,
    sandboxed: true,
    telemetry: sink.telemetry,
    secrets: job.secrets,
    sink,
  };
}

function toLoadError(err: unknown, job: Job): PluginLoadError {
  if (err instanceof PluginLoadError) return err;
  const prefix = `sink "${job.name}" (use: ${job.shown})`;
  if (err instanceof LoadIssue) {
    const cause = err.message.replace(/\.\s*$/, "");
    const hint = err.hint ? `. ${err.hint[0].toUpperCase()}${err.hint.slice(1)}` : "";
    const text = `${prefix}: ${cause}${hint}`;
    return new PluginLoadError(err.code, job.name, job.shown, job.mask(text));
  }
  return new PluginLoadError(
    "import_failed",
    job.name,
    job.shown,
    job.mask(`${prefix}: loading failed: ${errorMessage(err)}`),
  );
}

/**
 * Built-ins that write to the gateway's own stdout and files: they run in
 * its process unless `sandbox: true`. Every other plugin, the built-in HTTP
 * sinks included, runs in its own process unless `sandbox: false`.
 */
const IN_PROCESS_BUILTINS = new Set(["console", "jsonl", "sqlite"]);

/**
 * Loads one sink entry's plugin and creates its sink.
 *
 * The source is `use:` (see `parseSource`); URL and bucket sources are
 * fetched, checked against `sha256:` and cached, and run sandboxed unless
 * `sandbox: false`.
 * @throws {PluginLoadError} with a code, the instance name and a message saying what to do
 */
export async function loadSink(entry: SinkConfig, options: LoadSinkOptions): Promise<LoadedSink> {
  const job = newJob(entry, options);
  try {
    const source = parseSource(entry.use, options.baseDir);
    const sandbox = sandboxOf(entry, source);
    const located = await locate(job, source, sandbox !== false);
    if (sandbox === false) return await loadInProcess(job, source, located);
    const heapMb = (sandbox === true ? undefined : sandbox.heap_mb) ?? DEFAULT_SANDBOX_HEAP_MB;
    return await loadSandboxed(job, source, located, heapMb);
  } catch (err) {
    throw toLoadError(err, job);
  }
}

function newJob(entry: SinkConfig, options: LoadSinkOptions): Job {
  const name = sinkInstanceName(entry.use, entry.name);
  const shown = displaySource(entry.use);
  const log = options.log ?? defaultLog;
  const secrets = entrySecrets(entry);
  const others = [...(options.secrets ?? [])];
  const mask = (text: string) => maskSecrets(text, [...secrets, ...others]);
  return {
    entry,
    name,
    shown,
    options,
    env: options.env ?? defaultEnv,
    log,
    secrets,
    mask,
    warn: (message) => log("warn", mask(`sink "${name}" (use: ${shown}): ${message}`)),
  };
}

function sandboxOf(entry: SinkConfig, source: PluginSource): NonNullable<SinkConfig["sandbox"]> {
  return entry.sandbox ?? !(source.kind === "builtin" && IN_PROCESS_BUILTINS.has(source.name));
}

/** One problem `--check` finds in a sink entry. */
export interface SinkCheckProblem {
  /** Where, under the entry: `.config.bucket`, `.permissions`, `.use`. */
  path: string;
  /** What is wrong (secrets masked). */
  message: string;
}

/**
 * What start would find wrong with a built-in or local plugin's entry,
 * without creating the sink or connecting anywhere: the definition is
 * imported as start imports it (in a probe process with no network when
 * sandboxed), its `config:` checked with its schema, and what it asks for
 * with that config checked against the entry's grant.
 */
export async function checkSink(
  entry: SinkConfig,
  options: Pick<LoadSinkOptions, "baseDir" | "env" | "secrets" | "signal">,
): Promise<SinkCheckProblem[]> {
  const job = newJob(entry, { ...options, dataDir: "", log: () => {} });
  const problems: SinkCheckProblem[] = [];
  try {
    const source = parseSource(entry.use, options.baseDir);
    const sandboxed = sandboxOf(entry, source) !== false;
    const described = await describe(job, source, await locate(job, source, sandboxed), sandboxed);
    try {
      const { meta } = described;
      for (const issue of configIssues(meta.configSchema, entry.config ?? {})) {
        problems.push({
          path: `.config${issue.path}`,
          message: `${issue.message} (plugin "${meta.name}" ${meta.version})`,
        });
      }
      if (problems.length > 0) return problems;
      const builtin = isBuiltin(source);
      const requested = await requestedPermissions(job, meta, described.ask, builtin);
      decidePermissions(requested, entry.permissions, entry.config, builtin);
    } finally {
      await described.close();
    }
  } catch (err) {
    const issue = err instanceof LoadIssue ? err : undefined;
    const path = issue?.code === "permission_denied" ? ".permissions" : ".use";
    const hint = issue?.hint ? `. ${issue.hint[0].toUpperCase()}${issue.hint.slice(1)}` : "";
    problems.push({ path, message: job.mask(`${errorMessage(err).replace(/\.\s*$/, "")}${hint}`) });
  }
  return problems;
}

/**
 * Loads every entry (concurrently). A failing `optional: true` entry is
 * skipped with a warning; the first failure of another entry (in config
 * order) is thrown after the sinks that did load are closed.
 * @throws {PluginLoadError} the first non-optional entry's failure
 */
export async function loadSinks(
  entries: readonly SinkConfig[],
  options: LoadSinkOptions,
): Promise<LoadSinksResult> {
  const log = options.log ?? defaultLog;
  // One entry's failure may quote another's credentials: every message is masked with all of them.
  const secrets = [...(options.secrets ?? []), ...entries.flatMap(entrySecrets)];
  const withAll = { ...options, secrets };
  const results = await Promise.allSettled(entries.map((entry) => loadSink(entry, withAll)));
  const loaded: LoadedSink[] = [];
  const skipped: LoadSinksResult["skipped"] = [];
  let failure: PluginLoadError | undefined;
  results.forEach((result, i) => {
    if (result.status === "fulfilled") {
      loaded.push(result.value);
      return;
    }
    const entry = entries[i];
    const error = result.reason instanceof PluginLoadError ? result.reason : new PluginLoadError(
      "import_failed",
      sinkInstanceName(entry.use, entry.name),
      displaySource(entry.use),
      maskSecrets(errorMessage(result.reason), secrets),
    );
    if (entry.optional) {
      skipped.push({ name: error.sink, error });
      log("warn", `${error.message} (skipped: the sink is optional)`);
    } else {
      failure ??= error;
    }
  });
  if (failure) {
    await Promise.allSettled(loaded.map((l) => l.sink.close?.()));
    throw failure;
  }
  return { loaded, skipped };
}
