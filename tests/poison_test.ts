/**
 * Poison isolation on the log path: an event that cannot be serialised or
 * redacted (nested 100k deep, or holding a value JSON cannot represent) is
 * replaced by a minimal event and counted; the events beside it in the
 * same batch are delivered untouched.
 */
import assert from "node:assert/strict";
import type { LogEvent, Sink } from "../core/plugin.ts";
import { LogPipeline } from "../core/pipeline/pipeline.ts";
import { DEFAULT_CONTROLS } from "../core/pipeline/controls.ts";
import { maskEventJson } from "../core/redaction/mask.ts";
import { parseConfig } from "../core/config/load.ts";
import { REPLACED_EVENT_CODE } from "../core/event/minimal.ts";
import { sampleEvent } from "./fakes/events.ts";
import { sinkEntry } from "./fakes/sink_entry.ts";
import { until } from "./fakes/outage.ts";

function deepArray(depth: number): unknown {
  let value: unknown = "bottom";
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

async function deliver(poison: LogEvent, redact: boolean) {
  const dir = await Deno.makeTempDir();
  const received: LogEvent[] = [];
  const sink: Sink = { log: (events) => void received.push(...structuredClone(events)) };
  const pipeline = await LogPipeline.start([{
    name: "audit",
    plugin: "audit",
    entry: sinkEntry({
      name: "audit",
      use: "audit",
      required: true,
      queue: { batch_size: 100, flush_interval_ms: 10 },
    }),
    sink,
  }], {
    dataDir: dir,
    log: () => {},
    redaction: redact
      ? {
        global: parseConfig({}).redaction,
        secrets: ["sk-config-secret-123456"],
        mask: maskEventJson,
      }
      : undefined,
  });
  const normal = Array.from({ length: 40 }, (_, i) => sampleEvent(i));
  for (const e of normal.slice(0, 20)) pipeline.emit(e, { ...DEFAULT_CONTROLS, noLog: true });
  pipeline.emit(poison, DEFAULT_CONTROLS);
  for (const e of normal.slice(20)) pipeline.emit(e, DEFAULT_CONTROLS);
  await until(() => received.length >= 41, 10_000, "41 events");
  const [snapshot] = pipeline.snapshot();
  await pipeline.close(1000);
  await Deno.remove(dir, { recursive: true });
  return { received, snapshot, normal };
}

for (const redact of [true, false]) {
  const how = redact ? "with redaction" : "without redaction";
  Deno.test(`a 100k-deep event is replaced by a minimal one and its batch is delivered (${how})`, async () => {
    const poison = {
      ...sampleEvent(99),
      // Deliberately outside the declared content type: no client gets such nesting past the body parser.
      messages: [{ role: "user", content: deepArray(100_000) }] as LogEvent["messages"],
    };
    const { received, snapshot, normal } = await deliver(poison, redact);
    assert.equal(received.length, 41);
    const ids = received.map((e) => e.request_id);
    assert.deepEqual(
      ids.filter((id) => id !== poison.request_id).sort(),
      normal.map((e) => e.request_id).sort(),
    );
    const stand_in = received.find((e) => e.request_id === poison.request_id)!;
    assert.equal(stand_in.error?.code, REPLACED_EVENT_CODE);
    assert.equal(stand_in.model, poison.model);
    assert.equal(stand_in.total_tokens, poison.total_tokens);
    assert.equal(stand_in.status, "success");
    assert.equal(stand_in.messages, undefined);
    assert.equal(snapshot.counters.replaced, 1);
    assert.equal(snapshot.counters.dropped, 0);
  });
}

Deno.test("an event holding a BigInt is replaced, not lost, and never breaks the batch", async () => {
  const poison = {
    ...sampleEvent(77),
    metadata: { tags: ["t"], request: { n: 10n } },
  } as unknown as LogEvent;
  const { received, snapshot } = await deliver(poison, false);
  assert.equal(received.length, 41);
  const stand_in = received.find((e) => e.request_id === poison.request_id)!;
  assert.equal(stand_in.error?.code, REPLACED_EVENT_CODE);
  assert.deepEqual(stand_in.metadata.tags, ["t"]);
  assert.equal(snapshot.counters.replaced, 1);
});
