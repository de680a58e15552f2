/**
 * Model-name wildcards, as LiteLLM's wildcard routing uses them: a public
 * name with `*` (`"*"`, `"openai/*"`, `"fo::*::static::*"`) stands for every
 * name it matches, each `*` matching any run of characters (none included).
 * The upstream model of a matched name is the entry's `model` with each `*`
 * replaced, in order, by what the pattern's `*`s captured; a `model` without
 * `*` is used as written; one with fewer `*`s than the pattern gets the
 * requested name as is. Among patterns, the longest wins, then the one with
 * more `*`s, then config order (LiteLLM's specificity order).
 * @module
 */

/** A compiled public-name pattern. */
export interface ModelPattern {
  /** The pattern as configured, e.g. `openai/*`. */
  readonly name: string;
  /** Anchored regex with one capture group per `*`. */
  readonly regex: RegExp;
}

/** Whether a public model name is a pattern (holds a `*`). */
export function isModelPattern(name: string): boolean {
  return name.includes("*");
}

/**
 * Compiles a public-name pattern.
 *
 * @example
 * ```ts
 * import { compileModelPattern, matchModelPattern } from "./model_pattern.ts";
 * const p = compileModelPattern("openai/*");
 * console.assert(matchModelPattern(p, "openai/gpt-4o")?.[0] === "gpt-4o");
 * ```
 */
export function compileModelPattern(name: string): ModelPattern {
  const source = name.split("*").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join("(.*)");
  return { name, regex: new RegExp(`^${source}$`, "s") };
}

/** What each `*` of `pattern` captured from `name`, or undefined when it does not match. */
export function matchModelPattern(pattern: ModelPattern, name: string): string[] | undefined {
  const match = pattern.regex.exec(name);
  return match ? match.slice(1) : undefined;
}

/**
 * Patterns in the order they are tried: longest first, then more `*`s, then
 * as given (the sort is stable).
 */
export function byModelSpecificity<T extends { name: string }>(patterns: T[]): T[] {
  const stars = (name: string) => name.split("*").length - 1;
  return [...patterns].sort((a, b) =>
    b.name.length - a.name.length || stars(b.name) - stars(a.name)
  );
}

/**
 * The upstream model for a requested name matched by a pattern: `template`
 * (the entry's `model`) with each `*` replaced by the next captured segment.
 *
 * @example
 * ```ts
 * import { upstreamModelFor } from "./model_pattern.ts";
 * console.assert(upstreamModelFor("*", ["gpt-4o-mini"], "openai/gpt-4o-mini") === "gpt-4o-mini");
 * console.assert(upstreamModelFor("fixed", ["x"], "x") === "fixed");
 * ```
 */
export function upstreamModelFor(template: string, segments: string[], requested: string): string {
  const parts = template.split("*");
  if (parts.length === 1) return template;
  if (segments.length > parts.length - 1) return requested;
  let out = parts[0];
  for (let i = 1; i < parts.length; i++) out += (segments[i - 1] ?? "*") + parts[i];
  return out;
}

/**
 * Resolves names against a fixed set of public names: exact names first,
 * then patterns by specificity. Built once per config.
 */
export class ModelNames {
  readonly #exact: ReadonlySet<string>;
  readonly #patterns: readonly ModelPattern[];

  /** Indexes `names` (exact names and patterns, duplicates allowed). */
  constructor(names: Iterable<string>) {
    const exact = new Set<string>();
    const patterns = new Map<string, ModelPattern>();
    for (const name of names) {
      if (!isModelPattern(name)) exact.add(name);
      else if (!patterns.has(name)) patterns.set(name, compileModelPattern(name));
    }
    this.#exact = exact;
    this.#patterns = byModelSpecificity([...patterns.values()]);
  }

  /** Whether any pattern is configured. */
  get hasPatterns(): boolean {
    return this.#patterns.length > 0;
  }

  /**
   * The configured name that serves `name`: itself when configured exactly,
   * else the most specific pattern that matches it, else undefined.
   */
  resolve(name: string): string | undefined {
    if (this.#exact.has(name)) return name;
    for (const pattern of this.#patterns) if (pattern.regex.test(name)) return pattern.name;
    return undefined;
  }

  /** The most specific pattern matching `name` and what its `*`s captured (exact names ignored). */
  matchPattern(name: string): { pattern: ModelPattern; segments: string[] } | undefined {
    for (const pattern of this.#patterns) {
      const segments = matchModelPattern(pattern, name);
      if (segments) return { pattern, segments };
    }
    return undefined;
  }
}

/**
 * Whether a key's `models:` allow-list admits `name`: an entry equal to it,
 * or a pattern entry (`openai/*`, `*`) that matches it. A configured
 * pattern name (`openai/*`) is admitted by an equal entry or a pattern that
 * matches its text (`*`).
 *
 * @example
 * ```ts
 * import { allowListAdmits } from "./model_pattern.ts";
 * console.assert(allowListAdmits(["openai/*"], "openai/gpt-4o"));
 * console.assert(!allowListAdmits(["openai/*"], "anthropic/claude"));
 * ```
 */
export function allowListAdmits(allowed: readonly string[], name: string): boolean {
  for (const entry of allowed) {
    if (entry === name) return true;
    if (isModelPattern(entry) && compiled(entry).regex.test(name)) return true;
  }
  return false;
}

const COMPILED = new Map<string, ModelPattern>();

/** A pattern compiled once (allow-lists are few and fixed by config). */
function compiled(name: string): ModelPattern {
  let pattern = COMPILED.get(name);
  if (!pattern) COMPILED.set(name, pattern = compileModelPattern(name));
  return pattern;
}
