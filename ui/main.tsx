/**
 * The Sluice console (served at `/ui`): a Preact app over the `/ui/api`
 * JSON API. Bundled with uPlot into `core/console/assets/app.js` and
 * `app.css` by `deno task build:ui`; no inline script, no runtime CDN.
 * @module
 */
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import "uplot/dist/uPlot.min.css";
import "./app.css";
import { ApiError, get, loggedOut, type Meta, post, type Session } from "./api.ts";
import { ErrorLine, Link } from "./components.tsx";
import { navigate, useLocation } from "./router.ts";
import { CallsPage } from "./pages/calls.tsx";
import { DetailPage } from "./pages/detail.tsx";
import { OverviewPage } from "./pages/overview.tsx";
import { SinksPage } from "./pages/sinks.tsx";
import { TracesPage } from "./pages/traces.tsx";

function Login(props: { onLogin: () => void }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  return (
    <main class="login">
      <form
        class="login-box"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(undefined);
          try {
            await post("/login", { key });
            setKey("");
            props.onLogin();
          } catch (err) {
            setError(
              err instanceof ApiError && err.status === 401
                ? new Error("That key may not use the console.")
                : err,
            );
          } finally {
            setBusy(false);
          }
        }}
      >
        <h1>
          <span class="logo">◆</span> Sluice console
        </h1>
        <p class="muted">Log in with the master key or a key marked admin.</p>
        <label>
          Key
          <input
            name="key"
            type="password"
            autocomplete="current-password"
            value={key}
            onInput={(e) => setKey((e.target as HTMLInputElement).value)}
            required
          />
        </label>
        <button type="submit" disabled={busy}>Log in</button>
        <ErrorLine error={error} />
      </form>
    </main>
  );
}

const NAV: [string, string][] = [
  ["/ui", "Calls"],
  ["/ui/overview", "Overview"],
  ["/ui/traces", "Traces"],
  ["/ui/sinks", "Sinks"],
];

function App() {
  const { path, query } = useLocation();
  const [session, setSession] = useState<Session | null>(null);
  const [meta, setMeta] = useState<Meta | null>(null);
  const [error, setError] = useState<unknown>();
  const load = () => {
    get<Session>("/session").then(setSession).catch(setError);
  };
  useEffect(() => {
    load();
    const onLoggedOut = () => setSession((s) => s && { ...s, authenticated: false, user: null });
    loggedOut.add(onLoggedOut);
    return () => {
      loggedOut.delete(onLoggedOut);
    };
  }, []);
  useEffect(() => {
    if (session?.authenticated) get<Meta>("/meta").then(setMeta).catch(() => {});
  }, [session?.authenticated]);

  if (error) {
    return (
      <main class="login">
        <ErrorLine error={error} />
      </main>
    );
  }
  if (!session) {
    return (
      <main class="login">
        <p class="muted">Loading…</p>
      </main>
    );
  }
  if (!session.authenticated) return <Login onLogin={load} />;

  let page;
  let section = "/ui";
  if (path.startsWith("/ui/calls/")) page = <DetailPage id={decodeURIComponent(path.slice(10))} />;
  else if (path === "/ui/overview") {
    page = <OverviewPage query={query} />;
    section = path;
  } else if (path.startsWith("/ui/traces")) {
    const id = path.slice("/ui/traces/".length);
    page = <TracesPage traceId={id || undefined} />;
    section = "/ui/traces";
  } else if (path === "/ui/sinks") {
    page = <SinksPage />;
    section = path;
  } else page = <CallsPage query={query} meta={meta} />;

  return (
    <div class="shell">
      <nav class="top">
        <span class="brand">
          <span class="logo">◆</span> Sluice
        </span>
        {NAV.map(([href, label]) => (
          <Link key={href} href={href} class={section === href ? "active" : ""}>
            {label}
          </Link>
        ))}
        <span class="spacer" />
        <span class="who" title={session.store}>{session.user?.name}</span>
        {session.login_required && (
          <button
            type="button"
            class="secondary small"
            onClick={async () => {
              await post("/logout", {}).catch(() => {});
              navigate("/ui");
              load();
            }}
          >
            Log out
          </button>
        )}
      </nav>
      <main>{page}</main>
    </div>
  );
}

render(<App />, document.getElementById("app")!);
