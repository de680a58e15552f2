/**
 * OTLP/gRPC ingest (`server.otlp_grpc_port`): the collector services
 * `TraceService/Export` and `LogsService/Export` on their own port, for apps
 * whose exporters speak gRPC (`OTEL_EXPORTER_OTLP_PROTOCOL=grpc`). The
 * official client, `@grpc/grpc-js`, serves them (imported only when the port
 * is configured); messages stay bytes (gzip undone by grpc-js) and go the
 * same way as OTLP/HTTP exports: {@link OtlpRoutes} authenticates from the
 * metadata and the log Worker decodes, redacts, prices and routes. Answers
 * per the OTLP spec: OK (with `partial_success` when items were rejected),
 * `UNAUTHENTICATED`, `INVALID_ARGUMENT` for a message that does not decode,
 * `RESOURCE_EXHAUSTED` while the log side is saturated, `UNAVAILABLE` when it
 * is down.
 * @module
 */
import type * as GrpcJs from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import { SATURATED_MESSAGE, UNAVAILABLE_MESSAGE } from "./otlp_routes.ts";
import type { OtlpRoutes } from "./otlp_routes.ts";

/** The OTLP collector methods served, and the signal each takes. */
const METHODS: Record<"traces" | "logs", string> = {
  traces: "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
  logs: "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
};

/** gRPC status codes (the values of grpc-js's `status`). */
const INVALID_ARGUMENT = 3;
const RESOURCE_EXHAUSTED = 8;
const UNAVAILABLE = 14;
const UNAUTHENTICATED = 16;

/** A running OTLP/gRPC listener. */
export interface OtlpGrpcServer {
  /** The port it listens on. */
  port: number;
  /** Stops taking calls and ends the ones in flight within `deadlineMs`. */
  close(deadlineMs?: number): Promise<void>;
}

/** Where and what to serve. */
export interface OtlpGrpcOptions {
  /** Listen address. */
  host: string;
  /** Listen port (0: any free one). */
  port: number;
  /** Largest message taken (the gateway's `server.max_body_bytes`). */
  maxMessageBytes: number;
  /** The gateway's OTLP routes (authentication and hand-off). */
  routes: OtlpRoutes;
}

/** gRPC metadata as HTTP headers (auth, request controls, tags, user agent). */
function headersOf(metadata: GrpcJs.Metadata): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(metadata.getMap())) {
    if (typeof value === "string") headers.set(name, value);
  }
  return headers;
}

/** The host of a grpc-js peer (`ipv4:127.0.0.1:5555`, `ipv6:[::1]:5555`). */
function hostOf(peer: string): string | undefined {
  const match = /^(?:ipv4:|ipv6:)?\[?([^\]]+?)\]?:\d+$/.exec(peer);
  return match?.[1];
}

/** Starts the listener; rejects when the port cannot be bound. */
export async function startOtlpGrpc(options: OtlpGrpcOptions): Promise<OtlpGrpcServer> {
  const grpc = await import("@grpc/grpc-js");
  const server = new grpc.Server({
    "grpc.max_receive_message_length": options.maxMessageBytes,
  });
  const bytes = (b: Buffer) => b;
  const method = (path: string): GrpcJs.MethodDefinition<Buffer, Buffer> => ({
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: bytes,
    requestDeserialize: bytes,
    responseSerialize: bytes,
    responseDeserialize: bytes,
  });
  const handler = (signal: "traces" | "logs"): GrpcJs.handleUnaryCall<Buffer, Buffer> =>
  async (
    call,
    callback,
  ) => {
    const fail = (code: number, details: string) =>
      callback({ code, details } as GrpcJs.ServiceError);
    try {
      const headers = headersOf(call.metadata);
      const caller = options.routes.authenticate(signal, headers);
      if ("error" in caller) return fail(UNAUTHENTICATED, caller.error.message);
      const answer = await options.routes.submit(
        signal,
        "protobuf",
        new Uint8Array(call.request),
        caller.principal,
        headers,
        hostOf(call.getPeer()),
      );
      if (answer === "saturated") return fail(RESOURCE_EXHAUSTED, SATURATED_MESSAGE);
      if (answer === "unavailable") return fail(UNAVAILABLE, UNAVAILABLE_MESSAGE);
      if (answer.status !== 200) {
        return fail(
          INVALID_ARGUMENT,
          answer.error ?? `the ${signal} export could not be decoded`,
        );
      }
      callback(null, Buffer.from(answer.body));
    } catch (error) {
      fail(UNAVAILABLE, `the export failed: ${(error as Error).message}`);
    }
  };
  server.addService(
    { traces: method(METHODS.traces), logs: method(METHODS.logs) },
    { traces: handler("traces"), logs: handler("logs") },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      `${options.host.includes(":") ? `[${options.host}]` : options.host}:${options.port}`,
      grpc.ServerCredentials.createInsecure(),
      (error, bound) => error ? reject(error) : resolve(bound),
    )
  );
  return {
    port,
    close(deadlineMs = 5_000) {
      return new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, deadlineMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    },
  };
}
