/**
 * OTLP/gRPC ingest (`server.otlp_grpc_port`) with the official OTel JS gRPC
 * exporters (gzip on, as the SigNoz guide sets them): spans and log records
 * reach the otel sink's collector redacted and priced, a GenAI span becomes
 * a JSONL event; a missing key is UNAUTHENTICATED and an undecodable message
 * INVALID_ARGUMENT, both counted; closing the gateway stops the listener.
 */
import assert from "node:assert/strict";
import { Metadata } from "npm:@grpc/grpc-js@1.14.7";
import * as grpc from "npm:@grpc/grpc-js@1.14.7";
import { SpanKind } from "npm:@opentelemetry/api@1.9.1";
import { ExportResultCode } from "npm:@opentelemetry/core@2.12.1";
import { resourceFromAttributes } from "npm:@opentelemetry/resources@2.12.1";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "npm:@opentelemetry/sdk-trace-base@2.12.1";
import { OTLPTraceExporter } from "npm:@opentelemetry/exporter-trace-otlp-grpc@0.223.1";
import { OTLPLogExporter } from "npm:@opentelemetry/exporter-logs-otlp-grpc@0.223.1";
import { LoggerProvider, SimpleLogRecordProcessor } from "npm:@opentelemetry/sdk-logs@0.223.1";
import { readJsonlEvents, startGateway } from "./fakes/gateway.ts";
import { until as waitFor } from "../core/testing.ts";
import {
  attributesOf,
  logRecordsOf,
  spansOf,
  startHttpSignalsReceiver,
  until,
} from "../plugins/otel/testdata/signals_receiver.ts";

const KEY = "sk-otlp-grpc-app-0001";
const METRICS_KEY = "sk-otlp-grpc-metrics-0001";
const EMAIL = "grace.hopper@example.com";

Deno.test("OTLP/gRPC: the official gRPC exporters (gzip) reach the collector redacted; bad calls get gRPC statuses", async () => {
  const receiver = startHttpSignalsReceiver();
  const dir = await Deno.makeTempDir();
  const gw = await startGateway({
    server: { otlp_grpc_port: 0, metrics_key: METRICS_KEY },
    keys: [{ key: KEY, alias: "grpc-app" }],
    sinks: [
      {
        name: "collector",
        use: "otel",
        config: { endpoint: receiver.url, protocol: "http/protobuf", signals: ["traces", "logs"] },
        queue: { flush_interval_ms: 10 },
      },
      { name: "events", use: "jsonl", config: { dir }, queue: { flush_interval_ms: 10 } },
    ],
  });
  const port = gw.gateway.otlpGrpcPort!;
  assert.ok(port > 0);
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${KEY}`);
  const exporter = new OTLPTraceExporter({
    url: `http://127.0.0.1:${port}`,
    metadata,
    compression: "gzip" as never,
  });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": "grpc-app" }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const logs = new LoggerProvider({
    resource: resourceFromAttributes({ "service.name": "grpc-app" }),
    processors: [
      new SimpleLogRecordProcessor({
        exporter: new OTLPLogExporter({ url: `http://127.0.0.1:${port}`, metadata }),
      }),
    ],
  });
  try {
    const span = provider.getTracer("app").startSpan("chat gpt-4o-mini", {
      kind: SpanKind.CLIENT,
      attributes: {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.usage.input_tokens": 1000,
        "gen_ai.usage.output_tokens": 200,
        "gen_ai.input.messages": JSON.stringify([{
          role: "user",
          parts: [{ type: "text", content: `write to ${EMAIL}` }],
        }]),
      },
    });
    span.end();
    logs.getLogger("app").emit({ body: `mailed ${EMAIL}`, severityText: "INFO" });
    await provider.forceFlush();
    await logs.forceFlush();
    await until(
      () =>
        spansOf(receiver.accepted).some((s) => s.name === "chat gpt-4o-mini") &&
        logRecordsOf(receiver.accepted).some((r) => /mailed/.test(r.body?.stringValue ?? "")),
      10_000,
    );
    const received = spansOf(receiver.accepted).find((s) => s.name === "chat gpt-4o-mini")!;
    const attrs = attributesOf(received.attributes);
    assert.match(String(attrs["gen_ai.input.messages"]), /\[EMAIL\]/);
    assert.ok(Math.abs(Number(attrs["sluice.cost.usd"]) - 0.00027) < 1e-12);
    assert.ok(!JSON.stringify(receiver.all.map((r) => r.request)).includes(EMAIL));
    let events: Record<string, unknown>[] = [];
    await waitFor(
      async () => {
        events = (await readJsonlEvents(dir).catch(() => [])).filter((e) => e.source === "otlp");
        return events.length === 1;
      },
      10_000,
      "the GenAI event in JSONL",
    );
    assert.equal(events[0].model, "gpt-4o-mini");
    assert.equal(
      (events[0].metadata as { user_api_key_alias: string }).user_api_key_alias,
      "grpc-app",
    );

    // No key: UNAUTHENTICATED, as the exporter reports it.
    const anonymous = new OTLPTraceExporter({ url: `http://127.0.0.1:${port}` });
    const spans = new InMemorySpanExporter();
    const p2 = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
    p2.getTracer("x").startSpan("x").end();
    const result = await new Promise<{ code: number; error?: Error }>((resolve) =>
      anonymous.export(spans.getFinishedSpans(), resolve)
    );
    assert.equal(result.code, ExportResultCode.FAILED);
    await anonymous.shutdown();

    // A message that is not an export: INVALID_ARGUMENT.
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const bad = await new Promise<grpc.ServiceError | null>((resolve) =>
      client.makeUnaryRequest(
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        (b: Uint8Array) => Buffer.from(b),
        (b: Buffer) => b,
        new Uint8Array([0x0a, 0xff, 0xff, 0xff]),
        metadata,
        (error) => resolve(error),
      )
    );
    client.close();
    assert.equal(bad?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(bad?.details ?? "", /not a valid/);

    const text = await (await fetch(`${gw.url}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_KEY}` },
    })).text();
    assert.match(
      text,
      /sluice_otlp_exports_refused_total\{signal="traces",reason="unauthenticated"\} \d/,
    );
    assert.match(text, /sluice_otlp_exports_refused_total\{signal="traces",reason="bad_body"\} 1/);
  } finally {
    await provider.shutdown();
    await logs.shutdown();
    await gw.close();
    await receiver.close();
    await Deno.remove(dir, { recursive: true });
  }
  // The listener is gone with the gateway.
  const refused = await Deno.connect({ hostname: "127.0.0.1", port }).then((c) => {
    c.close();
    return false;
  }, () => true);
  assert.ok(refused, "the gRPC port is closed");
});
