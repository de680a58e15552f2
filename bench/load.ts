/**
 * Load benchmark, driven by wrk with a non-stream chat completion POST.
 *
 * - Default: Sluice (with `--sink`) vs a bare `Deno.serve` + `fetch` proxy vs
 *   the mock upstream itself ("direct"), at 1 and 32 connections. With
 *   `--workers 1,2`, one Sluice per count of serving isolates
 *   (`server.workers`): `sluice` (1) and `sluice-w2` (2).
 * - `--compare-sinks`: the bare proxy vs Sluice with the `jsonl` sink vs
 *   Sluice with the `slow` sink (`bench/slow_sink.ts`: 2 s per `log()`),
 *   two Sluice processes, at 1 and 32 connections; shows whether a slow sink
 *   changes request latency.
 * - `--soak N`: Sluice's memory over N requests with a dead webhook sink
 *   (see `bench/soak.ts`).
 *
 * Rounds are interleaved (every target at 1 connection, then at 32, per
 * round) so noise hits all targets alike.
 *
 * Usage:
 *   deno task load [--rounds 3] [--duration 5] [--sink jsonl|none|slow] [--json]
 *   deno task load --compare-sinks [--rounds 3] [--duration 5] [--json]
 *   deno task load --soak 100000 [--idle 10] [--json]
 *
 * Exit codes: 0 done, 1 failure (wrk missing, a server did not start), 3 some
 * wrk run saw non-2xx responses or socket errors (its numbers are worthless).
 * @module
 */
import { parseArgs } from "node:util";
import {
  CHAT_BODY,
  chatProbe,
  fmt,
  gatewayConfig,
  machine,
  median,
  metricLines,
  readinessProbe,
  ROOT,
  SINK_KINDS,
  sinkEntries,
  type SinkKind,
} from "./common.ts";
import {
  BenchScope,
  clockTicks,
  cpuSeconds,
  freePort,
  rssMb,
  runMain,
  type Server,
  spawnServer,
  waitReady,
} from "./procs.ts";
import { soak, soakReport } from "./soak.ts";
import { hasWrk, runWrk, wrkArgs, type WrkResult, wrkScript } from "./wrk.ts";

const CONNECTIONS = [1, 32] as const;
const WARMUP_S = 3;
/** Targets: sluice/bare req/s at 32 connections, sluice−bare p50 (ms) at 1 connection. */
const MIN_RATIO_32 = 0.8;
const MAX_P50_DIFF_1 = 0.1;
/** The two Sluice targets of `--compare-sinks`. */
const JSONL = "sluice+jsonl", SLOW = "sluice+slow";
const USAGE = [
  "usage: deno run -A bench/load.ts [--rounds N=3] [--duration S=5] [--sink jsonl|none|slow] [--workers 1,2] [--json]",
  "       deno run -A bench/load.ts --compare-sinks [--rounds N=3] [--duration S=5] [--json]",
  "       deno run -A bench/load.ts --soak N [--idle S=10] [--json]",
].join("\n");

/** One wrk run with the RSS and CPU time of the target's server process. */
export interface RunResult extends WrkResult {
  /** 1-based round. */
  round: number;
  /** What wrk hit: `bare`, `direct`, `sluice`, or a Sluice variant (`sluice+slow`). */
  target: string;
  /** Open connections. */
  connections: number;
  /** VmRSS right after the run, MB. */
  rssMb: number;
  /** CPU time (user + system, all threads) during the run per request, µs. */
  cpuUsPerReq: number;
}

/** A server wrk hits. */
interface Target {
  /** Name in the tables. */
  name: string;
  /** The chat completions URL. */
  url: string;
  /** Its process. */
  server: Server;
  /** Compared with `bare` in the table (a Sluice). */
  gateway: boolean;
  /** Its port. */
  port: number;
  /** The script it runs (names its process: see `waitReady`). */
  script: string;
}

const scope = new BenchScope();
const { children } = scope;

