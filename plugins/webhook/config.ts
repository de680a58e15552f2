/**
 * The webhook sink's `config:`, from one zod schema: the JSON Schema the
 * gateway validates with and the parse the sink runs; the TypeScript type
 * is checked against it by the compiler.
 * @module
 */
import { z } from "zod";
import type { JsonSchema } from "@sluice/core/plugin";
import { definePluginConfig, type SameShape } from "@sluice/core/plugin-config";

/** The POST timeout when the config sets none. */
export const DEFAULT_TIMEOUT_MS = 10_000;

const HTTP_URL = "must be an absolute http:// or https:// URL";

const webhookConfigZod = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: HTTP_URL })
    .regex(/^https?:\/\//i, HTTP_URL)
    .describe("Where each batch is POSTed as a JSON array of events (http or https)."),
  headers: z.record(z.string(), z.string())
    .describe("Extra request headers, e.g. Authorization (use ${NAME} for secrets).")
    .optional(),
  timeout_ms: z.int().positive().default(DEFAULT_TIMEOUT_MS)
    .describe("Timeout of one POST in milliseconds."),
});

/** `config:` of a webhook sink entry (described field by field in {@link webhookConfigSchema}). */
export interface WebhookConfig {
  /** Where batches are POSTed (http or https). */
  url: string;
  /** Extra request headers, e.g. `Authorization` (values never appear in errors). */
  headers?: Record<string, string>;
  /** Timeout of one POST in milliseconds (default 10,000). */
  timeout_ms?: number;
}

// The interface is what the zod schema accepts (zod's types stay out of the public API).
true satisfies SameShape<z.input<typeof webhookConfigZod>, WebhookConfig>;
const webhookConfig = definePluginConfig("webhook", webhookConfigZod);

/** JSON Schema (draft-07) of {@link WebhookConfig}: what the gateway validates `config:` with. */
export const webhookConfigSchema: JsonSchema = webhookConfig.jsonSchema;

/**
 * Parses a config, defaults filled in.
 * @throws Error naming each invalid field (`webhook: invalid config: config.url: …`);
 *   never a header value.
 */
export function parseWebhookConfig(input: unknown): WebhookConfig & { timeout_ms: number } {
  return webhookConfig.parse(input);
}
