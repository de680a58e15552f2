/**
 * Big-event benchmark: does logging an 11 MB image call block Sluice's
 * request thread? Target: p99 latency of concurrent small requests while one
 * 11 MB call per second is proxied and logged (default redaction, `jsonl`
 * sink) within 2 ms of the same run with no sinks configured.
 *
 * Starts the mock upstream (`bench/mock_upstream.ts`) and two Sluice
 * processes whose configs differ only in `sinks`: `jsonl` (the JSONL sink)
 * and `none` (no sinks), each with its own temp data dir and the default
 * redaction. Both parse the request body of every call, so the difference
 * between them is the log path. Per round and per target (the order
 * alternates by round), for `--duration` seconds:
 *
 * - 4 loops in this process POST the small non-stream chat body
 *   (`CHAT_BODY`) back to back; each call's latency is `fetch` up to the end
 *   of the response body;
 * - a Worker POSTs one big chat completion per second: a user message with
 *   a short text part and an `image_url` part holding a ~11 MB
 *   `data:image/png;base64,...` URL (random bytes, built once). Its latency
 *   is reported apart and is not in the small-call numbers.
 *
 * After each `jsonl` round the script waits (≤ 30 s) until `GET /metrics`
 * shows as many `sent` JSONL events as calls answered with 200, so a logging
 * backlog cannot leak into the next run, and reports the events sent and
 * the bytes the sink wrote in that round. The verdict is the median over
 * rounds of the per-round difference p99(jsonl) − p99(none), ≤ 2 ms.
 *
 * Usage: deno run -A bench/big_event.ts [--rounds 5] [--duration 10] [--json]
 *
 * Exit codes: 0 done, 1 failure (a server did not start or exited), 3 some
 * call failed (non-200 or a fetch error: the numbers are worthless).
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
  sinkEntries,
  type SinkKind,
  sleep,
} from "./common.ts";
import {
  BenchScope,
  freePort,
  rssMb,
  runMain,
  type Server,
  spawnServer,
  spawnSluice,
  waitReady,
} from "./procs.ts";

/** Concurrent loops of small calls. */
const SMALL_LOOPS = 4;
/** Raw bytes of the image: base64 makes 4/3 of it, 11 MiB. */
const IMAGE_RAW_BYTES = 8_650_752;
/** Milliseconds between the starts of two big calls. */
const BIG_EVERY_MS = 1000;
/** Warm-up per target before the first round (same load, discarded), seconds. */
const WARMUP_S = 2;
/** Target: median per-round p99(jsonl) − p99(none), ms. */
const MAX_P99_DIFF_MS = 2;
/** How long to wait for the JSONL sink to catch up after a round. */
const DRAIN_TIMEOUT_MS = 30_000;
/** Failed calls kept as examples per run. */
const ERROR_SAMPLES = 5;
const USAGE = "usage: deno run -A bench/big_event.ts [--rounds N=5] [--duration S=10] [--json]";

/** A Sluice under test. */
interface Target {
  /** `jsonl` or `none`: its sinks. */
  name: SinkKind;
  /** Its process. */
  server: Server;
  /** Its port. */
  port: number;
  /** The chat completions URL. */
  url: string;
  /** Its data dir (the JSONL files are under `logs/`). */
  dataDir: string;
}

/** What the big-call Worker reports for one run. */
interface BigResult {
  /** Latencies of the big calls answered with 200, ms. */
  latencies: number[];
  /** Failed big calls. */
  errors: string[];
}

/** One run: one target for `duration` seconds in one round. */
interface Run {
  /** 1-based round. */
  round: number;
  /** Target name. */
  target: string;
  /** Small calls answered with 200. */
  smallCount: number;
  /** Small-call latencies, ms. */
  smallP50Ms: number;
  smallP99Ms: number;
  smallMaxMs: number;
  /** Big calls answered with 200. */
  bigCount: number;
  /** Median big-call latency, ms. */
  bigMedianMs: number;
  /** Failed calls (small and big): non-200 or thrown. */
  errors: number;
  /** Up to {@link ERROR_SAMPLES} failures, for the report. */
  errorSamples: string[];
  /** VmRSS of the Sluice process right after the run, MB. */
  rssMb: number;
  /** `jsonl` only: `sent` JSONL events counted in this round (after the drain wait). */
  sinkSent?: number;
  /** `jsonl` only: bytes the JSONL sink wrote in this round. */
  sinkBytes?: number;
  /** `jsonl` only: whether `sent` caught up with the calls within the drain timeout. */
  drained?: boolean;
}

