/**
 * Resolves `os.environ/NAME` and `${NAME}` references in a parsed config,
 * collects the secret values the redaction step must scrub from events, and
 * remembers where each resolved value came from, so that messages can name
 * the reference instead of showing the value.
 * @module
 */
import { MIN_SECRET_LENGTH } from "../redaction/secrets.ts";

/** One problem found while resolving or validating a config. */
export interface ConfigProblem {
  /** Key path, e.g. `models[0].api_key`. */
  path: string;
  /** What is wrong and what was expected. */
  message: string;
  /** Errors stop the gateway; warnings do not. */
  severity: "error" | "warning";
  /** 1-based line in the YAML file, when known. */
  line?: number;
}

/** The result of resolving environment references. */
export interface ResolvedEnv {
  /** The config with every reference replaced. */
  value: unknown;
  /** Key paths (as arrays) whose whole value came from the environment. */
  envPaths: (string | number)[][];
  /** Secret values: whatever came from the environment or sits under a secret-like key. */
  secrets: Set<string>;
  /**
   * For each string that held a reference, by formatted key path
   * (`server.port`): the text as written (`os.environ/PORT`, `${HOST}:80`).
   */
  origins: Map<string, string>;
  /** Unset variables and the like. */
  problems: ConfigProblem[];
}

const WHOLE_REF = /^(?:os\.environ\/([A-Za-z_][A-Za-z0-9_]*)|\$\{([A-Za-z_][A-Za-z0-9_]*)\})$/;
const INLINE_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const PUBLIC_ID = /key_?id$/i;

/**
 * Whether values under this key name are secrets: the gateway's one name
 * rule (`isSecretName`), under the name the config and loader code use.
 */
export { isSecretName as isSecretKeyName } from "../redaction/secrets.ts";
import { isSecretName } from "../redaction/secrets.ts";

/** Formats a key path as `models[0].api_key`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || "(root)";
}

/** Replaces environment references in every string of `input`. */
export function resolveEnv(
  input: unknown,
  getEnv: (name: string) => string | undefined = (name) => Deno.env.get(name),
): ResolvedEnv {
  const envPaths: (string | number)[][] = [];
  const secrets = new Set<string>();
  const problems: ConfigProblem[] = [];
  const origins = new Map<string, string>();

  const visit = (value: unknown, path: (string | number)[], secretKey: boolean): unknown => {
    const last = path[path.length - 1];
    // An identifier (an access key id) stays readable even when it comes from the environment.
    const publicId = typeof last === "string" && PUBLIC_ID.test(last);
    if (typeof value === "string") {
      const whole = WHOLE_REF.exec(value);
      if (whole) {
        const name = whole[1] ?? whole[2];
        const resolved = getEnv(name);
        if (resolved === undefined) {
          problems.push({
            path: formatPath(path),
            message: `environment variable ${name} is not set`,
            severity: "error",
          });
          return value;
        }
        envPaths.push(path);
        origins.set(formatPath(path), value);
        if (!publicId && resolved.length >= MIN_SECRET_LENGTH) secrets.add(resolved);
        return resolved;
      }
      let fromEnv = false;
      const replaced = value.replace(INLINE_REF, (_, name: string) => {
        const resolved = getEnv(name);
        if (resolved === undefined) {
          problems.push({
            path: formatPath(path),
            message: `environment variable ${name} is not set`,
            severity: "error",
          });
          return "";
        }
        fromEnv = !publicId;
        origins.set(formatPath(path), value);
        if (fromEnv && resolved.length >= MIN_SECRET_LENGTH) secrets.add(resolved);
        return resolved;
      });
      if ((secretKey || fromEnv) && replaced.length >= MIN_SECRET_LENGTH) secrets.add(replaced);
      return replaced;
    }
    if (Array.isArray(value)) return value.map((v, i) => visit(v, [...path, i], secretKey));
    if (value !== null && typeof value === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        out[k] = visit(v, [...path, k], isSecretName(k));
      }
      return out;
    }
    return value;
  };

  return { value: visit(input, [], false), envPaths, secrets, origins, problems };
}
