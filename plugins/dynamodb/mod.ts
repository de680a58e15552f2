/**
 * `@sluice/dynamodb`: a Sluice sink that writes every LLM call as an item
 * in an Amazon DynamoDB table, the equivalent of LiteLLM's `dynamodb`
 * callback: the call id under the table's partition key (`id`, as in
 * LiteLLM's layout), each field of the redacted log event as an attribute
 * of its own type. Items are written with `BatchWriteItem` (25 a call,
 * SigV4 via `aws4fetch`), `UnprocessedItems` written again, and confirmed
 * before the gateway removes the events from its queue.
 *
 * @example Use it in gateway.yaml
 * ```yaml
 * sinks:
 *   - use: dynamodb                  # or "@sluice/dynamodb"
 *     on: [success]                  # LiteLLM's success_callback
 *     config:
 *       table_name: llm-logs         # partition key "id" (string)
 *       region: us-west-2
 * ```
 *
 * @example Write events from code
 * ```ts
 * import { createDynamodbSink } from "@sluice/dynamodb";
 * import { createTestContext, sampleEvents } from "@sluice/core/testing";
 *
 * // A stand-in for DynamoDB that processes every item.
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, async (req) => {
 *   await req.body?.cancel();
 *   return Response.json({ UnprocessedItems: {} });
 * });
 * const sink = createDynamodbSink({
 *   table_name: "llm-logs",
 *   endpoint_url: `http://127.0.0.1:${server.addr.port}`,
 *   access_key_id: "AKIAEXAMPLE",
 *   secret_access_key: "example-secret",
 * }, createTestContext());
 * await sink.log(sampleEvents(3));
 * await server.shutdown();
 * ```
 * @module
 */
export { default } from "./plugin.ts";
export { dynamodbLiteLLM } from "./litellm.ts";
export {
  DEFAULT_TIMEOUT_MS,
  DYNAMODB_ENV_VARS,
  type DynamodbConfig,
  dynamodbConfigSchema,
  parseDynamodbConfig,
  resolveDynamodbTarget,
} from "./config.ts";
export {
  chunkItems,
  createDynamodbSink,
  MAX_BATCH_ITEMS,
  MAX_ITEM_JSON_BYTES,
  UNPROCESSED_RETRIES,
} from "./dynamodb_sink.ts";
export { type AttributeValue, eventItem, toAttribute } from "./item.ts";
