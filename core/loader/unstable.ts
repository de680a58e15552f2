/**
 * Detects whether Deno's `worker-options` unstable feature is on, which the
 * sandbox needs for `new Worker(url, { deno: { permissions } })`.
 *
 * It cannot be probed by trying: without the feature, Deno ends the whole
 * process (exit code 70) at the Worker constructor instead of throwing. So
 * this reads what Deno itself read: the command line (`/proc/self/cmdline`,
 * for `--unstable-worker-options`) and the config file Deno discovered
 * (`--config`, else the nearest `deno.json`/`deno.jsonc` above the main
 * module for `deno run`/`serve`, above the working directory for `deno
 * test`/`bench`/`eval`, and its workspace root), looking for
 * `"unstable": ["worker-options"]`. Reads happen only where read permission
 * is already granted (never a prompt). Callers that know better pass
 * `workerOptions` in the loader options.
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The flag that enables the feature. */
export const WORKER_OPTIONS_FLAG = "--unstable-worker-options";

/** Subcommands whose config is discovered from the working directory. */
const CWD_SUBCOMMANDS = new Set(["test", "bench", "eval", "repl", "jupyter"]);

let cached: boolean | undefined;

function canRead(path: string): boolean {
  try {
    return Deno.permissions.querySync({ name: "read", path }).state === "granted";
  } catch {
    return false;
  }
}

function readText(path: string): string | undefined {
  if (!canRead(path)) return undefined;
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

/** The process's arguments, or undefined where `/proc/self/cmdline` is unreadable. */
function commandLine(): string[] | undefined {
  const text = readText("/proc/self/cmdline");
  return text === undefined ? undefined : text.split("\0").filter((a) => a !== "");
}

/** Strips `//` and `/* *\/` comments and trailing commas outside strings (JSONC → JSON). */
export function jsoncToJson(text: string): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end === -1 ? text.length : end + 2;
    } else {
      out += c;
      i++;
    }
  }
  return out.replace(/,(\s*[}\]])/g, "$1");
}

function readConfig(path: string): Record<string, unknown> | undefined {
  const text = readText(path);
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(path.endsWith(".jsonc") ? jsoncToJson(text) : text);
    return typeof value === "object" && value !== null ? value : undefined;
  } catch {
    try {
      return JSON.parse(jsoncToJson(text));
    } catch {
      return undefined;
    }
  }
}

function listsFeature(config: Record<string, unknown> | undefined): boolean {
  const unstable = config?.unstable;
  return Array.isArray(unstable) && unstable.includes("worker-options");
}

/** True when `dir` is one of the workspace `members` of the config in `rootDir` (`*` globs). */
function isMember(config: Record<string, unknown>, rootDir: string, dir: string): boolean {
  const ws = config.workspace;
  const members = Array.isArray(ws)
    ? ws
    : typeof ws === "object" && ws !== null && Array.isArray((ws as { members?: unknown }).members)
    ? (ws as { members: unknown[] }).members
    : [];
  return members.some((m) => {
    if (typeof m !== "string") return false;
    const pattern = resolve(rootDir, m).split("*").map((part) =>
      part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")
    ).join("[^/]+");
    return new RegExp(`^${pattern}/?$`).test(dir);
  });
}

/**
 * True when the nearest config above `dir` lists the feature, or that
 * config is a member of a workspace whose root config lists it.
 */
export function configEnablesWorkerOptions(dir: string): boolean {
  let current = resolve(dir);
  let nearestDir: string | undefined;
  while (true) {
    for (const name of ["deno.json", "deno.jsonc"]) {
      const config = readConfig(join(current, name));
      if (config === undefined) continue;
      if (nearestDir === undefined) {
        if (listsFeature(config)) return true;
        nearestDir = current;
      } else if ("workspace" in config && isMember(config, current, nearestDir)) {
        return listsFeature(config);
      }
      break;
    }
    const parent = dirname(current);
    if (parent === current) return false;
    current = parent;
  }
}

/** The value of `--config`/`-c`, if given. */
function configFlag(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--config" || a === "-c") return args[i + 1];
    if (a.startsWith("--config=")) return a.slice("--config=".length);
    if (a.startsWith("-c=")) return a.slice(3);
  }
  return undefined;
}

/** Detects the feature (see the module doc); the answer is cached per process. */
export function workerOptionsEnabled(): boolean {
  if (cached !== undefined) return cached;
  cached = detect();
  return cached;
}

function cwd(): string | undefined {
  try {
    return Deno.cwd();
  } catch {
    return undefined;
  }
}

function detect(): boolean {
  const args = commandLine();
  // Flags after the script name belong to the script: look only before it.
  if (args) {
    const scriptIndex = args.findIndex((a, i) =>
      i > 0 && !a.startsWith("-") && /\.(m?[jt]sx?|c[jt]s)$|^(https?|file|npm|jsr):/.test(a)
    );
    const denoArgs = scriptIndex === -1 ? args : args.slice(0, scriptIndex);
    if (denoArgs.includes(WORKER_OPTIONS_FLAG)) return true;
    if (denoArgs.includes("--no-config")) return false;
    const explicit = configFlag(denoArgs);
    if (explicit) return listsFeature(readConfig(resolve(explicit)));
    const sub = denoArgs.slice(1).find((a) => !a.startsWith("-"));
    if (sub && CWD_SUBCOMMANDS.has(sub)) {
      const dir = cwd();
      return dir !== undefined && configEnablesWorkerOptions(dir);
    }
  }
  if (Deno.mainModule.startsWith("file:")) {
    if (configEnablesWorkerOptions(dirname(fileURLToPath(Deno.mainModule)))) return true;
  }
  const dir = args === undefined ? cwd() : undefined;
  return dir !== undefined && configEnablesWorkerOptions(dir);
}
