/**
 * The console at `/ui`: the page and its bundle, and the JSON API under
 * `/ui/api` (calls, one call, a trace, statistics, the sinks' live state,
 * a live feed of new calls over SSE, login and logout). Store reads run in
 * two store Workers (`store_client.ts`: one for pages, one for statistics,
 * which scan whole windows); the sinks' state comes from the log
 * side. Every answer carries a strict CSP (no inline script, no eval,
 * `default-src 'self'`), `X-Frame-Options: DENY` and `nosniff`. The API is
 * documented in docs/console-api.md.
 * @module
 */
import type { GatewayConfig, UiConfig } from "../config/types.ts";
import { sinkInstanceName } from "../config/semantics.ts";
import type { LogHost } from "../log/host.ts";
import type { SinkSnapshot } from "../pipeline/pipeline.ts";
import { parseCallQuery, parseTime, QueryError } from "./filters.ts";
import { ConsoleAuth, sessionCookie, sessionToken } from "./session.ts";
import { StoreClient, StoreError } from "./store_client.ts";

/** Security headers of every console answer. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; " +
    "form-action 'self'; frame-ancestors 'none'",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

/** How often the live feed looks for new calls. */
const LIVE_POLL_MS = 500;
/** A comment line this often keeps proxies from closing an idle feed. */
const LIVE_HEARTBEAT_MS = 15_000;
/** Largest login body. */
const MAX_LOGIN_BYTES = 4096;
/** Failed logins allowed per minute (per serving isolate), against guessing. */
const MAX_FAILED_LOGINS = 10;

const ASSETS: Record<string, { file: string; type: string }> = {
  "app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "app.css": { file: "app.css", type: "text/css; charset=utf-8" },
};

/** Where the console's store is: `ui.store`, else the sqlite sink's path, else `<data_dir>/sluice.db`. */
export function consoleStorePath(config: GatewayConfig): string {
  if (config.ui?.store) return config.ui.store;
  const entry = config.sinks.find((s) => s.use === "sqlite" || s.use === "@sluice/sqlite");
  const path = entry?.config?.path;
  if (typeof path === "string" && path !== "") return path;
  return `${config.server.data_dir}/sluice.db`;
}

function isLoopback(info: Deno.ServeHandlerInfo | undefined): boolean {
  if (!info) return true; // called in-process (gateway.fetch), not over a socket
  const address = info.remoteAddr as Deno.NetAddr;
  const host = address.hostname ?? "";
  return host === "::1" || host.startsWith("127.") || host.startsWith("::ffff:127.");
}

function respond(
  status: number,
  body: BodyInit | null,
  type: string,
  extra: Record<string, string> = {},
): Response {
  const response = new Response(body, { status });
  for (const name in SECURITY_HEADERS) response.headers.set(name, SECURITY_HEADERS[name]);
  response.headers.set("content-type", type);
  response.headers.set("cache-control", "no-store");
  for (const name in extra) response.headers.set(name, extra[name]);
  return response;
}

/** A path segment, URL-decoded. @throws {QueryError} for a malformed escape. */
function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new QueryError(`malformed path segment "${segment}"`);
  }
}

function json(status: number, body: unknown, extra: Record<string, string> = {}): Response {
  return respond(status, JSON.stringify(body), "application/json", extra);
}

function problem(status: number, code: string, message: string): Response {
  return json(status, { error: { code, message } });
}

/** One sink's live state as the API shows it. */
export interface ConsoleSink {
  /** Instance name. */
  name: string;
  /** The `use:` of its entry. */
  use: string;
  /** Events in memory. */
  queue_depth: number;
  /** Events in the spool (write-ahead log) not yet confirmed. */
  spool_events: number;
  /** Bytes of the spool on disk. */
  spool_bytes: number;
  /** `open` while failing (deliveries wait), else `closed`. */
  circuit: "open" | "closed";
  /** Events confirmed. */
  sent: number;
  /** Failed attempts, in events. */
  retried: number;
  /** Events given up on. */
  dropped: number;
  /** Events the sink confirmed but did not send. */
  skipped: number;
  /** The last delivery error (secrets masked), null while delivering. */
  last_error: string | null;
  /** `ok`, `retrying` (failing, circuit closed), `down` (circuit open) or `backlog`. */
  state: "ok" | "retrying" | "down" | "backlog";
}

/** The console's routes on a gateway. */
export class ConsoleRoutes {
  readonly #config: GatewayConfig;
  readonly #ui: UiConfig;
  readonly #log: LogHost;
  readonly #auth: ConsoleAuth;
  readonly #store: StoreClient;
  /** Statistics scan whole windows: a Worker of their own, so they never hold a page up. */
  readonly #statsStore: StoreClient;
  readonly #storePath: string;
  readonly #closing = new AbortController();
  readonly #assets = new Map<string, Uint8Array<ArrayBuffer>>();
  /** Times of the failed logins of the last minute. */
  #failedLogins: number[] = [];

