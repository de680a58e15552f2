/**
 * `deno task load --soak N`: Sluice's memory with a dead sink. One Sluice
 * whose only sink is a webhook pointed at a closed loopback port, with a
 * small queue and spool (`max_queue: 10000`, `spool_max_bytes: 20000000`) so
 * the circuit opens, the spool fills and events are dropped; wrk sends N
 * non-stream chat requests at 32 connections; Sluice's RSS is read before,
 * sampled during, read after and again after an idle pause, and the sink
 * lines of `GET /metrics` are printed.
 * @module
 */
import {
  CHAT_BODY,
  chatProbe,
  deadWebhookEntry,
  fmt,
  gatewayConfig,
  metricLines,
  readinessProbe,
  ROOT,
  sleep,
} from "./common.ts";
import { freePort, rssMb, type Server, spawnServer, spawnSluice, waitReady } from "./procs.ts";
import { runWrkCount, wrkArgs, wrkCountScript } from "./wrk.ts";

/** Queue settings of the dead sink: small, so the spool limit is reached. */
export const SOAK_QUEUE = { max_queue: 10_000, spool_max_bytes: 20_000_000 };
const CONNECTIONS = 32;
const THREADS = 2;
const SAMPLE_MS = 250;
const PROGRESS_MS = 5000;

/** Options of {@link soak}. */
export interface SoakOptions {
  /** Requests to send. */
  requests: number;
  /** Seconds to leave Sluice idle after the load before the last RSS reading. */
  idleS: number;
  /** Scratch directory (config, data dir, wrk script); removed by the caller. */
  tmp: string;
  /** Child processes, stopped by the caller. */
  children: Set<Deno.ChildProcess>;
}

/** What {@link soak} measured. */
export interface SoakResult {
  /** Requests wrk completed. */
  requests: number;
  /** wrk's requests per second. */
  rps: number;
  /** Median latency, ms. */
  p50Ms: number;
  /** 99th percentile latency, ms. */
  p99Ms: number;
  /** Non-2xx responses. */
  non2xx: number;
  /** wrk socket errors. */
  socketErrors: number;
  /** RSS before the load, MB. */
  rssBeforeMb: number;
  /** Highest RSS sampled during the load, MB. */
  rssPeakMb: number;
  /** RSS right after the load, MB. */
  rssAfterMb: number;
  /** RSS after the idle pause, MB. */
  rssIdleMb: number;
  /** Bytes under `<data_dir>/spool` at the end. */
  spoolBytes: number;
  /** The `sluice_sink_*` sample lines of `/metrics` at the end. */
  sinkMetrics: string[];
  /** The `sluice_requests_total` sample lines of `/metrics` at the end. */
  requestMetrics: string[];
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  try {
    for await (const entry of Deno.readDir(dir)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) total += await dirBytes(path);
      else if (entry.isFile) total += (await Deno.stat(path)).size;
    }
  } catch { /* not there */ }
  return total;
}

/** Reads the server's RSS every {@link SAMPLE_MS} until stopped; returns the peak. */
function sampleRss(server: Server): { stop: () => number } {
  let peak = rssMb(server.pid);
  const started = performance.now();
  let lastProgress = started;
  const timer = setInterval(() => {
    if (server.exited) return;
    const rss = rssMb(server.pid);
    peak = Math.max(peak, rss);
    const now = performance.now();
    if (now - lastProgress >= PROGRESS_MS) {
      lastProgress = now;
      console.error(`  t=${fmt((now - started) / 1000, 0)} s: rss ${fmt(rss, 1)} MB`);
    }
  }, SAMPLE_MS);
  return {
    stop: () => {
      clearInterval(timer);
      return peak;
    },
  };
}

