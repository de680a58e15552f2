/**
 * LiteLLM logging callbacks as sink entries. Each callback name is
 * dispatched to the plugin that claims it ({@link CallbackPlugins}); the
 * plugin's own mapping turns LiteLLM's settings and environment variables
 * into its config. What stays here is LiteLLM's generic behaviour: the
 * callback lists and their `on:`, `callback_type`, `message_logging`, the
 * global redaction merged into a sink's own, and code loaded from buckets
 * (`s3://…` callbacks, pinned in the `sluice:` section).
 * @module
 */
import type { LiteLLMSinkEntry, SinkEventKind } from "../plugin.ts";
import type { ConfigProblem } from "./env.ts";
import { MIN_SECRET_LENGTH } from "../redaction/scrub.ts";
import { CallbackPlugins } from "./litellm_plugins.ts";

type Obj = Record<string, unknown>;
type SinkEntry = Obj & { name: string; use: string; on?: string[] };

const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

/** The callback lists and the events each implies. */
const CALLBACK_LISTS: [string, SinkEventKind[]][] = [
  ["callbacks", ["success", "failure"]],
  ["success_callback", ["success"]],
  ["failure_callback", ["failure"]],
];

/** `litellm_settings` keys read here. */
export const CALLBACK_SETTINGS: readonly string[] = CALLBACK_LISTS.map(([key]) => key);

/** What {@link translateCallbacks} needs from the rest of the translation. */
export interface CallbacksInput {
  /** `litellm_settings`. */
  settings: Obj;
  /** `callback_settings`. */
  callbackSettings: Obj;
  /** The `sluice:` section. */
  native: Obj;
  /** `environment_variables`, then the process environment. */
  envOf: (name: string) => string | undefined;
  /** The global redaction LiteLLM's settings give (merged into a sink's own). */
  redaction: Obj;
  /** Where relative plugin paths resolve. */
  baseDir: string;
  /** Collects warnings and errors. */
  problems: ConfigProblem[];
}

/** Sink entries, and where values a mapping read from the environment went. */
export interface TranslatedCallbacks {
  /** The sink entries, in callback order. */
  sinks: SinkEntry[];
  /** Key path (`sinks[0].config.url`) → the reference it came from (`os.environ/NAME`). */
  origins: Map<string, string>;
  /** Values a mapping took from the environment: secrets, scrubbed like `os.environ/` ones. */
  secrets: Set<string>;
  /** `litellm_settings` keys the asked plugins read. */
  settingsRead: Set<string>;
}

/** Turns LiteLLM's callback lists into sink entries, each built by the plugin that claims it. */
export async function translateCallbacks(input: CallbacksInput): Promise<TranslatedCallbacks> {
  const { settings, callbackSettings, problems } = input;
  const warn = (path: string, message: string) =>
    problems.push({ path, message, severity: "warning" });
  const fail = (path: string, message: string) =>
    problems.push({ path, message, severity: "error" });

  const listed: { name: string; path: string; on: SinkEventKind[] }[] = [];
  for (const [key, on] of CALLBACK_LISTS) {
    const value = settings[key];
    if (value === undefined) continue;
    const names = typeof value === "string" ? [value] : Array.isArray(value) ? value : [];
    names.forEach((name, i) => {
      const path = `litellm_settings.${key}[${i}]`;
      if (typeof name !== "string") fail(path, "expected a callback name");
      else listed.push({ name, path, on });
    });
  }
  const typeOf = (name: string) => {
    const own = callbackSettings[name];
    return isObj(own) && typeof own.callback_type === "string" ? own.callback_type : name;
  };

  const plugins = new CallbackPlugins();
  const extra = input.native.plugins;
  if (extra !== undefined && !Array.isArray(extra)) {
    fail("sluice.plugins", "expected a list of plugin sources (local paths, npm:/jsr: specifiers)");
  }
  for (const [i, use] of (Array.isArray(extra) ? extra : []).entries()) {
    try {
      if (typeof use !== "string") throw new Error("expected a plugin source");
      await plugins.add(use, input.baseDir);
    } catch (error) {
      fail(`sluice.plugins[${i}]`, error instanceof Error ? error.message : String(error));
    }
  }
  const wanted = listed.filter((l) => !isBucket(l.name)).map((l) => typeOf(l.name));
  if (wanted.length > 0) await plugins.resolve(wanted, input.baseDir);
  for (const failure of plugins.failures) warn("litellm_settings", failure);

  const pins = pinsOf(input.native, input.envOf, problems);
  const sinks = new Map<string, SinkEntry>();
  const reads = new Map<SinkEntry, Map<string, string>>();
  for (const { name, path, on } of listed) {
    const existing = sinks.get(name);
    if (existing) {
      existing.on = [...new Set([...(existing.on ?? []), ...on])];
      continue;
    }
    if (isBucket(name)) {
      const entry = bucketPlugin(name, path, callbackSettings, pins, fail);
      if (entry) sinks.set(name, { ...entry, on });
      continue;
    }
    const type = typeOf(name);
    const claim = plugins.claims.get(type);
    if (!claim) {
      warn(
        path,
        `callback "${name}" has no Sluice sink (available: ${
          [...plugins.claims.keys()].join(", ")
        }, a plugin listed under sluice.plugins, or an s3:// / gs:// plugin path); ignored`,
      );
      continue;
    }
    const envRead = new Map<string, string>();
    const env = (variable: string) => {
      const value = input.envOf(variable);
      if (value !== undefined) envRead.set(variable, value);
      return value;
    };
    const own = callbackSettings[name];
    let mapped: LiteLLMSinkEntry;
    try {
      mapped = claim.mapping.toSink?.({
        callback: type,
        name,
        path,
        callbackSettings: isObj(own) ? own : {},
        litellmSettings: settings,
        env,
      }) ?? {};
    } catch (error) {
      fail(path, `plugin "${claim.plugin}" could not map callback "${name}": ${error}`);
      continue;
    }
    const mappedProblems = mapped.problems ?? [];
    problems.push(...mappedProblems);
    if (mappedProblems.some((p) => p.severity === "error")) continue;
    const entry: SinkEntry = { name, use: claim.use, config: mapped.config ?? {} };
    if (mapped.required !== undefined) entry.required = mapped.required;
    if (mapped.queue !== undefined) entry.queue = mapped.queue;
    if (mapped.redaction !== undefined) entry.redaction = mapped.redaction;
    entry.on = mapped.on ?? on;
    sinks.set(name, entry);
    reads.set(entry, envRead);
  }

  for (const [name, value] of Object.entries(callbackSettings)) {
    const entry = sinks.get(name);
    if (!entry) {
      warn(`callback_settings.${name}`, "no callback of that name is enabled; ignored");
      continue;
    }
    if (isObj(value) && value.message_logging === false) {
      entry.redaction = { ...(entry.redaction as Obj | undefined), messages: "remove" };
    }
  }
  // A sink's own `redaction` replaces the global one in Sluice; LiteLLM's global settings apply to every callback.
  for (const entry of sinks.values()) {
    if (entry.redaction) entry.redaction = { ...input.redaction, ...(entry.redaction as Obj) };
  }
  const list = [...sinks.values()];
  const origins = new Map<string, string>();
  const secrets = new Set<string>();
  list.forEach((entry, i) => {
    const envRead = reads.get(entry);
    if (envRead && envRead.size > 0) traceEnv(entry, `sinks[${i}]`, envRead, origins, secrets);
  });
  return { sinks: list, origins, secrets, settingsRead: plugins.settings };
}

