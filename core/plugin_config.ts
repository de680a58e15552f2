/**
 * A sink plugin's `config:` from one zod schema: {@link definePluginConfig}
 * turns the schema into the JSON Schema the gateway validates with and the
 * parse the plugin runs, with the one wording of an invalid config
 * (`<plugin>: invalid config: config.<path>: <message>; …`, never a value);
 * {@link SameShape} ties the plugin's documented config interface to the
 * schema at compile time.
 *
 * Like the contract, this module has no runtime dependencies: it takes any
 * schema with zod 4's `safeParse` and `toJSONSchema` methods ({@link ConfigSchema}),
 * so zod's own types stay out of a plugin's public API (`deno doc --lint`).
 *
 * @example A plugin's config module
 * ```ts
 * import { z } from "npm:zod@4.6.7";
 * import { definePluginConfig, type SameShape } from "@sluice/core/plugin-config";
 * import type { JsonSchema } from "@sluice/core/plugin";
 *
 * const myConfigZod = z.strictObject({
 *   url: z.url().describe("Where batches are POSTed."),
 *   timeout_ms: z.int().positive().default(5000).describe("Timeout of one POST (ms)."),
 * });
 *
 * // The documented interface: what the schema accepts (zod's types stay private).
 * interface MyConfig {
 *   url: string;
 *   timeout_ms?: number;
 * }
 * true satisfies SameShape<z.input<typeof myConfigZod>, MyConfig>;
 *
 * const myConfig = definePluginConfig("my-sink", myConfigZod);
 * const myConfigSchema: JsonSchema = myConfig.jsonSchema;
 * function parseMyConfig(input: unknown): MyConfig & { timeout_ms: number } {
 *   return myConfig.parse(input);
 * }
 *
 * if (myConfigSchema.type !== "object") throw new Error("an object schema");
 * if (parseMyConfig({ url: "https://example.com" }).timeout_ms !== 5000) throw new Error("default");
 * let message = "";
 * try {
 *   parseMyConfig({ url: "not a url", extra: 1 });
 * } catch (error) {
 *   message = (error as Error).message;
 * }
 * // my-sink: invalid config: config.url: Invalid URL; config: Unrecognized key: "extra"
 * if (!message.startsWith("my-sink: invalid config: config.url: ")) throw new Error(message);
 * ```
 * @module
 */
import type { JsonSchema } from "./plugin.ts";

export type { JsonSchema } from "./plugin.ts";

/**
 * `true` when `A` and `B` are the same shape: each assignable to the other,
 * with the same keys (an extra optional field is assignable both ways, so
 * the key sets are compared too); else `never`.
 *
 * A plugin ties its documented config interface to its zod schema with one
 * line, which fails to compile when a field is added to one and not the
 * other, or typed differently:
 * `true satisfies SameShape<z.input<typeof myConfigZod>, MyConfig>;`
 *
 * @typeParam A One type, e.g. the schema's input (`z.input<typeof schema>`).
 * @typeParam B The other, e.g. the documented config interface.
 *
 * @example
 * ```ts
 * import type { SameShape } from "@sluice/core/plugin-config";
 *
 * true satisfies SameShape<{ a: string; b?: number }, { a: string; b?: number }>;
 * // @ts-expect-error: `b` is missing from the second type
 * true satisfies SameShape<{ a: string; b?: number }, { a: string }>;
 * ```
 */
export type SameShape<A, B> = [A, keyof A] extends [B, keyof B]
  ? ([B, keyof B] extends [A, keyof A] ? true : never)
  : never;

/** One problem of a config, as a zod 4 schema reports it. */
export interface ConfigIssue {
  /** Where in the config: keys and array indexes from its root. */
  readonly path: readonly PropertyKey[];
  /** What is wrong (never the value: the parse runs with `reportInput: false`). */
  readonly message: string;
}

