/**
 * The log pipeline under failure: confirm-then-remove, retries, the circuit
 * breaker, the disk spool (overflow, outage, restart), permanent failures and
 * the spool limit. Sinks here are in-process plugins; HTTP loss tests live in
 * loss_test.ts.
 */
import assert from "node:assert/strict";
import type { LogEvent, Sink } from "../core/plugin.ts";
import { LogPipeline, type PipelineSink } from "../core/pipeline/pipeline.ts";
import { sampleEvent } from "./fakes/events.ts";
import type { SinkConfig } from "../core/config/types.ts";
import { DEFAULT_CONTROLS } from "../core/pipeline/controls.ts";
import { sinkEntry } from "./fakes/sink_entry.ts";
import { until as waitUntil } from "../core/testing.ts";
import { parseConfig } from "../core/config/load.ts";
import { maskEventJson } from "../core/redaction/mask.ts";

function entry(
  name: string,
  queue: Partial<SinkConfig["queue"]> = {},
  extra: Partial<SinkConfig> = {},
): SinkConfig {
  return sinkEntry({
    name,
    use: name,
    ...extra,
    queue: { batch_size: 50, flush_interval_ms: 5, ...queue },
  });
}

/** A sink that records request ids and fails while `down()` says so. */
function recordingSink(down: () => boolean | Error = () => false) {
  const received: string[] = [];
  let attempts = 0;
  const sink: Sink = {
    log(events: readonly LogEvent[]) {
      attempts++;
      const failure = down();
      if (failure) {
        throw failure instanceof Error ? failure : new Error("receiver unavailable (503)");
      }
      for (const e of events) received.push(e.request_id);
    },
  };
  return { sink, received, attempts: () => attempts };
}

const until = (condition: () => boolean, ms = 10_000) => waitUntil(condition, ms, "a condition");

const logs: string[] = [];
const log = (level: string, message: string) => logs.push(`${level} ${message}`);

Deno.test("an outage loses nothing: events are retried, spooled while the circuit is open, then replayed in order", async () => {
  const dir = await Deno.makeTempDir();
  let isDown = true;
  const target = recordingSink(() => isDown);
  const pipeline = await LogPipeline.start(
    [{ name: "s", plugin: "s", entry: entry("s"), sink: target.sink }],
    { dataDir: dir, log },
  );
  const ids: string[] = [];
  for (let i = 0; i < 3000; i++) {
    const e = sampleEvent(i);
    ids.push(e.request_id);
    pipeline.emit(e, DEFAULT_CONTROLS);
    if (i % 500 === 0) await new Promise((r) => setTimeout(r, 20));
  }
  await until(() => pipeline.snapshot()[0].circuitOpen);
  await until(() => pipeline.snapshot()[0].spoolSize > 0);
  isDown = false;
  await until(() => target.received.length >= 3000, 90_000);
  const snap = pipeline.snapshot()[0];
  await pipeline.close(2000);
  await Deno.remove(dir, { recursive: true });
  assert.deepEqual(target.received, ids, "every event, once, in order");
  assert.equal(snap.counters.sent, 3000);
  assert.ok(snap.counters.retried > 0);
  assert.ok(snap.counters.spooled > 0);
  assert.equal(snap.counters.dropped, 0);
});

