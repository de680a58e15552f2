/**
 * The delivery worker against the shared NATS server, in-process, with a
 * webhook sink and a receiver whose answers the test switches: a 400 sends
 * the batch to the dead-letter stream, a 503 is retried and dead-lettered
 * after `max_attempts`, a kind the sink does not take is acked unsent, and a
 * healthy receiver gets each event once, with `/metrics` counting it all.
 */
import assert from "node:assert/strict";
import { checkConfig } from "../core/config/load.ts";
import { DeliveryWorker } from "../core/deliver/worker.ts";
import { openNatsTransport } from "../core/transport/nats.ts";
import { resolveTransport } from "../core/transport/options.ts";
import type { LogTransport } from "../core/transport/types.ts";
import { startReceiver } from "./fakes/receiver.ts";
import { envelopeOf } from "../core/otlp/telemetry.ts";
import { telemetryEvents } from "../core/otlp/genai.ts";
import { sampleTelemetry } from "../core/testing.ts";
import { until } from "./fakes/outage.ts";
import {
  deleteNatsStreams,
  NATS_URL,
  serviceAvailable,
  uniqueStream,
} from "./scaleout_services.ts";

const run = await serviceAvailable("nats");
const encoder = new TextEncoder();

function event(id: string, status: "success" | "failure" = "success") {
  return encoder.encode(JSON.stringify({
    schema_version: 1,
    request_id: id,
    call_id: id,
    id,
    call_type: "chat",
    status,
    start_time: 0,
    end_time: 0,
  }));
}

async function withWorker(
  receiverUrl: string,
  options: { maxAttempts?: number; on?: string[]; sinkDownMs?: number },
  fn: (ctx: { worker: DeliveryWorker; transport: LogTransport }) => Promise<void>,
): Promise<void> {
  const stream = uniqueStream("sluice-worker");
  const check = await checkConfig({
    sinks: [{
      use: "webhook",
      sandbox: false,
      config: { url: receiverUrl },
      queue: { batch_size: 10 },
      ...(options.on ? { on: options.on } : {}),
    }],
    log: {
      transport: { kind: "nats", url: NATS_URL, stream, max_attempts: options.maxAttempts ?? 10 },
    },
  });
  assert.ok(check.config, JSON.stringify(check.problems));
  const transport = await openNatsTransport({ url: NATS_URL, stream });
  const worker = await DeliveryWorker.start({
    config: check.config,
    transport: resolveTransport(check.config.log.transport)!,
    baseDir: Deno.cwd(),
    secrets: [],
    log: () => {},
    ...(options.sinkDownMs !== undefined ? { sinkDownMs: options.sinkDownMs } : {}),
  });
  try {
    await until(() => worker.connected, 10_000, "the worker to connect");
    await fn({ worker, transport });
  } finally {
    await worker.close(2_000);
    await transport.close();
    await deleteNatsStreams(NATS_URL, stream);
  }
}

function counter(worker: DeliveryWorker, outcome: string): number {
  const line = worker.metricsText().split("\n").find((l) =>
    l.startsWith("sluice_stream_consumed_total") && l.includes(`outcome="${outcome}"`)
  );
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}

Deno.test({
  name: "worker: delivered once and acked; a kind the sink does not take is acked unsent",
  ignore: !run,
  fn: async () => {
    const receiver = startReceiver("ok");
    try {
      await withWorker(receiver.url, { on: ["success"] }, async ({ worker, transport }) => {
        await transport.publish(
          ["a", "b", "c"].map((id) => ({ sink: "webhook", id: `${id}.webhook`, body: event(id) })),
        );
        await transport.publish([{
          sink: "webhook",
          id: "f.webhook",
          body: event("f", "failure"),
        }]);
        await until(() => receiver.seen.size === 3, 10_000, "three events");
        await until(() => counter(worker, "filtered") === 1, 10_000, "the failure filtered");
        assert.deepEqual([...receiver.seen.keys()].sort(), ["a", "b", "c"]);
        // Counted once the sink's log() resolved, just after the receiver answered.
        await until(() => counter(worker, "delivered") === 3, 10_000, "three counted delivered");
        await until(
          async () => (await transport.stats(["webhook"])).messages === 0,
          10_000,
          "every message acked",
        );
        await worker.refreshStats();
        assert.match(
          worker.metricsText(),
          /sluice_stream_consumer_pending\{engine="nats",sink="webhook"\} 0/,
        );
      });
    } finally {
      await receiver.close();
    }
  },
});

