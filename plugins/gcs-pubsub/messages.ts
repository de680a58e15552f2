/**
 * Events as Pub/Sub messages, and messages as publish requests within the
 * API's limits: at most 1,000 messages and 10 MB per request, one
 * `orderingKey` per request, 10 MB of data per message, attribute values
 * of at most 1,024 bytes.
 * @module
 */
import type { LogEvent } from "@sluice/core/plugin";
import type { OrderingKeyField } from "./config.ts";

/** Messages in one publish request, at most (Pub/Sub's limit). */
export const MAX_MESSAGES_PER_REQUEST = 1000;

/** A publish request's size, at most (Pub/Sub's limit: 10 MB). */
export const MAX_REQUEST_BYTES = 10_000_000;

/** What the sink's requests are kept under: the limit less room for the envelope and rounding. */
export const REQUEST_BUDGET_BYTES = MAX_REQUEST_BYTES - 64 * 1024;

/** A message's data, at most (Pub/Sub's limit: 10 MB). */
export const MAX_DATA_BYTES = 10_000_000;

/** An attribute value or ordering key, at most, in bytes. */
export const MAX_ATTRIBUTE_BYTES = 1024;

/** A message as `topics.publish` takes it. */
export interface PubSubMessage {
  /** The event as JSON, base64-encoded. */
  data: string;
  /** `request_id`, `call_id`, `status`, `call_type`, `model_group`, `schema_version` and the config's. */
  attributes: Record<string, string>;
  /** The configured event field's value, when set. */
  orderingKey?: string;
}

/** A message with the event it carries. */
export interface PreparedMessage {
  /** The event's `request_id` (the de-duplication key). */
  requestId: string;
  /** The message. */
  message: PubSubMessage;
  /** Its size in a request body (its JSON), in bytes. */
  bytes: number;
  /** The event's JSON size, in bytes (the message's data before base64). */
  dataBytes: number;
}

const encoder = new TextEncoder();

/** The longest prefix of `text` of at most `max` UTF-8 bytes, cut at a code point. */
function clip(text: string, max: number): string {
  if (encoder.encode(text).length <= max) return text;
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const size = encoder.encode(char).length;
    if (bytes + size > max) break;
    bytes += size;
    end += char.length;
  }
  return text.slice(0, end);
}

/** The value of an ordering key field of an event, if it has one. */
function orderingValue(event: LogEvent, field: OrderingKeyField): string | undefined {
  const value = field === "trace_id" || field === "model_group"
    ? event[field]
    : event.metadata?.[field];
  return typeof value === "string" && value !== "" ? clip(value, MAX_ATTRIBUTE_BYTES) : undefined;
}

/**
 * One event as a message: the event's JSON as `data` (base64), attributes
 * for filtering subscriptions (`request_id`, `call_id`, `status`,
 * `call_type`, `model_group` when known, `schema_version`, then `extra`),
 * and the `orderingKey` from `orderingKey`'s field when the event has it.
 *
 * @param event The event.
 * @param options The ordering key field and the static attributes.
 * @returns The message and its sizes.
 *
 * @example
 * ```ts
 * import { eventMessage } from "@sluice/gcs-pubsub";
 * import { sampleEvent } from "@sluice/core/testing";
 *
 * const { message } = eventMessage(sampleEvent(), { orderingKey: "user_api_key_team" });
 * message.attributes.status; // "success"
 * message.orderingKey; // "team-a"
 * JSON.parse(new TextDecoder().decode(Uint8Array.fromBase64(message.data))).model_group; // "gpt-4o-mini"
 * ```
 */
export function eventMessage(
  event: LogEvent,
  options: { orderingKey?: OrderingKeyField; attributes?: Record<string, string> } = {},
): PreparedMessage {
  const json = encoder.encode(JSON.stringify(event));
  const attributes: Record<string, string> = {};
  const put = (key: string, value: unknown) => {
    if (typeof value === "string" && value !== "") {
      attributes[key] = clip(value, MAX_ATTRIBUTE_BYTES);
    }
  };
  put("request_id", event.request_id);
  put("call_id", event.call_id);
  put("status", event.status);
  put("call_type", event.call_type);
  put("model_group", event.model_group);
  put("schema_version", String(event.schema_version ?? 1));
  for (const [key, value] of Object.entries(options.attributes ?? {})) put(key, value);
  const key = options.orderingKey ? orderingValue(event, options.orderingKey) : undefined;
  const message: PubSubMessage = {
    data: json.toBase64(),
    attributes,
    ...(key ? { orderingKey: key } : {}),
  };
  return {
    requestId: String(event.request_id),
    message,
    bytes: encoder.encode(JSON.stringify(message)).length,
    dataBytes: json.length,
  };
}

/** Messages split into publish requests, and those no request can carry. */
export interface PublishPlan {
  /** The requests' messages, in order: each request one ordering key, ≤ 1,000 messages, within the byte budget. */
  requests: PreparedMessage[][];
  /** Messages over the data or request size limit (too big to publish). */
  oversized: PreparedMessage[];
}

/**
 * Splits messages into publish requests: grouped by ordering key (their
 * order within a key kept; messages without one form their own group), each
 * request at most {@link MAX_MESSAGES_PER_REQUEST} messages and
 * {@link REQUEST_BUDGET_BYTES} of body. A message whose data is over
 * {@link MAX_DATA_BYTES}, or that alone would fill a request, is set apart.
 *
 * @param messages The messages, in the batch's order.
 * @returns The requests and the oversized messages.
 *
 * @example
 * ```ts
 * import { eventMessage, planRequests } from "@sluice/gcs-pubsub";
 * import { sampleEvents } from "@sluice/core/testing";
 *
 * const messages = sampleEvents(1500).map((e) => eventMessage(e));
 * planRequests(messages).requests.map((r) => r.length); // [1000, 500]
 * ```
 */
export function planRequests(messages: readonly PreparedMessage[]): PublishPlan {
  const groups = new Map<string, PreparedMessage[]>();
  const oversized: PreparedMessage[] = [];
  for (const m of messages) {
    if (m.dataBytes > MAX_DATA_BYTES || m.bytes + 16 > REQUEST_BUDGET_BYTES) {
      oversized.push(m);
      continue;
    }
    const key = m.message.orderingKey ?? "";
    let group = groups.get(key);
    if (!group) groups.set(key, group = []);
    group.push(m);
  }
  const requests: PreparedMessage[][] = [];
  for (const group of groups.values()) {
    let current: PreparedMessage[] = [];
    let size = 16; // {"messages":[]}
    for (const m of group) {
      if (
        current.length === MAX_MESSAGES_PER_REQUEST || size + m.bytes + 1 > REQUEST_BUDGET_BYTES
      ) {
        requests.push(current);
        current = [];
        size = 16;
      }
      current.push(m);
      size += m.bytes + 1;
    }
    if (current.length > 0) requests.push(current);
  }
  return { requests, oversized };
}
