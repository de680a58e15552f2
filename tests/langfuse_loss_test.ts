/**
 * The loss test of `tests/loss_test.ts` with the langfuse sink, both
 * transports at once: the Langfuse server answers 503, then refuses
 * connections, while calls go through; every call succeeds and, once the
 * server is back, it has every call's span (OTLP) and every call's
 * generation (batch API), each once.
 */
import assert from "node:assert/strict";
import { startGateway } from "./fakes/gateway.ts";
import { assertEachOnce, countBy, sendThroughOutage, until } from "./fakes/outage.ts";
import {
  type LangfuseReceiver,
  startLangfuseReceiver,
  TEST_PUBLIC_KEY,
  TEST_SECRET_KEY,
} from "../plugins/langfuse/test_support.ts";

const N = 300;

/** How many spans (OTLP) and generations (batch API) per call id the server stored. */
const seen = (rx: LangfuseReceiver) => ({
  spans: countBy(rx.spans(), (span) => String(span.attributes["sluice.call_id"])),
  generations: countBy(
    rx.stored().filter((e) => e.type === "generation-create"),
    (e) => String(e.body.metadata.call_id),
  ),
});

Deno.test("a Langfuse server that is down (503, then refusing connections) loses no call, over OTLP and the batch API", async () => {
  const dataDir = await Deno.makeTempDir();
  let rx = startLangfuseReceiver({ answer: () => new Response("down", { status: 503 }) });
  const port = rx.port;
  const entry = (name: string, transport: string) => ({
    name,
    use: "langfuse",
    config: {
      public_key: TEST_PUBLIC_KEY,
      secret_key: TEST_SECRET_KEY,
      host: `http://127.0.0.1:${port}`,
      transport,
      protocol: "http/json",
      timeout_ms: 2000,
    },
    queue: { batch_size: 50, flush_interval_ms: 20, max_queue: 100 },
  });
  const gw = await startGateway({
    server: { data_dir: dataDir },
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [entry("lf-otel", "otel"), entry("lf-batch", "ingestion")],
  });
  const ids = Array.from({ length: N }, (_, i) => `lf-loss-${i}`);
  try {
    await sendThroughOutage(gw.url, ids, {
      refused: () => until(() => rx.all.length >= 4, 10_000, "failed deliveries"),
      stop: () => rx.close(),
    });
    assert.equal(rx.spans().length + rx.stored().length, 0, "nothing stored while down");

    rx = startLangfuseReceiver({ port });
    await until(
      () => {
        const s = seen(rx);
        return s.spans.size >= N && s.generations.size >= N;
      },
      30_000,
      "every call at the recovered server",
    );
    const { spans, generations } = seen(rx);
    assertEachOnce(spans, ids, "span");
    assertEachOnce(generations, ids, "generation");
    assert.deepEqual(rx.problems(), []);
  } finally {
    await gw.close();
    await rx.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
