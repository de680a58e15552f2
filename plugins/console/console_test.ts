import assert from "node:assert/strict";
import consolePlugin, { consoleConfigSchema, createConsoleSink, formatConsoleLine } from "./mod.ts";
import {
  createTestContext,
  sampleEvent,
  sampleFailureEvent,
  sampleGatewayErrorEvent,
} from "@sluice/core/testing";
import denoJson from "./deno.json" with { type: "json" };

/** A writer that keeps every chunk, writing at most `max` bytes per call. */
function capture(max = Infinity) {
  const chunks: Uint8Array[] = [];
  return {
    chunks,
    text: () => new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c]))),
    write(p: Uint8Array): Promise<number> {
      const n = Math.min(p.length, max);
      chunks.push(p.slice(0, n));
      return Promise.resolve(n);
    },
  };
}

const START = Date.UTC(2025, 5, 1, 12, 0, 0);

Deno.test("a success line: time, type, stream, model group, ok, tokens, ms, cost, call id", () => {
  const line = formatConsoleLine(sampleEvent({
    start_time: START,
    stream: true,
    model_group: "gpt-4o-mini",
    prompt_tokens: 23,
    completion_tokens: 45,
    response_time_ms: 412,
    response_cost: 0.0000304,
    call_id: "call-1",
  }));
  assert.equal(
    line,
    "2025-06-01T12:00:00.000Z chat stream gpt-4o-mini ok 23+45 tok 412.0 ms $0.000030 call=call-1",
  );
});

Deno.test("a failure line: error status and code, no cost when unknown", () => {
  const line = formatConsoleLine(sampleFailureEvent({
    start_time: START,
    call_type: "embedding",
    model_group: "text-embedding-3-small",
    prompt_tokens: 8,
    completion_tokens: 0,
    response_time_ms: 40.25,
    call_id: "call-2",
  }));
  assert.equal(
    line,
    "2025-06-01T12:00:00.000Z embedding text-embedding-3-small error 429 rate_limit_exceeded 8+0 tok 40.3 ms call=call-2",
  );
});

Deno.test("a gateway_error line: source and the message on one line", () => {
  const line = formatConsoleLine(sampleGatewayErrorEvent({
    start_time: START,
    source: "webhook",
    call_id: "gw-1",
    error: {
      status: 500,
      code: "sink_failed",
      class: "SinkError",
      message: "receiver answered 400\nbatch dropped",
    },
  }));
  assert.equal(
    line,
    '2025-06-01T12:00:00.000Z gateway_error source=webhook error 500 sink_failed "receiver answered 400\\nbatch dropped" call=gw-1',
  );
});

Deno.test("a batch is one write of one line per event, even when the writer is partial", async () => {
  const out = capture(7);
  const sink = createConsoleSink(out);
  const events = [
    sampleEvent({ start_time: START }),
    sampleFailureEvent({ start_time: START }),
    sampleGatewayErrorEvent({ start_time: START }),
  ];
  await sink.log(events);
  assert.equal(out.text(), events.map(formatConsoleLine).join("\n") + "\n");

  const whole = capture();
  const sink2 = createConsoleSink(whole);
  await Promise.all([sink2.log(events.slice(0, 2)), sink2.log(events.slice(2))]);
  await sink2.flush?.();
  assert.equal(whole.chunks.length, 2, "one write per batch");
  assert.equal(whole.text(), events.map(formatConsoleLine).join("\n") + "\n", "batches in order");
});

Deno.test("a failing writer rejects log, and later batches still write", async () => {
  let fail = true;
  const chunks: Uint8Array[] = [];
  const sink = createConsoleSink({
    write(p) {
      if (fail) return Promise.reject(new Error("EPIPE"));
      chunks.push(p);
      return Promise.resolve(p.length);
    },
  });
  await assert.rejects(Promise.resolve(sink.log([sampleEvent()])), /EPIPE/);
  fail = false;
  await sink.log([sampleEvent()]);
  assert.equal(chunks.length, 1);
});

Deno.test("the plugin definition: contract v1, version from deno.json, schema, config checked", async () => {
  assert.equal(consolePlugin.apiVersion, 1);
  assert.equal(consolePlugin.name, "console");
  assert.equal(consolePlugin.version, denoJson.version);
  assert.equal(consolePlugin.configSchema, consoleConfigSchema);
  assert.equal(consolePlugin.permissions, undefined);
  assert.doesNotThrow(() => structuredClone(consoleConfigSchema));
  const ctx = createTestContext();
  const sink = await consolePlugin.create({ stream: "stderr" }, ctx);
  assert.equal(typeof sink.log, "function");
  await sink.log([]);
  assert.throws(
    () => consolePlugin.create({ stream: "stdin" as "stdout" }, ctx),
    /stream must be "stdout" or "stderr"/,
  );
});
