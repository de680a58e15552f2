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
import { hasWrk, runWrk, wrkArgs, type WrkResult, wrkScript } from "./wrk.ts";

const TARGETS = ["bare", "sluice", "direct"] as const;
/** A benchmarked server. */
export type Target = typeof TARGETS[number];
const CONNECTIONS = [1, 32] as const;
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const WARMUP_S = 3;
/** The targets: sluice/bare req/s ratio at 32 connections, sluice−bare p50 at 1 connection. */
const MIN_RATIO_32 = 0.8;
const MAX_P50_DIFF_1 = 0.1;

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

/** One wrk run with the RSS of the target process right after it. */
export interface RunResult extends WrkResult {
  /** 1-based round. */
  round: number;
  /** What wrk hit. */
  target: Target;
  /** Open connections. */
  connections: number;
  /** VmRSS of the target's server process after the run, MB. */
  rssMb: number;
}

interface Server {
  name: string;
  child: Deno.ChildProcess;
  /** The process actually serving (see {@link serverPid}). */
  pid: number;
  exited: boolean;
  log: () => string;
}

const children = new Set<Deno.ChildProcess>();
let tmpDir: string | undefined;

function usage(): string {
  return "usage: deno run -A bench/load.ts [--rounds N=3] [--duration S=5] [--sink jsonl|none] [--json]";
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function childPids(pid: number): number[] {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`).trim().split(/\s+/).filter(
      Boolean,
    )
      .map(Number);
  } catch {
    return [];
  }
}

/** The pid in `root`'s process tree whose command line names `script` (`deno run` serves in-process). */
function serverPid(root: number, script: string): number {
  const queue = [root];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    try {
      if (
        Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").some((a) => a.endsWith(script))
      ) return pid;
    } catch { /* gone */ }
    queue.push(...childPids(pid));
  }
  return root;
}

function rssMb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  return kb ? Number(kb) / 1024 : NaN;
}

function spawnServer(name: string, script: string, args: string[]): Server {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  children.add(child);
  let log = "";
  (async () => {
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
      log = (log + text).slice(-8000);
    }
  })().catch(() => {});
  const server: Server = { name, child, pid: child.pid, exited: false, log: () => log };
  child.status.then(() => (server.exited = true));
  return server;
}

async function postChat(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: CHAT_BODY,
  });
  return { status: res.status, text: await res.text() };
}

/** Polls `probe` until it returns true; fails fast if the server exits. */
async function waitReady(
  server: Server,
  probe: () => Promise<boolean>,
  script: string,
): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (server.exited) throw new Error(`${server.name} exited during startup:\n${server.log()}`);
    if (await probe().catch(() => false)) {
      server.pid = serverPid(server.child.pid, script);
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${server.name} did not answer within 60 s:\n${server.log()}`);
}

/** A probe that POSTs the bench chat body and wants a 200 chat.completion back. */
function chatProbe(url: string): () => Promise<boolean> {
  return async () => {
    const { status, text } = await postChat(url);
    if (status !== 200 || !text.includes('"choices"')) {
      throw new Error(`POST ${url}: ${status} ${text}`);
    }
    return true;
  };
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

/** Stops every child (SIGTERM, then SIGKILL after 5 s) and removes the temp dir. */
async function cleanup(): Promise<void> {
  await Promise.all([...children].map(async (child) => {
    try {
      child.kill("SIGTERM");
    } catch { /* already exited */ }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* exited */ }
        resolve();
      }, 5000);
    });
    await Promise.race([child.status, killed]);
    clearTimeout(timer);
    children.delete(child);
  }));
  if (tmpDir) await Deno.remove(tmpDir, { recursive: true }).catch(() => {});
  tmpDir = undefined;
}

function fmt(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toFixed(digits) : "n/a";
}

