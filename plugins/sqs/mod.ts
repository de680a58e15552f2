/**
 * `@sluice/sqs`: a Sluice sink that sends every LLM call to an Amazon SQS
 * queue as one message (the redacted log event as JSON, LiteLLM's standard
 * logging payload), with `SendMessageBatch`: at most 10 messages and 1 MiB
 * a call, signed with SigV4 (`aws4fetch`), confirmed before the gateway
 * removes the events from its queue. Events over the message limit are
 * shortened (base64 stripped, then long strings truncated with a marker),
 * never dropped; entries a batch answer lists as failed are retried one by
 * one. It answers to LiteLLM's `aws_sqs` callback and
 * `aws_sqs_callback_params`.
 *
 * The default export is the plugin definition (contract v1); the named
 * exports are the sink factory and its helpers.
 *
 * @example Use it in gateway.yaml
 * ```yaml
 * sinks:
 *   - use: sqs                      # or "@sluice/sqs"
 *     config:
 *       queue_url: https://sqs.us-west-2.amazonaws.com/123456789012/llm-logs
 *       access_key_id: os.environ/AWS_ACCESS_KEY_ID
 *       secret_access_key: os.environ/AWS_SECRET_ACCESS_KEY
 * ```
 *
 * @example Send events from code
 * ```ts
 * import { createSqsSink } from "@sluice/sqs";
 * import { createTestContext, sampleEvents } from "@sluice/core/testing";
 *
 * // A stand-in for SQS that accepts every message.
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, async (req) => {
 *   const { Entries } = await req.json();
 *   return Response.json({ Successful: Entries.map((e: { Id: string }) => ({ Id: e.Id })), Failed: [] });
 * });
 * const sink = createSqsSink({
 *   queue_url: `http://127.0.0.1:${server.addr.port}/123456789012/llm-logs`,
 *   access_key_id: "AKIAEXAMPLE",
 *   secret_access_key: "example-secret",
 * }, createTestContext());
 * await sink.log(sampleEvents(3));
 * await server.shutdown();
 * ```
 * @module
 */
export { default } from "./plugin.ts";
export { sqsLiteLLM } from "./litellm.ts";
export {
  DEFAULT_TIMEOUT_MS,
  displayQueue,
  parseSqsConfig,
  queueRegion,
  resolveSqsTarget,
  SQS_ENV_VARS,
  SQS_MAX_BATCH_ENTRIES,
  SQS_MAX_BYTES,
  type SqsConfig,
  sqsConfigSchema,
} from "./config.ts";
export { createSqsSink, packBatches, SEND_CONCURRENCY } from "./sqs_sink.ts";
