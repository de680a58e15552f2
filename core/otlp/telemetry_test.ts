import assert from "node:assert/strict";
import { envelopeOf, isEnvelope, withTelemetry } from "./telemetry.ts";
import { truncateEvent } from "../event/truncate.ts";
import type { LogEvent, TelemetryBatch } from "../plugin.ts";
import { sampleEvent, sampleTelemetry } from "../testing.ts";

Deno.test("an envelope over log.max_event_bytes has its long attribute values cut, ids kept", () => {
  const batch = sampleTelemetry();
  if (batch.signal !== "traces") throw new Error("traces expected");
  const span = batch.request.resourceSpans![0].scopeSpans![0].spans![0];
  span.attributes!.push({
    key: "gen_ai.input.messages",
    value: { stringValue: "x".repeat(200_000) },
  });
  const envelope = envelopeOf(batch, span.traceId!);
  const line = JSON.stringify(envelope);
  const cut = truncateEvent(envelope, line, 65_536) as unknown as { telemetry: TelemetryBatch };
  assert.ok(JSON.stringify(cut).length <= 65_536);
  assert.ok(isEnvelope(cut));
  const text = JSON.stringify(cut.telemetry);
  assert.match(text, /…\[truncated \d+ chars\]/);
  assert.ok(text.includes(span.traceId!) && text.includes(span.spanId!), "ids are never cut");
});

Deno.test("withTelemetry: envelopes go to exportTelemetry merged by signal, events to log", async () => {
  const exported: TelemetryBatch[] = [];
  const logged: LogEvent[][] = [];
  const sink = withTelemetry({
    log: (events) => void logged.push([...events]),
    exportTelemetry: (batch) => void exported.push(batch),
  });
  const event = sampleEvent();
  await sink.log([
    envelopeOf(sampleTelemetry(), "5b8efff798038103d269b633813fc60c"),
    event,
    envelopeOf(sampleTelemetry(), "5b8efff798038103d269b633813fc60d"),
  ]);
  assert.equal(exported.length, 1, "one export per signal");
  assert.equal(exported[0].signal === "traces" && exported[0].request.resourceSpans!.length, 2);
  assert.deepEqual(logged, [[event]]);
  const plain = { log: () => {} };
  assert.equal(withTelemetry(plain), plain, "a sink without exportTelemetry is used as it is");
});
