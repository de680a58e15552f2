import assert from "node:assert/strict";
import openMeterPlugin, {
  BATCH_CONTENT_TYPE,
  billingSubject,
  createOpenMeterSink,
  type OpenMeterCloudEvent,
  openMeterConfigSchema,
  SINGLE_CONTENT_TYPE,
  toCloudEvent,
} from "./mod.ts";
import {
  assertConformance,
  checkHttpSinkConformance,
  createTestContext,
  resolvePermissions,
  sampleEvent,
  sampleEvents,
  sampleFailureEvent,
  sampleGatewayErrorEvent,
} from "@sluice/core/testing";
import type { LogEvent, SinkError } from "@sluice/core/plugin";
import denoJson from "./deno.json" with { type: "json" };

const KEY = "om_test_Secret_Key_123";

/** The CloudEvents in a request body, checking that the content type matches its shape. */
function cloudEventsIn(contentType: string | null, body: string): OpenMeterCloudEvent[] {
  const parsed = JSON.parse(body);
  if (contentType === SINGLE_CONTENT_TYPE) {
    assert.ok(!Array.isArray(parsed), "a single event is an object");
    return [parsed];
  }
  assert.equal(contentType, BATCH_CONTENT_TYPE);
  assert.ok(Array.isArray(parsed) && parsed.length > 1, "a batch is an array of 2 or more");
  return parsed;
}

Deno.test("the openmeter sink passes the HTTP sink conformance kit", async () => {
  for (const batchSize of [1, 4]) {
    const report = await checkHttpSinkConformance(openMeterPlugin, {
      config: (url) => ({ api_key: KEY, endpoint: url, timeout_ms: 2000 }),
      eventsIn: (req) => {
        assert.equal(req.method, "POST");
        assert.ok(req.url.endsWith("/sluice-conformance/api/v1/events"), req.url);
        assert.equal(req.headers.get("authorization"), `Bearer ${KEY}`);
        return cloudEventsIn(req.headers.get("content-type"), new TextDecoder().decode(req.body))
          .map((e) => e.id);
      },
      batchSize,
    });
    assertConformance(report);
  }
});

/** A receiver that records requests and answers with `answer()`. */
function receiver(
  answer: (req: Request) => Response | Promise<Response> = () =>
    new Response(null, { status: 204 }),
) {
  const requests: { url: string; headers: Headers; body: string }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    requests.push({ url: req.url, headers: req.headers, body: await req.text() });
    return await answer(req);
  });
  return {
    requests,
    base: `http://127.0.0.1:${server.addr.port}`,
    events: () => requests.flatMap((r) => cloudEventsIn(r.headers.get("content-type"), r.body)),
    close: () => server.shutdown(),
  };
}

async function rejection(promise: Promise<unknown> | unknown): Promise<SinkError> {
  try {
    await promise;
  } catch (error) {
    return error as SinkError;
  }
  throw new Error("log resolved; expected a rejection");
}

Deno.test("a CloudEvent: id is the request_id, time the call's end, data the usage", () => {
  const event = sampleEvent({ cache_read_input_tokens: 5 });
  const ce = toCloudEvent(event, { source: "sluice", type: "llm_tokens", subject: "alice" });
  assert.deepEqual(ce, {
    specversion: "1.0",
    id: event.request_id,
    source: "sluice",
    type: "llm_tokens",
    subject: "alice",
    time: new Date(event.end_time).toISOString(),
    datacontenttype: "application/json",
    data: {
      model: event.model,
      model_group: event.model_group,
      provider: "openai",
      prompt_tokens: event.prompt_tokens,
      completion_tokens: event.completion_tokens,
      total_tokens: event.total_tokens,
      cache_read_input_tokens: 5,
      cost: event.response_cost,
      call_type: "chat",
      status: "success",
      key_alias: "app-a",
      team: "team-a",
    },
  });
  // an unknown price is left out, not sent as 0
  const unpriced = toCloudEvent(sampleEvent({ response_cost: undefined }), {
    source: "s",
    type: "t",
    subject: "x",
  });
  assert.equal("cost" in unpriced.data, false);
});

