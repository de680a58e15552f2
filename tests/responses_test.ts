/**
 * The OpenAI Responses API route (`POST /v1/responses`), translated to Chat
 * Completions for the upstream: the real `openai` client (`responses.create`,
 * `responses.stream`), the Vercel AI SDK's default OpenAI provider and
 * LangChain's `useResponsesApi`, against the embedded mock and a loopback
 * Chat Completions upstream that calls a tool; the logged event; errors.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { generateText, jsonSchema, stepCountIs, streamText, tool } from "npm:ai@7.0.185";
import { createOpenAI } from "npm:@ai-sdk/openai@4.0.126";
import { ChatOpenAI } from "npm:@langchain/openai@1.6.0";
import { readJsonlEvents, startGateway } from "./fakes/gateway.ts";
import { TOOL_TURN_SENT, toolUpstream } from "./fakes/tool_upstream.ts";
import { startUpstream } from "./fakes/upstream.ts";
import { until } from "../core/testing.ts";

type Obj = Record<string, unknown>;

async function withGateway(
  run: (ctx: { url: string; dir: string; upstream: ReturnType<typeof toolUpstream> }) => Promise<
    void
  >,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sluice-responses-" });
  const upstream = toolUpstream();
  const gw = await startGateway({
    models: [
      { name: "mock-gpt", provider: "mock" },
      {
        name: "tools-gpt",
        provider: "openai",
        api_base: upstream.url,
        api_key: "sk-up-tools",
        api: "chat", // an OpenAI-compatible server without the Responses API: translated
      },
    ],
    sinks: [{ use: "jsonl", config: { dir }, queue: { flush_interval_ms: 10 } }],
  });
  try {
    await run({ url: gw.url, dir, upstream });
  } finally {
    await gw.close();
    await upstream.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const WEATHER_TOOL = {
  type: "function" as const,
  name: "get_weather",
  description: "The weather in a city",
  parameters: {
    type: "object",
    properties: { city: { type: "string" } },
    required: ["city"],
    additionalProperties: false,
  },
  strict: true,
};

/** `get_weather` as an AI SDK tool answering `<weather> in <city>`. */
function sdkWeatherTool(weather: string) {
  return {
    get_weather: tool({
      description: "The weather in a city",
      inputSchema: jsonSchema<{ city: string }>(WEATHER_TOOL.parameters),
      execute: ({ city }) => Promise.resolve(`${weather} in ${city}`),
    }),
  };
}

Deno.test("responses.create against the mock: text, usage, x-request-id, and the logged event", async () => {
  await withGateway(async ({ url, dir }) => {
    const client = new OpenAI({ apiKey: "none", baseURL: `${url}/v1`, maxRetries: 0 });
    const response = await client.responses.create({
      model: "mock-gpt",
      instructions: "Answer briefly.",
      input: "Say hello",
      metadata: { tags: "resp-test" },
    });
    assert.equal(response.object, "response");
    assert.equal(response.status, "completed");
    assert.match(response.id, /^resp_[0-9a-f]{32}$/);
    assert.match(response.output_text, /You said: "Say hello"/);
    assert.ok(
      response.usage && response.usage.input_tokens > 0 && response.usage.output_tokens > 0,
    );
    assert.equal(
      response.usage.total_tokens,
      response.usage.input_tokens + response.usage.output_tokens,
    );
    assert.match(String(response._request_id), /^[0-9a-f-]{36}$/);

    await until(async () => (await readJsonlEvents(dir)).length === 1, 10_000, "the event");
    const [event] = await readJsonlEvents(dir) as Obj[];
    assert.equal(event.call_type, "responses");
    assert.equal(event.request_id, response._request_id);
    assert.equal(event.id, response.id);
    assert.equal(event.model_group, "mock-gpt");
    assert.equal(event.prompt_tokens, response.usage.input_tokens);
    assert.equal(event.completion_tokens, response.usage.output_tokens);
    assert.deepEqual(event.messages, [
      { role: "system", content: "Answer briefly." },
      { role: "user", content: "Say hello" },
    ]);
    assert.equal((event.response as Obj).role, "assistant");
    assert.equal((event.response as Obj).content, response.output_text);
    assert.deepEqual(event.finish_reasons, ["stop"]);
    // Instructions are content: in `messages` (where redaction applies), not a parameter.
    assert.equal((event.model_parameters as Obj).instructions, undefined);
  });
});