/** Starts `deno run -A script` as a target (not yet ready: see {@link ready}). */
function spawnTarget(name: string, script: string, args: string[], gateway = false): Target {
  const port = freePort();
  const server = spawnServer(name, script, ["--port", `${port}`, ...args], ROOT, children);
  const url = `http://127.0.0.1:${port}/v1/chat/completions`;
  return { name, url, server, gateway, port, script };
}

/** Starts a Sluice whose config (written under `tmp`) has the `sink` sinks only. */
async function spawnSluice(
  name: string,
  sink: SinkKind,
  upstreamPort: number,
  tmp: string,
  workers = 1,
): Promise<Target> {
  const config = `${tmp}/${name}.yaml`;
  await Deno.writeTextFile(
    config,
    gatewayConfig(upstreamPort, `${tmp}/data-${name}`, sinkEntries(sink), workers),
  );
  return spawnTarget(name, "mod.ts", ["--config", config], true);
}

/** Waits until a target answers a chat completion with 200. */
async function ready(target: Target): Promise<void> {
  const probe = target.gateway ? readinessProbe(target.port) : chatProbe(target.url);
  await waitReady(target.server, probe, target.script);
  await chatProbe(target.url)(); // an error response here would make the run worthless
}

/** Median over rounds of `f(run of a, run of b)` for runs of the same round at `connections`. */
function perRound(
  runs: RunResult[],
  a: string,
  b: string,
  connections: number,
  f: (a: RunResult, b: RunResult) => number,
): number {
  const values: number[] = [];
  for (const ra of runs.filter((r) => r.target === a && r.connections === connections)) {
    const rb = runs.find((r) =>
      r.target === b && r.round === ra.round && r.connections === connections
    );
    if (rb) values.push(f(ra, rb));
  }
  return median(values);
}

