/**
 * The sentry sink's `config:`, from one zod schema: the JSON Schema the
 * gateway validates with and the parse the sink runs; the TypeScript type
 * is checked against it by the compiler.
 * @module
 */
import { z } from "zod";
import type { JsonSchema } from "@sluice/core/plugin";
import { definePluginConfig, type SameShape } from "@sluice/core/plugin-config";

/** The POST timeout when the config sets none. */
export const DEFAULT_TIMEOUT_MS = 10_000;

const RATE = "must be a number from 0 to 1";
const rate = (description: string) =>
  z.number().min(0, RATE).max(1, RATE).describe(description).optional();

const sentryConfigZod = z.strictObject({
  dsn: z.string()
    .describe("The project's DSN (else SENTRY_DSN); a secret: use os.environ/SENTRY_DSN.")
    .optional(),
  environment: z.string()
    .describe("Sentry environment (else SENTRY_ENVIRONMENT, else production).")
    .optional(),
  release: z.string()
    .describe("Sentry release (else SENTRY_RELEASE, else sluice@<gateway version>).")
    .optional(),
  server_name: z.string().describe("Sentry server_name.").optional(),
  sample_rate: rate(
    "Share of failed calls sent, 0 to 1 (else SENTRY_API_SAMPLE_RATE, else 1); " +
      "gateway errors are always sent.",
  ),
  trace_rate: rate(
    "Accepted for LiteLLM compatibility (else SENTRY_API_TRACE_RATE); no transactions are sent.",
  ),
  include_success: z.boolean().default(false)
    .describe("Also send successful calls, as info events."),
  tags: z.record(z.string().regex(/^[A-Za-z0-9_.:-]{1,32}$/), z.string(), {
    error: (issue) =>
      issue.code === "invalid_key" ? "tag keys are 1-32 letters, digits or _ . : -" : undefined,
  })
    .describe("Tags added to every event.")
    .optional(),
  timeout_ms: z.int().positive().default(DEFAULT_TIMEOUT_MS)
    .describe("Timeout of one POST in milliseconds."),
  concurrency: z.int().min(1).max(64).default(4)
    .describe("Envelopes in flight at once while sending one batch."),
});

/**
 * `config:` of a sentry sink entry (described field by field in
 * {@link sentryConfigSchema}). Each field falls back to an environment
 * variable, then a default.
 */
export interface SentryConfig {
  /** The project's DSN (else `SENTRY_DSN`). Required one way or the other. */
  dsn?: string;
  /** Sentry `environment` (else `SENTRY_ENVIRONMENT`, else `production`). */
  environment?: string;
  /** Sentry `release` (else `SENTRY_RELEASE`, else `sluice@<gateway version>`). */
  release?: string;
  /** Sentry `server_name` (default: none). */
  server_name?: string;
  /** Share of failed calls sent, 0 to 1 (else `SENTRY_API_SAMPLE_RATE`, else 1). Gateway errors are always sent. */
  sample_rate?: number;
  /**
   * Accepted for LiteLLM compatibility (else `SENTRY_API_TRACE_RATE`): this
   * sink sends no Sentry transactions, so it only checks the value and logs
   * what to use instead (the otel sink; events carry the call's trace id).
   */
  trace_rate?: number;
  /** Also send successful calls, as `info` events (default false: Sentry gets failures only). */
  include_success?: boolean;
  /** Tags added to every event (keys: 1-32 letters, digits or `_ . : -`). */
  tags?: Record<string, string>;
  /** Timeout of one POST in milliseconds (default 10,000). */
  timeout_ms?: number;
  /** Envelopes in flight at once while sending one batch (1 to 64, default 4). */
  concurrency?: number;
}

// The interface is what the zod schema accepts (zod's types stay out of the public API).
true satisfies SameShape<z.input<typeof sentryConfigZod>, SentryConfig>;
const sentryConfig = definePluginConfig("sentry", sentryConfigZod);

/** JSON Schema (draft-07) of {@link SentryConfig}: what the gateway validates `config:` with. */
export const sentryConfigSchema: JsonSchema = sentryConfig.jsonSchema;

/**
 * Parses a config, defaults filled in.
 *
 * @example
 * ```ts
 * import { parseSentryConfig } from "@sluice/sentry";
 * parseSentryConfig({ sample_rate: 0.5 }).concurrency; // 4
 * ```
 * @throws Error naming each invalid field (`sentry: invalid config: config.sample_rate: …`,
 *   `config.tags["bad key"]: …`); never a value, so never the DSN.
 */
export function parseSentryConfig(
  input: unknown,
): SentryConfig & Required<Pick<SentryConfig, "include_success" | "timeout_ms" | "concurrency">> {
  return sentryConfig.parse(input);
}
