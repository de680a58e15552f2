/**
 * Loopback OTLP receivers for all three signals, for tests: a gRPC one
 * (`@grpc/grpc-js` serving the OTLP collector services), an OTLP/HTTP one
 * (`/v1/traces`, `/v1/metrics`, `/v1/logs`; JSON or protobuf; gzip
 * accepted), and a raw HTTP/2 one that shows the gRPC wire (encoding
 * header, compressed flag). Requests are decoded with the official
 * opentelemetry-proto definitions `@opentelemetry/otlp-transformer` 0.200.0
 * shipped (the last generated root with all three collector services; see `otlp_receiver.ts`), ids as hex. Not part of the package.
 * @module
 */
import { Buffer } from "node:buffer";
import http2 from "node:http2";
import { gunzipSync } from "node:zlib";
import {
  type Metadata,
  Server,
  ServerCredentials,
  type ServiceError,
  status as grpcStatus,
} from "npm:@grpc/grpc-js@1.14.7";
import * as generatedRoot from "npm:@opentelemetry/otlp-transformer@0.200.0/build/src/generated/root.js";

/** An OTLP signal. */
export type Signal = "traces" | "metrics" | "logs";

// deno-lint-ignore no-explicit-any
type Json = any;

// deno-lint-ignore no-explicit-any
const root: any = (generatedRoot as any).default ?? generatedRoot;
const collector = root.opentelemetry.proto.collector;
const REQUEST_TYPES: Record<Signal, Json> = {
  traces: collector.trace.v1.ExportTraceServiceRequest,
  metrics: collector.metrics.v1.ExportMetricsServiceRequest,
  logs: collector.logs.v1.ExportLogsServiceRequest,
};
const RESPONSE_TYPES: Record<Signal, Json> = {
  traces: collector.trace.v1.ExportTraceServiceResponse,
  metrics: collector.metrics.v1.ExportMetricsServiceResponse,
  logs: collector.logs.v1.ExportLogsServiceResponse,
};
const SERVICES: Record<Signal, string> = {
  traces: "opentelemetry.proto.collector.trace.v1.TraceService",
  metrics: "opentelemetry.proto.collector.metrics.v1.MetricsService",
  logs: "opentelemetry.proto.collector.logs.v1.LogsService",
};

const ID_FIELDS = new Set(["traceId", "spanId", "parentSpanId"]);
const hex = (base64: string) =>
  Array.from(atob(base64), (c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("");

/** Ids (base64 from protobufjs) as hex, everywhere in a decoded request. */
function idsAsHex(value: Json): Json {
  if (Array.isArray(value)) return value.map(idsAsHex);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k,
      ID_FIELDS.has(k) && typeof v === "string" ? hex(v) : idsAsHex(v),
    ]),
  );
}

/** Decodes a protobuf export request of `signal` (64-bit ints as strings, ids as hex). */
export function decodeSignal(signal: Signal, bytes: Uint8Array): Json {
  const type = REQUEST_TYPES[signal];
  const message = type.decode(bytes);
  const problem = type.verify(message);
  if (problem) throw new Error(`invalid ${signal} request: ${problem}`);
  return idsAsHex(type.toObject(message, { longs: String, bytes: String, enums: Number }));
}

/** One export request as received. */
export interface ReceivedSignal {
  /** Which signal. */
  signal: Signal;
  /** Request headers or gRPC metadata (lowercase names). */
  headers: Record<string, string>;
  /** The body was gzip-compressed (HTTP `content-encoding`, gRPC wire receiver). */
  gzip: boolean;
  /** The decoded request (OTLP/JSON-like: ids hex, 64-bit ints as strings). */
  request: Json;
}

/** A gRPC status to answer with, or undefined for OK. */
export type GrpcAnswer = (req: ReceivedSignal) => { code: number; details?: string } | undefined;

/** A running receiver. */
export interface SignalsReceiver {
  /** The address to export to (`http://127.0.0.1:<port>`). */
  url: string;
  /** Port it listens on. */
  port: number;
  /** Requests answered OK. */
  accepted: ReceivedSignal[];
  /** Every request. */
  all: ReceivedSignal[];
  /** Replaces the answer. */
  answer(next: GrpcAnswer): void;
  /** Stops it. */
  close(): Promise<void>;
}

const metadataOf = (metadata: Metadata): Record<string, string> =>
  Object.fromEntries(Object.entries(metadata.getMap()).map(([k, v]) => [k, String(v)]));

/** Starts an OTLP/gRPC receiver (grpc-js) on 127.0.0.1 with a random port (or `port`). */
export async function startGrpcReceiver(
  options: { answer?: GrpcAnswer; port?: number } = {},
): Promise<SignalsReceiver> {
  let answer: GrpcAnswer = options.answer ?? (() => undefined);
  const accepted: ReceivedSignal[] = [];
  const all: ReceivedSignal[] = [];
  const server = new Server();
  for (const signal of Object.keys(SERVICES) as Signal[]) {
    const path = `/${SERVICES[signal]}/Export`;
    server.addService({
      Export: {
        path,
        requestStream: false,
        responseStream: false,
        requestSerialize: (b: Uint8Array) => Buffer.from(b),
        requestDeserialize: (b: Buffer) => new Uint8Array(b),
        responseSerialize: (b: Uint8Array) => Buffer.from(b),
        responseDeserialize: (b: Buffer) => new Uint8Array(b),
      },
    }, {
      Export: (
        call: { request: Uint8Array; metadata: Metadata },
        done: (error: Partial<ServiceError> | null, body?: Uint8Array) => void,
      ) => {
        let request: Json;
        try {
          request = decodeSignal(signal, call.request);
        } catch (error) {
          done({ code: grpcStatus.INVALID_ARGUMENT, details: String(error) });
          return;
        }
        const received = { signal, headers: metadataOf(call.metadata), gzip: false, request };
        all.push(received);
        const status = answer(received);
        if (status) {
          done({ code: status.code, details: status.details ?? "" });
          return;
        }
        accepted.push(received);
        done(null, RESPONSE_TYPES[signal].encode({}).finish());
      },
    });
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      `127.0.0.1:${options.port ?? 0}`,
      ServerCredentials.createInsecure(),
      (error, bound) => error ? reject(error) : resolve(bound),
    )
  );
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    accepted,
    all,
    answer: (next) => {
      answer = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.forceShutdown();
        resolve();
      }),
  };
}

