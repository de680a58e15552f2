/**
 * Finds the plugin that answers to a LiteLLM callback name: each plugin
 * declares its names in its definition's `litellm.callbacks` (the
 * contract's {@link LiteLLMMapping}). The plugins a config lists under
 * `sluice.plugins` are asked first, then the built-in ones, imported only
 * as far as needed (a name that is a built-in plugin's own name first).
 * Core imports no plugin statically: a built-in name is the loader's
 * `@sluice/<name>` specifier.
 * @module
 */
import type { LiteLLMMapping } from "../plugin.ts";
import { errorMessage } from "../loader/errors.ts";
import { importBuiltin, importModule } from "../loader/import.ts";
import { displaySource, parseSource } from "../loader/source.ts";

/** The built-in plugins, in the order they are asked (light imports first). */
export const BUILTIN_PLUGINS: readonly string[] = [
  "console",
  "jsonl",
  "sqlite",
  "webhook",
  "openmeter",
  "datadog",
  "langsmith",
  "lunary",
  "mlflow",
  "athina",
  "deepeval",
  "galileo",
  "sentry",
  "s3",
  "sqs",
  "dynamodb",
  "gcs",
  "gcs-pubsub",
  "azure-blob",
  "azure-sentinel",
  "langfuse",
  "otel",
];

/** A plugin that claimed a callback name. */
export interface CallbackClaim {
  /** The sink entry's `use:` (a built-in name, or the source as listed). */
  use: string;
  /** The plugin's name, for messages. */
  plugin: string;
  /** Its mapping. */
  mapping: LiteLLMMapping;
}

/** Callback names → claims, filled as plugins are imported. */
export class CallbackPlugins {
  /** Claims by callback name (the first plugin to claim a name keeps it). */
  readonly claims: Map<string, CallbackClaim> = new Map();
  /** `litellm_settings` keys the imported plugins read. */
  readonly settings: Set<string> = new Set();
  /** Built-in plugins that failed to import while names were looked up. */
  readonly failures: string[] = [];
  #asked = new Set<string>();

  /** Imports `use` and registers its claims; throws with the reason when it cannot be used. */
  async add(use: string, baseDir: string): Promise<void> {
    if (this.#asked.has(use)) return;
    this.#asked.add(use);
    const source = parseSource(use, baseDir);
    let mod: unknown;
    if (source.kind === "builtin") mod = await importBuiltin(source);
    else if (source.kind === "file") mod = await importModule(source.url, displaySource(use));
    else if (source.kind === "registry") mod = await importModule(source.specifier, use);
    else {
      throw new Error(
        `${displaySource(use)}: only local paths and npm:/jsr: plugins can map LiteLLM ` +
          "callbacks (a remote plugin's code runs sandboxed, never while the config loads)",
      );
    }
    const definition = (mod as { default?: { name?: unknown; litellm?: unknown } }).default;
    const mapping = definition?.litellm;
    if (mapping === undefined) return;
    const plugin = typeof definition?.name === "string" ? definition.name : use;
    if (!isMapping(mapping)) {
      throw new Error(
        `plugin "${plugin}" (${displaySource(use)}): litellm must be ` +
          "{ callbacks: string[], settings?: string[], toSink?(input) }",
      );
    }
    for (const name of mapping.callbacks) {
      if (!this.claims.has(name)) this.claims.set(name, { use, plugin, mapping });
    }
    for (const key of mapping.settings ?? []) this.settings.add(key);
  }

  /**
   * Asks built-in plugins until every name in `names` is claimed: one named
   * like the callback first, then the rest in order. A built-in that fails
   * to import is skipped and listed in {@link CallbackPlugins.failures}.
   */
  async resolve(names: Iterable<string>, baseDir: string): Promise<void> {
    const missing = () => [...names].filter((n) => !this.claims.has(n));
    const own = missing().filter((n) => BUILTIN_PLUGINS.includes(n));
    await Promise.all(own.map((n) => this.#addBuiltin(n, baseDir)));
    for (const builtin of BUILTIN_PLUGINS) {
      if (missing().length === 0) return;
      await this.#addBuiltin(builtin, baseDir);
    }
  }

  async #addBuiltin(name: string, baseDir: string): Promise<void> {
    try {
      await this.add(name, baseDir);
    } catch (error) {
      this.failures.push(`built-in plugin "${name}" could not be asked: ${errorMessage(error)}`);
    }
  }
}

function isMapping(value: unknown): value is LiteLLMMapping {
  const m = value as Partial<LiteLLMMapping> | null;
  return typeof m === "object" && m !== null && Array.isArray(m.callbacks) &&
    m.callbacks.every((c) => typeof c === "string") &&
    (m.settings === undefined ||
      (Array.isArray(m.settings) && m.settings.every((s) => typeof s === "string"))) &&
    (m.toSink === undefined || typeof m.toSink === "function");
}
