/**
 * A log event as a DynamoDB item: the call id under the table's partition
 * key, every field of the event as an attribute of its own type (strings
 * `S`, numbers `N`, booleans `BOOL`, objects `M`, arrays `L`).
 * @module
 */
import type { LogEvent } from "@sluice/core/plugin";

/** A DynamoDB attribute value (the JSON protocol's shape). */
export type AttributeValue =
  | { S: string }
  | { N: string }
  | { BOOL: boolean }
  | { NULL: true }
  | { L: AttributeValue[] }
  | { M: Record<string, AttributeValue> };

/** Nesting below this depth is stored as a JSON string (DynamoDB allows 32 levels). */
const MAX_DEPTH = 30;

/** DynamoDB's number range: 38 digits of precision, magnitude 1e-130 … 1e126. */
function isDynamoNumber(n: number): boolean {
  const abs = Math.abs(n);
  return Number.isFinite(n) && (abs === 0 || (abs >= 1e-130 && abs < 1e126));
}

/**
 * A JSON value as a DynamoDB attribute value; `undefined` for `undefined`
 * (left out). Numbers DynamoDB cannot hold and nesting deeper than 30
 * levels become strings.
 *
 * @example
 * ```ts
 * import { toAttribute } from "@sluice/dynamodb";
 * toAttribute({ a: [1, "x", true, null] });
 * // { M: { a: { L: [{ N: "1" }, { S: "x" }, { BOOL: true }, { NULL: true }] } } }
 * ```
 */
export function toAttribute(value: unknown, depth = 0): AttributeValue | undefined {
  if (value === undefined || typeof value === "function") return undefined;
  if (value === null) return { NULL: true };
  if (typeof value === "string") return { S: value };
  if (typeof value === "boolean") return { BOOL: value };
  if (typeof value === "number") {
    return isDynamoNumber(value) ? { N: String(value) } : { S: String(value) };
  }
  if (depth >= MAX_DEPTH) return { S: JSON.stringify(value) };
  if (Array.isArray(value)) {
    return { L: value.map((v) => toAttribute(v, depth + 1) ?? { NULL: true }) };
  }
  const map: Record<string, AttributeValue> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const attribute = toAttribute(v, depth + 1);
    if (attribute !== undefined) map[key === "" ? "_" : key] = attribute;
  }
  return { M: map };
}

/**
 * The item of one event: each field of the event as an attribute, and the
 * call id under `partitionKey`. When the key is `id` (LiteLLM's table
 * layout), the event's own `id` (the upstream's response id) is kept as
 * `response_id`.
 *
 * @param event The event.
 * @param partitionKey The table's partition key attribute.
 * @returns The item.
 *
 * @example
 * ```ts
 * import { eventItem } from "@sluice/dynamodb";
 * import { sampleEvent } from "@sluice/core/testing";
 *
 * const item = eventItem(sampleEvent({ call_id: "call-1", id: "chatcmpl-1", total_tokens: 21 }), "id");
 * item.id; // { S: "call-1" }
 * item.response_id; // { S: "chatcmpl-1" }
 * item.total_tokens; // { N: "21" }
 * ```
 */
export function eventItem(event: LogEvent, partitionKey: string): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = {};
  for (const [key, value] of Object.entries(event)) {
    const attribute = toAttribute(value, 1);
    if (attribute === undefined) continue;
    item[key === partitionKey ? (key === "id" ? "response_id" : `event_${key}`) : key] = attribute;
  }
  item[partitionKey] = { S: event.call_id };
  return item;
}
