/**
 * The lunary sink's `config:`, from one zod schema: the JSON Schema the
 * gateway validates with and the parse the sink runs; the TypeScript type
 * is checked against it by the compiler.
 * @module
 */
import { z } from "zod";
import type { JsonSchema } from "@sluice/core/plugin";
import { definePluginConfig, type SameShape } from "@sluice/core/plugin-config";

/** Lunary's cloud API when neither config nor `LUNARY_API_URL` sets one. */
export const DEFAULT_ENDPOINT = "https://api.lunary.ai";

/** The POST timeout when the config sets none. */
export const DEFAULT_TIMEOUT_MS = 10_000;

const lunaryConfigZod = z.strictObject({
  public_key: z.string().min(1)
    .describe("Project public key, sent as Bearer (default: LUNARY_PUBLIC_KEY).").optional(),
  endpoint_url: z.string()
    .regex(/^https?:\/\//, "must be an absolute http:// or https:// URL")
    .describe(`API base URL (default: LUNARY_API_URL, else ${DEFAULT_ENDPOINT}).`)
    .optional(),
  tags: z.array(z.string().min(1)).default([]).describe("Tags on every run."),
  timeout_ms: z.int().positive().default(DEFAULT_TIMEOUT_MS)
    .describe("Timeout of one POST in milliseconds."),
});

/**
 * `config:` of a lunary sink entry (described field by field in
 * {@link lunaryConfigSchema}).
 */
export interface LunaryConfig {
  /** The project's public key (`Authorization: Bearer`); else `LUNARY_PUBLIC_KEY`. Required. */
  public_key?: string;
  /** API base URL (a self-hosted Lunary); else `LUNARY_API_URL`, else `https://api.lunary.ai`. */
  endpoint_url?: string;
  /** Tags on every run. */
  tags?: string[];
  /** Timeout of one POST in milliseconds (default 10,000). */
  timeout_ms?: number;
}

// The interface is what the zod schema accepts (zod's types stay out of the public API).
true satisfies SameShape<z.input<typeof lunaryConfigZod>, LunaryConfig>;
const lunaryConfig = definePluginConfig("lunary", lunaryConfigZod);

/** JSON Schema (draft-07) of {@link LunaryConfig}: what the gateway validates `config:` with. */
export const lunaryConfigSchema: JsonSchema = lunaryConfig.jsonSchema;

/**
 * Parses a config, defaults filled in.
 *
 * @param input The sink entry's `config:`.
 * @returns The config with `tags` and `timeout_ms` set.
 * @throws Error naming each invalid field (`lunary: invalid config: config.endpoint_url: …`);
 *   never a value.
 *
 * @example
 * ```ts
 * import { parseLunaryConfig } from "@sluice/lunary";
 * parseLunaryConfig({}).tags; // []
 * ```
 */
export function parseLunaryConfig(
  input: unknown,
): LunaryConfig & Required<Pick<LunaryConfig, "tags" | "timeout_ms">> {
  return lunaryConfig.parse(input);
}
