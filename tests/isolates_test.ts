/**
 * `server.workers: 2`: two serving isolates on one port share one log
 * Worker. Every call is answered, counted once in `/metrics` (whichever
 * isolate serves the scrape) and logged once; SIGTERM drains both isolates
 * and the log side, and the process exits 0.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startCliGateway } from "./fakes/cli_gateway.ts";
import { readJsonlEvents } from "./fakes/gateway.ts";
import { sendCalls, until } from "./fakes/outage.ts";

Deno.test("two serving isolates: every call answered, counted and logged once; SIGTERM drains them", async () => {
  const dir = await Deno.makeTempDir();
  const out = join(dir, "out");
  const configPath = join(dir, "gateway.yaml");
  await Deno.writeTextFile(
    configPath,
    [
      `server: { workers: 2, data_dir: ${join(dir, "data")} }`,
      "models: [{ name: mock-gpt, provider: mock }]",
      `sinks: [{ use: jsonl, config: { dir: ${out} } }]`,
    ].join("\n"),
  );
  const gw = await startCliGateway(configPath);
  try {
    await until(() => /2 serving isolates/.test(gw.stderr()), 10_000, "the listening line");
    const ids = Array.from({ length: 300 }, (_, i) => `iso-${i}`);
    // Each call on a new connection, so the kernel spreads them over both isolates.
    const statuses = await sendCalls(gw.url, ids, 16);
    assert.deepEqual([...new Set(statuses.values())], [200]);
    let metrics = "";
    for (let i = 0; i < 100 && !/status="200"\} 300$/m.test(metrics); i++) {
      await new Promise((r) => setTimeout(r, 20));
      metrics = await (await fetch(`${gw.url}/metrics`)).text();
    }
    assert.match(
      metrics,
      /^sluice_requests_total\{route="\/v1\/chat\/completions",model="mock-gpt",status="200"\} 300$/m,
    );
    assert.equal(await gw.terminate(), 0, gw.stderr());
    const events = await readJsonlEvents(out);
    const logged = events.map((e) => e.call_id as string).sort();
    assert.deepEqual(logged, [...ids].sort(), "each call logged once");
  } finally {
    await gw.kill().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});
