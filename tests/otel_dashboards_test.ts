/**
 * The dashboards in docs/dashboards/ query only what the otel sink exports:
 * the sink runs (all signals, pipeline numbers given) against a loopback
 * OTLP/HTTP receiver; the metric names and attributes it received are the
 * reference. Every metric a Grafana PromQL expression names is one of their
 * Prometheus translations, and every label it groups or filters by is one
 * of their attributes; every SigNoz query names an exported metric and only
 * its attributes. The committed JSONs are what `build.ts` writes.
 */
import assert from "node:assert/strict";
import { createOtelSink } from "../plugins/otel/mod.ts";
import { createTestContext, sampleEvent, sampleFailureEvent } from "../core/testing.ts";
import type { SinkStats } from "../core/plugin.ts";
import { startHttpSignalsReceiver } from "../plugins/otel/testdata/signals_receiver.ts";
import { exportedMetrics, prometheusNames, promSafe } from "../docs/dashboards/names.ts";
import { grafanaDashboard, signozDashboard } from "../docs/dashboards/build.ts";
import grafana from "../docs/dashboards/sluice-grafana.json" with { type: "json" };
import signoz from "../docs/dashboards/sluice-signoz.json" with { type: "json" };

const PROMQL_WORDS = new Set([
  "sum",
  "max",
  "min",
  "avg",
  "rate",
  "increase",
  "histogram_quantile",
  "by",
  "without",
]);

/** What the sink exports: OTLP metrics by name. */
async function exported() {
  const rx = startHttpSignalsReceiver();
  const stats: SinkStats[] = [{
    name: "otel",
    counters: {
      sent: 3,
      skipped: 0,
      retried: 1,
      spooled: 3,
      dropped: 0,
      replaced: 0,
      truncated: 0,
    },
    queueDepth: 0,
    spoolSize: 0,
    circuitOpen: false,
  }];
  const ctx = { ...createTestContext(), pipelineStats: () => stats };
  const sink = createOtelSink(
    {
      endpoint: rx.url,
      protocol: "http/json",
      signals: ["traces", "metrics", "logs"],
      metric_export_interval_ms: 3_600_000,
    },
    ctx,
  );
  try {
    await sink.log([
      sampleEvent(),
      sampleEvent({ stream: true }), // completion_start_time set: time to first token
      sampleFailureEvent(),
    ]);
    await sink.flush?.();
    return exportedMetrics(rx.accepted.filter((r) => r.signal === "metrics").map((r) => r.request));
  } finally {
    await sink.close?.();
    await rx.close();
  }
}

Deno.test("the dashboards use only the metric names and attributes the otel sink exports", async () => {
  const metrics = await exported();
  const promNames = new Set([...metrics.values()].flatMap(prometheusNames));
  const promLabels = new Set([
    "le",
    ...[...metrics.values()].flatMap((m) => [...m.attributes].map(promSafe)),
  ]);
  // the panels need these: a missing one means the plugin stopped exporting it
  for (
    const name of [
      "sluice.requests",
      "sluice.cost.usd",
      "gen_ai.client.operation.duration",
      "gen_ai.server.time_to_first_token",
      "gen_ai.client.token.usage",
      "sluice.sink.events",
      "sluice.sink.queue_depth",
      "sluice.sink.spool_events",
      "sluice.sink.circuit_open",
    ]
  ) assert.ok(metrics.has(name), `${name} is exported`);

  let checked = 0;
  for (const panel of grafana.panels) {
    for (const target of panel.targets) {
      let expr = target.expr;
      const labels: string[] = [];
      expr = expr.replace(/\bby \(([^)]*)\)/g, (_, list: string) => {
        labels.push(...list.split(",").map((s) => s.trim()));
        return "";
      });
      expr = expr.replace(/\{([^}]*)\}/g, (_, matchers: string) => {
        labels.push(...matchers.split(",").map((m) => m.split(/[=!~]/)[0].trim()));
        return "";
      });
      expr = expr.replace(/\[[^\]]*\]/g, "");
      const names = (expr.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [])
        .filter((word) => !PROMQL_WORDS.has(word));
      assert.ok(names.length > 0, `${panel.title}: no metric in ${target.expr}`);
      for (const name of names) {
        assert.ok(promNames.has(name), `${panel.title}: ${name} is not exported (${target.expr})`);
        checked++;
      }
      for (const label of labels) {
        assert.ok(promLabels.has(label), `${panel.title}: label ${label} is not exported`);
      }
    }
  }
  for (const widget of signoz.widgets) {
    for (const query of widget.query.builder.queryData) {
      const metric = metrics.get(query.aggregateAttribute.key);
      assert.ok(metric, `${widget.title}: ${query.aggregateAttribute.key} is not exported`);
      const kind = { sum: "Sum", gauge: "Gauge", histogram: "Histogram" }[metric.kind];
      assert.equal(query.aggregateAttribute.type, kind, `${widget.title}: type`);
      const keys = [
        ...query.groupBy.map((g) => g.key),
        ...query.filters.items.map((f) => f.key.key),
      ];
      for (const key of keys) {
        assert.ok(metric.attributes.has(key), `${widget.title}: ${metric.name} has no ${key}`);
      }
      checked++;
    }
  }
  assert.ok(checked >= 20, `checked ${checked} references`);
  // the committed files are the generator's output
  assert.deepEqual(grafana, JSON.parse(JSON.stringify(grafanaDashboard())));
  assert.deepEqual(signoz, JSON.parse(JSON.stringify(signozDashboard())));
});

Deno.test("Prometheus names follow the OTLP translation rules", () => {
  const m = (name: string, kind: "sum" | "gauge" | "histogram", unit = "", monotonic = true) =>
    prometheusNames({ name, kind, unit, monotonic, attributes: new Set() });
  assert.deepEqual(m("sluice.requests", "sum", "{request}"), ["sluice_requests_total"]);
  assert.deepEqual(m("sluice.cost.usd", "sum", "{USD}"), ["sluice_cost_usd_total"]);
  assert.deepEqual(m("gen_ai.client.operation.duration", "histogram", "s"), [
    "gen_ai_client_operation_duration_seconds_bucket",
    "gen_ai_client_operation_duration_seconds_sum",
    "gen_ai_client_operation_duration_seconds_count",
  ]);
  assert.deepEqual(m("sluice.sink.circuit_open", "gauge"), ["sluice_sink_circuit_open"]);
  assert.deepEqual(m("x.ratio", "gauge", "1"), ["x_ratio_ratio"]);
});