/** Runs the soak; prints progress on stderr. */
export async function soak(options: SoakOptions): Promise<SoakResult> {
  const { tmp, children, requests } = options;
  const upstreamPort = freePort(), sluicePort = freePort();
  const deadPort = freePort(); // closed again at once: nothing listens there
  const dataDir = `${tmp}/data`;
  const script = `${tmp}/count.lua`;
  await Deno.writeTextFile(script, wrkCountScript(CHAT_BODY, requests, THREADS));

  const upstreamScript = "bench/mock_upstream.ts";
  const upstream = spawnServer(
    "upstream",
    upstreamScript,
    ["--port", `${upstreamPort}`],
    ROOT,
    children,
  );
  const sluice = await spawnSluice(
    "sluice",
    gatewayConfig(upstreamPort, dataDir, [deadWebhookEntry(deadPort, SOAK_QUEUE)]),
    sluicePort,
    { tmp, cwd: ROOT },
    children,
  );
  const url = `http://127.0.0.1:${sluicePort}/v1/chat/completions`;
  await waitReady(
    upstream,
    chatProbe(`http://127.0.0.1:${upstreamPort}/v1/chat/completions`),
    upstreamScript,
  );
  await waitReady(sluice, readinessProbe(sluicePort), "mod.ts");
  await chatProbe(url)(); // a Sluice error response here would make the run worthless
  console.log(`sluice pid ${sluice.pid}; dead sink: http://127.0.0.1:${deadPort}/events`);
  const duration = Math.max(60, Math.ceil(requests / 100)); // an upper bound only
  const wrk = wrkArgs({
    url,
    script: "<count.lua>",
    connections: CONNECTIONS,
    threads: THREADS,
    duration,
  });
  console.log(`wrk: ${wrk.join(" ")} (stops after ${requests} responses)`);

  const rssBeforeMb = rssMb(sluice.pid);
  console.error(`soak: ${requests} requests, rss before ${fmt(rssBeforeMb, 1)} MB`);
  const sampler = sampleRss(sluice);
  let result, sampledPeak;
  try {
    result = await runWrkCount(
      { url, script, connections: CONNECTIONS, threads: THREADS, duration },
      children,
    );
  } finally {
    sampledPeak = sampler.stop();
  }
  if (sluice.exited) throw new Error(`sluice exited during the soak:\n${sluice.log()}`);
  const rssAfterMb = rssMb(sluice.pid);
  const rssPeakMb = Math.max(sampledPeak, rssAfterMb);
  console.error(
    `soak: wrk done (${result.requests} requests), rss ${fmt(rssAfterMb, 1)} MB; ` +
      `idle ${options.idleS} s`,
  );
  await sleep(options.idleS * 1000);
  if (sluice.exited) throw new Error(`sluice exited while idle:\n${sluice.log()}`);
  const rssIdleMb = rssMb(sluice.pid);
  const sinkMetrics = await metricLines(sluicePort, "sluice_sink_");
  const requestMetrics = await metricLines(sluicePort, "sluice_requests_total");
  const logTail = sluice.log().trimEnd().split("\n").slice(-6);
  console.error(`sluice stderr (last ${logTail.length} lines):\n  ${logTail.join("\n  ")}`);
  return {
    requests: result.requests,
    rps: result.rps,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    non2xx: result.non2xx,
    socketErrors: result.socketErrors,
    rssBeforeMb,
    rssPeakMb,
    rssAfterMb,
    rssIdleMb,
    spoolBytes: await dirBytes(`${dataDir}/spool`),
    sinkMetrics,
    requestMetrics,
  };
}

/** The printed report: the table, then the metrics lines. */
export function soakReport(r: SoakResult, idleS: number): string[] {
  const errors = r.non2xx + r.socketErrors
    ? `⚠ ${r.non2xx} non-2xx, ${r.socketErrors} socket`
    : "0";
  const cells = [
    String(r.requests),
    fmt(r.rps, 0),
    fmt(r.p50Ms, 3),
    fmt(r.p99Ms, 3),
    fmt(r.rssBeforeMb, 1),
    fmt(r.rssPeakMb, 1),
    fmt(r.rssAfterMb, 1),
    fmt(r.rssIdleMb, 1),
    errors,
  ];
  return [
    `| requests | req/s | p50 ms | p99 ms | RSS before MB | RSS peak MB | RSS after MB | RSS after ${idleS} s idle MB | errors |`,
    "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    `| ${cells.join(" | ")} |`,
    "",
    `spool on disk at the end: ${fmt(r.spoolBytes / 1e6, 1)} MB ` +
    `(spool_max_bytes ${SOAK_QUEUE.spool_max_bytes}, max_queue ${SOAK_QUEUE.max_queue})`,
    "",
    "GET /metrics (sink and request lines):",
    ...r.sinkMetrics.map((line) => `  ${line}`),
    ...r.requestMetrics.map((line) => `  ${line}`),
  ];
}
