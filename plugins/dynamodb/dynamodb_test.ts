import assert from "node:assert/strict";
import dynamodbPlugin, {
  chunkItems,
  createDynamodbSink,
  dynamodbLiteLLM,
  eventItem,
} from "./mod.ts";
import {
  assertConformance,
  checkHttpSinkConformance,
  createTestContext,
  sampleEvent,
  sampleEvents,
} from "@sluice/core/testing";
import type { SinkError } from "@sluice/core/plugin";

const creds = {
  access_key_id: "AKIAIOSFODNN7EXAMPLE",
  secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCY",
};
const decoder = new TextDecoder();
type Put = { PutRequest: { Item: Record<string, { S?: string }> } };
const putsOf = (
  body: Uint8Array | string,
) => (JSON.parse(typeof body === "string" ? body : decoder.decode(body)).RequestItems
  .logs as Put[]);

Deno.test("the dynamodb sink passes the HTTP sink conformance kit", async () => {
  const report = await checkHttpSinkConformance(dynamodbPlugin, {
    config: (url) => ({ table_name: "logs", endpoint_url: url, ...creds, timeout_ms: 2000 }),
    eventsIn: (req) => putsOf(req.body).map((p) => p.PutRequest.Item.request_id.S!),
    okResponse: () => Response.json({ UnprocessedItems: {} }),
    batchSize: 4,
  });
  assertConformance(report);
});

/** A fake DynamoDB: `answer` sees each call's puts. */
function fakeDynamo(answer: (puts: Put[], call: number) => Response) {
  const calls: Put[][] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const puts = putsOf(await req.text());
    calls.push(puts);
    return answer(puts, calls.length);
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, calls, close: () => server.shutdown() };
}

Deno.test("unprocessed items are written again; 25 puts a call, no key twice in one call", async () => {
  const events = sampleEvents(30);
  const twin = sampleEvent({ call_id: events[0].call_id });
  const dynamo = fakeDynamo((puts, call) =>
    Response.json({ UnprocessedItems: call === 1 ? { logs: puts.slice(0, 3) } : {} })
  );
  try {
    const sink = createDynamodbSink(
      { table_name: "logs", endpoint_url: dynamo.url, ...creds },
      createTestContext(),
    );
    await sink.log([...events, twin]);
    const sizes = dynamo.calls.map((c) => c.length);
    assert.ok(sizes.every((n) => n <= 25), String(sizes));
    for (const call of dynamo.calls) {
      const keys = call.map((p) => p.PutRequest.Item.id.S);
      assert.equal(new Set(keys).size, keys.length, "no key twice in one call");
    }
    assert.deepEqual(dynamo.calls[1], dynamo.calls[0].slice(0, 3), "the unprocessed ones again");
    assert.equal(dynamo.calls.flat().length, 31 + 3);
  } finally {
    await dynamo.close();
  }
  assert.deepEqual(chunkItems(["a", "a", "b"], (x) => x), [["a", "b"], ["a"]]);
});

Deno.test("a ValidationException is narrowed item by item: a bad item is permanent, a bad table keeps the events", async () => {
  const bad = sampleEvent({ call_id: "bad-one" });
  const invalid = () =>
    Response.json({
      __type: "com.amazonaws.dynamodb.v20120810#ValidationException",
      message: "nope",
    }, {
      status: 400,
    });
  const dynamo = fakeDynamo((puts) =>
    puts.some((p) => p.PutRequest.Item.id.S === "bad-one")
      ? invalid()
      : Response.json({ UnprocessedItems: {} })
  );
  try {
    const sink = createDynamodbSink(
      { table_name: "logs", endpoint_url: dynamo.url, ...creds },
      createTestContext(),
    );
    await assert.rejects(
      async () => await sink.log([...sampleEvents(3), bad]),
      (error: SinkError) => {
        assert.equal(error.permanent, true);
        assert.match(error.message, /ValidationException: nope.*\(1 item refused, 3 written\)/);
        return true;
      },
    );
  } finally {
    await dynamo.close();
  }
  const table = fakeDynamo(invalid);
  try {
    const sink = createDynamodbSink(
      { table_name: "logs", endpoint_url: table.url, ...creds },
      createTestContext(),
    );
    await assert.rejects(async () => await sink.log(sampleEvents(3)), (error: SinkError) => {
      assert.notEqual(error.permanent, true);
      assert.match(error.message, /the events are kept and retried/);
      return true;
    });
  } finally {
    await table.close();
  }
});

Deno.test("items: the call id as key, the event's fields typed; large events shortened; the LiteLLM mapping", () => {
  const event = sampleEvent({ call_id: "c-1", id: "chatcmpl-9", prompt_tokens: 7, stream: false });
  const item = eventItem(event, "id");
  assert.deepEqual(item.id, { S: "c-1" });
  assert.deepEqual(item.response_id, { S: "chatcmpl-9" });
  assert.deepEqual(item.prompt_tokens, { N: "7" });
  assert.deepEqual(item.stream, { BOOL: false });
  assert.ok("M" in item.metadata);
  assert.deepEqual(eventItem(event, "pk").id, { S: "chatcmpl-9" });
  const entry = dynamodbLiteLLM.toSink!({
    callback: "dynamodb",
    name: "dynamodb",
    path: "litellm_settings.success_callback[0]",
    callbackSettings: {},
    litellmSettings: {},
    env: () => undefined,
  });
  assert.equal(entry.problems?.[0].severity, "error");
});
