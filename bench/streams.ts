/**
 * Streams through Sluice against a bare piping proxy (`bench/bare_proxy.ts`),
 * both in front of the mock upstream pacing its SSE events (`--pace-ms`):
 *
 * 1. Time to first token: `--calls` streamed chat calls one after another
 *    per target, interleaved by round; from sending the request to the first
 *    body bytes that carry a content delta (one pace after the role event),
 *    then the stream is cancelled (a client going away, logged as such). Target: Sluice within 0.3 ms of
 *    the bare proxy (median of per-round differences of medians).
 * 2. `--concurrent` (512) streams at once per target: every stream must end
 *    with `[DONE]`, and a stall is a gap between two reads of one stream
 *    longer than `pace + --stall-ms`. Target: 0 stalls.
 *
 * Sluice runs with the JSONL sink and default redaction, so every stream is
 * accumulated and logged by the log Worker while the others go on.
 *
 * Usage: `deno run -A bench/streams.ts [--rounds 3] [--calls 200] [--concurrent 512]
 * [--pace-ms 20] [--stall-ms 200]`
 * @module
 */
import { parseArgs } from "node:util";
import {
  fmt,
  gatewayConfig,
  machine,
  median,
  readinessProbe,
  ROOT,
  sinkEntries,
} from "./common.ts";
import {
  BenchScope,
  freePort,
  runMain,
  type Server,
  spawnServer,
  spawnSluice,
  waitReady,
} from "./procs.ts";

const scope = new BenchScope();
const { children } = scope;

const STREAM_BODY = JSON.stringify({
  model: "bench-model",
  stream: true,
  messages: [{ role: "user", content: "Summarise the plot of Hamlet in two sentences." }],
});

/** One stream's timings: ms to the first content delta, the largest gap between reads, completeness. */
interface StreamRun {
  ttftMs: number;
  maxGapMs: number;
  done: boolean;
}

const decoder = new TextDecoder();

/** One streamed call; with `firstTokenOnly`, the stream is cancelled after its first content delta. */
async function stream(url: string, firstTokenOnly = false): Promise<StreamRun> {
  const t0 = performance.now();
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: STREAM_BODY,
  });
  if (res.status !== 200 || !res.body) throw new Error(`${url}: status ${res.status}`);
  let ttftMs = NaN, maxGapMs = 0, last = performance.now(), text = "";
  for await (const chunk of res.body) {
    const now = performance.now();
    maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
    const piece = decoder.decode(chunk, { stream: true });
    text += piece;
    if (Number.isNaN(ttftMs) && /"content":"[^"]/.test(piece)) {
      ttftMs = now - t0;
      if (firstTokenOnly) break; // leaving the loop cancels the stream
    }
  }
  return { ttftMs, maxGapMs, done: text.includes("data: [DONE]") };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      rounds: { type: "string", default: "3" },
      calls: { type: "string", default: "200" },
      concurrent: { type: "string", default: "512" },
      "pace-ms": { type: "string", default: "20" },
      "stall-ms": { type: "string", default: "200" },
    },
  });
  const rounds = Number(values.rounds), calls = Number(values.calls);
  const concurrent = Number(values.concurrent), paceMs = Number(values["pace-ms"]);
  const stallMs = Number(values["stall-ms"]);
  const tmp = await scope.tmpDir("sluice-streams-");
  const upstreamPort = freePort(), barePort = freePort(), sluicePort = freePort();
  const upstream = spawnServer(
    "upstream",
    "bench/mock_upstream.ts",
    [
      "--port",
      `${upstreamPort}`,
      "--pace-ms",
      `${paceMs}`,
    ],
    ROOT,
    children,
  );
  const bare = spawnServer(
    "bare",
    "bench/bare_proxy.ts",
    [
      "--port",
      `${barePort}`,
      "--upstream",
      `http://127.0.0.1:${upstreamPort}`,
    ],
    ROOT,
    children,
  );
  const sluice = await spawnSluice(
    "sluice",
    gatewayConfig(upstreamPort, `${tmp}/data`, sinkEntries("jsonl")),
    sluicePort,
    { tmp, cwd: ROOT },
    children,
  );
  const answers = (port: number) => async () => {
    const run = await stream(`http://127.0.0.1:${port}/v1/chat/completions`).catch(() => undefined);
    return run?.done === true;
  };
  await waitReady(upstream, answers(upstreamPort), "bench/mock_upstream.ts");
  await waitReady(bare, answers(barePort), "bench/bare_proxy.ts");
  await waitReady(sluice, readinessProbe(sluicePort), "mod.ts");
  const targets: [string, string, Server][] = [
    ["bare", `http://127.0.0.1:${barePort}/v1/chat/completions`, bare],
    ["sluice", `http://127.0.0.1:${sluicePort}/v1/chat/completions`, sluice],
  ];
  for (const [, url] of targets) for (let i = 0; i < 20; i++) await stream(url); // warm-up

  const ttft: Record<string, number[]> = { bare: [], sluice: [] };
  for (let round = 0; round < rounds; round++) {
    for (const [name, url] of round % 2 ? [...targets].reverse() : targets) {
      const times: number[] = [];
      for (let i = 0; i < calls; i++) times.push((await stream(url, true)).ttftMs);
      ttft[name].push(median(times));
    }
  }
  const diffs = ttft.sluice.map((s, i) => s - ttft.bare[i]);

  const concurrency: Record<string, { stalls: number; incomplete: number; maxGap: number }> = {};
  for (const [name, url] of targets) {
    const runs = await Promise.all(
      Array.from(
        { length: concurrent },
        () => stream(url).catch(() => ({ ttftMs: NaN, maxGapMs: Infinity, done: false })),
      ),
    );
    concurrency[name] = {
      stalls: runs.filter((r) => r.maxGapMs > paceMs + stallMs).length,
      incomplete: runs.filter((r) => !r.done).length,
      maxGap: Math.max(...runs.map((r) => r.maxGapMs)),
    };
  }

  console.log(`${await machine()}; upstream paces events ${paceMs} ms apart`);
  console.log(`\nTime to first token, median of ${calls} sequential streams per round:`);
  console.log("| round | bare ms | sluice ms | sluice − bare ms |\n| ---: | ---: | ---: | ---: |");
  diffs.forEach((d, i) =>
    console.log(`| ${i + 1} | ${fmt(ttft.bare[i], 3)} | ${fmt(ttft.sluice[i], 3)} | ${fmt(d, 3)} |`)
  );
  const verdict = median(diffs) <= 0.3 ? "PASS" : "MISS";
  console.log(`median difference: ${fmt(median(diffs), 3)} ms (${verdict}, target ≤ 0.3 ms)`);
  console.log(`\n${concurrent} concurrent streams (a stall: a gap over ${paceMs + stallMs} ms):`);
  console.log("| target | stalls | incomplete | longest gap ms |\n| --- | ---: | ---: | ---: |");
  for (const [name, c] of Object.entries(concurrency)) {
    console.log(`| ${name} | ${c.stalls} | ${c.incomplete} | ${fmt(c.maxGap, 1)} |`);
  }
  return Object.values(concurrency).some((c) => c.incomplete > 0) ? 3 : 0;
}

if (import.meta.main) await runMain("streams", main, scope.cleanup);
