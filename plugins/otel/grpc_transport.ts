/**
 * OTLP/gRPC transport: one unary `Export` call per batch over
 * `@grpc/grpc-js`, with the bytes the official protobuf serializers made
 * (no generated stubs are needed: the request is already encoded). TLS for
 * `https://` addresses, gzip message compression when asked, the sink's
 * headers as metadata. Like the HTTP transport it makes exactly one attempt;
 * a gRPC status is classified by the HTTP status the gRPC specification maps
 * it to, through `@sluice/core/sink-http`'s `classify`, so both transports
 * follow one policy. `@grpc/grpc-js` is imported on first use: it reads
 * its `GRPC_*` variables when it loads, and a sandboxed plugin's module
 * must load with no environment.
 * @module
 */
import { Buffer } from "node:buffer";
import { isIP } from "node:net";
import { checkServerIdentity } from "node:tls";
import type * as GrpcJs from "@grpc/grpc-js";
import type { ExportResponse, IExporterTransport } from "@opentelemetry/otlp-exporter-base";
import {
  classify,
  displayUrl,
  failureError,
  type HttpFailure,
  secretScrubber,
} from "@sluice/core/sink-http";
import denoJson from "./deno.json" with { type: "json" };
import type { Compression, SignalName } from "./config.ts";
import type { PartialSuccess } from "./exporter.ts";

/** The OTLP collector services' `Export` methods. */
export const GRPC_EXPORT_PATHS: Readonly<Record<SignalName, string>> = {
  traces: "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
  metrics: "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
  logs: "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
};

/** grpc-js's number for gzip in `grpc.default_compression_algorithm`. */
const GZIP = 2;

/** The gRPC status codes (the gRPC specification's numbers). */
const status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
const STATUS_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(status).map(([name, code]) => [code, name]),
);

let grpcJs: Promise<typeof GrpcJs> | undefined;
/** `@grpc/grpc-js`, imported once, on first use. */
const loadGrpcJs = () => grpcJs ??= import("@grpc/grpc-js");

/**
 * The HTTP status each gRPC status corresponds to, for the one outcome
 * policy: the mapping of the gRPC HTTP/2 spec, with OTLP's retryable codes
 * (CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE,
 * DATA_LOSS) as 503, RESOURCE_EXHAUSTED as 429 and UNIMPLEMENTED as 404
 * (a wrong address or a collector without this signal).
 */
const HTTP_STATUS_OF: Readonly<Record<number, number>> = {
  [status.INVALID_ARGUMENT]: 400,
  [status.FAILED_PRECONDITION]: 400,
  [status.UNAUTHENTICATED]: 401,
  [status.PERMISSION_DENIED]: 403,
  [status.NOT_FOUND]: 404,
  [status.UNIMPLEMENTED]: 404,
  [status.RESOURCE_EXHAUSTED]: 429,
  [status.CANCELLED]: 503,
  [status.DEADLINE_EXCEEDED]: 503,
  [status.ABORTED]: 503,
  [status.OUT_OF_RANGE]: 503,
  [status.UNAVAILABLE]: 503,
  [status.DATA_LOSS]: 503,
};

/** The TLS server name sent for a collector addressed by IP (see `createGrpcTransport`). */
const IP_SERVERNAME = "otlp-collector.invalid";

/** Options of {@link createGrpcTransport}. */
export interface GrpcTransportOptions {
  /** The signal (its service path, and messages). */
  signal: SignalName;
  /** The collector's address: `http://host:port` (plaintext) or `https://host:port` (TLS). */
  url: string;
  /** Sent as metadata (names lowercased). */
  headers: Record<string, string>;
  /** PEM contents: a CA to trust instead of the system roots, the client's key and certificate (mTLS). */
  tls?: { ca?: string; key?: string; cert?: string };
  /** `gzip` compresses every message. */
  compression: Compression;
  /** Decodes a response body's partial success. */
  readPartialSuccess(body: Uint8Array): PartialSuccess;
  /** Called with a partial success answer (rejected > 0). */
  onPartialSuccess?: (partial: PartialSuccess) => void;
}

const identity = (bytes: Uint8Array) => Buffer.from(bytes);
const asBytes = (buffer: Buffer) => new Uint8Array(buffer);

