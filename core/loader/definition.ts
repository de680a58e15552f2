/**
 * Checks that an imported module default-exports a v1 plugin definition.
 * The check runs on a {@link PluginShape}: the definition's data fields and
 * the types of its functions, which a sandbox Worker can send by message
 * as well as the loader can read in-process.
 * @module
 */
import { type JsonSchema, SINK_EVENT_KINDS, type SinkEventKind } from "../plugin.ts";
import { PLUGIN_API_VERSION } from "../plugin.ts";
import { VERSION } from "../version.ts";
import { resolve } from "node:path";
import { LoadIssue } from "./errors.ts";

/** What a module's default export looks like, as plain data. */
export interface PluginShape {
  /** `typeof` the default export (`"undefined"` when there is none). */
  exportType: string;
  /** True when the module has a `default` export at all. */
  hasDefault: boolean;
  /** `name` field. */
  name?: unknown;
  /** `version` field. */
  version?: unknown;
  /** `apiVersion` field. */
  apiVersion?: unknown;
  /** `typeof create`. */
  createType?: string;
  /** `configSchema` (structured-cloned). */
  configSchema?: unknown;
  /** `permissions` (structured-cloned; left out when it is a function). */
  permissions?: unknown;
  /** `typeof permissions`. */
  permissionsType?: string;
  /** `defaultOn` (structured-cloned). */
  defaultOn?: unknown;
}

/** A validated plugin definition's metadata. */
export interface PluginMetadata {
  /** Plugin name. */
  name: string;
  /** Plugin semver. */
  version: string;
  /** JSON Schema of the config, if declared. */
  configSchema?: JsonSchema;
  /** Declared hosts (may be empty). */
  net: string[];
  /** Declared environment variables (may be empty). */
  env: string[];
  /** Declared files, absolute paths (may be empty). */
  read: string[];
  /** True when `permissions` is a function of the config (net, env and read are then empty). */
  derivedPermissions: boolean;
  /** `defaultOn`, if declared. */
  defaultOn?: SinkEventKind[];
}

/**
 * Reads the shape of an imported module namespace. Self-contained (no
 * outer references): the sandbox Worker runs its source text too.
 */
export function shapeOf(mod: unknown): PluginShape {
  const cloneable = (value: unknown): unknown => {
    if (value === undefined) return undefined;
    try {
      return structuredClone(value);
    } catch {
      return { __uncloneable: true };
    }
  };
  const ns = (typeof mod === "object" && mod !== null ? mod : {}) as Record<string, unknown>;
  const def = ns.default;
  const shape: PluginShape = { exportType: typeof def, hasDefault: "default" in ns };
  if (typeof def === "object" && def !== null) {
    const d = def as Record<string, unknown>;
    shape.name = typeof d.name === "string" ? d.name : cloneable(d.name);
    shape.version = typeof d.version === "string" ? d.version : cloneable(d.version);
    shape.apiVersion = cloneable(d.apiVersion);
    shape.createType = typeof d.create;
    shape.configSchema = cloneable(d.configSchema);
    shape.permissionsType = typeof d.permissions;
    if (typeof d.permissions !== "function") shape.permissions = cloneable(d.permissions);
    shape.defaultOn = cloneable(d.defaultOn);
  }
  return shape;
}

function stringList(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((v) => typeof v === "string") ? value : undefined;
}

/**
 * Validates a shape and returns the plugin's metadata.
 * @throws {LoadIssue} `invalid_plugin` saying what is missing, or `api_version_mismatch`
 */
