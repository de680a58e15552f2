/**
 * The loss test of the call events, for ingested spans: an app exports
 * 2,000 spans to the gateway while the otel sink's collector first answers
 * 503 and then refuses connections; every export is answered 200 and, once
 * the collector is back, it has every span exactly once (the envelopes were
 * queued, spooled and retried like events). And an export answered 200
 * survives the gateway's kill -9 right after the answer.
 */
import assert from "node:assert/strict";
import { startGateway } from "./fakes/gateway.ts";
import { assertEachOnce, countBy, until } from "./fakes/outage.ts";
import { type OtlpReceiver, startOtlpReceiver } from "../plugins/otel/testdata/otlp_receiver.ts";
import { startCliGateway } from "./fakes/cli_gateway.ts";

const SPANS = 2000;
const PER_EXPORT = 50;
const KEY = "sk-otlp-loss-0001";
const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";

const spanId = (i: number) => (0x1000000000000 + i).toString(16).padStart(16, "0");

async function exportSpans(url: string, from: number, to: number): Promise<void> {
  for (let start = from; start < to; start += PER_EXPORT) {
    const spans = [];
    for (let i = start; i < Math.min(to, start + PER_EXPORT); i++) {
      spans.push({
        traceId: TRACE,
        spanId: spanId(i),
        name: `step ${i}`,
        startTimeUnixNano: "1700000000000000000",
        endTimeUnixNano: "1700000000100000000",
        attributes: [{ key: "app.step", value: { intValue: String(i) } }],
      });
    }
    const res = await fetch(`${url}/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` },
      body: JSON.stringify({
        resourceSpans: [{
          resource: { attributes: [{ key: "service.name", value: { stringValue: "app" } }] },
          scopeSpans: [{ scope: { name: "app" }, spans }],
        }],
      }),
    });
    assert.equal(res.status, 200, await res.text());
  }
}

Deno.test("ingested spans survive an OTLP collector outage (503, then refusing connections): each arrives once", async () => {
  const dataDir = await Deno.makeTempDir();
  let refusals = 0;
  let collector = startOtlpReceiver({
    answer: () => {
      refusals++;
      return new Response("collector restarting", { status: 503 });
    },
  });
  const port = collector.port;
  const gw = await startGateway({
    server: { data_dir: dataDir },
    keys: [{ key: KEY, alias: "app" }],
    sinks: [{
      use: "otel",
      config: { endpoint: collector.base, protocol: "http/protobuf", timeout_ms: 2000 },
      queue: { batch_size: 10, flush_interval_ms: 20, max_queue: 5 },
    }],
  });
  try {
    await exportSpans(gw.url, 0, SPANS / 2);
    await until(() => refusals > 0, 10_000, "a refused export");
    await collector.close();
    await exportSpans(gw.url, SPANS / 2, SPANS);
    assert.equal(collector.accepted.length, 0);
    collector = startOtlpReceiver({ port });
    await until(() => collector.spans().length >= SPANS, 120_000, "every span");
    const counts = countBy(collector.spans(), (s) => s.span.spanId);
    assertEachOnce(
      counts,
      Array.from({ length: SPANS }, (_, i) => spanId(i)),
      "span",
    );
    assert.ok(collector.spans().every((s) => s.span.traceId === TRACE));
  } finally {
    await gw.close();
    await collector.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("an export answered 200 survives kill -9 at once (answered only once on disk)", async () => {
  const dir = await Deno.makeTempDir();
  const down = startOtlpReceiver({ answer: () => new Response("down", { status: 503 }) });
  const port = down.port;
  const configPath = `${dir}/gateway.yaml`;
  await Deno.writeTextFile(
    configPath,
    JSON.stringify({
      server: { data_dir: dir },
      log: { fsync_ms: 1000 }, // a long group-commit interval: only the ingest's own commit saves it
      keys: [{ key: KEY, alias: "app" }],
      sinks: [{
        use: "otel",
        config: { endpoint: down.base, protocol: "http/protobuf", timeout_ms: 2000 },
        queue: { batch_size: 10, flush_interval_ms: 20 },
      }],
    }),
  );
  let gw = await startCliGateway(configPath);
  let collector: OtlpReceiver | undefined;
  try {
    const answered = 600;
    await exportSpans(gw.url, 0, answered);
    await gw.kill(); // right after the last 200: nothing left to wait for
    await down.close();
    collector = startOtlpReceiver({ port });
    gw = await startCliGateway(configPath);
    const ids = Array.from({ length: answered }, (_, i) => spanId(i));
    await until(
      () => new Set(collector!.spans().map((s) => s.span.spanId)).size >= answered,
      60_000,
      "every answered span after the restart",
    );
    const seen = new Set(collector.spans().map((s) => s.span.spanId));
    assert.deepEqual(ids.filter((id) => !seen.has(id)), [], "no answered span lost");
  } finally {
    await gw.terminate().catch(() => {});
    await collector?.close();
    await down.close().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});
