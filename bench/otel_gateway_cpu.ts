/**
 * `deno run -A bench/otel_gateway_cpu.ts [--rounds 6] [--calls 2000]
 * [--latency-seconds 5]`: what the otel sink's metrics and logs cost per call
 * of a whole gateway, against traces alone. Two CLI gateways (the same mock
 * model, one otel sink each: `signals: [traces]` and
 * `[traces, metrics, logs]`, sandboxed as by
 * default) export to a collector in this process; each round sends the same
 * number of chat calls (8 at a time) to each gateway in alternating order,
 * waits until the collector has every call's span, and reads the CPU time
 * (user + system) of the gateway process and its plugin processes from
 * /proc. The CPU per call includes the request path, the log Worker and the
 * plugin process.
 *
 * Then the request path: per round, `wrk` at one connection for
 * `--latency-seconds` against each gateway in alternating order (0 skips
 * it); it prints the medians of the rounds' p50 and the median of each
 * round's difference (all three − traces), which the issue wants within noise.
 * @module
 */
import { parseArgs } from "node:util";
import { startCliGateway } from "../tests/fakes/cli_gateway.ts";
import { countSpans, decodeTraces } from "../core/otlp/mod.ts";
import { CHAT_BODY, fmt, machine, median } from "./common.ts";
import { hasWrk, runWrk, wrkScript } from "./wrk.ts";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "6" },
    calls: { type: "string", default: "2000" },
    "latency-seconds": { type: "string", default: "5" },
  },
});
const ROUNDS = Number(values.rounds);
const CALLS = Number(values.calls);
const LATENCY_SECONDS = Number(values["latency-seconds"]);
const CONCURRENCY = 8;
const TICKS = 100; // USER_HZ

const spans = new Map<string, number>();
const collector = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
  const body = new Uint8Array(await req.arrayBuffer());
  const sink = req.headers.get("x-bench-sink") ?? "";
  if (new URL(req.url).pathname === "/v1/traces") {
    const decoded = decodeTraces(body);
    if (decoded.ok) spans.set(sink, (spans.get(sink) ?? 0) + countSpans(decoded.value));
  }
  return new Response(new Uint8Array(0), { headers: { "content-type": "application/x-protobuf" } });
});
const endpoint = `http://127.0.0.1:${collector.addr.port}`;

async function gateway(name: string, signals: string[]) {
  const dir = await Deno.makeTempDir({ prefix: `sluice-otel-cpu-${name}-` });
  const path = `${dir}/gateway.yaml`;
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      server: { data_dir: dir },
      models: [{ name: "bench-model", provider: "mock" }],
      sinks: [{
        use: "otel",
        config: {
          endpoint,
          protocol: "http/protobuf",
          signals,
          headers: { "x-bench-sink": name },
        },
      }],
    }),
  );
  return { name, dir, gw: await startCliGateway(path) };
}

/** CPU seconds of a process and its descendants (the sandboxed plugin runs in a child). */
function treeCpuSeconds(pid: number): number {
  const stats = new Map<number, { ppid: number; cpu: number }>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      stats.set(Number(entry.name), {
        ppid: Number(fields[1]),
        cpu: (Number(fields[11]) + Number(fields[12])) / TICKS,
      });
    } catch {
      // gone between the listing and the read
    }
  }
  let total = 0;
  const visit = (p: number) => {
    total += stats.get(p)?.cpu ?? 0;
    for (const [child, s] of stats) if (s.ppid === p) visit(child);
  };
  visit(pid);
  return total;
}

async function calls(url: string, n: number): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < n) {
      next++;
      const res = await fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: CHAT_BODY,
      });
      await res.arrayBuffer();
    }
  }));
}

async function round(g: Awaited<ReturnType<typeof gateway>>, expected: number): Promise<number> {
  const pid = g.gw.child.pid;
  const before = treeCpuSeconds(pid);
  await calls(g.gw.url, CALLS);
  while ((spans.get(g.name) ?? 0) < expected) await new Promise((r) => setTimeout(r, 20));
  return (treeCpuSeconds(pid) - before) / CALLS;
}

const traces = await gateway("traces", ["traces"]);
const all = await gateway("all", ["traces", "metrics", "logs"]);
const perCall: Record<string, number[]> = { traces: [], all: [] };
let sent = 0;
// Warm-up round (not counted).
for (const g of [traces, all]) await round(g, CALLS);
sent = CALLS;
for (let r = 0; r < ROUNDS; r++) {
  sent += CALLS;
  const order = r % 2 === 0 ? [traces, all] : [all, traces];
  for (const g of order) perCall[g.name].push(await round(g, sent));
}
const t = median(perCall.traces) * 1e6;
const a = median(perCall.all) * 1e6;
// Each round measures both gateways back to back: the ratio within a round is
// less exposed to the machine's slower and faster spells than either median.
const paired = median(perCall.all.map((all, r) => all / perCall.traces[r] - 1)) * 100;
console.log(`# otel sink, whole gateway CPU per call (${await machine()})`);
console.log(
  `traces only: ${fmt(t, 0)} µs/call; traces+metrics+logs: ${fmt(a, 0)} µs/call; ` +
    `added ${fmt(a - t, 0)} µs (${fmt((a / t - 1) * 100, 1)}% of the medians; ` +
    `${fmt(paired, 1)}% median of the rounds' ratios), ${ROUNDS} rounds of ${CALLS} calls ` +
    `(µs: ${
      perCall.traces.map((t, r) => `${fmt(t * 1e6, 0)}/${fmt(perCall.all[r] * 1e6, 0)}`).join(" ")
    })`,
);

/** p50 at one connection (ms) per gateway per round, wrk's own clock. */
async function latencyRounds(): Promise<void> {
  if (LATENCY_SECONDS <= 0) return;
  if (!(await hasWrk())) {
    console.log("request path: not measured (wrk not found on PATH: apt-get install -y wrk)");
    return;
  }
  const script = await Deno.makeTempFile({ prefix: "sluice-otel-wrk-", suffix: ".lua" });
  await Deno.writeTextFile(script, wrkScript(CHAT_BODY));
  const p50: Record<string, number[]> = { traces: [], all: [] };
  const children = new Set<Deno.ChildProcess>();
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? [traces, all] : [all, traces];
    for (const g of order) {
      const result = await runWrk({
        url: `${g.gw.url}/v1/chat/completions`,
        script,
        connections: 1,
        threads: 1,
        duration: LATENCY_SECONDS,
      }, children);
      if (result.non2xx > 0 || result.socketErrors > 0) {
        throw new Error(
          `${g.name}: ${result.non2xx} non-2xx, ${result.socketErrors} socket errors`,
        );
      }
      p50[g.name].push(result.p50Ms);
    }
  }
  await Deno.remove(script);
  const diff = median(p50.all.map((ms, r) => ms - p50.traces[r]));
  console.log(
    `request path, 1 connection: p50 traces only ${fmt(median(p50.traces), 3)} ms, ` +
      `traces+metrics+logs ${fmt(median(p50.all), 3)} ms; median of the rounds' differences ` +
      `${fmt(diff, 3)} ms (rounds: ${
        p50.traces.map((t, r) => `${fmt(t, 3)}/${fmt(p50.all[r], 3)}`).join(" ")
      })`,
  );
}
await latencyRounds();

for (const g of [traces, all]) {
  await g.gw.terminate();
  await Deno.remove(g.dir, { recursive: true });
}
await collector.shutdown();
