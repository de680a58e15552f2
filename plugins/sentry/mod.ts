/**
 * `@sluice/sentry`: a Sluice sink that sends failed LLM calls and the
 * gateway's own errors to Sentry, for the on-call engineer (LiteLLM's
 * `sentry` callback). Each event becomes one Sentry error event in an
 * envelope POSTed to the DSN's envelope endpoint: exception type and message
 * (the error class and message), tags (model, provider, key alias, team,
 * status code, call id), a fingerprint of model + error class + status
 * code, a breadcrumb for the call, the call's trace ids, environment and
 * release. `on:` defaults to `[failure, gateway_error]`.
 *
 * Envelopes, DSN validation and rate-limit parsing use the official
 * `@sentry/core` helpers; no Sentry client is initialised, so nothing is
 * installed globally in the gateway process.
 *
 * The default export is the plugin definition (contract v1); the named
 * exports are the sink factory and its building blocks.
 *
 * @example Use it in gateway.yaml
 * ```yaml
 * sinks:
 *   - use: sentry                   # or "@sluice/sentry"
 *     config:
 *       dsn: os.environ/SENTRY_DSN  # else the SENTRY_DSN variable
 *       environment: production     # else SENTRY_ENVIRONMENT
 *       sample_rate: 0.25           # else SENTRY_API_SAMPLE_RATE
 * ```
 *
 * @example Send a failure from code
 * ```ts
 * import { createSentrySink } from "@sluice/sentry";
 * import { createTestContext, sampleFailureEvent } from "@sluice/core/testing";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, async (req) => {
 *   const [header, item, event] = (await req.text()).split("\n");
 *   console.log(req.headers.get("x-sentry-auth")); // Sentry sentry_version=7, sentry_key=public, …
 *   console.log(JSON.parse(item).type, JSON.parse(event).fingerprint); // event [ "gpt-4o-mini", "RateLimitError", "429" ]
 *   return Response.json({ id: JSON.parse(header).event_id });
 * });
 * const sink = createSentrySink(
 *   { dsn: `http://public@127.0.0.1:${server.addr.port}/1`, environment: "dev" },
 *   createTestContext(),
 * );
 * await sink.log([sampleFailureEvent()]);
 * await server.shutdown();
 * ```
 * @module
 */
export { default } from "./plugin.ts";
export {
  DEFAULT_TIMEOUT_MS,
  parseSentryConfig,
  type SentryConfig,
  sentryConfigSchema,
} from "./config.ts";
export {
  createSentrySink,
  DEFAULT_RATE_LIMIT_MS,
  resolveSentrySettings,
  SENTRY_CLIENT,
  SENTRY_ENV_VARS,
  type SentrySettings,
} from "./sentry_sink.ts";
export { envelopeEndpoint, parseDsn, sentryAuthHeader, type SentryDsn } from "./dsn.ts";
export {
  eventIdFor,
  fingerprintOf,
  type SentryBreadcrumb,
  type SentryEvent,
  type SentryEventOptions,
  type SentryException,
  type SentryLevel,
  type SentryTraceContext,
  spanStatusOf,
  toSentryEvent,
} from "./event.ts";
export { eventEnvelope } from "./envelope.ts";
export { sampleScore } from "./sampling.ts";
export { FILTERED, scrubString, scrubValue } from "./scrub.ts";
