/**
 * The gateway never hangs on its log path. Each failure pattern that used
 * to spin a core (a circuit open with nothing left to send) runs in a real
 * gateway process while a watchdog probes `/health/liveness`: every probe
 * must answer within 100 ms, and the process must stay near idle on CPU.
 */
import assert from "node:assert/strict";
import { type CliGateway, freePort, startCliGateway } from "./fakes/cli_gateway.ts";
import { sendCalls, until } from "./fakes/outage.ts";
import { startReceiver } from "./fakes/receiver.ts";
import { mountTmpfs, tmpfsUnavailable } from "./fakes/tmpfs.ts";

/** Longest liveness answer allowed (the target). */
const LIVENESS_MS = 100;
/** How long the watchdog watches each pattern. */
const WATCH_MS = 3000;
/** CPU share above which the gateway is spinning rather than waiting. */
const BUSY_SHARE = 0.3;

/**
 * Probes liveness back to back for `ms`; returns the second-slowest answer
 * (one late probe is forgiven: the suite runs in parallel on two cores, and a
 * spinning gateway makes every probe late) and the CPU share used.
 */
async function watchdog(gw: CliGateway, ms: number): Promise<{ slowest: number; cpu: number }> {
  const cpu0 = gw.cpuSeconds();
  const t0 = performance.now();
  const times: number[] = [];
  while (performance.now() - t0 < ms) {
    const start = performance.now();
    const res = await fetch(`${gw.url}/health/liveness`, {
      signal: AbortSignal.timeout(2000),
    });
    await res.body?.cancel();
    assert.equal(res.status, 200);
    times.push(performance.now() - start);
    await new Promise((r) => setTimeout(r, 20)); // probe pacing, not a wait for a condition
  }
  const elapsed = (performance.now() - t0) / 1000;
  times.sort((a, b) => b - a);
  return { slowest: times[1] ?? times[0] ?? 0, cpu: (gw.cpuSeconds() - cpu0) / elapsed };
}

async function metric(gw: CliGateway, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  const m = pattern.exec(text);
  return m ? Number(m[1]) : NaN;
}

/** Runs `body` against a gateway child with `config` (its data dir in a temp dir). */
async function withGateway(
  config: Record<string, unknown>,
  body: (gw: CliGateway) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/gateway.yaml`;
  await Deno.writeTextFile(path, JSON.stringify({ ...config, server: { data_dir: dir } }));
  const gw = await startCliGateway(path);
  try {
    await body(gw);
  } finally {
    const code = await within(gw.terminate(), 20_000);
    if (code === undefined) await gw.kill();
    await Deno.remove(dir, { recursive: true });
    assert.equal(code, 0, `SIGTERM: exit ${code} (undefined: still running after 20 s)`);
  }
}

/** The promise's value, or undefined when it takes longer than `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((
    resolve,
  ) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

function assertLive(result: { slowest: number; cpu: number }, gw: CliGateway): void {
  assert.ok(
    result.slowest <= LIVENESS_MS,
    `slowest liveness answer ${result.slowest.toFixed(1)} ms\n${gw.stderr().slice(-2000)}`,
  );
  assert.ok(result.cpu < BUSY_SHARE, `CPU share ${result.cpu.toFixed(2)} while idle`);
}

Deno.test("liveness: a circuit opened by 503s and then a 400 for the logged batch never spins", async () => {
  const receiver = startReceiver("503");
  try {
    await withGateway({
      models: [{ name: "mock-gpt", provider: "mock" }],
      sinks: [{
        use: "webhook",
        config: { url: receiver.url },
        queue: { batch_size: 5, flush_interval_ms: 10 },
      }],
    }, async (gw) => {
      await sendCalls(gw.url, Array.from({ length: 20 }, (_, i) => `c503-${i}`), 4);
      await until(
        async () => (await metric(gw, /sluice_sink_circuit_open\{sink="webhook"\} (\d+)/)) === 1,
        20_000,
        "the circuit to open",
      );
      receiver.setMode("400");
      await until(() => receiver.posts() > 6, 20_000, "the probe that gets a 400");
      assertLive(await watchdog(gw, WATCH_MS), gw);
    });
  } finally {
    await receiver.close();
  }
});

Deno.test("liveness: a dead sink with spool_max_bytes 0 and one request never spins", async () => {
  await withGateway({
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [{
      use: "webhook",
      config: { url: `http://127.0.0.1:${freePort()}/dead` },
      queue: { spool_max_bytes: 0, flush_interval_ms: 10 },
    }],
  }, async (gw) => {
    await sendCalls(gw.url, ["one"], 1);
    await until(
      async () => (await metric(gw, /sluice_sink_circuit_open\{sink="webhook"\} (\d+)/)) === 1,
      20_000,
      "the circuit to open",
    );
    assertLive(await watchdog(gw, WATCH_MS), gw);
    // The event was never dropped: it waits in memory for the sink.
    assert.equal(await metric(gw, /sluice_sink_queue_depth\{sink="webhook"\} (\d+)/), 1);
  });
});

const noTmpfs = await tmpfsUnavailable();
if (noTmpfs) console.warn(`liveness_test: the full-disk case does not run: ${noTmpfs}`);

Deno.test({
  name: "liveness: the embedded default with its data disk full never spins, and SIGTERM exits",
  ignore: noTmpfs !== undefined,
  async fn() {
    const disk = await mountTmpfs(512);
    if (typeof disk === "string") throw new Error(disk);
    const gw = await startCliGateway(undefined, { cwd: disk.path });
    let code: number | undefined;
    try {
      await disk.fill();
      const statuses = await sendCalls(gw.url, Array.from({ length: 50 }, (_, i) => `f-${i}`), 4);
      assert.deepEqual([...new Set(statuses.values())], [200], "requests are still served");
      assertLive(await watchdog(gw, WATCH_MS), gw);
    } finally {
      code = await within(gw.terminate(), 20_000);
      if (code === undefined) await gw.kill();
      await disk.unmount();
    }
    assert.notEqual(code, undefined, `SIGTERM did not end the gateway within 20 s\n${gw.stderr()}`);
    assert.equal(code, 0, gw.stderr().slice(-2000));
  },
});
