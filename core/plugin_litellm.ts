/**
 * The LiteLLM mapping of the plugin contract (an optional member of v1,
 * re-exported by `@sluice/core/plugin`): which LiteLLM callback names a
 * plugin answers to, and how LiteLLM's settings and environment variables
 * become its sink entry. Core's LiteLLM translator finds the plugin that
 * claims a callback name and calls its mapping; it knows no plugin's keys.
 *
 * This file has no runtime dependencies.
 * @module
 */
import type { SinkEventKind } from "./plugin.ts";

/** A problem found while mapping LiteLLM settings, named by its LiteLLM key path. */
export interface LiteLLMProblem {
  /** The LiteLLM key path, e.g. `litellm_settings.s3_callback_params.s3_bucket_name`. */
  path: string;
  /** What is wrong or ignored, and what to do. Never a secret value. */
  message: string;
  /** Errors stop the gateway (the callback gets no sink); warnings are listed. */
  severity: "error" | "warning";
}

/** What a mapping is given for one enabled callback. */
export interface LiteLLMCallbackInput {
  /** The callback name the plugin claimed: the listed name, or its `callback_type`. */
  callback: string;
  /** The name as listed in `litellm_settings` (the sink's instance name). */
  name: string;
  /** Where the name is listed, e.g. `litellm_settings.callbacks[1]`. */
  path: string;
  /** `callback_settings.<name>` (empty when there is none). */
  callbackSettings: Readonly<Record<string, unknown>>;
  /** The whole `litellm_settings` section (empty when there is none). */
  litellmSettings: Readonly<Record<string, unknown>>;
  /**
   * Reads an environment variable: the config's `environment_variables`
   * first, then the process environment. Reads are recorded: a value put in
   * the entry is treated as a secret and named `os.environ/NAME` in
   * messages, never shown.
   */
  env(name: string): string | undefined;
}

/**
 * The sink entry a mapping builds (every part optional). `config` keys are
 * the plugin's own option names (`Config`'s keys): renaming an option is a
 * type error in the mapping, not a silently broken migration.
 */
export interface LiteLLMSinkEntry<Config = Record<string, unknown>> {
  /** The plugin's `config:` (default `{}`); `os.environ/NAME` references are kept as written. */
  config?: { [K in keyof Config]?: unknown };
  /** `required: true` (billing, audit): `no-log` and disabled-callback headers cannot skip it. */
  required?: boolean;
  /** `on:`, replacing the one the callback list implies. */
  on?: SinkEventKind[];
  /** Core's queue settings of the entry (`batch_size`, `flush_interval_ms`, …). */
  queue?: Record<string, unknown>;
  /** The entry's `redaction:` (LiteLLM's global settings are merged in by core). */
  redaction?: Record<string, unknown>;
  /** Warnings and errors, at LiteLLM key paths. With an error the callback gets no sink. */
  problems?: LiteLLMProblem[];
}

/**
 * How a plugin answers to LiteLLM callback names.
 *
 * @example A plugin that answers to LiteLLM's `my_logger` callback
 * ```ts
 * import type { LiteLLMMapping } from "@sluice/core/plugin";
 *
 * const litellm: LiteLLMMapping = {
 *   callbacks: ["my_logger"],
 *   settings: ["my_logger_params"],
 *   toSink({ litellmSettings, env }) {
 *     const params = (litellmSettings.my_logger_params ?? {}) as Record<string, unknown>;
 *     return { config: { url: params.url ?? env("MY_LOGGER_URL") } };
 *   },
 * };
 * const entry = litellm.toSink!({
 *   callback: "my_logger",
 *   name: "my_logger",
 *   path: "litellm_settings.callbacks[0]",
 *   callbackSettings: {},
 *   litellmSettings: { my_logger_params: { url: "https://logs.example.com" } },
 *   env: () => undefined,
 * });
 * if (entry.config?.url !== "https://logs.example.com") throw new Error("unexpected");
 * ```
 */
export interface LiteLLMMapping<Config = Record<string, unknown>> {
  /** Callback names (`litellm_settings.callbacks` entries, `callback_type`s) it answers to. */
  callbacks: string[];
  /** `litellm_settings` keys the mapping reads, so they are not reported as unsupported. */
  settings?: string[];
  /**
   * Builds the sink entry for one enabled callback; default `{ config: {} }`.
   * Runs synchronously while the config loads (in the gateway's process,
   * before any sandbox): read only its input, no I/O.
   */
  toSink?(input: LiteLLMCallbackInput): LiteLLMSinkEntry<Config>;
}