/**
 * An OTLP/gRPC transport making one `Export` call per `send()`, with a
 * deadline of the export timeout. The channel is opened on first use and
 * closed by `shutdown()`.
 *
 * @param options Address, metadata, compression and the signal.
 * @returns The transport.
 */
export function createGrpcTransport(options: GrpcTransportOptions): IExporterTransport {
  const address = new URL(options.url);
  const tls = address.protocol === "https:";
  const target = `${address.hostname.replace(/^\[|\]$/g, "")}:${address.port || (tls ? 443 : 80)}`;
  const shown = displayUrl(options.url);
  const pem = options.tls ?? {};
  const path = GRPC_EXPORT_PATHS[options.signal];
  const scrub = secretScrubber(Object.values(options.headers), { urls: [options.url] });
  // Deno's TLS refuses an IP address as the TLS server name, which grpc-js passes: for an IP
  // collector, a placeholder name goes in SNI and the certificate is checked against the IP.
  const host = address.hostname.replace(/^\[|\]$/g, "");
  const ipHost = isIP(host) !== 0;
  const channelOptions: GrpcJs.ChannelOptions = {
    "grpc.primary_user_agent": `sluice-otel/${denoJson.version}`,
    ...(tls && ipHost ? { "grpc.ssl_target_name_override": IP_SERVERNAME } : {}),
    ...(options.compression === "gzip" ? { "grpc.default_compression_algorithm": GZIP } : {}),
  };
  let client: GrpcJs.Client | undefined;
  let closed = false;
  const open = async () => {
    const grpc = await loadGrpcJs();
    if (closed) throw new Error(`otel: the gRPC transport to ${shown} is shut down`);
    return client ??= new grpc.Client(
      target,
      tls
        ? grpc.credentials.createSsl(
          pem.ca ? Buffer.from(pem.ca) : null,
          pem.key ? Buffer.from(pem.key) : null,
          pem.cert ? Buffer.from(pem.cert) : null,
          ipHost ? { checkServerIdentity: (_name, cert) => checkServerIdentity(host, cert) } : {},
        )
        : grpc.credentials.createInsecure(),
      channelOptions,
    );
  };

  return {
    async send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
      const deadline = Date.now() + timeoutMillis;
      const grpc = await loadGrpcJs();
      const channel = await open();
      const metadata = new grpc.Metadata();
      for (const [name, value] of Object.entries(options.headers)) {
        metadata.set(name.toLowerCase(), value);
      }
      return new Promise((resolve) => {
        channel.makeUnaryRequest<Uint8Array, Uint8Array>(
          path,
          identity,
          asBytes,
          data,
          metadata,
          { deadline },
          (error, body) => {
            if (!error) {
              if (body?.byteLength && options.onPartialSuccess) {
                try {
                  const partial = options.readPartialSuccess(body);
                  if (partial.rejected > 0) options.onPartialSuccess(partial);
                } catch {
                  // An unreadable success answer is still a success.
                }
              }
              resolve({ status: "success" });
              return;
            }
            resolve({ status: "failure", error: grpcFailure(error, shown, options.signal, scrub) });
          },
        );
      });
    },
    shutdown() {
      closed = true;
      client?.close();
      client = undefined;
    },
  };
}

/** A failed call as a plugin-contract error (`permanent`, `retryAfterMs`, `status`). */
function grpcFailure(
  error: { code?: number; details?: string; message?: string },
  shown: string,
  signal: SignalName,
  scrub: (text: string) => string,
) {
  const code = typeof error.code === "number" ? error.code : status.UNKNOWN;
  const name = STATUS_NAMES[code] ?? `code ${code}`;
  const httpStatus = HTTP_STATUS_OF[code] ?? 500;
  const outcome = classify({ status: httpStatus }) as HttpFailure;
  const detail = error.details ? `: ${error.details.slice(0, 300)}` : "";
  const answered = `otel: gRPC ${shown} answered ${name}${detail}`;
  return failureError(outcome, answered, {
    refused: `the collector refused these ${signal}`,
    credentials: "check the credentials (the sink's headers or preset variables)",
    url:
      `check the address (the collector's OTLP/gRPC port, usually 4317) and that it takes ${signal}`,
    retry: `the ${signal} will be retried`,
  }, scrub);
}
