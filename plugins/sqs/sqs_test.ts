import assert from "node:assert/strict";
import sqsPlugin, {
  createSqsSink,
  packBatches,
  parseSqsConfig,
  queueRegion,
  SQS_ENV_VARS,
  sqsLiteLLM,
} from "./mod.ts";
import {
  assertConformance,
  checkHttpSinkConformance,
  createTestContext,
  resolvePermissions,
  sampleEvent,
  sampleEvents,
} from "@sluice/core/testing";
import type { LogEvent, SinkError } from "@sluice/core/plugin";
import denoJson from "./deno.json" with { type: "json" };

const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const KEY_ID = "AKIAIOSFODNN7EXAMPLE";
const creds = { access_key_id: KEY_ID, secret_access_key: SECRET };
const decoder = new TextDecoder();

interface Entry {
  Id: string;
  MessageBody: string;
  MessageGroupId?: string;
  MessageDeduplicationId?: string;
}

/** A fake SQS endpoint: `decide` answers each entry (true: sent), recording every call. */
function fakeSqs(decide: (entry: Entry, call: number) => true | Record<string, unknown>) {
  const calls: { target: string | null; auth: string | null; entries: Entry[] }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = await req.json() as { Entries: Entry[] };
    calls.push({
      target: req.headers.get("x-amz-target"),
      auth: req.headers.get("authorization"),
      entries: body.Entries,
    });
    const Successful = [];
    const Failed = [];
    for (const entry of body.Entries) {
      const answer = decide(entry, calls.length);
      if (answer === true) Successful.push({ Id: entry.Id, MessageId: crypto.randomUUID() });
      else Failed.push({ Id: entry.Id, ...answer });
    }
    return Response.json({ Successful, Failed });
  });
  const url = `http://127.0.0.1:${server.addr.port}`;
  return { url, calls, close: () => server.shutdown() };
}

const idOf = (entry: Entry) => (JSON.parse(entry.MessageBody) as LogEvent).request_id;

Deno.test("the sqs sink passes the HTTP sink conformance kit", async () => {
  const report = await checkHttpSinkConformance(sqsPlugin, {
    config: (url) => ({ queue_url: `${url}/123456789012/logs`, ...creds, timeout_ms: 2000 }),
    eventsIn: (req) =>
      (JSON.parse(decoder.decode(req.body)).Entries as Entry[]).map((e) => idOf(e)),
    okResponse: (req) =>
      Response.json({
        Successful: (JSON.parse(decoder.decode(req.body)).Entries as Entry[]).map((e) => ({
          Id: e.Id,
        })),
        Failed: [],
      }),
    batchSize: 4,
  });
  assertConformance(report);
});

Deno.test("definition, schema, permissions and the queue URL's region", () => {
  assert.equal(sqsPlugin.name, "sqs");
  assert.equal(sqsPlugin.version, denoJson.version);
  assert.deepEqual(sqsPlugin.litellm?.callbacks, ["aws_sqs"]);
  const aws = resolvePermissions(sqsPlugin, {
    queue_url: "https://sqs.eu-west-1.amazonaws.com/123456789012/logs",
    ...creds,
  });
  assert.deepEqual(aws.net, ["sqs.eu-west-1.amazonaws.com"]);
  assert.deepEqual(aws.env, [...SQS_ENV_VARS]);
  const viaEnv = resolvePermissions(
    sqsPlugin,
    { queue_url: "https://sqs.eu-west-1.amazonaws.com/1/logs", ...creds },
    { AWS_ENDPOINT_URL_SQS: "http://127.0.0.1:4566" },
  );
  assert.deepEqual(viaEnv.net, ["127.0.0.1:4566"]);
  assert.equal(queueRegion("https://us-east-2.queue.amazonaws.com/1/q"), "us-east-2");
  assert.throws(() => parseSqsConfig({ queue_url: "sqs://nope" }), /config\.queue_url/);
  assert.throws(
    () => parseSqsConfig({ queue_url: "https://h/1/q", access_key_id: KEY_ID }),
    /access_key_id and secret_access_key go together/,
  );
});

