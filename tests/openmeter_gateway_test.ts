/**
 * The openmeter sink through whole gateways, with a loopback OpenMeter
 * receiver that decodes what is really sent: every body is validated
 * against OpenMeter's published schema (`#/$defs/Event` for
 * `application/cloudevents+json`, `#/$defs/EventBatch` for
 * `application/cloudevents-batch+json`; tests/fixtures/schemas). Subjects
 * come from virtual keys; a `required: true` sink cannot be skipped by the
 * client; ids survive retries; a receiver that is down loses nothing.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { Ajv2020 } from "npm:ajv@8.17.1/dist/2020.js";
import addFormatsModule from "npm:ajv-formats@3.0.1";
import { startGateway } from "./fakes/gateway.ts";
import { until } from "./fakes/outage.ts";

const addFormats = addFormatsModule as unknown as (ajv: unknown, formats?: string[]) => void;
const schema = JSON.parse(
  await Deno.readTextFile(
    new URL("./fixtures/schemas/openmeter-event.schema.json", import.meta.url),
  ),
);
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv, ["date-time", "uri", "uri-reference"]);
ajv.addSchema(schema);
const validateEvent = ajv.getSchema(`${schema.$id}#/$defs/Event`)!;
const validateBatch = ajv.getSchema(`${schema.$id}#/$defs/EventBatch`)!;

const OM_KEY = "om_live_Sluice_Test_Key_0001";
const MASTER = "sk-master-key-openmeter-01";
const ALICE = "sk-alice-virtual-key-000001";
const TEAM_ONLY = "sk-team-only-virtual-key-02";
const ANON = "sk-anonymous-virtual-key-03";
const UPSTREAM_KEY = "sk-upstream-openmeter-ABCDEF";

interface CloudEvent {
  specversion: string;
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  data: Record<string, unknown>;
}

interface Received {
  path: string;
  contentType: string | null;
  authorization: string | null;
  raw: string;
  events: CloudEvent[];
  status: number;
}

/**
 * An OpenMeter receiver: checks the content type against the body's shape,
 * validates the body with the published schema, and answers `answer(n)`
 * (n counts requests from 1) or 204.
 */
function startOpenMeter(options: { port?: number; answer?: (n: number) => number } = {}) {
  const received: Received[] = [];
  const problems: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen() {} },
    async (req) => {
      const raw = await req.text();
      const contentType = req.headers.get("content-type");
      const status = options.answer?.(received.length + 1) ?? 204;
      let events: CloudEvent[] = [];
      try {
        const body = JSON.parse(raw);
        if (contentType === "application/cloudevents+json") {
          if (!validateEvent(body)) problems.push(ajv.errorsText(validateEvent.errors));
          events = [body];
        } else if (contentType === "application/cloudevents-batch+json") {
          if (!validateBatch(body)) problems.push(ajv.errorsText(validateBatch.errors));
          if (!Array.isArray(body) || body.length < 2) problems.push("a batch of fewer than 2");
          events = body;
        } else {
          problems.push(`unexpected content-type ${contentType}`);
        }
      } catch (error) {
        problems.push(`unparseable body: ${error}`);
      }
      received.push({
        path: new URL(req.url).pathname,
        contentType,
        authorization: req.headers.get("authorization"),
        raw,
        events,
        status,
      });
      if (status === 204) return new Response(null, { status });
      return Response.json(
        { type: "about:blank", title: "Service Unavailable", status, detail: "try later" },
        { status, headers: { "content-type": "application/problem+json" } },
      );
    },
  );
  return {
    port: server.addr.port,
    url: `http://127.0.0.1:${server.addr.port}`,
    received,
    problems,
    /** Events of the requests answered 2xx. */
    delivered: (path?: string) =>
      received.filter((r) => r.status < 300 && (!path || r.path.startsWith(path)))
        .flatMap((r) => r.events),
    close: () => server.shutdown(),
  };
}

