/**
 * Reading OTLP/HTTP bodies: media types, size limits, gzip (and zip bombs),
 * timeouts, undecodable bodies; and the official serializers' bodies, gzipped,
 * sent to a loopback server that reads with {@link readTracesBody}.
 */
import assert from "node:assert/strict";
import {
  JsonLogsSerializer,
  JsonTraceSerializer,
  ProtobufTraceSerializer,
} from "npm:@opentelemetry/otlp-transformer@0.223.1";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "npm:@opentelemetry/sdk-trace-base@2.12.1";
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  SimpleLogRecordProcessor,
} from "npm:@opentelemetry/sdk-logs@0.223.1";
import {
  type OtlpBodyFailure,
  type OtlpBodyResult,
  otlpEncoding,
  readLogsBody,
  readTracesBody,
} from "./body.ts";
import { countSpans, decodeTraces, encodeTracesResponse } from "./proto.ts";
import type { ExportTraceServiceRequest } from "./types.ts";

const LIMITS = { maxBodyBytes: 64 * 1024, maxDecompressedBytes: 256 * 1024 };

function spans(n: number) {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer("body.test");
  for (let i = 0; i < n; i++) tracer.startSpan(`span ${i}`, { attributes: { i } }).end();
  return exporter.getFinishedSpans();
}

