/**
 * A full data disk (a small tmpfs) under the write-ahead log: events the
 * disk cannot take stay in memory and are still delivered, torn writes
 * never become events or garbage, counters are exact, errors are
 * throttled, the log takes writes again once space returns, and a restart
 * delivers exactly what was logged.
 */
import assert from "node:assert/strict";
import type { LogEvent, Sink } from "../core/plugin.ts";
import { LogPipeline } from "../core/pipeline/pipeline.ts";
import { DEFAULT_CONTROLS } from "../core/pipeline/controls.ts";
import { sampleEvent } from "./fakes/events.ts";
import { sinkEntry } from "./fakes/sink_entry.ts";
import { until } from "./fakes/outage.ts";
import { mountTmpfs, tmpfsUnavailable } from "./fakes/tmpfs.ts";

const noTmpfs = await tmpfsUnavailable();
if (noTmpfs) console.warn(`disk_full_test: does not run: ${noTmpfs}`);

function pipelineOn(dir: string, isDown: () => boolean, lines: string[]) {
  const received = new Map<string, number>();
  const sink: Sink = {
    log(events: readonly LogEvent[]) {
      if (isDown()) throw new Error("receiver unavailable (503)");
      for (const e of events) received.set(e.request_id, (received.get(e.request_id) ?? 0) + 1);
    },
  };
  const started = LogPipeline.start([{
    name: "s",
    plugin: "s",
    entry: sinkEntry({ name: "s", use: "s", queue: { batch_size: 50, flush_interval_ms: 5 } }),
    sink,
  }], { dataDir: dir, log: (level, message) => lines.push(`${level} ${message}`), fsyncMs: 5 });
  return { started, received };
}

Deno.test({
  name:
    "disk full: events are kept and delivered, counters exact, the log recovers, a restart delivers what was logged",
  ignore: noTmpfs !== undefined,
  async fn() {
    const disk = await mountTmpfs(256);
    if (typeof disk === "string") throw new Error(disk);
    const lines: string[] = [];
    let down = true;
    try {
      const first = pipelineOn(disk.path, () => down, lines);
      const pipeline = await first.started;
      // Fill the disk, then free a little so one write is torn in the middle.
      const filler = await disk.fill();
      const size = (await Deno.stat(filler)).size;
      await Deno.truncate(filler, size - 12_000);
      let n = 0;
      const emit = (count: number) => {
        for (let i = 0; i < count; i++) pipeline.emit(sampleEvent(n++), DEFAULT_CONTROLS);
      };
      emit(300); // more than the 12 KB left: some are logged, the rest are not
      const reported = () => lines.filter((l) => l.includes("could not write")).length;
      await until(() => reported() > 0, 10_000, "the write error");
      let [s] = pipeline.snapshot();
      const logged = s.counters.spooled;
      assert.ok(logged > 0 && logged < 300, `logged ${logged} of 300\n${lines.join("\n")}`);
      assert.equal(s.spoolSize, logged, "the log holds exactly what it counts");
      assert.equal(s.counters.dropped, 0, "nothing dropped while memory has room");
      const writeErrors = lines.filter((l) => l.includes("could not write"));
      assert.equal(writeErrors.length, 1, lines.join("\n"));
      assert.match(writeErrors[0], /the disk is full/);

      emit(200); // still full: the next report waits for the interval
      await Deno.remove(filler); // space returns
      emit(100);
      await until(() => lines.some((l) => l.includes("takes writes again")), 10_000, "recovery");
      assert.equal(reported(), 1, "one error line while the disk was full");
      await pipeline.close(300); // the sink is down: what was logged stays for the restart
      [s] = pipeline.snapshot();
      const logged2 = s.counters.spooled;
      assert.ok(logged2 >= logged + 100, `${logged2} logged after recovery`);
      assert.equal(s.spoolSize, logged2, "the log holds exactly what it counts");
      const lost = 600 - logged2;
      assert.equal(s.counters.dropped, lost, "unlogged events lost at shutdown are counted");
      assert.ok(lines.some((l) => l.includes(`dropped ${lost} events`)), lines.join("\n"));

      down = false;
      const second = pipelineOn(disk.path, () => down, lines);
      const again = await second.started;
      await until(() => second.received.size >= logged2, 10_000, "the replay");
      assert.equal(second.received.size, logged2);
      assert.ok([...second.received.values()].every((c) => c === 1), "each once");
      assert.equal(again.snapshot()[0].counters.dropped, 0, "no torn line became an event");
      await again.close(1000);
      assert.equal(again.snapshot()[0].spoolSize, 0);
    } finally {
      await disk.unmount();
    }
  },
});

Deno.test({
  name: "disk full with a healthy sink: every event is still delivered, once",
  ignore: noTmpfs !== undefined,
  async fn() {
    const disk = await mountTmpfs(128);
    if (typeof disk === "string") throw new Error(disk);
    const lines: string[] = [];
    try {
      const { started, received } = pipelineOn(disk.path, () => false, lines);
      const pipeline = await started;
      await disk.fill();
      for (let i = 0; i < 400; i++) pipeline.emit(sampleEvent(i), DEFAULT_CONTROLS);
      await until(() => received.size === 400, 10_000, "400 delivered");
      await pipeline.close(1000);
      const [s] = pipeline.snapshot();
      assert.equal(s.counters.sent, 400);
      assert.equal(s.counters.dropped, 0);
      assert.ok([...received.values()].every((c) => c === 1));
    } finally {
      await disk.unmount();
    }
  },
});
