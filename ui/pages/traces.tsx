/**
 * Traces: the recent traces, and one trace's spans as a waterfall (the
 * gateway's call spans, and ingested OTLP spans once they are stored).
 * @module
 */
import { useEffect, useState } from "preact/hooks";
import { type CallPage, type CallRow, get, type Span } from "../api.ts";
import { Copyable, ErrorLine, Link, Panel } from "../components.tsx";
import { duration, time } from "../format.ts";
import { navigate } from "../router.ts";

/** Spans in tree order (children under their parent), with their depth. */
function ordered(spans: Span[]): { span: Span; depth: number }[] {
  const ids = new Set(spans.map((s) => s.span_id));
  const children = new Map<string, Span[]>();
  const roots: Span[] = [];
  for (const span of spans) {
    if (
      span.parent_span_id && ids.has(span.parent_span_id) && span.parent_span_id !== span.span_id
    ) {
      const list = children.get(span.parent_span_id) ?? [];
      list.push(span);
      children.set(span.parent_span_id, list);
    } else roots.push(span);
  }
  const out: { span: Span; depth: number }[] = [];
  const seen = new Set<string>();
  const walk = (span: Span, depth: number) => {
    if (seen.has(span.span_id)) return;
    seen.add(span.span_id);
    out.push({ span, depth });
    for (const child of children.get(span.span_id) ?? []) walk(child, depth + 1);
  };
  roots.forEach((r) => walk(r, 0));
  return out;
}

function Waterfall(props: { traceId: string }) {
  const [spans, setSpans] = useState<Span[] | null>(null);
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    setSpans(null);
    get<{ spans: Span[] }>(`/traces/${props.traceId}`).then((r) => setSpans(r.spans)).catch(
      setError,
    );
  }, [props.traceId]);
  if (error) return <ErrorLine error={error} />;
  if (!spans) return <p class="muted">Loading…</p>;
  if (spans.length === 0) return <p class="empty">No spans stored for this trace.</p>;
  const start = Math.min(...spans.map((s) => s.start_time));
  const end = Math.max(...spans.map((s) => s.end_time));
  const width = Math.max(end - start, 1);
  return (
    <div class="waterfall" data-testid="waterfall">
      <div class="wf-head">
        <span>span</span>
        <span class="muted">0 ms — {duration(width)}</span>
      </div>
      {ordered(spans).map(({ span, depth }) => {
        // At least a sliver for an instant span, kept inside the track (one at the very end too).
        const size = Math.max(0.6, ((span.end_time - span.start_time) / width) * 100);
        const left = Math.min(((span.start_time - start) / width) * 100, 100 - size);
        // The duration after the bar; inside a wide bar at the right end; else before it.
        const labelAt = left + size <= 85 ? "after" : size >= 12 ? "inside" : "before";
        const labelStyle = labelAt === "after"
          ? { left: `${left + size}%` }
          : labelAt === "inside"
          ? { right: `${Math.max(0, 100 - left - size)}%` }
          : { right: `${100 - left}%` };
        return (
          <div class="wf-row" key={span.span_id}>
            <div class="wf-name" style={{ paddingLeft: `${depth * 14 + 4}px` }}>
              {span.request_id
                ? <Link href={`/ui/calls/${encodeURIComponent(span.request_id)}`}>{span.name}</Link>
                : <span>{span.name}</span>}
              <span class="muted">
                {" · "}
                {span.service_name ?? (span.source === "call" ? "gateway" : "")}
              </span>
            </div>
            <div class="wf-track">
              <div
                class={`wf-bar ${span.error ? "bad" : span.source}`}
                style={{ left: `${left}%`, width: `${size}%` }}
                title={`${span.name}: ${duration(span.end_time - span.start_time)}`}
              />
              <span class={`wf-dur ${labelAt}`} style={labelStyle}>
                {duration(span.end_time - span.start_time)}
              </span>
            </div>
          </div>
        );
      })}
    </div>
  );
}

/** The traces page: `/ui/traces` lists recent traces, `/ui/traces/:id` shows one. */
export function TracesPage(props: { traceId?: string }) {
  const [recent, setRecent] = useState<CallRow[]>([]);
  const [error, setError] = useState<unknown>();
  const [input, setInput] = useState(props.traceId ?? "");
  useEffect(() => setInput(props.traceId ?? ""), [props.traceId]);
  useEffect(() => {
    get<CallPage>("/calls?limit=200").then((p) => setRecent(p.calls)).catch(setError);
  }, []);
  const traces = new Map<string, CallRow[]>();
  for (const call of recent) {
    const list = traces.get(call.trace_id) ?? [];
    list.push(call);
    traces.set(call.trace_id, list);
  }
  return (
    <div class="page traces-page">
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          if (/^[0-9a-f]{32}$/.test(input.trim())) navigate(`/ui/traces/${input.trim()}`);
        }}
      >
        <input
          name="trace"
          placeholder="trace id (32 hex)"
          value={input}
          onInput={(e) => setInput((e.target as HTMLInputElement).value)}
        />
        <button type="submit">Open</button>
      </form>
      {props.traceId && (
        <Panel title="Trace">
          <Copyable label="trace id" value={props.traceId} />
          <Waterfall traceId={props.traceId} />
        </Panel>
      )}
      <Panel title="Recent traces">
        <ErrorLine error={error} />
        <table class="calls">
          <thead>
            <tr>
              <th>started</th>
              <th>trace id</th>
              <th class="num">calls</th>
              <th>models</th>
              <th class="num">span of calls</th>
            </tr>
          </thead>
          <tbody>
            {[...traces].slice(0, 50).map(([id, calls]) => {
              const first = Math.min(...calls.map((c) => c.start_time));
              const last = Math.max(...calls.map((c) => c.end_time));
              return (
                <tr key={id}>
                  <td class="nowrap">{time(first)}</td>
                  <td>
                    <Link href={`/ui/traces/${id}`} class="mono">{id}</Link>
                  </td>
                  <td class="num">{calls.length}</td>
                  <td>{[...new Set(calls.map((c) => c.model_group ?? "?"))].join(", ")}</td>
                  <td class="num">{duration(last - first)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </Panel>
    </div>
  );
}
