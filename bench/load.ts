/**
 * Load benchmark: Sluice vs a bare `Deno.serve` + `fetch` proxy vs the mock
 * upstream itself ("direct"), each driven by wrk with a non-stream chat
 * completion POST at 1 and 32 connections. Rounds are interleaved (bare,
 * sluice, direct at 1 connection, then at 32) so noise hits all targets alike.
 *
 * Usage: `deno task load [--rounds 3] [--duration 5] [--sink jsonl|none] [--json]`
 *
 * Exit codes: 0 done, 1 failure (wrk missing, a server did not start), 3 some
 * wrk run saw non-2xx responses or socket errors (its numbers are worthless).
 * @module
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import {
  clockTicks,
  cpuSeconds,
  freePort,
  rssMb,
  type Server,
  spawnServer,
  stopAll,
  waitReady,
} from "./procs.ts";
import { hasWrk, runWrk, wrkArgs, type WrkResult, wrkScript } from "./wrk.ts";

/** A benchmarked server: the bare proxy, Sluice, or the mock upstream itself. */
export type Target = "bare" | "sluice" | "direct";
const TARGETS: readonly Target[] = ["bare", "sluice", "direct"]; // the order of each round
const CONNECTIONS = [1, 32] as const;
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const WARMUP_S = 3;
/** Targets: sluice/bare req/s at 32 connections, sluice−bare p50 (ms) at 1 connection. */
const MIN_RATIO_32 = 0.8;
const MAX_P50_DIFF_1 = 0.1;
const USAGE =
  "usage: deno run -A bench/load.ts [--rounds N=3] [--duration S=5] [--sink jsonl|none] [--json]";

const CHAT_BODY = JSON.stringify({
  model: "bench-model",
  messages: [
    { role: "system", content: "You are a concise assistant. Answer in plain English." },
    { role: "user", content: "Summarise the plot of Hamlet in two sentences." },
  ],
  temperature: 0.7,
  max_tokens: 128,
  user: "bench-user-42",
});

/** One wrk run with the RSS and CPU time of the target's server process. */
export interface RunResult extends WrkResult {
  /** 1-based round. */
  round: number;
  /** What wrk hit. */
  target: Target;
  /** Open connections. */
  connections: number;
  /** VmRSS right after the run, MB. */
  rssMb: number;
  /** CPU time (user + system, all threads) during the run per request, µs. */
  cpuUsPerReq: number;
}

const children = new Set<Deno.ChildProcess>();
let tmpDir: string | undefined;

/** Stops every child and removes the temp dir. */
async function cleanup(): Promise<void> {
  await stopAll(children);
  if (tmpDir) await Deno.remove(tmpDir, { recursive: true }).catch(() => {});
  tmpDir = undefined;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function fmt(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toFixed(digits) : "n/a";
}

function gatewayConfig(upstreamPort: number, dataDir: string, sink: string): string {
  return [
    `server: { host: 127.0.0.1, data_dir: "${dataDir}" }`,
    "models:",
    "  - { name: bench-model, provider: openai, model: bench-model, " +
    `api_base: "http://127.0.0.1:${upstreamPort}/v1", api_key: bench }`,
    sink === "none" ? "sinks: []" : `sinks:\n  - { use: ${sink} }`,
    "",
  ].join("\n");
}

/** A probe that POSTs the bench body and wants a 200 chat.completion back (throws otherwise). */
function chatProbe(url: string): () => Promise<boolean> {
  return async () => {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: CHAT_BODY,
    });
    const text = await res.text();
    if (res.status !== 200 || !text.includes('"choices"')) {
      throw new Error(`POST ${url}: ${res.status} ${text}`);
    }
    return true;
  };
}

/** Median over rounds of a per-round sluice-vs-bare comparison. */
function vsBare(runs: RunResult[], connections: number, f: (s: RunResult, b: RunResult) => number) {
  const values: number[] = [];
  for (const s of runs.filter((r) => r.target === "sluice" && r.connections === connections)) {
    const b = runs.find((r) =>
      r.target === "bare" && r.round === s.round && r.connections === connections
    );
    if (b) values.push(f(s, b));
  }
  return median(values);
}

