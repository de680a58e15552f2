/**
 * Crash safety: the gateway is killed with SIGKILL at a random moment, with
 * a healthy receiver and during an outage, then started again on the same
 * data dir. What the kill left on disk is read back before the restart:
 *
 * - every call in the write-ahead log (or already at the receiver) is
 *   delivered after the restart (duplicates are allowed: delivery is
 *   at-least-once);
 * - the log has no holes: every call that finished before the newest logged
 *   call (less a margin for calls finishing side by side) is logged;
 * - the log keeps up: the newest logged call finished less than a second
 *   before the kill. The documented window (`fsync_ms` + the 5 ms hand-off +
 *   the Worker's turn + one write and fsync) has no fixed bound on a busy
 *   machine, so a tight bound here would test the machine; a second only
 *   passes a log path that writes.
 */
import assert from "node:assert/strict";
import { type CliGateway, startCliGateway } from "./fakes/cli_gateway.ts";
import { until } from "./fakes/outage.ts";
import { traffic } from "./fakes/traffic.ts";
import { type Receiver, startReceiver } from "./fakes/receiver.ts";

const FSYNC_MS = 20;
/** Calls answered this close together may reach the log in either order. */
const SIDE_BY_SIDE_MS = 100;
/** The longest a logged call may trail the kill (see the module doc). */
const MAX_LAG_MS = 1000;

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

/** Call ids of the whole lines in every sink's write-ahead log segments (a torn last line is not one). */
async function loggedCallIds(dir: string): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const sink of Deno.readDir(`${dir}/spool`)) {
    if (!sink.isDirectory) continue;
    for await (const file of Deno.readDir(`${dir}/spool/${sink.name}`)) {
      if (!file.name.endsWith(".wal")) continue;
      const text = await Deno.readTextFile(`${dir}/spool/${sink.name}/${file.name}`);
      for (const line of text.split("\n").slice(0, -1)) {
        ids.add(String((JSON.parse(line) as { call_id?: unknown }).call_id));
      }
    }
  }
  return ids;
}

/**
 * Kills the gateway (SIGKILL) while `load` runs and checks what survived on
 * disk: no hole in the log, the log not trailing the kill by more than
 * {@link MAX_LAG_MS}. Returns the answered calls that survived (logged or
 * delivered), which the restart must deliver.
 */
async function killAndCheck(
  gw: CliGateway,
  load: ReturnType<typeof traffic>,
  dir: string,
  receiver: Receiver,
  what: string,
): Promise<string[]> {
  const killedAt = Date.now();
  await gw.kill();
  await load.stop();
  const logged = await loggedCallIds(dir);
  const survived = (id: string) => logged.has(id) || receiver.seen.has(id);
  const answered = [...load.finished];
  const kept = answered.filter(([id]) => survived(id));
  const newest = Math.max(...kept.map(([, t]) => t));
  const holes = answered.filter(([id, t]) => t < newest - SIDE_BY_SIDE_MS && !survived(id));
  console.log(
    `${what}: ${answered.length} calls answered, ${kept.length} logged or delivered; ` +
      `the newest logged call finished ${killedAt - newest} ms before the kill`,
  );
  assert.ok(kept.length > 50, `${what}: enough calls logged before the kill`);
  assert.deepEqual(
    holes.slice(0, 10).map(([id]) => id),
    [],
    `${what}: ${holes.length} calls missing from the log before its newest call`,
  );
  assert.ok(killedAt - newest < MAX_LAG_MS, `${what}: the log trails the kill by under a second`);
  return kept.map(([id]) => id);
}

/** Restarts the gateway on the same data dir and waits until every surviving call arrived. */
async function restartAndCheck(config: string, receiver: Receiver, ids: string[]): Promise<void> {
  const gw = await startCliGateway(config);
  try {
    await until(
      () => ids.every((id) => receiver.seen.has(id)),
      30_000,
      "every logged call after the restart",
    ).catch(() => {});
    const missing = ids.filter((id) => !receiver.seen.has(id));
    assert.deepEqual(
      missing.slice(0, 10),
      [],
      `${missing.length} of ${ids.length} logged calls lost`,
    );
  } finally {
    assert.equal(await gw.terminate(), 0);
  }
}

Deno.test("SIGKILL with a healthy receiver, twice: every logged call is delivered, the log has no holes", async () => {
  const dir = await Deno.makeTempDir();
  const receiver = startReceiver("ok");
  const config = await writeConfig(dir, receiver);
  try {
    const survived: string[] = [];
    for (const round of [1, 2]) {
      const gw = await startCliGateway(config);
      const load = traffic(gw.url, `healthy${round}`);
      await until(() => load.finished.size > 0, 10_000, "the first answered call");
      await new Promise((r) => setTimeout(r, 200 + Math.random() * 1000)); // the random kill moment
      survived.push(...await killAndCheck(gw, load, dir, receiver, `round ${round}`));
    }
    await restartAndCheck(config, receiver, survived);
  } finally {
    await receiver.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SIGKILL during an outage: every logged call arrives after the restart", async () => {
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
    const survived = await killAndCheck(gw, load, dir, receiver, "outage");
    assert.equal(receiver.seen.size, 0, "nothing was delivered during the outage");
    receiver = startReceiver("ok", port);
    await restartAndCheck(config, receiver, survived);
  } finally {
    await receiver.close();
    await Deno.remove(dir, { recursive: true });
  }
});