function report(runs: RunResult[], rounds: number): string[] {
  const lines = [
    "| target | conns | req/s | p50 ms | p99 ms | RSS MB (max) | errors | sluice/bare req/s | sluice−bare p50 ms |",
    "|---|---:|---:|---:|---:|---:|---|---:|---:|",
  ];
  for (const connections of CONNECTIONS) {
    for (const target of TARGETS) {
      const rs = runs.filter((r) => r.target === target && r.connections === connections);
      if (!rs.length) continue;
      const non2xx = rs.reduce((s, r) => s + r.non2xx, 0);
      const socket = rs.reduce((s, r) => s + r.socketErrors, 0);
      const errors = non2xx + socket ? `⚠ ${non2xx} non-2xx, ${socket} socket` : "0";
      let ratio = "", diff = "";
      if (target === "sluice") {
        const pairs = Array.from({ length: rounds }, (_, i) => i + 1).map((round) => {
          const find = (t: Target) =>
            runs.find((r) => r.round === round && r.target === t && r.connections === connections);
          return [find("sluice"), find("bare")];
        }).filter(([s, b]) => s && b) as [RunResult, RunResult][];
        const r = median(pairs.map(([s, b]) => s.rps / b.rps));
        const d = median(pairs.map(([s, b]) => s.p50Ms - b.p50Ms));
        ratio = fmt(r, 2) +
          (connections === 32 ? ` ${r >= MIN_RATIO_32 ? "PASS" : "MISS"} (≥ ${MIN_RATIO_32})` : "");
        diff = fmt(d, 3) +
          (connections === 1
            ? ` ${d <= MAX_P50_DIFF_1 ? "PASS" : "MISS"} (≤ ${MAX_P50_DIFF_1})`
            : "");
      }
      lines.push(
        `| ${target} | ${connections} | ${fmt(median(rs.map((r) => r.rps)), 0)} | ` +
          `${fmt(median(rs.map((r) => r.p50Ms)), 3)} | ${
            fmt(median(rs.map((r) => r.p99Ms)), 3)
          } | ` +
          `${fmt(Math.max(...rs.map((r) => r.rssMb)), 1)} | ${errors} | ${ratio} | ${diff} |`,
      );
    }
  }
  return lines;
}

