/**
 * Scale-out end to end, per engine (a private `nats-server -js` or
 * `redis-server` on a random port, so the test may stop it): two gateway
 * processes publish to the stream, two `deliver` worker processes deliver to
 * a webhook receiver. 5,000 calls go over both gateways, paced over ~20 s;
 * meanwhile one worker is killed with SIGKILL, and the engine is stopped for
 * 10 s and started again. Every call id arrives (at-least-once: duplicates
 * are counted and reported), every call was answered 200.
 */
import assert from "node:assert/strict";
import { startReceiver } from "./fakes/receiver.ts";
import { until } from "./fakes/outage.ts";
import { type EngineProcess, serviceAvailable, startEngine } from "./scaleout_services.ts";

const MOD = new URL("../mod.ts", import.meta.url).pathname;
const CALLS = 5_000;
/** Calls per second the senders aim at (5,000 over ~20 s, so the chaos lands mid-run). */
const RATE = 250;
/** How long the engine stays down. */
const OUTAGE_MS = 10_000;

interface Proc {
  name: string;
  child: Deno.ChildProcess;
  stderr(): string;
  status: Promise<Deno.CommandStatus>;
}

function freePort(): number {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  return port;
}

function spawn(name: string, args: string[]): Proc {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MOD, ...args],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  child.stderr.pipeTo(
    new WritableStream({ write: (chunk) => void (text += decoder.decode(chunk)) }),
  ).catch(() => {});
  return { name, child, stderr: () => text, status: child.status };
}

async function ready(proc: Proc, url: string): Promise<void> {
  let exited = false;
  proc.status.then(() => (exited = true));
  await until(
    async () => {
      if (exited) throw new Error(`${proc.name} exited at start:\n${proc.stderr()}`);
      try {
        const res = await fetch(url);
        await res.body?.cancel();
        return res.ok;
      } catch {
        return false;
      }
    },
    60_000,
    `${proc.name} to answer ${url}`,
  );
}

/** The sum of a metric's series at `url` whose labels contain `having`. */
async function metric(url: string, name: string, having = ""): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if ((line.startsWith(name + "{") || line.startsWith(name + " ")) && line.includes(having)) {
      sum += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return sum;
}

async function post(url: string, id: string): Promise<number> {
  try {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-sluice-call-id": id },
      body: JSON.stringify({ model: "mock-gpt", messages: [{ role: "user", content: id }] }),
    });
    await res.body?.cancel();
    return res.status;
  } catch {
    return 0;
  }
}

