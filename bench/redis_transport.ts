/**
 * Redis Streams transport throughput against a real redis-server:
 * - publish: `--events` prepared events of ~`--size` bytes, in batches of
 *   `--batch` (one pipelined write of de-duplicating scripts per batch),
 *   `--publishers` batches in flight at once;
 * - consume: the same events read back by `--consumers` workers of one group
 *   (`XREADGROUP` batches of `--batch`), each batch acked with its acks
 *   issued together (pipelined), until every event is acked.
 *
 * A fresh key prefix per run, deleted at the end.
 *
 * Usage: `deno run -A bench/redis_transport.ts [--url redis://127.0.0.1:6379]
 * [--events 20000] [--batch 100] [--size 1024] [--publishers 4] [--consumers 1,2]`
 * @module
 */
import { parseArgs } from "node:util";
import { createClient } from "npm:@redis/client@6.4.0";
import { openRedisTransport } from "../core/transport/redis.ts";
import type { PublishedEvent } from "../core/transport/types.ts";
import { fmt, machine, median } from "./common.ts";

const args = parseArgs({
  options: {
    url: { type: "string", default: "redis://127.0.0.1:6379" },
    events: { type: "string", default: "20000" },
    batch: { type: "string", default: "100" },
    size: { type: "string", default: "1024" },
    publishers: { type: "string", default: "4" },
    consumers: { type: "string", default: "1,2" },
  },
}).values;
const total = Number(args.events);
const batchSize = Number(args.batch);
const size = Number(args.size);
const publishers = Number(args.publishers);
const consumerCounts = String(args.consumers).split(",").map(Number);
const enc = new TextEncoder();
const SINK = "bench";

function makeEvents(run: number): PublishedEvent[] {
  const pad = "x".repeat(Math.max(0, size - 120));
  return Array.from({ length: total }, (_, i) => ({
    sink: SINK,
    id: `evt_${run}_${i}.${SINK}`,
    body: enc.encode(JSON.stringify({ id: `evt_${run}_${i}`, model: "gpt-4o-mini", pad })),
  }));
}

async function cleanup(stream: string): Promise<void> {
  const c = createClient({ url: args.url, RESP: 2 });
  c.on("error", () => {});
  await c.connect();
  const keys: string[] = [];
  for await (const batch of c.scanIterator({ MATCH: `${stream}*`, COUNT: 1000 })) {
    keys.push(...batch.map(String));
  }
  for (let i = 0; i < keys.length; i += 500) await c.del(keys.slice(i, i + 500));
  c.destroy();
}

console.log(await machine());
console.log(
  `redis transport: ${total} events of ~${size} B, batch ${batchSize}, ${publishers} publishers in flight`,
);

for (const [run, consumers] of consumerCounts.entries()) {
  const stream = `sluice-bench-${crypto.randomUUID().slice(0, 8)}`;
  const t = await openRedisTransport({ url: args.url, stream });
  try {
    await t.ensure([SINK]);
    const events = makeEvents(run);
    const batches: PublishedEvent[][] = [];
    for (let i = 0; i < events.length; i += batchSize) {
      batches.push(events.slice(i, i + batchSize));
    }
    const latencies: number[] = [];
    let next = 0;
    const publishStart = performance.now();
    await Promise.all(Array.from({ length: publishers }, async () => {
      while (next < batches.length) {
        const b = batches[next++];
        const at = performance.now();
        await t.publish(b);
        latencies.push(performance.now() - at);
      }
    }));
    const publishMs = performance.now() - publishStart;
    latencies.sort((a, b) => a - b);
    const p99 = latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))];
    console.log(
      `publish: ${fmt(total / (publishMs / 1000), 0)} events/s (${
        fmt(publishMs, 0)
      } ms), batch latency p50 ${fmt(median(latencies), 2)} ms, p99 ${fmt(p99, 2)} ms`,
    );

    const controller = new AbortController();
    let acked = 0;
    const consumeStart = performance.now();
    let resolveDone: () => void = () => {};
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    const workers = Array.from({ length: consumers }, async (_, w) => {
      for await (
        const batch of t.consume({
          sink: SINK,
          consumer: `bench-${w}`,
          batch: batchSize,
          ackWaitMs: 60_000,
          signal: controller.signal,
        })
      ) {
        await Promise.all(batch.map((d) => d.ack()));
        acked += batch.length;
        if (acked >= total) resolveDone();
      }
    });
    await done;
    const consumeMs = performance.now() - consumeStart;
    controller.abort();
    await Promise.all(workers);
    console.log(
      `consume+ack, ${consumers} consumer(s): ${fmt(total / (consumeMs / 1000), 0)} events/s (${
        fmt(consumeMs, 0)
      } ms)`,
    );
  } finally {
    await t.close();
    await cleanup(stream);
  }
}
