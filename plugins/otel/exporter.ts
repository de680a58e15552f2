/**
 * Span exporters: the OpenTelemetry SDK's OTLP exporter (the official
 * `OTLPExporterBase` with the official JSON or protobuf trace serializer)
 * over a single-attempt transport on `ctx.fetch`, and the SDK's console
 * exporter.
 *
 * The SDK's stock OTLP/HTTP exporters wrap their transport in a retry loop
 * (up to five attempts with backoff) and report a retryable failure without
 * its HTTP status or `Retry-After`. Sluice's pipeline already retries with
 * backoff, opens a circuit and spools to disk; two retry loops would
 * multiply attempts and hide rate limits. So the transport here makes one
 * attempt and fails with the properties the plugin contract reads
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
  type IExportTraceServiceResponse,
  type ISerializer,
  JsonTraceSerializer,
  ProtobufTraceSerializer,
  TraceExporterMetricsHelper,
} from "@opentelemetry/otlp-transformer";
import { ExportResultCode } from "@opentelemetry/core";
import {
  ConsoleSpanExporter,
  type ReadableSpan,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-base";
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
import type { OtlpProtocol } from "./config.ts";

/** The wait after a 429 without a readable `Retry-After` (`@sluice/core/sink-http`'s default). */
export const DEFAULT_RETRY_AFTER_MS: number = DEFAULT_RATE_LIMIT_WAIT_MS;

/** Options of {@link createFetchTransport}. */
export interface FetchTransportOptions {
  /** The traces URL. */
  url: string;
  /** Request headers (content type and user agent are added). */
  headers: Record<string, string>;
  /** `http/json` or `http/protobuf`. */
  protocol: OtlpProtocol;
  /** The fetch to use: the plugin context's (timeout, shutdown abort, sandbox rules). */
  fetch: PluginContext["fetch"];
  /** Called with a partial success answer (`rejectedSpans` > 0). */
  onPartialSuccess?: (rejected: number, message: string) => void;
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

/**
 * An OTLP/HTTP transport over `fetch` that makes exactly one attempt and
 * reports the outcome as a plugin-contract failure, by
 * `@sluice/core/sink-http`'s `classify`:
 * - 2xx: success (a partial success is reported to `onPartialSuccess`; OTLP
 *   forbids retrying it);
 * - 400, 413, 422: `permanent` (the collector refuses these spans);
 * - 429: `retryAfterMs` from `Retry-After` (default 1000);
 * - 401, 403, 404, 405, 415 and redirects: retryable, with a message saying
 *   what to check (the spans are kept while it is fixed);
 * - 5xx and other statuses, network errors and timeouts: retryable, with
 *   `retryAfterMs` when `Retry-After` is sent.
 * Messages name the URL without credentials and never show header values.
 *
 * @param options URL, headers, encoding and the fetch to use.
 * @returns The transport.
 */
export function createFetchTransport(options: FetchTransportOptions): IExporterTransport {
  const shown = displayUrl(options.url);
  const headers = new Headers(options.headers);
  headers.set(
    "content-type",
    options.protocol === "http/json" ? "application/json" : "application/x-protobuf",
  );
  if (!headers.has("user-agent")) headers.set("user-agent", `sluice-otel/${denoJson.version}`);
  const serializer: ISerializer<ReadableSpan[], IExportTraceServiceResponse> =
    options.protocol === "http/json" ? JsonTraceSerializer : ProtobufTraceSerializer;
  /** Foreign messages may quote the full URL (with its query string): show it without. */
  const scrub = secretScrubber([], { urls: [options.url] });

  return {
    async send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
      let res: Response;
      try {
        res = await options.fetch(options.url, {
          method: "POST",
          headers,
          body: data as Uint8Array<ArrayBuffer>,
          redirect: "manual",
          timeoutMs: timeoutMillis,
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
            const partial = serializer.deserializeResponse(body).partialSuccess;
            const rejected = Number(partial?.rejectedSpans ?? 0);
            if (rejected > 0) options.onPartialSuccess(rejected, partial?.errorMessage ?? "");
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
        refused: "the collector refused these spans",
        credentials: "check the credentials (the sink's headers or preset variables)",
        url: "check the endpoint (OTLP/HTTP traces are POSTed to …/v1/traces)",
        redirect: "set the final URL as the endpoint",
        format: `the collector does not accept ${options.protocol}; set protocol`,
        retry: "the spans will be retried",
      });
      return { status: "failure", error };
    },
    shutdown() {},
  };
}

/** Options of {@link createOtlpSpanExporter}. */
export interface OtlpSpanExporterOptions extends FetchTransportOptions {
  /** Timeout of one export request in milliseconds. */
  timeoutMs: number;
}

/**
 * The OTel SDK's OTLP span exporter (`OTLPExporterBase` with the official
 * JSON or protobuf trace serializer) over {@link createFetchTransport}: one
 * HTTP attempt per `export()`, no retry loop of its own.
 *
 * @param options URL, headers, encoding, timeout and fetch.
 * @returns A `SpanExporter`.
 */
export function createOtlpSpanExporter(options: OtlpSpanExporterOptions): SpanExporter {
  const serializer: ISerializer<ReadableSpan[], IExportTraceServiceResponse> =
    options.protocol === "http/json" ? JsonTraceSerializer : ProtobufTraceSerializer;
  const metrics = new ExporterMetrics<ReadableSpan[]>({
    componentType: "otlp_http_span_exporter",
    metricsHelper: TraceExporterMetricsHelper,
    url: displayUrl(options.url),
    meterProvider: undefined,
    responseAttributesFromError: (error) => {
      const status = (error as HttpSinkError | undefined)?.status;
      return typeof status === "number" ? { "http.response.status_code": status } : {};
    },
  });
  const delegate = createOtlpNetworkExportDelegate(
    { timeoutMillis: options.timeoutMs, concurrencyLimit: 64, compression: "none" },
    serializer,
    metrics,
    createFetchTransport(options),
  );
  return new OTLPExporterBase<ReadableSpan[]>(delegate);
}

/**
 * The SDK's console exporter: prints each span with `console.dir`.
 *
 * @returns A `SpanExporter`.
 */
export function createConsoleSpanExporter(): SpanExporter {
  return new ConsoleSpanExporter();
}

/**
 * Exports spans and settles with the exporter's result: resolves on
 * success, rejects with the result's error (its `permanent` and
 * `retryAfterMs` intact) on failure.
 *
 * @param exporter The exporter.
 * @param spans The spans.
 * @returns When the exporter confirmed the spans.
 */
export function exportSpans(exporter: SpanExporter, spans: ReadableSpan[]): Promise<void> {
  return new Promise((resolve, reject) => {
    try {
      exporter.export(spans, (result) => {
        if (result.code === ExportResultCode.SUCCESS) resolve();
        else {reject(
            result.error ?? sinkError("otel: the exporter reported a failure without a reason"),
          );}
      });
    } catch (error) {
      reject(error);
    }
  });
}
