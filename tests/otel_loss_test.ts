/**
 * The loss test of `tests/loss_test.ts` with the otel sink: the OTLP
 * collector answers 503, then refuses connections, while 2,000 calls go
 * through; every call succeeds and, once the collector is back, it has one
 * span for every call (the exporter makes one attempt per batch, the
 * pipeline retries and spools).
 */
import assert from "node:assert/strict";
import { startGateway } from "./fakes/gateway.ts";
import {
  type OtlpReceiver,
  startOtlpReceiver,
  until,
  valueOf,
} from "../plugins/otel/testdata/otlp_receiver.ts";

const N = 2000;

/** Sends one chat call per id, `concurrency` at a time; returns each id's status (0: no answer). */
async function sendCalls(
  url: string,
  ids: string[],
  concurrency = 16,
): Promise<Map<string, number>> {
  const statuses = new Map<string, number>();
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < ids.length) {
      const id = ids[next++];
      try {
        const res = await fetch(`${url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-sluice-call-id": id },
          body: JSON.stringify({
            model: "mock-gpt",
            messages: [{ role: "user", content: `call ${id}` }],
          }),
        });
        await res.body?.cancel();
        statuses.set(id, res.status);
      } catch {
        statuses.set(id, 0);
      }
    }
  }));
  return statuses;
}

/** How many spans per `sluice.call_id` the collector accepted. */
function seen(rx: OtlpReceiver): Map<string, number> {
  const counts = new Map<string, number>();
  for (const span of rx.spans()) {
    const id = String(valueOf(span.attributes["sluice.call_id"]));
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

Deno.test("an OTLP collector that is down (503, then refusing connections) loses no span", async () => {
  const dataDir = await Deno.makeTempDir();
  let attempts503 = 0;
  let collector = startOtlpReceiver({
    answer: () => {
      attempts503++;
      return new Response("collector restarting", { status: 503 });
    },
  });
  const port = collector.port;
  const gw = await startGateway({
    server: { data_dir: dataDir },
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [{
      use: "otel",
      config: { endpoint: collector.base, protocol: "http/protobuf", timeout_ms: 2000 },
      queue: { batch_size: 100, flush_interval_ms: 20, max_queue: 500 },
    }],
  });
  const ids = Array.from({ length: N }, (_, i) => `otel-loss-${i}`);
  try {
    const first = await sendCalls(gw.url, ids.slice(0, N / 2));
    await until(() => attempts503 > 0, 10_000, "a failed export");
    // Now refuse connections altogether.
    await collector.close();
    const second = await sendCalls(gw.url, ids.slice(N / 2));
    assert.deepEqual(
      [...new Set([...first.values(), ...second.values()])],
      [200],
      "every request succeeded",
    );
    assert.equal(collector.accepted.length, 0);
    collector = startOtlpReceiver({ port });
    await until(() => seen(collector).size >= N, 120_000, "a span for every call");
    const counts = seen(collector);
    assert.deepEqual([...counts.keys()].sort(), [...ids].sort());
    const duplicates = [...counts.values()].filter((n) => n > 1).length;
    assert.equal(duplicates, 0, "no duplicates without a crash");
    for (const { span } of collector.spans().slice(0, 10)) {
      assert.equal(span.kind, 3);
      assert.equal(span.name, "chat mock-gpt");
    }
  } finally {
    await gw.close();
    await collector.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
