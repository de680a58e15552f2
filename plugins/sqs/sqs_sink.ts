/**
 * The sqs sink: each batch of events is sent with `SendMessageBatch` (SQS's
 * JSON protocol, SigV4-signed), at most 10 messages and 1 MiB a call, one
 * message per event, confirmed before `log` resolves.
 * @module
 */
import type { LogEvent, PluginContext, Sink } from "@sluice/core/plugin";
import { sinkError } from "@sluice/core/sink-http";
import {
  type AwsCallFailure,
  type AwsServiceCodes,
  createAwsJsonClient,
  fitEvent,
  type FittedEvent,
  utf8Length,
} from "@sluice/aws";
import denoJson from "./deno.json" with { type: "json" };
import {
  displayQueue,
  parseSqsConfig,
  resolveSqsTarget,
  SQS_MAX_BATCH_ENTRIES,
  SQS_MAX_BYTES,
  type SqsConfig,
} from "./config.ts";

/** `SendMessageBatch` calls in flight at once within one `log` call. */
export const SEND_CONCURRENCY = 4;

/** Confirmed events remembered across a failed batch (so its retry skips them), at most. */
const MAX_CONFIRMED = 10_000;

/** SQS's codes for a message or batch it will never take as sent. */
const CONTENT_CODES: ReadonlySet<string> = new Set([
  "InvalidMessageContents",
  "InvalidParameterValue",
  "MessageTooLong",
  "BatchRequestTooLong",
  "TooManyEntriesInBatchRequest",
  "BatchEntryIdsNotDistinct",
  "InvalidBatchEntryId",
]);

/** SQS's error codes, on top of the AWS-wide ones. */
const SQS_CODES: AwsServiceCodes = {
  malformed: CONTENT_CODES,
  missing: new Set([
    "QueueDoesNotExist",
    "NonExistentQueue",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDeletedRecently",
    "AWS.SimpleQueueService.QueueDeletedRecently",
  ]),
};

/** One event, ready to send. */
interface Message {
  event: LogEvent;
  body: string;
  bytes: number;
  change: FittedEvent["change"];
}

/** What happened to one message. */
type Outcome = { sent: true } | { sent: false; failure: AwsCallFailure };

