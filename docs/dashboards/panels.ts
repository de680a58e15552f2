/**
 * The dashboard's panels, once: each with its PromQL (Grafana over
 * Prometheus or Mimir, fed by OTLP) and its SigNoz query-builder query (the
 * OTLP names as exported). `build.ts` writes both dashboard JSONs from this
 * list; `render_preview.ts` draws the same panels from a real gateway run.
 * @module
 */

/** A SigNoz builder query (metrics data source). */
export interface SignozQuery {
  /** The exported OTLP metric name. */
  metric: string;
  /** `Sum`, `Gauge` or `Histogram`. */
  type: "Sum" | "Gauge" | "Histogram";
  /** SigNoz aggregate operator: `rate`, `sum`, `max`, `hist_quantile_50`, `hist_quantile_95`. */
  op: string;
  /** Group-by attribute keys. */
  groupBy: string[];
  /** Filters: attribute key → value (`!` prefix: not equal). */
  where?: Record<string, string>;
  /** Legend template (`{{attribute}}`). */
  legend: string;
}

/** One panel. */
export interface Panel {
  /** Title. */
  title: string;
  /** What it shows. */
  description: string;
  /** Grafana unit id. */
  unit: string;
  /** `timeseries` or `stat`. */
  kind: "timeseries" | "stat";
  /** Grid position (24 columns). */
  grid: { x: number; y: number; w: number; h: number };
  /** PromQL targets with their legends. */
  prom: { expr: string; legend: string }[];
  /** SigNoz builder queries (one per PromQL target). */
  signoz: SignozQuery[];
}

const RATE = "$__rate_interval";
const callsOnly = `sluice_call_type!="gateway_error"`;