/** The markdown results table; gateway rows are compared with `bare`. */
function report(runs: RunResult[], targets: Target[]): string[] {
  const lines = [
    "| target | conns | req/s | p50 ms | p99 ms | RSS MB (max) | CPU µs/req | errors | sluice/bare req/s | sluice−bare p50 ms |",
    "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|",
  ];
  for (const connections of CONNECTIONS) {
    for (const { name, gateway } of targets) {
      const rs = runs.filter((r) => r.target === name && r.connections === connections);
      if (!rs.length) continue;
      const med = (f: (r: RunResult) => number, digits: number) => fmt(median(rs.map(f)), digits);
      const non2xx = rs.reduce((s, r) => s + r.non2xx, 0);
      const socket = rs.reduce((s, r) => s + r.socketErrors, 0);
      const errors = non2xx + socket ? `⚠ ${non2xx} non-2xx, ${socket} socket` : "0";
      let ratio = "", diff = "";
      if (gateway) {
        const r = perRound(runs, name, "bare", connections, (s, b) => s.rps / b.rps);
        const d = perRound(runs, name, "bare", connections, (s, b) => s.p50Ms - b.p50Ms);
        const verdict = (ok: boolean) => (ok ? "PASS" : "MISS");
        ratio = fmt(r, 2) +
          (connections === 32 ? ` ${verdict(r >= MIN_RATIO_32)} (≥ ${MIN_RATIO_32})` : "");
        diff = fmt(d, 3) +
          (connections === 1 ? ` ${verdict(d <= MAX_P50_DIFF_1)} (≤ ${MAX_P50_DIFF_1})` : "");
      }
      const cells = [
        name,
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

/** `--compare-sinks`: slow vs jsonl, as medians of per-round differences. */
function sinkComparison(runs: RunResult[]): string[] {
  const diff = (connections: number, f: (r: RunResult) => number) =>
    perRound(runs, SLOW, JSONL, connections, (s, j) => f(s) - f(j));
  const lines = [
    "| conns | slow−jsonl p50 ms | slow−jsonl p99 ms | slow/jsonl req/s |",
    "|---:|---:|---:|---:|",
  ];
  for (const connections of CONNECTIONS) {
    const ratio = perRound(runs, SLOW, JSONL, connections, (s, j) => s.rps / j.rps);
    const cells = [
      String(connections),
      fmt(diff(connections, (r) => r.p50Ms), 3),
      fmt(diff(connections, (r) => r.p99Ms), 3),
      fmt(ratio, 2),
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  lines.push(
    "",
    `median per-round p50 difference slow − jsonl at 1 connection: ` +
      `${fmt(diff(1, (r) => r.p50Ms), 3)} ms`,
  );
  return lines;
}

/** Warm-up, then `rounds` interleaved rounds over `targets`; progress on stderr. */
async function measure(
  targets: Target[],
  rounds: number,
  duration: number,
  script: string,
): Promise<RunResult[]> {
  const wrkRun = (target: Target, connections: number, seconds: number) => {
    const threads = connections === 1 ? 1 : 2;
    return runWrk({ url: target.url, script, connections, threads, duration: seconds }, children);
  };
  for (const target of targets) { // warm-up: JIT, connection pools; results discarded
    for (const connections of CONNECTIONS) await wrkRun(target, connections, WARMUP_S);
  }
  const ticks = await clockTicks();
  const width = Math.max(...targets.map((t) => t.name.length));
  const runs: RunResult[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const connections of CONNECTIONS) {
      for (const target of targets) {
        const { server } = target;
        const cpu0 = cpuSeconds(server.pid, ticks);
        const result = await wrkRun(target, connections, duration);
        if (server.exited) throw new Error(`${target.name} exited:\n${server.log()}`);
        const cpuUsPerReq = (cpuSeconds(server.pid, ticks) - cpu0) * 1e6 / result.requests;
        const run = {
          round,
          target: target.name,
          connections,
          ...result,
          rssMb: rssMb(server.pid),
          cpuUsPerReq,
        };
        runs.push(run);
        const errors = run.non2xx + run.socketErrors
          ? `  ⚠ ${run.non2xx} non-2xx, ${run.socketErrors} socket errors`
          : "";
        console.error(
          `round ${round} ${target.name.padEnd(width)} c=${String(connections).padStart(2)}: ` +
            `${fmt(run.rps, 0)} req/s, p50 ${fmt(run.p50Ms, 3)} ms, p99 ${fmt(run.p99Ms, 3)} ms, ` +
            `rss ${fmt(run.rssMb, 1)} MB, cpu ${fmt(run.cpuUsPerReq, 0)} µs/req${errors}`,
        );
      }
    }
  }
  return runs;
}

/** Prints the runs that saw errors; returns how many there were. */
function reportErrors(runs: RunResult[]): number {
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
  return bad.length;
}

/** Default and `--compare-sinks` modes. */
async function runRounds(
  tmp: string,
  opts: {
    rounds: number;
    duration: number;
    sink: SinkKind;
    compare: boolean;
    json: boolean;
    workers: number[];
  },
): Promise<number> {
  const script = `${tmp}/chat.lua`;
  await Deno.writeTextFile(script, wrkScript(CHAT_BODY));
  const direct = spawnTarget("direct", "bench/mock_upstream.ts", []);
  const bare = spawnTarget("bare", "bench/bare_proxy.ts", [
    "--upstream",
    `http://127.0.0.1:${direct.port}`,
  ]);
  const targets = opts.compare
    ? [
      bare,
      await spawnSluice(JSONL, "jsonl", direct.port, tmp),
      await spawnSluice(SLOW, "slow", direct.port, tmp),
    ]
    : [
      bare,
      ...await Promise.all(
        opts.workers.map((n) =>
          spawnSluice(n === 1 ? "sluice" : `sluice-w${n}`, opts.sink, direct.port, tmp, n)
        ),
      ),
      direct,
    ];
  await ready(direct);
  for (const target of targets) if (target !== direct) await ready(target);

  const command = ["deno", "run", "-A", "bench/load.ts", ...Deno.args].join(" ");
  const wrk = wrkArgs({
    url: "<url>",
    script: "<chat.lua>",
    connections: 32,
    threads: 2,
    duration: opts.duration,
  });
  const sinks = opts.compare ? `${JSONL}: jsonl, ${SLOW}: slow (2 s per log())` : opts.sink;
  console.log(`command: ${command}`);
  console.log(`machine: ${await machine()}`);
  console.log(`wrk: ${wrk.join(" ")} (-t1 -c1 for 1 connection); sink: ${sinks}`);
  const all = targets.includes(direct) ? targets : [...targets, direct];
  console.log(`pids: ${all.map((t) => `${t.name}=${t.server.pid}`).join(" ")}`);

  const runs = await measure(targets, opts.rounds, opts.duration, script);

  console.log("");
  for (const line of report(runs, targets)) console.log(line);
  console.log(
    `\nMedians over ${opts.rounds} round(s) of ${opts.duration} s; ratio and p50 diff are ` +
      `medians of per-round values. Targets: sluice/bare req/s ≥ ${MIN_RATIO_32} at 32 ` +
      `connections, sluice−bare p50 ≤ ${MAX_P50_DIFF_1} ms at 1.`,
  );
  const gateways = targets.filter((t) => t.gateway);
  if (opts.compare) {
    console.log("");
    for (const line of sinkComparison(runs)) console.log(line);
  }
  if (opts.compare || opts.sink === "slow") {
    console.log("\nSink state at the end (GET /metrics):");
    for (const target of gateways) {
      for (const line of await metricLines(target.port, "sluice_sink_")) {
        console.log(`  ${target.name}: ${line}`);
      }
    }
  }
  const bad = reportErrors(runs);
  if (opts.json) {
    const { rounds, duration, sink, compare } = opts;
    console.log(JSON.stringify({ command, sink, compare, rounds, duration, runs }, null, 2));
  }
  return bad ? 3 : 0;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    strict: true,
    options: {
      rounds: { type: "string", default: "3" },
      duration: { type: "string", default: "5" },
      sink: { type: "string", default: "jsonl" },
      "compare-sinks": { type: "boolean", default: false },
      soak: { type: "string" },
      idle: { type: "string", default: "10" },
      json: { type: "boolean", default: false },
      workers: { type: "string", default: "1" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const positive = (text: string) => Number.isInteger(Number(text)) && Number(text) >= 1;
  const rounds = Number(values.rounds), duration = Number(values.duration);
  if (!positive(values.rounds) || !positive(values.duration)) {
    console.error(`--rounds and --duration must be positive integers\n${USAGE}`);
    return 1;
  }
  const sink = values.sink as SinkKind;
  if (!SINK_KINDS.includes(sink)) {
    console.error(`--sink must be one of ${SINK_KINDS.join(", ")}\n${USAGE}`);
    return 1;
  }
  if (values.soak !== undefined && (!positive(values.soak) || values["compare-sinks"])) {
    console.error(`--soak takes a positive number of requests, without --compare-sinks\n${USAGE}`);
    return 1;
  }
  if (!positive(values.idle) && values.idle !== "0") {
    console.error(`--idle must be a number of seconds\n${USAGE}`);
    return 1;
  }
  const workers = values.workers.split(",").map(Number);
  if (!workers.every((n) => Number.isInteger(n) && n >= 1 && n <= 16)) {
    console.error(`--workers takes counts of serving isolates, e.g. 1,2\n${USAGE}`);
    return 1;
  }
  if (!(await hasWrk())) {
    console.error("wrk not found on PATH; install wrk: apt-get install -y wrk");
    return 1;
  }

  const tmp = await scope.tmpDir("sluice-load-");
  if (values.soak === undefined) {
    const compare = values["compare-sinks"];
    return await runRounds(tmp, { rounds, duration, sink, compare, json: values.json, workers });
  }

  const requests = Number(values.soak), idleS = Number(values.idle);
  console.log(`command: ${["deno", "run", "-A", "bench/load.ts", ...Deno.args].join(" ")}`);
  console.log(`machine: ${await machine()}`);
  const result = await soak({ requests, idleS, tmp, children });
  console.log("");
  for (const line of soakReport(result, idleS)) console.log(line);
  if (values.json) console.log(JSON.stringify(result, null, 2));
  return result.non2xx + result.socketErrors ? 3 : 0;
}

if (import.meta.main) await runMain("load", main, scope.cleanup);
