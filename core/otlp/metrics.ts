/**
 * `/metrics` counters of OTLP ingest: items received, accepted and rejected
 * (with why), GenAI spans turned into events, batches routed to OTLP sinks,
 * and exports refused before decoding (auth, size, type, saturation).
 * @module
 */
import type { TelemetryAnswer } from "./ingest.ts";

/** Why an export was refused before its items were counted. */
export type RefusedReason =
  | "unauthenticated"
  | "unsupported_media"
  | "too_large"
  | "timeout"
  | "bad_body"
  | "saturated";

/** The ingest counters of one log side. */
export class IngestCounters {
  readonly #items = new Map<string, number>();
  readonly #refused = new Map<string, number>();
  #events = 0;

  #add(map: Map<string, number>, key: string, n: number): void {
    if (n > 0) map.set(key, (map.get(key) ?? 0) + n);
  }

  /** Counts an export the log side answered. */
  record(signal: "traces" | "logs", answer: TelemetryAnswer): void {
    if (answer.status !== 200) return this.refuse(signal, "bad_body");
    this.#add(this.#items, `${signal}\u0000accepted`, answer.accepted);
    this.#add(this.#items, `${signal}\u0000rejected`, answer.rejected);
    this.#events += answer.events;
  }

  /** Counts an export refused whole. */
  refuse(signal: "traces" | "logs", reason: RefusedReason): void {
    this.#add(this.#refused, `${signal}\u0000${reason}`, 1);
  }

  /** The exposition lines; `routed` and `redacted` are the pipeline's telemetry counts. */
  render(pipeline: { routed: number; redacted: number } = { routed: 0, redacted: 0 }): string {
    const out = [
      "# HELP sluice_otlp_items_total Ingested spans and log records by signal and outcome (accepted, rejected).",
      "# TYPE sluice_otlp_items_total counter",
    ];
    for (const [key, n] of this.#items) {
      const [signal, outcome] = key.split("\u0000");
      out.push(`sluice_otlp_items_total{signal="${signal}",outcome="${outcome}"} ${n}`);
    }
    out.push(
      "# HELP sluice_otlp_exports_refused_total OTLP exports refused whole, by signal and reason.",
      "# TYPE sluice_otlp_exports_refused_total counter",
    );
    for (const [key, n] of this.#refused) {
      const [signal, reason] = key.split("\u0000");
      out.push(`sluice_otlp_exports_refused_total{signal="${signal}",reason="${reason}"} ${n}`);
    }
    out.push(
      "# HELP sluice_otlp_genai_events_total Ingested GenAI spans routed as call events.",
      "# TYPE sluice_otlp_genai_events_total counter",
      `sluice_otlp_genai_events_total ${this.#events}`,
      "# HELP sluice_otlp_batches_routed_total Ingested batches handed to OTLP-capable sinks (one per sink).",
      "# TYPE sluice_otlp_batches_routed_total counter",
      `sluice_otlp_batches_routed_total ${pipeline.routed}`,
      "# HELP sluice_otlp_values_redacted_total Ingested attribute values and log bodies redaction changed or removed (per sink policy).",
      "# TYPE sluice_otlp_values_redacted_total counter",
      `sluice_otlp_values_redacted_total ${pipeline.redacted}`,
    );
    return out.join("\n") + "\n";
  }
}
