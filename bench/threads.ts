/**
 * Where a Sluice process spends its CPU, per thread, in µs per request:
 * the main thread (the request thread; with `--workers N` only the
 * launcher), the log Worker (Deno's thread `worker-1`: it starts first), the
 * serving isolates (`worker-2` …), V8's helper threads (GC, compilation)
 * and Deno's I/O threads. A Sluice with the JSONL sink
 * and default redaction in front of the mock upstream, under wrk at 32
 * connections; each thread's user + system time from
 * `/proc/<pid>/task/<tid>/stat` before and after the measured run.
 *
 * Usage: `deno run -A bench/threads.ts [--workers 1] [--rounds 3] [--duration 8]`
 * @module
 */
import { parseArgs } from "node:util";
import {
  CHAT_BODY,
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
  clockTicks,
  freePort,
  runMain,
  spawnServer,
  spawnSluice,
  waitReady,
} from "./procs.ts";
import { runWrk, wrkScript } from "./wrk.ts";

const scope = new BenchScope();
const { children } = scope;

/** CPU ticks per thread name (threads of one name added up). */
function threadTicks(pid: number): Map<string, number> {
  const ticks = new Map<string, number>();
  for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      const dir = `/proc/${pid}/task/${task.name}`;
      const name = Deno.readTextFileSync(`${dir}/comm`).trim();
      const fields = Deno.readTextFileSync(`${dir}/stat`).split(") ")[1].split(" ");
      ticks.set(name, (ticks.get(name) ?? 0) + Number(fields[11]) + Number(fields[12]));
    } catch { /* the thread ended */ }
  }
  return ticks;
}

/** What a thread of the gateway process is, by the name Deno gives it. */
function label(name: string): string {
  if (name === "deno") return "main thread (`deno`)";
  if (name === "worker-1") return "log Worker (`worker-1`)";
  const isolate = /^worker-(\d+)$/.exec(name);
  if (isolate) return `serving isolate ${Number(isolate[1]) - 1} (\`${name}\`)`;
  if (name.startsWith("V8")) return "V8 helper threads (GC, compiler)";
  if (name.startsWith("tokio")) return "Deno I/O threads (tokio)";
  return name;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      workers: { type: "string", default: "1" },
      rounds: { type: "string", default: "3" },
      duration: { type: "string", default: "8" },
    },
  });
  const workers = Number(values.workers), rounds = Number(values.rounds);
  const duration = Number(values.duration);
  const tmp = await scope.tmpDir("sluice-threads-");
  const hz = await clockTicks();
  const upstreamPort = freePort(), port = freePort();
  const upstream = spawnServer(
    "upstream",
    "bench/mock_upstream.ts",
    [
      "--port",
      `${upstreamPort}`,
    ],
    ROOT,
    children,
  );
  const sluice = await spawnSluice(
    "sluice",
    gatewayConfig(upstreamPort, `${tmp}/data`, sinkEntries("jsonl"), workers),
    port,
    { tmp, cwd: ROOT },
    children,
  );
  await waitReady(
    upstream,
    async () =>
      (await fetch(`http://127.0.0.1:${upstreamPort}/`).catch(() => undefined)) !== undefined,
    "bench/mock_upstream.ts",
  );
  await waitReady(sluice, readinessProbe(port), "mod.ts");
  const script = `${tmp}/chat.lua`;
  await Deno.writeTextFile(script, wrkScript(CHAT_BODY));
  const run = (seconds: number) =>
    runWrk({
      url: `http://127.0.0.1:${port}/v1/chat/completions`,
      script,
      connections: 32,
      threads: 2,
      duration: seconds,
    }, children);
  await run(3); // warm-up
  const perThread = new Map<string, number[]>();
  const rates: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const before = threadTicks(sluice.pid);
    const result = await run(duration);
    const after = threadTicks(sluice.pid);
    const requests = result.rps * duration;
    rates.push(result.rps);
    for (const [name, ticks] of after) {
      const us = ((ticks - (before.get(name) ?? 0)) / hz) * 1e6 / requests;
      perThread.set(name, [...(perThread.get(name) ?? []), us]);
    }
  }
  console.log(`${await machine()}; server.workers ${workers}; ${rounds} rounds of ${duration} s`);
  console.log(`req/s (median): ${fmt(median(rates), 0)}`);
  console.log("| thread | CPU µs per request (median) |\n| --- | ---: |");
  let total = 0;
  for (const [name, values] of [...perThread].sort((a, b) => median(b[1]) - median(a[1]))) {
    total += median(values);
    console.log(`| ${label(name)} | ${fmt(median(values), 0)} |`);
  }
  console.log(`| all | ${fmt(total, 0)} |`);
  return 0;
}

if (import.meta.main) await runMain("threads", main, scope.cleanup);