Deno.test("the spool survives a restart: what a dead sink did not take is delivered by the next run", async () => {
  const dir = await Deno.makeTempDir();
  const dead = recordingSink(() => true);
  const first = await LogPipeline.start(
    [{ name: "s", plugin: "s", entry: entry("s"), sink: dead.sink }],
    { dataDir: dir, log },
  );
  const ids: string[] = [];
  for (let i = 0; i < 500; i++) {
    const e = sampleEvent(i);
    ids.push(e.request_id);
    first.emit(e, DEFAULT_CONTROLS);
  }
  await first.close(300);
  assert.equal(dead.received.length, 0);

  const alive = recordingSink();
  const second = await LogPipeline.start(
    [{ name: "s", plugin: "s", entry: entry("s"), sink: alive.sink }],
    { dataDir: dir, log },
  );
  await until(() => alive.received.length >= 500);
  await second.close(1000);
  assert.deepEqual(alive.received, ids);
  const left = [...Deno.readDirSync(`${dir}/spool/s`)].filter((e) => e.name.endsWith(".ndjson"));
  assert.equal(left.length, 0, "delivered segments are removed");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("permanent failures drop the batch, count it and become a gateway_error for other sinks", async () => {
  const dir = await Deno.makeTempDir();
  const malformed = Object.assign(new Error("400 bad event"), { permanent: true });
  const rejecting = recordingSink(() => malformed);
  const watcher = recordingSink();
  const watcherEvents: LogEvent[] = [];
  const watcherSink: Sink = {
    log(events) {
      watcherEvents.push(...events);
      return watcher.sink.log(events);
    },
  };
  const sinks: PipelineSink[] = [
    { name: "bad", plugin: "bad", entry: entry("bad", { batch_size: 10 }), sink: rejecting.sink },
    {
      name: "ops",
      plugin: "ops",
      entry: entry("ops", {}, { on: ["gateway_error"] }),
      sink: watcherSink,
    },
  ];
  const pipeline = await LogPipeline.start(sinks, { dataDir: dir, log });
  for (let i = 0; i < 10; i++) pipeline.emit(sampleEvent(i), DEFAULT_CONTROLS);
  await until(() => watcherEvents.length >= 1);
  const [bad] = pipeline.snapshot();
  await pipeline.close(500);
  await Deno.remove(dir, { recursive: true });
  assert.equal(bad.counters.dropped, 10);
  assert.equal(rejecting.attempts(), 1, "permanent failures are not retried");
  assert.equal(watcherEvents.length, 1, "ops gets only the gateway_error, not the calls");
  assert.equal(watcherEvents[0].call_type, "gateway_error");
  assert.equal(watcherEvents[0].source, "bad");
  assert.match(watcherEvents[0].error!.message, /dropped 10 events .*400 bad event/);
});

Deno.test("retryAfterMs is honoured before the next attempt", async () => {
  const dir = await Deno.makeTempDir();
  let failures = 1;
  const times: number[] = [];
  const sink: Sink = {
    log() {
      times.push(Date.now());
      if (failures-- > 0) throw Object.assign(new Error("429"), { retryAfterMs: 400 });
    },
  };
  const pipeline = await LogPipeline.start([{ name: "s", plugin: "s", entry: entry("s"), sink }], {
    dataDir: dir,
    log,
  });
  pipeline.emit(sampleEvent(1), DEFAULT_CONTROLS);
  await until(() => times.length >= 2);
  await pipeline.close(500);
  await Deno.remove(dir, { recursive: true });
  assert.ok(times[1] - times[0] >= 390, `waited ${times[1] - times[0]} ms`);
});

Deno.test("past the spool limit events are dropped, counted and reported; memory stays bounded", async () => {
  const dir = await Deno.makeTempDir();
  const dead = recordingSink(() => true);
  const ops: LogEvent[] = [];
  const pipeline = await LogPipeline.start([
    {
      name: "s",
      plugin: "s",
      entry: entry("s", { max_queue: 100, spool_max_bytes: 200_000 }),
      sink: dead.sink,
    },
    {
      name: "ops",
      plugin: "ops",
      entry: entry("ops", {}, { on: ["gateway_error"] }),
      sink: { log: (e) => void ops.push(...e) },
    },
  ], { dataDir: dir, log });
  for (let i = 0; i < 2000; i++) {
    pipeline.emit(sampleEvent(i), DEFAULT_CONTROLS);
    if (i % 100 === 0) await new Promise((r) => setTimeout(r, 1));
  }
  await until(() => pipeline.snapshot()[0].counters.dropped > 0);
  await until(() => ops.length > 0);
  // A burst waits for its group commit (bounded by bytes); once committed, memory holds at most
  // max_queue events whatever keeps arriving.
  await until(() => pipeline.snapshot()[0].queueDepth <= 200);
  for (let i = 2000; i < 2500; i++) pipeline.emit(sampleEvent(i), DEFAULT_CONTROLS);
  await until(() => pipeline.snapshot()[0].queueDepth <= 200);
  const [s] = pipeline.snapshot();
  await pipeline.close(200);
  await Deno.remove(dir, { recursive: true });
  assert.ok(s.queueDepth <= 200, `queue depth ${s.queueDepth}`);
  assert.ok(s.counters.spooled > 0 && s.counters.spooled < 2000);
  assert.ok(s.counters.dropped > 0);
  assert.equal(ops[0].error?.code, "spool_overflow");
});

Deno.test("a sink's error message never carries a config secret into the log or a gateway_error event", async () => {
  const dir = await Deno.makeTempDir();
  const secret = "s3cr3t-sink-password-42";
  const lines: string[] = [];
  const opsEvents: LogEvent[] = [];
  const leaky = recordingSink(() =>
    Object.assign(new Error(`login failed for user admin with password ${secret}`), {
      permanent: true,
    })
  );
  const pipeline = await LogPipeline.start([
    { name: "leaky", plugin: "leaky", entry: entry("leaky"), sink: leaky.sink },
    {
      name: "ops",
      plugin: "ops",
      entry: entry("ops", {}, { on: ["gateway_error"] }),
      sink: { log: (e) => void opsEvents.push(...e) },
    },
  ], {
    dataDir: dir,
    log: (level, message) => lines.push(`${level} ${message}`),
    redaction: {
      global: {
        messages: "mask",
        detectors: "all",
        strip_base64: true,
        base64_min_length: 256,
        drop_non_text_parts: false,
        redact_user_api_key_info: false,
        locked: false,
      },
      secrets: [secret],
    },
  });
  pipeline.emit(sampleEvent(1), DEFAULT_CONTROLS);
  await until(() => opsEvents.length >= 1 && lines.length >= 1);
  await pipeline.close(500);
  await Deno.remove(dir, { recursive: true });
  const everything = lines.join("\n") + JSON.stringify(opsEvents);
  assert.match(everything, /password \[SECRET\]/);
  assert.ok(!everything.includes(secret));
});

Deno.test("a burst larger than max_queue arriving at once waits for the write-ahead log instead of being dropped", async () => {
  // The log Worker receives finished calls in batches: a batch can be far larger than a small
  // max_queue while the previous group commit's fsync is still running.
  const dir = await Deno.makeTempDir();
  const target = recordingSink();
  const pipeline = await LogPipeline.start(
    [{ name: "s", plugin: "s", entry: entry("s", { max_queue: 10 }), sink: target.sink }],
    { dataDir: dir, log },
  );
  const ids: string[] = [];
  for (let i = 0; i < 500; i++) {
    const e = sampleEvent(i);
    ids.push(e.request_id);
    pipeline.emit(e, DEFAULT_CONTROLS);
  }
  await until(() => target.received.length >= 500);
  const snap = pipeline.snapshot()[0];
  await pipeline.close(2000);
  await Deno.remove(dir, { recursive: true });
  assert.equal(snap.counters.dropped, 0);
  assert.deepEqual(target.received, ids, "every event, once, in order");
});

Deno.test("events that arrive after close are counted as dropped and reported, never lost silently", async () => {
  const dir = await Deno.makeTempDir();
  const target = recordingSink();
  const lines: string[] = [];
  const pipeline = await LogPipeline.start(
    [{ name: "s", plugin: "s", entry: entry("s"), sink: target.sink }],
    { dataDir: dir, log: (level, message) => lines.push(`${level} ${message}`) },
  );
  pipeline.emit(sampleEvent(1), DEFAULT_CONTROLS);
  await pipeline.close(2000);
  pipeline.emit(sampleEvent(2), DEFAULT_CONTROLS);
  const [s] = pipeline.snapshot();
  await Deno.remove(dir, { recursive: true });
  assert.equal(target.received.length, 1);
  assert.equal(s.counters.sent, 1);
  assert.equal(s.counters.dropped, 1);
  assert.ok(
    lines.some((l) => /dropped 1 events.*after the log path began to close/.test(l)),
    lines.join("\n"),
  );
});

Deno.test("an event emitted while close waits for pending masking is dropped, never sent unredacted", async () => {
  const dir = await Deno.makeTempDir();
  const target = recordingSink();
  const seen: LogEvent[] = [];
  const sink: Sink = {
    log: (events) => {
      seen.push(...structuredClone(events));
      return target.sink.log(events);
    },
  };
  const secret = "sk-config-secret-123456";
  const pipeline = await LogPipeline.start(
    [{ name: "s", plugin: "s", entry: entry("s"), sink }],
    {
      dataDir: dir,
      log,
      redaction: {
        // A pseudonym secret makes masking asynchronous: close() waits for it.
        global: parseConfig({ redaction: { pseudonym_secret: "p".repeat(32) } }).redaction,
        secrets: [secret],
        mask: maskEventJson,
      },
    },
  );
  pipeline.emit(sampleEvent(1), DEFAULT_CONTROLS);
  const closing = pipeline.close(2000);
  const late = sampleEvent(2);
  late.messages = [{ role: "user", content: `mail ann@example.com, key ${secret}` }];
  pipeline.emit(late, DEFAULT_CONTROLS);
  await closing;
  const [s] = pipeline.snapshot();
  await Deno.remove(dir, { recursive: true });
  const text = JSON.stringify(seen);
  assert.ok(!text.includes("ann@example.com") && !text.includes(secret), text);
  assert.deepEqual(seen.map((e) => e.request_id), [sampleEvent(1).request_id]);
  assert.equal(s.counters.dropped, 1);
});

Deno.test("each call's state with each sink: queued, retrying, sent, dropped, unknown", async () => {
  const dir = await Deno.makeTempDir();
  let isDown = true;
  const flaky = recordingSink(() => isDown);
  const picky = recordingSink(() => Object.assign(new Error("malformed"), { permanent: true }));
  const pipeline = await LogPipeline.start(
    [
      {
        name: "flaky",
        plugin: "flaky",
        entry: entry("flaky", { flush_interval_ms: 1000 }),
        sink: flaky.sink,
      },
      { name: "picky", plugin: "picky", entry: entry("picky"), sink: picky.sink },
    ],
    { dataDir: dir, log },
  );
  const stateOf = (id: string, sink: string) =>
    pipeline.deliveryOf(id).find((d) => d.sink === sink)?.state;
  try {
    const event = sampleEvent(1);
    pipeline.emit(event, DEFAULT_CONTROLS);
    assert.equal(stateOf(event.request_id, "flaky"), "queued", "waiting for its batch");
    await until(() => flaky.attempts() > 0);
    assert.equal(stateOf(event.request_id, "flaky"), "retrying");
    assert.match(pipeline.deliveryOf(event.request_id)[0].lastError ?? "", /503/);
    await until(() => stateOf(event.request_id, "picky") === "dropped");
    isDown = false;
    await until(() => stateOf(event.request_id, "flaky") === "sent");
    assert.deepEqual(flaky.received, [event.request_id]);
    assert.equal(stateOf("no-such-call", "flaky"), "unknown");
  } finally {
    await pipeline.close(1000);
    await Deno.remove(dir, { recursive: true });
  }
});