/** The panels, top to bottom. */
export const PANELS: Panel[] = [
  {
    title: "Calls per second by model",
    description: "sluice.requests (sluice_requests_total) rate by gen_ai.request.model.",
    unit: "reqps",
    kind: "timeseries",
    grid: { x: 0, y: 0, w: 8, h: 8 },
    prom: [{
      expr: `sum by (gen_ai_request_model) (rate(sluice_requests_total{${callsOnly}}[${RATE}]))`,
      legend: "{{gen_ai_request_model}}",
    }],
    signoz: [{
      metric: "sluice.requests",
      type: "Sum",
      op: "rate",
      groupBy: ["gen_ai.request.model"],
      where: { "sluice.call_type": "!gateway_error" },
      legend: "{{gen_ai.request.model}}",
    }],
  },
  {
    title: "Errors per second by model",
    description: "Failed calls (sluice.status = failure) by model.",
    unit: "reqps",
    kind: "timeseries",
    grid: { x: 8, y: 0, w: 8, h: 8 },
    prom: [{
      expr:
        `sum by (gen_ai_request_model) (rate(sluice_requests_total{sluice_status="failure",${callsOnly}}[${RATE}]))`,
      legend: "{{gen_ai_request_model}}",
    }],
    signoz: [{
      metric: "sluice.requests",
      type: "Sum",
      op: "rate",
      groupBy: ["gen_ai.request.model"],
      where: { "sluice.status": "failure", "sluice.call_type": "!gateway_error" },
      legend: "{{gen_ai.request.model}}",
    }],
  },
  {
    title: "Call duration p50 / p95",
    description: "gen_ai.client.operation.duration: arrival to last byte.",
    unit: "s",
    kind: "timeseries",
    grid: { x: 16, y: 0, w: 8, h: 8 },
    prom: [0.5, 0.95].map((q) => ({
      expr:
        `histogram_quantile(${q}, sum by (le) (rate(gen_ai_client_operation_duration_seconds_bucket[${RATE}])))`,
      legend: `p${q * 100}`,
    })),
    signoz: ["50", "95"].map((q) => ({
      metric: "gen_ai.client.operation.duration",
      type: "Histogram",
      op: `hist_quantile_${q}`,
      groupBy: [],
      legend: `p${q}`,
    })),
  },
  {
    title: "Time to first token p50 / p95",
    description: "gen_ai.server.time_to_first_token of streamed calls.",
    unit: "s",
    kind: "timeseries",
    grid: { x: 0, y: 8, w: 8, h: 8 },
    prom: [0.5, 0.95].map((q) => ({
      expr:
        `histogram_quantile(${q}, sum by (le) (rate(gen_ai_server_time_to_first_token_seconds_bucket[${RATE}])))`,
      legend: `p${q * 100}`,
    })),
    signoz: ["50", "95"].map((q) => ({
      metric: "gen_ai.server.time_to_first_token",
      type: "Histogram",
      op: `hist_quantile_${q}`,
      groupBy: [],
      legend: `p${q}`,
    })),
  },
  {
    title: "Tokens per second (input / output)",
    description: "gen_ai.client.token.usage by gen_ai.token.type.",
    unit: "short",
    kind: "timeseries",
    grid: { x: 8, y: 8, w: 8, h: 8 },
    prom: [{
      expr: `sum by (gen_ai_token_type) (rate(gen_ai_client_token_usage_sum[${RATE}]))`,
      legend: "{{gen_ai_token_type}}",
    }],
    signoz: [{
      metric: "gen_ai.client.token.usage",
      type: "Histogram",
      op: "rate",
      groupBy: ["gen_ai.token.type"],
      legend: "{{gen_ai.token.type}}",
    }],
  },
  {
    title: "Cost (USD per hour) by model",
    description: "sluice.cost.usd (sluice_cost_usd_total) by gen_ai.request.model.",
    unit: "currencyUSD",
    kind: "timeseries",
    grid: { x: 16, y: 8, w: 8, h: 8 },
    prom: [{
      expr: `sum by (gen_ai_request_model) (rate(sluice_cost_usd_total[${RATE}])) * 3600`,
      legend: "{{gen_ai_request_model}}",
    }],
    signoz: [{
      metric: "sluice.cost.usd",
      type: "Sum",
      op: "rate",
      groupBy: ["gen_ai.request.model"],
      legend: "{{gen_ai.request.model}}",
    }],
  },
  {
    title: "Cost (USD per hour) by team",
    description: "sluice.cost.usd by sluice.team (the virtual key's team).",
    unit: "currencyUSD",
    kind: "timeseries",
    grid: { x: 0, y: 16, w: 8, h: 8 },
    prom: [{
      expr: `sum by (sluice_team) (rate(sluice_cost_usd_total[${RATE}])) * 3600`,
      legend: "{{sluice_team}}",
    }],
    signoz: [{
      metric: "sluice.cost.usd",
      type: "Sum",
      op: "rate",
      groupBy: ["sluice.team"],
      legend: "{{sluice.team}}",
    }],
  },
  {
    title: "Sink events per second by outcome",
    description:
      "sluice.sink.events (sluice_sink_events_total): sent, retried, spooled, dropped per sink.",
    unit: "short",
    kind: "timeseries",
    grid: { x: 8, y: 16, w: 8, h: 8 },
    prom: [{
      expr:
        `sum by (sluice_sink, sluice_outcome) (rate(sluice_sink_events_total{sluice_outcome=~"sent|retried|dropped"}[${RATE}]))`,
      legend: "{{sluice_sink}} {{sluice_outcome}}",
    }],
    signoz: [{
      metric: "sluice.sink.events",
      type: "Sum",
      op: "rate",
      groupBy: ["sluice.sink", "sluice.outcome"],
      legend: "{{sluice.sink}} {{sluice.outcome}}",
    }],
  },
  {
    title: "Sink backlog (queue, spool) and open circuits",
    description:
      "sluice.sink.queue_depth + sluice.sink.spool_events per sink; circuit_open is 1 while a sink fails.",
    unit: "short",
    kind: "timeseries",
    grid: { x: 16, y: 16, w: 8, h: 8 },
    prom: [
      { expr: `sum by (sluice_sink) (sluice_sink_queue_depth)`, legend: "{{sluice_sink}} queued" },
      {
        expr: `sum by (sluice_sink) (sluice_sink_spool_events)`,
        legend: "{{sluice_sink}} spooled",
      },
      {
        expr: `max by (sluice_sink) (sluice_sink_circuit_open)`,
        legend: "{{sluice_sink}} circuit open",
      },
    ],
    signoz: [
      {
        metric: "sluice.sink.queue_depth",
        type: "Gauge",
        op: "sum",
        groupBy: ["sluice.sink"],
        legend: "{{sluice.sink}} queued",
      },
      {
        metric: "sluice.sink.spool_events",
        type: "Gauge",
        op: "sum",
        groupBy: ["sluice.sink"],
        legend: "{{sluice.sink}} spooled",
      },
      {
        metric: "sluice.sink.circuit_open",
        type: "Gauge",
        op: "max",
        groupBy: ["sluice.sink"],
        legend: "{{sluice.sink}} circuit open",
      },
    ],
  },
];
