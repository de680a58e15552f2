/**
 * Telemetry an application exported to the gateway (`exportTelemetry`):
 * its spans and log records, already redacted by the gateway, forwarded to
 * the collector as they are, over the sink's own transport per signal (OTLP
 * gRPC, HTTP protobuf or HTTP JSON), one attempt per batch like the sink's
 * own exports. A signal the sink does not send is skipped.
 * @module
 */
import type { IExporterTransport } from "@opentelemetry/otlp-exporter-base";
import type { PluginContext, SinkCallOptions, TelemetryBatch } from "@sluice/core/plugin";
import { encodeLogs, encodeTraces } from "@sluice/core/otlp";
import type { ResolvedOtelConfig, ResolvedSignal } from "./config.ts";
import { createFetchTransport, type PartialSuccess } from "./exporter.ts";
import { createGrpcTransport } from "./grpc_transport.ts";
import { decodeLogsResponse, decodeTracesResponse } from "@sluice/core/otlp";

/** Forwards ingested telemetry; `close` releases the transports. */
export interface TelemetryForwarder {
  /** Sends a batch; resolves when the collector took it, throws as the sink's exports do. */
  export(batch: TelemetryBatch, options?: SinkCallOptions): Promise<void>;
  /** Shuts the transports down. */
  close(): void;
}

function bodyOf(batch: TelemetryBatch, settings: ResolvedSignal): Uint8Array {
  if (settings.protocol === "http/json") {
    return new TextEncoder().encode(JSON.stringify(batch.request));
  }
  return batch.signal === "traces" ? encodeTraces(batch.request) : encodeLogs(batch.request);
}

function readPartial(signal: TelemetryBatch["signal"]) {
  return (body: Uint8Array): PartialSuccess => {
    const decoded = signal === "traces" ? decodeTracesResponse(body) : decodeLogsResponse(body);
    return decoded.ok
      ? { rejected: decoded.value.rejected, message: decoded.value.message ?? "" }
      : {
        rejected: 0,
        message: "",
      };
  };
}

/**
 * The forwarder of one otel sink, over transports made on first use from the
 * sink's resolved settings.
 */
export function createTelemetryForwarder(
  settings: ResolvedOtelConfig,
  ctx: Pick<PluginContext, "fetch" | "logger">,
): TelemetryForwarder {
  const transports = new Map<TelemetryBatch["signal"], IExporterTransport>();
  const onPartialSuccess = ({ rejected, message }: PartialSuccess) =>
    ctx.logger.warn(
      `the collector rejected ${rejected} forwarded items${message ? `: ${message}` : ""}`,
    );
  const transportOf = (signal: TelemetryBatch["signal"], s: ResolvedSignal) => {
    let transport = transports.get(signal);
    if (transport) return transport;
    transport = s.protocol === "grpc"
      ? createGrpcTransport({
        signal,
        url: s.url,
        headers: s.headers,
        compression: s.compression,
        readPartialSuccess: readPartial(signal),
        onPartialSuccess,
      })
      : createFetchTransport({
        signal,
        url: s.url,
        headers: s.headers,
        protocol: s.protocol,
        compression: s.compression,
        fetch: (input, init) => ctx.fetch(input, init),
        onPartialSuccess,
      });
    transports.set(signal, transport);
    return transport;
  };
  return {
    async export(batch: TelemetryBatch): Promise<void> {
      const signalSettings = settings.signals[batch.signal];
      if (!signalSettings) return; // the sink does not send this signal
      if (signalSettings.exporter === "console") {
        console.log(JSON.stringify(batch.request));
        return;
      }
      const transport = transportOf(batch.signal, signalSettings);
      const result = await transport.send(bodyOf(batch, signalSettings), signalSettings.timeoutMs);
      if (result.status !== "success") throw result.error ?? new Error("otel: export failed");
    },
    close(): void {
      for (const transport of transports.values()) transport.shutdown();
      transports.clear();
    },
  };
}