  /**
   * @param config The gateway's config (its `ui:` must be set).
   * @param log The log side, for the sinks' live state.
   */
  constructor(config: GatewayConfig, log: LogHost) {
    this.#config = config;
    this.#ui = config.ui ?? { allow_remote: false, session_ttl_s: 43_200 };
    this.#log = log;
    this.#auth = new ConsoleAuth(config, this.#ui.session_ttl_s * 1000);
    this.#storePath = consoleStorePath(config);
    this.#store = new StoreClient(this.#storePath);
    this.#statsStore = new StoreClient(this.#storePath);
  }

  /** Answers a request whose path is `/ui` or under it. */
  async handle(
    request: Request,
    info: Deno.ServeHandlerInfo | undefined,
    path: string,
  ): Promise<Response> {
    if (!this.#ui.allow_remote && !isLoopback(info)) {
      return problem(
        403,
        "loopback_only",
        "The console answers loopback clients only (ui.allow_remote).",
      );
    }
    if (this.#ui.allow_remote && !this.#auth.required) {
      return problem(
        403,
        "login_key_required",
        "ui.allow_remote needs server.master_key or a key with admin: true to log in with.",
      );
    }
    try {
      if (path.startsWith("/ui/api/") || path === "/ui/api") return await this.#api(request, path);
      if (request.method !== "GET" && request.method !== "HEAD") {
        return problem(405, "method_not_allowed", `${request.method} is not allowed on ${path}`);
      }
      if (path.startsWith("/ui/assets/")) {
        return await this.#asset(path.slice("/ui/assets/".length));
      }
      return await this.#page();
    } catch (error) {
      if (error instanceof QueryError) return problem(400, "bad_query", error.message);
      if (error instanceof StoreError) {
        const status = error.code === "store_missing"
          ? 503
          : error.code === "bad_cursor"
          ? 400
          : error.code === "store_timeout"
          ? 504
          : 500;
        return problem(status, error.code, error.message);
      }
      return problem(500, "console_error", error instanceof Error ? error.message : String(error));
    }
  }

