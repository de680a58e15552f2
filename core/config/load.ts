/**
 * Reads, resolves and validates a gateway config. Errors name the key path,
 * the bad value and what was expected; unknown keys get a "did you mean".
 * @module
 */
import { LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import { configJsonSchema, configSchema } from "./schema.ts";
import type { GatewayConfig, LoadedFacts } from "./types.ts";
import { type ConfigProblem, formatPath, resolveEnv } from "./env.ts";
import { createScrubber, maskSecrets, type Scrubber } from "../redaction/scrub.ts";
import { didYouMean } from "./did_you_mean.ts";
import { isLiteLLMConfig, translateLiteLLMConfig } from "./litellm.ts";
import { checkSemantics } from "./semantics.ts";

export type { ConfigProblem } from "./env.ts";

/** Thrown when a config has errors; `problems` lists every one of them. */
export class ConfigError extends Error {
  /** Stable error code. */
  readonly code = "invalid_config";
  /** Every error and warning found. */
  readonly problems: ConfigProblem[];

  /** Creates the error from its problems; the message lists the errors. */
  constructor(source: string, problems: ConfigProblem[]) {
    const errors = problems.filter((p) => p.severity === "error");
    super(
      `invalid config ${source}:\n` + errors.map((p) => "  " + formatProblem(p)).join("\n"),
    );
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/** One problem as a line: `models[0].provider (line 4): expected …`. */
export function formatProblem(p: ConfigProblem): string {
  return `${p.path}${p.line ? ` (line ${p.line})` : ""}: ${p.message}`;
}

/** The result of checking a config: the config (when valid) and every problem. */
export interface ConfigCheck {
  /** The validated config, or undefined when there are errors. */
  config?: GatewayConfig;
  /** Errors and warnings, in file order where known. */
  problems: ConfigProblem[];
}

/** Configs this process validated (a shortcut for `parseConfig` of its own result). */
const validated = new WeakSet<GatewayConfig>();

/** The directory relative paths in a config resolve against: its file's directory, else the working directory. */
export function configBaseDir(config: GatewayConfig): string {
  return config.loaded?.base_dir ?? Deno.cwd();
}

/** Secret values of a config (from the environment or under secret-like keys); copies keep them. */
export function configSecrets(config: GatewayConfig): ReadonlySet<string> {
  return new Set(config.loaded?.secrets);
}

const scrubberByConfig = new WeakMap<GatewayConfig, Scrubber>();

/** The credential scrubber for what leaves a gateway with this config (its secrets and credential patterns). */
export function configScrubber(config: GatewayConfig): Scrubber {
  let scrubber = scrubberByConfig.get(config);
  if (!scrubber) scrubberByConfig.set(config, scrubber = createScrubber(configSecrets(config)));
  return scrubber;
}

/** Options for parsing a config. */
export interface ParseConfigOptions {
  /** Where the config came from, for messages. */
  source?: string;
  /** Environment lookup (default: `Deno.env.get`). */
  env?: (name: string) => string | undefined;
  /** Maps a key path to a line of the source file. */
  lineOf?: (path: (string | number)[]) => number | undefined;
  /**
   * Where a LiteLLM config's `sluice.plugins` paths resolve (default: the
   * config file's directory, else the working directory).
   */
  baseDir?: string;
}

/** What a LiteLLM translation adds to a check: its problems, and env-derived values. */
interface Translated {
  problems: ConfigProblem[];
  origins: ReadonlyMap<string, string>;
  secrets: ReadonlySet<string>;
}

/**
 * Validates a config object (already parsed from YAML or built in code), in
 * Sluice's shape or a LiteLLM `config.yaml`'s. A LiteLLM config's callbacks
 * are mapped by the plugins that claim them, which are imported: hence async.
 */
export async function checkConfig(
  input: unknown,
  options: ParseConfigOptions = {},
): Promise<ConfigCheck> {
  if (!isLiteLLMConfig(input)) return checkNative(input ?? {}, options);
  const baseEnv = options.env ?? ((name: string) => Deno.env.get(name));
  const translated = await translateLiteLLMConfig(input, baseEnv, options.baseDir ?? Deno.cwd());
  return checkNative(translated.config, options, translated);
}

/** Validates a config object in Sluice's own shape (`translated`: what a LiteLLM translation found). */
function checkNative(
  raw: unknown,
  options: ParseConfigOptions,
  translated?: Translated,
): ConfigCheck {
  const problems: ConfigProblem[] = [...translated?.problems ?? []];
  // A copy of a validated config carries its facts; they are not part of the file's shape.
  const { loaded, ...rest } = (raw ?? {}) as { loaded?: Partial<LoadedFacts> };
  const carried = { secrets: Array.isArray(loaded?.secrets) ? loaded.secrets.map(String) : [] };
  raw = rest;
  const baseDir = options.baseDir ?? loaded?.base_dir;
  const baseEnv = options.env ?? ((name: string) => Deno.env.get(name));
  // `environment:` values are visible to os.environ/ references, as they will be at run time.
  const own = (raw as { environment?: unknown }).environment;
  const environment = own && typeof own === "object" ? own as Record<string, unknown> : {};
  const env = (name: string) =>
    typeof environment[name] === "string" ? environment[name] as string : baseEnv(name);
  const resolved = resolveEnv(raw, env);
  problems.push(...resolved.problems);
  for (const [path, ref] of translated?.origins ?? []) resolved.origins.set(path, ref);
  for (const secret of translated?.secrets ?? []) resolved.secrets.add(secret);
  let value = resolved.value;
  let result = configSchema.safeParse(value, { reportInput: true });
  if (!result.success) {
    // Values from the environment are strings: coerce them where a number or boolean is expected.
    const coerced = coerceEnvValues(value, resolved.envPaths, result.error.issues);
    if (coerced !== value) {
      value = coerced;
      result = configSchema.safeParse(value, { reportInput: true });
    }
  }
  if (!result.success) {
    const origins = resolved.origins;
    for (const issue of result.error.issues) {
      problems.push(...describeIssue(issue, value, origins));
    }
  } else {
    problems.push(...checkSemantics(result.data));
  }
  for (const p of problems) {
    if (p.line === undefined && options.lineOf) p.line = options.lineOf(pathParts(p.path));
    // No message shows a secret value, whatever check wrote it.
    p.message = maskSecrets(p.message, resolved.secrets);
  }
  if (!result.success || problems.some((p) => p.severity === "error")) return { problems };
  const config: GatewayConfig = {
    ...result.data,
    loaded: { secrets: [...new Set([...resolved.secrets, ...carried.secrets])], base_dir: baseDir },
  };
  validated.add(config);
  return { config, problems };
}

/**
 * Validates a config object in Sluice's shape and returns it with defaults,
 * or throws {@link ConfigError}. A LiteLLM config needs its plugins
 * imported: give it to `checkConfig`, `loadConfig` or `createGateway`.
 */
export function parseConfig(input: unknown, options: ParseConfigOptions = {}): GatewayConfig {
  if (input && typeof input === "object" && validated.has(input as GatewayConfig)) {
    return input as GatewayConfig;
  }
  if (isLiteLLMConfig(input)) {
    throw new ConfigError(options.source ?? "(object)", [{
      path: "(root)",
      severity: "error",
      message: "a LiteLLM config: its callbacks are mapped by their plugins, which must be " +
        "imported first: use await checkConfig(…), loadConfig(…) or createGateway(…)",
    }]);
  }
  const { config, problems } = checkNative(input ?? {}, options);
  if (!config) throw new ConfigError(options.source ?? "(object)", problems);
  return config;
}

/** Reads a YAML file and checks it, keeping line numbers for every problem. */
export async function checkConfigFile(
  path: string,
  options: Omit<ParseConfigOptions, "source" | "lineOf"> = {},
): Promise<ConfigCheck> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound ? "file not found" : String(error);
    return {
      problems: [{ path: "(file)", message: `cannot read ${path}: ${reason}`, severity: "error" }],
    };
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    return {
      problems: doc.errors.map((e) => ({
        path: "(yaml)",
        message: e.message.split("\n")[0],
        severity: "error" as const,
        line: e.linePos?.[0]?.line,
      })),
    };
  }
  const lineOf = (parts: (string | number)[]): number | undefined => {
    // The deepest node that exists: an unknown key's own node, else its parent's.
    for (let n = parts.length; n > 0; n--) {
      const node = doc.getIn(parts.slice(0, n), true) as { range?: number[] } | undefined;
      if (node && typeof node === "object" && node.range) {
        return lineCounter.linePos(node.range[0]).line;
      }
    }
    return undefined;
  };
  const absolute = path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
  const baseDir = absolute.slice(0, absolute.lastIndexOf("/")) || "/";
  const check = await checkConfig(doc.toJS(), { baseDir, ...options, source: path, lineOf });
  return check;
}

/** Loads and validates a YAML config file (Sluice's native shape or a LiteLLM `config.yaml`). */
export async function loadConfig(
  path: string,
  options: Omit<ParseConfigOptions, "source" | "lineOf"> = {},
): Promise<GatewayConfig> {
  const { config, problems } = await checkConfigFile(path, options);
  if (!config) throw new ConfigError(path, problems);
  for (const p of problems) console.warn(`sluice: config warning: ${formatProblem(p)}`);
  return config;
}

function pathParts(path: string): (string | number)[] {
  const parts: (string | number)[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    parts.push(m[2] !== undefined ? Number(m[2]) : m[1]);
  }
  return parts;
}

/**
 * A value as messages show it. One resolved from the environment is named by
 * its reference (`a string from os.environ/PORT`), never shown.
 */
function describeValue(value: unknown, origin?: string): string {
  if (origin !== undefined) {
    const ref = /^(?:os\.environ\/\w+|\$\{\w+\})$/.test(origin) ? origin : JSON.stringify(origin);
    return `${typeof value === "string" ? "a string" : "a value"} from ${ref}`;
  }
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") {
    return `string ${JSON.stringify(value.length > 40 ? value.slice(0, 37) + "..." : value)}`;
  }
  return `${typeof value} ${String(value)}`;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const part of path) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<PropertyKey, unknown>)[part];
  }
  return node;
}

