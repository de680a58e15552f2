/**
 * Scale-out benchmark (issue #20's targets), against a real engine
 * (default: the NATS server at 127.0.0.1:4222; `--engine redis` uses
 * 127.0.0.1:6379). Three parts, each on its own stream, deleted afterwards:
 *
 * 1. `proxy`: gateway throughput with the stream transport vs `local`, the
 *    same config otherwise (mock model, one webhook sink to a receiver in
 *    its own process), runs interleaved; target ≥ 0.9×.
 * 2. `lag`: end-to-end delivery lag (a call's end to the receiver's
 *    arrival) at 1,000 calls/s through a gateway and one `deliver` worker;
 *    target p99 ≤ 1 s.
 * 3. `workers`: drain time of a preloaded stream with a slow sink (each
 *    `log()` takes 100 ms for 50 events), 1 worker vs 2; target ≥ 1.6×.
 *
 * ```sh
 * deno run -A bench/scaleout.ts [--engine nats|redis] [--parts proxy,lag,workers]
 *   [--rounds 3] [--duration 8]
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { fmt, machine, median, ROOT } from "./common.ts";
import { childPids, freePort, type Server, spawnServer, waitReady } from "./procs.ts";
import { openTransport } from "../core/transport/open.ts";

const MOD = fileURLToPath(new URL("../mod.ts", import.meta.url));
const SLOW_SINK = fileURLToPath(new URL("./slow_sink.ts", import.meta.url));

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    engine: { type: "string", default: "nats" },
    parts: { type: "string", default: "proxy,lag,workers" },
    rounds: { type: "string", default: "3" },
    duration: { type: "string", default: "8" },
  },
});
const engine = flags.engine === "redis" ? "redis" : "nats";
const url = engine === "nats" ? "nats://127.0.0.1:4222" : "redis://127.0.0.1:6379";
const parts = new Set(flags.parts!.split(","));
const rounds = Number(flags.rounds);
const durationS = Number(flags.duration);
const children = new Set<Deno.ChildProcess>();
const dir = await Deno.makeTempDir({ prefix: "sluice-scaleout-bench-" });
const streams: string[] = [];

/** A receiver in its own process: counts events and the lag of each (arrival − end_time). */
const RECEIVER = `
const lags = [];
let count = 0;
Deno.serve({ hostname: "127.0.0.1", port: Number(Deno.args[0]), onListen() {} }, async (req) => {
  if (req.method === "GET") {
    const s = [...lags].sort((a, b) => a - b);
    const q = (p) => s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN;
    return Response.json({ count, p50: q(0.5), p99: q(0.99), max: s.at(-1) ?? NaN });
  }
  const now = Date.now();
  for (const e of await req.json()) { count++; lags.push(now - e.end_time); }
  return new Response(null, { status: 204 });
});
`;

function streamName(part: string): string {
  const name = `sluice-bench-${part}-${Date.now().toString(36)}`;
  streams.push(name);
  return name;
}

async function startReceiver(): Promise<{ url: string; server: Server }> {
  const port = freePort();
  const file = `${dir}/receiver.js`;
  await Deno.writeTextFile(file, RECEIVER);
  const server = spawnServer("receiver", file, [String(port)], dir, children);
  const base = `http://127.0.0.1:${port}`;
  await waitReady(server, async () => (await fetch(base)).ok, file);
  return { url: base, server };
}

async function receiverStats(base: string) {
  return await (await fetch(base)).json() as {
    count: number;
    p50: number;
    p99: number;
    max: number;
  };
}

async function writeConfig(name: string, config: unknown): Promise<string> {
  const path = `${dir}/${name}.json`;
  await Deno.writeTextFile(path, JSON.stringify(config));
  return path;
}

async function startGateway(
  config: string,
  dataDir: string,
): Promise<{ url: string; server: Server }> {
  const port = freePort();
  const server = spawnServer(
    "gateway",
    MOD,
    ["--config", config, "--port", String(port), "--data-dir", dataDir],
    ROOT,
    children,
  );
  const base = `http://127.0.0.1:${port}`;
  await waitReady(server, async () => {
    const res = await fetch(`${base}/health/readiness`);
    await res.body?.cancel();
    return res.ok;
  }, MOD);
  return { url: base, server };
}

async function startWorker(
  config: string,
  dataDir: string,
): Promise<{ url: string; server: Server }> {
  const port = freePort();
  const server = spawnServer(
    "deliver",
    MOD,
    ["deliver", "--config", config, "--port", String(port), "--data-dir", dataDir],
    ROOT,
    children,
  );
  const base = `http://127.0.0.1:${port}`;
  await waitReady(server, async () => {
    const res = await fetch(`${base}/health/readiness`);
    await res.body?.cancel();
    return res.ok;
  }, MOD);
  return { url: base, server };
}

