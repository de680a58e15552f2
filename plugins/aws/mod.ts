/**
 * `@sluice/aws`: the pieces Sluice's AWS JSON-protocol sinks (`@sluice/sqs`,
 * `@sluice/dynamodb`) share: region, endpoint and credentials from config
 * and the standard `AWS_*` variables ({@link resolveAwsTarget}), one
 * SigV4-signed call with its answer classified for the plugin contract
 * ({@link createAwsJsonClient}, {@link classifyAwsFailure}), and events
 * shortened to fit a service's size limit ({@link fitEvent}).
 *
 * @example Shorten an event for a 256 KiB limit
 * ```ts
 * import { fitEvent } from "@sluice/aws";
 * import { sampleEvent } from "@sluice/core/testing";
 *
 * const image = "data:image/png;base64," + "A".repeat(400_000);
 * const event = sampleEvent({
 *   messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: image } }] }],
 * });
 * const { change, bytes } = fitEvent(event, 262_144);
 * console.log(change, bytes); // "base64", a few hundred bytes
 * ```
 * @module
 */
export {
  AWS_ENV_VARS,
  type AwsConfig,
  type AwsCredentials,
  awsServiceEndpoint,
  type AwsTarget,
  type AwsTargetOptions,
  DEFAULT_AWS_REGION,
  resolveAwsTarget,
} from "./target.ts";
export {
  type AwsErrorBody,
  type AwsServiceCodes,
  classifyAwsFailure,
  CREDENTIAL_CODES,
  DEFAULT_THROTTLE_WAIT_MS,
  parseAwsError,
  THROTTLING_CODES,
  TRANSIENT_CODES,
} from "./errors.ts";
export {
  type AwsCallFailure,
  type AwsCallResult,
  type AwsJsonClient,
  type AwsJsonClientOptions,
  createAwsJsonClient,
} from "./json_client.ts";
export { fitEvent, type FittedEvent, truncatedMarker, utf8Length } from "./fit_event.ts";
