/**
 * Calls: newest first, filtered (the filters live in the URL), paged by
 * cursor, and live: new calls that match arrive over SSE without a reload.
 * @module
 */
import { useEffect, useMemo, useState } from "preact/hooks";
import { type CallPage, type CallRow, get, type Meta } from "../api.ts";
import { ErrorLine, Link, StatusBadge } from "../components.tsx";
import { count, duration, money, time } from "../format.ts";
import { navigate } from "../router.ts";

const RANGES: [string, string][] = [
  ["", "any time"],
  ["15m", "last 15 min"],
  ["1h", "last hour"],
  ["24h", "last 24 h"],
  ["7d", "last 7 days"],
  ["30d", "last 30 days"],
];
const RANGE_MS: Record<string, number> = {
  "15m": 900_000,
  "1h": 3_600_000,
  "24h": 86_400_000,
  "7d": 604_800_000,
  "30d": 2_592_000_000,
};

/** Filter fields kept in the URL, and the API parameter each becomes. */
const FIELDS = [
  "model",
  "provider",
  "status",
  "call_type",
  "team",
  "key_alias",
  "user",
  "tag",
  "min_cost",
  "max_cost",
  "min_latency_ms",
  "max_latency_ms",
  "q",
] as const;

/** The API query of the page's URL query (the range turned into `from`). */
function apiQuery(query: URLSearchParams): URLSearchParams {
  const params = new URLSearchParams();
  for (const field of FIELDS) {
    const value = query.get(field);
    if (value) params.set(field, value);
  }
  const range = query.get("range") ?? "";
  if (RANGE_MS[range]) params.set("from", String(Date.now() - RANGE_MS[range]));
  return params;
}

function Select(
  props: {
    name: string;
    value: string;
    options: (string | [string, string])[];
    any: string;
    onChange: (v: string) => void;
  },
) {
  return (
    <select
      name={props.name}
      value={props.value}
      onChange={(e) => props.onChange((e.target as HTMLSelectElement).value)}
    >
      <option value="">{props.any}</option>
      {props.options.map((o) =>
        typeof o === "string"
          ? <option key={o} value={o}>{o}</option>
          : <option key={o[0]} value={o[0]}>{o[1]}</option>
      )}
    </select>
  );
}