async function stop(server: Server): Promise<void> {
  try {
    server.child.kill("SIGTERM");
  } catch {
    // gone
  }
  await server.child.status;
  children.delete(server.child);
}

const BODY = JSON.stringify({
  model: "mock-gpt",
  messages: [{ role: "user", content: "Summarise the plot of Hamlet in two sentences." }],
});

async function call(base: string): Promise<boolean> {
  try {
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: BODY,
    });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

/** Closed-loop load: `concurrency` callers for `seconds`; returns completed calls per second. */
async function closedLoop(base: string, seconds: number, concurrency = 32): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let done = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) if (await call(base)) done++;
  }));
  return done / seconds;
}

/** Open-loop load at `rate` calls/s for `seconds`; returns the calls answered 200. */
async function paced(base: string, rate: number, seconds: number): Promise<number> {
  const total = rate * seconds;
  const start = performance.now();
  let next = 0;
  let ok = 0;
  await Promise.all(Array.from({ length: 64 }, async () => {
    while (next < total) {
      const i = next++;
      const due = start + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (await call(base)) ok++;
    }
  }));
  return ok;
}

function configFor(kind: "local" | "nats" | "redis", receiver: string, stream: string) {
  return {
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [{
      use: "webhook",
      config: { url: `${receiver}/events` },
      queue: { batch_size: 100, flush_interval_ms: 50 },
    }],
    log: { transport: kind === "local" ? { kind } : { kind, url, stream } },
  };
}

async function proxyPart(): Promise<string[]> {
  const receiver = await startReceiver();
  const stream = streamName("proxy");
  const configs = {
    local: await writeConfig("proxy-local", configFor("local", receiver.url, stream)),
    stream: await writeConfig("proxy-stream", configFor(engine, receiver.url, stream)),
  };
  const results: Record<"local" | "stream", number[]> = { local: [], stream: [] };
  const cpu: Record<"local" | "stream", number[]> = { local: [], stream: [] };
  const enginePid = await pidOf(engine === "nats" ? "nats-server" : "redis-server");
  for (let r = 0; r < rounds; r++) {
    for (const kind of ["local", "stream"] as const) {
      const gw = await startGateway(configs[kind], `${dir}/proxy-${kind}-${r}`);
      await closedLoop(gw.url, 1); // warm-up
      // CPU of the gateway, its sandboxed sinks and the engine, per call.
      const tree = () => [gw.server.child.pid, ...descendants(gw.server.child.pid), enginePid];
      const before = tree().reduce((sum, pid) => sum + cpuTicks(pid), 0);
      const rate = await closedLoop(gw.url, durationS);
      const after = tree().reduce((sum, pid) => sum + cpuTicks(pid), 0);
      results[kind].push(rate);
      cpu[kind].push(((after - before) * 10_000) / (rate * durationS)); // µs per call
      await stop(gw.server);
    }
  }
  await stop(receiver.server);
  const local = median(results.local);
  const streamed = median(results.stream);
  return [
    `proxy throughput (closed loop, 32 callers, ${durationS} s, median of ${rounds} interleaved rounds):`,
    `  local ${fmt(local, 0)} calls/s [${results.local.map((n) => fmt(n, 0)).join(", ")}], ` +
    `${fmt(median(cpu.local), 0)} µs CPU per call (gateway, sandboxed sink, engine)`,
    `  ${engine} ${fmt(streamed, 0)} calls/s [${
      results.stream.map((n) => fmt(n, 0)).join(", ")
    }], ` +
    `${fmt(median(cpu.stream), 0)} µs CPU per call`,
    `  ratio of medians ${fmt(streamed / local, 2)}×; median of per-round ratios ${
      fmt(median(results.stream.map((n, i) => n / results.local[i])), 2)
    }× (target ≥ 0.9×); CPU per call ${fmt(median(cpu.stream) / median(cpu.local), 2)}×`,
  ];
}

