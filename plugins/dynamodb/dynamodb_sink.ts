/**
 * The dynamodb sink: each batch of events is written with `BatchWriteItem`
 * (DynamoDB's JSON protocol, SigV4-signed), at most 25 items a call, one
 * item per event, confirmed before `log` resolves.
 * @module
 */
import type { LogEvent, PluginContext, Sink } from "@sluice/core/plugin";
import { sinkError } from "@sluice/core/sink-http";
import { type AwsCallFailure, createAwsJsonClient, fitEvent } from "@sluice/aws";
import denoJson from "./deno.json" with { type: "json" };
import { type DynamodbConfig, parseDynamodbConfig, resolveDynamodbTarget } from "./config.ts";
import { type AttributeValue, eventItem } from "./item.ts";

/** DynamoDB's limit on the requests of one `BatchWriteItem`. */
export const MAX_BATCH_ITEMS = 25;

/** Events are shortened to this many bytes of JSON: under DynamoDB's 400 KB item limit. */
export const MAX_ITEM_JSON_BYTES = 380_000;

/** Calls for unprocessed items within one `log`, after the first, before it fails (and is retried). */
export const UNPROCESSED_RETRIES = 4;

/** The first wait before writing unprocessed items again (doubled each time). */
const UNPROCESSED_WAIT_MS = 50;

type Item = Record<string, AttributeValue>;

/** Splits items into calls of at most 25, never two with the same key in one call. */
export function chunkItems<T>(items: readonly T[], keyOf: (item: T) => string): T[][] {
  const chunks: { items: T[]; keys: Set<string> }[] = [];
  for (const item of items) {
    const key = keyOf(item);
    let chunk = chunks.find((c) => c.items.length < MAX_BATCH_ITEMS && !c.keys.has(key));
    if (!chunk) chunks.push(chunk = { items: [], keys: new Set() });
    chunk.items.push(item);
    chunk.keys.add(key);
  }
  return chunks.map((c) => c.items);
}