/** The result of {@link ConfigSchema.safeParse}: the parsed config or its problems. */
export type ConfigParseResult<Output> =
  | { readonly success: true; readonly data: Output }
  | { readonly success: false; readonly error: { readonly issues: readonly ConfigIssue[] } };

/**
 * What {@link definePluginConfig} needs of a schema: the two methods every
 * zod 4 schema has (the structural type keeps zod's own types out of the
 * signature).
 *
 * @typeParam Output The parsed config, defaults filled in.
 */
export interface ConfigSchema<Output> {
  /**
   * Parses without throwing.
   * @param input The sink entry's `config:`.
   * @param options `reportInput: false`: issues never carry the value.
   * @returns The parsed config or its problems.
   */
  safeParse(input: unknown, options: { reportInput: false }): ConfigParseResult<Output>;
  /**
   * The schema as JSON Schema.
   * @param options What the config is written as (`io: "input"`), in draft-07.
   * @returns The JSON Schema.
   */
  toJSONSchema(options: { io: "input"; target: "draft-7" }): object;
}

/** A plugin's config, from {@link definePluginConfig}. */
export interface PluginConfig<Output> {
  /** JSON Schema (draft-07) of the config as written: what the gateway validates `config:` with. */
  readonly jsonSchema: JsonSchema;
  /**
   * Parses a config (`undefined` and `null` are `{}`), defaults filled in.
   * @param input The sink entry's `config:`.
   * @returns The parsed config.
   * @throws Error naming each invalid field
   *   (`<plugin>: invalid config: config.<path>: <message>; …`), never a value.
   */
  parse(input: unknown): Output;
}

/**
 * A plugin's config from its zod schema: the JSON Schema of what an
 * operator writes (draft-07) and the parse `create` runs.
 *
 * An invalid config throws one `Error` listing every problem, each at its
 * path: `config.url`, `config.default_tags[1]`, `config.tags["bad key"]`
 * (keys that are not identifiers quoted), `config` for the whole object.
 * Messages come from the schema and never include the value.
 *
 * @param name The plugin's name, which starts the error message.
 * @param schema A zod 4 schema (anything with its `safeParse` and `toJSONSchema`).
 * @returns The JSON Schema and the parse.
 *
 * @example
 * ```ts
 * import { z } from "npm:zod@4.6.7";
 * import { definePluginConfig } from "@sluice/core/plugin-config";
 *
 * const config = definePluginConfig(
 *   "my-sink",
 *   z.strictObject({ tags: z.record(z.string(), z.string()).optional() }),
 * );
 * let message = "";
 * try {
 *   config.parse({ tags: { "a b": 1 } });
 * } catch (error) {
 *   message = (error as Error).message;
 * }
 * const expected =
 *   'my-sink: invalid config: config.tags["a b"]: Invalid input: expected string, received number';
 * if (message !== expected) throw new Error(message);
 * ```
 */
export function definePluginConfig<Output>(
  name: string,
  schema: ConfigSchema<Output>,
): PluginConfig<Output> {
  const jsonSchema = schema.toJSONSchema({ io: "input", target: "draft-7" }) as JsonSchema;
  return {
    jsonSchema,
    parse(input: unknown): Output {
      const result = schema.safeParse(input ?? {}, { reportInput: false });
      if (result.success) return result.data;
      const problems = result.error.issues.map((issue) =>
        `${configPath(issue.path)}: ${issue.message}`
      );
      throw new Error(`${name}: invalid config: ${problems.join("; ")}`);
    },
  };
}

/** `config.a.b[0]["not an identifier"]`: where an issue is, as shown in messages. */
function configPath(path: readonly PropertyKey[]): string {
  return `config${
    path.map((key) =>
      typeof key === "string" && /^[A-Za-z_]\w*$/.test(key)
        ? `.${key}`
        : `[${typeof key === "symbol" ? String(key) : JSON.stringify(key)}]`
    ).join("")
  }`;
}