const isBucket = (name: string) => /^(s3|gs):\/\//.test(name);

/**
 * Records the values a mapping took from the environment: a string equal
 * to one is named by its `os.environ/NAME` and is a secret; a string cut
 * out of one (a header parsed from a list) is a secret.
 */
function traceEnv(
  value: unknown,
  path: string,
  envRead: Map<string, string>,
  origins: Map<string, string>,
  secrets: Set<string>,
): void {
  if (typeof value === "string") {
    for (const [name, read] of envRead) {
      if (value === read) origins.set(path, `os.environ/${name}`);
      if (value.length >= MIN_SECRET_LENGTH && read.includes(value)) secrets.add(value);
    }
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => traceEnv(v, `${path}[${i}]`, envRead, origins, secrets));
  } else if (isObj(value)) {
    for (const [k, v] of Object.entries(value)) {
      traceEnv(v, `${path}.${k}`, envRead, origins, secrets);
    }
  }
}

interface Pins {
  sha256: Map<string, string>;
  unpinned: Set<string>;
}

const SLUICE_KEYS = ["plugins", "plugin_pins", "allow_unpinned"];

/** Pins for plugin paths named in callbacks: a `sluice:` section, then `SLUICE_PLUGIN_PINS`. */
function pinsOf(
  native: Obj,
  envOf: (name: string) => string | undefined,
  problems: ConfigProblem[],
): Pins {
  const pins: Pins = { sha256: new Map(), unpinned: new Set() };
  for (const part of (envOf("SLUICE_PLUGIN_PINS") ?? "").split(",")) {
    const at = part.lastIndexOf("=");
    if (at > 0) pins.sha256.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  if (isObj(native.plugin_pins)) {
    for (const [url, hash] of Object.entries(native.plugin_pins)) {
      pins.sha256.set(url, String(hash));
    }
  }
  if (Array.isArray(native.allow_unpinned)) {
    for (const url of native.allow_unpinned) pins.unpinned.add(String(url));
  }
  for (const key of Object.keys(native)) {
    if (!SLUICE_KEYS.includes(key)) {
      problems.push({
        path: `sluice.${key}`,
        message: `expected one of: ${SLUICE_KEYS.join(", ")}`,
        severity: "error",
      });
    }
  }
  return pins;
}

/** A callback `s3://bucket/dir/module.instance`: a Sluice plugin at `s3://bucket/dir/module.ts`. */
function bucketPlugin(
  name: string,
  path: string,
  callbackSettings: Obj,
  pins: Pins,
  fail: (path: string, message: string) => void,
): SinkEntry | undefined {
  const file = /\.(ts|js|mjs)$/.test(name) ? name : name.replace(/\.[A-Za-z_][\w]*$/, ".ts");
  const instance = name.slice(name.lastIndexOf("/") + 1).replace(/\.(ts|js|mjs)$/, "")
    .replaceAll(".", "-");
  const sha256 = pins.sha256.get(name) ?? pins.sha256.get(file);
  // `callback_settings.<callback>` holds the plugin's own config (LiteLLM's keys aside).
  const own = callbackSettings[name];
  const config = Object.fromEntries(
    Object.entries(isObj(own) ? own : {}).filter(([k]) =>
      k !== "message_logging" && k !== "callback_type"
    ),
  );
  const entry: SinkEntry = { name: instance, use: file, config };
  if (sha256) entry.sha256 = sha256;
  else if (pins.unpinned.has(name) || pins.unpinned.has(file)) entry.allow_unpinned = true;
  else {
    fail(
      path,
      `callback "${name}" loads code from a bucket and needs a pin: add to this file\n` +
        `      sluice:\n        plugin_pins:\n          "${name}": <sha256 of ${file}>\n` +
        `    or set SLUICE_PLUGIN_PINS="${name}=<sha256>" (or list it under sluice.allow_unpinned)`,
    );
    return undefined;
  }
  return entry;
}
