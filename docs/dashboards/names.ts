/**
 * The names the otel sink's metrics get in a backend: their OTLP names as
 * exported (SigNoz keeps them), and the Prometheus names an OTLP → Prometheus
 * translation gives them (Prometheus' OTLP receiver, the Collector's
 * `prometheus` / `prometheusremotewrite` exporters, Grafana Mimir):
 * characters outside `[a-zA-Z0-9_:]` become `_`, the unit is appended
 * (`s` → `_seconds`; `{…}` annotations are dropped; a gauge of unit `1` gets
 * `_ratio`), a monotonic sum gets `_total`, a histogram gives `_bucket`
 * (label `le`), `_sum` and `_count`. Used by the dashboard generator, the
 * preview renderer and the test that checks the dashboards against what the
 * plugin exports.
 * @module
 */

/** One exported metric, as an OTLP/JSON metrics request carries it. */
export interface ExportedMetric {
  /** OTLP name, e.g. `gen_ai.client.operation.duration`. */
  name: string;
  /** UCUM unit, e.g. `s`, `{token}`. */
  unit?: string;
  /** `sum` (with `monotonic`), `gauge` or `histogram`. */
  kind: "sum" | "gauge" | "histogram";
  /** For a sum: whether it only goes up. */
  monotonic?: boolean;
  /** Attribute keys seen on its points. */
  attributes: Set<string>;
}

const UNIT_WORDS: Record<string, string> = {
  s: "seconds",
  ms: "milliseconds",
  By: "bytes",
};

/** A Prometheus-safe name: every character outside `[a-zA-Z0-9_:]` becomes `_`. */
export function promSafe(name: string): string {
  return name.replace(/[^a-zA-Z0-9_:]/g, "_");
}

/** The Prometheus series names of one exported metric. */
export function prometheusNames(metric: ExportedMetric): string[] {
  let base = promSafe(metric.name);
  const unit = (metric.unit ?? "").replace(/\{[^}]*\}/g, "");
  if (unit === "1" && metric.kind === "gauge") base += "_ratio";
  else if (unit && unit !== "1") base += `_${UNIT_WORDS[unit] ?? promSafe(unit)}`;
  if (metric.kind === "histogram") return [`${base}_bucket`, `${base}_sum`, `${base}_count`];
  if (metric.kind === "sum" && metric.monotonic) return [`${base}_total`];
  return [base];
}

/** The metrics of OTLP/JSON metrics requests, merged by name. */
export function exportedMetrics(
  // deno-lint-ignore no-explicit-any
  requests: any[],
): Map<string, ExportedMetric> {
  const out = new Map<string, ExportedMetric>();
  for (const request of requests) {
    for (const rm of request.resourceMetrics ?? []) {
      for (const sm of rm.scopeMetrics ?? []) {
        for (const m of sm.metrics ?? []) {
          const kind = m.histogram ? "histogram" : m.sum ? "sum" : "gauge";
          const points = (m.histogram ?? m.sum ?? m.gauge)?.dataPoints ?? [];
          const metric = out.get(m.name) ?? {
            name: m.name,
            unit: m.unit,
            kind,
            monotonic: m.sum?.isMonotonic,
            attributes: new Set<string>(),
          };
          for (const p of points) for (const a of p.attributes ?? []) metric.attributes.add(a.key);
          out.set(m.name, metric);
        }
      }
    }
  }
  return out;
}
