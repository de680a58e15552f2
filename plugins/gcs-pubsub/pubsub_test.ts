import assert from "node:assert/strict";
import AjvDraft7 from "npm:ajv@8.17.1";
import pubsubPlugin, {
  createPubSubSink,
  eventMessage,
  MAX_MESSAGES_PER_REQUEST,
  parsePubSubConfig,
  planRequests,
  publishUrl,
  PUBSUB_ENV_VARS,
  PUBSUB_SCOPE,
  pubsubLiteLLM,
  REQUEST_BUDGET_BYTES,
  resolvePubSubTarget,
} from "./mod.ts";
import {
  assertConformance,
  checkHttpSinkConformance,
  createTestContext,
  resolvePermissions,
  sampleEvent,
  sampleEvents,
} from "@sluice/core/testing";
import type { LogEvent } from "@sluice/core/plugin";
import type { HttpSinkError } from "@sluice/core/sink-http";
import { googleError, startGoogleFake } from "../gcs/test_support.ts";
import publishSchema from "../../tests/fixtures/schemas/pubsub-publish-request.schema.json" with {
  type: "json",
};

const decoder = new TextDecoder();
const validate = new AjvDraft7.default({ strict: false, allErrors: true }).compile(publishSchema);
const TOPIC = "projects/sluice-test/topics/llm-logs";

/** The request ids a publish body carries, after checking it against the schema. */
function requestIdsIn(body: Uint8Array): string[] {
  const json: { messages: { data: string }[] } = JSON.parse(decoder.decode(body));
  assert.ok(validate(json), JSON.stringify(validate.errors));
  return json.messages.map((m) =>
    JSON.parse(decoder.decode(Uint8Array.fromBase64(m.data))).request_id
  );
}

Deno.test("the gcs-pubsub sink passes the HTTP sink conformance kit", async () => {
  const google = await startGoogleFake({ scope: PUBSUB_SCOPE });
  try {
    const report = await checkHttpSinkConformance(pubsubPlugin, {
      config: (url) => ({
        project_id: "sluice-test",
        topic_id: "llm-logs",
        endpoint_url: url,
        service_account_json: google.keyJson,
        timeout_ms: 2000,
      }),
      eventsIn: (req) => {
        assert.equal(req.method, "POST");
        assert.equal(
          new URL(req.url).pathname,
          "/sluice-conformance/v1/projects/sluice-test/topics/llm-logs:publish",
        );
        assert.match(req.headers.get("authorization") ?? "", /^Bearer ya29\.fake-/);
        return requestIdsIn(req.body);
      },
      okResponse: (req) =>
        Response.json({ messageIds: requestIdsIn(req.body).map((_, i) => String(i + 1)) }),
    });
    assertConformance(report);
    assert.deepEqual(google.refusals, []);
  } finally {
    await google.close();
  }
});

Deno.test("gcs-pubsub: one message per event, its JSON as data, ids and status as attributes", async () => {
  const google = await startGoogleFake({ scope: PUBSUB_SCOPE });
  const ctx = createTestContext();
  try {
    const sink = await createPubSubSink({
      project_id: "sluice-test",
      topic_id: "llm-logs",
      endpoint_url: google.url,
      service_account_json: google.keyJson,
      attributes: { env: "prod" },
    }, ctx);
    const events: LogEvent[] = [
      ...sampleEvents(2),
      sampleEvent({ status: "failure", call_type: "embedding" }),
    ];
    await sink.log(events);
    await sink.log(sampleEvents(1));
    assert.deepEqual(google.refusals, [], "every body matched the publish request schema");
    assert.equal(google.grants.length, 1, "one token for both batches");
    assert.equal(google.grants[0].claims?.scope, PUBSUB_SCOPE);
    assert.equal(google.publishBodies.length, 2);
    const published = google.messages.slice(0, 3);
    published.forEach((message, i) => {
      const event = events[i];
      assert.equal(message.topic, TOPIC);
      assert.deepEqual(JSON.parse(message.data), event);
      assert.deepEqual(message.attributes, {
        request_id: event.request_id,
        call_id: event.call_id,
        status: event.status,
        call_type: event.call_type,
        model_group: event.model_group,
        schema_version: "1",
        env: "prod",
      });
      assert.equal(message.orderingKey, undefined);
      assert.equal(message.token, google.grants[0].token);
    });
  } finally {
    ctx.controller.abort();
    await google.close();
  }
});