type JsonSchema = {
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  additionalProperties?: unknown;
};
let jsonSchema: JsonSchema | undefined;

/** The keys an object at `path` may have, from the config's JSON Schema. */
function knownKeysAt(path: readonly PropertyKey[]): string[] {
  jsonSchema ??= configJsonSchema() as JsonSchema;
  let nodes: JsonSchema[] = [jsonSchema];
  for (const part of path) {
    const next: JsonSchema[] = [];
    for (const node of nodes.flatMap((n) => [n, ...(n.anyOf ?? [])])) {
      if (typeof part === "number" && node.items) next.push(node.items);
      else if (typeof part === "string" && node.properties?.[part]) {
        next.push(node.properties[part]);
      }
    }
    nodes = next;
  }
  return nodes.flatMap((n) => [n, ...(n.anyOf ?? [])]).flatMap((n) =>
    Object.keys(n.properties ?? {})
  );
}

function describeIssue(
  issue: z.core.$ZodIssue,
  root: unknown,
  origins: ReadonlyMap<string, string>,
): ConfigProblem[] {
  const path = formatPath(issue.path);
  const value = valueAt(root, issue.path);
  const shown = describeValue(value, origins.get(path));
  const error = (message: string, at = path): ConfigProblem => ({
    path: at,
    message,
    severity: "error",
  });
  switch (issue.code) {
    case "unrecognized_keys": {
      const known = knownKeysAt(issue.path);
      return issue.keys.map((key) => {
        const guess = didYouMean(key, known);
        const at = formatPath([...issue.path, key]);
        return error(
          `unknown key "${key}"` + (guess ? `; did you mean "${guess}"?` : "") +
            (known.length ? ` (expected one of: ${known.join(", ")})` : ""),
          at,
        );
      });
    }
    case "invalid_type":
      return [
        error(
          value === undefined
            ? `is required (expected ${issue.expected})`
            : `expected ${issue.expected}, got ${shown}`,
        ),
      ];
    case "invalid_value": {
      const options = issue.values.map((v) => JSON.stringify(v));
      const guess = typeof value === "string"
        ? didYouMean(value, issue.values.map(String))
        : undefined;
      return [
        error(
          `expected one of ${options.join(" | ")}, got ${shown}` +
            (guess ? `; did you mean "${guess}"?` : ""),
        ),
      ];
    }
    case "invalid_union": {
      // A branch whose type matched but whose contents did not: report the inner problem.
      const inner = issue.errors.find((branch) =>
        branch.length > 0 && branch.every((i) => i.path.length > 0)
      );
      if (inner) {
        return inner.flatMap((i) =>
          describeIssue({ ...i, path: [...issue.path, ...i.path] }, root, origins)
        );
      }
      const nested = issue.errors.flat();
      const expected = nested.map((i) =>
        i.code === "invalid_value"
          ? i.values.map((v) => JSON.stringify(v)).join(" | ")
          : i.code === "invalid_type"
          ? i.expected
          : i.message
      );
      return [
        error(`expected ${[...new Set(expected)].join(" or ")}, got ${shown}`),
      ];
    }
    default:
      return [
        error(`${issue.message.replace(/^Invalid input: /, "")}, got ${shown}`),
      ];
  }
}

function coerceEnvValues(
  value: unknown,
  envPaths: (string | number)[][],
  issues: readonly z.core.$ZodIssue[],
): unknown {
  const envKeys = new Set(envPaths.map((p) => JSON.stringify(p)));
  let out = value;
  for (const issue of issues) {
    if (issue.code !== "invalid_type" || !envKeys.has(JSON.stringify(issue.path))) continue;
    const text = valueAt(out, issue.path);
    if (typeof text !== "string") continue;
    let coerced: unknown;
    if ((issue.expected === "number" || issue.expected === "int") && /^-?\d+(\.\d+)?$/.test(text)) {
      coerced = Number(text);
    } else if (issue.expected === "boolean" && /^(true|false)$/i.test(text)) {
      coerced = text.toLowerCase() === "true";
    } else continue;
    out = structuredClone(out);
    const parent = valueAt(out, issue.path.slice(0, -1)) as Record<PropertyKey, unknown>;
    parent[issue.path[issue.path.length - 1]] = coerced;
  }
  return out;
}
