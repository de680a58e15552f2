/**
 * Crash safety: the gateway is killed with SIGKILL at a random moment, with
 * a healthy receiver and during an outage, then started again on the same
 * data dir. Every call whose response had finished more than the fsync
 * window before the kill is delivered after the restart (duplicates are
 * allowed: delivery is at-least-once).
 */
import assert from "node:assert/strict";
import { type CliGateway, startCliGateway } from "./fakes/cli_gateway.ts";
import { until } from "./fakes/outage.ts";
import { traffic } from "./fakes/traffic.ts";
import { type Receiver, startReceiver } from "./fakes/receiver.ts";

const FSYNC_MS = 20;
/**
 * The documented window: `fsync_ms`, plus the event batching (5 ms) and one
 * write + fsync after the response; the margin absorbs a loaded machine.
 */
const WINDOW_MS = FSYNC_MS + 100;

async function writeConfig(dir: string, receiver: Receiver): Promise<string> {
  const path = `${dir}/gateway.yaml`;
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      server: { data_dir: dir },
      log: { fsync_ms: FSYNC_MS },
      models: [{ name: "mock-gpt", provider: "mock" }],
      sinks: [{
        use: "webhook",
        config: { url: receiver.url },
        queue: { batch_size: 500, flush_interval_ms: 1000 },
      }],
    }),
  );
  return path;
}

/** Runs traffic, kills the gateway at a random moment in `[minMs, maxMs)`, returns what it served. */
async function killDuringTraffic(
  gw: CliGateway,
  prefix: string,
  minMs: number,
  maxMs: number,
): Promise<{ mustArrive: string[]; inWindow: number }> {
  const load = traffic(gw.url, prefix);
  const delay = minMs + Math.random() * (maxMs - minMs);
  await until(() => load.finished.size > 0, 10_000, "the first answered call");
  await new Promise((r) => setTimeout(r, delay)); // the random kill moment
  const killedAt = Date.now();
  await gw.kill();
  await load.stop();
  const mustArrive = [...load.finished].filter(([, t]) => t < killedAt - WINDOW_MS).map(([id]) =>
    id
  );
  return { mustArrive, inWindow: load.finished.size - mustArrive.length };
}

function assertDelivered(receiver: Receiver, ids: string[], what: string): void {
  const missing = ids.filter((id) => !receiver.seen.has(id));
  assert.deepEqual(missing.slice(0, 10), [], `${missing.length} of ${ids.length} ${what} lost`);
}

Deno.test("SIGKILL with a healthy receiver, twice: no call outside the fsync window is lost", async () => {
  const dir = await Deno.makeTempDir();
  const receiver = startReceiver("ok");
  const config = await writeConfig(dir, receiver);
  try {
    const mustArrive: string[] = [];
    for (const round of [1, 2]) {
      const gw = await startCliGateway(config);
      const result = await killDuringTraffic(gw, `healthy${round}`, 200, 1200);
      console.log(
        `round ${round}: ${result.mustArrive.length} calls served before the window, ` +
          `${result.inWindow} inside it`,
      );
      assert.ok(result.mustArrive.length > 50, "enough calls before the kill");
      mustArrive.push(...result.mustArrive);
    }
    const gw = await startCliGateway(config);
    try {
      await until(
        () => mustArrive.every((id) => receiver.seen.has(id)),
        30_000,
        "every served call after the restart",
      ).catch(() => {});
      assertDelivered(receiver, mustArrive, "calls served before the kills");
    } finally {
      assert.equal(await gw.terminate(), 0);
    }
  } finally {
    await receiver.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SIGKILL during an outage: every call served before the window arrives after the restart", async () => {
  const dir = await Deno.makeTempDir();
  let receiver = startReceiver("503");
  const port = receiver.port;
  const config = await writeConfig(dir, receiver);
  try {
    const gw = await startCliGateway(config);
    const load = traffic(gw.url, "outage");
    await until(() => receiver.posts() > 0 && load.finished.size > 100, 20_000, "a refused batch");
    await receiver.close(); // now connections are refused
    await new Promise((r) => setTimeout(r, 100 + Math.random() * 900)); // the random kill moment
    const killedAt = Date.now();
    await gw.kill();
    await load.stop();
    const mustArrive = [...load.finished].filter(([, t]) => t < killedAt - WINDOW_MS).map((
      [id],
    ) => id);
    console.log(
      `${mustArrive.length} calls served before the window, ` +
        `${load.finished.size - mustArrive.length} inside it`,
    );
    assert.equal(receiver.seen.size, 0, "nothing was delivered during the outage");

    receiver = startReceiver("ok", port);
    const again = await startCliGateway(config);
    try {
      await until(
        () => mustArrive.every((id) => receiver.seen.has(id)),
        30_000,
        "every served call after the restart",
      ).catch(() => {});
      assertDelivered(receiver, mustArrive, "calls served during the outage");
    } finally {
      assert.equal(await again.terminate(), 0);
    }
  } finally {
    await receiver.close();
    await Deno.remove(dir, { recursive: true });
  }
});