async function scaleOut(kind: "nats" | "redis"): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sluice-scaleout-" });
  const engine: EngineProcess = await startEngine(kind);
  const receiver = startReceiver("ok");
  const procs: Proc[] = [];
  try {
    const config = `${dir}/gateway.json`;
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        models: [{ name: "mock-gpt", provider: "mock" }],
        sinks: [{
          use: "webhook",
          config: { url: receiver.url },
          queue: { batch_size: 100, flush_interval_ms: 50 },
        }],
        log: { transport: { kind, url: engine.url, stream: "e2e", ack_wait_ms: 3_000 } },
      }),
    );
    const gateways = [0, 1].map((i) => {
      const port = freePort();
      const proc = spawn(`gateway ${i}`, [
        "--config",
        config,
        "--port",
        String(port),
        "--data-dir",
        `${dir}/gw${i}`,
      ]);
      procs.push(proc);
      return { proc, url: `http://127.0.0.1:${port}` };
    });
    const workers = [0, 1].map((i) => {
      const port = freePort();
      const proc = spawn(`worker ${i}`, [
        "deliver",
        "--config",
        config,
        "--port",
        String(port),
        "--data-dir",
        `${dir}/w${i}`,
      ]);
      procs.push(proc);
      return { proc, url: `http://127.0.0.1:${port}` };
    });
    for (const g of gateways) await ready(g.proc, `${g.url}/health/liveness`);
    for (const w of workers) await ready(w.proc, `${w.url}/health/readiness`);

    const ids = Array.from({ length: CALLS }, (_, i) => `${kind}-call-${i}`);
    const statuses = new Map<string, number>();
    const started = Date.now();
    let next = 0;
    // 16 senders, paced to RATE calls/s in all, alternating between the two gateways.
    const sending = Promise.all(Array.from({ length: 16 }, async () => {
      while (next < ids.length) {
        const i = next++;
        const due = started + (i * 1000) / RATE;
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
        statuses.set(ids[i], await post(gateways[i % 2].url, ids[i]));
      }
    }));
    // The kill once the worker is busy; the outage at half of the calls sent, so calls keep
    // coming to both gateways while the engine is down (whatever the machine's speed).
    const kill = (async () => {
      await until(() => receiver.seen.size >= 500, 120_000, "500 deliveries before the kill");
      workers[0].proc.child.kill("SIGKILL");
      await workers[0].proc.status;
    })();
    const outage = (async () => {
      await until(() => next >= CALLS / 2, 120_000, "half of the calls sent");
      await engine.stop();
      const down = Date.now();
      // The outage itself lasts a fixed time: calls keep coming meanwhile.
      await new Promise((r) => setTimeout(r, OUTAGE_MS));
      await engine.start();
      return Date.now() - down;
    })();
    await sending;
    const downFor = await outage;
    await kill;
    const answered = ids.filter((id) => statuses.get(id) === 200).length;
    assert.equal(
      answered,
      CALLS,
      "every call answered 200 (the gateway serves through the outage)",
    );

    await until(() => ids.every((id) => receiver.seen.has(id)), 180_000, "every call id");
    const extra = [...receiver.seen.keys()].filter((id) => !id.startsWith(`${kind}-call-`));
    assert.deepEqual(extra, [], "no unknown events");
    const duplicates = [...receiver.seen.values()].reduce((sum, n) => sum + n - 1, 0);
    const publishFailed = (await metric(gateways[0].url, "sluice_stream_publish_failed_total")) +
      (await metric(gateways[1].url, "sluice_stream_publish_failed_total"));
    const survivor = (outcome: string) =>
      metric(workers[1].url, "sluice_stream_consumed_total", `outcome="${outcome}"`);
    const [delivered, redelivered, seenTwice] = [
      await survivor("delivered"),
      await survivor("redelivered"),
      await survivor("duplicate"),
    ];
    console.log(
      `scale-out ${kind}: ${CALLS} calls over 2 gateways, 2 workers (one SIGKILLed), engine down ` +
        `${(downFor / 1000).toFixed(1)} s: all ${CALLS} ids delivered, ${duplicates} duplicates ` +
        `(at-least-once), ${publishFailed} publishes retried from the gateways' spools, ` +
        `surviving worker: ${delivered} delivered, ${redelivered} redeliveries, ${seenTwice} ` +
        `duplicates it caught; in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    assert.ok(publishFailed > 0, "the outage made publishes fail, and the spool forwarded them");
  } finally {
    for (const p of procs) {
      try {
        p.child.kill("SIGTERM");
      } catch {
        // already gone
      }
    }
    await Promise.all(procs.map((p) => p.status));
    await receiver.close();
    await engine.dispose();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

const natsRuns = await serviceAvailable("nats", { binary: true });
const redisRuns = await serviceAvailable("redis", { binary: true });

Deno.test({
  name:
    "scale-out over NATS JetStream: 2 gateways, 2 workers, a worker killed, the engine down 10 s",
  ignore: !natsRuns,
  fn: () => scaleOut("nats"),
});

Deno.test({
  name:
    "scale-out over Redis Streams: 2 gateways, 2 workers, a worker killed, the engine down 10 s",
  ignore: !redisRuns,
  fn: () => scaleOut("redis"),
});
