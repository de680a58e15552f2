/**
 * Writes the two dashboards from `panels.ts`:
 * `sluice-grafana.json` (Grafana 10+, a Prometheus data source picked at
 * import: Prometheus or Mimir fed over OTLP) and `sluice-signoz.json`
 * (SigNoz dashboard JSON, query builder v4 over the OTLP metric names).
 *
 * ```sh
 * deno run -A docs/dashboards/build.ts
 * ```
 * @module
 */
import { PANELS, type SignozQuery } from "./panels.ts";

const DIR = new URL("./", import.meta.url);
const TITLE = "Sluice LLM gateway (OpenTelemetry)";
const DESCRIPTION =
  "Calls, errors, latency, time to first token, tokens, cost by model and team, and sink health, " +
  "from the metrics the Sluice otel sink exports (GenAI semantic conventions + sluice.*).";

/** The Grafana dashboard. */
export function grafanaDashboard(): Record<string, unknown> {
  const datasource = { type: "prometheus", uid: "${datasource}" };
  return {
    title: TITLE,
    description: DESCRIPTION,
    uid: "sluice-otel",
    tags: ["sluice", "llm", "opentelemetry", "gen_ai"],
    schemaVersion: 39,
    version: 1,
    editable: true,
    graphTooltip: 1,
    time: { from: "now-1h", to: "now" },
    refresh: "30s",
    templating: {
      list: [{
        name: "datasource",
        label: "Prometheus",
        type: "datasource",
        query: "prometheus",
        current: {},
        hide: 0,
      }],
    },
    panels: PANELS.map((panel, i) => ({
      id: i + 1,
      type: panel.kind,
      title: panel.title,
      description: panel.description,
      datasource,
      gridPos: panel.grid,
      fieldConfig: {
        defaults: {
          unit: panel.unit,
          custom: { lineWidth: 2, fillOpacity: 10, showPoints: "never" },
        },
        overrides: [],
      },
      options: {
        legend: { displayMode: "list", placement: "bottom", showLegend: true },
        tooltip: { mode: "multi", sort: "desc" },
      },
      targets: panel.prom.map((target, j) => ({
        refId: String.fromCharCode(65 + j),
        datasource,
        expr: target.expr,
        legendFormat: target.legend,
        range: true,
      })),
    })),
  };
}

const SIGNOZ_UNITS: Record<string, string> = {
  reqps: "reqps",
  s: "s",
  short: "short",
  currencyUSD: "currencyUSD",
};

function signozQuery(q: SignozQuery, i: number): Record<string, unknown> {
  const name = String.fromCharCode(65 + i);
  const tag = (key: string) => ({ key, dataType: "string", type: "tag", isColumn: false });
  const quantile = /^hist_quantile_(\d+)$/.exec(q.op)?.[1];
  const [timeAggregation, spaceAggregation] = quantile
    ? ["", `p${quantile}`]
    : q.type === "Gauge"
    ? ["latest", q.op]
    : ["rate", "sum"];
  return {
    queryName: name,
    expression: name,
    dataSource: "metrics",
    aggregateOperator: q.op,
    aggregateAttribute: { key: q.metric, dataType: "float64", type: q.type, isColumn: true },
    timeAggregation,
    spaceAggregation,
    filters: {
      op: "AND",
      items: Object.entries(q.where ?? {}).map(([key, value]) => ({
        key: tag(key),
        op: value.startsWith("!") ? "!=" : "=",
        value: value.replace(/^!/, ""),
      })),
    },
    groupBy: q.groupBy.map(tag),
    legend: q.legend,
    disabled: false,
    having: [],
    orderBy: [],
    limit: null,
    stepInterval: 60,
    reduceTo: "avg",
  };
}

/** The SigNoz dashboard. */
export function signozDashboard(): Record<string, unknown> {
  return {
    title: TITLE,
    description: DESCRIPTION,
    tags: ["sluice", "llm", "opentelemetry", "gen_ai"],
    version: "v4",
    variables: {},
    layout: PANELS.map((panel, i) => ({
      i: `sluice-${i + 1}`,
      x: Math.round(panel.grid.x / 2),
      y: panel.grid.y,
      w: Math.round(panel.grid.w / 2),
      h: Math.round(panel.grid.h / 2) + 2,
      moved: false,
      static: false,
    })),
    widgets: PANELS.map((panel, i) => ({
      id: `sluice-${i + 1}`,
      title: panel.title,
      description: panel.description,
      panelTypes: panel.kind === "stat" ? "value" : "graph",
      yAxisUnit: SIGNOZ_UNITS[panel.unit] ?? "none",
      opacity: "1",
      nullZeroValues: "zero",
      timePreferance: "GLOBAL_TIME",
      softMin: null,
      softMax: null,
      query: {
        queryType: "builder",
        builder: { queryData: panel.signoz.map(signozQuery), queryFormulas: [] },
        promql: [],
        clickhouse_sql: [],
        id: `sluice-query-${i + 1}`,
      },
    })),
  };
}

if (import.meta.main) {
  const write = (file: string, value: unknown) =>
    Deno.writeTextFile(new URL(file, DIR), JSON.stringify(value, null, 2) + "\n");
  await write("sluice-grafana.json", grafanaDashboard());
  await write("sluice-signoz.json", signozDashboard());
  console.log("wrote docs/dashboards/sluice-grafana.json and sluice-signoz.json");
}