Deno.test("packBatches: at most 10 messages and 1 MiB a call, in order", () => {
  const sizes = [600_000, 500_000, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 1_048_576, 1];
  const batches = packBatches(sizes.map((bytes, i) => ({ bytes, i })));
  assert.deepEqual(batches.map((b) => b.map((m) => m.i)), [
    [0],
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    [11],
    [12],
    [13],
  ]);
  for (const batch of batches) {
    assert.ok(batch.length <= 10 && batch.reduce((n, m) => n + m.bytes, 0) <= 1_048_576);
  }
});

Deno.test("an event over max_message_bytes is shortened, base64 first, then truncated with a marker", async () => {
  const sqs = fakeSqs(() => true);
  const ctx = createTestContext();
  try {
    const sink = createSqsSink(
      { queue_url: `${sqs.url}/1/logs`, ...creds, max_message_bytes: 8192 },
      ctx,
    );
    const image = `data:image/png;base64,${"iVBORw0KGgo".repeat(2000)}`;
    const withImage = sampleEvent({
      messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: image } }] }],
    });
    const long = sampleEvent({ messages: [{ role: "user", content: "é".repeat(20_000) }] });
    const small = sampleEvent();
    await sink.log([withImage, long, small]);
    const bodies = sqs.calls.flatMap((c) => c.entries.map((e) => e.MessageBody));
    assert.equal(bodies.length, 3, "nothing dropped");
    const [a, b, c] = bodies.map((t) => JSON.parse(t));
    assert.match(JSON.stringify(a.messages), /data:image\/png;base64,\[stripped [\d.]+ KB\]/);
    assert.match(b.messages[0].content, /^é+…\[truncated \d+ chars\]$/);
    assert.equal(b.request_id, long.request_id);
    assert.deepEqual(c, JSON.parse(JSON.stringify(small)));
    for (const body of bodies) assert.ok(new TextEncoder().encode(body).length <= 8192);
    assert.ok(
      ctx.logs.some((l) => l.level === "warn" && /2 events were over 8192 bytes/.test(l.message)),
    );
  } finally {
    await sqs.close();
  }
});

