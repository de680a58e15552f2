/**
 * Errors of the plugin loader: {@link PluginLoadError} (public: names the
 * sink, the source, the cause and what to do) and {@link LoadIssue} (the
 * internal form thrown by the loader's steps, before the sink is named).
 * @module
 */

/** Why a sink plugin could not be loaded. */
export type PluginLoadErrorCode =
  /** No module at the path, or the package or short name does not resolve. */
  | "plugin_not_found"
  /** The module was found but failed to evaluate (syntax error, top-level throw). */
  | "import_failed"
  /** The fetched file's sha256 is not the pinned one. */
  | "hash_mismatch"
  /** A URL or bucket source has no `sha256:` pin. */
  | "hash_missing"
  /** The plugin implements another plugin API version. */
  | "api_version_mismatch"
  /** The module's default export is not a plugin definition. */
  | "invalid_plugin"
  /** The sink entry's `config:` (or `sha256:`) does not validate. */
  | "invalid_config"
  /** The plugin's `create()` threw, or returned no sink. */
  | "create_failed"
  /** The plugin asks for hosts or environment variables the sink entry does not grant. */
  | "permission_denied"
  /** The sandbox process failed to start or crashed while loading. */
  | "sandbox_failed"
  /** The URL or bucket could not be read. */
  | "source_fetch_failed"
  /** `use:` is not a source the loader accepts. */
  | "unsupported_source"
  /** The plugin cache under the data dir could not be written. */
  | "cache_failed";

/** A sink plugin that could not be loaded; the message says what to do. */
export class PluginLoadError extends Error {
  /** Machine-readable reason. */
  readonly code: PluginLoadErrorCode;
  /** The sink entry's instance name. */
  readonly sink: string;
  /** The entry's `use:` as shown in the message (credentials and query removed). */
  readonly source: string;

  /**
   * Creates the error; `message` is the full, already masked text.
   * @param code machine-readable reason
   * @param sink the instance name
   * @param source the source as displayed
   * @param message the full message
   */
  constructor(code: PluginLoadErrorCode, sink: string, source: string, message: string) {
    super(message);
    this.name = "PluginLoadError";
    this.code = code;
    this.sink = sink;
    this.source = source;
  }
}

/**
 * A failure of one loading step, not yet tied to a sink name. `loadSink`
 * turns it into a {@link PluginLoadError}, masking secrets.
 */
export class LoadIssue extends Error {
  /** Machine-readable reason. */
  readonly code: PluginLoadErrorCode;
  /** What the operator should do, appended to the message. */
  readonly hint?: string;

  /**
   * @param code machine-readable reason
   * @param cause what went wrong (no sink name, no source)
   * @param hint what to do about it
   */
  constructor(code: PluginLoadErrorCode, cause: string, hint?: string) {
    super(cause);
    this.name = "LoadIssue";
    this.code = code;
    this.hint = hint;
  }
}

/** The message of anything thrown, without a stack. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === "object" && err !== null && "message" in err) {
    return String((err as { message: unknown }).message);
  }
  return String(err);
}
