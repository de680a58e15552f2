/**
 * OTLP exporters for the three signals: the OpenTelemetry SDK's
 * `OTLPExporterBase` with the official JSON or protobuf serializers, over a
 * single-attempt transport (`ctx.fetch` for OTLP/HTTP, `@grpc/grpc-js` for
 * OTLP/gRPC; see `grpc_transport.ts`), and the SDK's console exporters.
 *
 * The SDK's stock OTLP exporters wrap their transport in a retry loop
 * (up to five attempts with backoff) and report a retryable failure without
 * its HTTP status or `Retry-After`. Sluice's pipeline already retries with
 * backoff, opens a circuit and spools to disk; two retry loops would
 * multiply attempts and hide rate limits. So the transports here make one
 * attempt and fail with the properties the plugin contract reads
 * (`permanent`, `retryAfterMs`), and the pipeline decides what happens next.
 * @module
 */
import {
  createOtlpNetworkExportDelegate,
  ExporterMetrics,
  type ExportResponse,
  type IExporterTransport,
  OTLPExporterBase,
} from "@opentelemetry/otlp-exporter-base";
import {
  type IExporterMetricsHelper,
  type ISerializer,
  JsonLogsSerializer,
  JsonMetricsSerializer,
  JsonTraceSerializer,
  LogsExporterMetricsHelper,
  MetricsExporterMetricsHelper,
  ProtobufLogsSerializer,
  ProtobufMetricsSerializer,
  ProtobufTraceSerializer,
  TraceExporterMetricsHelper,
} from "@opentelemetry/otlp-transformer";
import { type ExportResult, ExportResultCode } from "@opentelemetry/core";
import { ConsoleSpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { ConsoleLogRecordExporter, type ReadableLogRecord } from "@opentelemetry/sdk-logs";
import { ConsoleMetricExporter, type ResourceMetrics } from "@opentelemetry/sdk-metrics";
import type { PluginContext } from "@sluice/core/plugin";
import {
  classify,
  DEFAULT_RATE_LIMIT_WAIT_MS,
  displayUrl,
  errorDetail,
  failureError,
  fetchFailure,
  type HttpSinkError,
  secretScrubber,
  sinkError,
} from "@sluice/core/sink-http";
import denoJson from "./deno.json" with { type: "json" };
import type { OtlpProtocol, ResolvedSignal, SignalName, TlsFiles } from "./config.ts";
import { createGrpcTransport } from "./grpc_transport.ts";

/** The wait after a 429 without a readable `Retry-After` (`@sluice/core/sink-http`'s default). */
export const DEFAULT_RETRY_AFTER_MS: number = DEFAULT_RATE_LIMIT_WAIT_MS;

/** What each signal's items are called, for messages. */
export const ITEM_NAMES: Readonly<Record<SignalName, string>> = {
  traces: "spans",
  metrics: "data points",
  logs: "log records",
};

/** A partial success answer's rejected count and message. */
export interface PartialSuccess {
  /** Items the collector rejected. */
  rejected: number;
  /** Its message ("" when none). */
  message: string;
}

/** The official serializers, per signal and encoding, and a reader of partial success answers. */
interface SignalCodec<T> {
  json: ISerializer<T, unknown>;
  protobuf: ISerializer<T, unknown>;
  helper: IExporterMetricsHelper<T>;
  rejected(response: unknown): PartialSuccess;
}

type PartialAnswer = { partialSuccess?: Record<string, unknown> } | undefined;
const rejectedOf = (field: string) => (response: unknown): PartialSuccess => {
  const partial = (response as PartialAnswer)?.partialSuccess;
  return {
    rejected: Number(partial?.[field] ?? 0),
    message: typeof partial?.errorMessage === "string" ? partial.errorMessage : "",
  };
};

const CODECS = {
  traces: {
    json: JsonTraceSerializer,
    protobuf: ProtobufTraceSerializer,
    helper: TraceExporterMetricsHelper,
    rejected: rejectedOf("rejectedSpans"),
  } satisfies SignalCodec<ReadableSpan[]>,
  metrics: {
    json: JsonMetricsSerializer,
    protobuf: ProtobufMetricsSerializer,
    helper: MetricsExporterMetricsHelper,
    rejected: rejectedOf("rejectedDataPoints"),
  } satisfies SignalCodec<ResourceMetrics>,
  logs: {
    json: JsonLogsSerializer,
    protobuf: ProtobufLogsSerializer,
    helper: LogsExporterMetricsHelper,
    rejected: rejectedOf("rejectedLogRecords"),
  } satisfies SignalCodec<ReadableLogRecord[]>,
};

/** The items each signal's exporter takes. */
export interface SignalItems {
  /** Finished spans. */
  traces: ReadableSpan[];
  /** One collection of metrics. */
  metrics: ResourceMetrics;
  /** Emitted log records. */
  logs: ReadableLogRecord[];
}

/** Options of {@link createFetchTransport}. */
export interface FetchTransportOptions {
  /** The signal (for its serializer and messages). */
  signal: SignalName;
  /** The signal's URL. */
  url: string;
  /** Request headers (content type, encoding and user agent are added). */
  headers: Record<string, string>;
  /** `http/json` or `http/protobuf`. */
  protocol: Exclude<OtlpProtocol, "grpc">;
  /** `gzip` compresses each request body (`content-encoding: gzip`). */
  compression?: "gzip" | "none";
  /** The fetch to use: the plugin context's (timeout, shutdown abort, sandbox rules). */
  fetch: PluginContext["fetch"];
  /** Called with a partial success answer (rejected > 0). */
  onPartialSuccess?: (partial: PartialSuccess) => void;
  /** A client with the configured CA and client certificate (`Deno.createHttpClient`). */
  client?: Deno.HttpClient;
}

/**
 * `: ` and a short excerpt of a JSON or text error body (google.rpc.Status
 * `message`, or the text); `""` for an empty or binary (protobuf) body.
 */
async function answerDetail(res: Response, scrub: (text: string) => string): Promise<string> {
  const type = res.headers.get("content-type") ?? "";
  if (!type.includes("json") && !type.startsWith("text/")) {
    await res.arrayBuffer().catch(() => {});
    return "";
  }
  const detail = await errorDetail(res, scrub);
  return detail ? `: ${detail}` : "";
}

/** Gzips a request body. */
async function gzip(data: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * An OTLP/HTTP transport over `fetch` that makes exactly one attempt and
 * reports the outcome as a plugin-contract failure, by
 * `@sluice/core/sink-http`'s `classify`:
 * - 2xx: success (a partial success is reported to `onPartialSuccess`; OTLP
 *   forbids retrying it);
 * - 400, 413, 422: `permanent` (the collector refuses these items);
 * - 429: `retryAfterMs` from `Retry-After` (default 1000);
 * - 401, 403, 404, 405, 415 and redirects: retryable, with a message saying
 *   what to check (the items are kept while it is fixed);
 * - 5xx and other statuses, network errors and timeouts: retryable, with
 *   `retryAfterMs` when `Retry-After` is sent.
 * Messages name the URL without credentials and never show header values.
 *
 * @param options Signal, URL, headers, encoding, compression and the fetch to use.
 * @returns The transport.
 */
export function createFetchTransport(options: FetchTransportOptions): IExporterTransport {
  const shown = displayUrl(options.url);
  const items = ITEM_NAMES[options.signal];
  const headers = new Headers(options.headers);
  headers.set(
    "content-type",
    options.protocol === "http/json" ? "application/json" : "application/x-protobuf",
  );
  if (options.compression === "gzip") headers.set("content-encoding", "gzip");
  if (!headers.has("user-agent")) headers.set("user-agent", `sluice-otel/${denoJson.version}`);
  const codec: SignalCodec<unknown> = CODECS[options.signal] as SignalCodec<unknown>;
  const serializer = options.protocol === "http/json" ? codec.json : codec.protobuf;
  /** Foreign messages may quote the full URL (with its query string): show it without. */
  const scrub = secretScrubber([], { urls: [options.url] });

  return {
    async send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
      let res: Response;
      try {
        res = await options.fetch(options.url, {
          method: "POST",
          headers,
          body: options.compression === "gzip" ? await gzip(data) : data as Uint8Array<ArrayBuffer>,
          redirect: "manual",
          timeoutMs: timeoutMillis,
          ...(options.client ? { client: options.client } : {}),
        });
      } catch (error) {
        return {
          status: "failure",
          error: fetchFailure(error, `otel: POST ${shown}`, timeoutMillis, scrub),
        };
      }
      const outcome = classify(res);
      if (outcome.kind === "ok") {
        const body = new Uint8Array(await res.arrayBuffer().catch(() => new ArrayBuffer(0)));
        if (body.byteLength && options.onPartialSuccess) {
          try {
            const partial = codec.rejected(serializer.deserializeResponse(body));
            if (partial.rejected > 0) options.onPartialSuccess(partial);
          } catch {
            // An unreadable success answer is still a success.
          }
        }
        return { status: "success" };
      }
      const answered = `otel: ${shown} answered ${res.status}${
        res.statusText ? ` ${res.statusText}` : ""
      }${await answerDetail(res, scrub)}`;
      const error = failureError(outcome, answered, {
        refused: `the collector refused these ${items}`,
        credentials: "check the credentials (the sink's headers or preset variables)",
        url:
          `check the endpoint (OTLP/HTTP ${options.signal} are POSTed to …/v1/${options.signal})`,
        redirect: "set the final URL as the endpoint",
        format: `the collector does not accept ${options.protocol}; set protocol`,
        retry: `the ${items} will be retried`,
      });
      return { status: "failure", error };
    },
    shutdown() {
      options.client?.close();
    },
  };
}

/** Options of {@link createOtlpExporter}. */
export interface OtlpExporterOptions {
  /** The fetch to use for OTLP/HTTP (the plugin context's). */
  fetch: PluginContext["fetch"];
  /** Called with a partial success answer (rejected > 0). */
  onPartialSuccess?: (partial: PartialSuccess) => void;
}

/**
 * The OTel SDK's OTLP exporter for one signal (`OTLPExporterBase` with the
 * official JSON or protobuf serializer) over one attempt per `export()`:
 * {@link createFetchTransport} for OTLP/HTTP, the gRPC transport for
 * `grpc` (protobuf, TLS for `https://` addresses, gzip when asked).
 *
 * @param signal `traces`, `metrics` or `logs`.
 * @param settings The signal's resolved settings (an `otlp` exporter).
 * @param options The fetch, and a partial success callback.
 * @returns The exporter (`export`, `forceFlush`, `shutdown`).
 */
export function createOtlpExporter<S extends SignalName>(
  signal: S,
  settings: ResolvedSignal,
  options: OtlpExporterOptions,
): OTLPExporterBase<SignalItems[S]> {
  const codec = CODECS[signal] as unknown as SignalCodec<SignalItems[S]>;
  const protobuf = settings.protocol !== "http/json";
  const pem = readTlsFiles(settings.tls);
  const transport = settings.protocol === "grpc"
    ? createGrpcTransport({
      signal,
      url: settings.url,
      headers: settings.headers,
      tls: pem,
      compression: settings.compression,
      readPartialSuccess: (body) => codec.rejected(codec.protobuf.deserializeResponse(body)),
      onPartialSuccess: options.onPartialSuccess,
    })
    : createFetchTransport({
      signal,
      url: settings.url,
      headers: settings.headers,
      protocol: settings.protocol,
      compression: settings.compression,
      fetch: options.fetch,
      onPartialSuccess: options.onPartialSuccess,
      client: pem.ca || pem.cert
        ? Deno.createHttpClient({
          ...(pem.ca ? { caCerts: [pem.ca] } : {}),
          ...(pem.cert && pem.key ? { cert: pem.cert, key: pem.key } : {}),
        })
        : undefined,
    });
  const metrics = new ExporterMetrics<SignalItems[S]>({
    componentType: `otlp_${settings.protocol === "grpc" ? "grpc" : "http"}_${signal}_exporter`,
    metricsHelper: codec.helper,
    url: displayUrl(settings.url),
    meterProvider: undefined,
    responseAttributesFromError: (error) => {
      const status = (error as HttpSinkError | undefined)?.status;
      return typeof status === "number" ? { "http.response.status_code": status } : {};
    },
  });
  const delegate = createOtlpNetworkExportDelegate(
    { timeoutMillis: settings.timeoutMs, concurrencyLimit: 64, compression: "none" },
    protobuf ? codec.protobuf : codec.json,
    metrics,
    transport,
  );
  return new OTLPExporterBase<SignalItems[S]>(delegate);
}

/**
 * Reads the TLS files (PEM) once, when the exporter is made; an unreadable
 * one refuses the config, naming the file and the key that named it.
 */
function readTlsFiles(files: TlsFiles): TlsFiles {
  const out: TlsFiles = {};
  for (const [key, path] of Object.entries(files) as [keyof TlsFiles, string][]) {
    try {
      out[key] = Deno.readTextFileSync(path);
    } catch (error) {
      const what = { ca: "certificate", key: "client key", cert: "client certificate" }[key];
      throw new Error(
        `otel: cannot read the ${what} ${path}: ${error instanceof Error ? error.name : error}`,
      );
    }
  }
  return out;
}

/** The SDK's console exporter of each signal (prints with `console.dir`). */
export function createConsoleExporter<S extends SignalName>(
  signal: S,
): ItemExporter<SignalItems[S]> {
  const exporters = {
    traces: () => new ConsoleSpanExporter(),
    metrics: () => new ConsoleMetricExporter(),
    logs: () => new ConsoleLogRecordExporter(),
  };
  return exporters[signal]() as unknown as ItemExporter<SignalItems[S]>;
}

/** What the sink needs of an exporter: the SDK exporters' common shape. */
export interface ItemExporter<T> {
  /** Exports the items; calls back once with the result. */
  export(items: T, done: (result: ExportResult) => void): void;
  /** Sends what is buffered. */
  forceFlush?(): Promise<void>;
  /** Flushes and releases the exporter. */
  shutdown(): Promise<void>;
}

/**
 * Exports items and settles with the exporter's result: resolves on
 * success, rejects with the result's error (its `permanent` and
 * `retryAfterMs` intact) on failure.
 *
 * @param exporter The exporter.
 * @param items The items (spans, log records or one metrics collection).
 * @returns When the exporter confirmed the items.
 */
export function exportItems<T>(exporter: ItemExporter<T>, items: T): Promise<void> {
  return new Promise((resolve, reject) => {
    try {
      exporter.export(items, (result) => {
        if (result.code === ExportResultCode.SUCCESS) resolve();
        else {
          reject(
            result.error ?? sinkError("otel: the exporter reported a failure without a reason"),
          );
        }
      });
    } catch (error) {
      reject(error);
    }
  });
}
