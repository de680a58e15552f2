import assert from "node:assert/strict";
import {
  DEFAULT_ATTRIBUTE_COUNT_LIMIT,
  epochMsToHrTime,
  eventToGenAiSpan,
  genAiFinishReasons,
  genAiInput,
  genAiOperationName,
  genAiOutput,
  genAiProviderName,
  GenAiSpanKind,
  genAiSpanName,
  isRedacted,
  REDACTED_PLACEHOLDER,
} from "./genai.ts";
import { sampleEvent, sampleFailureEvent, sampleGatewayErrorEvent } from "@sluice/core/testing";
import type { LogEvent } from "@sluice/core/plugin";
import { assertGenAiJson, assertGenAiJsTypes } from "./testdata/schemas.ts";

/** A chat event with every field the mapping reads. */
function richEvent(overrides: Partial<LogEvent> = {}): LogEvent {
  return sampleEvent({
    model: "gpt-4o-mini-2024-07-18",
    model_group: "gpt-4o-mini",
    stream: true,
    start_time: 1_700_000_000_123,
    response_time_ms: 800,
    completion_start_time: 1_700_000_000_373,
    cache_read_input_tokens: 4,
    cache_creation_input_tokens: 2,
    parent_span_id: "b7ad6b7169203331",
    trace_state: "vendor=abc",
    baggage: { tenant: "acme", "user.tier": "gold" },
    model_parameters: {
      temperature: 0.7,
      top_p: 0.9,
      max_tokens: 256,
      frequency_penalty: 0.5,
      presence_penalty: 0.25,
      stop: ["\n\n", "END"],
      seed: 42,
      n: 2,
      response_format: { type: "json_object" },
      tools: [{
        type: "function",
        function: {
          name: "get_weather",
          description: "Weather by city",
          parameters: { type: "object", properties: { city: { type: "string" } } },
        },
      }],
    },
    messages: [
      { role: "system", content: "You are terse." },
      {
        role: "user",
        content: [
          { type: "text", text: "What is in this picture?" },
          { type: "image_url", image_url: { url: "https://example.com/cat.png" } },
          { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
        ],
      },
      {
        role: "assistant",
        content: null,
        tool_calls: [{
          id: "call_1",
          type: "function",
          function: { name: "get_weather", arguments: '{"city":"Paris"}' },
        }],
      },
      { role: "tool", tool_call_id: "call_1", content: "sunny" },
    ],
    response: [
      { role: "assistant", content: "A cat.", reasoning_content: "Looked at it." },
      {
        role: "assistant",
        content: null,
        tool_calls: [{
          id: "call_2",
          type: "function",
          function: { name: "zoom", arguments: "{}" },
        }],
      },
    ],
    ...overrides,
  });
}

Deno.test("a chat event becomes a CLIENT span named '{operation} {model}' with the event's ids and times", () => {
  const event = richEvent();
  const span = eventToGenAiSpan(event);
  assert.equal(span.name, "chat gpt-4o-mini");
  assert.equal(span.kind, GenAiSpanKind.CLIENT);
  assert.equal(span.kind, 2);
  assert.equal(span.traceId, event.trace_id);
  assert.equal(span.spanId, event.span_id);
  assert.equal(span.parentSpanId, "b7ad6b7169203331");
  assert.equal(span.traceState, "vendor=abc");
  assert.deepEqual(span.startTime, [1_700_000_000, 123_000_000]);
  assert.deepEqual(span.endTime, [1_700_000_000, 923_000_000]);
  assert.deepEqual(span.status, { code: 1 });
  assert.equal(span.droppedAttributesCount, 0);
});

Deno.test("every gen_ai.* attribute has the registry's type and the expected value", () => {
  const event = richEvent();
  const span = eventToGenAiSpan(event, { systemInstructions: "separate" });
  const a = span.attributes;
  const checked = assertGenAiJsTypes(a);
  const content = new Set([
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.tool.definitions",
  ]);
  const scalars = Object.fromEntries(
    Object.entries(a).filter(([k]) => k.startsWith("gen_ai.") && !content.has(k)),
  );
  assert.deepEqual(scalars, {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.request.max_tokens": 256,
    "gen_ai.request.temperature": 0.7,
    "gen_ai.request.top_p": 0.9,
    "gen_ai.request.frequency_penalty": 0.5,
    "gen_ai.request.presence_penalty": 0.25,
    "gen_ai.request.stop_sequences": ["\n\n", "END"],
    "gen_ai.request.seed": 42,
    "gen_ai.request.choice.count": 2,
    "gen_ai.request.stream": true,
    "gen_ai.output.type": "json",
    "gen_ai.conversation.id": event.metadata.request.session_id,
    "gen_ai.response.id": event.id,
    "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
    "gen_ai.response.finish_reasons": ["stop", "tool_calls"],
    "gen_ai.response.time_to_first_chunk": 0.25,
    "gen_ai.usage.input_tokens": event.prompt_tokens,
    "gen_ai.usage.output_tokens": event.completion_tokens,
    "gen_ai.usage.cache_read.input_tokens": 4,
    "gen_ai.usage.cache_creation.input_tokens": 2,
  });
  assert.equal(a["server.address"], "api.openai.com");
  assert.equal(a["server.port"], 443);
  assert.equal(checked.length, Object.keys(scalars).length + content.size);
});

Deno.test("messages use the semconv parts shape and validate against the GenAI schemas", () => {
  const a = eventToGenAiSpan(richEvent(), { systemInstructions: "separate" }).attributes;
  const system = assertGenAiJson("gen_ai.system_instructions", a["gen_ai.system_instructions"]);
  assert.deepEqual(system, [{ type: "text", content: "You are terse." }]);
  const input = assertGenAiJson("gen_ai.input.messages", a["gen_ai.input.messages"]);
  assert.deepEqual(input, [
    {
      role: "user",
      parts: [
        { type: "text", content: "What is in this picture?" },
        { type: "uri", modality: "image", uri: "https://example.com/cat.png" },
        { type: "blob", mime_type: "image/png", modality: "image", content: "iVBORw0KGgo=" },
      ],
    },
    {
      role: "assistant",
      parts: [{
        type: "tool_call",
        id: "call_1",
        name: "get_weather",
        arguments: { city: "Paris" },
      }],
    },
    { role: "tool", parts: [{ type: "tool_call_response", id: "call_1", response: "sunny" }] },
  ]);
  const output = assertGenAiJson("gen_ai.output.messages", a["gen_ai.output.messages"]);
  assert.deepEqual(output, [
    {
      role: "assistant",
      parts: [{ type: "reasoning", content: "Looked at it." }, { type: "text", content: "A cat." }],
      finish_reason: "stop",
    },
    {
      role: "assistant",
      parts: [{ type: "tool_call", id: "call_2", name: "zoom", arguments: {} }],
      finish_reason: "tool_call",
    },
  ]);
  const tools = assertGenAiJson("gen_ai.tool.definitions", a["gen_ai.tool.definitions"]);
  assert.deepEqual(tools, [{
    type: "function",
    name: "get_weather",
    description: "Weather by city",
    parameters: { type: "object", properties: { city: { type: "string" } } },
  }]);
});

Deno.test("system messages: inline in the history for OpenAI (auto), separate for Anthropic", () => {
  const openai = genAiInput(sampleEvent());
  assert.equal(openai.system.length, 0);
  assert.equal(openai.input[0].role, "system");
  const anthropic = genAiInput(sampleEvent({ provider: "anthropic" }));
  assert.deepEqual(anthropic.system, [{ type: "text", content: "You are a terse assistant." }]);
  assert.ok(anthropic.input.every((m) => m.role !== "system"));
  assert.equal(genAiInput(sampleEvent({ provider: "anthropic" }), "inline").system.length, 0);
});

Deno.test("removed content (the redaction placeholder) is never recorded; masked content is", () => {
  assert.ok(isRedacted(REDACTED_PLACEHOLDER));
  const removed = eventToGenAiSpan(
    richEvent({ messages: REDACTED_PLACEHOLDER, response: REDACTED_PLACEHOLDER }),
  ).attributes;
  for (
    const key of [
      "gen_ai.input.messages",
      "gen_ai.output.messages",
      "gen_ai.system_instructions",
      "gen_ai.tool.definitions",
    ]
  ) {
    assert.equal(removed[key], undefined, key);
  }
  assert.ok(!JSON.stringify(removed).includes(REDACTED_PLACEHOLDER));
  // usage, cost and the rest stay
  assert.ok(Number.isInteger(removed["gen_ai.usage.input_tokens"]));
  const onlyOutput = eventToGenAiSpan(richEvent({ response: REDACTED_PLACEHOLDER })).attributes;
  assert.ok(onlyOutput["gen_ai.input.messages"]);
  assert.equal(onlyOutput["gen_ai.output.messages"], undefined);
  const masked = eventToGenAiSpan(
    sampleEvent({ messages: [{ role: "user", content: "mail me at [EMAIL]" }] }),
  ).attributes;
  assert.match(String(masked["gen_ai.input.messages"]), /\[EMAIL\]/);
  const off = eventToGenAiSpan(richEvent(), { captureMessages: false }).attributes;
  assert.equal(off["gen_ai.input.messages"], undefined);
  assert.equal(off["gen_ai.output.messages"], undefined);
});

Deno.test("Sluice metadata goes under sluice.*; key info is absent when redacted; baggage and request metadata are kept", () => {
  const event = richEvent();
  const a = eventToGenAiSpan(event).attributes;
  assert.equal(a["sluice.call_id"], event.call_id);
  assert.equal(a["sluice.request_id"], event.request_id);
  assert.equal(a["sluice.user_api_key_alias"], "app-a");
  assert.equal(a["sluice.user_api_key_team"], "team-a");
  assert.equal(a["sluice.user_api_key_user_id"], "alice");
  assert.deepEqual(a["sluice.tags"], ["sample"]);
  assert.equal(a["sluice.time_to_first_token_ms"], 250);
  assert.equal(a["sluice.cost.usd"], event.response_cost);
  assert.equal(a["sluice.metadata.generation_name"], "greeting");
  assert.equal(a["sluice.baggage.tenant"], "acme");
  assert.equal(a["sluice.baggage.user.tier"], "gold");
  const redacted = eventToGenAiSpan({
    ...event,
    metadata: { tags: [], request: {}, end_user: "u1" },
  }).attributes;
  assert.deepEqual(Object.keys(redacted).filter((k) => k.includes("user_api_key")), []);
  assert.equal(redacted["sluice.end_user"], "u1");
});

Deno.test("the attribute count limit keeps every gen_ai.* attribute and drops metadata first", () => {
  const request: Record<string, unknown> = {};
  for (let i = 0; i < 200; i++) request[`k${i}`] = `v${i}`;
  const event = richEvent({ metadata: { ...sampleEvent().metadata, request } });
  const full = eventToGenAiSpan(event, { attributeCountLimit: 10_000 });
  const genAi = Object.keys(full.attributes).filter((k) => k.startsWith("gen_ai."));
  const limited = eventToGenAiSpan(event);
  const keys = Object.keys(limited.attributes);
  assert.equal(keys.length, DEFAULT_ATTRIBUTE_COUNT_LIMIT);
  assert.equal(
    limited.droppedAttributesCount,
    Object.keys(full.attributes).length - DEFAULT_ATTRIBUTE_COUNT_LIMIT,
  );
  for (const key of genAi) assert.ok(key in limited.attributes, `${key} kept`);
  assert.ok(keys.includes("sluice.call_id"));
  assert.ok(!keys.includes("sluice.metadata.k199"));
  const tiny = eventToGenAiSpan(event, { attributeCountLimit: 5 });
  assert.deepEqual(Object.keys(tiny.attributes), [
    "gen_ai.operation.name",
    "gen_ai.provider.name",
    "gen_ai.request.model",
    "server.address",
    "server.port",
  ]);
});

Deno.test("the value length limit cuts strings and keeps the message JSON valid", () => {
  const long = "x".repeat(5000);
  const event = sampleEvent({
    messages: [{ role: "user", content: long }],
    response: { role: "assistant", content: long },
    metadata: { ...sampleEvent().metadata, request: { note: long } },
  });
  const a = eventToGenAiSpan(event, { attributeValueLengthLimit: 300 }).attributes;
  assert.equal(String(a["sluice.metadata.note"]).length, 300);
  for (const key of ["gen_ai.input.messages", "gen_ai.output.messages"]) {
    const text = String(a[key]);
    assert.ok(text.length <= 300, `${key}: ${text.length}`);
    assertGenAiJson(key, text);
  }
});

Deno.test("operation names, provider names and span names", () => {
  assert.equal(genAiOperationName("chat"), "chat");
  assert.equal(genAiOperationName("completion"), "text_completion");
  assert.equal(genAiOperationName("embedding"), "embeddings");
  const provider = (over: Partial<LogEvent>) => genAiProviderName(sampleEvent(over));
  assert.equal(provider({ provider: "openai", api_base: "https://api.openai.com/v1" }), "openai");
  assert.equal(
    provider({ provider: "openai", api_base: "https://api.groq.com/openai/v1" }),
    "groq",
  );
  assert.equal(provider({ provider: "openai", api_base: "https://api.deepseek.com" }), "deepseek");
  assert.equal(
    provider({ provider: "openai", api_base: "https://api.mistral.ai/v1" }),
    "mistral_ai",
  );
  assert.equal(
    provider({
      provider: "openai",
      api_base: "https://generativelanguage.googleapis.com/v1beta/openai",
    }),
    "gcp.gemini",
  );
  assert.equal(provider({ provider: "openai", api_base: "http://127.0.0.1:8000/v1" }), "openai");
  assert.equal(
    provider({ provider: "azure", api_base: "https://x.openai.azure.com" }),
    "azure.ai.openai",
  );
  assert.equal(provider({ provider: "anthropic" }), "anthropic");
  assert.equal(provider({ provider: "mock", api_base: undefined }), "sluice.mock");
  assert.equal(genAiSpanName(sampleEvent({ model_group: undefined, model: "m" })), "chat m");
  assert.equal(genAiSpanName(sampleEvent({ model_group: undefined, model: undefined })), "chat");
});

Deno.test("completions and embeddings", () => {
  const completion = sampleEvent({
    call_type: "completion",
    messages: "Once upon a time",
    response: ["there was a gateway"],
  });
  const c = eventToGenAiSpan(completion);
  assert.equal(c.name, "text_completion gpt-4o-mini");
  assert.deepEqual(
    assertGenAiJson("gen_ai.input.messages", c.attributes["gen_ai.input.messages"]),
    [
      { role: "user", parts: [{ type: "text", content: "Once upon a time" }] },
    ],
  );
  assert.deepEqual(genAiOutput(completion), [
    {
      role: "assistant",
      parts: [{ type: "text", content: "there was a gateway" }],
      finish_reason: "stop",
    },
  ]);
  const embedding = sampleEvent({
    call_type: "embedding",
    model_group: "embed",
    messages: ["a", "b"],
    response: { object: "list", count: 2, dimensions: 64 },
    completion_tokens: 0,
    model_parameters: { encoding_format: "float" },
  });
  const e = eventToGenAiSpan(embedding).attributes;
  assertGenAiJsTypes(e);
  assert.equal(e["gen_ai.operation.name"], "embeddings");
  assert.equal(e["gen_ai.embeddings.dimension.count"], 64);
  assert.deepEqual(e["gen_ai.request.encoding_formats"], ["float"]);
  assert.equal(e["gen_ai.input.messages"], undefined);
  assert.equal(e["gen_ai.output.messages"], undefined);
  assert.equal(e["gen_ai.usage.output_tokens"], undefined);
  assert.equal(e["gen_ai.response.finish_reasons"], undefined);
});

Deno.test("failures: ERROR status with the message, error.type, no finish reasons", () => {
  const event = sampleFailureEvent();
  const span = eventToGenAiSpan(event);
  assert.deepEqual(span.status, { code: 2, message: event.error!.message });
  assert.equal(span.attributes["error.type"], "RateLimitError");
  assert.equal(span.attributes["sluice.error.status"], 429);
  assert.equal(span.attributes["sluice.error.code"], "rate_limit_exceeded");
  assert.equal(span.attributes["gen_ai.response.finish_reasons"], undefined);
  assert.equal(span.attributes["gen_ai.output.messages"], undefined);
  assertGenAiJsTypes(span.attributes);
  const noClass = eventToGenAiSpan(sampleFailureEvent({
    error: { status: 500, code: "", class: "", message: "boom" },
  }));
  assert.equal(noClass.attributes["error.type"], "_OTHER");
});

Deno.test("gateway errors: an INTERNAL span without gen_ai attributes", () => {
  const span = eventToGenAiSpan(sampleGatewayErrorEvent({ source: "langfuse" }));
  assert.equal(span.name, "sluice.gateway_error langfuse");
  assert.equal(span.kind, GenAiSpanKind.INTERNAL);
  assert.equal(span.status.code, 2);
  assert.equal(span.attributes["sluice.source"], "langfuse");
  assert.deepEqual(Object.keys(span.attributes).filter((k) => k.startsWith("gen_ai.")), []);
});

Deno.test("finish reasons: explicit ones win; length when max_tokens was reached", () => {
  assert.deepEqual(
    genAiFinishReasons({ ...sampleEvent(), finish_reasons: ["content_filter"] } as LogEvent),
    ["content_filter"],
  );
  assert.deepEqual(
    genAiFinishReasons(
      sampleEvent({ completion_tokens: 16, model_parameters: { max_tokens: 16 } }),
    ),
    ["length"],
  );
});

Deno.test("epochMsToHrTime is exact for whole milliseconds", () => {
  assert.deepEqual(epochMsToHrTime(0), [0, 0]);
  assert.deepEqual(epochMsToHrTime(1_700_000_000_999), [1_700_000_000, 999_000_000]);
  assert.deepEqual(epochMsToHrTime(1_700_000_000_000.5), [1_700_000_000, 500_000]);
});

const CITY_SCHEMA = {
  type: "object",
  properties: { city: { type: "string" } },
  required: ["city"],
};
const WEATHER_CALL = {
  role: "assistant",
  content: null,
  tool_calls: [{
    id: "call_1",
    type: "function",
    function: { name: "get_weather", arguments: '{"city":"Paris"}' },
  }],
};

/** A Responses API call as core logs it: chat-shaped content, the route's own parameters. */
function responsesEvent(overrides: Partial<LogEvent> = {}): LogEvent {
  return sampleEvent({
    call_type: "responses",
    id: "resp_0123",
    // `instructions` is content: core logs it as the first message, not a parameter.
    model_parameters: {
      max_output_tokens: 64,
      text: { format: { type: "json_schema", name: "w", schema: CITY_SCHEMA } },
      tools: [{
        type: "function",
        name: "get_weather",
        description: "Weather by city",
        parameters: CITY_SCHEMA,
        strict: true,
      }],
    },
    messages: [
      { role: "system", content: "Answer briefly." },
      { role: "user", content: "Weather in Paris?" },
    ],
    response: WEATHER_CALL,
    finish_reasons: ["tool_calls"],
    ...overrides,
  });
}

/** An Anthropic Messages call as core logs it. */
function messagesEvent(overrides: Partial<LogEvent> = {}): LogEvent {
  return sampleEvent({
    call_type: "messages",
    id: "msg_0123",
    provider: "mock",
    api_base: undefined,
    model_parameters: {
      max_tokens: 200,
      stop_sequences: ["END"],
      top_k: 5,
      tools: [
        { name: "get_weather", description: "Weather by city", input_schema: CITY_SCHEMA },
        { type: "custom", name: "lookup", input_schema: { type: "object" } },
        { type: "web_search_20250305", name: "web_search", max_uses: 2 },
      ],
    },
    messages: [
      { role: "system", content: "Answer briefly." },
      { role: "user", content: "Weather in Paris?" },
      WEATHER_CALL,
      { role: "tool", tool_call_id: "call_1", content: "sunny" },
    ],
    response: { role: "assistant", content: "Sunny.", reasoning_content: "It said sunny." },
    ...overrides,
  });
}

Deno.test("responses calls map like chat: operation chat, messages, their tools, their parameters", () => {
  const event = responsesEvent();
  const span = eventToGenAiSpan(event);
  const a = span.attributes;
  assertGenAiJsTypes(a);
  assert.equal(span.name, "chat gpt-4o-mini");
  assert.equal(span.kind, GenAiSpanKind.CLIENT);
  assert.equal(a["gen_ai.operation.name"], "chat");
  assert.equal(a["gen_ai.provider.name"], "openai");
  assert.equal(a["sluice.call_type"], "responses");
  assert.equal(a["gen_ai.response.id"], "resp_0123");
  assert.equal(a["gen_ai.request.max_tokens"], 64, "max_output_tokens");
  assert.equal(a["gen_ai.output.type"], "json", "text.format");
  assert.deepEqual(a["gen_ai.response.finish_reasons"], ["tool_calls"]);
  assert.equal(a["gen_ai.usage.input_tokens"], event.prompt_tokens);
  assert.equal(a["gen_ai.usage.output_tokens"], event.completion_tokens);
  // The Responses API takes `instructions` apart from the history: system instructions under `auto`.
  assert.deepEqual(assertGenAiJson("gen_ai.system_instructions", a["gen_ai.system_instructions"]), [
    { type: "text", content: "Answer briefly." },
  ]);
  assert.deepEqual(assertGenAiJson("gen_ai.input.messages", a["gen_ai.input.messages"]), [
    { role: "user", parts: [{ type: "text", content: "Weather in Paris?" }] },
  ]);
  assert.deepEqual(assertGenAiJson("gen_ai.output.messages", a["gen_ai.output.messages"]), [{
    role: "assistant",
    parts: [{ type: "tool_call", id: "call_1", name: "get_weather", arguments: { city: "Paris" } }],
    finish_reason: "tool_call",
  }]);
  assert.deepEqual(assertGenAiJson("gen_ai.tool.definitions", a["gen_ai.tool.definitions"]), [{
    type: "function",
    name: "get_weather",
    description: "Weather by city",
    parameters: CITY_SCHEMA,
  }]);
  // `inline` keeps them in the history, as for chat.
  const inline = genAiInput(responsesEvent(), "inline");
  assert.equal(inline.system.length, 0);
  assert.equal(inline.input[0].role, "system");
});

Deno.test("messages calls map like chat: Anthropic tools normalised, system apart, parameters", () => {
  const event = messagesEvent();
  const a = eventToGenAiSpan(event).attributes;
  assertGenAiJsTypes(a);
  assert.equal(a["gen_ai.operation.name"], "chat");
  assert.equal(a["gen_ai.provider.name"], "sluice.mock");
  assert.equal(a["sluice.call_type"], "messages");
  assert.equal(a["gen_ai.request.max_tokens"], 200);
  assert.equal(a["gen_ai.request.top_k"], 5);
  assert.deepEqual(a["gen_ai.request.stop_sequences"], ["END"]);
  assert.deepEqual(a["gen_ai.response.finish_reasons"], ["stop"]);
  assert.deepEqual(assertGenAiJson("gen_ai.system_instructions", a["gen_ai.system_instructions"]), [
    { type: "text", content: "Answer briefly." },
  ]);
  assert.deepEqual(assertGenAiJson("gen_ai.input.messages", a["gen_ai.input.messages"]), [
    { role: "user", parts: [{ type: "text", content: "Weather in Paris?" }] },
    {
      role: "assistant",
      parts: [{
        type: "tool_call",
        id: "call_1",
        name: "get_weather",
        arguments: { city: "Paris" },
      }],
    },
    { role: "tool", parts: [{ type: "tool_call_response", id: "call_1", response: "sunny" }] },
  ]);
  assert.deepEqual(assertGenAiJson("gen_ai.output.messages", a["gen_ai.output.messages"]), [{
    role: "assistant",
    parts: [
      { type: "reasoning", content: "It said sunny." },
      { type: "text", content: "Sunny." },
    ],
    finish_reason: "stop",
  }]);
  assert.deepEqual(assertGenAiJson("gen_ai.tool.definitions", a["gen_ai.tool.definitions"]), [
    {
      type: "function",
      name: "get_weather",
      description: "Weather by city",
      parameters: CITY_SCHEMA,
    },
    { type: "function", name: "lookup", parameters: { type: "object" } },
    { type: "web_search_20250305", name: "web_search" },
  ]);
  // Removed content stays out, tools included, whatever the route.
  const removed = eventToGenAiSpan(
    messagesEvent({ messages: REDACTED_PLACEHOLDER, response: REDACTED_PLACEHOLDER }),
  ).attributes;
  for (
    const key of ["input.messages", "output.messages", "system_instructions", "tool.definitions"]
  ) {
    assert.equal(removed[`gen_ai.${key}`], undefined, key);
  }
  // A failure is an ERROR span of operation chat.
  const failed = eventToGenAiSpan(sampleFailureEvent({ call_type: "messages" }));
  assert.equal(failed.status.code, 2);
  assert.equal(failed.attributes["gen_ai.operation.name"], "chat");
  assert.equal(genAiOperationName("responses"), "chat");
  assert.equal(genAiOperationName("messages"), "chat");
});