async function machine(): Promise<string> {
  const text = async (cmd: string, args: string[]) =>
    new TextDecoder().decode(
      (await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output()).stdout,
    );
  const cpus = (await text("nproc", [])).trim();
  const deno = (await text(Deno.execPath(), ["--version"])).split("\n")[0];
  const cpu = /^model name\s*:\s*(.*)$/m.exec(
    await Deno.readTextFile("/proc/cpuinfo").catch(() => ""),
  )?.[1];
  return `nproc ${cpus}; ${deno}${cpu ? `; ${cpu}` : ""}`;
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
    console.log(usage());
    return 0;
  }
  const rounds = Number(values.rounds), duration = Number(values.duration);
  if (!Number.isInteger(rounds) || rounds < 1 || !Number.isInteger(duration) || duration < 1) {
    console.error(`--rounds and --duration must be positive integers\n${usage()}`);
    return 1;
  }
  if (values.sink !== "jsonl" && values.sink !== "none") {
    console.error(`--sink must be jsonl or none\n${usage()}`);
    return 1;
  }
  if (!(await hasWrk())) {
    console.error("wrk not found on PATH; install wrk: apt-get install -y wrk");
    return 1;
  }

  const tmp = tmpDir = await Deno.makeTempDir({ prefix: "sluice-load-" });
  try {
    const script = `${tmp}/chat.lua`;
    await Deno.writeTextFile(script, wrkScript(CHAT_BODY));
    const ports = { direct: freePort(), bare: freePort(), sluice: freePort() };
    const configFile = `${tmp}/gateway.yaml`;
    await Deno.writeTextFile(configFile, gatewayConfig(ports.direct, `${tmp}/data`, values.sink));

    const servers: Record<Target, Server> = {
      direct: spawnServer("mock upstream", "bench/mock_upstream.ts", ["--port", `${ports.direct}`]),
      bare: spawnServer("bare proxy", "bench/bare_proxy.ts", [
        "--port",
        `${ports.bare}`,
        "--upstream",
        `http://127.0.0.1:${ports.direct}`,
      ]),
      sluice: spawnServer("sluice", "mod.ts", [
        "--config",
        configFile,
        "--port",
        `${ports.sluice}`,
      ]),
    };
    const url = (t: Target) => `http://127.0.0.1:${ports[t]}/v1/chat/completions`;
    await waitReady(servers.direct, chatProbe(url("direct")), "bench/mock_upstream.ts");
    await waitReady(servers.bare, chatProbe(url("bare")), "bench/bare_proxy.ts");
    await waitReady(servers.sluice, async () => {
      const res = await fetch(`http://127.0.0.1:${ports.sluice}/health/readiness`);
      await res.body?.cancel();
      return res.ok;
    }, "mod.ts");
    await chatProbe(url("sluice"))(); // throws with the body if Sluice answers anything but a 200

    const command = ["deno", "run", "-A", "bench/load.ts", ...Deno.args].join(" ");
    console.log(`command: ${command}`);
    console.log(`machine: ${await machine()}`);
    console.log(
      `wrk: ${
        wrkArgs({ url: "<url>", script: "<chat.lua>", connections: 32, threads: 2, duration })
          .join(" ")
      } (-t1 -c1 for 1 connection); sink: ${values.sink}`,
    );
    console.log(`pids: ${TARGETS.map((t) => `${t}=${servers[t].pid}`).join(" ")}`);

    for (const target of TARGETS) { // warm-up (JIT, connection pools); results discarded
      for (const connections of CONNECTIONS) {
        const threads = connections === 1 ? 1 : 2;
        await runWrk(
          { url: url(target), script, connections, threads, duration: WARMUP_S },
          children,
        );
      }
    }

    const runs: RunResult[] = [];
    for (let round = 1; round <= rounds; round++) {
      for (const connections of CONNECTIONS) {
        for (const target of TARGETS) {
          const threads = connections === 1 ? 1 : 2;
          const result = await runWrk(
            { url: url(target), script, connections, threads, duration },
            children,
          );
          if (servers[target].exited) {
            throw new Error(`${target} exited:\n${servers[target].log()}`);
          }
          const run = { round, target, connections, ...result, rssMb: rssMb(servers[target].pid) };
          runs.push(run);
          const flag = run.non2xx + run.socketErrors
            ? `  ⚠ ${run.non2xx} non-2xx, ${run.socketErrors} socket errors`
            : "";
          console.error(
            `round ${round} ${target.padEnd(6)} c=${String(connections).padStart(2)}: ` +
              `${fmt(run.rps, 0)} req/s p50 ${fmt(run.p50Ms, 3)} ms p99 ${fmt(run.p99Ms, 3)} ms ` +
              `rss ${fmt(run.rssMb, 1)} MB${flag}`,
          );
        }
      }
    }

    console.log("");
    for (const line of report(runs, rounds)) console.log(line);
    console.log(
      `\nmedians over ${rounds} round(s) of ${duration} s; ratio and p50 diff are medians of per-round values; ` +
        `targets: sluice/bare req/s ≥ ${MIN_RATIO_32} at 32 connections, sluice−bare p50 ≤ ${MAX_P50_DIFF_1} ms at 1.`,
    );
    const bad = runs.filter((r) => r.non2xx + r.socketErrors > 0);
    if (bad.length) {
      console.log(
        `\n⚠ ${bad.length} run(s) saw non-2xx responses or socket errors; their numbers are worthless:`,
      );
      for (const r of bad) {
        console.log(
          `  round ${r.round} ${r.target} c=${r.connections}: ${r.non2xx} non-2xx, ${r.socketErrors} socket errors`,
        );
      }
    }
    if (values.json) {
      console.log(JSON.stringify({ command, sink: values.sink, rounds, duration, runs }, null, 2));
    }
    return bad.length ? 3 : 0;
  } finally {
    await cleanup();
  }
}

if (import.meta.main) {
  const interrupt = async () => {
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
    console.error(`load: ${error instanceof Error ? error.message : error}`);
  }
  Deno.exit(code);
}
