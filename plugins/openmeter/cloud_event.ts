/**
 * From a Sluice log event to an OpenMeter usage event (CloudEvents 1.0):
 * who is billed ({@link billingSubject}) and what is sent
 * ({@link toCloudEvent}).
 * @module
 */
import type { CallType, LogEvent } from "@sluice/core/plugin";

/** The default CloudEvents `source`. */
export const DEFAULT_SOURCE = "sluice";

/** The default CloudEvents `type` (LiteLLM sends `litellm_tokens`). */
export const DEFAULT_EVENT_TYPE = "llm_tokens";

/** The usage an OpenMeter event carries in `data`; meters read these with JSONPath (`$.total_tokens`). */
export interface OpenMeterUsageData {
  /** The upstream model id (else the public model name). */
  model?: string;
  /** The public model name the client sent. */
  model_group?: string;
  /** `openai`, `azure`, `anthropic`, `mock`, … */
  provider?: string;
  /** Input tokens. */
  prompt_tokens: number;
  /** Output tokens. */
  completion_tokens: number;
  /** Both. */
  total_tokens: number;
  /** Input tokens read from the provider's prompt cache, when known. */
  cache_read_input_tokens?: number;
  /** Input tokens written to the provider's prompt cache, when known. */
  cache_creation_input_tokens?: number;
  /** USD; absent when the gateway does not know the model's price. */
  cost?: number;
  /** `chat`, `completion`, `embedding`, `responses` or `messages`. */
  call_type: CallType;
  /** `success` or `failure` (failures are sent only with `include_failures`). */
  status: "success" | "failure";
  /** The virtual key's alias. */
  key_alias?: string;
  /** The virtual key's team. */
  team?: string;
}

/** One CloudEvent as OpenMeter's `POST /api/v1/events` takes it. */
export interface OpenMeterCloudEvent {
  /** Always `"1.0"`. */
  specversion: "1.0";
  /** The gateway's `request_id`: OpenMeter de-duplicates on (source, id). */
  id: string;
  /** Where the event comes from (default `sluice`). */
  source: string;
  /** The event type meters select on (default `llm_tokens`). */
  type: string;
  /** The billed customer. */
  subject: string;
  /** When the call ended, RFC 3339 in UTC. */
  time: string;
  /** Always `application/json`. */
  datacontenttype: "application/json";
  /** The usage. */
  data: OpenMeterUsageData;
}

/** Where a subject came from. */
export type SubjectSource = "key_user" | "key_team" | "request_user";

/** The outcome of {@link billingSubject}. */
export type BillingSubject =
  | { subject: string; from: SubjectSource }
  | { subject?: undefined; reason: "none" | "masked"; from?: SubjectSource };

/**
 * A placeholder the gateway's redaction put in place of a value
 * (`[EMAIL]`, `[SECRET]`, `[REDACTED]`, …). Keyed pseudonyms
 * (`[EMAIL:9f2c41d0]`) are stable per value and are not matched.
 */
const PLACEHOLDER = /\[[A-Z][A-Z0-9_]*\]/;

function present(value: unknown): value is string {
  return typeof value === "string" && value.trim() !== "";
}

/**
 * Who pays for a call: the virtual key's user, else the key's team, else
 * the request's `user` field, and that one only when `trustRequestUser` is
 * set (otherwise any client could bill someone else). A candidate that
 * redaction masked (`[EMAIL]`, …) would bill every such customer as one:
 * it is refused with `reason: "masked"`.
 *
 * @param event The (redacted) log event.
 * @param trustRequestUser Whether the request's `user` field may name the customer.
 * @returns The subject and its origin, or why there is none.
 *
 * @example
 * ```ts
 * import { billingSubject } from "@sluice/openmeter";
 * import { sampleEvent } from "@sluice/core/testing";
 *
 * const event = sampleEvent();
 * billingSubject(event, false); // { subject: "alice", from: "key_user" }
 * billingSubject({ ...event, metadata: { tags: [], request: {}, end_user: "u-1" } }, false);
 * // { reason: "none" }
 * ```
 */
export function billingSubject(event: LogEvent, trustRequestUser: boolean): BillingSubject {
  const meta = event.metadata ?? { tags: [], request: {} };
  const candidates: [unknown, SubjectSource][] = [
    [meta.user_api_key_user_id, "key_user"],
    [meta.user_api_key_team, "key_team"],
  ];
  if (trustRequestUser) candidates.push([meta.end_user, "request_user"]);
  for (const [value, from] of candidates) {
    if (!present(value)) continue;
    if (PLACEHOLDER.test(value)) return { reason: "masked", from };
    return { subject: value, from };
  }
  return { reason: "none" };
}

/** What {@link toCloudEvent} needs besides the event. */
export interface CloudEventOptions {
  /** CloudEvents `source`. */
  source: string;
  /** CloudEvents `type`. */
  type: string;
  /** The billed customer (from {@link billingSubject}). */
  subject: string;
}

/**
 * The OpenMeter usage event of one call. `id` is the gateway's
 * `request_id`, so a batch sent twice (a retry after a lost answer) is
 * counted once, and a client cannot choose it.
 *
 * @param event The (redacted) log event.
 * @param options Source, type and subject.
 * @returns The CloudEvent.
 *
 * @example
 * ```ts
 * import { toCloudEvent } from "@sluice/openmeter";
 * import { sampleEvent } from "@sluice/core/testing";
 *
 * const ce = toCloudEvent(sampleEvent(), { source: "sluice", type: "llm_tokens", subject: "alice" });
 * ce.data.total_tokens; // prompt + completion tokens
 * ```
 */
export function toCloudEvent(event: LogEvent, options: CloudEventOptions): OpenMeterCloudEvent {
  const meta = event.metadata ?? { tags: [], request: {} };
  const data: OpenMeterUsageData = {
    model: event.model ?? event.model_group,
    model_group: event.model_group,
    provider: event.provider,
    prompt_tokens: event.prompt_tokens ?? 0,
    completion_tokens: event.completion_tokens ?? 0,
    total_tokens: event.total_tokens ?? 0,
    cache_read_input_tokens: event.cache_read_input_tokens,
    cache_creation_input_tokens: event.cache_creation_input_tokens,
    cost: typeof event.response_cost === "number" && Number.isFinite(event.response_cost)
      ? event.response_cost
      : undefined,
    call_type: event.call_type,
    status: event.status,
    key_alias: meta.user_api_key_alias,
    team: meta.user_api_key_team,
  };
  for (const key of Object.keys(data) as (keyof OpenMeterUsageData)[]) {
    if (data[key] === undefined) delete data[key];
  }
  return {
    specversion: "1.0",
    id: event.request_id,
    source: options.source,
    type: options.type,
    subject: options.subject,
    time: new Date(event.end_time).toISOString(),
    datacontenttype: "application/json",
    data,
  };
}
