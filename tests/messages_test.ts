/**
 * The Anthropic Messages API route (`POST /v1/messages`), translated to Chat
 * Completions for the upstream: the real Anthropic SDK (`messages.create`,
 * `messages.stream`, tool use, `countTokens`) against the embedded mock and a
 * loopback Chat Completions upstream that calls a tool; `x-api-key` as the
 * gateway key; the logged event; errors in Anthropic's shape.
 */
import assert from "node:assert/strict";
import Anthropic from "npm:@anthropic-ai/sdk@1.17.0";
import { readJsonlEvents, startGateway } from "./fakes/gateway.ts";
import { TOOL_TURN_SENT, toolUpstream } from "./fakes/tool_upstream.ts";
import { until } from "../core/testing.ts";

type Obj = Record<string, unknown>;

const GATEWAY_KEY = "sk-gateway-master-4242";

async function withGateway(
  run: (
    ctx: { client: Anthropic; url: string; dir: string; upstream: ReturnType<typeof toolUpstream> },
  ) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sluice-messages-" });
  const upstream = toolUpstream();
  const gw = await startGateway({
    server: { master_key: GATEWAY_KEY },
    models: [
      { name: "mock-claude", provider: "mock" },
      { name: "tools-claude", provider: "openai", api_base: upstream.url, api_key: "sk-up-tools" },
    ],
    sinks: [{ use: "jsonl", config: { dir }, queue: { flush_interval_ms: 10 } }],
  });
  // The SDK sends the key as `x-api-key`: the gateway's key, never forwarded upstream.
  const client = new Anthropic({ apiKey: GATEWAY_KEY, baseURL: gw.url, maxRetries: 0 });
  try {
    await run({ client, url: gw.url, dir, upstream });
  } finally {
    await gw.close();
    await upstream.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const WEATHER = {
  name: "get_weather",
  description: "The weather in a city",
  input_schema: {
    type: "object" as const,
    properties: { city: { type: "string" } },
    required: ["city"],
  },
};

Deno.test("messages.create against the mock: the answer, usage, and the logged event", async () => {
  await withGateway(async ({ client, dir }) => {
    const message = await client.messages.create({
      model: "mock-claude",
      max_tokens: 200,
      system: "Answer briefly.",
      messages: [{ role: "user", content: [{ type: "text", text: "hi claude" }] }],
    });
    assert.equal(message.type, "message");
    assert.equal(message.role, "assistant");
    assert.match(message.id, /^msg_[0-9a-f]{32}$/);
    assert.equal(message.stop_reason, "end_turn");
    assert.equal(message.content[0].type, "text");
    const text = message.content[0].type === "text" ? message.content[0].text : "";
    assert.match(text, /You said: "hi claude"/);
    assert.ok(message.usage.input_tokens > 0 && message.usage.output_tokens > 0);

    await until(async () => (await readJsonlEvents(dir)).length === 1, 10_000, "the event");
    const [event] = await readJsonlEvents(dir) as Obj[];
    assert.equal(event.call_type, "messages");
    assert.equal(event.id, message.id);
    assert.equal(event.model_group, "mock-claude");
    assert.deepEqual(event.messages, [
      { role: "system", content: "Answer briefly." },
      { role: "user", content: "hi claude" },
    ]);
    assert.equal((event.response as Obj).content, text);
    assert.equal(event.completion_tokens, message.usage.output_tokens);
    assert.ok(!JSON.stringify(event).includes(GATEWAY_KEY), "the gateway key is never logged");
    // The system prompt is content: in `messages` (where redaction applies), not a parameter.
    assert.equal((event.model_parameters as Obj).system, undefined);
    assert.equal((event.model_parameters as Obj).max_tokens, 200);
  });
});

Deno.test("messages.stream: Anthropic's events in order, text deltas adding up, usage at the end", async () => {
  await withGateway(async ({ client, dir }) => {
    const stream = client.messages.stream({
      model: "mock-claude",
      max_tokens: 200,
      messages: [{ role: "user", content: "stream claude" }],
    });
    const events: { type: string; delta?: { type: string; text?: string } }[] = [];
    for await (const event of stream) events.push(event as never);
    const final = await stream.finalMessage();
    assert.equal(events[0].type, "message_start");
    assert.equal(events[1].type, "content_block_start");
    assert.deepEqual(events.slice(-3).map((e) => e.type), [
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    const deltas = events.filter((e) => e.type === "content_block_delta");
    assert.ok(deltas.length > 1);
    const streamed = deltas.map((e) => e.delta?.text ?? "").join("");
    assert.equal(final.content[0].type === "text" && final.content[0].text, streamed);
    assert.match(streamed, /You said: "stream claude"/);
    assert.equal(final.stop_reason, "end_turn");
    assert.ok(final.usage.output_tokens > 0 && final.usage.input_tokens > 0);

    await until(async () => (await readJsonlEvents(dir)).length === 1, 10_000, "the event");
    const [event] = await readJsonlEvents(dir) as Obj[];
    assert.equal(event.call_type, "messages");
    assert.equal(event.stream, true);
    assert.equal(event.id, final.id);
  });
});

Deno.test("tool use round trip through a Chat Completions upstream, streamed and not", async () => {
  await withGateway(async ({ client, upstream }) => {
    const first = await client.messages.create({
      model: "tools-claude",
      max_tokens: 200,
      tools: [WEATHER],
      tool_choice: { type: "auto" },
      messages: [{ role: "user", content: "Weather in Paris?" }],
    });
    assert.equal(first.stop_reason, "tool_use");
    const use = first.content.find((b) => b.type === "tool_use");
    assert.ok(use?.type === "tool_use");
    assert.equal(use.name, "get_weather");
    assert.equal(use.id, "call_w1");
    assert.deepEqual(use.input, { city: "Paris" });
    const sent = upstream.requests[0].body as Obj;
    assert.deepEqual(sent.tools, [{
      type: "function",
      function: {
        name: "get_weather",
        parameters: WEATHER.input_schema,
        description: "The weather in a city",
      },
    }]);
    assert.equal(sent.tool_choice, "auto");
    assert.equal(upstream.requests[0].headers["x-api-key"], undefined, "the client key stays here");
    assert.equal(upstream.requests[0].headers.authorization, "Bearer sk-up-tools");

    const second = await client.messages.create({
      model: "tools-claude",
      max_tokens: 200,
      tools: [WEATHER],
      messages: [
        { role: "user", content: "Weather in Paris?" },
        { role: "assistant", content: first.content },
        {
          role: "user",
          content: [{ type: "tool_result", tool_use_id: "call_w1", content: "sunny, 21 °C" }],
        },
      ],
    });
    assert.equal(
      second.content[0].type === "text" && second.content[0].text,
      "It is sunny, 21 °C.",
    );
    const again = upstream.requests[1].body as { messages: Obj[] };
    assert.deepEqual(again.messages.slice(1), TOOL_TURN_SENT);

    const stream = client.messages.stream({
      model: "tools-claude",
      max_tokens: 200,
      tools: [WEATHER],
      messages: [{ role: "user", content: "Weather in Paris?" }],
    });
    const partials: string[] = [];
    stream.on("inputJson", (partial) => partials.push(partial));
    const final = await stream.finalMessage();
    assert.deepEqual(partials, ['{"city":', '"Paris"}']);
    const streamedUse = final.content.find((b) => b.type === "tool_use");
    assert.ok(streamedUse?.type === "tool_use");
    assert.deepEqual(streamedUse.input, { city: "Paris" });
    assert.equal(final.stop_reason, "tool_use");
  });
});

Deno.test("countTokens estimates the prompt; unknown models and bad bodies are Anthropic-shaped errors", async () => {
  await withGateway(async ({ client, url }) => {
    const counted = await client.messages.countTokens({
      model: "mock-claude",
      system: "be brief",
      messages: [{ role: "user", content: "count these words, please" }],
    });
    assert.ok(counted.input_tokens > 0);
    const longer = await client.messages.countTokens({
      model: "mock-claude",
      messages: [{ role: "user", content: "count these words, please ".repeat(20) }],
    });
    assert.ok(longer.input_tokens > counted.input_tokens);

    await assert.rejects(
      client.messages.create({
        model: "no-such-claude",
        max_tokens: 5,
        messages: [{ role: "user", content: "x" }],
      }),
      (error: { status?: number; error?: unknown }) => {
        assert.equal(error.status, 404);
        assert.deepEqual(Object.keys(error.error as Obj), ["type", "error"]);
        assert.equal((error.error as { error: Obj }).error.type, "not_found_error");
        return true;
      },
    );
    const post = async (body: Obj, key = GATEWAY_KEY) => {
      const res = await fetch(`${url}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": key },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() as { type: string; error: Obj } };
    };
    const noMax = await post({ model: "mock-claude", messages: [{ role: "user", content: "x" }] });
    assert.equal(noMax.status, 400);
    assert.equal(noMax.body.type, "error");
    assert.equal(noMax.body.error.type, "invalid_request_error");
    assert.match(String(noMax.body.error.message), /max_tokens/);
    const server = await post({
      model: "mock-claude",
      max_tokens: 5,
      tools: [{ type: "web_search_20250305", name: "web_search" }],
      messages: [{ role: "user", content: "x" }],
    });
    assert.equal(server.status, 400);
    assert.match(String(server.body.error.message), /tools\.0/);
    const badKey = await post({
      model: "mock-claude",
      max_tokens: 5,
      messages: [{ role: "user", content: "x" }],
    }, "sk-wrong");
    assert.equal(badKey.status, 401);
    assert.equal(badKey.body.error.type, "authentication_error");
  });
});

/** A fake Anthropic upstream: the Messages API itself, recording what it received. */
function anthropicUpstream() {
  const received: { headers: Headers; body: Obj }[] = [];
  const message = {
    id: "msg_upstream_1",
    type: "message",
    role: "assistant",
    model: "claude-upstream-4",
    content: [
      { type: "thinking", thinking: "Paris in June.", signature: "sig-abc" },
      { type: "text", text: "Pack light." },
    ],
    stop_reason: "end_turn",
    stop_sequence: null,
    usage: { input_tokens: 30, output_tokens: 9, cache_read_input_tokens: 6 },
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = await req.json() as Obj;
    received.push({ headers: req.headers, body });
    if (new URL(req.url).pathname === "/v1/messages/count_tokens") {
      return Response.json({ input_tokens: 123 });
    }
    if (!body.stream) return Response.json(message);
    const sse = (type: string, data: Obj) =>
      `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
    const text = [
      sse("message_start", {
        message: {
          ...message,
          content: [],
          stop_reason: null,
          usage: { input_tokens: 30, output_tokens: 1, cache_read_input_tokens: 6 },
        },
      }),
      sse("content_block_start", { index: 0, content_block: { type: "thinking", thinking: "" } }),
      sse("content_block_delta", {
        index: 0,
        delta: { type: "thinking_delta", thinking: "Paris in June." },
      }),
      sse("content_block_delta", {
        index: 0,
        delta: { type: "signature_delta", signature: "sig-abc" },
      }),
      sse("content_block_stop", { index: 0 }),
      sse("ping", {}),
      sse("content_block_start", { index: 1, content_block: { type: "text", text: "" } }),
      sse("content_block_delta", { index: 1, delta: { type: "text_delta", text: "Pack " } }),
      sse("content_block_delta", { index: 1, delta: { type: "text_delta", text: "light." } }),
      sse("content_block_stop", { index: 1 }),
      sse("message_delta", {
        delta: { stop_reason: "end_turn", stop_sequence: null },
        usage: { output_tokens: 9 },
      }),
      sse("message_stop", {}),
    ].join("");
    return new Response(text, { headers: { "content-type": "text/event-stream" } });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    received,
    close: () => server.shutdown(),
  };
}

Deno.test("an Anthropic upstream gets the Messages request as sent, with the client's version and betas; thinking and signatures come back whole", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-messages-native-" });
  const upstream = anthropicUpstream();
  const gw = await startGateway({
    server: { master_key: GATEWAY_KEY },
    models: [{
      name: "claude",
      provider: "anthropic",
      model: "claude-upstream-4",
      api_base: upstream.url,
      api_key: "sk-ant-upstream-777",
    }],
    sinks: [{ use: "jsonl", config: { dir }, queue: { flush_interval_ms: 10 } }],
  });
  const client = new Anthropic({
    apiKey: GATEWAY_KEY,
    baseURL: gw.url,
    maxRetries: 0,
    defaultHeaders: { "anthropic-beta": "interleaved-thinking-2025-05-14" },
  });
  try {
    const request = {
      model: "claude",
      max_tokens: 300,
      thinking: { type: "enabled" as const, budget_tokens: 1024 },
      tools: [{ type: "web_search_20250305" as const, name: "web_search" as const }],
      messages: [{ role: "user" as const, content: "Packing for Paris?" }],
    };
    const message = await client.messages.create(request);
    assert.equal(message.id, "msg_upstream_1");
    assert.deepEqual(message.content[0], {
      type: "thinking",
      thinking: "Paris in June.",
      signature: "sig-abc",
    });
    const sent = upstream.received[0];
    assert.equal(sent.body.model, "claude-upstream-4");
    assert.deepEqual(sent.body.thinking, request.thinking);
    assert.deepEqual(sent.body.tools, request.tools, "server tools pass through");
    assert.equal(
      sent.headers.get("x-api-key"),
      "sk-ant-upstream-777",
      "the upstream's key, not the client's",
    );
    assert.equal(sent.headers.get("anthropic-beta"), "interleaved-thinking-2025-05-14");
    assert.match(String(sent.headers.get("anthropic-version")), /^\d{4}-\d{2}-\d{2}$/);

    const stream = client.messages.stream({ ...request });
    const final = await stream.finalMessage();
    assert.deepEqual(final.content.map((b) => b.type), ["thinking", "text"]);
    assert.deepEqual(final.content[0], message.content[0], "thinking and its signature, whole");
    assert.equal(final.content[1].type === "text" && final.content[1].text, "Pack light.");
    assert.equal(final.usage.output_tokens, 9);

    // count_tokens: Anthropic's own count, asked with the upstream's model and key.
    const counted = await client.messages.countTokens({
      model: "claude",
      messages: [{ role: "user", content: "Packing for Paris?" }],
    });
    assert.equal(counted.input_tokens, 123);
    const asked = upstream.received.at(-1)!;
    assert.equal(asked.body.model, "claude-upstream-4");
    assert.equal(asked.headers.get("x-api-key"), "sk-ant-upstream-777");

    await until(async () => (await readJsonlEvents(dir)).length === 2, 10_000, "both events");
    for (const event of await readJsonlEvents(dir) as Obj[]) {
      assert.equal(event.call_type, "messages");
      assert.equal(event.id, "msg_upstream_1");
      assert.equal(event.model, "claude-upstream-4");
      assert.equal(event.prompt_tokens, 36, "input plus cache reads, as chat counts them");
      assert.equal(event.completion_tokens, 9);
      assert.deepEqual(event.response, {
        role: "assistant",
        content: "Pack light.",
        reasoning_content: "Paris in June.",
      });
    }
  } finally {
    await gw.close();
    await upstream.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the mock plays along on the Messages route, and request controls come from the headers", async () => {
  await withGateway(async ({ url, dir }) => {
    const client = new Anthropic({
      apiKey: GATEWAY_KEY,
      baseURL: url,
      maxRetries: 0,
      defaultHeaders: { "x-sluice-tags": "agent-a, eval" },
    });
    const first = await client.messages.create({
      model: "mock-claude",
      max_tokens: 200,
      tools: [WEATHER],
      messages: [{ role: "user", content: "Use get_weather for Paris, please." }],
    });
    assert.equal(first.stop_reason, "tool_use");
    const use = first.content.find((b) => b.type === "tool_use");
    assert.ok(use?.type === "tool_use" && use.name === "get_weather");
    assert.equal(
      typeof (use.input as { city?: unknown }).city,
      "string",
      "valid against the schema",
    );
    const second = await client.messages.create({
      model: "mock-claude",
      max_tokens: 200,
      tools: [WEATHER],
      messages: [
        { role: "user", content: "Use get_weather for Paris, please." },
        { role: "assistant", content: first.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "rainy" }] },
      ],
    });
    assert.equal(second.stop_reason, "end_turn");
    assert.match(second.content[0].type === "text" ? second.content[0].text : "", /rainy/);

    await until(async () => (await readJsonlEvents(dir)).length === 2, 10_000, "the events");
    for (const event of await readJsonlEvents(dir) as { metadata: { tags: string[] } }[]) {
      assert.deepEqual(event.metadata.tags, ["agent-a", "eval"]);
    }
  });
});
