/**
 * Overview: charts over a chosen window (calls and errors per bucket,
 * latency p50/p95 and TTFT, tokens in and out, cost), totals, and cost by
 * model, team and key. Refreshes on its own.
 * @module
 */
import { useEffect, useMemo, useState } from "preact/hooks";
import { get, type Group, type Stats } from "../api.ts";
import { Chart, ErrorLine, Panel } from "../components.tsx";
import { count, duration, money } from "../format.ts";
import { navigate } from "../router.ts";

const WINDOWS: [string, string, number][] = [
  ["15m", "15 min", 900_000],
  ["1h", "1 hour", 3_600_000],
  ["6h", "6 hours", 21_600_000],
  ["24h", "24 hours", 86_400_000],
  ["7d", "7 days", 604_800_000],
];

function GroupTable(props: { title: string; groups: Group[] }) {
  const max = Math.max(...props.groups.map((g) => g.cost), 1e-12);
  return (
    <Panel title={props.title}>
      <table class="groups">
        <thead>
          <tr>
            <th>name</th>
            <th class="num">calls</th>
            <th class="num">errors</th>
            <th class="num">tokens</th>
            <th class="num">cost</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {props.groups.map((g) => (
            <tr key={g.key ?? ""}>
              <td>{g.key ?? "(none)"}</td>
              <td class="num">{count(g.calls)}</td>
              <td class="num">{count(g.errors)}</td>
              <td class="num">{count(g.tokens)}</td>
              <td class="num">{money(g.cost)}</td>
              <td class="barcell">
                <div class="minibar" style={{ width: `${(g.cost / max) * 100}%` }} />
              </td>
            </tr>
          ))}
          {props.groups.length === 0 && (
            <tr>
              <td colSpan={6} class="muted">no calls</td>
            </tr>
          )}
        </tbody>
      </table>
    </Panel>
  );
}

/** The overview page. */
export function OverviewPage(props: { query: URLSearchParams }) {
  const windowName = props.query.get("window") ?? "1h";
  const span = WINDOWS.find((w) => w[0] === windowName)?.[2] ?? 3_600_000;
  // Long windows scan more rows: refresh them less often.
  const refreshMs = span <= 3_600_000 ? 5_000 : span <= 21_600_000 ? 15_000 : 60_000;
  const [stats, setStats] = useState<Stats | null>(null);
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      try {
        const now = Date.now();
        const result = await get<Stats>(`/stats?from=${now - span}&to=${now + 1}`);
        if (!stopped) {
          setStats(result);
          setError(undefined);
        }
      } catch (e) {
        if (!stopped) setError(e);
      }
      if (!stopped) timer = setTimeout(load, refreshMs);
    };
    load();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [span]);

  const charts = useMemo(() => {
    if (!stats) return null;
    const times = stats.buckets.map((b) => b.start);
    const pick = (f: (b: Stats["buckets"][number]) => number | null) => stats.buckets.map(f);
    return {
      times,
      traffic: [
        { label: "calls", values: pick((b) => b.calls), color: "#5b9cff" },
        { label: "errors", values: pick((b) => b.errors), color: "#ff6b6b" },
      ],
      latency: [
        { label: "p50", values: pick((b) => b.p50_ms), color: "#5b9cff" },
        { label: "p95", values: pick((b) => b.p95_ms), color: "#f5a524" },
        { label: "TTFT p50", values: pick((b) => b.ttft_p50_ms), color: "#3ecf8e" },
      ],
      tokens: [
        { label: "in", values: pick((b) => b.prompt_tokens), color: "#a78bfa" },
        { label: "out", values: pick((b) => b.completion_tokens), color: "#3ecf8e" },
      ],
      cost: [{ label: "cost (USD)", values: pick((b) => b.cost), color: "#f5a524" }],
    };
  }, [stats]);

  const t = stats?.totals;
  const bucket = stats
    ? (stats.bucketMs >= 3_600_000
      ? `${stats.bucketMs / 3_600_000} h`
      : `${stats.bucketMs / 60_000} min`)
    : "";
  return (
    <div class="page overview-page">
      <div class="toolbar">
        <div class="segmented" role="group">
          {WINDOWS.map(([name, label]) => (
            <button
              key={name}
              type="button"
              class={name === windowName ? "active" : ""}
              onClick={() => navigate(`/ui/overview?window=${name}`)}
            >
              {label}
            </button>
          ))}
        </div>
        <span class="muted">per {bucket} · refreshes every {refreshMs / 1000} s</span>
      </div>
      <ErrorLine error={error} />
      {t && (
        <div class="cards">
          <div class="card">
            <span>calls</span>
            <strong>{count(t.calls)}</strong>
          </div>
          <div class="card">
            <span>errors</span>
            <strong class={t.errors ? "bad-text" : ""}>{count(t.errors)}</strong>
          </div>
          <div class="card">
            <span>latency p50 / p95</span>
            <strong>{duration(t.p50_ms)} / {duration(t.p95_ms)}</strong>
          </div>
          <div class="card">
            <span>TTFT p50 / p95</span>
            <strong>{duration(t.ttft_p50_ms)} / {duration(t.ttft_p95_ms)}</strong>
          </div>
          <div class="card">
            <span>tokens in / out</span>
            <strong>{count(t.prompt_tokens)} / {count(t.completion_tokens)}</strong>
          </div>
          <div class="card">
            <span>cost</span>
            <strong>{money(t.cost)}</strong>
          </div>
        </div>
      )}
      {charts && (
        <div class="grid two">
          <Chart
            title="Calls and errors"
            times={charts.times}
            series={charts.traffic}
            unit="calls"
          />
          <Chart title="Latency and TTFT" times={charts.times} series={charts.latency} unit="ms" />
          <Chart
            title="Tokens in / out"
            times={charts.times}
            series={charts.tokens}
            unit="tokens"
          />
          <Chart title="Cost" times={charts.times} series={charts.cost} unit="USD" />
        </div>
      )}
      {stats && (
        <div class="grid three">
          <GroupTable title="Cost by model" groups={stats.byModel} />
          <GroupTable title="Cost by team" groups={stats.byTeam} />
          <GroupTable title="Cost by key" groups={stats.byKey} />
        </div>
      )}
    </div>
  );
}