Deno.test("subject: the key's user, else its team, else the request's user only when trusted", () => {
  const base = sampleEvent();
  const meta = (m: Partial<LogEvent["metadata"]>) => ({
    ...base,
    metadata: { tags: [], request: {}, ...m },
  });
  assert.deepEqual(billingSubject(base, false), { subject: "alice", from: "key_user" });
  assert.deepEqual(
    billingSubject(meta({ user_api_key_team: "team-a", end_user: "bob" }), true),
    { subject: "team-a", from: "key_team" },
  );
  const requestOnly = meta({ end_user: "bob" });
  assert.deepEqual(billingSubject(requestOnly, false), { reason: "none" });
  assert.deepEqual(billingSubject(requestOnly, true), { subject: "bob", from: "request_user" });
  assert.deepEqual(billingSubject(meta({}), true), { reason: "none" });
  assert.deepEqual(billingSubject(meta({ user_api_key_user_id: "  " }), false), {
    reason: "none",
  });
  // a masked id would bill every masked customer as one: refused
  assert.deepEqual(billingSubject(meta({ user_api_key_user_id: "[EMAIL]" }), false), {
    reason: "masked",
    from: "key_user",
  });
  // a keyed pseudonym is stable per customer: accepted
  assert.equal(
    billingSubject(meta({ user_api_key_user_id: "[EMAIL:9f2c41d0]" }), false).subject,
    "[EMAIL:9f2c41d0]",
  );
});

Deno.test("one event is sent as application/cloudevents+json, several as a batch array", async () => {
  const rx = receiver();
  try {
    const ctx = createTestContext();
    const sink = createOpenMeterSink({ api_key: KEY, endpoint: `${rx.base}/` }, ctx);
    await sink.log([sampleEvent()]);
    await sink.log(sampleEvents(3));
    await sink.log([]);
    assert.equal(rx.requests.length, 2);
    const [one, three] = rx.requests;
    assert.equal(one.url, `${rx.base}/api/v1/events`);
    assert.equal(one.headers.get("content-type"), "application/cloudevents+json");
    assert.equal(three.headers.get("content-type"), "application/cloudevents-batch+json");
    assert.equal(one.headers.get("user-agent"), `sluice-openmeter/${denoJson.version}`);
    assert.equal(rx.events().length, 4);
    assert.equal(sink.stats().sent, 4);
  } finally {
    await rx.close();
  }
});

Deno.test("calls with no subject are counted and reported, never sent; failures only with include_failures", async () => {
  const rx = receiver();
  try {
    const ctx = createTestContext({ permissions: openMeterPlugin.permissions });
    const sink = createOpenMeterSink({ api_key: KEY, endpoint: rx.base }, ctx);
    const anonymous = sampleEvent({ metadata: { tags: [], request: {}, end_user: "bob" } });
    const masked = sampleEvent({
      metadata: { tags: [], request: {}, user_api_key_user_id: "[EMAIL]" },
    });
    const billed = sampleEvent();
    const failed = sampleFailureEvent();
    const internal = sampleGatewayErrorEvent();
    await sink.log([anonymous, masked, billed, failed, internal]);
    assert.deepEqual(rx.events().map((e) => e.id), [billed.request_id]);
    assert.deepEqual(sink.stats(), {
      sent: 1,
      noSubject: 2,
      maskedSubject: 1,
      failuresSkipped: 1,
    });
    const warning = ctx.logs.find((l) => l.level === "warn");
    assert.ok(warning, "reported through ctx.logger");
    assert.match(warning.message, /not sent to OpenMeter, not billed: 1 call\(s\) had no billing/);
    assert.match(warning.message, /1 call\(s\) had a subject masked by redaction/);
    assert.deepEqual(warning.data?.request_ids, [anonymous.request_id, masked.request_id]);

    // the next report waits for the interval, then close() reports the rest
    await sink.log([sampleEvent({ metadata: { tags: [], request: {} } })]);
    assert.equal(ctx.logs.filter((l) => l.level === "warn").length, 1);
    await sink.close?.();
    assert.equal(ctx.logs.filter((l) => l.level === "warn").length, 2);
    assert.equal(sink.stats().noSubject, 3);

    // trust_request_user and include_failures
    rx.requests.length = 0;
    const trusting = createOpenMeterSink({
      api_key: KEY,
      endpoint: rx.base,
      trust_request_user: true,
      include_failures: true,
    }, createTestContext());
    await trusting.log([anonymous, failed]);
    const sent = rx.events();
    assert.deepEqual(sent.map((e) => [e.id, e.subject, e.data.status]), [
      [anonymous.request_id, "bob", "success"],
      [failed.request_id, "alice", "failure"],
    ]);
  } finally {
    await rx.close();
  }
});