/** An HTTP answer for a request, or undefined for 200. */
export type HttpAnswer = (req: ReceivedSignal) => Response | undefined;

/** Starts an OTLP/HTTP receiver for all three signals on 127.0.0.1. */
export function startHttpSignalsReceiver(
  options: { answer?: HttpAnswer } = {},
): SignalsReceiver & { answerHttp(next: HttpAnswer): void } {
  let answer: HttpAnswer = options.answer ?? (() => undefined);
  const accepted: ReceivedSignal[] = [];
  const all: ReceivedSignal[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const signal = /^\/v1\/(traces|metrics|logs)$/.exec(new URL(req.url).pathname)?.[1] as
      | Signal
      | undefined;
    if (!signal) return new Response("not found", { status: 404 });
    let body = new Uint8Array(await req.arrayBuffer());
    const gzip = req.headers.get("content-encoding") === "gzip";
    if (gzip) body = new Uint8Array(gunzipSync(body));
    const type = req.headers.get("content-type") ?? "";
    const request = type.includes("json")
      ? JSON.parse(new TextDecoder().decode(body))
      : decodeSignal(signal, body);
    const received = {
      signal,
      headers: Object.fromEntries(req.headers),
      gzip,
      request,
    };
    all.push(received);
    const answered = answer(received);
    if (answered) return answered;
    accepted.push(received);
    return type.includes("json")
      ? Response.json({})
      : new Response(RESPONSE_TYPES[signal].encode({}).finish(), {
        headers: { "content-type": "application/x-protobuf" },
      });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    port: server.addr.port,
    accepted,
    all,
    answer: () => {
      throw new Error("use answerHttp");
    },
    answerHttp: (next) => {
      answer = next;
    },
    close: () => server.shutdown(),
  };
}

/**
 * Starts a raw HTTP/2 server that speaks just enough gRPC to answer OK,
 * recording what came over the wire: the `grpc-encoding` header, the
 * message's compressed flag, and the request decoded after gunzip.
 */
export async function startGrpcWireReceiver(): Promise<
  SignalsReceiver & { wire: { path: string; encoding?: string; compressedFlag: number }[] }
> {
  const accepted: ReceivedSignal[] = [];
  const wire: { path: string; encoding?: string; compressedFlag: number }[] = [];
  const server = http2.createServer();
  server.on("stream", (stream: http2.ServerHttp2Stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => {
      const frame = Buffer.concat(chunks);
      const path = String(headers[":path"]);
      const encoding = headers["grpc-encoding"] as string | undefined;
      const compressedFlag = frame[0];
      wire.push({ path, encoding, compressedFlag });
      const signal = (Object.keys(SERVICES) as Signal[]).find((s) => path.includes(SERVICES[s]))!;
      const payload = frame.subarray(5, 5 + frame.readUInt32BE(1));
      const bytes = compressedFlag === 1 ? gunzipSync(payload) : payload;
      const metadata: Record<string, string> = {};
      for (const [k, v] of Object.entries(headers)) if (!k.startsWith(":")) metadata[k] = String(v);
      accepted.push({
        signal,
        headers: metadata,
        gzip: compressedFlag === 1,
        request: decodeSignal(signal, new Uint8Array(bytes)),
      });
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, {
        waitForTrailers: true,
      });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(Buffer.alloc(5));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    accepted,
    all: accepted,
    wire,
    answer: () => {
      throw new Error("the wire receiver always answers OK");
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Every span of received trace requests. */
export const spansOf = (received: ReceivedSignal[]): Json[] =>
  received.filter((r) => r.signal === "traces").flatMap((r) =>
    (r.request.resourceSpans ?? []).flatMap((rs: Json) =>
      (rs.scopeSpans ?? []).flatMap((ss: Json) => ss.spans ?? [])
    )
  );

/** Every log record of received log requests. */
export const logRecordsOf = (received: ReceivedSignal[]): Json[] =>
  received.filter((r) => r.signal === "logs").flatMap((r) =>
    (r.request.resourceLogs ?? []).flatMap((rl: Json) =>
      (rl.scopeLogs ?? []).flatMap((sl: Json) => sl.logRecords ?? [])
    )
  );

/** Every metric of received metric requests, in arrival order. */
export const metricsOf = (received: ReceivedSignal[]): Json[] =>
  received.filter((r) => r.signal === "metrics").flatMap((r) =>
    (r.request.resourceMetrics ?? []).flatMap((rm: Json) =>
      (rm.scopeMetrics ?? []).flatMap((sm: Json) => sm.metrics ?? [])
    )
  );

/** An attribute list as an object of plain values. */
export function attributesOf(list: Json[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of list ?? []) {
    out[key] = value?.stringValue ?? value?.intValue ?? value?.doubleValue ?? value?.boolValue ??
      value;
  }
  return out;
}

/** Resolves once `check` holds, polling every 5 ms (throws after `timeoutMs`). */
export async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out waiting for a condition");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
