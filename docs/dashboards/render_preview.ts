/**
 * Renders the dashboards' previews from a real gateway run (no Grafana or
 * SigNoz here): a gateway with three virtual keys (teams search, support,
 * billing), two models on a loopback OpenAI-compatible upstream (varying
 * latency, usage, 7% errors on gpt-4o, half the calls streamed), and three
 * sinks: the otel sink (all signals, `sandbox: false` for the pipeline
 * numbers, OTLP/HTTP JSON to a loopback receiver, metrics every second),
 * jsonl, and a webhook whose receiver refuses some batches (503) and goes
 * down for 20 s mid-run. It then computes each panel of `panels.ts` from the
 * OTLP metrics the receiver got (rates from cumulative sums, quantiles from
 * histogram buckets, as PromQL's `rate` and `histogram_quantile` do), draws
 * them as SVG in each product's dark theme and screenshots the page with
 * Debian's chromium through playwright-core.
 *
 * ```sh
 * deno run -A docs/dashboards/render_preview.ts [--seconds 90]
 * ```
 * Writes docs/dashboards/grafana-preview.png and signoz-preview.png.
 * @module
 */
import { parseArgs } from "node:util";
import { chromium } from "npm:playwright-core@1.65.2";
import { startGateway } from "../../tests/fakes/gateway.ts";
import { startHttpSignalsReceiver } from "../../plugins/otel/testdata/signals_receiver.ts";
import { PANELS } from "./panels.ts";

const { values } = parseArgs({ options: { seconds: { type: "string", default: "90" } } });
const RUN_MS = Number(values.seconds) * 1000;
const DIR = new URL("./", import.meta.url);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rand = (lo: number, hi: number) => lo + Math.random() * (hi - lo);

// ---- the upstream: OpenAI-compatible, latency and usage by model ----
const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
  const body = await req.json();
  const slow = body.model === "gpt-4o";
  const prompt = Math.round(rand(200, 1500));
  const completion = Math.round(rand(40, slow ? 600 : 300));
  const usage = {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
  };
  if (slow && Math.random() < 0.07) {
    // a client error: not retried by the gateway, so the call fails
    await sleep(rand(100, 400));
    return Response.json({
      error: {
        message: "This model's maximum context length is 128000 tokens.",
        type: "invalid_request_error",
        code: "context_length_exceeded",
      },
    }, { status: 400 });
  }
  const total = slow ? rand(400, 1600) : rand(120, 500);
  if (!body.stream) {
    await sleep(total);
    return Response.json({
      id: `chatcmpl-${crypto.randomUUID()}`,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
      usage,
    });
  }
  const base = {
    id: `chatcmpl-${crypto.randomUUID()}`,
    object: "chat.completion.chunk",
    model: body.model,
  };
  const enc = new TextEncoder();
  const stream = new ReadableStream({
    async start(controller) {
      const send = (data: unknown) =>
        controller.enqueue(enc.encode(`data: ${JSON.stringify(data)}\n\n`));
      await sleep(total * rand(0.15, 0.45));
      for (let i = 0; i < 8; i++) {
        send({
          ...base,
          choices: [{ index: 0, delta: { content: `w${i} ` }, finish_reason: null }],
        });
        await sleep(total / 16);
      }
      send({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] });
      send({ ...base, choices: [], usage });
      controller.enqueue(enc.encode("data: [DONE]\n\n"));
      controller.close();
    },
  });
  return new Response(stream, { headers: { "content-type": "text/event-stream" } });
});

// ---- the webhook's receiver: refuses 10% of batches, down from 35% to 55% of the run ----
const t0 = Date.now();
let hookDown = false;
const hook = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
  await req.arrayBuffer();
  if (hookDown || Math.random() < 0.1) return new Response("busy", { status: 503 });
  return new Response(null, { status: 204 });
});

