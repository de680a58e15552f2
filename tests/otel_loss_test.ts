/**
 * The loss test of `tests/loss_test.ts` with the otel sink: the OTLP
 * collector answers 503, then refuses connections, while 2,000 calls go
 * through; every call succeeds and, once the collector is back, it has one
 * span for every call (the exporter makes one attempt per batch, the
 * pipeline retries and spools). The same over OTLP/gRPC with spans, log
 * records and metrics: no span or record lost or doubled, and the
 * cumulative request count recovers.
 */
import assert from "node:assert/strict";
import { startGateway } from "./fakes/gateway.ts";
import { assertEachOnce, countBy, sendThroughOutage, until } from "./fakes/outage.ts";
import {
  type OtlpReceiver,
  startOtlpReceiver,
  valueOf,
} from "../plugins/otel/testdata/otlp_receiver.ts";
import {
  attributesOf,
  logRecordsOf,
  metricsOf,
  spansOf,
  startGrpcReceiver,
} from "../plugins/otel/testdata/signals_receiver.ts";
import { status as grpcStatus } from "npm:@grpc/grpc-js@1.14.7";

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

Deno.test("over gRPC with all three signals: a collector down (UNAVAILABLE, then gone) loses no span or log record, and the request count recovers", async () => {
  const dataDir = await Deno.makeTempDir();
  const n = 500;
  let refusals = 0;
  let collector = await startGrpcReceiver({
    answer: () => {
      refusals++;
      return { code: grpcStatus.UNAVAILABLE, details: "collector restarting" };
    },
  });
  const port = collector.port;
  const gw = await startGateway({
    server: { data_dir: dataDir },
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [{
      use: "otel",
      config: {
        endpoint: collector.url,
        protocol: "grpc",
        compression: "gzip",
        signals: ["traces", "metrics", "logs"],
        metric_export_interval_ms: 200,
        timeout_ms: 2000,
      },
      queue: { batch_size: 100, flush_interval_ms: 20, max_queue: 200 },
    }],
  });
  const ids = Array.from({ length: n }, (_, i) => `otel-grpc-loss-${i}`);
  const callIds = (items: { attributes?: unknown }[]) =>
    countBy(items, (item) => String(attributesOf(item.attributes as [])["sluice.call_id"]));
  /** The cumulative `sluice.requests` total in the collector's latest metrics export. */
  const requestsCounted = () => {
    const last = collector.accepted.filter((r) => r.signal === "metrics").at(-1);
    const metric = last && metricsOf([last]).find((m) => m.name === "sluice.requests");
    return (metric?.sum.dataPoints ?? [])
      .reduce(
        (total: number, p: { asInt?: string; asDouble?: number }) =>
          total + Number(p.asInt ?? p.asDouble ?? 0),
        0,
      );
  };
  try {
    await sendThroughOutage(gw.url, ids, {
      refused: () => until(() => refusals > 0, 10_000, "a refused export"),
      stop: () => collector.close(),
    });
    assert.equal(spansOf(collector.accepted).length, 0);
    collector = await startGrpcReceiver({ port });
    await until(() => callIds(spansOf(collector.accepted)).size >= n, 120_000, "every span");
    await until(
      () => callIds(logRecordsOf(collector.accepted)).size >= n,
      120_000,
      "every log record",
    );
    assertEachOnce(callIds(spansOf(collector.accepted)), ids, "span");
    assertEachOnce(callIds(logRecordsOf(collector.accepted)), ids, "log record");
    // Cumulative sums: the intervals exported while the collector was down are not lost.
    await until(() => requestsCounted() === n, 30_000, "sluice.requests to count every call");
  } finally {
    await gw.close();
    await collector.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