/**
 * The big-call Worker (its source; run from a blob URL). On its first
 * message it builds the body once; each `{ url, durationMs }` message starts
 * one big call every {@link BIG_EVERY_MS} ms (never two at once) while the
 * run lasts, and answers with a {@link BigResult}.
 */
const WORKER_SOURCE = `
const RAW = ${IMAGE_RAW_BYTES};
const EVERY = ${BIG_EVERY_MS};
let body;
function buildBody() {
  const parts = [];
  const chunk = new Uint8Array(49152); // a multiple of 3: base64 chunks concatenate
  for (let done = 0; done < RAW; done += chunk.length) {
    const n = Math.min(chunk.length, RAW - done);
    const bytes = chunk.subarray(0, n);
    crypto.getRandomValues(bytes); // ≤ 65536 bytes per call
    let binary = "";
    for (let i = 0; i < n; i += 8192) {
      binary += String.fromCharCode.apply(null, bytes.subarray(i, Math.min(n, i + 8192)));
    }
    parts.push(btoa(binary));
  }
  const json = JSON.stringify({
    model: "bench-model",
    messages: [{
      role: "user",
      content: [
        { type: "text", text: "What is in this picture? Answer in one sentence." },
        { type: "image_url", image_url: { url: "data:image/png;base64," + parts.join("") } },
      ],
    }],
    max_tokens: 64,
  });
  return new TextEncoder().encode(json);
}
self.onmessage = async ({ data }) => {
  body ??= buildBody();
  const { url, durationMs } = data;
  const latencies = [], errors = [];
  const start = performance.now(), end = start + durationMs;
  for (let i = 0; ; i++) {
    const due = start + i * EVERY;
    if (due >= end) break;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const t0 = performance.now();
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      const text = await res.text();
      if (res.status === 200) latencies.push(performance.now() - t0);
      else errors.push("big call: HTTP " + res.status + " " + text.slice(0, 200));
    } catch (error) {
      errors.push("big call: " + (error && error.message ? error.message : String(error)));
    }
  }
  self.postMessage({ latencies, errors });
};
`;

const scope = new BenchScope();
const { children } = scope;
let bigWorker: Worker | undefined;

/** Stops the Worker and every child, removes the temp dir. */
async function cleanup(): Promise<void> {
  bigWorker?.terminate();
  bigWorker = undefined;
  await scope.cleanup();
}

/** The `p` quantile (0..1) of `values` by nearest rank (NaN for none). */
function quantile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
}

/** Starts a Sluice with the `sink` sinks (config and data dir under `tmp`) and waits for it. */
async function startSluice(sink: SinkKind, upstreamPort: number, tmp: string): Promise<Target> {
  const dataDir = `${tmp}/data-${sink}`;
  const port = freePort();
  const server = await spawnSluice(
    `sluice+${sink}`,
    gatewayConfig(upstreamPort, dataDir, sinkEntries(sink)),
    port,
    { tmp, cwd: ROOT },
    children,
  );
  const url = `http://127.0.0.1:${port}/v1/chat/completions`;
  await waitReady(server, readinessProbe(port), "mod.ts");
  await chatProbe(url)();
  return { name: sink, server, port, url, dataDir };
}

/** Sum of the JSONL sink's `sent` counters on `/metrics`. */
async function sentEvents(port: number): Promise<number> {
  const lines = await metricLines(port, "sluice_sink_events_total");
  return lines.filter((l) => l.includes('outcome="sent"'))
    .reduce((sum, l) => sum + Number(l.split(" ").at(-1)), 0);
}

/** Bytes of the files under `dir` (0 if missing). */
async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile) total += (await Deno.stat(`${dir}/${entry.name}`)).size;
    }
  } catch { /* not created yet */ }
  return total;
}

/** Runs the big calls in the Worker for `durationMs` against `url`. */
function bigCalls(url: string, durationMs: number): Promise<BigResult> {
  const worker = bigWorker!;
  return new Promise((resolve, reject) => {
    worker.onmessage = ({ data }) => resolve(data as BigResult);
    worker.onerror = (event) => {
      event.preventDefault();
      reject(new Error(`big-call worker: ${event.message}`));
    };
    worker.postMessage({ url, durationMs });
  });
}

