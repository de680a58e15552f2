/**
 * One call: its ids (copyable), a timing bar, usage and cost, the request
 * and response as stored (redacted: the console shows what the sinks saw),
 * tool calls, headers and metadata, and each sink's delivery state.
 * @module
 */
import { useEffect, useState } from "preact/hooks";
import { type CallDetail, get } from "../api.ts";
import { Copyable, ErrorLine, JsonBlock, Link, Panel, StatusBadge } from "../components.tsx";
import { count, duration, money, time } from "../format.ts";

type Json = Record<string, unknown>;

/** Tool calls of the request's and the response's messages. */
function toolCalls(event: Json): unknown[] {
  const found: unknown[] = [];
  const visit = (value: unknown) => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === "object") {
      const object = value as Json;
      if (Array.isArray(object.tool_calls)) found.push(...object.tool_calls);
      if (object.type === "tool_use" || object.type === "function_call") found.push(object);
      if (Array.isArray(object.content)) object.content.forEach(visit);
    }
  };
  visit(event.messages);
  visit(event.response);
  return found;
}

/** The badge colour of a call's state with a sink. */
function deliveryBadge(state: string): string {
  if (state === "sent" || state === "stored") return "ok";
  if (/retrying|dropped/.test(state)) return "bad";
  if (state === "queued" || state === "spooled") return "warn";
  return "muted";
}

/** The timing bar: gateway overhead, upstream, TTFT and total on one scale. */
function TimingBar(props: { event: Json; total: number; ttft: number | null }) {
  // `gateway_overhead_ms` / `upstream_ms`, top-level or under `timings`, once events carry them.
  const timings = (props.event.timings ?? {}) as Json;
  const figure = (name: string): number | null => {
    const value = props.event[name] ?? timings[name];
    return typeof value === "number" && Number.isFinite(value) ? value : null;
  };
  const overhead = figure("gateway_overhead_ms");
  const upstream = figure("upstream_ms") ??
    (overhead !== null ? Math.max(0, props.total - overhead) : null);
  const total = Math.max(props.total, 1);
  const pct = (ms: number) => `${Math.min(100, Math.max(0.5, (ms / total) * 100)).toFixed(2)}%`;
  return (
    <div class="timing" data-testid="timing-bar">
      <div class="timing-track">
        {props.ttft !== null && (
          <div
            class="seg ttft"
            style={{ width: pct(props.ttft) }}
            title={`TTFT ${duration(props.ttft)}`}
          />
        )}
        {props.ttft !== null && (
          <div
            class="seg stream"
            style={{ width: pct(Math.max(0, props.total - props.ttft)) }}
            title="streaming / rest of the answer"
          />
        )}
        {props.ttft === null && <div class="seg total" style={{ width: "100%" }} />}
      </div>
      {overhead !== null && upstream !== null && (
        <div class="timing-track thin" title="gateway overhead and upstream">
          <div class="seg overhead" style={{ width: pct(overhead) }} />
          <div class="seg upstream" style={{ width: pct(upstream) }} />
        </div>
      )}
      <dl class="timing-legend">
        <div>
          <dt>
            <span class="key overhead" />gateway overhead
          </dt>
          <dd>{overhead !== null ? duration(overhead) : "not in the event"}</dd>
        </div>
        <div>
          <dt>
            <span class="key upstream" />upstream
          </dt>
          <dd>{upstream !== null ? duration(upstream) : "not in the event"}</dd>
        </div>
        <div>
          <dt>
            <span class="key ttft" />time to first token
          </dt>
          <dd>{duration(props.ttft)}</dd>
        </div>
        <div>
          <dt>
            <span class="key total" />total
          </dt>
          <dd>{duration(props.total)}</dd>
        </div>
      </dl>
    </div>
  );
}