Deno.test({
  name: "worker: a 400 dead-letters the batch at once; a 503 is retried, then dead-lettered",
  ignore: !run,
  fn: async () => {
    const receiver = startReceiver("400");
    try {
      await withWorker(receiver.url, { maxAttempts: 2 }, async ({ worker, transport }) => {
        await transport.publish(
          ["p1", "p2"].map((id) => ({ sink: "webhook", id: `${id}.webhook`, body: event(id) })),
        );
        await until(
          async () => (await transport.stats(["webhook"])).deadLettered === 2,
          10_000,
          "two dead letters",
        );
        assert.equal(counter(worker, "retried"), 0, "a permanent failure is not retried");
        receiver.setMode("503");
        await transport.publish([{ sink: "webhook", id: "t1.webhook", body: event("t1") }]);
        await until(
          async () => (await transport.stats(["webhook"])).deadLettered === 3,
          20_000,
          "the retried event dead-lettered after 2 attempts",
        );
        // Counted once the dead-letter publish and the ack are done, just after the stream has it.
        await until(() => counter(worker, "dead_lettered") === 3, 10_000, "three counted");
        assert.equal(counter(worker, "retried"), 1);
        assert.equal(counter(worker, "redelivered"), 1);
        assert.equal(receiver.seen.size, 0);
      });
    } finally {
      await receiver.close();
    }
  },
});

Deno.test({
  name: "worker: a sink that is down as a whole keeps its events in the stream past max_attempts",
  ignore: !run,
  fn: async () => {
    const receiver = startReceiver("503");
    try {
      await withWorker(
        receiver.url,
        { maxAttempts: 2, sinkDownMs: 0 }, // down from the first failure on
        async ({ worker, transport }) => {
          await transport.publish([{ sink: "webhook", id: "d1.webhook", body: event("d1") }]);
          await until(() => counter(worker, "redelivered") >= 3, 20_000, "four attempts");
          assert.equal((await transport.stats(["webhook"])).deadLettered, 0);
          receiver.setMode("ok");
          await until(() => receiver.seen.has("d1"), 40_000, "the event once the sink is back");
          assert.equal(counter(worker, "dead_lettered"), 0);
        },
      );
    } finally {
      await receiver.close();
    }
  },
});

Deno.test({
  name:
    "worker: ingested telemetry, published both ways by the gateway: a non-OTLP sink takes the GenAI event, not the envelope",
  ignore: !run,
  fn: async () => {
    const receiver = startReceiver("ok");
    try {
      await withWorker(receiver.url, {}, async ({ worker, transport }) => {
        const envelope = envelopeOf(sampleTelemetry(), "5b8efff798038103d269b633813fc60c");
        const [genAi] = telemetryEvents(sampleTelemetry());
        await transport.publish([
          {
            sink: "webhook",
            id: `${envelope.request_id}.webhook`,
            body: encoder.encode(JSON.stringify(envelope)),
          },
          {
            sink: "webhook",
            id: `${genAi.request_id}.webhook`,
            body: encoder.encode(JSON.stringify(genAi)),
          },
        ]);
        await until(() => receiver.seen.size === 1, 10_000, "the GenAI event");
        await until(() => counter(worker, "filtered") === 1, 10_000, "the envelope left out");
        assert.deepEqual([...receiver.seen.keys()], [genAi.request_id]);
      });
    } finally {
      await receiver.close();
    }
  },
});

Deno.test({
  name: "deliver --replay-dead-letters moves a sink's dead letters back, then exits",
  ignore: !run,
  fn: async () => {
    const stream = uniqueStream("sluice-replay");
    const dir = await Deno.makeTempDir();
    const configPath = `${dir}/gateway.yaml`;
    await Deno.writeTextFile(
      configPath,
      JSON.stringify({
        server: { data_dir: dir },
        sinks: [{ use: "webhook", config: { url: "http://127.0.0.1:9/in" } }],
        log: { transport: { kind: "nats", url: NATS_URL, stream } },
      }),
    );
    const transport = await openNatsTransport({ url: NATS_URL, stream });
    try {
      await transport.ensure(["webhook"]);
      await transport.publish([{ sink: "webhook", id: "x.webhook", body: event("x") }]);
      const stop = new AbortController();
      for await (
        const batch of transport.consume({
          sink: "webhook",
          consumer: "t",
          batch: 1,
          ackWaitMs: 30_000,
          signal: stop.signal,
        })
      ) {
        await batch[0].deadLetter("400 from the sink");
        stop.abort();
      }
      assert.equal((await transport.stats(["webhook"])).deadLettered, 1);
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL("../mod.ts", import.meta.url).pathname,
          "deliver",
          "--config",
          configPath,
          "--replay-dead-letters",
          "--sink",
          "webhook",
        ],
        stdout: "null",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, stderr);
      assert.match(stderr, /moved 1 dead letters back to sink "webhook"'s stream/);
      const stats = await transport.stats(["webhook"]);
      assert.equal(stats.deadLettered, 0);
      assert.equal(stats.consumers[0].pending, 1);
    } finally {
      await transport.close();
      await deleteNatsStreams(NATS_URL, stream);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
