/**
 * Sandbox benchmark: what running a sink in its own process costs, against
 * the same plugin in the gateway process. The built-in webhook sink posts
 * to a loopback receiver in this process (answers 204 once it has read the
 * body). Per round, and alternating which goes first:
 *
 * - start: `loadSink` until the sink is ready (sandboxed: a probe process
 *   describes the plugin, then the sink's own process starts and runs
 *   `create`);
 * - delivery: `--batches` sequential `log()` calls of `--batch` sample
 *   events each (after 10 warm-up batches), the mean time per batch;
 * - memory: the resident size of the sandbox process (VmRSS of this
 *   process's children).
 *
 * Reports the medians over rounds and the ratio sandboxed / in-process.
 *
 * Usage: deno run -A bench/sandbox.ts [--rounds 5] [--batches 200] [--batch 100] [--json]
 * @module
 */
import { parseArgs } from "node:util";
import { loadSink } from "../core/loader/mod.ts";
import { sampleEvents } from "../core/testing.ts";
import { fmt, machine, median } from "./common.ts";
import { BenchScope, childPids, rssMb, runMain } from "./procs.ts";

const args = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    batches: { type: "string", default: "200" },
    batch: { type: "string", default: "100" },
    json: { type: "boolean", default: false },
  },
});
const ROUNDS = Number(args.values.rounds);
const BATCHES = Number(args.values.batches);
const BATCH = Number(args.values.batch);

type Mode = "sandboxed" | "in-process";

interface Sample {
  startMs: number;
  batchMs: number;
  childRssMb: number;
}

async function measure(mode: Mode, url: string, dataDir: string): Promise<Sample> {
  const controller = new AbortController();
  const started = performance.now();
  const loaded = await loadSink(
    {
      use: "webhook",
      sandbox: mode === "sandboxed",
      allow_unpinned: false,
      optional: false,
      required: false,
      queue: { batch_size: BATCH, flush_interval_ms: 1000, max_queue: 10_000, spool_max_bytes: 0 },
      config: { url },
    },
    { dataDir, baseDir: Deno.cwd(), signal: controller.signal, log: () => {} },
  );
  const startMs = performance.now() - started;
  const events = sampleEvents(BATCH);
  try {
    for (let i = 0; i < 10; i++) await loaded.sink.log(events);
    const t0 = performance.now();
    for (let i = 0; i < BATCHES; i++) await loaded.sink.log(events);
    const batchMs = (performance.now() - t0) / BATCHES;
    const childRssMb = childPids(Deno.pid).reduce((sum, pid) => sum + (rssMb(pid) || 0), 0);
    return { startMs, batchMs, childRssMb };
  } finally {
    await loaded.sink.close?.();
    controller.abort();
  }
}

const scope = new BenchScope();

async function main(): Promise<number> {
  const dataDir = await scope.tmpDir("sluice-bench-sandbox-");
  let received = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    await req.arrayBuffer();
    received++;
    return new Response(null, { status: 204 });
  });
  const url = `http://127.0.0.1:${server.addr.port}/hook`;
  const bytes = new TextEncoder().encode(JSON.stringify(sampleEvents(BATCH))).length;
  const samples: Record<Mode, Sample[]> = { sandboxed: [], "in-process": [] };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const order: Mode[] = round % 2 ? ["in-process", "sandboxed"] : ["sandboxed", "in-process"];
      for (const mode of order) samples[mode].push(await measure(mode, url, dataDir));
    }
  } finally {
    await server.shutdown();
  }
  const summary = (mode: Mode) => ({
    startMs: median(samples[mode].map((s) => s.startMs)),
    batchMs: median(samples[mode].map((s) => s.batchMs)),
    childRssMb: median(samples[mode].map((s) => s.childRssMb)),
  });
  const sandboxed = summary("sandboxed");
  const inProcess = summary("in-process");
  const result = {
    machine: await machine(),
    rounds: ROUNDS,
    batches: BATCHES,
    batch: BATCH,
    batchBytes: bytes,
    received,
    sandboxed,
    inProcess,
    batchRatio: sandboxed.batchMs / inProcess.batchMs,
    startRatio: sandboxed.startMs / inProcess.startMs,
  };
  if (args.values.json) {
    console.log(JSON.stringify(result, null, 2));
    return 0;
  }
  console.log(result.machine);
  console.log(
    `webhook sink, ${BATCH} sample events per batch (${(bytes / 1024).toFixed(0)} KiB), ` +
      `${BATCHES} batches per run, ${ROUNDS} rounds (medians):`,
  );
  for (const [name, s] of [["sandboxed", sandboxed], ["in-process", inProcess]] as const) {
    console.log(
      `  ${name.padEnd(10)}  start ${fmt(s.startMs, 0).padStart(5)} ms   ` +
        `${fmt(s.batchMs, 2).padStart(6)} ms per batch` +
        (name === "sandboxed" ? `   sandbox process RSS ${fmt(s.childRssMb, 0)} MB` : ""),
    );
  }
  console.log(
    `  ratio sandboxed / in-process: ${fmt(result.batchRatio, 2)}× per batch, ` +
      `${fmt(result.startRatio, 1)}× start`,
  );
  return 0;
}

await runMain("sandbox", main, scope.cleanup);
