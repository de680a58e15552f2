/**
 * Decoding a 1,000-span export (GenAI-like attributes, two events each) from
 * protobuf and from JSON: `deno bench core/otlp/proto_bench.ts`.
 */
import {
  JsonTraceSerializer,
  ProtobufTraceSerializer,
} from "npm:@opentelemetry/otlp-transformer@0.223.1";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "npm:@opentelemetry/sdk-trace-base@2.12.1";
import { decodeTraces, encodeTraces, parseTracesJson } from "./proto.ts";

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer("bench");
for (let i = 0; i < 1000; i++) {
  const span = tracer.startSpan("chat gpt-4o", {
    attributes: {
      "gen_ai.operation.name": "chat",
      "gen_ai.request.model": "gpt-4o",
      "gen_ai.usage.input_tokens": 1200 + i,
      "gen_ai.usage.output_tokens": 300,
      "gen_ai.input.messages": JSON.stringify([{ role: "user", content: "x".repeat(400) }]),
      "gen_ai.output.messages": JSON.stringify([{ role: "assistant", content: "y".repeat(200) }]),
    },
  });
  span.addEvent("a", { k: "v" });
  span.addEvent("b", { n: 1 });
  span.end();
}
const spans = exporter.getFinishedSpans();
const protobuf = ProtobufTraceSerializer.serializeRequest(spans)!;
const json = JsonTraceSerializer.serializeRequest(spans)!;
const decoded = decodeTraces(protobuf);
if (!decoded.ok) throw new Error(decoded.error);

Deno.bench(`decodeTraces: 1,000 spans, ${protobuf.length} bytes of protobuf`, () => {
  if (!decodeTraces(protobuf).ok) throw new Error("decode failed");
});
Deno.bench(`parseTracesJson: 1,000 spans, ${json.length} bytes of JSON`, () => {
  if (!parseTracesJson(json).ok) throw new Error("parse failed");
});
Deno.bench("encodeTraces: 1,000 spans", () => {
  encodeTraces(decoded.value);
});