/** The small-call loops and the big calls against `target` for `durationS` seconds. */
async function load(target: Target, durationS: number) {
  const durationMs = durationS * 1000;
  const big = bigCalls(target.url, durationMs);
  const end = performance.now() + durationMs;
  const latencies: number[] = [];
  const errors: string[] = [];
  const loop = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        const res = await fetch(target.url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: CHAT_BODY,
        });
        const text = await res.text();
        if (res.status === 200) latencies.push(performance.now() - t0);
        else errors.push(`small call: HTTP ${res.status} ${text.slice(0, 200)}`);
      } catch (error) {
        errors.push(`small call: ${error instanceof Error ? error.message : error}`);
      }
    }
  };
  await Promise.all(Array.from({ length: SMALL_LOOPS }, loop));
  const bigResult = await big;
  return { latencies, big: bigResult, errors: [...errors, ...bigResult.errors] };
}

/** Calls answered with 200 by each target so far (the JSONL sink should log as many). */
const answered = new Map<string, number>();

/** One measured run of `target` in `round`. */
async function runOnce(target: Target, round: number, durationS: number): Promise<Run> {
  const jsonl = target.name === "jsonl";
  const logs = `${target.dataDir}/logs`;
  const sent0 = jsonl ? await sentEvents(target.port) : 0;
  const bytes0 = jsonl ? await dirBytes(logs) : 0;
  const result = await load(target, durationS);
  if (target.server.exited) {
    throw new Error(`${target.server.name} exited:\n${target.server.log()}`);
  }
  const ok = result.latencies.length + result.big.latencies.length;
  answered.set(target.name, (answered.get(target.name) ?? 0) + ok);
  const run: Run = {
    round,
    target: target.name,
    smallCount: result.latencies.length,
    smallP50Ms: quantile(result.latencies, 0.5),
    smallP99Ms: quantile(result.latencies, 0.99),
    smallMaxMs: Math.max(...result.latencies),
    bigCount: result.big.latencies.length,
    bigMedianMs: median(result.big.latencies),
    errors: result.errors.length,
    errorSamples: result.errors.slice(0, ERROR_SAMPLES),
    rssMb: rssMb(target.server.pid),
  };
  if (jsonl) {
    // Wait for the log path to catch up: a backlog would eat CPU during the next run.
    const want = answered.get(target.name)!;
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    let sent = await sentEvents(target.port);
    while (sent < want && Date.now() < deadline) {
      await sleep(100);
      sent = await sentEvents(target.port);
    }
    run.drained = sent >= want;
    run.sinkSent = sent - sent0;
    run.sinkBytes = (await dirBytes(logs)) - bytes0;
  }
  return run;
}

/** One progress line (stderr). */
function progress(run: Run): string {
  const sink = run.target === "jsonl"
    ? `, sink sent ${run.sinkSent} (${fmt((run.sinkBytes ?? 0) / 1e6, 2)} MB)` +
      (run.drained ? "" : " ⚠ not drained")
    : "";
  const errors = run.errors ? `  ⚠ ${run.errors} errors` : "";
  return `round ${run.round} ${run.target.padEnd(5)}: ${run.smallCount} small, ` +
    `p50 ${fmt(run.smallP50Ms, 3)} p99 ${fmt(run.smallP99Ms, 3)} max ${
      fmt(run.smallMaxMs, 3)
    } ms; ` +
    `${run.bigCount} big, median ${fmt(run.bigMedianMs, 1)} ms${sink}${errors}`;
}

/** Per round: p99(jsonl) − p99(none), ms. */
function p99Diffs(runs: Run[]): number[] {
  const diffs: number[] = [];
  for (const j of runs.filter((r) => r.target === "jsonl")) {
    const n = runs.find((r) => r.target === "none" && r.round === j.round);
    if (n) diffs.push(j.smallP99Ms - n.smallP99Ms);
  }
  return diffs;
}

