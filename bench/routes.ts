/**
 * The translated routes end to end: `POST /v1/responses` through Sluice to
 * an upstream that speaks the Responses API (passed through) and to the
 * same upstream as a Chat Completions server (`api: chat`: translated),
 * side by side at one connection. The mock upstream (`bench/mock_upstream.ts`)
 * answers the same turn on both paths, `--pace-ms` apart per stream event.
 *
 * Per round (the order alternates), for each path: `--calls` sequential
 * non-streamed calls (latency to the end of the body), then `--calls`
 * streams (time to the first `response.output_text.delta` event). The
 * verdict is the median over rounds of p50(translated) − p50(pass-through)
 * (target ≤ 0.1 ms) and of the TTFT medians' difference (target ≤ 0.3 ms).
 *
 * Usage: deno run -A bench/routes.ts [--rounds 5] [--calls 300] [--pace-ms 0]
 * @module
 */
import { parseArgs } from "node:util";
import { fmt, machine, median, readinessProbe, ROOT } from "./common.ts";
import { BenchScope, freePort, runMain, spawnServer, spawnSluice, waitReady } from "./procs.ts";

const scope = new BenchScope();
const decoder = new TextDecoder();

function body(model: string, stream: boolean): string {
  return JSON.stringify({
    model,
    stream,
    instructions: "Answer in two sentences.",
    input: [{ role: "user", content: "Summarise the plot of Hamlet." }],
  });
}

async function call(url: string, model: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: body(model, false),
  });
  const text = await res.text();
  if (res.status !== 200 || !text.includes('"output"')) {
    throw new Error(`${model}: ${res.status} ${text}`);
  }
  return performance.now() - t0;
}

async function ttft(url: string, model: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: body(model, true),
  });
  if (res.status !== 200 || !res.body) throw new Error(`${model}: status ${res.status}`);
  let first = NaN;
  let text = "";
  for await (const chunk of res.body) {
    text += decoder.decode(chunk, { stream: true });
    if (Number.isNaN(first) && text.includes("response.output_text.delta")) {
      first = performance.now() - t0;
    }
  }
  if (!text.includes("response.completed")) throw new Error(`${model}: stream incomplete`);
  return first;
}

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      rounds: { type: "string", default: "5" },
      calls: { type: "string", default: "300" },
      "pace-ms": { type: "string", default: "0" },
    },
  });
  const rounds = Number(values.rounds), calls = Number(values.calls);
  const tmp = await scope.tmpDir("sluice-routes-");
  const upstreamPort = freePort(), sluicePort = freePort();
  const upstream = spawnServer(
    "upstream",
    "bench/mock_upstream.ts",
    ["--port", `${upstreamPort}`, "--pace-ms", values["pace-ms"]!],
    ROOT,
    scope.children,
  );
  const base = `http://127.0.0.1:${upstreamPort}/v1`;
  const config = {
    server: { host: "127.0.0.1", data_dir: `${tmp}/data`, shutdown_timeout_ms: 3000 },
    models: [
      { name: "native", provider: "openai", model: "bench-model", api_base: base, api_key: "b" },
      {
        name: "translated",
        provider: "openai",
        model: "bench-model",
        api_base: base,
        api_key: "b",
        api: "chat",
      },
    ],
    sinks: [{ use: "jsonl" }],
  };
  const sluice = await spawnSluice(
    "sluice",
    JSON.stringify(config),
    sluicePort,
    { tmp, cwd: ROOT },
    scope.children,
  );
  await waitReady(
    upstream,
    async () =>
      (await fetch(`${base}/responses`, { method: "POST", body: "{}" }).then((r) => r.text()))
        .length > 0,
    "bench/mock_upstream.ts",
  );
  await waitReady(sluice, readinessProbe(sluicePort), "mod.ts");
  const url = `http://127.0.0.1:${sluicePort}/v1/responses`;
  for (const model of ["native", "translated"]) for (let i = 0; i < 50; i++) await call(url, model); // warm up
  const p50: Record<string, number[]> = { native: [], translated: [] };
  const first: Record<string, number[]> = { native: [], translated: [] };
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 ? ["translated", "native"] : ["native", "translated"];
    for (const model of order) {
      const latencies: number[] = [];
      for (let i = 0; i < calls; i++) latencies.push(await call(url, model));
      const firsts: number[] = [];
      for (let i = 0; i < calls; i++) firsts.push(await ttft(url, model));
      p50[model].push(percentile(latencies, 0.5));
      first[model].push(median(firsts));
    }
    console.log(
      `round ${round + 1}: p50 pass-through ${fmt(p50.native[round], 3)} ms, translated ${
        fmt(p50.translated[round], 3)
      } ms; ` +
        `TTFT pass-through ${fmt(first.native[round], 3)} ms, translated ${
          fmt(first.translated[round], 3)
        } ms`,
    );
  }
  const diff = (a: number[], b: number[]) => median(a.map((v, i) => v - b[i]));
  console.log(await machine());
  console.log(
    `median over ${rounds} rounds of ${calls} calls: p50 translated − pass-through ${
      fmt(diff(p50.translated, p50.native), 3)
    } ms (target ≤ 0.1); ` +
      `TTFT translated − pass-through ${
        fmt(diff(first.translated, first.native), 3)
      } ms (target ≤ 0.3)`,
  );
  return 0;
}

await runMain("routes", main, scope.cleanup);