Deno.test("a batch retried after a failure keeps its ids and counts its unbilled calls once", async () => {
  let status = 503;
  const rx = receiver(() => new Response(null, { status }));
  try {
    const sink = createOpenMeterSink({ api_key: KEY, endpoint: rx.base }, createTestContext());
    const batch = [...sampleEvents(2), sampleEvent({ metadata: { tags: [], request: {} } })];
    const error = await rejection(sink.log(batch));
    assert.notEqual(error.permanent, true);
    status = 204;
    await sink.log(batch);
    const [first, second] = rx.requests.map((r) =>
      cloudEventsIn(r.headers.get("content-type"), r.body).map((e) => e.id)
    );
    assert.deepEqual(first, second, "the same ids on the retry");
    assert.deepEqual(first, batch.slice(0, 2).map((e) => e.request_id));
    assert.equal(sink.stats().noSubject, 1);
    assert.equal(sink.stats().sent, 2);
  } finally {
    await rx.close();
  }
});

Deno.test("settings: config wins over the environment; defaults; missing key refuses to start", async () => {
  const permissions = openMeterPlugin.permissions;
  const env = {
    OPENMETER_API_KEY: "om_env_key_456",
    OPENMETER_API_ENDPOINT: "http://127.0.0.1:1",
    OPENMETER_EVENT_TYPE: "env_tokens",
    OPENMETER_TRUST_REQUEST_USER: "true",
  };
  const rx = receiver();
  try {
    const sink = createOpenMeterSink(
      { endpoint: rx.base, event_type: "cfg_tokens", source: "gw-eu" },
      createTestContext({ env, permissions }),
    );
    await sink.log([sampleEvent({ metadata: { tags: [], request: {}, end_user: "carol" } })]);
    const [req] = rx.requests;
    assert.equal(req.headers.get("authorization"), "Bearer om_env_key_456");
    const [ce] = rx.events();
    assert.equal(ce.type, "cfg_tokens");
    assert.equal(ce.source, "gw-eu");
    assert.equal(ce.subject, "carol", "OPENMETER_TRUST_REQUEST_USER=true applies");
  } finally {
    await rx.close();
  }

  // no key anywhere: create() throws, naming the plugin and both ways to fix it
  for (const ctx of [createTestContext({ permissions }), createTestContext()]) {
    assert.throws(
      () => openMeterPlugin.create({}, ctx),
      /^Error: openmeter: no API key; set OPENMETER_API_KEY or this sink's config\.api_key/,
    );
  }
  assert.throws(
    () => createOpenMeterSink({ api_key: KEY, endpoint: "ftp://x" }, createTestContext()),
    /openmeter: invalid config: config\.endpoint: must be an absolute http:\/\/ or https:\/\/ URL/,
  );
  assert.throws(
    () =>
      createOpenMeterSink(
        { api_key: KEY },
        createTestContext({ env: { OPENMETER_API_ENDPOINT: "ftp://x" }, permissions }),
      ),
    /openmeter: endpoint must use http or https/,
  );
  assert.throws(
    () =>
      openMeterPlugin.create({ api_key: KEY, timeout_ms: 1.5, source: "" }, createTestContext()),
    /config\.source: Too small.*; config\.timeout_ms: Invalid input: expected int/,
  );
  assert.throws(
    () =>
      createOpenMeterSink(
        { api_key: KEY },
        createTestContext({ env: { OPENMETER_TRUST_REQUEST_USER: "maybe" }, permissions }),
      ),
    /OPENMETER_TRUST_REQUEST_USER must be true or false/,
  );
  assert.equal(openMeterPlugin.name, "openmeter");
  assert.equal(openMeterPlugin.version, denoJson.version);
  assert.deepEqual(resolvePermissions(openMeterPlugin, { api_key: KEY }).net, ["openmeter.cloud"]);
  assert.deepEqual(
    resolvePermissions(openMeterPlugin, { api_key: KEY }, {
      OPENMETER_API_ENDPOINT: "http://127.0.0.1:8888",
    }).net,
    ["127.0.0.1:8888"],
  );
  assert.equal(openMeterConfigSchema.additionalProperties, false);
  assert.equal(openMeterPlugin.configSchema, openMeterConfigSchema);
});