/** The markdown table of every run. */
function report(runs: Run[]): string[] {
  const lines = [
    "| round | target | small calls | p50 ms | p99 ms | max ms | big calls | big median ms | " +
    "RSS MB | sink events sent | sink MB written | errors |",
    "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of runs) {
    const sink = r.target === "jsonl";
    const cells = [
      String(r.round),
      r.target,
      String(r.smallCount),
      fmt(r.smallP50Ms, 3),
      fmt(r.smallP99Ms, 3),
      fmt(r.smallMaxMs, 3),
      String(r.bigCount),
      fmt(r.bigMedianMs, 1),
      fmt(r.rssMb, 1),
      sink ? `${r.sinkSent}${r.drained ? "" : " ⚠ not drained"}` : "",
      sink ? fmt((r.sinkBytes ?? 0) / 1e6, 2) : "",
      r.errors ? `⚠ ${r.errors}` : "0",
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    strict: true,
    options: {
      rounds: { type: "string", default: "5" },
      duration: { type: "string", default: "10" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const positive = (text: string) => Number.isInteger(Number(text)) && Number(text) >= 1;
  if (!positive(values.rounds) || !positive(values.duration)) {
    console.error(`--rounds and --duration must be positive integers\n${USAGE}`);
    return 1;
  }
  const rounds = Number(values.rounds), duration = Number(values.duration);

  const tmp = await scope.tmpDir("sluice-big-event-");
  const upstreamPort = freePort();
  const upstream = spawnServer(
    "upstream",
    "bench/mock_upstream.ts",
    ["--port", `${upstreamPort}`],
    ROOT,
    children,
  );
  await waitReady(
    upstream,
    chatProbe(`http://127.0.0.1:${upstreamPort}/v1/chat/completions`),
    "bench/mock_upstream.ts",
  );
  const jsonl = await startSluice("jsonl", upstreamPort, tmp);
  const none = await startSluice("none", upstreamPort, tmp);
  const blob = new Blob([WORKER_SOURCE], { type: "application/javascript" });
  const workerUrl = URL.createObjectURL(blob);
  bigWorker = new Worker(workerUrl, { type: "module" });

  const command = ["deno", "run", "-A", "bench/big_event.ts", ...Deno.args].join(" ");
  console.log(`command: ${command}`);
  console.log(`machine: ${await machine()}`);
  console.log(
    `load: ${SMALL_LOOPS} loops of small non-stream chat calls + 1 big call ` +
      `(~${fmt(IMAGE_RAW_BYTES * 4 / 3 / 2 ** 20, 1)} MiB base64 image) per ` +
      `${BIG_EVERY_MS / 1000} s; ${rounds} round(s) of ${duration} s per target; ` +
      `default redaction; jsonl: the JSONL sink, none: no sinks`,
  );
  console.log(
    `pids: upstream=${upstream.pid} jsonl=${jsonl.server.pid} none=${none.server.pid}`,
  );

  for (const target of [jsonl, none]) { // warm-up: JIT, pools, the Worker's body
    const warm = await load(target, Math.min(WARMUP_S, duration));
    answered.set(
      target.name,
      (answered.get(target.name) ?? 0) + 1 + // + chatProbe
        warm.latencies.length + warm.big.latencies.length,
    );
    if (warm.errors.length) console.error(`warm-up ${target.name}: ${warm.errors[0]}`);
  }

  const runs: Run[] = [];
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 ? [jsonl, none] : [none, jsonl];
    for (const target of order) {
      const run = await runOnce(target, round, duration);
      runs.push(run);
      console.error(progress(run));
    }
  }

  const diffs = p99Diffs(runs);
  const diff = median(diffs);
  const pass = diff <= MAX_P99_DIFF_MS;
  console.log("");
  for (const line of report(runs)) console.log(line);
  console.log(
    `\nper-round p99(jsonl) − p99(none), ms: ${diffs.map((d) => fmt(d, 3)).join(", ")}`,
  );
  console.log(
    `median over ${diffs.length} round(s): ${fmt(diff, 3)} ms → ` +
      `${pass ? "PASS" : "MISS"} (target ≤ ${MAX_P99_DIFF_MS} ms)`,
  );
  const errorRuns = runs.filter((r) => r.errors);
  const errors = errorRuns.reduce((sum, r) => sum + r.errors, 0);
  if (errors) {
    console.log(`\n⚠ ${errors} failed call(s); the numbers of these runs are worthless:`);
    for (const r of errorRuns) {
      console.log(`  round ${r.round} ${r.target}: ${r.errors} errors, e.g.`);
      for (const sample of r.errorSamples) console.log(`    ${sample}`);
    }
  }
  const undrained = runs.filter((r) => r.drained === false);
  if (undrained.length) {
    console.log(
      `\n⚠ the JSONL sink had not sent an event per call ${DRAIN_TIMEOUT_MS / 1000} s ` +
        `after round(s) ${undrained.map((r) => r.round).join(", ")}`,
    );
  }
  if (values.json) {
    const summary = {
      command,
      rounds,
      duration,
      smallLoops: SMALL_LOOPS,
      imageBase64Bytes: IMAGE_RAW_BYTES * 4 / 3,
      p99DiffsMs: diffs,
      medianP99DiffMs: diff,
      targetMs: MAX_P99_DIFF_MS,
      pass,
      errors,
      runs,
    };
    console.log(JSON.stringify(summary, null, 2));
  }
  return errors ? 3 : 0;
}

if (import.meta.main) await runMain("big_event", main, cleanup);