/** Captures the gateway's log lines (core writes them with console.error). */
function captureLog(): { lines: string[]; restore(): void } {
  const lines: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => {
    lines.push(args.map(String).join(" "));
  };
  return { lines, restore: () => (console.error = original) };
}

const keys = [
  { key: ALICE, alias: "alice-app", team: "team-a", user: "alice" },
  { key: TEAM_ONLY, alias: "batch-jobs", team: "team-b" },
  { key: ANON, alias: "anonymous-app" },
];

Deno.test("through a gateway with the openai client: both content types validate, subjects follow the keys, required sinks cannot be skipped", async () => {
  const om = startOpenMeter();
  const log = captureLog();
  const gw = await startGateway({
    server: { master_key: MASTER },
    models: [
      {
        name: "mock-gpt",
        provider: "mock",
        api_key: UPSTREAM_KEY,
        input_cost_per_token: 1e-6,
        output_cost_per_token: 2e-6,
      },
      { name: "mock-embed", provider: "mock" },
    ],
    teams: [{ name: "team-a" }, { name: "team-b" }],
    keys,
    sinks: [
      {
        name: "om-single",
        use: "openmeter",
        required: true,
        queue: { batch_size: 1, flush_interval_ms: 10 },
        config: { api_key: OM_KEY, endpoint: `${om.url}/single` },
      },
      {
        name: "om-batch",
        use: "openmeter",
        required: true,
        queue: { batch_size: 100, flush_interval_ms: 60_000 },
        config: {
          api_key: OM_KEY,
          endpoint: `${om.url}/batch`,
          event_type: "litellm_tokens",
          source: "sluice-eu",
          trust_request_user: true,
        },
      },
    ],
  });
  try {
    const client = (apiKey: string) =>
      new OpenAI({ apiKey, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const alice = client(ALICE);
    const prompt = `my private question, key ${ALICE}`;
    const messages = [{ role: "user" as const, content: prompt }];
    await alice.chat.completions.create({ model: "mock-gpt", messages });
    // a client cannot dodge billing: no-log and the disable header do not skip required sinks
    await alice.chat.completions.create({
      model: "mock-gpt",
      messages,
      ...({ "no-log": true } as object),
    });
    await alice.chat.completions.create({ model: "mock-gpt", messages }, {
      headers: { "x-sluice-disable-sinks": "om-single,om-batch,openmeter" },
    });
    const stream = await alice.chat.completions.create({
      model: "mock-gpt",
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    for await (const _ of stream) { /* drain */ }
    await alice.embeddings.create({ model: "mock-embed", input: "embed me" });
    await client(TEAM_ONLY).chat.completions.create({ model: "mock-gpt", messages });
    // no key user, no team: billed to the request's user only where trust_request_user is set
    await client(ANON).chat.completions.create({ model: "mock-gpt", messages, user: "end-user-7" });
    // a client cannot pick the id: a client call id is not the CloudEvent id
    await alice.chat.completions.create({ model: "mock-gpt", messages }, {
      headers: { "x-sluice-call-id": "client-chosen-id" },
    });
    await until(() => om.delivered("/single").length >= 7, 10_000, "the single-event sink");
    // The unbilled call is counted as skipped, not sent, in /metrics. The receiver sees the last
    // event before the gateway counts it as sent: wait for both counts.
    let metrics = "";
    await until(
      async () => {
        const headers = { authorization: `Bearer ${MASTER}` };
        metrics = await (await fetch(`${gw.url}/metrics`, { headers })).text();
        return /sluice_sink_events_total\{sink="om-single",outcome="skipped"\} 1\b/.test(metrics) &&
          /sluice_sink_events_total\{sink="om-single",outcome="sent"\} 7\b/.test(metrics);
      },
      5_000,
      "the skipped and sent counts",
    );
    assert.match(metrics, /sluice_sink_events_total\{sink="om-single",outcome="sent"\} 7\b/);
  } finally {
    await gw.close(); // flushes om-batch
    log.restore();
    await om.close();
  }
  assert.deepEqual(om.problems, [], "every body validates against the OpenMeter schema");

  const single = om.received.filter((r) => r.path === "/single/api/v1/events");
  const batch = om.received.filter((r) => r.path === "/batch/api/v1/events");
  assert.equal(single.length, 7);
  assert.ok(single.every((r) => r.contentType === "application/cloudevents+json"));
  assert.ok(batch.length >= 1);
  assert.ok(batch.every((r) => r.contentType === "application/cloudevents-batch+json"));
  assert.ok(om.received.every((r) => r.authorization === `Bearer ${OM_KEY}`));

  const bySubject = (events: CloudEvent[]) => {
    const out: Record<string, string[]> = {};
    for (const e of events) (out[e.subject] ??= []).push(`${e.data.call_type}:${e.data.key_alias}`);
    for (const list of Object.values(out)) list.sort();
    return out;
  };
  const aliceCalls = [
    "chat:alice-app",
    "chat:alice-app",
    "chat:alice-app",
    "chat:alice-app",
    "chat:alice-app",
    "embedding:alice-app",
  ];
  const singleEvents = single.flatMap((r) => r.events);
  assert.deepEqual(bySubject(singleEvents), {
    alice: aliceCalls,
    "team-b": ["chat:batch-jobs"],
  });
  const batchEvents = batch.flatMap((r) => r.events);
  assert.deepEqual(bySubject(batchEvents), {
    alice: aliceCalls,
    "team-b": ["chat:batch-jobs"],
    "end-user-7": ["chat:anonymous-app"],
  });

  for (const e of [...singleEvents, ...batchEvents]) {
    assert.equal(e.specversion, "1.0");
    assert.match(e.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.ok(Date.now() - Date.parse(e.time) < 60_000);
    assert.equal(e.data.model, e.data.call_type === "embedding" ? "mock-embed" : "mock-gpt");
    assert.equal(e.data.provider, "mock");
    assert.ok((e.data.total_tokens as number) > 0);
    assert.equal(
      e.data.total_tokens,
      (e.data.prompt_tokens as number) + (e.data.completion_tokens as number),
    );
    assert.equal(e.data.status, "success");
    if (e.data.call_type === "chat") {
      const cost = (e.data.prompt_tokens as number) * 1e-6 +
        (e.data.completion_tokens as number) * 2e-6;
      assert.ok(Math.abs((e.data.cost as number) - cost) < 1e-12, `cost ${e.data.cost}`);
    }
  }
  assert.ok(singleEvents.every((e) => e.source === "sluice" && e.type === "llm_tokens"));
  assert.ok(batchEvents.every((e) => e.source === "sluice-eu" && e.type === "litellm_tokens"));
  // both instances bill the same calls under the same ids
  const singleIds = new Set(singleEvents.map((e) => e.id));
  assert.equal(singleIds.size, 7);
  assert.ok([...singleIds].every((id) => batchEvents.some((e) => e.id === id)));
  assert.ok(!singleIds.has("client-chosen-id"));

  // nothing but usage leaves: no prompt, no key of any kind
  const bodies = om.received.map((r) => r.raw).join("\n");
  for (const secret of [OM_KEY, MASTER, ALICE, TEAM_ONLY, ANON, UPSTREAM_KEY, "private question"]) {
    assert.ok(!bodies.includes(secret), `${secret} leaked into a body`);
  }

  // the unbilled call was counted and reported by the sink that does not trust the request user
  const report = log.lines.find((l) => l.includes(`sink "om-single": not sent to OpenMeter`));
  assert.ok(report, log.lines.join("\n"));
  assert.match(report, /1 call\(s\) had no billing subject/);
  assert.ok(!log.lines.some((l) => l.includes(`sink "om-batch": not sent`)));
});

Deno.test("a batch answered 503 then 204 is sent again with the same ids (OpenMeter de-duplicates on them)", async () => {
  const om = startOpenMeter({ answer: (n) => (n <= 2 ? 503 : 204) });
  const gw = await startGateway({
    models: [{ name: "mock-gpt", provider: "mock" }],
    teams: [{ name: "team-a" }],
    keys: [keys[0]],
    sinks: [{
      use: "openmeter",
      queue: { batch_size: 5, flush_interval_ms: 60_000 }, // the five calls make one batch
      config: { api_key: OM_KEY, endpoint: om.url },
    }],
  });
  try {
    await Promise.all(Array.from({ length: 5 }, () =>
      fetch(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${ALICE}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "mock-gpt", messages: [{ role: "user", content: "hi" }] }),
      }).then((r) => r.body?.cancel())));
    await until(() => om.delivered().length >= 5, 15_000, "delivery after the 503s");
  } finally {
    await gw.close();
    await om.close();
  }
  assert.deepEqual(om.problems, []);
  const attempts = om.received.map((r) => r.events.map((e) => e.id));
  assert.equal(attempts.length, 3);
  assert.equal(attempts[0].length, 5);
  assert.deepEqual(attempts[1], attempts[0], "the first retry carries the same ids");
  assert.deepEqual(attempts[2], attempts[0], "the delivered batch carries the same ids");
  assert.deepEqual(
    om.received.map((r) => r.status),
    [503, 503, 204],
  );
  // the whole event is the same, not only its id: a de-duplicated retry bills nothing new
  assert.equal(om.received[0].raw, om.received[2].raw);
});

Deno.test("a missing API key stops the gateway at startup, naming the sink and the plugin", {
  ignore: Deno.env.get("OPENMETER_API_KEY") !== undefined,
}, async () => {
  await assert.rejects(
    startGateway({
      models: [{ name: "mock-gpt", provider: "mock" }],
      sinks: [{ name: "billing", use: "openmeter", required: true }],
    }),
    (error: Error) => {
      assert.match(error.message, /"billing"/);
      assert.match(error.message, /plugin "openmeter" 0\.1\.0 refused to start/);
      assert.match(error.message, /set OPENMETER_API_KEY or this sink's config\.api_key/);
      return true;
    },
  );
});

Deno.test("an OpenMeter that is down (503, then refusing connections) loses no usage event", async () => {
  const N = 400;
  let om = startOpenMeter({ answer: () => 503 });
  const port = om.port;
  const dataDir = await Deno.makeTempDir();
  const gw = await startGateway({
    server: { data_dir: dataDir },
    models: [{ name: "mock-gpt", provider: "mock" }],
    teams: [{ name: "team-a" }],
    keys: [keys[0]],
    sinks: [{
      use: "openmeter",
      required: true,
      queue: { batch_size: 50, flush_interval_ms: 20, max_queue: 100 },
      config: { api_key: OM_KEY, endpoint: `http://127.0.0.1:${port}` },
    }],
  });
  const call = async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${ALICE}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "mock-gpt", messages: [{ role: "user", content: "hi" }] }),
    });
    await res.body?.cancel();
    return res.status;
  };
  const calls = async (n: number) => {
    const statuses: number[] = [];
    for (let i = 0; i < n; i += 20) {
      statuses.push(...await Promise.all(Array.from({ length: Math.min(20, n - i) }, call)));
    }
    return statuses;
  };
  try {
    const first = await calls(N / 2);
    await until(() => om.received.length > 0, 5_000, "a first (failed) delivery");
    await om.close(); // now refuse connections
    const second = await calls(N / 2);
    assert.deepEqual([...new Set([...first, ...second])], [200], "every call succeeded");
    assert.equal(om.delivered().length, 0);
    om = startOpenMeter({ port });
    await until(() => new Set(om.delivered().map((e) => e.id)).size >= N, 90_000, "all events");
  } finally {
    await gw.close();
    await om.close();
    await Deno.remove(dataDir, { recursive: true });
  }
  assert.deepEqual(om.problems, []);
  const ids = om.delivered().map((e) => e.id);
  assert.equal(new Set(ids).size, N);
  assert.equal(ids.length, N, "no duplicates without a crash");
  assert.ok(om.delivered().every((e) => e.subject === "alice"));
});