Deno.test("answers map to the contract; messages never show the API key", async () => {
  let status = 401;
  const rx = receiver(() =>
    Response.json(
      { type: "about:blank", title: "Unauthorized", status, detail: `key ${KEY} rejected` },
      { status, headers: { "content-type": "application/problem+json", "retry-after": "3" } },
    )
  );
  try {
    const sink = createOpenMeterSink({ api_key: KEY, endpoint: rx.base }, createTestContext());
    const expected: [number, RegExp, Partial<SinkError>][] = [
      [401, /answered 401 \(Unauthorized\): check the API key/, { permanent: undefined }],
      [403, /answered 403 \(Unauthorized\): check the API key/, { permanent: undefined }],
      [404, /check the endpoint/, { permanent: undefined }],
      [400, /OpenMeter refused these 2 events/, { permanent: true }],
      [422, /OpenMeter refused these 2 events/, { permanent: true }],
      [429, /rate limited; retry in 3000 ms/, { retryAfterMs: 3000 }],
      [500, /the batch will be retried/, { permanent: undefined }],
    ];
    for (const [code, message, props] of expected) {
      status = code;
      const error = await rejection(sink.log(sampleEvents(2)));
      assert.match(error.message, message);
      assert.ok(!error.message.includes(KEY), error.message);
      assert.ok(!error.message.includes("rejected"), "problem detail is not quoted");
      for (const [key, value] of Object.entries(props)) {
        assert.equal(error[key as keyof SinkError], value, `${code} ${key}`);
      }
    }
  } finally {
    await rx.close();
  }
  // connection refused
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const down = `http://127.0.0.1:${listener.addr.port}`;
  listener.close();
  const sink = createOpenMeterSink({ api_key: KEY, endpoint: down }, createTestContext());
  const error = await rejection(sink.log(sampleEvents(1)));
  assert.match(error.message, /^openmeter: POST http:\/\/127\.0\.0\.1:\d+\/api\/v1\/events failed/);
  assert.notEqual(error.permanent, true);
});

Deno.test("responses and messages calls are metered like chat; the CloudEvent matches OpenMeter's schema", async () => {
  const { Ajv2020 } = await import("npm:ajv@8.17.1/dist/2020.js");
  const { default: addFormatsModule } = await import("npm:ajv-formats@3.0.1");
  const addFormats = addFormatsModule as unknown as (ajv: unknown, formats?: string[]) => void;
  const schema = JSON.parse(
    await Deno.readTextFile(
      new URL("../../tests/fixtures/schemas/openmeter-event.schema.json", import.meta.url),
    ),
  );
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv, ["date-time", "uri", "uri-reference"]);
  ajv.addSchema(schema);
  const validate = ajv.getSchema(`${schema.$id}#/$defs/Event`)!;
  for (const call_type of ["responses", "messages"] as const) {
    const event = sampleEvent({ call_type, cache_read_input_tokens: 3 });
    const ce = toCloudEvent(event, { source: "sluice", type: "llm_tokens", subject: "alice" });
    assert.ok(validate(ce), ajv.errorsText(validate.errors));
    assert.equal(ce.id, event.request_id);
    assert.equal(ce.data.call_type, call_type);
    assert.equal(ce.data.prompt_tokens, event.prompt_tokens);
    assert.equal(ce.data.completion_tokens, event.completion_tokens);
    assert.equal(ce.data.total_tokens, event.total_tokens);
    assert.equal(ce.data.cache_read_input_tokens, 3);
    assert.equal(ce.data.cost, event.response_cost);
  }
});