/** The call detail page. */
export function DetailPage(props: { id: string }) {
  const [detail, setDetail] = useState<CallDetail | null>(null);
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    const controller = new AbortController();
    setDetail(null);
    get<CallDetail>(`/calls/${encodeURIComponent(props.id)}`, controller.signal)
      .then(setDetail)
      .catch((e) => {
        if (!controller.signal.aborted) setError(e);
      });
    return () => controller.abort();
  }, [props.id]);
  if (error) {
    return (
      <div class="page">
        <ErrorLine error={error} />
      </div>
    );
  }
  if (!detail) {
    return (
      <div class="page">
        <p class="muted">Loading…</p>
      </div>
    );
  }
  const { call, delivery } = detail;
  const event = call.event;
  const metadata = (event.metadata ?? {}) as Json;
  const breakdown = (event.cost_breakdown ?? null) as Json | null;
  const tools = toolCalls(event);
  const error_ = event.error as Json | undefined;
  return (
    <div class="page detail-page">
      <div class="title-row">
        <h1>
          {call.call_type} · {call.model_group ?? call.model ?? "?"}{" "}
          <StatusBadge status={call.status} code={call.error_status} />
        </h1>
        <span class="muted">
          {time(call.start_time)} · {call.provider ?? ""}
          {call.api_base_host ? ` · ${call.api_base_host}` : ""}
        </span>
      </div>
      <div class="grid two">
        <Panel title="Ids">
          <Copyable label="call id" value={call.call_id} />
          <Copyable label="request id" value={call.request_id} />
          <Copyable label="response id" value={call.response_id} />
          <Copyable label="trace id" value={call.trace_id} />
          <Copyable label="span id" value={call.span_id} />
          <Copyable label="parent span" value={call.parent_span_id} />
          <p>
            <Link href={`/ui/traces/${call.trace_id}`}>Open the trace →</Link>
          </p>
        </Panel>
        <Panel title="Timing">
          <TimingBar event={event} total={call.response_time_ms} ttft={call.ttft_ms} />
        </Panel>
        <Panel title="Usage and cost">
          <table class="kv">
            <tbody>
              <tr>
                <th>input tokens</th>
                <td>{count(call.prompt_tokens)}</td>
                <td>{breakdown ? money(breakdown.input as number) : ""}</td>
              </tr>
              <tr>
                <th>output tokens</th>
                <td>{count(call.completion_tokens)}</td>
                <td>{breakdown ? money(breakdown.output as number) : ""}</td>
              </tr>
              <tr>
                <th>cache read</th>
                <td>{count(call.cache_read_input_tokens ?? 0)}</td>
                <td>{breakdown ? money(breakdown.cache_read as number) : ""}</td>
              </tr>
              <tr>
                <th>total</th>
                <td>{count(call.total_tokens)}</td>
                <td>
                  <strong>{money(call.cost)}</strong>
                </td>
              </tr>
            </tbody>
          </table>
        </Panel>
        <Panel title="Caller">
          <table class="kv">
            <tbody>
              <tr>
                <th>key</th>
                <td>
                  {call.key_alias ?? "—"}{" "}
                  {call.key_hash && <code class="muted">sha256:{call.key_hash.slice(0, 12)}…</code>}
                </td>
              </tr>
              <tr>
                <th>team</th>
                <td>{call.team ?? "—"}</td>
              </tr>
              <tr>
                <th>user</th>
                <td>{call.user ?? "—"}</td>
              </tr>
              <tr>
                <th>end user</th>
                <td>{call.end_user ?? "—"}</td>
              </tr>
              <tr>
                <th>tags</th>
                <td>
                  {call.tags.length
                    ? call.tags.map((t) => <span key={t} class="tag">{t}</span>)
                    : "—"}
                </td>
              </tr>
              <tr>
                <th>client</th>
                <td>
                  {String(metadata.requester_ip ?? "—")} · {String(metadata.user_agent ?? "—")}
                </td>
              </tr>
            </tbody>
          </table>
        </Panel>
      </div>
      {error_ && (
        <Panel title="Error" class="bad">
          <p>
            <strong>{String(error_.status)} {String(error_.class)}</strong>{" "}
            <code>{String(error_.code)}</code>
          </p>
          <p>{String(error_.message)}</p>
        </Panel>
      )}
      <div class="grid two">
        <Panel title="Request (as stored, redacted)">
          <JsonBlock value={event.messages ?? "(no messages)"} class="request" />
          {event.model_parameters !== undefined && (
            <>
              <h3>parameters</h3>
              <JsonBlock value={event.model_parameters} />
            </>
          )}
        </Panel>
        <Panel title={call.stream ? "Response (streamed, as stored)" : "Response (as stored)"}>
          <JsonBlock value={event.response ?? "(no response)"} class="response" />
          {call.finish_reason && <p class="muted">finish reason: {call.finish_reason}</p>}
        </Panel>
      </div>
      {tools.length > 0 && (
        <Panel title={`Tool calls (${tools.length})`}>
          <JsonBlock value={tools} />
        </Panel>
      )}
      <div class="grid two">
        <Panel title="Headers">
          {event.raw_request
            ? <JsonBlock value={(event.raw_request as Json).headers} />
            : (
              <p class="muted">
                Upstream headers are kept only with metadata.log_raw_request. Client:{" "}
                {String(metadata.user_agent ?? "—")}
              </p>
            )}
        </Panel>
        <Panel title="Metadata">
          <JsonBlock value={metadata} />
        </Panel>
      </div>
      <Panel title="Delivery of this call to each sink">
        <table class="sinks">
          <thead>
            <tr>
              <th>sink</th>
              <th>state</th>
              <th class="num">spooled</th>
              <th class="num">dropped</th>
              <th>last error</th>
            </tr>
          </thead>
          <tbody>
            {delivery.map((d) => (
              <tr key={d.sink}>
                <td>{d.sink}</td>
                <td>
                  <span class={`badge ${deliveryBadge(d.state)}`}>{d.state}</span>
                </td>
                <td class="num">{count(d.spooled_events)}</td>
                <td class="num">{count(d.dropped)}</td>
                <td class="error-text">{d.last_error ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Panel>
    </div>
  );
}