/** User + system CPU ticks (1/100 s) of a process, 0 once it is gone. */
function cpuTicks(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

function descendants(pid: number): number[] {
  const out: number[] = [];
  for (const child of childPids(pid)) out.push(child, ...descendants(child));
  return out;
}

async function pidOf(name: string): Promise<number> {
  const out = await new Deno.Command("pgrep", { args: ["-o", "-x", name], stdout: "piped" })
    .output();
  return Number(new TextDecoder().decode(out.stdout).trim()) || 0;
}

async function lagPart(): Promise<string[]> {
  const receiver = await startReceiver();
  const stream = streamName("lag");
  const config = await writeConfig("lag", configFor(engine, receiver.url, stream));
  const worker = await startWorker(config, `${dir}/lag-worker`);
  const gw = await startGateway(config, `${dir}/lag-gw`);
  const rate = 1000;
  const seconds = 15;
  const ok = await paced(gw.url, rate, seconds);
  const end = Date.now() + 60_000;
  let stats = await receiverStats(receiver.url);
  while (stats.count < ok && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 200));
    stats = await receiverStats(receiver.url);
  }
  await stop(gw.server);
  await stop(worker.server);
  await stop(receiver.server);
  return [
    `delivery lag at ${rate} calls/s for ${seconds} s (1 gateway, 1 worker, webhook): ` +
    `${stats.count}/${ok} delivered; p50 ${fmt(stats.p50, 0)} ms, p99 ${fmt(stats.p99, 0)} ms, ` +
    `max ${fmt(stats.max, 0)} ms (target p99 ≤ 1000 ms)`,
  ];
}

async function drain(workers: number, events: number): Promise<number> {
  const stream = streamName(`workers${workers}`);
  const sinkConfig = {
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [{
      name: "slow",
      use: SLOW_SINK,
      config: { delay_ms: 100 },
      queue: { batch_size: 50 },
    }],
    log: { transport: { kind: engine, url, stream } },
  };
  const config = await writeConfig(`workers${workers}`, sinkConfig);
  const transport = await openTransport(engine, { url, stream });
  await transport.ensure(["slow"]);
  const encoder = new TextEncoder();
  for (let i = 0; i < events; i += 500) {
    await transport.publish(Array.from({ length: Math.min(500, events - i) }, (_, j) => {
      const id = `bench-${i + j}`;
      return {
        sink: "slow",
        id: `${id}.slow`,
        body: encoder.encode(
          JSON.stringify({ request_id: id, call_type: "chat", status: "success", end_time: 0 }),
        ),
      };
    }));
  }
  const procs = [];
  for (let w = 0; w < workers; w++) procs.push(startWorker(config, `${dir}/w${workers}-${w}`));
  const running = await Promise.all(procs);
  const ready = performance.now();
  for (;;) {
    const s = await transport.stats(["slow"]);
    const left = s.consumers[0].pending + s.consumers[0].unacked;
    if (left === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const seconds = (performance.now() - ready) / 1000;
  for (const w of running) await stop(w.server);
  await transport.close();
  return events / seconds;
}

async function workersPart(): Promise<string[]> {
  const events = 4000;
  const one: number[] = [];
  const two: number[] = [];
  for (let r = 0; r < Math.min(rounds, 2); r++) {
    one.push(await drain(1, events));
    two.push(await drain(2, events));
  }
  const a = median(one);
  const b = median(two);
  return [
    `delivery throughput with a slow sink (100 ms per 50-event batch), ${events} events preloaded:`,
    `  1 worker ${fmt(a, 0)} events/s, 2 workers ${fmt(b, 0)} events/s: ${
      fmt(b / a, 2)
    }× (target ≥ 1.6×)`,
  ];
}

async function cleanup(): Promise<void> {
  if (engine === "nats") {
    const { connect } = await import("npm:@nats-io/transport-node@3.4.0");
    const { jetstreamManager } = await import("npm:@nats-io/jetstream@3.4.0");
    const nc = await connect({ servers: "127.0.0.1:4222" });
    const jsm = await jetstreamManager(nc);
    for (const s of streams) {
      for (const name of [s, `${s}-dlq`]) await jsm.streams.delete(name).catch(() => {});
    }
    await nc.close();
  } else {
    // Redis keys of a stream all start with its name (the transport's key prefix).
    for (const s of streams) {
      const scan = await new Deno.Command("redis-cli", {
        args: ["-p", "6379", "--scan", "--pattern", `${s}*`],
        stdout: "piped",
      }).output();
      const keys = new TextDecoder().decode(scan.stdout).split("\n").filter(Boolean);
      for (let i = 0; i < keys.length; i += 1000) {
        await new Deno.Command("redis-cli", {
          args: ["-p", "6379", "del", ...keys.slice(i, i + 1000)],
          stdout: "null",
        }).output();
      }
    }
  }
}

const lines = [`scale-out bench, engine ${engine} (${url}); ${await machine()}`];
try {
  if (parts.has("proxy")) lines.push(...await proxyPart());
  if (parts.has("lag")) lines.push(...await lagPart());
  if (parts.has("workers")) lines.push(...await workersPart());
} finally {
  for (const child of children) {
    try {
      child.kill("SIGKILL");
    } catch {
      // gone
    }
  }
  await cleanup().catch((e) => console.error(`cleanup: ${e}`));
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
console.log(lines.join("\n"));
