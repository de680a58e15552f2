/**
 * The transport's `/metrics` families, shared by gateways and delivery
 * workers: publish and consume counters per sink, and the stream's size,
 * limits, dead-letter count and per-sink consumer lag as last read.
 * @module
 */
import type { StreamStats } from "./types.ts";

/** Counters of one process's use of the stream, per sink. */
export class TransportCounters {
  /** Events the engine confirmed storing, per sink. */
  readonly published = new Map<string, number>();
  /** Events a publish failed for (kept in the local spool and retried), per sink. */
  readonly publishFailed = new Map<string, number>();
  /** Worker outcomes per sink and outcome (consumed, delivered, skipped, retried, dead_lettered, duplicate, redelivered). */
  readonly consumed = new Map<string, number>();
  /** The stream's numbers at the last successful read. */
  stats?: StreamStats;
  /** When {@link stats} was read (epoch ms). */
  statsAt = 0;

  /**
   * Adds `n` to a per-sink counter.
   *
   * @param map One of the maps above.
   * @param key The sink (for {@link consumed}: `sink\u0000outcome`).
   * @param n How many.
   */
  add(map: Map<string, number>, key: string, n: number): void {
    map.set(key, (map.get(key) ?? 0) + n);
  }

  /**
   * The exposition text of these families.
   *
   * @param engine `nats` or `redis` (a label).
   * @returns Prometheus text lines, ending with a newline.
   */
  render(engine: string): string {
    const out: string[] = [];
    const family = (name: string, type: string, help: string, rows: [string, number][]) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [l, v] of rows) out.push(`${name}${l} ${v}`);
    };
    const sinkRows = (map: Map<string, number>): [string, number][] =>
      [...map].map(([sink, n]) => [`{engine="${engine}",sink="${esc(sink)}"}`, n]);
    family(
      "sluice_stream_published_total",
      "counter",
      "Events this process published to the log stream and the engine stored.",
      sinkRows(this.published),
    );
    family(
      "sluice_stream_publish_failed_total",
      "counter",
      "Events whose publish failed (kept in the local spool, published again later).",
      sinkRows(this.publishFailed),
    );
    family(
      "sluice_stream_consumed_total",
      "counter",
      "Stream messages this worker handled, by sink and outcome.",
      [...this.consumed].map(([key, n]) => {
        const [sink, outcome] = key.split("\u0000");
        return [`{engine="${engine}",sink="${esc(sink)}",outcome="${outcome}"}`, n];
      }),
    );
    const s = this.stats;
    if (s) {
      const e = `{engine="${engine}"}`;
      family("sluice_stream_messages", "gauge", "Messages in the log stream.", [[e, s.messages]]);
      family("sluice_stream_bytes", "gauge", "Bytes in the log stream.", [[e, s.bytes]]);
      if (s.maxBytes !== undefined) {
        family("sluice_stream_max_bytes", "gauge", "The stream's size limit.", [[e, s.maxBytes]]);
      }
      if (s.maxAgeMs !== undefined) {
        family("sluice_stream_max_age_seconds", "gauge", "The stream's age limit.", [[
          e,
          s.maxAgeMs / 1000,
        ]]);
      }
      family("sluice_stream_dead_lettered", "gauge", "Messages in the dead-letter stream.", [[
        e,
        s.deadLettered,
      ]]);
      const lag = (pick: (c: StreamStats["consumers"][number]) => number): [string, number][] =>
        s.consumers.map((c) => [`{engine="${engine}",sink="${esc(c.sink)}"}`, pick(c)]);
      family(
        "sluice_stream_consumer_pending",
        "gauge",
        "Messages for a sink not yet handed to any worker (the consumer group's lag).",
        lag((c) => c.pending),
      );
      family(
        "sluice_stream_consumer_unacked",
        "gauge",
        "Messages handed to a worker and not yet acked.",
        lag((c) => c.unacked),
      );
      family(
        "sluice_stream_consumer_redelivered",
        "gauge",
        "Redelivered messages, as the engine counts them.",
        lag((c) => c.redelivered),
      );
      family(
        "sluice_stream_stats_age_seconds",
        "gauge",
        "Seconds since the stream's numbers above were read.",
        [[e, Math.max(0, (Date.now() - this.statsAt) / 1000)]],
      );
    }
    return out.join("\n") + "\n";
  }
}

function esc(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}