const otlp = startHttpSignalsReceiver();
const dataDir = await Deno.makeTempDir({ prefix: "sluice-preview-" });
const KEYS = [
  { key: "sk-preview-search-0001", alias: "search-app", team: "search" },
  { key: "sk-preview-support-0001", alias: "support-bot", team: "support" },
  { key: "sk-preview-billing-0001", alias: "billing-batch", team: "billing" },
];
const api = `http://127.0.0.1:${upstream.addr.port}/v1`;
const gw = await startGateway({
  models: ["gpt-4o", "gpt-4o-mini"].map((name) => ({
    name,
    provider: "openai",
    api_base: api,
    api_key: "sk-upstream-preview",
  })),
  teams: KEYS.map((k) => ({ name: k.team })),
  keys: KEYS,
  server: { data_dir: dataDir },
  sinks: [
    {
      name: "otel",
      use: "otel",
      sandbox: false,
      config: {
        endpoint: otlp.url,
        protocol: "http/json",
        signals: ["traces", "metrics", "logs"],
        metric_export_interval_ms: 1000,
        service_name: "sluice-preview",
      },
      queue: { flush_interval_ms: 200 },
    },
    { name: "jsonl", use: "jsonl", queue: { flush_interval_ms: 200 } },
    {
      name: "webhook",
      use: "webhook",
      config: { url: `http://127.0.0.1:${hook.addr.port}/events` },
      queue: { flush_interval_ms: 200, batch_size: 20 },
    },
  ],
});

