/**
 * Sinks: each sink's live state from the pipeline: queue depth, spool,
 * circuit, sent / retried / dropped counts and the last error.
 * @module
 */
import { useEffect, useState } from "preact/hooks";
import { get, type SinkState } from "../api.ts";
import { ErrorLine } from "../components.tsx";
import { bytes, count } from "../format.ts";

const STATE_TEXT: Record<SinkState["state"], string> = {
  ok: "delivering",
  backlog: "catching up",
  retrying: "retrying",
  down: "down · circuit open",
};

/** The sinks page. */
export function SinksPage() {
  const [sinks, setSinks] = useState<SinkState[] | null>(null);
  const [error, setError] = useState<unknown>();
  const [at, setAt] = useState(0);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      try {
        const result = await get<{ sinks: SinkState[] }>("/sinks");
        if (!stopped) {
          setSinks(result.sinks);
          setError(undefined);
          setAt(Date.now());
        }
      } catch (e) {
        if (!stopped) setError(e);
      }
      if (!stopped) timer = setTimeout(load, 2_000);
    };
    load();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, []);
  return (
    <div class="page sinks-page">
      <div class="toolbar">
        <span class="muted">
          The pipeline's live state{at ? `, updated ${new Date(at).toLocaleTimeString()}` : ""}{" "}
          · refreshes every 2 s
        </span>
      </div>
      <ErrorLine error={error} />
      <div class="sink-cards">
        {(sinks ?? []).map((s) => (
          <article class={`sink-card ${s.state}`} data-sink={s.name} key={s.name}>
            <header>
              <h2>{s.name}</h2>
              <span
                class={`badge ${s.state === "ok" ? "ok" : s.state === "backlog" ? "warn" : "bad"}`}
              >
                {STATE_TEXT[s.state]}
              </span>
            </header>
            <p class="muted">use: {s.use}</p>
            <dl class="figures">
              <div>
                <dt>queue</dt>
                <dd>{count(s.queue_depth)}</dd>
              </div>
              <div>
                <dt>spool</dt>
                <dd>{count(s.spool_events)} · {bytes(s.spool_bytes)}</dd>
              </div>
              <div>
                <dt>circuit</dt>
                <dd class={s.circuit === "open" ? "bad-text" : ""}>{s.circuit}</dd>
              </div>
              <div>
                <dt>sent</dt>
                <dd>{count(s.sent)}</dd>
              </div>
              <div>
                <dt>retried</dt>
                <dd>{count(s.retried)}</dd>
              </div>
              <div>
                <dt>dropped</dt>
                <dd class={s.dropped ? "bad-text" : ""}>{count(s.dropped)}</dd>
              </div>
              <div>
                <dt>skipped</dt>
                <dd>{count(s.skipped)}</dd>
              </div>
            </dl>
            {s.last_error && (
              <div class="last-error">
                <span>last error</span>
                <code>{s.last_error}</code>
              </div>
            )}
          </article>
        ))}
      </div>
      {sinks && sinks.length === 0 && <p class="empty">No sinks configured.</p>}
    </div>
  );
}
