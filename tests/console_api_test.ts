/**
 * The console's server side through a real gateway on a loopback port:
 * login (master key, admin key, session cookie, Bearer), security headers,
 * the JSON API over calls made with the openai client (filters, text search
 * over redacted content, paging, one call, its trace, statistics), the live
 * feed (SSE), and the sinks' live state with one sink down.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { startGateway, type TestGateway } from "./fakes/gateway.ts";
import { until } from "./fakes/outage.ts";
import { Buffer } from "node:buffer";
import { createGateway, EMBEDDED_DEFAULT_CONFIG, parseConfig } from "../core/mod.ts";
import { ConsoleAuth } from "../core/console/session.ts";
import { generateCalls } from "../plugins/sqlite/test_support.ts";

const MASTER = "sk-master-console-test";
const ADMIN = "sk-admin-console-test";
const PLAIN = "sk-plain-console-test";

/** A port nothing listens on: bound, then closed. */
function deadPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function consoleGateway(dataDir: string): Promise<TestGateway> {
  return await startGateway({
    server: { data_dir: dataDir, master_key: MASTER },
    models: [
      {
        name: "mock-gpt",
        provider: "mock",
        input_cost_per_token: 1e-6,
        output_cost_per_token: 2e-6,
      },
      { name: "mock-embed", provider: "mock", model: "mock-embed" },
    ],
    teams: [{ name: "platform" }, { name: "search" }],
    keys: [
      { key: ADMIN, alias: "ops-admin", team: "platform", admin: true },
      { key: PLAIN, alias: "app-key", team: "search", user: "u-42" },
    ],
    sinks: [
      { use: "sqlite", queue: { batch_size: 50, flush_interval_ms: 20 } },
      {
        name: "dead-webhook",
        use: "webhook",
        sandbox: false,
        queue: { flush_interval_ms: 20 },
        config: { url: `http://127.0.0.1:${deadPort()}/in` },
      },
    ],
    ui: {},
  });
}

