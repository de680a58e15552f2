/**
 * The webhook sink's `config:`, from one zod schema: the JSON Schema the
 * gateway validates with, the TypeScript type, and the parse the sink runs.
 * @module
 */
import { z } from "zod";
import type { JsonSchema } from "@sluice/core/plugin";

/** The POST timeout when the config sets none. */
export const DEFAULT_TIMEOUT_MS = 10_000;

const HTTP_URL = "must be an absolute http:// or https:// URL";

const webhookConfigZod: z.ZodObject<{
  url: z.ZodURL;
  headers: z.ZodOptional<z.ZodRecord<z.ZodString, z.ZodString>>;
  timeout_ms: z.ZodDefault<z.ZodInt>;
}, z.core.$strict> = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: HTTP_URL })
    .regex(/^https?:\/\//i, HTTP_URL)
    .describe("Where each batch is POSTed as a JSON array of events (http or https)."),
  headers: z.record(z.string(), z.string())
    .describe("Extra request headers, e.g. Authorization (use ${NAME} for secrets).")
    .optional(),
  timeout_ms: z.int().positive().default(DEFAULT_TIMEOUT_MS)
    .describe("Timeout of one POST in milliseconds."),
});

/** `config:` of a webhook sink entry, as written (`timeout_ms` defaults to 10,000). */
export type WebhookConfig = z.input<typeof webhookConfigZod>;

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
export function parseWebhookConfig(input: unknown): z.output<typeof webhookConfigZod> {
  const result = webhookConfigZod.safeParse(input ?? {}, { reportInput: false });
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) =>
    `config${
      issue.path.map((p) => typeof p === "number" ? `[${p}]` : `.${String(p)}`).join("")
    }: ${issue.message}`
  );
  throw new Error(`webhook: invalid config: ${problems.join("; ")}`);
}