Deno.test("partial batch failures are retried one by one; confirmed messages are not sent again", async () => {
  const events = sampleEvents(12);
  const once = events[3].request_id; // fails on its first attempt only
  const down = events[11].request_id; // fails until `failing` is false
  const seen = new Map<string, number>();
  let failing = true;
  const sqs = fakeSqs((entry) => {
    const id = idOf(entry);
    seen.set(id, (seen.get(id) ?? 0) + 1);
    if ((id === once && seen.get(id) === 1) || (id === down && failing)) {
      return { SenderFault: false, Code: "InternalError", Message: "try again" };
    }
    return true;
  });
  try {
    const sink = createSqsSink({ queue_url: `${sqs.url}/1/logs`, ...creds }, createTestContext());
    await assert.rejects(async () => await sink.log(events), (error: SinkError) => {
      assert.match(error.message, /InternalError: try again; retrying/);
      assert.notEqual(error.permanent, true);
      return true;
    });
    // Two batches (10 + 2), then each failed entry on its own.
    assert.deepEqual(sqs.calls.map((c) => c.entries.length).sort(), [1, 1, 10, 2].sort());
    assert.equal(sqs.calls[0].target, "AmazonSQS.SendMessageBatch");
    assert.match(sqs.calls[0].auth ?? "", /^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE\//);
    // The gateway retries the batch: only the undelivered event is sent.
    failing = false;
    await sink.log(events);
    assert.deepEqual(sqs.calls.slice(4).map((c) => c.entries.map(idOf)), [[down]]);
    const delivered = sqs.calls.flatMap((c) => c.entries.map(idOf));
    assert.deepEqual([...new Set(delivered)].sort(), events.map((e) => e.request_id).sort());
    assert.equal(delivered.filter((id) => id === once).length, 2);
  } finally {
    await sqs.close();
  }
});

Deno.test("a message the queue refuses as too large is shortened to the size it names; unfixable ones are permanent", async () => {
  const sqs = fakeSqs((entry) => {
    if (entry.MessageBody.includes("\\u0001bad")) {
      return { SenderFault: true, Code: "InvalidMessageContents", Message: "invalid characters" };
    }
    return new TextEncoder().encode(entry.MessageBody).length > 10_000
      ? {
        SenderFault: true,
        Code: "InvalidParameterValue",
        Message:
          "One or more parameters are invalid. Reason: Message must be shorter than 10000 bytes.",
      }
      : true;
  });
  try {
    const sink = createSqsSink({ queue_url: `${sqs.url}/1/logs`, ...creds }, createTestContext());
    const big = sampleEvent({ response: { role: "assistant", content: "a word ".repeat(8000) } });
    await sink.log([big, sampleEvent()]);
    const last = JSON.parse(sqs.calls.at(-1)!.entries[0].MessageBody);
    assert.equal(last.request_id, big.request_id);
    assert.match(last.response.content, /…\[truncated \d+ chars\]$/);
    // Later events fit the queue's limit on the first call.
    const calls = sqs.calls.length;
    await sink.log([
      sampleEvent({ response: { role: "assistant", content: "another ".repeat(7000) } }),
    ]);
    assert.equal(sqs.calls.length, calls + 1);

    const bad = sampleEvent({ messages: [{ role: "user", content: "\u0001bad" }] });
    await assert.rejects(async () => await sink.log([bad, sampleEvent()]), (error: SinkError) => {
      assert.equal(error.permanent, true);
      assert.match(error.message, /InvalidMessageContents.*\(1 event refused, 1 sent\)/);
      return true;
    });
  } finally {
    await sqs.close();
  }
});

Deno.test("FIFO queues get a group id and the request id as deduplication id; U+FFFF is escaped", async () => {
  const sqs = fakeSqs(() => true);
  try {
    const sink = createSqsSink(
      { queue_url: `${sqs.url}/1/logs.fifo`, ...creds, message_group_id: "gw" },
      createTestContext(),
    );
    const event = sampleEvent({ messages: [{ role: "user", content: "a\uFFFFb" }] });
    await sink.log([event]);
    const [entry] = sqs.calls[0].entries;
    assert.equal(entry.MessageGroupId, "gw");
    assert.equal(entry.MessageDeduplicationId, event.request_id);
    assert.ok(!entry.MessageBody.includes("\uFFFF") && entry.MessageBody.includes("\\uffff"));
    assert.equal(JSON.parse(entry.MessageBody).messages[0].content, "a\uFFFFb");
  } finally {
    await sqs.close();
  }
});

Deno.test("litellm: aws_sqs_callback_params as LiteLLM documents them", () => {
  const map = (params: Record<string, unknown>) =>
    sqsLiteLLM.toSink!({
      callback: "aws_sqs",
      name: "aws_sqs",
      path: "litellm_settings.callbacks[0]",
      callbackSettings: {},
      litellmSettings: { aws_sqs_callback_params: params },
      env: () => undefined,
    });
  const docs = map({
    sqs_queue_url: "https://sqs.us-west-2.amazonaws.com/123456789012/my-queue",
    sqs_region_name: "us-west-2",
    sqs_strip_base64_files: false,
    s3_use_team_prefix: false,
    s3_use_key_prefix: false,
    sqs_aws_access_key_id: "os.environ/AWS_ACCESS_KEY_ID",
    sqs_aws_secret_access_key: "os.environ/AWS_SECRET_ACCESS_KEY",
    sqs_batch_size: 10,
    sqs_flush_interval: 30,
  });
  assert.deepEqual(docs.problems, []);
  assert.deepEqual(docs.config, {
    queue_url: "https://sqs.us-west-2.amazonaws.com/123456789012/my-queue",
    region: "us-west-2",
    access_key_id: "os.environ/AWS_ACCESS_KEY_ID",
    secret_access_key: "os.environ/AWS_SECRET_ACCESS_KEY",
  });
  assert.deepEqual(docs.queue, { batch_size: 10, flush_interval_ms: 30_000 });
  assert.equal(docs.redaction, undefined);
  const strict = map({ sqs_queue_url: "https://h/1/q", sqs_strip_base64_files: true });
  assert.deepEqual(strict.redaction, { drop_non_text_parts: true });
  const refused = map({ sqs_aws_use_application_level_encryption: true, sqs_aws_role_name: "r" });
  assert.deepEqual(refused.problems?.map((p) => [p.severity, p.path.split(".").pop()]), [
    ["error", "sqs_aws_use_application_level_encryption"],
    ["warning", "sqs_aws_role_name"],
    ["error", "sqs_queue_url"],
  ]);
});