Deno.test("gcs-pubsub: ordering keys: one key per request, each key's order kept", async () => {
  const google = await startGoogleFake({ scope: PUBSUB_SCOPE });
  const ctx = createTestContext();
  try {
    const sink = await createPubSubSink({
      project_id: "sluice-test",
      topic_id: "llm-logs",
      endpoint_url: google.url,
      service_account_json: google.keyJson,
      ordering_key: "user_api_key_team",
    }, ctx);
    const team = (name: string | undefined) =>
      sampleEvent({ metadata: { user_api_key_team: name, tags: [], request: {} } });
    const events = [team("a"), team("b"), team("a"), team(undefined), team("b"), team("a")];
    await sink.log(events);
    assert.deepEqual(google.refusals, [], "no request mixed ordering keys");
    assert.equal(google.publishBodies.length, 3); // a, b, and the messages without a key
    const order = (key: string | undefined) =>
      google.messages.filter((m) => m.orderingKey === key).map((m) =>
        JSON.parse(m.data).request_id
      );
    const ids = (name: string | undefined) =>
      events.filter((e) => e.metadata.user_api_key_team === name).map((e) => e.request_id);
    assert.deepEqual(order("a"), ids("a"));
    assert.deepEqual(order("b"), ids("b"));
    assert.deepEqual(order(undefined), ids(undefined));
  } finally {
    ctx.controller.abort();
    await google.close();
  }
});

Deno.test("gcs-pubsub: requests stay under 1,000 messages and 10 MB; an event over 10 MB is dropped as permanent, not silently", async () => {
  // The plan: counts and bytes.
  const many = sampleEvents(2500).map((e) => eventMessage(e));
  assert.deepEqual(planRequests(many).requests.map((r) => r.length), [1000, 1000, 500]);
  assert.equal(MAX_MESSAGES_PER_REQUEST, 1000);
  const big = (mb: number) =>
    sampleEvent({ messages: [{ role: "user", content: "x".repeat(mb * 1_000_000) }] });
  const plan = planRequests([big(3), big(3), big(3), big(11)].map((e) => eventMessage(e)));
  assert.deepEqual(plan.requests.map((r) => r.length), [2, 1]); // 4 MB of base64 each
  for (const request of plan.requests) {
    const body = JSON.stringify({ messages: request.map((m) => m.message) });
    assert.ok(new TextEncoder().encode(body).length <= REQUEST_BUDGET_BYTES);
  }
  assert.equal(plan.oversized.length, 1);

  // Through the sink and the fake (which refuses requests over 10 MB).
  const google = await startGoogleFake({ scope: PUBSUB_SCOPE });
  const ctx = createTestContext();
  try {
    const sink = await createPubSubSink({
      project_id: "sluice-test",
      topic_id: "llm-logs",
      endpoint_url: google.url,
      service_account_json: google.keyJson,
    }, ctx);
    const events = [big(3), sampleEvent(), big(3), big(11), big(3)];
    const error: HttpSinkError = await Promise.resolve(sink.log(events)).then(() => {
      throw new Error("log resolved with an event too big to publish");
    }, (e) => e);
    assert.equal(error.permanent, true);
    assert.match(error.message, /^gcs-pubsub: 1 event is too big for a Pub\/Sub message/);
    assert.match(error.message, /the other 4 were published$/);
    assert.deepEqual(google.refusals, []);
    assert.equal(google.publishBodies.length, 2);
    assert.deepEqual(
      google.messages.map((m) => JSON.parse(m.data).request_id).sort(),
      [events[0], events[1], events[2], events[4]].map((e) => e.request_id).sort(),
    );
  } finally {
    ctx.controller.abort();
    await google.close();
  }
});

Deno.test("gcs-pubsub: a refused token is renewed once; 403 and 404 keep the events with a clear, credential-free message", async () => {
  let answer: Response | undefined;
  const google = await startGoogleFake({
    scope: PUBSUB_SCOPE,
    script: (kind) => (kind === "publish" ? answer?.clone() : undefined),
  });
  const ctx = createTestContext();
  try {
    const sink = await createPubSubSink({
      project_id: "sluice-test",
      topic_id: "llm-logs",
      endpoint_url: google.url,
      service_account_json: google.keyJson,
    }, ctx);
    await sink.log(sampleEvents(1));
    google.revoke(google.grants[0].token);
    await sink.log(sampleEvents(2));
    assert.equal(google.grants.length, 2);
    assert.deepEqual(google.refusals, ["publish: token"]);
    assert.equal(google.messages.at(-1)?.token, google.grants[1].token);

    const events = sampleEvents(2);
    for (
      const [status, text, hint] of [
        [403, "User not authorized to perform this action.", /roles\/pubsub\.publisher/],
        [404, "Resource not found (resource=llm-logs).", /check project_id, topic_id/],
      ] as const
    ) {
      answer = googleError(status, text);
      const error: HttpSinkError = await Promise.resolve(sink.log(events)).then(() => {
        throw new Error(`log resolved on ${status}`);
      }, (e) => e);
      assert.notEqual(error.permanent, true);
      assert.equal(error.status, status);
      assert.match(error.message, new RegExp(`^gcs-pubsub: topic ${TOPIC} at http://127`));
      assert.match(error.message, hint);
      assert.match(error.message, /the events are kept and retried$/);
      for (
        const secret of [
          google.serviceAccount.private_key,
          ...google.grants.map((g) => g.token),
        ]
      ) {
        assert.ok(!error.message.includes(secret));
      }
    }
    answer = undefined;
    await sink.log(events);
    const got = google.messages.map((m) => JSON.parse(m.data).request_id);
    for (const event of events) assert.equal(got.filter((id) => id === event.request_id).length, 1);
  } finally {
    ctx.controller.abort();
    await google.close();
  }
});