export function validateShape(shape: PluginShape): PluginMetadata {
  const expected = "a plugin module must `export default { name, version, apiVersion: 1, " +
    "create(config, ctx) }` (see @sluice/core/plugin)";
  if (!shape.hasDefault || shape.exportType === "undefined") {
    throw new LoadIssue("invalid_plugin", "the module has no default export", expected);
  }
  if (shape.exportType !== "object") {
    throw new LoadIssue(
      "invalid_plugin",
      `the default export is a ${shape.exportType}, not a plugin definition object`,
      expected,
    );
  }
  const label = typeof shape.name === "string" ? `plugin "${shape.name}"` : "the plugin";
  if (typeof shape.apiVersion === "number" && shape.apiVersion !== PLUGIN_API_VERSION) {
    throw new LoadIssue(
      "api_version_mismatch",
      `${label} implements plugin API v${shape.apiVersion}; this gateway (${VERSION}) ` +
        `supports v${PLUGIN_API_VERSION}`,
      `use a release of the plugin built for plugin API v${PLUGIN_API_VERSION}, or a gateway ` +
        `that supports v${shape.apiVersion}`,
    );
  }
  const problems: string[] = [];
  if (typeof shape.name !== "string" || shape.name === "") problems.push("`name` (a string)");
  if (typeof shape.version !== "string" || shape.version === "") {
    problems.push("`version` (a string)");
  }
  if (shape.apiVersion === undefined) problems.push("`apiVersion` (1)");
  else if (shape.apiVersion !== PLUGIN_API_VERSION) {
    problems.push(`\`apiVersion\` (1, not ${JSON.stringify(shape.apiVersion)})`);
  }
  if (shape.createType !== "function") problems.push("`create` (a function)");
  if (problems.length > 0) {
    throw new LoadIssue(
      "invalid_plugin",
      `${label}'s default export lacks ${problems.join(", ")}`,
      expected,
    );
  }
  const invalid: string[] = [];
  const schema = shape.configSchema;
  if (
    schema !== undefined &&
    (typeof schema !== "object" || schema === null || Array.isArray(schema) ||
      "__uncloneable" in schema)
  ) {
    invalid.push("`configSchema` must be a plain JSON Schema object");
  }
  const { net, env, read } = readPermissions(shape.permissions, invalid);
  let defaultOn: SinkEventKind[] | undefined;
  if (shape.defaultOn !== undefined) {
    const list = stringList(shape.defaultOn);
    if (!list || list.some((k) => !(SINK_EVENT_KINDS as readonly string[]).includes(k))) {
      invalid.push(`\`defaultOn\` must be a list of ${SINK_EVENT_KINDS.join(", ")}`);
    } else defaultOn = list as SinkEventKind[];
  }
  if (invalid.length > 0) {
    throw new LoadIssue("invalid_plugin", `${label}: ${invalid.join("; ")}`, expected);
  }
  return {
    name: shape.name as string,
    version: shape.version as string,
    configSchema: schema as JsonSchema | undefined,
    net,
    env,
    read,
    derivedPermissions: shape.permissionsType === "function",
    defaultOn,
  };
}

/**
 * Reads a `permissions` value (declared, or returned by `permissions(config)`)
 * as host, variable and file lists; what is malformed is pushed to `invalid`.
 */
export function readPermissions(
  value: unknown,
  invalid: string[],
): { net: string[]; env: string[]; read: string[] } {
  if (value === undefined) return { net: [], env: [], read: [] };
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    invalid.push(
      "`permissions` must be an object { net?: string[], env?: string[], read?: string[] }",
    );
    return { net: [], env: [], read: [] };
  }
  const perms = value as Record<string, unknown>;
  const net = perms.net === undefined ? [] : stringList(perms.net);
  const env = perms.env === undefined ? [] : stringList(perms.env);
  const read = perms.read === undefined ? [] : stringList(perms.read);
  if (!net) invalid.push("`permissions.net` must be a list of host names");
  if (!env) invalid.push("`permissions.env` must be a list of variable names");
  if (!read || read.some((path) => path.trim() === "" || path.includes("\0"))) {
    invalid.push("`permissions.read` must be a list of file paths");
  }
  return { net: net ?? [], env: env ?? [], read: filePaths(read ?? []) };
}

/**
 * File paths as absolute paths, relative ones against the gateway's
 * working directory (where a plugin in the gateway would open them, and
 * the sandbox process's own working directory).
 */
export function filePaths(paths: readonly string[]): string[] {
  return paths.filter((path) => path.trim() !== "" && !path.includes("\0"))
    .map((path) => resolve(path));
}