/** The markdown results table. */
function report(runs: RunResult[]): string[] {
  const lines = [
    "| target | conns | req/s | p50 ms | p99 ms | RSS MB (max) | CPU µs/req | errors | sluice/bare req/s | sluice−bare p50 ms |",
    "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|",
  ];
  for (const connections of CONNECTIONS) {
    for (const target of TARGETS) {
      const rs = runs.filter((r) => r.target === target && r.connections === connections);
      if (!rs.length) continue;
      const med = (f: (r: RunResult) => number, digits: number) => fmt(median(rs.map(f)), digits);
      const non2xx = rs.reduce((s, r) => s + r.non2xx, 0);
      const socket = rs.reduce((s, r) => s + r.socketErrors, 0);
      const errors = non2xx + socket ? `⚠ ${non2xx} non-2xx, ${socket} socket` : "0";
      let ratio = "", diff = "";
      if (target === "sluice") {
        const r = vsBare(runs, connections, (s, b) => s.rps / b.rps);
        const d = vsBare(runs, connections, (s, b) => s.p50Ms - b.p50Ms);
        const verdict = (ok: boolean) => (ok ? "PASS" : "MISS");
        ratio = fmt(r, 2) +
          (connections === 32 ? ` ${verdict(r >= MIN_RATIO_32)} (≥ ${MIN_RATIO_32})` : "");
        diff = fmt(d, 3) +
          (connections === 1 ? ` ${verdict(d <= MAX_P50_DIFF_1)} (≤ ${MAX_P50_DIFF_1})` : "");
      }
      const cells = [
        target,
        String(connections),
        med((r) => r.rps, 0),
        med((r) => r.p50Ms, 3),
        med((r) => r.p99Ms, 3),
        fmt(Math.max(...rs.map((r) => r.rssMb)), 1),
        med((r) => r.cpuUsPerReq, 0),
        errors,
        ratio,
        diff,
      ];
      lines.push(`| ${cells.join(" | ")} |`);
    }
  }
  return lines;
}