async function login(gw: TestGateway, key: string): Promise<Response> {
  return await fetch(`${gw.url}/ui/api/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ key }),
  });
}

async function getJson(
  gw: TestGateway,
  path: string,
  auth: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`${gw.url}${path}`, { headers: auth });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

Deno.test("console: login, headers, calls, search, detail, trace, stats, live feed, sinks", async (t) => {
  const dataDir = await Deno.makeTempDir({ prefix: "sluice-console-api-" });
  const gw = await consoleGateway(dataDir);
  try {
    await t.step("the page and API carry the security headers; the API needs a login", async () => {
      const page = await fetch(`${gw.url}/ui`);
      assert.equal(page.status, 200);
      const html = await page.text();
      assert.match(html, /<script type="module" src="\/ui\/assets\/app.js">/);
      assert.doesNotMatch(html, /<script>[^<]/); // no inline script
      const csp = page.headers.get("content-security-policy") ?? "";
      assert.match(csp, /default-src 'self'/);
      assert.match(csp, /script-src 'self';/);
      assert.doesNotMatch(csp, /unsafe-(inline|eval)/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.equal(page.headers.get("x-frame-options"), "DENY");
      assert.equal(page.headers.get("x-content-type-options"), "nosniff");
      const js = await fetch(`${gw.url}/ui/assets/app.js`);
      assert.equal(js.status, 200);
      assert.match(js.headers.get("content-type") ?? "", /javascript/);
      await js.body?.cancel();

      const anonymous = await getJson(gw, "/ui/api/calls", {});
      assert.equal(anonymous.status, 401);
      assert.equal((anonymous.body.error as { code: string }).code, "login_required");
      const session = await getJson(gw, "/ui/api/session", {});
      assert.deepEqual(
        [session.body.authenticated, session.body.login_required],
        [false, true],
      );
    });

    await t.step("only the master key and admin keys log in; keys never show", async () => {
      for (const key of [PLAIN, "sk-wrong", ""]) {
        const res = await login(gw, key);
        assert.equal(res.status, 401);
        const text = await res.text();
        assert.ok(!text.includes(key) || key === "", "the key is not echoed");
      }
      const bad = await fetch(`${gw.url}/ui/api/login`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: `key=${MASTER}`,
      });
      assert.equal(bad.status, 415); // a cross-site form cannot log in
      await bad.body?.cancel();

      const admin = await login(gw, ADMIN);
      assert.equal(admin.status, 200);
      const cookie = admin.headers.get("set-cookie") ?? "";
      assert.match(
        cookie,
        /^sluice_console=[^;]+; Path=\/ui; HttpOnly; SameSite=Strict; Max-Age=\d+/,
      );
      const body = await admin.json();
      assert.deepEqual(body.user, { kind: "key", name: "ops-admin" });
      assert.ok(!cookie.includes(ADMIN) && !JSON.stringify(body).includes(ADMIN));
      const token = cookie.split(";")[0];
      const withCookie = await getJson(gw, "/ui/api/session", { cookie: token });
      assert.deepEqual(withCookie.body.user, { kind: "key", name: "ops-admin" });
      // A tampered token is refused.
      const forged = await getJson(gw, "/ui/api/calls", { cookie: token.slice(0, -2) + "xx" });
      assert.equal(forged.status, 401);
      // Bearer: the master key works, a plain virtual key does not.
      assert.equal(
        (await getJson(gw, "/ui/api/sinks", { authorization: `Bearer ${MASTER}` })).status,
        200,
      );
      assert.equal(
        (await getJson(gw, "/ui/api/sinks", { authorization: `Bearer ${PLAIN}` })).status,
        401,
      );
      // Logout ends the session.
      const out = await fetch(`${gw.url}/ui/api/logout`, {
        method: "POST",
        headers: { cookie: token },
      });
      assert.match(out.headers.get("set-cookie") ?? "", /Max-Age=0/);
      await out.body?.cancel();
      assert.equal((await getJson(gw, "/ui/api/calls", { cookie: token })).status, 401);
    });

    const master = { authorization: `Bearer ${MASTER}` };
    const client = new OpenAI({ apiKey: PLAIN, baseURL: `${gw.url}/v1`, maxRetries: 0 });

    await t.step("the live feed sends calls as they are stored", async () => {
      const controller = new AbortController();
      const res = await fetch(`${gw.url}/ui/api/calls/live?model=mock-gpt`, {
        headers: master,
        signal: controller.signal,
      });
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
      const { response } = await client.chat.completions.create({
        model: "mock-gpt",
        messages: [{ role: "user", content: "live one" }],
      }).withResponse();
      const callId = response.headers.get("x-sluice-call-id")!;
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      while (!text.includes(callId)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
      assert.match(text, /event: calls\ndata: \[/);
      assert.ok(text.includes(callId));
      controller.abort();
      await reader.cancel().catch(() => {});
    });

    const callIds: string[] = [];
    await t.step(
      "calls made through the gateway are listed, filtered, searched, paged",
      async () => {
        for (let i = 0; i < 6; i++) {
          const { response } = await client.chat.completions.create({
            model: "mock-gpt",
            messages: [{ role: "user", content: `question ${i}: write to jane.doe@example.com` }],
          }, { headers: { "x-sluice-tags": i % 2 ? "odd" : "even" } }).withResponse();
          callIds.push(response.headers.get("x-sluice-call-id")!);
        }
        await client.embeddings.create({ model: "mock-embed", input: "vector me" });
        await assert.rejects(
          client.chat.completions.create({
            model: "no-such-model",
            messages: [{ role: "user", content: "x" }],
          }),
        );
        await until(
          async () => {
            const { body } = await getJson(gw, "/ui/api/calls?limit=100", master);
            return (body.calls as unknown[]).length >= 9;
          },
          10_000,
          "nine stored calls",
        );

        const all = await getJson(gw, "/ui/api/calls?limit=100", master);
        const calls = all.body.calls as Record<string, unknown>[];
        const starts = calls.map((c) => c.start_time as number);
        assert.deepEqual(starts, [...starts].sort((a, b) => b - a), "newest first");
        const listed = calls.map((c) => c.call_id);
        for (const id of callIds) assert.ok(listed.includes(id));
        const row = calls.find((c) => c.call_id === callIds[5])!;
        assert.equal(row.model_group, "mock-gpt");
        assert.equal(row.status, "success");
        assert.equal(row.key_alias, "app-key");
        assert.equal(row.team, "search");
        assert.equal(typeof row.cost, "number");
        assert.ok(!JSON.stringify(all.body).includes(PLAIN), "the key never shows");

        const chat = await getJson(
          gw,
          "/ui/api/calls?model=mock-gpt&call_type=chat&limit=100",
          master,
        );
        assert.equal((chat.body.calls as unknown[]).length, 7);
        const failed = await getJson(gw, "/ui/api/calls?status=failure", master);
        assert.equal((failed.body.calls as unknown[]).length, 1);
        const odd = await getJson(gw, "/ui/api/calls?tag=odd", master);
        assert.equal((odd.body.calls as unknown[]).length, 3);
        const team = await getJson(
          gw,
          "/ui/api/calls?team=search&key_alias=app-key&user=u-42",
          master,
        );
        assert.ok((team.body.calls as unknown[]).length >= 8);
        // Search runs over the redacted content: the masked email is not there to find.
        const found = await getJson(gw, "/ui/api/calls?q=question%203", master);
        assert.deepEqual((found.body.calls as { call_id: string }[]).map((c) => c.call_id), [
          callIds[3],
        ]);
        const email = await getJson(gw, "/ui/api/calls?q=jane.doe", master);
        assert.equal((email.body.calls as unknown[]).length, 0);
        const ranged = await getJson(
          gw,
          "/ui/api/calls?min_cost=0.0000001&max_latency_ms=60000",
          master,
        );
        assert.ok((ranged.body.calls as unknown[]).length >= 6);
        const future = await getJson(gw, `/ui/api/calls?from=${Date.now() + 60_000}`, master);
        assert.equal((future.body.calls as unknown[]).length, 0);

        const first = await getJson(gw, "/ui/api/calls?limit=4", master);
        assert.equal(typeof first.body.next, "string");
        const second = await getJson(gw, `/ui/api/calls?limit=4&before=${first.body.next}`, master);
        const seen = new Set(
          [
            ...(first.body.calls as { request_id: string }[]),
            ...(second.body.calls as { request_id: string }[]),
          ].map((c) => c.request_id),
        );
        assert.equal(seen.size, 8, "pages do not overlap");

        const bad = await getJson(gw, "/ui/api/calls?modle=x", master);
        assert.equal(bad.status, 400);
        assert.match((bad.body.error as { message: string }).message, /unknown parameter "modle"/);
        assert.equal((await getJson(gw, "/ui/api/calls?before=nope", master)).status, 400);
        assert.equal((await getJson(gw, "/ui/api/calls?status=ok", master)).status, 400);
      },
    );

    await t.step("one call: the redacted event, and each sink's delivery state", async () => {
      const detail = await getJson(gw, `/ui/api/calls/${callIds[2]}`, master);
      assert.equal(detail.status, 200);
      const call = detail.body.call as Record<string, unknown>;
      assert.equal(call.call_id, callIds[2]);
      const event = call.event as { messages: { content: string }[] };
      const content = JSON.stringify(event.messages);
      assert.match(content, /\[EMAIL\]/);
      assert.ok(!content.includes("jane.doe@example.com"), "the console shows what the sink saw");
      const delivery = detail.body.delivery as { sink: string; state: string }[];
      assert.deepEqual(delivery.map((d) => d.sink).sort(), ["dead-webhook", "sqlite"]);
      assert.equal(delivery.find((d) => d.sink === "sqlite")!.state, "stored");
      // This call's own state with the dead webhook: kept and retried, never "sent".
      await until(
        async () => {
          const again = await getJson(gw, `/ui/api/calls/${callIds[2]}`, master);
          const states = again.body.delivery as { sink: string; state: string }[];
          return /^retrying/.test(states.find((d) => d.sink === "dead-webhook")!.state);
        },
        10_000,
        "the dead webhook's state for the call",
      );
      const missing = await getJson(gw, "/ui/api/calls/no-such-call", master);
      assert.equal(missing.status, 404);
      assert.equal((await getJson(gw, "/ui/api/calls/%E0%A4%A", master)).status, 400);

      const trace = await getJson(gw, `/ui/api/traces/${call.trace_id}`, master);
      const spans = trace.body.spans as { span_id: string; source: string }[];
      assert.ok(spans.some((s) => s.span_id === call.span_id && s.source === "call"));
      assert.equal((await getJson(gw, "/ui/api/traces/xyz", master)).status, 400);
    });

    await t.step("statistics over a window", async () => {
      const stats = await getJson(
        gw,
        `/ui/api/stats?from=${Date.now() - 600_000}&bucket_ms=60000`,
        master,
      );
      assert.equal(stats.status, 200);
      const totals = stats.body.totals as { calls: number; errors: number; prompt_tokens: number };
      assert.ok(totals.calls >= 8);
      assert.ok(totals.prompt_tokens > 0);
      const byModel = stats.body.byModel as { key: string }[];
      assert.ok(byModel.some((m) => m.key === "mock-gpt"));
      assert.ok((stats.body.buckets as unknown[]).length >= 10);
      assert.equal((await getJson(gw, "/ui/api/stats?from=10&to=5", master)).status, 400);
    });

    await t.step(
      "the sinks' live state: the dead webhook shows its error and open circuit",
      async () => {
        await until(
          async () => {
            const { body } = await getJson(gw, "/ui/api/sinks", master);
            const dead = (body.sinks as { name: string; circuit: string }[]).find((s) =>
              s.name === "dead-webhook"
            );
            return dead?.circuit === "open";
          },
          20_000,
          "the dead webhook's circuit to open",
        );
        const { body } = await getJson(gw, "/ui/api/sinks", master);
        const sinks = body.sinks as Record<string, unknown>[];
        const dead = sinks.find((s) => s.name === "dead-webhook")!;
        assert.equal(dead.state, "down");
        assert.match(String(dead.last_error), /refused|connect|ECONNREFUSED|error/i);
        assert.ok((dead.retried as number) > 0);
        assert.ok((dead.spool_events as number) > 0);
        assert.ok((dead.spool_bytes as number) > 0);
        const sqlite = sinks.find((s) => s.name === "sqlite")!;
        assert.equal(sqlite.state, "ok");
        assert.ok((sqlite.sent as number) >= 9);
        assert.equal(sqlite.last_error, null);
      },
    );
  } finally {
    await gw.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("console: loopback only by default; absent without ui:; open without keys", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "sluice-console-open-" });
  const gateway = await createGateway({
    server: { data_dir: dataDir },
    models: [{ name: "m", provider: "mock" }],
    ui: {},
  });
  const remote = {
    remoteAddr: { transport: "tcp", hostname: "10.1.2.3", port: 5555 },
  } as unknown as Deno.ServeHandlerInfo;
  const local = {
    remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 5555 },
  } as unknown as Deno.ServeHandlerInfo;
  try {
    const far = await gateway.fetch(new Request("http://gw/ui/api/session"), remote);
    assert.equal(far.status, 403);
    assert.equal((await far.json()).error.code, "loopback_only");
    const near = await gateway.fetch(new Request("http://gw/ui/api/session"), local);
    const session = await near.json();
    assert.deepEqual([session.authenticated, session.login_required], [true, false]);
    // No store yet (no sqlite sink, nothing written): a clear 503.
    const calls = await gateway.fetch(new Request("http://gw/ui/api/calls"), local);
    assert.equal(calls.status, 503);
    assert.equal((await calls.json()).error.code, "store_missing");
  } finally {
    await gateway.close();
  }
  const without = await createGateway({
    server: { data_dir: dataDir },
    models: [{ name: "m", provider: "mock" }],
  });
  try {
    const res = await without.fetch(new Request("http://gw/ui"));
    assert.equal(res.status, 404);
    await res.body?.cancel();
  } finally {
    await without.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("console: a slow store read does not hold up calls (it runs in the store Worker)", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "sluice-console-slow-" });
  const path = `${dataDir}/sluice.db`;
  // 200,000 calls that all contain "question": a search for it collects every match.
  generateCalls(path, { rows: 200_000, t0: Date.now() - 200_000 * 600, spacingMs: 600 });
  const gw = await startGateway({
    server: { data_dir: dataDir, master_key: MASTER },
    models: [{ name: "mock-gpt", provider: "mock" }],
    ui: { store: path },
  });
  const auth = { authorization: `Bearer ${MASTER}` };
  try {
    // Three slow reads queue up in the store Worker (about 3 x 400 ms); a chat call sent after
    // them is answered before the last one is.
    let slowDone = 0;
    const started = performance.now();
    const slow = Promise.all(
      [1, 2, 3].map(() =>
        fetch(`${gw.url}/ui/api/calls?q=question&provider=none-such`, { headers: auth })
          .then(async (res) => {
            assert.equal(res.status, 200);
            assert.deepEqual((await res.json()).calls, []);
            slowDone++;
            return performance.now() - started;
          })
      ),
    );
    const client = new OpenAI({ apiKey: MASTER, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const answered = await client.chat.completions.create({
      model: "mock-gpt",
      messages: [{ role: "user", content: "still there?" }],
    });
    assert.equal(answered.object, "chat.completion");
    const callMs = performance.now() - started;
    const doneBeforeCall = slowDone;
    const slowMs = Math.max(...await slow);
    assert.ok(slowMs > 150, `the store reads took ${slowMs.toFixed(0)} ms: too fast to tell`);
    assert.ok(
      doneBeforeCall < 3,
      `the chat call (${callMs.toFixed(0)} ms) waited for the store reads (${
        slowMs.toFixed(0)
      } ms)`,
    );
  } finally {
    await gw.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("console: ten failed logins in a minute, then 429 even for the right key", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "sluice-console-429-" });
  const gateway = await createGateway({
    server: { master_key: MASTER, data_dir: dataDir },
    models: [{ name: "m", provider: "mock" }],
    ui: {},
  });
  const login = (key: string) =>
    gateway.fetch(
      new Request("http://gw/ui/api/login", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ key }),
      }),
    );
  try {
    for (let i = 0; i < 10; i++) {
      const res = await login(`sk-guess-${i}`);
      assert.equal(res.status, 401);
      await res.body?.cancel();
    }
    const limited = await login(MASTER);
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get("retry-after")) > 0);
    assert.equal((await limited.json()).error.code, "too_many_logins");
    // A Bearer key still works: scripts are not locked out by a guesser.
    const res = await gateway.fetch(
      new Request("http://gw/ui/api/meta", { headers: { authorization: `Bearer ${MASTER}` } }),
    );
    assert.equal(res.status, 200);
    await res.body?.cancel();
  } finally {
    await gateway.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("console sessions: signed, expiring, revocable, and bound to the login keys", () => {
  const config = parseConfig({
    server: { master_key: MASTER },
    keys: [{ key: ADMIN, alias: "ops", admin: true }, { key: PLAIN }],
  });
  const auth = new ConsoleAuth(config, 60_000);
  assert.deepEqual(auth.userOfKey(MASTER), { kind: "master", name: "master key" });
  assert.deepEqual(auth.userOfKey(ADMIN), { kind: "key", name: "ops" });
  assert.equal(auth.userOfKey(PLAIN), undefined);
  const now = Date.now();
  const token = auth.issue({ kind: "key", name: "ops" }, now);
  assert.deepEqual(auth.verify(token, now + 1000), { kind: "key", name: "ops" });
  assert.equal(auth.verify(token, now + 60_001), undefined, "expired");
  const [payload, signature] = token.split(".");
  const forged = Buffer.from(JSON.stringify({ k: "master", n: "x", e: now + 1e9, r: "0" }))
    .toString("base64url");
  assert.equal(auth.verify(`${forged}.${signature}`, now), undefined, "a changed payload");
  assert.equal(auth.verify(`${payload}.${signature.slice(1)}`, now), undefined);
  // Another set of login keys signs differently: old sessions end when the keys change.
  const rotated = new ConsoleAuth(parseConfig({ server: { master_key: "sk-new-master" } }), 60_000);
  assert.equal(rotated.verify(token, now), undefined);
  auth.revoke(token, now);
  assert.equal(auth.verify(token, now + 1000), undefined, "revoked");
  assert.ok(
    !token.includes(ADMIN) && !Buffer.from(payload, "base64url").toString().includes(ADMIN),
  );
});

Deno.test("the embedded default serves the console over its SQLite store", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "sluice-console-default-" });
  const gw = await startGateway({
    ...EMBEDDED_DEFAULT_CONFIG,
    // The console sink's lines stay out of the test output.
    sinks: EMBEDDED_DEFAULT_CONFIG.sinks!.filter((s) => s.use !== "console"),
    server: { data_dir: dataDir },
  });
  try {
    const page = await fetch(`${gw.url}/ui/calls/anything`); // every page path serves the app
    assert.equal(page.status, 200);
    assert.match(await page.text(), /app\.js/);
    const client = new OpenAI({ apiKey: "none", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const { response } = await client.chat.completions.create({
      model: "mock-gpt",
      messages: [{ role: "user", content: "hello console" }],
    }).withResponse();
    const callId = response.headers.get("x-sluice-call-id")!;
    await until(
      async () => {
        const res = await fetch(`${gw.url}/ui/api/calls?q=console`);
        if (res.status !== 200) {
          await res.body?.cancel();
          return false;
        }
        return ((await res.json()).calls as { call_id: string }[]).some((c) =>
          c.call_id === callId
        );
      },
      10_000,
      "the call in the default store",
    );
    const detail = await (await fetch(`${gw.url}/ui/api/calls/${callId}`)).json();
    assert.equal(detail.call.cost > 0, true, "the default's mock model is priced");
  } finally {
    await gw.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