function post(
  body: Uint8Array | string | ReadableStream<Uint8Array<ArrayBuffer>>,
  headers: Record<string, string>,
): Request {
  const init = body instanceof Uint8Array ? body.slice() : body;
  return new Request("http://127.0.0.1/v1/traces", { method: "POST", body: init, headers });
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function failed<T>(result: OtlpBodyResult<T>): OtlpBodyFailure {
  if (result.ok) assert.fail("expected a failure");
  return result;
}

Deno.test("otlpEncoding: the two OTLP media types, with parameters, any case", () => {
  assert.equal(otlpEncoding("application/x-protobuf"), "protobuf");
  assert.equal(otlpEncoding("Application/X-Protobuf; charset=binary"), "protobuf");
  assert.equal(otlpEncoding("application/protobuf"), "protobuf");
  assert.equal(otlpEncoding("application/json; charset=utf-8"), "json");
  assert.equal(otlpEncoding("application/jsonx"), undefined);
  assert.equal(otlpEncoding("text/plain"), undefined);
  assert.equal(otlpEncoding(null), undefined);
});

Deno.test("protobuf, JSON and gzipped bodies read to the same request", async () => {
  const batch = spans(3);
  const bytes = ProtobufTraceSerializer.serializeRequest(batch)!;
  const plain = await readTracesBody(
    post(bytes, { "content-type": "application/x-protobuf" }),
    LIMITS,
  );
  assert.ok(plain.ok);
  assert.equal(plain.encoding, "protobuf");
  assert.equal(plain.wireBytes, bytes.length);
  assert.equal(countSpans(plain.value), 3);

  const zipped = await gzip(bytes);
  const unzipped = await readTracesBody(
    post(zipped, { "content-type": "application/x-protobuf", "content-encoding": "gzip" }),
    LIMITS,
  );
  assert.ok(unzipped.ok);
  assert.deepStrictEqual(unzipped.value, plain.value);
  assert.equal(unzipped.wireBytes, zipped.length);
  assert.equal(unzipped.bodyBytes, bytes.length);

  const records = (() => {
    const exporter = new InMemoryLogRecordExporter();
    const provider = new LoggerProvider({
      processors: [new SimpleLogRecordProcessor({ exporter })],
    });
    provider.getLogger("l").emit({ eventName: "e", body: "b" });
    return exporter.getFinishedLogRecords();
  })();
  const logs = await readLogsBody(
    post(JsonLogsSerializer.serializeRequest(records)!, {
      "content-type": "application/json; charset=utf-8",
    }),
    LIMITS,
  );
  assert.ok(logs.ok);
  assert.equal(logs.encoding, "json");
  assert.equal(logs.value.resourceLogs![0].scopeLogs![0].logRecords![0].eventName, "e");
});

Deno.test("unsupported media types and encodings are 415", async () => {
  for (const headers of [{ "content-type": "text/plain" }, {} as Record<string, string>]) {
    const result = failed(await readTracesBody(post("{}", headers), LIMITS));
    assert.equal(result.status, 415);
    assert.match(result.message, /application\/x-protobuf or application\/json/);
    assert.equal(result.encoding, "json");
  }
  const br = failed(
    await readTracesBody(
      post("{}", { "content-type": "application/json", "content-encoding": "br" }),
      LIMITS,
    ),
  );
  assert.equal(br.status, 415);
  assert.match(br.message, /content-encoding "br"/);
});

Deno.test("bodies over the limit are 413, with or without a content-length", async () => {
  const big = new Uint8Array(LIMITS.maxBodyBytes + 1);
  const sized = failed(
    await readTracesBody(post(big, { "content-type": "application/x-protobuf" }), LIMITS),
  );
  assert.equal(sized.status, 413);
  assert.equal(sized.encoding, "protobuf");
  // A stream with no content-length, cut off once past the limit.
  let pulled = 0;
  const endless = new ReadableStream<Uint8Array<ArrayBuffer>>({
    pull(controller) {
      pulled++;
      controller.enqueue(new Uint8Array(16 * 1024));
    },
  });
  const streamed = failed(
    await readTracesBody(post(endless, { "content-type": "application/x-protobuf" }), LIMITS),
  );
  assert.equal(streamed.status, 413);
  assert.ok(pulled <= 8, `read ${pulled} chunks`);
});

Deno.test("a gzip bomb stops at the decompressed limit (413)", async () => {
  // 64 MiB of zeros gzip to about 64 KiB; the limit out is 256 KiB.
  const zeros = new ReadableStream<Uint8Array<ArrayBuffer>>({
    start(controller) {
      const chunk = new Uint8Array(1024 * 1024);
      for (let i = 0; i < 64; i++) controller.enqueue(chunk);
      controller.close();
    },
  });
  const bomb = new Uint8Array(
    await new Response(zeros.pipeThrough(new CompressionStream("gzip"))).arrayBuffer(),
  );
  assert.ok(bomb.length < LIMITS.maxBodyBytes * 2, `bomb is ${bomb.length} bytes`);
  const limits = { ...LIMITS, maxBodyBytes: 1024 * 1024 };
  const result = failed(
    await readTracesBody(
      post(bomb, { "content-type": "application/x-protobuf", "content-encoding": "gzip" }),
      limits,
    ),
  );
  assert.equal(result.status, 413);
  assert.match(result.message, /decompresses to more than 262144 bytes/);
});

Deno.test("undecodable bodies are 400 with the decoder's reason", async () => {
  const notGzip = failed(
    await readTracesBody(
      post("plain", { "content-type": "application/json", "content-encoding": "gzip" }),
      LIMITS,
    ),
  );
  assert.equal(notGzip.status, 400);
  assert.match(notGzip.message, /not valid gzip/);
  const truncatedGzip = (await gzip(new TextEncoder().encode('{"resourceSpans":[]}'))).slice(0, 12);
  assert.equal(
    failed(
      await readTracesBody(
        post(truncatedGzip, { "content-type": "application/json", "content-encoding": "gzip" }),
        LIMITS,
      ),
    ).status,
    400,
  );
  const proto = failed(
    await readTracesBody(
      post(new Uint8Array([0x08, 0x01]), { "content-type": "application/x-protobuf" }),
      LIMITS,
    ),
  );
  assert.equal(proto.status, 400);
  assert.match(proto.message, /wire type 0, expected 2/);
  const json = failed(
    await readTracesBody(
      post('{"resourceSpans": {}}', { "content-type": "application/json" }),
      LIMITS,
    ),
  );
  assert.equal(json.status, 400);
  assert.match(json.message, /resourceSpans must be an array/);
});

Deno.test("a body that stops arriving is 408 after bodyTimeoutMs", async () => {
  const stalled = new ReadableStream<Uint8Array<ArrayBuffer>>({
    start(controller) {
      controller.enqueue(new Uint8Array([0x0a]));
    },
  });
  const started = performance.now();
  // The shared deadline timer is unref'd (in the server the connection keeps the process
  // alive); here this interval does.
  const alive = setInterval(() => {}, 1000);
  const result = failed(
    await readTracesBody(post(stalled, { "content-type": "application/x-protobuf" }), {
      ...LIMITS,
      bodyTimeoutMs: 100,
    }).finally(() => clearInterval(alive)),
  );
  assert.equal(result.status, 408);
  assert.ok(performance.now() - started >= 100);
});

Deno.test("a loopback server reads gzipped protobuf and JSON exports and answers in kind", async () => {
  const received: ExportTraceServiceRequest[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const result = await readTracesBody(req, LIMITS);
    if (!result.ok) return new Response(result.message, { status: result.status });
    received.push(result.value);
    const type = result.encoding === "json" ? "application/json" : "application/x-protobuf";
    return new Response(encodeTracesResponse(undefined, result.encoding), {
      headers: { "content-type": type },
    });
  });
  try {
    const batch = spans(50);
    const url = `http://127.0.0.1:${server.addr.port}/v1/traces`;
    for (
      const [type, body] of [
        ["application/x-protobuf", ProtobufTraceSerializer.serializeRequest(batch)!],
        ["application/json", JsonTraceSerializer.serializeRequest(batch)!],
      ] as const
    ) {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": type, "content-encoding": "gzip" },
        body: (await gzip(body)).slice(),
      });
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal(res.headers.get("content-type"), type);
      const answer = new Uint8Array(await res.arrayBuffer());
      const serializer = type === "application/json"
        ? JsonTraceSerializer
        : ProtobufTraceSerializer;
      assert.deepStrictEqual(serializer.deserializeResponse(answer), {});
    }
    assert.equal(received.length, 2);
    assert.equal(countSpans(received[0]), 50);
    assert.deepStrictEqual(received[1], received[0]);
    const direct = decodeTraces(ProtobufTraceSerializer.serializeRequest(batch)!);
    assert.ok(direct.ok);
    assert.deepStrictEqual(received[0], direct.value);
    const tooBig = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/x-protobuf" },
      body: new Uint8Array(LIMITS.maxBodyBytes + 1),
    });
    assert.equal(tooBig.status, 413);
    await tooBig.body?.cancel();
  } finally {
    await server.shutdown();
  }
});
