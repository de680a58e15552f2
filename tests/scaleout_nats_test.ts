/**
 * The NATS JetStream transport against a real `nats-server -js`
 * (127.0.0.1:4222): publish with de-duplication, consume and ack,
 * redelivery after the ack wait, retry, dead-letter, and stats. Each test
 * uses its own stream and deletes it at the end.
 */
import assert from "node:assert/strict";
import { openNatsTransport } from "../core/transport/nats.ts";
import type { Delivery, LogTransport, PublishedEvent } from "../core/transport/types.ts";
import { until } from "./fakes/outage.ts";
import {
  deleteNatsStreams,
  NATS_URL,
  serviceAvailable,
  uniqueStream,
} from "./scaleout_services.ts";

const run = await serviceAvailable("nats");
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function events(sink: string, ids: string[]): PublishedEvent[] {
  return ids.map((id) => ({ sink, id: `${id}.${sink}`, body: encoder.encode(`{"id":"${id}"}`) }));
}

async function withTransport(
  fn: (t: LogTransport, stream: string) => Promise<void>,
  limits: { maxBytes?: number; maxAgeMs?: number } = {},
): Promise<void> {
  const stream = uniqueStream("sluice-test");
  const t = await openNatsTransport({ url: NATS_URL, stream, ...limits });
  try {
    await fn(t, stream);
  } finally {
    await t.close();
    await deleteNatsStreams(NATS_URL, stream);
  }
}

/** Collects deliveries from a consumer until `n` arrived (or throws after `ms`). */
async function take(
  t: LogTransport,
  sink: string,
  n: number,
  options: { ackWaitMs?: number; ms?: number; consumer?: string } = {},
): Promise<Delivery[]> {
  const got: Delivery[] = [];
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.ms ?? 10_000);
  try {
    for await (
      const batch of t.consume({
        sink,
        consumer: options.consumer ?? "c1",
        batch: 50,
        ackWaitMs: options.ackWaitMs ?? 30_000,
        signal: controller.signal,
      })
    ) {
      got.push(...batch);
      if (got.length >= n) break;
    }
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  if (got.length < n) throw new Error(`got ${got.length} of ${n} deliveries`);
  return got;
}

Deno.test({
  name: "nats: a re-published id is stored once; ack removes messages; stats show the lag",
  ignore: !run,
  fn: () =>
    withTransport(async (t) => {
      await t.ensure(["hook", "other"]);
      await t.ensure(["hook", "other"]); // idempotent
      await t.publish(events("hook", ["a", "b", "c"]));
      await t.publish(events("hook", ["b"])); // a gateway retrying an unanswered publish
      await t.publish(events("other", ["a"]));
      let stats = await t.stats(["hook", "other"]);
      assert.equal(stats.messages, 4);
      assert.deepEqual(stats.consumers.map((c) => [c.sink, c.pending]), [["hook", 3], [
        "other",
        1,
      ]]);
      const got = await take(t, "hook", 3);
      assert.deepEqual(got.map((d) => d.id).sort(), ["a.hook", "b.hook", "c.hook"]);
      assert.deepEqual(got.map((d) => d.attempt), [1, 1, 1]);
      assert.equal(decoder.decode(got[0].body), '{"id":"a"}');
      await Promise.all(got.map((d) => d.ack()));
      stats = await t.stats(["hook", "other"]);
      assert.equal(stats.messages, 1, "acked messages leave the work-queue stream");
      assert.equal(stats.consumers[0].pending + stats.consumers[0].unacked, 0);
    }),
});

Deno.test({
  name: "nats: an unacked message is redelivered after the ack wait, to another consumer",
  ignore: !run,
  fn: () =>
    withTransport(async (t, stream) => {
      await t.ensure(["hook"]);
      await t.publish(events("hook", ["x", "y"]));
      const first = await take(t, "hook", 2, { ackWaitMs: 1_000, consumer: "dies" });
      assert.deepEqual(first.map((d) => d.attempt), [1, 1]);
      // The first worker "dies" (never acks); a second transport, as another process, gets them.
      const other = await openNatsTransport({ url: NATS_URL, stream });
      try {
        const started = Date.now();
        const again = await take(other, "hook", 2, { ackWaitMs: 1_000, consumer: "lives" });
        assert.ok(Date.now() - started >= 500, "redelivered only once the ack wait passed");
        assert.deepEqual(again.map((d) => d.id).sort(), ["x.hook", "y.hook"]);
        assert.ok(again.every((d) => d.attempt === 2));
        await Promise.all(again.map((d) => d.ack()));
        await until(
          async () => (await other.stats(["hook"])).consumers[0].redelivered === 0,
          5_000,
          "no redelivered message left",
        );
      } finally {
        await other.close();
      }
    }),
});

Deno.test({
  name: "nats: retry hands a message back after its delay; deadLetter moves it to <stream>-dlq",
  ignore: !run,
  fn: () =>
    withTransport(async (t) => {
      await t.ensure(["hook"]);
      await t.publish(events("hook", ["r", "d"]));
      const got = await take(t, "hook", 2);
      const byId = new Map(got.map((d) => [d.id, d]));
      const retried = Date.now();
      await byId.get("r.hook")!.retry(300);
      await byId.get("d.hook")!.deadLetter("rejected by the sink: 400 bad event");
      const again = await take(t, "hook", 1);
      assert.ok(Date.now() - retried >= 250, "not before its delay");
      assert.equal(again[0].id, "r.hook");
      assert.equal(again[0].attempt, 2);
      await again[0].ack();
      const stats = await t.stats(["hook"]);
      assert.equal(stats.deadLettered, 1);
      assert.equal(stats.messages, 0);
      // Replayed once the sink is fixed: back in the sink's stream with its body, out of the DLQ.
      const body = new TextDecoder().decode(byId.get("d.hook")!.body);
      assert.equal(await t.replayDeadLetters("other-sink"), 0);
      assert.equal(await t.replayDeadLetters(), 1);
      const [replayed] = await take(t, "hook", 1);
      assert.match(replayed.id, /^d\.hook\.replay-\d+$/);
      assert.equal(new TextDecoder().decode(replayed.body), body);
      await replayed.ack();
      assert.equal((await t.stats(["hook"])).deadLettered, 0);
    }),
});

Deno.test({
  name: "nats: stream limits are set and reported; the engine unreachable makes open throw",
  ignore: !run,
  fn: async () => {
    await withTransport(async (t) => {
      await t.ensure(["hook"]);
      const stats = await t.stats(["hook"]);
      assert.equal(stats.maxBytes, 10_000_000);
      assert.equal(stats.maxAgeMs, 3_600_000);
    }, { maxBytes: 10_000_000, maxAgeMs: 3_600_000 });
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = probe.addr.port;
    probe.close();
    await assert.rejects(
      openNatsTransport({ url: `nats://user:s3cret-pass@127.0.0.1:${port}`, stream: "x" }),
      (error: Error) => {
        assert.match(error.message, /cannot connect to NATS at nats:\/\/127\.0\.0\.1:\d+/);
        assert.ok(!error.message.includes("s3cret-pass"), "no credential in the message");
        return true;
      },
    );
  },
});

Deno.test({
  name: "nats: a publish no stream takes fails (no responders), naming the cause",
  ignore: !run,
  fn: async () => {
    const stream = uniqueStream("sluice-test");
    const t = await openNatsTransport({ url: NATS_URL, stream });
    try {
      // No ensure(): the stream does not exist.
      await assert.rejects(
        t.publish(events("hook", ["lost"])),
        /did not store 1 of 1 events: no stream/,
      );
    } finally {
      await t.close();
    }
  },
});
