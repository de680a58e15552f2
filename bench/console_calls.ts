/**
 * `deno bench -A bench/console_calls.ts`: the console's JSON API over HTTP
 * at 1M stored calls, as the calls page asks it (a real gateway on a
 * loopback port, the store read in the console's store Worker): the first
 * page, filtered pages (model, status, team + status, a rare tag, a text
 * search, a cost range), a page 200 pages deep through the cursor, one
 * call's detail and the overview's statistics over the last hour.
 *
 * A second group measures a chat call through the proxy at one
 * connection, alone and while the overview's statistics are fetched every
 * second (the console's read must not slow the request thread).
 *
 * The 1M calls are generated in one transaction (`generateCalls` of
 * `@sluice/sqlite`'s test support: 0.6 s apart, about 7 days).
 * @module
 */
import { generateCalls } from "../plugins/sqlite/test_support.ts";
import { createGateway } from "../core/mod.ts";
import { CHAT_BODY } from "./common.ts";

const ROWS = Number(Deno.env.get("SLUICE_BENCH_ROWS") ?? 1_000_000);
const SPACING_MS = 600;
const MASTER = "sk-bench-console";
const dir = Deno.makeTempDirSync({ prefix: "sluice-console-bench-" });
const path = `${dir}/sluice.db`;
const t0 = Date.now() - ROWS * SPACING_MS;
const seconds = generateCalls(path, { rows: ROWS, t0, spacingMs: SPACING_MS });
console.log(
  `generated ${ROWS} calls in ${seconds.toFixed(1)} s, ${
    (Deno.statSync(path).size / 1e6).toFixed(0)
  } MB`,
);

const gateway = await createGateway({
  server: { data_dir: dir, master_key: MASTER },
  models: [{ name: "bench-model", provider: "mock" }],
  ui: { store: path },
});
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, gateway.fetch);
const base = `http://127.0.0.1:${server.addr.port}`;
const auth = { authorization: `Bearer ${MASTER}` };

async function api(query: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${base}/ui/api${query}`, { headers: auth });
  if (!response.ok) throw new Error(`${query}: ${response.status} ${await response.text()}`);
  return await response.json();
}

// Warm the store Worker, and walk 200 pages deep for the cursor bench.
let deep = await api("/calls?limit=50");
for (let i = 0; i < 200 && deep.next; i++) deep = await api(`/calls?limit=50&before=${deep.next}`);
const deepCursor = String(deep.next);
const someCall = ((await api("/calls?limit=1")).calls as { request_id: string }[])[0].request_id;
const now = Date.now() + 1;

const CALLS: [string, string][] = [
  ["first page (50, newest first)", "/calls?limit=50"],
  ["model = gpt-4o-mini", "/calls?limit=50&model=gpt-4o-mini"],
  ["status = failure (2%)", "/calls?limit=50&status=failure"],
  ["team-3 + failure", "/calls?limit=50&team=team-3&status=failure"],
  ["tag = rare (0.1%)", "/calls?limit=50&tag=rare"],
  ["text 'order 4242'", "/calls?limit=50&q=order%204242"],
  ["cost >= $0.00008, last 24 h", `/calls?limit=50&min_cost=0.00008&from=${now - 86_400_000}`],
  ["page 201 (keyset cursor)", `/calls?limit=50&before=${deepCursor}`],
];
for (const [name, query] of CALLS) {
  Deno.bench(`GET /ui/api${query.split("?")[0]}: ${name}`, {
    group: "calls page API at 1M",
    baseline: name.startsWith("first"),
  }, async () => {
    await api(query);
  });
}
Deno.bench("GET /ui/api/calls/:id (detail)", { group: "other API at 1M" }, async () => {
  await api(`/calls/${someCall}`);
});
Deno.bench("GET /ui/api/stats last hour (6,000 calls)", { group: "other API at 1M" }, async () => {
  await api(`/stats?from=${now - 3_600_000}&to=${now}`);
});
Deno.bench(
  "GET /ui/api/stats last 24 h (144,000 calls)",
  { group: "other API at 1M" },
  async () => {
    await api(`/stats?from=${now - 86_400_000}&to=${now}`);
  },
);
let slowStats: Promise<unknown> | undefined;
let statsRunning = true;
Deno.bench("GET /ui/api/calls first page while 24 h stats run", {
  group: "other API at 1M",
}, async () => {
  // The statistics have a Worker of their own: a page does not wait behind them.
  slowStats ??= (async () => {
    while (statsRunning) await api(`/stats?from=${now - 86_400_000}&to=${now}`);
  })();
  await api("/calls?limit=50");
});

async function chat(): Promise<void> {
  const response = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: CHAT_BODY,
  });
  await response.arrayBuffer();
}

Deno.bench("chat call, 1 connection", { group: "proxy", baseline: true }, async () => {
  if (statsRunning) {
    statsRunning = false;
    await slowStats;
  }
  await chat();
});
let refresher: ReturnType<typeof setInterval> | undefined;
Deno.bench("chat call, 1 connection, overview refreshing every second", {
  group: "proxy",
}, async () => {
  refresher ??= setInterval(() => {
    const at = Date.now();
    api(`/stats?from=${at - 3_600_000}&to=${at}`).catch(() => {});
  }, 1000);
  await chat();
});

globalThis.addEventListener("unload", () => {
  clearInterval(refresher);
  Deno.removeSync(dir, { recursive: true });
});
addEventListener("beforeunload", () => {
  server.shutdown();
  gateway.close();
});