/** The calls page. */
export function CallsPage(props: { query: URLSearchParams; meta: Meta | null }) {
  const queryText = props.query.toString();
  const [rows, setRows] = useState<CallRow[]>([]);
  const [next, setNext] = useState<string | undefined>();
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(true);
  const [live, setLive] = useState(true);
  const [connected, setConnected] = useState(false);
  const [fresh, setFresh] = useState<Set<string>>(new Set());
  const [draft, setDraft] = useState<Record<string, string>>({});

  const query = useMemo(() => new URLSearchParams(queryText), [queryText]);
  const value = (name: string) => draft[name] ?? query.get(name) ?? "";

  const apply = (changes: Record<string, string>) => {
    const nextQuery = new URLSearchParams(queryText);
    for (const [name, v] of Object.entries({ ...draft, ...changes })) {
      if (v) nextQuery.set(name, v);
      else nextQuery.delete(name);
    }
    setDraft({});
    const text = nextQuery.toString();
    navigate(`/ui${text ? `?${text}` : ""}`);
  };

  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    setError(undefined);
    get<CallPage>(`/calls?${apiQuery(query)}&limit=50`, controller.signal)
      .then((page) => {
        setRows(page.calls);
        setNext(page.next);
      })
      .catch((e) => {
        if (!controller.signal.aborted) setError(e);
      })
      .finally(() => setLoading(false));
    return () => controller.abort();
  }, [queryText]);

  useEffect(() => {
    if (!live || loading) return;
    const params = apiQuery(query);
    params.delete("from"); // new calls are newer than any range start
    if (rows[0]) params.set("after", `${rows[0].start_time}.${rows[0].seq}`);
    const source = new EventSource(`/ui/api/calls/live?${params}`);
    source.onopen = () => setConnected(true);
    source.onerror = () => setConnected(false);
    source.addEventListener("calls", (event) => {
      const calls = JSON.parse((event as MessageEvent).data) as CallRow[];
      setRows((old) => {
        const known = new Set(old.map((c) => c.request_id));
        return [...calls.filter((c) => !known.has(c.request_id)), ...old].slice(0, 1000);
      });
      setFresh(new Set(calls.map((c) => c.request_id)));
    });
    return () => {
      source.close();
      setConnected(false);
    };
  }, [queryText, live, loading]);

  const more = async () => {
    if (!next) return;
    try {
      const page = await get<CallPage>(`/calls?${apiQuery(query)}&limit=50&before=${next}`);
      setRows((old) => [...old, ...page.calls]);
      setNext(page.next);
    } catch (e) {
      setError(e);
    }
  };

  const meta = props.meta;
  const text = (name: string, placeholder: string, type = "text") => (
    <input
      name={name}
      type={type}
      placeholder={placeholder}
      value={value(name)}
      step={type === "number" ? "any" : undefined}
      onInput={(e) => setDraft({ ...draft, [name]: (e.target as HTMLInputElement).value })}
      onKeyDown={(e) => {
        if (e.key === "Enter") apply({});
      }}
    />
  );

  return (
    <div class="page calls-page">
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          apply({});
        }}
      >
        <div class="search">{text("q", "Search the redacted content…")}</div>
        <Select
          name="range"
          value={value("range")}
          options={RANGES.slice(1)}
          any="any time"
          onChange={(v) => apply({ range: v })}
        />
        <Select
          name="model"
          value={value("model")}
          options={meta?.models ?? []}
          any="all models"
          onChange={(v) => apply({ model: v })}
        />
        <Select
          name="provider"
          value={value("provider")}
          options={meta?.providers ?? []}
          any="all providers"
          onChange={(v) => apply({ provider: v })}
        />
        <Select
          name="status"
          value={value("status")}
          options={["success", "failure"]}
          any="any status"
          onChange={(v) => apply({ status: v })}
        />
        <Select
          name="call_type"
          value={value("call_type")}
          options={meta?.call_types ?? []}
          any="all call types"
          onChange={(v) => apply({ call_type: v })}
        />
        <Select
          name="team"
          value={value("team")}
          options={meta?.teams ?? []}
          any="all teams"
          onChange={(v) => apply({ team: v })}
        />
        <Select
          name="key_alias"
          value={value("key_alias")}
          options={meta?.key_aliases ?? []}
          any="all keys"
          onChange={(v) => apply({ key_alias: v })}
        />
        {text("user", "user")}
        {text("tag", "tag")}
        {text("min_cost", "min $", "number")}
        {text("max_cost", "max $", "number")}
        {text("min_latency_ms", "min ms", "number")}
        {text("max_latency_ms", "max ms", "number")}
        <button type="submit">Apply</button>
        {queryText && (
          <button type="button" class="secondary" onClick={() => navigate("/ui")}>
            Clear
          </button>
        )}
      </form>
      <div class="toolbar">
        <label class="live-toggle">
          <input
            type="checkbox"
            checked={live}
            onChange={(e) => setLive((e.target as HTMLInputElement).checked)}
          />
          <span class={`dot ${live && connected ? "on" : ""}`} />
          {live ? (connected ? "live" : "connecting…") : "paused"}
        </label>
        <span class="muted">{rows.length} shown, newest first</span>
      </div>
      <ErrorLine error={error} />
      <table class="calls">
        <thead>
          <tr>
            <th>time</th>
            <th>call id</th>
            <th>model</th>
            <th>status</th>
            <th class="num">latency</th>
            <th class="num">TTFT</th>
            <th class="num">tokens in / out</th>
            <th class="num">cost</th>
            <th>key · team</th>
            <th>type</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((c) => (
            <tr
              key={c.request_id}
              class={fresh.has(c.request_id) ? "fresh" : ""}
              data-call-id={c.call_id}
              data-model={c.model_group ?? ""}
            >
              <td class="nowrap">{time(c.start_time)}</td>
              <td>
                <Link
                  href={`/ui/calls/${encodeURIComponent(c.request_id)}`}
                  class="mono"
                  title={c.call_id}
                >
                  {c.call_id.slice(0, 12)}
                </Link>
              </td>
              <td>{c.model_group ?? c.model ?? "—"}</td>
              <td>
                <StatusBadge status={c.status} code={c.error_status} />
              </td>
              <td class="num">{duration(c.response_time_ms)}</td>
              <td class="num">{duration(c.ttft_ms)}</td>
              <td class="num">{count(c.prompt_tokens)} / {count(c.completion_tokens)}</td>
              <td class="num">{money(c.cost)}</td>
              <td>
                {[c.key_alias ?? (c.key_hash ? `sha256:${c.key_hash.slice(0, 8)}` : null), c.team]
                  .filter(Boolean).join(" · ") || "—"}
              </td>
              <td class="muted">{c.call_type}{c.stream ? " · stream" : ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {!loading && rows.length === 0 && !error && (
        <p class="empty">No calls match. Make a call through the gateway and it appears here.</p>
      )}
      {next && (
        <button type="button" class="more" onClick={more}>
          Older calls
        </button>
      )}
    </div>
  );
}