  async #file(name: string): Promise<Uint8Array<ArrayBuffer>> {
    let bytes = this.#assets.get(name);
    if (!bytes) {
      const response = await fetch(new URL(`./assets/${name}`, import.meta.url));
      if (!response.ok) throw new Error(`console asset ${name} is missing: run deno task build:ui`);
      bytes = new Uint8Array(await response.arrayBuffer());
      this.#assets.set(name, bytes);
    }
    return bytes;
  }

  async #page(): Promise<Response> {
    return respond(200, await this.#file("index.html"), "text/html; charset=utf-8");
  }

  async #asset(name: string): Promise<Response> {
    const asset = ASSETS[name];
    if (!asset) return problem(404, "not_found", `no console asset ${name}`);
    return respond(200, await this.#file(asset.file), asset.type, { "cache-control": "no-cache" });
  }

  async #api(request: Request, path: string): Promise<Response> {
    const route = path.slice("/ui/api".length) || "/";
    const method = request.method;
    if (route === "/login") {
      return method === "POST"
        ? await this.#login(request)
        : this.#notAllowed(method, path, "POST");
    }
    if (route === "/logout") {
      return method === "POST" ? this.#logout(request) : this.#notAllowed(method, path, "POST");
    }
    const user = this.#auth.userOf(request, true);
    if (route === "/session") {
      return json(200, {
        authenticated: user !== undefined,
        login_required: this.#auth.required,
        user: user ?? null,
        store: user ? this.#storePath : null,
      });
    }
    if (!user) {
      return problem(
        401,
        "login_required",
        "Log in at /ui, or send the master key or an admin key as a Bearer token.",
      );
    }
    if (method !== "GET") return this.#notAllowed(method, path, "GET");
    const url = new URL(request.url);
    const params = url.searchParams;
    if (route === "/calls") {
      const { filter, page } = parseCallQuery(params);
      return json(200, await this.#store.query("listCalls", filter, page));
    }
    if (route === "/calls/live") return await this.#live(request, params);
    if (route.startsWith("/calls/")) return await this.#call(decoded(route.slice(7)));
    if (route.startsWith("/traces/")) {
      const traceId = decoded(route.slice(8));
      if (!/^[0-9a-f]{32}$/.test(traceId)) {
        throw new QueryError("a trace id is 32 lowercase hex characters");
      }
      return json(200, {
        trace_id: traceId,
        spans: await this.#store.query("traceSpans", traceId),
      });
    }
    if (route === "/stats") return json(200, await this.#stats(params));
    if (route === "/sinks") return json(200, { sinks: await this.#sinks() });
    if (route === "/meta") return json(200, this.#meta());
    return problem(404, "not_found", `no console API route ${path}`);
  }

  #notAllowed(method: string, path: string, allowed: string): Response {
    return problem(
      405,
      "method_not_allowed",
      `${method} is not allowed on ${path}; use ${allowed}`,
    );
  }

  async #login(request: Request): Promise<Response> {
    // JSON only: a cross-site form cannot send it without a CORS preflight, which is never granted.
    if (!(request.headers.get("content-type") ?? "").startsWith("application/json")) {
      return problem(415, "json_required", 'Send the key as JSON: {"key": "..."}.');
    }
    const text = await request.text();
    if (text.length > MAX_LOGIN_BYTES) {
      return problem(413, "too_large", "The login body is too large.");
    }
    let key: unknown;
    try {
      key = JSON.parse(text)?.key;
    } catch {
      return problem(400, "bad_json", "The login body is not JSON.");
    }
    if (!this.#auth.required) {
      return json(200, { user: { kind: "open", name: "no login (no key configured)" } });
    }
    const now = Date.now();
    this.#failedLogins = this.#failedLogins.filter((at) => at > now - 60_000);
    if (this.#failedLogins.length >= MAX_FAILED_LOGINS) {
      const wait = Math.ceil((this.#failedLogins[0] + 60_000 - now) / 1000);
      const response = problem(
        429,
        "too_many_logins",
        `${MAX_FAILED_LOGINS} failed logins in the last minute: try again in ${wait} s.`,
      );
      response.headers.set("retry-after", String(wait));
      return response;
    }
    const user = typeof key === "string" && key !== "" ? this.#auth.userOfKey(key) : undefined;
    if (!user) {
      this.#failedLogins.push(now);
      return problem(
        401,
        "invalid_login",
        "That key may not use the console: use the master key or a key with admin: true.",
      );
    }
    const secure = new URL(request.url).protocol === "https:";
    return json(200, { user }, {
      "set-cookie": sessionCookie(this.#auth.issue(user), this.#ui.session_ttl_s, secure),
    });
  }

  #logout(request: Request): Response {
    const token = sessionToken(request.headers);
    if (token) this.#auth.revoke(token);
    const secure = new URL(request.url).protocol === "https:";
    return json(200, { ok: true }, { "set-cookie": sessionCookie("", 0, secure) });
  }

  async #call(id: string): Promise<Response> {
    const call = await this.#store.query<Record<string, unknown> | undefined>("getCall", id);
    if (!call) {
      return problem(404, "call_not_found", `no stored call with request or call id ${id}`);
    }
    const [sinks, states] = await Promise.all([
      this.#sinks(),
      this.#log.delivery(String(call.request_id)),
    ]);
    // This call's state with each sink (its runner remembers the last 20,000 events by id),
    // beside the sink's own numbers now.
    const delivery = sinks.map((sink) => {
      const state = states.find((d) => d.sink === sink.name)?.state ?? "unknown";
      const stored = state === "sent" && (sink.use === "sqlite" || sink.use === "@sluice/sqlite");
      return {
        sink: sink.name,
        state: stored
          ? "stored"
          : state === "retrying" && sink.circuit === "open"
          ? "retrying (circuit open)"
          : state,
        spooled_events: sink.spool_events,
        dropped: sink.dropped,
        last_error: sink.last_error,
      };
    });
    return json(200, { call, delivery });
  }

  async #stats(params: URLSearchParams): Promise<unknown> {
    const now = Date.now();
    let from = now - 3_600_000;
    let to = now + 1;
    let bucketMs: number | undefined;
    let top: number | undefined;
    for (const [name, value] of params) {
      if (name === "from") from = parseTime(name, value);
      else if (name === "to") to = parseTime(name, value);
      else if (name === "bucket_ms" || name === "top") {
        const number = Number(value);
        if (!Number.isInteger(number) || number < 1) {
          throw new QueryError(`${name} must be a positive integer`);
        }
        if (name === "top") top = number;
        else bucketMs = number;
      } else throw new QueryError(`unknown parameter "${name}"; known: from, to, bucket_ms, top`);
    }
    if (to <= from) throw new QueryError("to must be after from");
    bucketMs ??= Math.max(60_000, Math.ceil((to - from) / 240 / 60_000) * 60_000);
    if ((to - from) / bucketMs > 10_000) {
      throw new QueryError("more than 10,000 buckets: raise bucket_ms");
    }
    return await this.#statsStore.query("stats", { from, to, bucketMs, top });
  }

  async #sinks(): Promise<ConsoleSink[]> {
    const snapshots: SinkSnapshot[] = await this.#log.sinks();
    return snapshots.map((s) => {
      const entry = this.#config.sinks.find((e) => sinkInstanceName(e.use, e.name) === s.name);
      const circuit = s.circuitOpen ? "open" : "closed";
      return {
        name: s.name,
        use: entry?.use ?? s.name,
        queue_depth: s.queueDepth,
        spool_events: s.spoolSize,
        spool_bytes: s.spoolBytes ?? 0,
        circuit,
        sent: s.counters.sent,
        retried: s.counters.retried,
        dropped: s.counters.dropped,
        skipped: s.counters.skipped,
        last_error: s.lastError ?? null,
        state: s.circuitOpen
          ? "down"
          : s.lastError
          ? "retrying"
          : s.spoolSize > 0
          ? "backlog"
          : "ok",
      };
    });
  }

  #meta(): unknown {
    const unique = (values: (string | undefined)[]) =>
      [...new Set(values.filter((v): v is string => typeof v === "string" && v !== ""))].sort();
    return {
      models: unique(this.#config.models.map((m) => m.name)),
      providers: unique(this.#config.models.map((m) => m.provider)),
      teams: unique([
        ...this.#config.teams.map((t) => t.name),
        ...this.#config.keys.map((k) => k.team),
      ]),
      key_aliases: unique(this.#config.keys.map((k) => k.alias)),
      call_types: ["chat", "completion", "embedding", "responses", "messages", "gateway_error"],
      sinks: this.#config.sinks.map((s) => sinkInstanceName(s.use, s.name)),
    };
  }

  /**
   * `GET /ui/api/calls/live`: Server-Sent Events, one `calls` event (a JSON
   * array, newest first) whenever calls matching the filters are stored,
   * starting after `after` (default: the newest call now).
   */
  async #live(request: Request, params: URLSearchParams): Promise<Response> {
    const { filter, page } = parseCallQuery(params);
    let cursor = page.after;
    if (cursor === undefined) {
      try {
        const newest = await this.#store.query<{ calls: { start_time: number; seq: number }[] }>(
          "listCalls",
          {},
          { limit: 1 },
        );
        const top = newest.calls[0];
        if (top) cursor = `${top.start_time}.${top.seq}`;
      } catch (error) {
        if (!(error instanceof StoreError && error.code === "store_missing")) throw error;
      }
    }
    const store = this.#store;
    const closing = this.#closing.signal;
    const encoder = new TextEncoder();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    let lastWrite = Date.now();
    const stop = () => {
      stopped = true;
      clearTimeout(timer);
    };
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode(`retry: 2000\n: live calls\n\n`));
        const end = () => {
          if (stopped) return;
          stop();
          try {
            controller.close();
          } catch {
            // already closed
          }
        };
        closing.addEventListener("abort", end, { once: true });
        request.signal.addEventListener("abort", end, { once: true });
        const poll = async () => {
          if (stopped) return;
          try {
            const found = await store.query<{ calls: { start_time: number; seq: number }[] }>(
              "listCalls",
              filter,
              cursor === undefined ? { limit: 200 } : { limit: 200, after: cursor },
            );
            if (stopped) return;
            if (found.calls.length > 0) {
              const newest = found.calls[0];
              cursor = `${newest.start_time}.${newest.seq}`;
              controller.enqueue(
                encoder.encode(`event: calls\ndata: ${JSON.stringify(found.calls)}\n\n`),
              );
              lastWrite = Date.now();
            } else if (Date.now() - lastWrite >= LIVE_HEARTBEAT_MS) {
              controller.enqueue(encoder.encode(`: keep-alive\n\n`));
              lastWrite = Date.now();
            }
          } catch (error) {
            if (stopped) return;
            if (!(error instanceof StoreError && error.code === "store_missing")) {
              controller.enqueue(
                encoder.encode(
                  `event: problem\ndata: ${
                    JSON.stringify({ message: (error as Error).message })
                  }\n\n`,
                ),
              );
            }
          }
          if (!stopped) timer = setTimeout(poll, LIVE_POLL_MS);
        };
        timer = setTimeout(poll, cursor === undefined ? 0 : LIVE_POLL_MS);
      },
      cancel: stop,
    });
    return respond(200, body, "text/event-stream; charset=utf-8", {
      "cache-control": "no-cache, no-store",
      "x-accel-buffering": "no",
    });
  }

  /** Ends live feeds and the store Workers. */
  close(): void {
    this.#closing.abort();
    this.#store.close();
    this.#statsStore.close();
  }
}