Deno.test("gcs-pubsub: a failed request leaves the confirmed ones out of the retry", async () => {
  const google = await startGoogleFake({ scope: PUBSUB_SCOPE });
  const ctx = createTestContext();
  try {
    const sink = await createPubSubSink({
      project_id: "sluice-test",
      topic_id: "llm-logs",
      endpoint_url: google.url,
      service_account_json: google.keyJson,
      ordering_key: "user_api_key_team",
    }, ctx);
    const events = [
      sampleEvent({ metadata: { user_api_key_team: "a", tags: [], request: {} } }),
      sampleEvent({ metadata: { user_api_key_team: "b", tags: [], request: {} } }),
    ];
    await sink.log(events.slice(0, 1)); // a token first
    google.messages.length = 0;
    // The first request (team a) goes out, the second (team b) fails.
    let calls = 0;
    google.setScript((kind) => {
      if (kind !== "publish") return undefined;
      return ++calls === 2 ? googleError(503, "unavailable") : undefined;
    });
    await assert.rejects(Promise.resolve(sink.log(events)), /answered 503/);
    await sink.log(events);
    assert.deepEqual(
      google.messages.map((m) => m.orderingKey),
      ["a", "b"],
      "team a once, team b once",
    );
  } finally {
    ctx.controller.abort();
    await google.close();
  }
});

Deno.test("gcs-pubsub: PUBSUB_EMULATOR_HOST publishes without credentials; permissions and config", async () => {
  const google = await startGoogleFake({ emulator: true });
  try {
    const host = new URL(google.url).host;
    const env = { PUBSUB_EMULATOR_HOST: host };
    const config = { project_id: "sluice-test", topic_id: "llm-logs" };
    const permissions = resolvePermissions(pubsubPlugin, config, env);
    assert.deepEqual(permissions, { net: [host], env: [...PUBSUB_ENV_VARS], read: [] });
    const ctx = createTestContext({ env, permissions });
    const sink = await createPubSubSink(config, ctx);
    await sink.log(sampleEvents(2));
    assert.equal(google.messages.length, 2);
    assert.ok(google.messages.every((m) => m.token === undefined));
    ctx.controller.abort();
  } finally {
    await google.close();
  }
  assert.deepEqual(resolvePermissions(pubsubPlugin, { project_id: "p1", topic_id: "t-1" }).net, [
    "pubsub.googleapis.com",
    "metadata.google.internal",
  ]);
  const regional = resolvePubSubTarget(
    parsePubSubConfig({
      project_id: "p1",
      topic_id: "llm-logs",
      endpoint_url: "https://europe-west1-pubsub.googleapis.com",
    }),
    (n) => (n === "PUBSUB_EMULATOR_HOST" ? "localhost:8085" : undefined),
  );
  assert.equal(regional.credentials.kind, "metadata", "endpoint_url keeps the credentials");
  assert.equal(
    publishUrl(regional),
    "https://europe-west1-pubsub.googleapis.com/v1/projects/p1/topics/llm-logs:publish",
  );
  assert.throws(
    () =>
      parsePubSubConfig({
        project_id: "p1",
        topic_id: "goog-topic",
        attributes: { googx: "1", status: "x" },
      }),
    /config\.topic_id: .*not with goog.*config\.attributes\.googx: attribute keys may not start with goog.*config\.attributes\.status: this attribute is set from the event/,
  );
});

Deno.test("gcs-pubsub: LiteLLM's gcs_pubsub maps GCS_PUBSUB_PROJECT_ID and GCS_PUBSUB_TOPIC_ID", () => {
  const map = (vars: Record<string, string>) =>
    pubsubLiteLLM.toSink!({
      callback: "gcs_pubsub",
      name: "gcs_pubsub",
      path: "litellm_settings.callbacks[1]",
      callbackSettings: {},
      litellmSettings: {},
      env: (name) => vars[name],
    });
  assert.deepEqual(pubsubPlugin.litellm?.callbacks, ["gcs_pubsub"]);
  assert.deepEqual(
    map({ GCS_PUBSUB_PROJECT_ID: "my-project", GCS_PUBSUB_TOPIC_ID: "litellm-logs" }),
    { config: { project_id: "my-project", topic_id: "litellm-logs" } },
  );
  assert.deepEqual(map({ GCS_PUBSUB_PROJECT_ID: "my-project" }).problems, [{
    path: "litellm_settings.callbacks[1]",
    severity: "error",
    message: 'callback "gcs_pubsub" needs GCS_PUBSUB_TOPIC_ID (the topic the logs go to)',
  }]);
});
