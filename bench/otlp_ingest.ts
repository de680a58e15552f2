/**
 * `deno run -A bench/otlp_ingest.ts [seconds]`: OTLP ingest throughput of a
 * real gateway (log Worker on, redaction on: the default policy masks every
 * detector and strips base64), and what it does to a proxied call.
 *
 * The exports are made by the official SDK's protobuf serializer: batches of
 * 512 spans, a quarter of them GenAI spans (usage, model, messages with an
 * email address), the rest tool and HTTP spans with a few attributes. Four
 * clients post them back to back to `/v1/traces`; the sinks are the otel
 * sink (forwarding to a loopback collector that answers at once) and JSONL.
 * Meanwhile, and in alternating windows without ingest, one connection
 * makes chat calls to the mock model: its p50 with and without ingest is
 * the request path's cost.
 * @module
 */
import { SpanKind } from "npm:@opentelemetry/api@1.9.1";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "npm:@opentelemetry/sdk-trace-base@2.12.1";
import { ProtobufTraceSerializer } from "npm:@opentelemetry/otlp-transformer@0.223.1";
import { resourceFromAttributes } from "npm:@opentelemetry/resources@2.12.1";
import { startGateway } from "../tests/fakes/gateway.ts";
import { CHAT_BODY, fmt, machine, median } from "./common.ts";

const SECONDS = Number(Deno.args[0] ?? 20);
const SPANS_PER_EXPORT = 512;
const CLIENTS = 4;
const KEY = "sk-bench-otlp-0001";

function exportBody(): Uint8Array {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": "bench-app" }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer("bench");
  for (let i = 0; i < SPANS_PER_EXPORT; i++) {
    const genAi = i % 4 === 0;
    tracer.startSpan(genAi ? "chat gpt-4o-mini" : `execute_tool step-${i}`, {
      kind: genAi ? SpanKind.CLIENT : SpanKind.INTERNAL,
      attributes: genAi
        ? {
          "gen_ai.operation.name": "chat",
          "gen_ai.provider.name": "openai",
          "gen_ai.request.model": "gpt-4o-mini",
          "gen_ai.usage.input_tokens": 812,
          "gen_ai.usage.output_tokens": 96,
          "gen_ai.input.messages": JSON.stringify([{
            role: "user",
            parts: [{ type: "text", content: `Order ${i} for jane.doe${i}@example.com please.` }],
          }]),
          "gen_ai.output.messages": JSON.stringify([{
            role: "assistant",
            parts: [{ type: "text", content: "Your order is on its way." }],
          }]),
        }
        : {
          "gen_ai.tool.name": "lookup",
          "http.request.method": "GET",
          "url.full": `https://api.example.com/orders/${i}`,
        },
    }).end();
  }
  return ProtobufTraceSerializer.serializeRequest(exporter.getFinishedSpans())!;
}

const body = exportBody();
// A collector that takes everything and answers at once (an empty protobuf answer: full success).
const collector = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
  await req.arrayBuffer();
  return new Response(new Uint8Array(0), { headers: { "content-type": "application/x-protobuf" } });
});
const collectorUrl = `http://127.0.0.1:${collector.addr.port}`;
const dir = await Deno.makeTempDir({ prefix: "sluice-otlp-bench-" });
const gw = await startGateway({
  keys: [{ key: KEY, alias: "bench" }],
  models: [{ name: "mock-gpt", provider: "mock" }],
  sinks: [
    { name: "collector", use: "otel", config: { endpoint: collectorUrl, signals: ["traces"] } },
    { name: "events", use: "jsonl", config: { dir } },
  ],
});
const headers = { authorization: `Bearer ${KEY}` };

let spans = 0;
let refused = 0;
async function ingestLoop(until: number): Promise<void> {
  while (Date.now() < until) {
    const res = await fetch(`${gw.url}/v1/traces`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/x-protobuf" },
      body: body as Uint8Array<ArrayBuffer>,
    });
    await res.body?.cancel();
    if (res.status === 200) spans += SPANS_PER_EXPORT;
    else refused++;
  }
}

async function chatLatencies(until: number): Promise<number[]> {
  const out: number[] = [];
  while (Date.now() < until) {
    const t = performance.now();
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: CHAT_BODY.replace("bench-model", "mock-gpt"),
    });
    await res.arrayBuffer();
    out.push(performance.now() - t);
  }
  return out;
}

// Warm up both paths.
await Promise.all([ingestLoop(Date.now() + 2000), chatLatencies(Date.now() + 2000)]);
spans = 0;
refused = 0;

const quiet: number[] = [];
const loaded: number[] = [];
let ingestMs = 0;
const windows = Math.max(2, Math.round(SECONDS / 2));
for (let w = 0; w < windows; w++) {
  const until = Date.now() + 1000;
  if (w % 2 === 0) quiet.push(...await chatLatencies(until));
  else {
    const start = performance.now();
    const [latencies] = await Promise.all([
      chatLatencies(until),
      ...Array.from({ length: CLIENTS }, () => ingestLoop(until)),
    ]);
    ingestMs += performance.now() - start;
    loaded.push(...latencies);
  }
}

console.log(`# OTLP ingest (${await machine()})`);
console.log(
  `ingest: ${fmt(spans / (ingestMs / 1000), 0)} spans/s accepted ` +
    `(${CLIENTS} clients, ${SPANS_PER_EXPORT}-span protobuf exports of ${body.byteLength} bytes, ` +
    `${refused} exports answered 429/503)`,
);
console.log(
  `chat p50 at 1 connection: ${fmt(median(quiet), 3)} ms without ingest, ` +
    `${fmt(median(loaded), 3)} ms during ingest (${quiet.length} / ${loaded.length} calls)`,
);
await gw.close();
await collector.shutdown();
await Deno.remove(dir, { recursive: true });
