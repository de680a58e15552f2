/**
 * The galileo sink through whole gateways, against a loopback Galileo that
 * decodes what is really sent and checks it field by field: the API-key
 * flow (v2 traces and v2 spans, `Galileo-API-Key`) and the legacy flow
 * (`/login` form → bearer token → Observe ingest, with the 401 → login
 * again cycle). No secret and no removed message reaches a body, failures
 * are recorded with their status code, and a Galileo that is down loses
 * nothing.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { startGateway } from "./fakes/gateway.ts";
import { chatCompletion, startUpstream } from "./fakes/upstream.ts";
import { until } from "./fakes/outage.ts";

const PROJECT = "5d0c7a4e-1b2f-4e3d-8c9a-0b1c2d3e4f50";
const LOG_STREAM = "7f1e2d3c-4b5a-4968-8776-655443322110";
const GALILEO_KEY = "gal_Sluice_Test_Api_Key_0001";
const USERNAME = "evals@example.com";
const PASSWORD = "Galileo-Test-Password-0001";
const MASTER = "sk-master-key-galileo-000001";
const CLIENT_KEY = "sk-alice-virtual-key-galileo1";
const UPSTREAM_KEY = "sk-upstream-galileo-ABCDEF12";

interface Recorded {
  path: string;
  headers: Headers;
  raw: string;
  status: number;
}

/**
 * A Galileo fake: `/login` issues `token-<n>`; every other POST is answered
 * by `answer(request)` (default 200). Requests are recorded with the status
 * they got.
 */
function startGalileo(
  options: { port?: number; answer?: (req: Recorded, n: number) => number } = {},
) {
  const requests: Recorded[] = [];
  let logins = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen() {} },
    async (req) => {
      const recorded: Recorded = {
        path: new URL(req.url).pathname,
        headers: req.headers,
        raw: await req.text(),
        status: 200,
      };
      recorded.status = options.answer?.(recorded, requests.length + 1) ?? 200;
      requests.push(recorded);
      if (recorded.status !== 200) {
        return Response.json({ detail: "not now" }, { status: recorded.status });
      }
      if (recorded.path.endsWith("/login")) {
        return Response.json({ access_token: `token-${++logins}`, token_type: "bearer" });
      }
      return Response.json({ records_count: 1 });
    },
  );
  return {
    port: server.addr.port,
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    close: () => server.shutdown(),
  };
}

// deno-lint-ignore no-explicit-any
type Json = any;

/** The LLM spans of the accepted API-key requests (traces or spans endpoint). */
function spansOf(requests: Recorded[]): Json[] {
  return requests.filter((r) => r.status === 200).flatMap((r) => {
    const body = JSON.parse(r.raw);
    if (r.path.endsWith("/traces")) return body.traces.map((t: Json) => t.spans[0]);
    if (r.path.endsWith("/spans")) return body.spans;
    return [];
  });
}

/** The Observe records of the accepted legacy ingest requests. */
function recordsOf(requests: Recorded[]): Json[] {
  return requests.filter((r) => r.status === 200 && r.path.endsWith("/observe/ingest"))
    .flatMap((r) => JSON.parse(r.raw).records);
}

