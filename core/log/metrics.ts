/**
 * Prometheus metrics in the text exposition format (version 0.0.4): request
 * counts, a latency histogram, tokens and cost per model, and each sink's
 * delivery counters, queue depth and circuit state. Calls are recorded on
 * the log side from their hand-off records, so every serving thread's calls
 * land in one registry; counters are plain numbers in maps.
 *
 * Label values are bounded whatever clients send: `model` is a configured
 * model name (a name a wildcard entry serves counts under the wildcard, e.g.
 * `openai/*`) or {@link UNKNOWN_MODEL}, `route` one of the three call
 * routes, `status` an HTTP status code.
 * @module
 */
import type { FinishedCall } from "./call.ts";
import type { SinkSnapshot } from "../pipeline/pipeline.ts";
import { ModelNames } from "../providers/model_pattern.ts";

/** Histogram bucket bounds in seconds. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

const ROUTES: Record<string, string> = {
  chat: "/v1/chat/completions",
  completion: "/v1/completions",
  embedding: "/v1/embeddings",
};

/** The `model` label of calls naming a model that is not configured (one label for all of them). */
export const UNKNOWN_MODEL = "__unknown__";

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function labels(pairs: Record<string, string>): string {
  return "{" + Object.entries(pairs).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",") + "}";
}

/** Collects gateway metrics and renders them for `GET /metrics`. */
export class Metrics {
  readonly #requests = new Map<string, number>();
  readonly #durations = new Map<string, { buckets: number[]; sum: number; count: number }>();
  readonly #tokens = new Map<string, number>();
  readonly #cost = new Map<string, number>();
  readonly #models: ModelNames;
  #shed = 0;

  /** `models`: the configured public model names, the only `model` label values besides {@link UNKNOWN_MODEL}. */
  constructor(models: Iterable<string>) {
    this.#models = new ModelNames(models);
  }

  /** Records a finished call from its hand-off record. */
  recordCall(call: FinishedCall): void {
    const route = ROUTES[call.callType] ?? "other";
    const group = call.model;
    const model = (group !== undefined && this.#models.resolve(group)) || UNKNOWN_MODEL;
    const code = call.error?.status ?? 200;
    const status = Number.isInteger(code) && code >= 100 && code <= 599 ? String(code) : "other";
    // Keys are cheap joins; labels are rendered at scrape time.
    const durationKey = route + "\u0000" + model;
    const key = durationKey + "\u0000" + status;
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);

    let histogram = this.#durations.get(durationKey);
    if (!histogram) {
      histogram = { buckets: BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.#durations.set(durationKey, histogram);
    }
    const seconds = (call.endTime - call.startTime) / 1000;
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]) histogram.buckets[i]++;
    histogram.sum += seconds;
    histogram.count++;

    const prompt = call.usage?.prompt_tokens;
    const completion = call.usage?.completion_tokens;
    if (prompt) this.#add(this.#tokens, model + "\u0000prompt", prompt);
    if (completion) this.#add(this.#tokens, model + "\u0000completion", completion);
    if (call.cost?.total) this.#add(this.#cost, model, call.cost.total);
  }

  /** Counts calls a serving thread could not hand to the log side (it was too far behind). */
  recordShed(calls: number): void {
    this.#shed += calls;
  }

  #add(map: Map<string, number>, key: string, value: number): void {
    map.set(key, (map.get(key) ?? 0) + value);
  }

  /** The exposition text, with the sinks' current state. */
  render(sinks: readonly SinkSnapshot[]): string {
    const out: string[] = [];
    const family = (name: string, type: string, help: string, rows: Iterable<[string, number]>) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [key, value] of rows) out.push(`${name}${key} ${value}`);
    };
    // Recorded keys are NUL-joined label values; labels are rendered here, at scrape time.
    const keyed = (map: Map<string, number>, names: string[]): [string, number][] =>
      [...map].map(([key, value]) => {
        const parts = key.split("\u0000");
        return [labels(Object.fromEntries(names.map((n, i) => [n, parts[i]]))), value];
      });
    family(
      "sluice_requests_total",
      "counter",
      "Calls by route, model and HTTP status.",
      keyed(this.#requests, ["route", "model", "status"]),
    );
    out.push(
      "# HELP sluice_request_duration_seconds Call duration, arrival to last byte.",
      "# TYPE sluice_request_duration_seconds histogram",
    );
    for (const [raw, h] of this.#durations) {
      const [route, model] = raw.split("\u0000");
      const key = labels({ route, model });
      const base = key.slice(1, -1);
      BUCKETS.forEach((bound, i) => {
        out.push(`sluice_request_duration_seconds_bucket{${base},le="${bound}"} ${h.buckets[i]}`);
      });
      out.push(`sluice_request_duration_seconds_bucket{${base},le="+Inf"} ${h.count}`);
      out.push(`sluice_request_duration_seconds_sum${key} ${h.sum}`);
      out.push(`sluice_request_duration_seconds_count${key} ${h.count}`);
    }
    family(
      "sluice_tokens_total",
      "counter",
      "Tokens by model and type (prompt, completion).",
      keyed(this.#tokens, ["model", "type"]),
    );
    family(
      "sluice_cost_usd_total",
      "counter",
      "Cost in USD by model.",
      keyed(this.#cost, ["model"]),
    );
    family(
      "sluice_log_handoff_dropped_total",
      "counter",
      "Calls not handed to the log side because it was too far behind (never logged).",
      [["", this.#shed]],
    );
    family(
      "sluice_sink_events_total",
      "counter",
      "Sink events by outcome (sent, skipped, retried, spooled, dropped, replaced, truncated).",
      sinks.flatMap((s) =>
        (["sent", "skipped", "retried", "spooled", "dropped", "replaced", "truncated"] as const)
          .map((
            outcome,
          ) => [labels({ sink: s.name, outcome }), s.counters[outcome]] as [string, number])
      ),
    );
    family(
      "sluice_sink_queue_depth",
      "gauge",
      "Events waiting in memory per sink.",
      sinks.map((s) => [labels({ sink: s.name }), s.queueDepth]),
    );
    family(
      "sluice_sink_spool_events",
      "gauge",
      "Events waiting in the disk spool per sink.",
      sinks.map((s) => [labels({ sink: s.name }), s.spoolSize]),
    );
    family(
      "sluice_sink_circuit_open",
      "gauge",
      "1 while a sink's circuit is open (failing).",
      sinks.map((s) => [labels({ sink: s.name }), s.circuitOpen ? 1 : 0]),
    );
    return out.join("\n") + "\n";
  }
}
