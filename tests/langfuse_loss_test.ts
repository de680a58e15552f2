/**
 * The loss test of `tests/loss_test.ts` with the langfuse sink, both
 * transports at once: the Langfuse server answers 503, then refuses
 * connections, while calls go through; every call succeeds and, once the
 * server is back, it has every call's span (OTLP) and every call's
 * generation (batch API), each once.
 */
import assert from "node:assert/strict";
import { startGateway } from "./fakes/gateway.ts";
import {
  type LangfuseReceiver,
  startLangfuseReceiver,
  TEST_PUBLIC_KEY,
  TEST_SECRET_KEY,
  until,
} from "../plugins/langfuse/test_support.ts";

const N = 300;

/** Sends one chat call per id, `concurrency` at a time; returns each id's status (0: no answer). */
async function sendCalls(url: string, ids: string[], concurrency = 16): Promise<number[]> {
  const statuses: number[] = [];
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
        statuses.push(res.status);
      } catch {
        statuses.push(0);
      }
    }
  }));
  return statuses;
}

/** How many spans and generations per call id the server stored. */
function seen(
  rx: LangfuseReceiver,
): { spans: Map<string, number>; generations: Map<string, number> } {
  const spans = new Map<string, number>();
  for (const span of rx.spans()) {
    const id = String(span.attributes["sluice.call_id"]);
    spans.set(id, (spans.get(id) ?? 0) + 1);
  }
  const generations = new Map<string, number>();
  for (const e of rx.stored()) {
    if (e.type !== "generation-create") continue;
    const id = String(e.body.metadata.call_id);
    generations.set(id, (generations.get(id) ?? 0) + 1);
  }
  return { spans, generations };
}

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
    const first = await sendCalls(gw.url, ids.slice(0, N / 2));
    await until(() => rx.all.length >= 4, 10_000, "failed deliveries");
    await rx.close(); // now connections are refused
    const second = await sendCalls(gw.url, ids.slice(N / 2));
    assert.deepEqual([...new Set([...first, ...second])], [200], "every call succeeded");
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
    assert.deepEqual([...spans.keys()].sort(), [...ids].sort());
    assert.deepEqual([...generations.keys()].sort(), [...ids].sort());
    assert.equal([...spans.values()].filter((n) => n > 1).length, 0, "no duplicate spans");
    assert.equal([...generations.values()].filter((n) => n > 1).length, 0, "no duplicates");
    assert.deepEqual(rx.problems(), []);
  } finally {
    await gw.close();
    await rx.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
