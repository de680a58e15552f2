/**
 * The loss test of `tests/loss_test.ts` with the otel sink: the OTLP
 * collector answers 503, then refuses connections, while 2,000 calls go
 * through; every call succeeds and, once the collector is back, it has one
 * span for every call (the exporter makes one attempt per batch, the
 * pipeline retries and spools).
 */
import assert from "node:assert/strict";
import { startGateway } from "./fakes/gateway.ts";
import { assertEachOnce, countBy, sendThroughOutage, until } from "./fakes/outage.ts";
import {
  type OtlpReceiver,
  startOtlpReceiver,
  valueOf,
} from "../plugins/otel/testdata/otlp_receiver.ts";

const N = 2000;

/** How many spans per `sluice.call_id` the collector accepted. */
const seen = (rx: OtlpReceiver): Map<string, number> =>
  countBy(rx.spans(), (span) => String(valueOf(span.attributes["sluice.call_id"])));

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
    await sendThroughOutage(gw.url, ids, {
      refused: () => until(() => attempts503 > 0, 10_000, "a failed export"),
      stop: () => collector.close(),
    });
    assert.equal(collector.accepted.length, 0);
    collector = startOtlpReceiver({ port });
    await until(() => seen(collector).size >= N, 120_000, "a span for every call");
    assertEachOnce(seen(collector), ids, "span");
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
