/**
 * CPU per call of the otel sink: traces alone against traces, metrics and
 * logs (message content on the spans and the log records, the default; and
 * with `capture_messages: span_only`, content once), side by side. Two sinks (one per setting) export over OTLP/HTTP
 * (protobuf, or `--protocol http/json` / `grpc`) to a receiver in a child
 * process (its CPU is not counted); each round gives both sinks the same
 * fresh batches, in alternating order, and measures this process's CPU time
 * (user + system, `process.cpuUsage`) around each sink's `log` calls. A
 * round ends with a metrics flush (one export per round: far more often
 * than the default 60 s interval, so the figure is an upper bound).
 *
 * ```sh
 * deno run -A bench/otel_signals.ts [--rounds 20] [--calls 2000] [--batch 200] [--protocol http/protobuf] [--prompt-chars 0]
 * ```
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { createOtelSink, type OtelConfig, type OtelSink } from "../plugins/otel/mod.ts";
import { createTestContext, sampleEvents } from "../core/testing.ts";
import type { ChatMessage, LogEvent } from "../core/plugin.ts";
import { fmt, machine, median } from "./common.ts";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "20" },
    calls: { type: "string", default: "2000" },
    batch: { type: "string", default: "200" },
    protocol: { type: "string", default: "http/protobuf" },
    // A user message of this many characters in every call (0: the sample's short messages).
    "prompt-chars": { type: "string", default: "0" },
  },
});
const rounds = Number(values.rounds);
const calls = Number(values.calls);
const batchSize = Number(values.batch);
const protocol = values.protocol as OtelConfig["protocol"];
const promptChars = Number(values["prompt-chars"]);
/** Prose-like text of `promptChars` characters (words and spaces, as a long prompt has). */
const prompt = "Summarise the quarterly report and list the open risks. "
  .repeat(Math.ceil(promptChars / 56)).slice(0, promptChars);

/** A receiver in its own process: answers every OTLP export with an empty success. */
async function startReceiver(): Promise<{ url: string; stop(): Promise<void> }> {
  const grpc = protocol === "grpc";
  const code = grpc
    ? `
      import { Server, ServerCredentials } from "npm:@grpc/grpc-js@1.14.7";
      const server = new Server();
      const ok = (_call, done) => done(null, Buffer.alloc(0));
      const method = (path) => ({ path, requestStream: false, responseStream: false,
        requestSerialize: (b) => b, requestDeserialize: (b) => b,
        responseSerialize: (b) => b, responseDeserialize: (b) => b });
      const service = {};
      for (const [signal, svc] of [["traces","trace.v1.TraceService"],["metrics","metrics.v1.MetricsService"],["logs","logs.v1.LogsService"]]) {
        service[signal] = method("/opentelemetry.proto.collector." + svc + "/Export");
      }
      server.addService(service, { traces: ok, metrics: ok, logs: ok });
      server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (_e, port) => console.log(port));`
    : `
      const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: ({ port }) => console.log(port) },
        async (req) => { await req.arrayBuffer();
          return req.headers.get("content-type")?.includes("json") ? Response.json({})
            : new Response(new Uint8Array(0), { headers: { "content-type": "application/x-protobuf" } }); });`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=js", code],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/\d+\n/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the receiver exited");
    text += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  return {
    url: `http://127.0.0.1:${text.trim()}`,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

/** Fresh events (new request ids: the sink never sends a request id twice). */
function batches(): LogEvent[][] {
  const events = sampleEvents(calls).map((e, i) => ({
    ...e,
    request_id: crypto.randomUUID(),
    call_id: crypto.randomUUID(),
    prompt_tokens: 20 + (i % 50),
    ...(promptChars > 0
      ? { messages: [...(e.messages as ChatMessage[]), { role: "user", content: prompt }] }
      : {}),
    completion_tokens: 10 + (i % 30),
  }));
  const out: LogEvent[][] = [];
  for (let i = 0; i < events.length; i += batchSize) out.push(events.slice(i, i + batchSize));
  return out;
}

/** CPU microseconds (user + system) this process spent in `fn`. */
async function cpuOf(fn: () => Promise<void>): Promise<number> {
  const before = process.cpuUsage();
  await fn();
  const used = process.cpuUsage(before);
  return used.user + used.system;
}

const receiver = await startReceiver();
const sinkFor = (
  signals: OtelConfig["signals"],
  capture?: OtelConfig["capture_messages"],
): OtelSink =>
  createOtelSink(
    {
      endpoint: receiver.url,
      protocol,
      signals,
      capture_messages: capture,
      metric_export_interval_ms: 3_600_000, // exported by the flush at the end of each round
    },
    createTestContext(),
  );
const settings = {
  traces: sinkFor(["traces"]),
  all: sinkFor(["traces", "metrics", "logs"]),
  once: sinkFor(["traces", "metrics", "logs"], "span_only"),
};
type Setting = keyof typeof settings;
const perCall: Record<Setting, number[]> = { traces: [], all: [], once: [] };

async function run(name: Setting, work: LogEvent[][]): Promise<void> {
  const sink = settings[name];
  const us = await cpuOf(async () => {
    for (const batch of work) await sink.log(batch);
    await sink.flush?.();
  });
  perCall[name].push(us / calls);
}

// one warm-up round each, not counted
await run("traces", batches());
await run("all", batches());
await run("once", batches());
for (const list of Object.values(perCall)) list.length = 0;
const orders: Setting[][] = [["traces", "all", "once"], ["once", "traces", "all"], [
  "all",
  "once",
  "traces",
]];
for (let round = 0; round < rounds; round++) {
  for (const name of orders[round % orders.length]) await run(name, batches());
}
await Promise.all(Object.values(settings).map((s) => s.close?.()));
await receiver.stop();

const traces = median(perCall.traces);
const all = median(perCall.all);
const once = median(perCall.once);
console.log(await machine());
console.log(
  `otel sink CPU per call (${protocol}, ${rounds} rounds of ${calls} calls in batches of ${batchSize}${
    promptChars ? `, a ${promptChars}-character prompt each` : ""
  }, medians):`,
);
console.log(`  traces only:            ${fmt(traces, 1)} µs`);
console.log(`  traces + metrics + logs: ${fmt(all, 1)} µs`);
console.log(
  `  metrics and logs add:   ${fmt(all - traces, 1)} µs (${fmt((all / traces - 1) * 100, 1)} %)`,
);
console.log(
  `  with content on the spans only (capture_messages: span_only): ${fmt(once, 1)} µs, adding ${
    fmt(once - traces, 1)
  } µs (${fmt((once / traces - 1) * 100, 1)} %)`,
);