Deno.test("API-key flow through a gateway with the openai client: spans field by field, failures with their status, removed messages and secrets never sent", async () => {
  const galileo = startGalileo();
  const upstream = startUpstream((req, signal) => {
    const text = JSON.stringify(req.body?.messages ?? "");
    if (text.includes("please fail")) {
      return Response.json(
        { error: { message: "Rate limit reached", type: "requests", code: "rate_limit_exceeded" } },
        { status: 429 },
      );
    }
    return chatCompletion()(req, signal);
  });
  const gw = await startGateway({
    server: { master_key: MASTER },
    models: [{
      name: "gpt",
      provider: "openai",
      model: "gpt-4o-mini-2024-07-18",
      api_base: upstream.url,
      api_key: UPSTREAM_KEY,
    }],
    teams: [{ name: "evals" }],
    keys: [{ key: CLIENT_KEY, alias: "eval-app", team: "evals", user: "alice" }],
    sinks: [
      {
        name: "galileo-full",
        use: "galileo",
        queue: { batch_size: 100, flush_interval_ms: 60_000 },
        config: {
          base_url: `${galileo.url}/full`,
          project_id: PROJECT,
          api_key: GALILEO_KEY,
          log_stream_id: LOG_STREAM,
        },
      },
      {
        name: "galileo-private",
        use: "galileo",
        redaction: { messages: "remove" },
        queue: { batch_size: 100, flush_interval_ms: 60_000 },
        config: {
          base_url: `${galileo.url}/private`,
          project_id: PROJECT,
          api_key: GALILEO_KEY,
          ingest: "spans",
        },
      },
    ],
  });
  const client = new OpenAI({ apiKey: CLIENT_KEY, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  const diary = `my diary entry; the upstream key is ${UPSTREAM_KEY}, mine is ${CLIENT_KEY}`;
  try {
    await client.chat.completions.create(
      {
        model: "gpt",
        temperature: 0.3,
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: diary },
        ],
      },
      { headers: { "x-sluice-tags": "eval,nightly" } },
    );
    const stream = await client.chat.completions.create({
      model: "gpt",
      messages: [{ role: "user", content: "stream my diary entry" }],
      stream: true,
    });
    for await (const _ of stream) { /* drain */ }
    await assert.rejects(
      client.chat.completions.create({
        model: "gpt",
        messages: [{ role: "user", content: "please fail, diary" }],
      }),
      (error: { status?: number }) => error.status === 429,
    );
  } finally {
    await gw.close(); // flushes both sinks: one batch each
    await upstream.close();
    await galileo.close();
  }

  const full = galileo.requests.filter((r) => r.path.startsWith("/full/"));
  const priv = galileo.requests.filter((r) => r.path.startsWith("/private/"));
  assert.equal(full.length, 1, "one request per batch");
  assert.equal(full[0].path, `/full/v2/projects/${PROJECT}/traces`);
  assert.ok(
    priv.length >= 1 && priv.every((r) => r.path === `/private/v2/projects/${PROJECT}/spans`),
  );
  for (const r of galileo.requests) {
    assert.equal(r.headers.get("galileo-api-key"), GALILEO_KEY);
    assert.equal(r.headers.get("content-type"), "application/json");
    assert.equal(r.headers.get("authorization"), null);
  }
  const fullBody = JSON.parse(full[0].raw);
  assert.equal(fullBody.log_stream_id, LOG_STREAM);
  assert.equal(fullBody.logging_method, "api_direct");
  assert.equal(fullBody.reliable, true);
  assert.equal(fullBody.traces.length, 3);

  const spans = spansOf(full);
  const [plain, streamed, failed] = ["Be brief.", "stream my", "please fail"].map((marker) =>
    spans.find((s: Json) => JSON.stringify(s.input).includes(marker))
  );
  // the plain call, field by field
  assert.equal(plain.type, "llm");
  assert.equal(plain.name, "chat gpt");
  assert.equal(plain.model, "gpt-4o-mini-2024-07-18");
  assert.equal(plain.input.length, 2);
  assert.deepEqual(plain.input[0], { role: "system", content: "Be brief." });
  assert.equal(plain.input[1].role, "user");
  assert.match(plain.input[1].content, /^my diary entry; the upstream key is \[SECRET\]/);
  assert.deepEqual(plain.output, { role: "assistant", content: "Hello from the fake upstream." });
  assert.equal(plain.status_code, 200);
  assert.deepEqual(plain.tags, ["eval", "nightly"]);
  assert.equal(plain.temperature, 0.3);
  assert.match(plain.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(plain.metrics.num_input_tokens, 11);
  assert.equal(plain.metrics.num_output_tokens, 7);
  assert.equal(plain.metrics.num_total_tokens, 18);
  assert.ok(Number.isInteger(plain.metrics.duration_ns) && plain.metrics.duration_ns % 1e6 === 0);
  assert.equal(plain.user_metadata.key_alias, "eval-app");
  assert.equal(plain.user_metadata.team, "evals");
  assert.equal(plain.user_metadata.user, "alice");
  assert.equal(plain.user_metadata.provider, "openai");
  assert.match(plain.user_metadata.request_id, /^[0-9a-f-]{36}$/);
  // the stream: tokens from the usage chunk, time to first token
  assert.equal(streamed.user_metadata.stream, "true");
  assert.equal(streamed.output.content, "Hello from the fake upstream.");
  assert.equal(typeof streamed.metrics.time_to_first_token_ns, "number");
  // the failure is logged with its status code
  assert.equal(failed.status_code, 429);
  assert.equal(failed.output.content, "");
  assert.equal(failed.user_metadata.error_code, "rate_limit_exceeded");
  assert.equal(failed.metrics.num_output_tokens, 0);

  // messages: remove on the private sink: placeholders, same calls, same usage
  const privSpans = spansOf(priv);
  assert.equal(privSpans.length, 3);
  for (const span of privSpans) {
    assert.deepEqual(span.input, [{ role: "user", content: "[REDACTED]" }]);
    assert.equal(span.output.role, "assistant");
    assert.ok(["[REDACTED]", ""].includes(span.output.content));
    const twin = spans.find((s: Json) =>
      s.user_metadata.request_id === span.user_metadata.request_id
    );
    assert.ok(twin, "the same call on both sinks");
    assert.deepEqual(span.metrics, twin.metrics);
  }
  for (const body of priv.map((r) => JSON.parse(r.raw))) {
    assert.equal(body.trace_id, body.parent_id);
    assert.match(
      body.trace_id,
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  }

  const all = galileo.requests.map((r) => r.raw).join("\n");
  for (const secret of [GALILEO_KEY, MASTER, CLIENT_KEY, UPSTREAM_KEY, "Bearer "]) {
    assert.ok(!all.includes(secret), `${secret} leaked into a body`);
  }
  const privateText = priv.map((r) => r.raw).join("\n");
  assert.ok(!/diary|Be brief|stream my|please fail/.test(privateText), "removed messages leaked");
  assert.ok(!privateText.includes("Hello from the fake upstream"), "removed output leaked");
});

Deno.test("legacy flow through a gateway: form login, Observe records field by field, 401 → login again → delivered", async () => {
  const rejected = new Set(["token-1"]);
  const galileo = startGalileo({
    answer: (req) =>
      req.path.endsWith("/observe/ingest") &&
        rejected.has(req.headers.get("authorization")?.slice(7) ?? "")
        ? 401
        : 200,
  });
  const gw = await startGateway({
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [{
      use: "galileo",
      queue: { batch_size: 2, flush_interval_ms: 20 },
      config: {
        base_url: galileo.url,
        project_id: PROJECT,
        username: USERNAME,
        password: PASSWORD,
      },
    }],
  });
  const client = new OpenAI({
    apiKey: "sk-anything-goes-0001",
    baseURL: `${gw.url}/v1`,
    maxRetries: 0,
  });
  try {
    for (let i = 0; i < 4; i++) {
      await client.chat.completions.create({
        model: "mock-gpt",
        messages: [{ role: "user", content: `question ${i}` }],
        user: `end-user-${i}`,
      });
    }
    await until(() => recordsOf(galileo.requests).length >= 4, 10_000, "4 records");
  } finally {
    await gw.close();
    await galileo.close();
  }
  const ingestPath = `/projects/${PROJECT}/observe/ingest`;
  const [login1, first, login2, retry] = galileo.requests;
  assert.equal(login1.path, "/login");
  assert.equal(login1.headers.get("content-type"), "application/x-www-form-urlencoded");
  assert.deepEqual(Object.fromEntries(new URLSearchParams(login1.raw)), {
    username: USERNAME,
    password: PASSWORD,
  });
  assert.deepEqual([first.path, first.status, first.headers.get("authorization")], [
    ingestPath,
    401,
    "Bearer token-1",
  ]);
  assert.equal(login2.path, "/login", "a 401 logs in again");
  assert.deepEqual([retry.path, retry.status, retry.headers.get("authorization")], [
    ingestPath,
    200,
    "Bearer token-2",
  ]);
  assert.equal(retry.raw, first.raw, "the same batch after the new login");
  const logins = galileo.requests.filter((r) => r.path === "/login").length;
  assert.equal(logins, 2, "the new token is cached");
  assert.ok(
    galileo.requests.slice(4).every((r) => r.headers.get("authorization") === "Bearer token-2"),
  );

  const records = recordsOf(galileo.requests);
  assert.equal(records.length, 4);
  const ids = new Set(records.map((r: Json) => r.user_metadata.request_id));
  assert.equal(ids.size, 4, "no duplicates");
  for (const [i, record] of records.entries()) {
    assert.equal(record.input_text, JSON.stringify([{ role: "user", content: `question ${i}` }]));
    assert.match(record.output_text, new RegExp(`You said: "question ${i}"`));
    assert.equal(record.model, "mock-gpt");
    assert.ok(record.num_input_tokens > 0 && record.num_output_tokens > 0);
    assert.ok(Number.isInteger(record.latency_ms) && record.latency_ms >= 0);
    assert.equal(record.status_code, 200);
    assert.equal(record.node_type, "chat");
    assert.match(record.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
    assert.deepEqual(record.tags, []);
    assert.equal(record.user_metadata.end_user, `end-user-${i}`);
  }
  // the password travels only in the login form, and no key at all in any body
  for (const r of galileo.requests.filter((r) => r.path !== "/login")) {
    assert.ok(!r.raw.includes(PASSWORD));
    assert.ok(!r.raw.includes("sk-anything-goes"));
    assert.equal(r.headers.get("galileo-api-key"), null);
  }
});

Deno.test("a Galileo that is down (503, then refusing connections) loses no record", async () => {
  const N = 300;
  let galileo = startGalileo({ answer: () => 503 });
  const port = galileo.port;
  const dataDir = await Deno.makeTempDir();
  const gw = await startGateway({
    server: { data_dir: dataDir },
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [{
      use: "galileo",
      queue: { batch_size: 50, flush_interval_ms: 20, max_queue: 100 },
      config: {
        base_url: `http://127.0.0.1:${port}`,
        project_id: PROJECT,
        username: USERNAME,
        password: PASSWORD,
      },
    }],
  });
  const call = async (i: number) => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-sluice-call-id": `down-${i}` },
      body: JSON.stringify({ model: "mock-gpt", messages: [{ role: "user", content: `q${i}` }] }),
    });
    await res.body?.cancel();
    return res.status;
  };
  const calls = async (from: number, n: number) => {
    const statuses: number[] = [];
    for (let i = from; i < from + n; i += 20) {
      const chunk = Array.from({ length: Math.min(20, from + n - i) }, (_, j) => call(i + j));
      statuses.push(...await Promise.all(chunk));
    }
    return statuses;
  };
  const delivered = () => recordsOf(galileo.requests).map((r: Json) => r.user_metadata.call_id);
  try {
    const first = await calls(0, N / 2);
    await until(() => galileo.requests.length > 0, 5_000, "a first (failed) login");
    await galileo.close(); // now refuse connections
    const second = await calls(N / 2, N / 2);
    assert.deepEqual([...new Set([...first, ...second])], [200], "every call succeeded");
    galileo = startGalileo({ port });
    await until(() => new Set(delivered()).size >= N, 90_000, "all records");
  } finally {
    await gw.close();
    await galileo.close();
    await Deno.remove(dataDir, { recursive: true });
  }
  const ids = delivered();
  assert.equal(new Set(ids).size, N);
  assert.equal(ids.length, N, "no duplicates without a crash");
  assert.deepEqual(
    [...new Set(ids)].sort(),
    Array.from({ length: N }, (_, i) => `down-${i}`).sort(),
  );
});
