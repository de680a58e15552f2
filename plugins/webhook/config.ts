/**
 * The webhook sink's `config:`, from one zod schema: the JSON Schema the
 * gateway validates with and the parse the sink runs; the TypeScript type
 * is checked against it by the compiler.
 * @module
 */
import { z } from "zod";
import type { JsonSchema } from "@sluice/core/plugin";

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

// The interface is what the zod schema accepts, checked by the compiler (zod's own types cannot
// appear in the public API: `deno doc --lint`); a field added to one and not the other, or typed
// differently, fails here (the key sets are compared too: an extra optional field is assignable).
type _Same<A, B> = [A, keyof A] extends [B, keyof B]
  ? ([B, keyof B] extends [A, keyof A] ? true : never)
  : never;
const _sameAsSchema: _Same<z.input<typeof webhookConfigZod>, WebhookConfig> = true;
void _sameAsSchema;

/** JSON Schema (draft-07) of {@link WebhookConfig}: what the gateway validates `config:` with. */
export const webhookConfigSchema: JsonSchema = z.toJSONSchema(webhookConfigZod, {
  io: "input",
  target: "draft-7",
});

/**
 * Parses a config, defaults filled in.
 * @throws Error naming each invalid field (`webhook: invalid config: config.url: …`);
 *   never a header value.
 */
export function parseWebhookConfig(input: unknown): WebhookConfig & { timeout_ms: number } {
  const result = webhookConfigZod.safeParse(input ?? {}, { reportInput: false });
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) =>
    `config${
      issue.path.map((p) => typeof p === "number" ? `[${p}]` : `.${String(p)}`).join("")
    }: ${issue.message}`
  );
  throw new Error(`webhook: invalid config: ${problems.join("; ")}`);
}