function wait(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Creates a dynamodb sink. Each `log(events)` writes one item per event
 * (see `eventItem`: the call id under `partition_key`, the event's fields
 * as attributes) with `BatchWriteItem` calls of at most 25 puts, and
 * resolves once DynamoDB has processed every one: `UnprocessedItems` are
 * written again after a short, growing wait (up to
 * {@link UNPROCESSED_RETRIES} times, then the batch fails and the gateway
 * retries it; puts are idempotent). Events over 380 KB of JSON are
 * shortened (base64 stripped, then strings truncated with a marker), never
 * dropped. A call refused with `ValidationException` is written again item
 * by item: items refused alone are `permanent` (the rest is written); when
 * every item is refused, the table's layout is wrong and the events are kept.
 *
 * Failures (`classifyAwsFailure` of `@sluice/aws`): throttling
 * (`ProvisionedThroughputExceededException`…), 5xx and network errors are
 * retried; refused credentials, a missing table and other configuration
 * errors keep the events, with a message naming the table, endpoint, region
 * and access key id, never the secret.
 *
 * @param config The sink entry's `config:` (checked here; defaults applied).
 * @param ctx The plugin context (`fetch`, `env`, `logger`).
 * @returns The sink.
 * @throws Error when the config is invalid or no credentials are found.
 *
 * @example
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
 * await sink.log(sampleEvents(30)); // two BatchWriteItem calls: 25 and 5 items
 * await server.shutdown();
 * ```
 */
export function createDynamodbSink(
  config: DynamodbConfig,
  ctx: Pick<PluginContext, "fetch" | "env" | "logger">,
): Sink {
  const parsed = parseDynamodbConfig(config);
  const target = resolveDynamodbTarget(parsed, (name) => ctx.env(name));
  const table = parsed.table_name;
  const key = parsed.partition_key;
  const client = createAwsJsonClient({
    plugin: "dynamodb",
    service: "dynamodb",
    jsonVersion: "1.0",
    target,
    what: `table "${table}"`,
    userAgent: `sluice-dynamodb/${denoJson.version}`,
    timeoutMs: parsed.timeout_ms,
    fetch: ctx.fetch,
    codes: { missing: new Set(["ResourceNotFoundException"]) },
    accessHint: "check that this key may dynamodb:BatchWriteItem on the table and that its " +
      "secret is right",
    missingHint: "check table_name, region and endpoint_url (the table must exist)",
  });

  /** Writes items; returns the failures (none: all written). */
  async function write(items: readonly Item[], signal?: AbortSignal): Promise<AwsCallFailure[]> {
    let pending = items;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) {
        if (attempt > UNPROCESSED_RETRIES) {
          return [{
            kind: "retry",
            error: sinkError(
              `dynamodb: table "${table}" at ${target.shownEndpoint} left ${pending.length} ` +
                "item(s) unprocessed (throughput exceeded); retrying",
              { retryAfterMs: 1000 },
            ),
          }];
        }
        await wait(UNPROCESSED_WAIT_MS * 2 ** (attempt - 1), signal);
      }
      const result = await client.call("DynamoDB_20120810.BatchWriteItem", {
        RequestItems: { [table]: pending.map((Item) => ({ PutRequest: { Item } })) },
      }, signal);
      if (!result.ok) {
        const { failure } = result;
        const invalid = failure.code === "ValidationException" || failure.kind === "permanent";
        if (invalid && pending.length > 1) return await writeEach(pending, failure, signal);
        return [failure];
      }
      const unprocessed = (result.body.UnprocessedItems as Record<string, unknown> | undefined)
        ?.[table];
      pending = Array.isArray(unprocessed)
        ? unprocessed.map((r: { PutRequest?: { Item?: Item } }) => r?.PutRequest?.Item)
          .filter((i): i is Item => i !== undefined)
        : [];
    }
    return [];
  }

  /** Writes each item alone after a call refused as invalid. */
  async function writeEach(
    items: readonly Item[],
    refusal: AwsCallFailure,
    signal?: AbortSignal,
  ): Promise<AwsCallFailure[]> {
    const failures: AwsCallFailure[] = [];
    for (const item of items) failures.push(...await write([item], signal));
    const invalid = failures.filter((f) => f.code === "ValidationException");
    if (invalid.length === items.length) return [refusal]; // the table, not the items
    return failures.map((f) =>
      f.code === "ValidationException" ? { ...f, kind: "permanent" as const } : f
    );
  }

  return {
    async log(events: readonly LogEvent[], options) {
      if (events.length === 0) return;
      let shortened = 0;
      const items = events.map((event) => {
        const fitted = fitEvent(event, MAX_ITEM_JSON_BYTES);
        if (fitted.change !== "none") shortened++;
        return eventItem(fitted.event, key);
      });
      if (shortened > 0) {
        ctx.logger.warn(
          `dynamodb: ${shortened} event${shortened === 1 ? " was" : "s were"} over ` +
            `${MAX_ITEM_JSON_BYTES} bytes and shortened (base64 stripped, long strings truncated)`,
        );
      }
      const chunks = chunkItems(items, (item) => (item[key] as { S: string }).S);
      const failures: AwsCallFailure[] = [];
      for (const chunk of chunks) {
        const failed = await write(chunk, options?.signal);
        failures.push(...failed);
        if (failed.some((f) => f.kind === "keep")) break; // the table is refusing: stop here
      }
      if (failures.length === 0) return;
      const keep = failures.find((f) => f.kind === "keep");
      if (keep) throw keep.error;
      const retry = failures.filter((f) => f.kind === "retry");
      if (retry.length > 0) {
        const waits = retry.map((f) => f.error.retryAfterMs)
          .filter((w): w is number => w !== undefined);
        throw sinkError(retry[0].error.message, {
          status: retry[0].error.status,
          retryAfterMs: waits.length ? Math.max(...waits) : undefined,
        });
      }
      const refused = failures.length;
      throw sinkError(
        `${failures[0].error.message} (${refused} item${refused === 1 ? "" : "s"} refused, ${
          events.length - refused
        } written)`,
        { permanent: true, status: failures[0].error.status },
      );
    },
  };
}