/** SQS accepts XML 1.0's characters only: U+FFFE and U+FFFF (legal in JSON) are escaped. */
function sqsSafe(json: string): string {
  return json.replace(/[\uFFFE\uFFFF]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

/** Groups messages into batches of at most 10 entries and `maxBytes` in all, in order. */
export function packBatches<T extends { bytes: number }>(
  messages: readonly T[],
  maxBytes: number = SQS_MAX_BYTES,
): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const message of messages) {
    if (
      current.length > 0 &&
      (current.length === SQS_MAX_BATCH_ENTRIES || size + message.bytes > maxBytes)
    ) {
      batches.push(current);
      current = [];
      size = 0;
    }
    current.push(message);
    size += message.bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Runs `task` over `items` with at most `limit` at once; results in item order. */
async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Creates an sqs sink. Each `log(events)` sends one message per event (the
 * redacted `LogEvent` as JSON, LiteLLM's standard logging payload) with
 * `SendMessageBatch` calls of at most 10 messages and 1 MiB, up to
 * {@link SEND_CONCURRENCY} at once, and resolves once SQS confirmed every
 * message.
 *
 * - An event over `max_message_bytes` is shortened, never dropped: its
 *   base64 payloads are stripped, then its long strings are cut, each with
 *   a `…[truncated N chars]` marker (`fitEvent` of `@sluice/aws`).
 * - Entries a batch answer lists as failed are retried one by one within
 *   the same `log` call; one the queue refuses as too large is shortened to
 *   the size the queue names (a queue with a smaller `MaximumMessageSize`)
 *   and sent again. Messages confirmed before a failure are not sent again
 *   when the gateway retries the batch.
 * - FIFO queues (`.fifo`): `MessageGroupId` is `message_group_id` and
 *   `MessageDeduplicationId` the event's `request_id`, so a retried batch
 *   is not queued twice.
 *
 * Failures (`classifyAwsFailure` of `@sluice/aws`): throttling, 5xx,
 * timeouts and network errors are retried; refused credentials, a missing
 * queue and other configuration errors keep the events (the message names
 * the queue, endpoint, region and access key id, never the secret); a
 * message SQS refuses even after shortening is `permanent` (the rest of
 * the batch is delivered).
 *
 * @param config The sink entry's `config:` (checked here; defaults applied).
 * @param ctx The plugin context (`fetch`, `env`, `logger`).
 * @returns The sink.
 * @throws Error when the config is invalid or no credentials are found.
 *
 * @example
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
 * await sink.log(sampleEvents(12)); // two SendMessageBatch calls: 10 and 2 messages
 * await server.shutdown();
 * ```
 */
export function createSqsSink(
  config: SqsConfig,
  ctx: Pick<PluginContext, "fetch" | "env" | "logger">,
): Sink {
  const parsed = parseSqsConfig(config);
  const target = resolveSqsTarget(parsed, (name) => ctx.env(name));
  const queueUrl = parsed.queue_url;
  const fifo = new URL(queueUrl).pathname.endsWith(".fifo");
  const groupId = parsed.message_group_id ?? "sluice";
  const client = createAwsJsonClient({
    plugin: "sqs",
    service: "sqs",
    jsonVersion: "1.0",
    target,
    what: `queue ${displayQueue(queueUrl)}`,
    userAgent: `sluice-sqs/${denoJson.version}`,
    timeoutMs: parsed.timeout_ms,
    fetch: ctx.fetch,
    codes: SQS_CODES,
    accessHint: "check that this key may sqs:SendMessage on the queue (and kms:GenerateDataKey " +
      "and kms:Decrypt on its KMS key) and that its secret is right",
    missingHint: "check queue_url, region and endpoint_url",
  });
  /** The largest message sent; lowered when the queue names a smaller limit. */
  let maxMessageBytes = parsed.max_message_bytes;
  /** request_ids of events confirmed during a batch that then failed. */
  const confirmed = new Set<string>();

  function prepare(event: LogEvent, limit: number): Message {
    const fitted = fitEvent(event, limit);
    let body = sqsSafe(fitted.json);
    let bytes = body === fitted.json ? fitted.bytes : utf8Length(body);
    if (bytes > limit) {
      // Escaping made it longer: fit again with the room it takes.
      const again = fitEvent(event, limit - (bytes - fitted.bytes));
      body = sqsSafe(again.json);
      bytes = utf8Length(body);
      return { event, body, bytes, change: "truncated" };
    }
    return { event, body, bytes, change: fitted.change };
  }

  function entry(message: Message, id: string): Record<string, unknown> {
    return {
      Id: id,
      MessageBody: message.body,
      ...(fifo
        ? { MessageGroupId: groupId, MessageDeduplicationId: message.event.request_id }
        : {}),
    };
  }

  /** Sends one batch; returns each message's outcome, in order. */
  async function sendBatch(batch: readonly Message[], signal?: AbortSignal): Promise<Outcome[]> {
    const result = await client.call("AmazonSQS.SendMessageBatch", {
      QueueUrl: queueUrl,
      Entries: batch.map((m, i) => entry(m, String(i))),
    }, signal);
    if (!result.ok) {
      // A batch refused as malformed may hold one bad message: send each on its own.
      if (result.failure.kind === "permanent" && batch.length > 1) {
        return (await mapLimited(batch, 1, (m) => sendBatch([m], signal))).flat();
      }
      return batch.map(() => ({ sent: false, failure: result.failure }));
    }
    const successful = new Set(
      (Array.isArray(result.body.Successful) ? result.body.Successful : [])
        .map((s: { Id?: unknown }) => String(s?.Id)),
    );
    const failed = new Map<string, Record<string, unknown>>();
    for (const f of Array.isArray(result.body.Failed) ? result.body.Failed : []) {
      if (f && typeof f === "object") failed.set(String(f.Id), f);
    }
    return batch.map((message, i): Outcome => {
      const id = String(i);
      if (successful.has(id)) return { sent: true };
      const f = failed.get(id);
      const code = typeof f?.Code === "string" ? f.Code : undefined;
      const text = typeof f?.Message === "string" ? client.scrub(f.Message).slice(0, 300) : "";
      const about = `sqs: queue ${displayQueue(queueUrl)} at ${target.shownEndpoint} refused ` +
        `the message of request ${message.event.request_id}: ${
          [code, text].filter(Boolean).join(": ")
        }`;
      if (!f) {
        return {
          sent: false,
          failure: {
            kind: "retry",
            error: sinkError(
              `sqs: queue ${displayQueue(queueUrl)} did not confirm a message; it will be retried`,
            ),
          },
        };
      }
      if (f.SenderFault !== true) {
        return {
          sent: false,
          failure: { kind: "retry", code, error: sinkError(`${about}; retrying`) },
        };
      }
      if (code && CONTENT_CODES.has(code)) {
        return { sent: false, failure: { kind: "permanent", code, error: sinkError(about) } };
      }
      return {
        sent: false,
        failure: {
          kind: "keep",
          code,
          error: sinkError(`${about}; check the queue's settings; the events are kept and retried`),
        },
      };
    });
  }

  /** The limit a refusal names ("must be shorter than 262144 bytes"), else half the message. */
  function smallerLimit(failure: AwsCallFailure, message: Message): number {
    const named = /shorter than (\d+) bytes/i.exec(failure.error.message)?.[1];
    const limit = named ? Number(named) - 1 : Math.floor(message.bytes / 2);
    return Math.max(4096, Math.min(limit, message.bytes - 1));
  }

  /** Sends messages that failed in a batch one by one, shortening those refused as too large. */
  async function retryEach(
    messages: readonly Message[],
    failures: readonly AwsCallFailure[],
    signal?: AbortSignal,
  ): Promise<Outcome[]> {
    return await mapLimited(
      messages.map((m, i) => [m, failures[i]] as const),
      SEND_CONCURRENCY,
      async ([message, failure]) => {
        let next = message;
        if (failure.kind === "permanent" && message.bytes > 4096) {
          const limit = smallerLimit(failure, message);
          if (/shorter than \d+ bytes/i.test(failure.error.message)) {
            maxMessageBytes = Math.min(maxMessageBytes, limit);
          }
          next = prepare(message.event, limit);
        } else if (failure.kind !== "retry") {
          return { sent: false, failure };
        }
        const [outcome] = await sendBatch([next], signal);
        return outcome;
      },
    );
  }

  return {
    async log(events, options) {
      const signal = options?.signal;
      const pending = events.filter((e) => !confirmed.has(e.request_id));
      if (pending.length === 0) {
        confirmed.clear();
        return;
      }
      const messages = pending.map((event) => prepare(event, maxMessageBytes));
      const shortened = messages.filter((m) => m.change !== "none").length;
      const batches = packBatches(messages);
      const first = (await mapLimited(batches, SEND_CONCURRENCY, (b) => sendBatch(b, signal)))
        .flat();

      const again: Message[] = [];
      const againFailures: AwsCallFailure[] = [];
      const failures: AwsCallFailure[] = [];
      first.forEach((outcome, i) => {
        if (outcome.sent) confirmed.add(messages[i].event.request_id);
        else if (outcome.failure.kind === "keep") failures.push(outcome.failure);
        else {
          again.push(messages[i]);
          againFailures.push(outcome.failure);
        }
      });
      // Item by item, unless the whole queue is refusing (no point in more calls then).
      if (again.length > 0 && failures.length === 0) {
        const retried = await retryEach(again, againFailures, signal);
        retried.forEach((outcome, i) => {
          if (outcome.sent) confirmed.add(again[i].event.request_id);
          else failures.push(outcome.failure);
        });
      } else failures.push(...againFailures);

      if (shortened > 0) {
        ctx.logger.warn(
          `sqs: ${shortened} event${shortened === 1 ? " was" : "s were"} over ` +
            `${maxMessageBytes} bytes and shortened (base64 stripped, long strings truncated)`,
        );
      }
      if (failures.length === 0) {
        confirmed.clear();
        return;
      }
      if (confirmed.size > MAX_CONFIRMED) confirmed.clear();
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
      // Only refused messages are left: the gateway drops the batch, so forget what was sent.
      confirmed.clear();
      const refused = failures.length;
      const sent = pending.length - refused;
      throw sinkError(
        `${failures[0].error.message} (${refused} event${refused === 1 ? "" : "s"} refused${
          sent ? `, ${sent} sent` : ""
        })`,
        { permanent: true, status: failures[0].error.status },
      );
    },
  };
}