// ---- load: six clients, weighted by team; a burst in the middle ----
console.log(`driving ${gw.url} for ${RUN_MS / 1000} s …`);
let calls = 0;
const client = async () => {
  while (Date.now() - t0 < RUN_MS) {
    const elapsed = (Date.now() - t0) / RUN_MS;
    hookDown = elapsed > 0.35 && elapsed < 0.55;
    const key = KEYS[Math.random() < 0.5 ? 0 : Math.random() < 0.6 ? 1 : 2];
    const model = Math.random() < 0.4 ? "gpt-4o" : "gpt-4o-mini";
    const stream = Math.random() < 0.5;
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key.key}`, "content-type": "application/json" },
      body: JSON.stringify({
        model,
        stream,
        ...(stream ? { stream_options: { include_usage: true } } : {}),
        messages: [{ role: "user", content: "Summarise the ticket in one line." }],
      }),
    });
    await res.arrayBuffer();
    calls++;
    const burst = elapsed > 0.6 && elapsed < 0.75;
    await sleep(burst ? rand(0, 100) : rand(100, 700));
  }
};
await Promise.all(Array.from({ length: 6 }, client));
await sleep(2500); // the last metric exports
await gw.close();
await Promise.all([upstream.shutdown(), hook.shutdown(), otlp.close()]);
await Deno.remove(dataDir, { recursive: true });
console.log(
  `${calls} calls; ${otlp.accepted.filter((r) => r.signal === "metrics").length} metric exports`,
);

// ---- series from the exports ----
type Point = {
  t: number;
  attrs: Record<string, string>;
  value?: number;
  buckets?: number[];
  bounds?: number[];
};
const points = new Map<string, Point[]>();
for (const r of otlp.accepted.filter((r) => r.signal === "metrics")) {
  for (const rm of r.request.resourceMetrics ?? []) {
    for (const sm of rm.scopeMetrics ?? []) {
      for (const m of sm.metrics ?? []) {
        const list = points.get(m.name) ?? [];
        for (const p of (m.sum ?? m.gauge ?? m.histogram)?.dataPoints ?? []) {
          const attrs: Record<string, string> = {};
          for (const a of p.attributes ?? []) {
            attrs[a.key] = String(
              a.value?.stringValue ?? a.value?.intValue ?? a.value?.doubleValue ??
                a.value?.boolValue,
            );
          }
          list.push({
            t: Number(BigInt(p.timeUnixNano) / 1_000_000n),
            attrs,
            value: p.asDouble ?? (p.asInt !== undefined ? Number(p.asInt) : undefined),
            buckets: p.bucketCounts?.map(Number),
            bounds: p.explicitBounds,
          });
        }
        points.set(m.name, list);
      }
    }
  }
}
const times = [...new Set((points.get("sluice.requests") ?? []).map((p) => p.t))].sort((a, b) =>
  a - b
);
const WINDOW = 6_000;
type Series = { name: string; values: (number | null)[] };

/** Cumulative value of each attribute set at time t (the latest point at or before t). */
function at(list: Point[], t: number, key: (p: Point) => string | undefined) {
  const latest = new Map<string, Point>();
  for (const p of list) {
    const k = key(p);
    if (k === undefined || p.t > t) continue;
    const seen = latest.get(`${k}\u0000${JSON.stringify(p.attrs)}`);
    if (!seen || seen.t < p.t) latest.set(`${k}\u0000${JSON.stringify(p.attrs)}`, p);
  }
  const out = new Map<string, Point[]>();
  for (const [k, p] of latest) {
    const group = k.split("\u0000")[0];
    out.set(group, [...(out.get(group) ?? []), p]);
  }
  return out;
}
const sumOf = (ps: Point[] | undefined) => (ps ?? []).reduce((n, p) => n + (p.value ?? 0), 0);

function rateSeries(metric: string, group: (p: Point) => string | undefined, scale = 1): Series[] {
  const list = points.get(metric) ?? [];
  const names = [...new Set(list.map(group).filter((g): g is string => g !== undefined))].sort();
  return names.map((name) => ({
    name,
    values: times.map((t) => {
      if (t - WINDOW < times[0]) return null;
      const now = sumOf(at(list, t, group).get(name));
      const before = sumOf(at(list, t - WINDOW, group).get(name));
      return Math.max(0, (now - before) / (WINDOW / 1000)) * scale;
    }),
  }));
}

function gaugeSeries(
  metric: string,
  group: (p: Point) => string | undefined,
  suffix: string,
): Series[] {
  const list = points.get(metric) ?? [];
  const names = [...new Set(list.map(group).filter((g): g is string => g !== undefined))].sort();
  return names.map((name) => ({
    name: `${name} ${suffix}`,
    values: times.map((t) => sumOf(at(list, t, group).get(name))),
  }));
}

function quantileSeries(metric: string, qs: number[]): Series[] {
  const list = points.get(metric) ?? [];
  const merged = (t: number) => {
    let bounds: number[] = [];
    let counts: number[] = [];
    for (const p of at(list, t, () => "all").get("all") ?? []) {
      bounds = p.bounds ?? bounds;
      counts = (p.buckets ?? []).map((c, i) => c + (counts[i] ?? 0));
    }
    return { bounds, counts };
  };
  return qs.map((q) => ({
    name: `p${Math.round(q * 100)}`,
    values: times.map((t) => {
      if (t - WINDOW < times[0]) return null;
      const now = merged(t);
      const before = merged(t - WINDOW);
      const delta = now.counts.map((c, i) => c - (before.counts[i] ?? 0));
      const total = delta.reduce((a, b) => a + b, 0);
      if (total <= 0) return null;
      // histogram_quantile: linear interpolation inside the bucket holding the rank
      const rank = q * total;
      let seen = 0;
      for (let i = 0; i < delta.length; i++) {
        if (seen + delta[i] >= rank) {
          const lo = i === 0 ? 0 : now.bounds[i - 1];
          const hi = i < now.bounds.length ? now.bounds[i] : now.bounds[now.bounds.length - 1];
          return lo + (hi - lo) * ((rank - seen) / Math.max(delta[i], 1));
        }
        seen += delta[i];
      }
      return null;
    }),
  }));
}

const by = (key: string) => (p: Point) => p.attrs[key];
const SERIES: Series[][] = [
  rateSeries(
    "sluice.requests",
    (p) =>
      p.attrs["sluice.call_type"] === "gateway_error" ? undefined : p.attrs["gen_ai.request.model"],
  ),
  rateSeries(
    "sluice.requests",
    (p) => p.attrs["sluice.status"] === "failure" ? p.attrs["gen_ai.request.model"] : undefined,
  ),
  quantileSeries("gen_ai.client.operation.duration", [0.5, 0.95]),
  quantileSeries("gen_ai.server.time_to_first_token", [0.5, 0.95]),
  [], // tokens per second: below, from the histogram sums
  rateSeries("sluice.cost.usd", by("gen_ai.request.model"), 3600),
  rateSeries("sluice.cost.usd", by("sluice.team"), 3600),
  rateSeries(
    "sluice.sink.events",
    (p) =>
      ["sent", "retried", "dropped"].includes(p.attrs["sluice.outcome"])
        ? `${p.attrs["sluice.sink"]} ${p.attrs["sluice.outcome"]}`
        : undefined,
  ),
  [
    ...gaugeSeries("sluice.sink.queue_depth", by("sluice.sink"), "queued").filter((s) =>
      s.values.some((v) => (v ?? 0) > 5)
    ),
    ...gaugeSeries("sluice.sink.spool_events", by("sluice.sink"), "spooled").filter((s) =>
      s.values.some((v) => (v ?? 0) > 5)
    ),
    ...gaugeSeries("sluice.sink.circuit_open", by("sluice.sink"), "circuit open").filter((s) =>
      s.values.some((v) => (v ?? 0) > 0)
    ),
  ],
];
// tokens per second by type, from the histogram sums (OTLP carries `sum` on each point)
{
  const raw = new Map<string, { t: number; attrs: Record<string, string>; value: number }[]>();
  for (const r of otlp.accepted.filter((r) => r.signal === "metrics")) {
    for (const rm of r.request.resourceMetrics ?? []) {
      for (const sm of rm.scopeMetrics ?? []) {
        for (const m of sm.metrics ?? []) {
          if (m.name !== "gen_ai.client.token.usage") continue;
          for (const p of m.histogram.dataPoints) {
            const attrs: Record<string, string> = {};
            for (const a of p.attributes ?? []) attrs[a.key] = String(a.value?.stringValue ?? "");
            raw.set("x", [...(raw.get("x") ?? []), {
              t: Number(BigInt(p.timeUnixNano) / 1_000_000n),
              attrs,
              value: Number(p.sum ?? 0),
            }]);
          }
        }
      }
    }
  }
  points.set("tokens.sum", (raw.get("x") ?? []) as Point[]);
  SERIES[4] = rateSeries("tokens.sum", by("gen_ai.token.type"));
}

// ---- drawing ----
interface Theme {
  name: string;
  bg: string;
  panel: string;
  border: string;
  text: string;
  muted: string;
  grid: string;
  palette: string[];
  header: string;
  font: string;
}
const THEMES: Theme[] = [
  {
    name: "grafana",
    bg: "#111217",
    panel: "#181b1f",
    border: "#2c3235",
    text: "#ccccdc",
    muted: "#8e8e9a",
    grid: "#26282d",
    palette: [
      "#73bf69",
      "#f2cc0c",
      "#8ab8ff",
      "#ff780a",
      "#f2495c",
      "#5794f2",
      "#b877d9",
      "#fade2a",
    ],
    header: "Grafana · Sluice LLM gateway (OpenTelemetry) · Prometheus via OTLP",
    font: "Inter, Helvetica, Arial, sans-serif",
  },
  {
    name: "signoz",
    bg: "#0b0c0e",
    panel: "#121317",
    border: "#1d212d",
    text: "#e9e9e9",
    muted: "#9aa0ae",
    grid: "#1f232d",
    palette: [
      "#4e74f8",
      "#f56c87",
      "#25e192",
      "#ffcd56",
      "#ae7ef6",
      "#f0885a",
      "#59c5d8",
      "#d6e05e",
    ],
    header: "SigNoz · Sluice LLM gateway (OpenTelemetry) · OTLP metrics",
    font: "Inter, Helvetica, Arial, sans-serif",
  },
];

const fmtValue = (v: number, unit: string) =>
  unit === "s"
    ? v < 1 ? `${Math.round(v * 1000)} ms` : `${v.toFixed(2)} s`
    : unit === "currencyUSD"
    ? `$${v < 10 ? v.toFixed(2) : Math.round(v)}`
    : unit === "reqps"
    ? `${v.toFixed(v < 1 ? 2 : 1)}/s`
    : v >= 1000
    ? `${(v / 1000).toFixed(1)}k`
    : v.toFixed(v < 10 ? 1 : 0);

function panelSvg(
  theme: Theme,
  title: string,
  unit: string,
  shown: Series[],
  w: number,
  h: number,
): string {
  // series that never left zero are left out, as a legend "hide empty series" would
  const series = shown.filter((s) => s.values.some((v) => v !== null && v > 0));
  const pad = { l: 58, r: 12, t: 34, b: 56 };
  const iw = w - pad.l - pad.r;
  const ih = h - pad.t - pad.b;
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const max = Math.max(1e-9, ...all) * 1.1;
  const x = (i: number) => pad.l + (i / Math.max(1, times.length - 1)) * iw;
  const y = (v: number) => pad.t + ih - (v / max) * ih;
  const parts: string[] = [
    `<rect x="0.5" y="0.5" width="${w - 1}" height="${
      h - 1
    }" rx="4" fill="${theme.panel}" stroke="${theme.border}"/>`,
    `<text x="12" y="21" fill="${theme.text}" font-size="13" font-weight="600">${title}</text>`,
  ];
  for (let k = 0; k <= 4; k++) {
    const v = (max / 4) * k;
    parts.push(
      `<line x1="${pad.l}" x2="${pad.l + iw}" y1="${y(v)}" y2="${y(v)}" stroke="${theme.grid}"/>`,
      `<text x="${pad.l - 6}" y="${
        y(v) + 4
      }" fill="${theme.muted}" font-size="10" text-anchor="end">${fmtValue(v, unit)}</text>`,
    );
  }
  const t0 = times[0] ?? 0;
  for (let k = 0; k <= 4; k++) {
    const i = Math.round(((times.length - 1) / 4) * k);
    const sec = Math.round(((times[i] ?? t0) - t0) / 1000);
    parts.push(
      `<text x="${x(i)}" y="${
        pad.t + ih + 15
      }" fill="${theme.muted}" font-size="10" text-anchor="middle">+${sec}s</text>`,
    );
  }
  series.forEach((s, n) => {
    const color = theme.palette[n % theme.palette.length];
    let d = "";
    s.values.forEach((v, i) => {
      if (v === null) return;
      d += `${d && s.values[i - 1] !== null ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
    });
    if (d) parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.8"/>`);
  });
  let lx = pad.l;
  let ly = h - 27;
  series.forEach((s, n) => {
    const color = theme.palette[n % theme.palette.length];
    if (lx + s.name.length * 5.8 > w - 10) {
      if (ly === h - 13) return;
      lx = pad.l;
      ly = h - 13;
    }
    parts.push(
      `<rect x="${lx}" y="${ly - 5}" width="12" height="3" fill="${color}"/>`,
      `<text x="${lx + 16}" y="${ly}" fill="${theme.muted}" font-size="10">${s.name}</text>`,
    );
    lx += 24 + s.name.length * 5.8;
  });
  if (series.length === 0) {
    parts.push(
      `<text x="${w / 2}" y="${
        h / 2
      }" fill="${theme.muted}" font-size="12" text-anchor="middle">no data</text>`,
    );
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="${theme.font}">${
    parts.join("")
  }</svg>`;
}

function page(theme: Theme): string {
  const W = 1500;
  const colW = W / 24;
  const rowH = 36;
  const cells = PANELS.map((panel, i) => {
    const w = panel.grid.w * colW - 8;
    const h = panel.grid.h * rowH - 8;
    return `<div style="position:absolute;left:${panel.grid.x * colW + 4}px;top:${
      panel.grid.y * rowH + 4
    }px">${panelSvg(theme, panel.title, panel.unit, SERIES[i], w, h)}</div>`;
  }).join("");
  const height = Math.max(...PANELS.map((p) => p.grid.y + p.grid.h)) * rowH + 8;
  return `<!doctype html><html><body style="margin:0;background:${theme.bg};font-family:${theme.font}">
<div style="color:${theme.text};padding:12px 16px;font-size:15px;border-bottom:1px solid ${theme.border}">${theme.header}
<span style="color:${theme.muted};font-size:12px;margin-left:12px">rendered from a real gateway run (${calls} calls, ${times.length} metric exports) by docs/dashboards/render_preview.ts</span></div>
<div style="position:relative;width:${W}px;height:${height}px;margin:8px">${cells}</div></body></html>`;
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
try {
  for (const theme of THEMES) {
    const tab = await browser.newPage({ viewport: { width: 1516, height: 1000 } });
    await tab.setContent(page(theme));
    const file = new URL(`${theme.name}-preview.png`, DIR);
    await tab.screenshot({ path: file.pathname, fullPage: true });
    await tab.close();
    console.log(`wrote ${file.pathname}`);
  }
} finally {
  await browser.close();
}