Deno.test("responses.stream: typed events in order, numbered, deltas adding up to the final text", async () => {
  await withGateway(async ({ url, dir }) => {
    const client = new OpenAI({ apiKey: "none", baseURL: `${url}/v1`, maxRetries: 0 });
    const stream = client.responses.stream({
      model: "mock-gpt",
      input: [{ role: "user", content: [{ type: "input_text", text: "stream me" }] }],
    });
    const events: { type: string; sequence_number: number; delta?: string }[] = [];
    for await (const event of stream) events.push(event as never);
    const final = await stream.finalResponse();
    assert.deepEqual(events.slice(0, 4).map((e) => e.type), [
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
    ]);
    assert.deepEqual(events.slice(-4).map((e) => e.type), [
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    assert.deepEqual(events.map((e) => e.sequence_number), events.map((_, i) => i));
    const deltas = events.filter((e) => e.type === "response.output_text.delta");
    assert.ok(deltas.length > 1, "the text arrives in pieces");
    assert.equal(deltas.map((e) => e.delta).join(""), final.output_text);
    assert.match(final.output_text, /You said: "stream me"/);
    assert.ok(final.usage && final.usage.output_tokens > 0);

    await until(async () => (await readJsonlEvents(dir)).length === 1, 10_000, "the event");
    const [event] = await readJsonlEvents(dir) as Obj[];
    assert.equal(event.call_type, "responses");
    assert.equal(event.stream, true);
    assert.equal(event.id, final.id);
    assert.equal((event.response as Obj).content, final.output_text);
    assert.equal(event.completion_tokens, final.usage.output_tokens);
  });
});

Deno.test("function calling round trip through a Chat Completions upstream, streamed and not", async () => {
  await withGateway(async ({ url, upstream, dir }) => {
    const client = new OpenAI({ apiKey: "none", baseURL: `${url}/v1`, maxRetries: 0 });
    const first = await client.responses.create({
      model: "tools-gpt",
      input: "Weather in Paris?",
      tools: [WEATHER_TOOL],
      tool_choice: "auto",
    });
    const calls = first.output.filter((i) => i.type === "function_call");
    assert.equal(calls.length, 1);
    assert.equal(calls[0].type === "function_call" && calls[0].name, "get_weather");
    assert.equal(calls[0].type === "function_call" && calls[0].call_id, "call_w1");
    assert.deepEqual(JSON.parse(calls[0].type === "function_call" ? calls[0].arguments : ""), {
      city: "Paris",
    });
    // What the upstream got: the tool in Chat Completions form.
    const sent = upstream.requests[0].body as Obj;
    assert.deepEqual(sent.tools, [{
      type: "function",
      function: {
        name: "get_weather",
        description: "The weather in a city",
        parameters: WEATHER_TOOL.parameters,
        strict: true,
      },
    }]);
    assert.equal(sent.tool_choice, "auto");

    // The result goes back as input items; the upstream sees an assistant tool call and a tool message.
    const second = await client.responses.create({
      model: "tools-gpt",
      input: [
        { role: "user", content: "Weather in Paris?" },
        ...first.output.filter((i) => i.type === "function_call"),
        { type: "function_call_output", call_id: "call_w1", output: "sunny, 21 °C" },
      ],
      tools: [WEATHER_TOOL],
    });
    assert.equal(second.output_text, "It is sunny, 21 °C.");
    const again = upstream.requests[1].body as { messages: Obj[] };
    assert.deepEqual(again.messages.slice(1), TOOL_TURN_SENT);

    // Streamed: the arguments arrive as deltas and the final item carries them whole.
    const stream = client.responses.stream({
      model: "tools-gpt",
      input: "Weather in Paris?",
      tools: [WEATHER_TOOL],
    });
    const argDeltas: string[] = [];
    stream.on("response.function_call_arguments.delta", (e) => argDeltas.push(e.delta));
    const final = await stream.finalResponse();
    assert.deepEqual(argDeltas, ['{"city":', '"Paris"}']);
    const streamedCall = final.output.find((i) => i.type === "function_call");
    assert.equal(
      streamedCall?.type === "function_call" && streamedCall.arguments,
      '{"city":"Paris"}',
    );

    await until(async () => (await readJsonlEvents(dir)).length === 3, 10_000, "three events");
    const events = await readJsonlEvents(dir) as Obj[];
    const withCall = events.filter((e) =>
      ((e.response as Obj)?.tool_calls as unknown[] | undefined)?.length === 1
    );
    assert.equal(withCall.length, 2, "the non-streamed and the streamed tool call are logged");
    assert.ok(events.every((e) => e.call_type === "responses"));
  });
});

Deno.test("the Vercel AI SDK's default OpenAI provider (Responses API): generateText, streamText, tools", async () => {
  await withGateway(async ({ url, upstream }) => {
    const openai = createOpenAI({ apiKey: "none", baseURL: `${url}/v1` });
    const plain = await generateText({ model: openai("mock-gpt"), prompt: "hello sdk" });
    assert.match(plain.text, /You said: "hello sdk"/);
    assert.ok((plain.usage.inputTokens ?? 0) > 0);
    assert.ok(upstream.requests.length === 0, "the mock answered");

    const streamed = streamText({ model: openai("mock-gpt"), prompt: "stream sdk" });
    let text = "";
    for await (const part of streamed.textStream) text += part;
    assert.match(text, /You said: "stream sdk"/);

    const withTools = await generateText({
      model: openai("tools-gpt"),
      prompt: "Weather in Paris?",
      tools: sdkWeatherTool("cloudy"),
      stopWhen: stepCountIs(3),
    });
    assert.equal(withTools.text, "It is cloudy in Paris.");
    assert.equal(withTools.steps[0].toolCalls[0].toolName, "get_weather");
    assert.ok(upstream.requests.every((r) => r.path === "/v1/chat/completions"));
  });
});

Deno.test("LangChain ChatOpenAI with useResponsesApi", async () => {
  await withGateway(async ({ url, dir }) => {
    const model = new ChatOpenAI({
      model: "mock-gpt",
      apiKey: "none",
      useResponsesApi: true,
      maxRetries: 0,
      configuration: { baseURL: `${url}/v1` },
    });
    const answer = await model.invoke("hello langchain");
    assert.match(answer.text, /You said: "hello langchain"/);
    await until(async () => (await readJsonlEvents(dir)).length === 1, 10_000, "the event");
    const [event] = await readJsonlEvents(dir) as Obj[];
    assert.equal(event.call_type, "responses", "LangChain called the Responses route");
  });
});

Deno.test("what cannot be translated is a 400 naming the parameter, in OpenAI's shape", async () => {
  await withGateway(async ({ url }) => {
    const post = async (body: Obj) => {
      const res = await fetch(`${url}/v1/responses`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() as { error: Obj }, id: res.headers };
    };
    const missing = await post({ model: "mock-gpt" });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error.param, "input");
    assert.equal(missing.body.error.type, "invalid_request_error");
    const stored = await post({ model: "mock-gpt", input: "x", previous_response_id: "resp_1" });
    assert.equal(stored.status, 400);
    assert.equal(stored.body.error.code, "unsupported_parameter");
    assert.equal(stored.body.error.param, "previous_response_id");
    const builtin = await post({ model: "mock-gpt", input: "x", tools: [{ type: "web_search" }] });
    assert.equal(builtin.status, 400);
    assert.equal(builtin.body.error.param, "tools[0]");
    const badItem = await post({ model: "mock-gpt", input: [{ type: "item_reference", id: "m" }] });
    assert.equal(badItem.status, 400);
    assert.equal(badItem.body.error.param, "input[0]");
    assert.ok(missing.id.get("x-request-id"), "errors carry x-request-id too");
    for (const method of ["GET", "DELETE"]) {
      const res = await fetch(`${url}/v1/responses/resp_abc`, { method });
      const body = await res.json() as { error: Obj };
      assert.equal(res.status, 404);
      assert.equal(body.error.code, "response_not_stored");
      assert.match(String(res.headers.get("x-request-id")), /^[0-9a-f-]{36}$/);
    }
  });
});

/** A fake upstream that speaks the Responses API itself (as OpenAI does). */
function nativeUpstream(events?: { truncate?: boolean }) {
  const response = (body: Obj, status = "completed") => ({
    id: "resp_upstream_1",
    object: "response",
    created_at: 1_700_000_000,
    status,
    model: "gpt-5-upstream",
    output: status === "in_progress" ? [] : [
      { type: "reasoning", id: "rs_1", summary: [{ type: "summary_text", text: "Think." }] },
      { type: "web_search_call", id: "ws_1", status: "completed" },
      {
        type: "message",
        id: "msg_1",
        status: "completed",
        role: "assistant",
        content: [{ type: "output_text", text: "Native answer.", annotations: [] }],
      },
    ],
    usage: status === "in_progress" ? null : {
      input_tokens: 40,
      input_tokens_details: { cached_tokens: 8 },
      output_tokens: 12,
      output_tokens_details: { reasoning_tokens: 5 },
      total_tokens: 52,
    },
    previous_response_id: body.previous_response_id ?? null,
  });
  return startUpstream((req) => {
    const body = req.body as Obj;
    if (!body.stream) return Response.json(response(body));
    const seq = (n: number, type: string, fields: Obj) =>
      `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: n, ...fields })}\n\n`;
    const at = { item_id: "msg_1", output_index: 0, content_index: 0 };
    const parts = [
      seq(0, "response.created", { response: response(body, "in_progress") }),
      seq(1, "response.output_item.added", {
        output_index: 0,
        item: {
          type: "message",
          id: "msg_1",
          status: "in_progress",
          role: "assistant",
          content: [],
        },
      }),
      seq(2, "response.content_part.added", {
        ...at,
        part: { type: "output_text", text: "", annotations: [] },
      }),
      seq(3, "response.output_text.delta", { ...at, delta: "Native " }),
      seq(4, "response.output_text.delta", { ...at, delta: "answer." }),
    ];
    if (!events?.truncate) parts.push(seq(5, "response.completed", { response: response(body) }));
    return new Response(parts.join(""), { headers: { "content-type": "text/event-stream" } });
  });
}

Deno.test("an upstream that speaks the Responses API gets the request as sent; its answer and stream come back as they are", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-responses-native-" });
  const upstream = nativeUpstream();
  const gw = await startGateway({
    models: [{
      name: "gpt-5",
      provider: "openai",
      model: "gpt-5-upstream",
      api_base: upstream.url,
      api_key: "sk-up-native",
      input_cost_per_token: 0.000001,
      output_cost_per_token: 0.000002,
    }],
    sinks: [{ use: "jsonl", config: { dir }, queue: { flush_interval_ms: 10 } }],
  });
  try {
    const client = new OpenAI({ apiKey: "none", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    // What translation refuses passes through: stored state and built-in tools are the upstream's.
    const answer = await client.responses.create({
      model: "gpt-5",
      input: "search the web",
      previous_response_id: "resp_earlier",
      tools: [{ type: "web_search" }],
    });
    assert.equal(answer.id, "resp_upstream_1");
    assert.equal(answer.output_text, "Native answer.");
    assert.equal(answer.output[1].type, "web_search_call");
    const sent = upstream.requests[0];
    assert.equal(sent.path, "/v1/responses");
    assert.equal((sent.body as Obj).model, "gpt-5-upstream");
    assert.equal((sent.body as Obj).previous_response_id, "resp_earlier");
    assert.deepEqual((sent.body as Obj).tools, [{ type: "web_search" }]);
    assert.equal(sent.headers.authorization, "Bearer sk-up-native");

    const stream = client.responses.stream({ model: "gpt-5", input: "stream natively" });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    const final = await stream.finalResponse();
    assert.deepEqual(types, [
      "response.created",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.delta",
      "response.completed",
    ]);
    assert.equal(final.output_text, "Native answer.");
    assert.equal((upstream.requests[1].body as Obj).stream_options, undefined);

    await until(async () => (await readJsonlEvents(dir)).length === 2, 10_000, "both events");
    const events = await readJsonlEvents(dir) as Obj[];
    for (const event of events) {
      assert.equal(event.call_type, "responses");
      assert.equal(event.id, "resp_upstream_1");
      assert.equal(event.model, "gpt-5-upstream");
      assert.equal(event.prompt_tokens, 40);
      assert.equal(event.completion_tokens, 12);
      assert.equal(event.cache_read_input_tokens, 8);
      assert.deepEqual(event.response, {
        role: "assistant",
        content: "Native answer.",
        reasoning_content: "Think.",
      });
      assert.deepEqual(event.finish_reasons, ["stop"]);
      assert.ok(Number(event.response_cost) > 0, "priced from the native usage");
    }
    assert.equal(events.filter((e) => e.stream).length, 1);
  } finally {
    await gw.close();
    await upstream.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a native Responses stream cut before its terminal event ends with an error event and is logged as a failure", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-responses-native-" });
  const upstream = nativeUpstream({ truncate: true });
  const gw = await startGateway({
    models: [{ name: "gpt-5", provider: "openai", api_base: upstream.url, api_key: "sk-up" }],
    sinks: [{ use: "jsonl", config: { dir }, queue: { flush_interval_ms: 10 } }],
  });
  try {
    const res = await fetch(`${gw.url}/v1/responses`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-5", input: "x", stream: true }),
    });
    const text = await res.text();
    assert.match(text, /event: response\.output_text\.delta/);
    assert.match(
      text,
      /event: error\ndata: \{"type":"error","sequence_number":5,"code":"upstream_stream_truncated"/,
    );
    await until(async () => (await readJsonlEvents(dir)).length === 1, 10_000, "the event");
    const [event] = await readJsonlEvents(dir) as Obj[];
    assert.equal(event.status, "failure");
    assert.equal((event.error as Obj).code, "upstream_stream_truncated");
  } finally {
    await gw.close();
    await upstream.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the mock plays along on the Responses route: a named tool is called, its result answered", async () => {
  await withGateway(async ({ url }) => {
    const client = new OpenAI({ apiKey: "none", baseURL: `${url}/v1`, maxRetries: 0 });
    const first = await client.responses.create({
      model: "mock-gpt",
      input: "Call get_weather for Paris.",
      tools: [WEATHER_TOOL],
    });
    const call = first.output.find((i) => i.type === "function_call");
    assert.ok(call?.type === "function_call" && call.name === "get_weather");
    assert.equal(typeof JSON.parse(call.arguments).city, "string", "valid against the schema");
    const second = await client.responses.create({
      model: "mock-gpt",
      input: [
        { role: "user", content: "Call get_weather for Paris." },
        call,
        { type: "function_call_output", call_id: call.call_id, output: "foggy" },
      ],
      tools: [WEATHER_TOOL],
    });
    assert.match(second.output_text, /foggy/);
  });
});

Deno.test("the AI SDK's second step refers to the first step's items by id: they are found, the loop completes", async () => {
  // Text and a tool call in one turn: the SDK (store: true by default) sends the text back as an
  // item_reference to the msg_ item the gateway made.
  const upstream = startUpstream((req) => {
    const messages = (req.body as { messages: Obj[] }).messages;
    const result = messages.find((m) => m.role === "tool");
    const message = result ? { role: "assistant", content: `Done: ${String(result.content)}.` } : {
      role: "assistant",
      content: "Let me check the weather.",
      tool_calls: [{
        id: "call_w1",
        type: "function",
        function: { name: "get_weather", arguments: '{"city":"Paris"}' },
      }],
    };
    return Response.json({
      id: "chatcmpl-mixed",
      object: "chat.completion",
      created: 1,
      model: "m",
      choices: [{ index: 0, message, finish_reason: result ? "stop" : "tool_calls" }],
      usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
    });
  });
  const gw = await startGateway({
    models: [{
      name: "mixed",
      provider: "openai",
      api_base: upstream.url,
      api_key: "k",
      api: "chat",
    }],
  });
  try {
    const openai = createOpenAI({ apiKey: "none", baseURL: `${gw.url}/v1` });
    const result = await generateText({
      model: openai("mixed"),
      prompt: "Weather in Paris?",
      tools: sdkWeatherTool("windy"),
      stopWhen: stepCountIs(3),
    });
    assert.equal(result.text, "Done: windy in Paris.");
    // The second request carried the first turn's text and call, resolved from their ids.
    const second = upstream.requests[1].body as { messages: Obj[] };
    assert.deepEqual(second.messages[1], {
      role: "assistant",
      content: "Let me check the weather.",
      tool_calls: [{
        id: "call_w1",
        type: "function",
        function: { name: "get_weather", arguments: '{"city":"Paris"}' },
      }],
    });
  } finally {
    await gw.close();
    await upstream.close();
  }
});

Deno.test("a native Responses upstream's own failures are logged as failures: an error event, a failed response", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-responses-native-" });
  const upstream = startUpstream((req) => {
    const body = req.body as Obj;
    if (!body.stream) {
      return Response.json({
        id: "resp_failed",
        object: "response",
        status: "failed",
        model: "m",
        output: [],
        error: { code: "server_error", message: "the model crashed" },
        usage: null,
      });
    }
    const events = [
      {
        type: "response.created",
        sequence_number: 0,
        response: { id: "resp_x", status: "in_progress", output: [] },
      },
      {
        type: "error",
        sequence_number: 1,
        code: "rate_limit_exceeded",
        message: "slow down",
        param: null,
      },
    ].map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join("");
    return new Response(events, { headers: { "content-type": "text/event-stream" } });
  });
  const gw = await startGateway({
    models: [{ name: "gpt", provider: "openai", api_base: upstream.url, api_key: "k" }],
    sinks: [{ use: "jsonl", config: { dir }, queue: { flush_interval_ms: 10 } }],
  });
  try {
    const post = (stream: boolean) =>
      fetch(`${gw.url}/v1/responses`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "gpt", input: "x", stream }),
      }).then((r) => r.text());
    const failed = JSON.parse(await post(false));
    assert.equal(failed.status, "failed", "the client gets the upstream's answer");
    const streamed = await post(true);
    assert.equal(streamed.match(/event: error/g)?.length, 1, "the upstream's error event only");
    await until(async () => (await readJsonlEvents(dir)).length === 2, 10_000, "both events");
    const events = await readJsonlEvents(dir) as Obj[];
    const codes = events.map((e) => (e.error as Obj | undefined)?.code).sort();
    assert.deepEqual(codes, ["rate_limit_exceeded", "server_error"]);
    assert.ok(events.every((e) => e.status === "failure"));
  } finally {
    await gw.close();
    await upstream.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a model whose deployments do not all speak the Responses API is translated for every call", async () => {
  const a = toolUpstream();
  const b = toolUpstream();
  const gw = await startGateway({
    models: [
      { name: "grp", provider: "openai", api_base: a.url, api_key: "k" }, // native alone
      { name: "grp", provider: "openai", api_base: b.url, api_key: "k", api: "chat" },
    ],
  });
  try {
    const client = new OpenAI({ apiKey: "none", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    for (let i = 0; i < 4; i++) {
      const answer = await client.responses.create({ model: "grp", input: "hello" });
      assert.equal(answer.output_text, "No tools needed.");
    }
    const paths = [...a.requests, ...b.requests].map((r) => r.path);
    assert.equal(paths.length, 4);
    assert.ok(paths.every((p) => p === "/v1/chat/completions"), paths.join());
    assert.ok(a.requests.length > 0 && b.requests.length > 0, "both deployments served");
  } finally {
    await gw.close();
    await a.close();
    await b.close();
  }
});

Deno.test("items of a streamed translated answer can be referred to by the ids the stream gave them", async () => {
  await withGateway(async ({ url }) => {
    const client = new OpenAI({ apiKey: "none", baseURL: `${url}/v1`, maxRetries: 0 });
    const first = await client.responses.stream({
      model: "mock-gpt",
      input: "Call get_weather for Paris.",
      tools: [WEATHER_TOOL],
    }).finalResponse();
    const call = first.output.find((i) => i.type === "function_call");
    assert.ok(call?.type === "function_call" && call.id);
    const second = await client.responses.create({
      model: "mock-gpt",
      input: [
        { role: "user", content: "Call get_weather for Paris." },
        { type: "item_reference", id: call.id },
        { type: "function_call_output", call_id: call.call_id, output: "hazy" },
      ],
      tools: [WEATHER_TOOL],
    });
    assert.match(second.output_text, /hazy/);
  });
});