async function machine(): Promise<string> {
  const run = async (cmd: string, args: string[]) => {
    const { stdout } = await new Deno.Command(cmd, { args, stdout: "piped" }).output();
    return new TextDecoder().decode(stdout);
  };
  const cpus = (await run("nproc", [])).trim();
  const deno = (await run(Deno.execPath(), ["--version"])).split("\n")[0];
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1];
  return `nproc ${cpus}; ${deno}${model ? `; ${model}` : ""}`;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    strict: true,
    options: {
      rounds: { type: "string", default: "3" },
      duration: { type: "string", default: "5" },
      sink: { type: "string", default: "jsonl" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const rounds = Number(values.rounds), duration = Number(values.duration);
  if (!Number.isInteger(rounds) || rounds < 1 || !Number.isInteger(duration) || duration < 1) {
    console.error(`--rounds and --duration must be positive integers\n${USAGE}`);
    return 1;
  }
  if (values.sink !== "jsonl" && values.sink !== "none") {
    console.error(`--sink must be jsonl or none\n${USAGE}`);
    return 1;
  }
  if (!(await hasWrk())) {
    console.error("wrk not found on PATH; install wrk: apt-get install -y wrk");
    return 1;
  }

  const tmp = tmpDir = await Deno.makeTempDir({ prefix: "sluice-load-" });
  const script = `${tmp}/chat.lua`;
  await Deno.writeTextFile(script, wrkScript(CHAT_BODY));
  const ports: Record<Target, number> = {
    direct: freePort(),
    bare: freePort(),
    sluice: freePort(),
  };
  const config = `${tmp}/gateway.yaml`;
  await Deno.writeTextFile(config, gatewayConfig(ports.direct, `${tmp}/data`, values.sink));
  const url = (t: Target) => `http://127.0.0.1:${ports[t]}/v1/chat/completions`;

  const scripts: Record<Target, [string, string[]]> = {
    direct: ["bench/mock_upstream.ts", ["--port", `${ports.direct}`]],
    bare: ["bench/bare_proxy.ts", [
      "--port",
      `${ports.bare}`,
      "--upstream",
      `http://127.0.0.1:${ports.direct}`,
    ]],
    sluice: ["mod.ts", ["--config", config, "--port", `${ports.sluice}`]],
  };
  const servers = {} as Record<Target, Server>;
  for (const t of TARGETS) servers[t] = spawnServer(t, ...scripts[t], ROOT, children);
  await waitReady(servers.direct, chatProbe(url("direct")), scripts.direct[0]);
  await waitReady(servers.bare, chatProbe(url("bare")), scripts.bare[0]);
  await waitReady(servers.sluice, async () => {
    const res = await fetch(`http://127.0.0.1:${ports.sluice}/health/readiness`);
    await res.body?.cancel();
    return res.ok;
  }, scripts.sluice[0]);
  await chatProbe(url("sluice"))(); // a Sluice error response here would make the run worthless

  const command = ["deno", "run", "-A", "bench/load.ts", ...Deno.args].join(" ");
  const wrk = wrkArgs({
    url: "<url>",
    script: "<chat.lua>",
    connections: 32,
    threads: 2,
    duration,
  });
  console.log(`command: ${command}`);
  console.log(`machine: ${await machine()}`);
  console.log(`wrk: ${wrk.join(" ")} (-t1 -c1 for 1 connection); sink: ${values.sink}`);
  console.log(`pids: ${TARGETS.map((t) => `${t}=${servers[t].pid}`).join(" ")}`);

  const wrkRun = (target: Target, connections: number, seconds: number) => {
    const threads = connections === 1 ? 1 : 2;
    return runWrk({ url: url(target), script, connections, threads, duration: seconds }, children);
  };
  for (const target of TARGETS) { // warm-up: JIT, connection pools; results discarded
    for (const connections of CONNECTIONS) await wrkRun(target, connections, WARMUP_S);
  }

  const ticks = await clockTicks();
  const runs: RunResult[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const connections of CONNECTIONS) {
      for (const target of TARGETS) {
        const { pid } = servers[target];
        const cpu0 = cpuSeconds(pid, ticks);
        const result = await wrkRun(target, connections, duration);
        if (servers[target].exited) throw new Error(`${target} exited:\n${servers[target].log()}`);
        const cpuUsPerReq = (cpuSeconds(pid, ticks) - cpu0) * 1e6 / result.requests;
        const run = { round, target, connections, ...result, rssMb: rssMb(pid), cpuUsPerReq };
        runs.push(run);
        const errors = run.non2xx + run.socketErrors
          ? `  ⚠ ${run.non2xx} non-2xx, ${run.socketErrors} socket errors`
          : "";
        console.error(
          `round ${round} ${target.padEnd(6)} c=${String(connections).padStart(2)}: ` +
            `${fmt(run.rps, 0)} req/s, p50 ${fmt(run.p50Ms, 3)} ms, p99 ${fmt(run.p99Ms, 3)} ms, ` +
            `rss ${fmt(run.rssMb, 1)} MB, cpu ${fmt(run.cpuUsPerReq, 0)} µs/req${errors}`,
        );
      }
    }
  }

  console.log("");
  for (const line of report(runs)) console.log(line);
  console.log(
    `\nMedians over ${rounds} round(s) of ${duration} s; ratio and p50 diff are medians of ` +
      `per-round values. Targets: sluice/bare req/s ≥ ${MIN_RATIO_32} at 32 connections, ` +
      `sluice−bare p50 ≤ ${MAX_P50_DIFF_1} ms at 1.`,
  );
  const bad = runs.filter((r) => r.non2xx + r.socketErrors > 0);
  if (bad.length) {
    console.log(
      `\n⚠ ${bad.length} run(s) saw non-2xx or socket errors; their numbers are worthless:`,
    );
    for (const r of bad) {
      console.log(
        `  round ${r.round} ${r.target} c=${r.connections}: ` +
          `${r.non2xx} non-2xx, ${r.socketErrors} socket errors`,
      );
    }
  }
  if (values.json) {
    console.log(JSON.stringify({ command, sink: values.sink, rounds, duration, runs }, null, 2));
  }
  return bad.length ? 3 : 0;
}

if (import.meta.main) {
  let interrupted = false;
  const interrupt = async () => {
    interrupted = true;
    console.error("\ninterrupted: stopping servers");
    await cleanup();
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", interrupt);
  Deno.addSignalListener("SIGTERM", interrupt);
  let code = 1;
  try {
    code = await main();
  } catch (error) {
    if (!interrupted) console.error(`load: ${error instanceof Error ? error.message : error}`);
  } finally {
    await cleanup();
  }
  Deno.exit(code);
}
