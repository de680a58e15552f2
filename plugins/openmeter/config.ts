/**
 * The openmeter sink's `config:`, from one zod schema: the JSON Schema the
 * gateway validates with and the parse the sink runs; the TypeScript type
 * is checked against it by the compiler.
 * @module
 */
import { z } from "zod";
import type { JsonSchema } from "@sluice/core/plugin";
import { definePluginConfig, type SameShape } from "@sluice/core/plugin-config";
import { DEFAULT_EVENT_TYPE, DEFAULT_SOURCE } from "./cloud_event.ts";

/** The endpoint when neither config nor environment sets one. */
export const DEFAULT_ENDPOINT = "https://openmeter.cloud";

/** The POST timeout when the config sets none. */
export const DEFAULT_TIMEOUT_MS = 10_000;

const openMeterConfigZod = z.strictObject({
  api_key: z.string().min(1)
    .describe("OpenMeter API token (default: OPENMETER_API_KEY). Required.")
    .optional(),
  endpoint: z.string()
    .regex(/^https?:\/\//, "must be an absolute http:// or https:// URL")
    .describe(`Base URL (default: OPENMETER_API_ENDPOINT, else ${DEFAULT_ENDPOINT}).`)
    .optional(),
  event_type: z.string().min(1)
    .describe(`CloudEvents type (default: OPENMETER_EVENT_TYPE, else ${DEFAULT_EVENT_TYPE}).`)
    .optional(),
  source: z.string().min(1).meta({ format: "uri-reference" })
    .default(DEFAULT_SOURCE)
    .describe("CloudEvents source; OpenMeter de-duplicates on source + id."),
  trust_request_user: z.boolean()
    .describe(
      "Bill the request's user field when the key has no user and no team " +
        "(default: OPENMETER_TRUST_REQUEST_USER, else false).",
    )
    .optional(),
  include_failures: z.boolean().default(false).describe("Send failed calls too."),
  timeout_ms: z.int().positive().default(DEFAULT_TIMEOUT_MS)
    .describe("Timeout of one POST in milliseconds."),
});

/**
 * `config:` of an openmeter sink entry (described field by field in
 * {@link openMeterConfigSchema}); every key falls back to its environment
 * variable.
 */
export interface OpenMeterConfig {
  /** API token (`Authorization: Bearer`); else `OPENMETER_API_KEY`. Required. */
  api_key?: string;
  /** Base URL; else `OPENMETER_API_ENDPOINT`, else `https://openmeter.cloud`. */
  endpoint?: string;
  /** CloudEvents `type`; else `OPENMETER_EVENT_TYPE`, else `llm_tokens`. */
  event_type?: string;
  /** CloudEvents `source` (default `sluice`); OpenMeter de-duplicates on source + id. */
  source?: string;
  /**
   * Bill the request's `user` field when the key has neither user nor team;
   * else `OPENMETER_TRUST_REQUEST_USER` (`true`/`false`), else false.
   */
  trust_request_user?: boolean;
  /** Send failed calls too (their tokens may still be billable). Default false. */
  include_failures?: boolean;
  /** Timeout of one POST in milliseconds (default 10,000). */
  timeout_ms?: number;
}

// The interface is what the zod schema accepts (zod's types stay out of the public API).
true satisfies SameShape<z.input<typeof openMeterConfigZod>, OpenMeterConfig>;
const openmeterConfig = definePluginConfig("openmeter", openMeterConfigZod);

/** JSON Schema (draft-07) of {@link OpenMeterConfig}: what the gateway validates `config:` with. */
export const openMeterConfigSchema: JsonSchema = openmeterConfig.jsonSchema;

/**
 * Parses a config, defaults filled in.
 *
 * @example
 * ```ts
 * import { parseOpenMeterConfig } from "@sluice/openmeter";
 * parseOpenMeterConfig({ api_key: "om_test" }).source; // "sluice"
 * ```
 * @throws Error naming each invalid field (`openmeter: invalid config: config.endpoint: …`);
 *   never a value.
 */
export function parseOpenMeterConfig(
  input: unknown,
): OpenMeterConfig & { source: string; include_failures: boolean; timeout_ms: number } {
  return openmeterConfig.parse(input);
}
