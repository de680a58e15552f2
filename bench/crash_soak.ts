/**
 * `deno run -A bench/crash_soak.ts [--kills 20] [--fsync-ms 20]`: SIGKILL
 * soak of the write-ahead log. One webhook receiver; a gateway process
 * serves chat calls at 8 connections and is killed with SIGKILL at a random
 * moment (0.2–1.5 s into each life), then started again on the same data
 * dir, `--kills` times; every other life runs through a receiver outage
 * (503, then refused connections). At the end a last gateway replays the
 * log and the receiver's call ids are compared with the calls each life
 * answered: calls answered more than the window before their kill must all
 * arrive; the ones inside it are counted separately.
 * @module
 */
import { parseArgs } from "node:util";
import { type CliGateway, startCliGateway } from "../tests/fakes/cli_gateway.ts";
import { type Receiver, startReceiver } from "../tests/fakes/receiver.ts";
import { until } from "../tests/fakes/outage.ts";
import { traffic } from "../tests/fakes/traffic.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    kills: { type: "string", default: "20" },
    "fsync-ms": { type: "string", default: "20" },
  },
});
const KILLS = Number(values.kills);
const FSYNC_MS = Number(values["fsync-ms"]);
/** fsync_ms plus event batching (5 ms) and one write + fsync. */
const WINDOW_MS = FSYNC_MS + 30;

const dir = await Deno.makeTempDir({ prefix: "sluice-crash-soak-" });
let receiver: Receiver = startReceiver("ok");
const port = receiver.port;
const config = `${dir}/gateway.yaml`;
await Deno.writeTextFile(
  config,
  JSON.stringify({
    server: { data_dir: dir },
    log: { fsync_ms: FSYNC_MS },
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [{ use: "webhook", config: { url: receiver.url }, queue: { batch_size: 500 } }],
  }),
);
const receivers: Receiver[] = [receiver];
/** Deliveries of one call id across every receiver incarnation. */
const deliveries = (id: string) => receivers.reduce((n, r) => n + (r.seen.get(id) ?? 0), 0);
const mustArrive: string[] = [];
/** How long before its life's kill each call was answered, ms. */
const ageAtKill = new Map<string, number>();
const inWindow: string[] = [];
let served = 0;
try {
  for (let life = 0; life < KILLS; life++) {
    const outage = life % 2 === 1;
    const gw: CliGateway = await startCliGateway(config);
    const load = traffic(gw.url, `life${life}`);
    await until(() => load.finished.size > 0, 10_000, "a first answer");
    if (outage) {
      receiver.setMode("503");
      await new Promise((r) => setTimeout(r, 100));
      await receiver.close();
    }
    await new Promise((r) => setTimeout(r, 200 + Math.random() * 1300)); // the random moment
    const killedAt = Date.now();
    await gw.kill();
    await load.stop();
    if (outage) receivers.push(receiver = startReceiver("ok", port));
    served += load.finished.size;
    for (const [id, t] of load.finished) {
      ageAtKill.set(id, killedAt - t);
      (t < killedAt - WINDOW_MS ? mustArrive : inWindow).push(id);
    }
    console.log(
      `life ${life + 1}${outage ? " (outage)" : ""}: ${load.finished.size} calls answered`,
    );
  }
  const last = await startCliGateway(config);
  await until(() => mustArrive.every((id) => deliveries(id) > 0), 60_000, "the replay")
    .catch(() => {});
  await last.terminate();
  const lost = mustArrive.filter((id) => deliveries(id) === 0).length;
  const lostInWindow = inWindow.filter((id) => deliveries(id) === 0).length;
  const duplicates = [...mustArrive, ...inWindow].filter((id) => deliveries(id) > 1).length;
  console.log(
    `\n${KILLS} SIGKILLs, fsync_ms ${FSYNC_MS}, window ${WINDOW_MS} ms: ${served} calls answered; ` +
      `${mustArrive.length} outside the window, ${lost} of them lost; ` +
      `${inWindow.length} inside it, ${lostInWindow} of them lost; ${duplicates} delivered twice`,
  );
  const lostAges = [...mustArrive, ...inWindow].filter((id) => deliveries(id) === 0)
    .map((id) => ageAtKill.get(id)!);
  if (lostAges.length > 0) {
    console.log(`oldest lost call: answered ${Math.max(...lostAges)} ms before its kill`);
  }
  if (lost > 0) Deno.exitCode = 1;
} finally {
  await receiver.close();
  await Deno.remove(dir, { recursive: true });
}
