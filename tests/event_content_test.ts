/**
 * Typed event content (#15 item 5): the `messages` and `response` of events
 * the real gateway produced for chat (text and content parts, several
 * choices, tool calls, streamed and not), legacy completions, embeddings
 * (float and base64) and a failed call match the contract's declared types,
 * checked at run time by a validator of those types; a sink whose policy
 * removes content gets the one marker. Type-level checks: the types narrow
 * as documented, and code written when the fields were `unknown` compiles.
 */
import assert from "node:assert/strict";
import {
  type ChatContentPart,
  type ChatMessage,
  type CompletionPrompt,
  type EmbeddingInput,
  type EmbeddingSummary,
  isRemoved,
  type LogEvent,
  type LogEventMessages,
  type LogEventResponse,
  REMOVED_PLACEHOLDER,
  type RemovedContent,
  type Sink,
} from "../core/plugin.ts";
import { sampleEvent } from "../core/testing.ts";
import { readJsonlEvents, startGateway } from "./fakes/gateway.ts";
import { sseResponse, startUpstream } from "./fakes/upstream.ts";

// ---------------------------------------------------------------------------
// A run-time validator of the declared content types.

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const optional = (value: unknown, check: (v: unknown) => boolean) =>
  value === undefined || check(value);

const isString = (value: unknown): value is string => typeof value === "string";

/** A {@link ChatContentPart}: the known parts with their fields, any other part with a string `type`. */
function isContentPart(part: unknown): part is ChatContentPart {
  if (!isObject(part) || !isString(part.type)) return false;
  switch (part.type) {
    case "text":
      return isString(part.text);
    case "image_url":
      return isObject(part.image_url) && isString(part.image_url.url);
    case "input_audio":
      return isObject(part.input_audio) && isString(part.input_audio.data) &&
        isString(part.input_audio.format);
    case "file":
      return isObject(part.file);
    case "refusal":
      return isString(part.refusal);
    default:
      return true;
  }
}

const isFunctionCall = (value: unknown) =>
  isObject(value) && isString(value.name) && isString(value.arguments);

/** A {@link ChatMessage}, field by field. */
function isChatMessage(message: unknown): message is ChatMessage {
  if (!isObject(message) || !isString(message.role)) return false;
  const content = message.content;
  return (content === undefined || content === null || isString(content) ||
    (Array.isArray(content) && content.every(isContentPart))) &&
    optional(message.name, isString) &&
    optional(message.tool_call_id, isString) &&
    optional(message.reasoning_content, isString) &&
    optional(message.refusal, (r) => r === null || isString(r)) &&
    optional(message.function_call, isFunctionCall) &&
    optional(
      message.tool_calls,
      (calls) =>
        Array.isArray(calls) &&
        calls.every((call) =>
          isObject(call) && optional(call.id, isString) && optional(call.type, isString) &&
          isFunctionCall(call.function)
        ),
    );
}

/** A {@link CompletionPrompt} or {@link EmbeddingInput}: text, texts, tokens, token lists. */
function isTextOrTokens(value: unknown): value is CompletionPrompt & EmbeddingInput {
  if (isString(value)) return true;
  if (!Array.isArray(value)) return false;
  return value.every(isString) || value.every((v) => typeof v === "number") ||
    value.every((v) => Array.isArray(v) && v.every((n) => typeof n === "number"));
}

function isEmbeddingSummary(value: unknown): value is EmbeddingSummary {
  return isObject(value) && value.object === "list" && Number.isInteger(value.count) &&
    optional(value.dimensions, Number.isInteger);
}

/** An event's content, validated and narrowed by `call_type`. */
type Content =
  | { call_type: "chat"; messages: ChatMessage[]; response?: ChatMessage | ChatMessage[] }
  | { call_type: "responses" | "messages"; messages: ChatMessage[]; response?: ChatMessage }
  | { call_type: "completion"; messages: CompletionPrompt; response?: string[] }
  | { call_type: "embedding"; messages: EmbeddingInput; response?: EmbeddingSummary }
  | { call_type: "gateway_error"; messages?: undefined; response?: undefined };

/** The event's content as its declared type for its call type, or throws naming the field. */
function contentOf(event: LogEvent): Content {
  const { call_type, messages, response } = event;
  const fail = (field: string) =>
    new Error(
      `${call_type} event: ${field} is not of the declared type: ${
        JSON.stringify(event[field as "messages"])
      }`,
    );
  switch (call_type) {
    case "chat":
    case "responses":
    case "messages": {
      if (!Array.isArray(messages) || !messages.every(isChatMessage)) throw fail("messages");
      if (
        !optional(
          response,
          (r) => isChatMessage(r) || (Array.isArray(r) && r.every(isChatMessage)),
        )
      ) throw fail("response");
      return call_type === "chat"
        ? { call_type, messages, response: response as ChatMessage | ChatMessage[] | undefined }
        : { call_type, messages, response: response as ChatMessage | undefined };
    }
    case "completion":
    case "embedding": {
      if (!isTextOrTokens(messages)) throw fail("messages");
      if (call_type === "embedding") {
        if (!optional(response, isEmbeddingSummary)) throw fail("response");
        return { call_type, messages, response: response as EmbeddingSummary | undefined };
      }
      if (!optional(response, (r) => Array.isArray(r) && r.every(isString))) {
        throw fail("response");
      }
      return { call_type, messages, response: response as string[] | undefined };
    }
    case "gateway_error":
      if (messages !== undefined || response !== undefined) throw fail("messages");
      return { call_type };
  }
}

// ---------------------------------------------------------------------------
// The gateway.

/** Chunks of a streamed answer that calls one tool, its arguments in two fragments. */
function toolCallChunks(model: string): string[] {
  const base = { id: "chatcmpl-tools", object: "chat.completion.chunk", created: 1, model };
  const delta = (d: Record<string, unknown>, finish: string | null = null) =>
    JSON.stringify({ ...base, choices: [{ index: 0, delta: d, finish_reason: finish }] });
  const fn = (f: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    tool_calls: [{ index: 0, ...extra, function: f }],
  });
  return [
    delta({
      role: "assistant",
      ...fn({ name: "get_weather", arguments: "" }, { id: "call_1", type: "function" }),
    }),
    delta(fn({ arguments: '{"city":' })),
    delta(fn({ arguments: '"Paris"}' })),
    delta({}, "tool_calls"),
    JSON.stringify({
      ...base,
      choices: [],
      usage: { prompt_tokens: 20, completion_tokens: 8, total_tokens: 28 },
    }),
    "[DONE]",
  ];
}

/** An upstream answering with two choices (text; a tool call), a streamed tool call, or a 400. */
function startToolUpstream() {
  return startUpstream((req) => {
    const model = String(req.body?.model);
    if (model === "bad") {
      return Response.json({
        error: { message: "Invalid 'tools'.", type: "invalid_request_error", code: "bad_tools" },
      }, { status: 400 });
    }
    if (req.body?.stream) return sseResponse(toolCallChunks(model));
    return Response.json({
      id: "chatcmpl-two",
      object: "chat.completion",
      created: 1,
      model,
      choices: [
        { index: 0, message: { role: "assistant", content: "Sunny." }, finish_reason: "stop" },
        {
          index: 1,
          message: {
            role: "assistant",
            content: null,
            refusal: null,
            tool_calls: [{
              id: "call_2",
              type: "function",
              function: { name: "get_weather", arguments: '{"city":"Oslo"}' },
            }],
          },
          finish_reason: "tool_calls",
        },
      ],
      usage: { prompt_tokens: 20, completion_tokens: 12, total_tokens: 32 },
    });
  });
}

const TOOLS = [{
  type: "function",
  function: { name: "get_weather", parameters: { type: "object", properties: {} } },
}];

/** Each call, named by its request metadata `case`. */
const CALLS: Record<string, { path: string; body: Record<string, unknown> }> = {
  "chat": {
    path: "chat/completions",
    body: {
      model: "mock-gpt",
      messages: [
        { role: "system", content: "Be brief." },
        {
          role: "user",
          content: [
            { type: "text", text: "What is in this picture?" },
            { type: "image_url", image_url: { url: "https://example.com/cat.png" } },
          ],
        },
      ],
    },
  },
  "chat-stream": {
    path: "chat/completions",
    body: { model: "mock-gpt", stream: true, messages: [{ role: "user", content: "Hi" }] },
  },
  "chat-choices-tools": {
    path: "chat/completions",
    body: {
      model: "up",
      n: 2,
      tools: TOOLS,
      messages: [
        { role: "user", content: "Weather?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [{
            id: "call_0",
            type: "function",
            function: { name: "get_weather", arguments: "{}" },
          }],
        },
        { role: "tool", tool_call_id: "call_0", content: "unknown city" },
      ],
    },
  },
  "chat-stream-tools": {
    path: "chat/completions",
    body: {
      model: "up",
      stream: true,
      tools: TOOLS,
      messages: [{ role: "user", content: "Weather in Paris?" }],
    },
  },
  "chat-failure": {
    path: "chat/completions",
    body: { model: "bad", messages: [{ role: "user", content: "Weather?" }] },
  },
  "completion": {
    path: "completions",
    body: { model: "mock-gpt", prompt: "Once upon a time" },
  },
  "completion-stream": {
    path: "completions",
    body: { model: "mock-gpt", prompt: ["Once", "Twice"], stream: true },
  },
  "embedding": {
    path: "embeddings",
    body: { model: "mock-embed", input: ["alpha", "beta"], dimensions: 8 },
  },
  "embedding-base64": {
    path: "embeddings",
    body: { model: "mock-embed", input: "gamma", dimensions: 16, encoding_format: "base64" },
  },
};

/** Every call through a real gateway; the events of a full sink and of a `messages: remove` one, by case. */
async function runCalls(): Promise<
  { full: Map<string, LogEvent>; removed: Map<string, LogEvent> }
> {
  const upstream = startToolUpstream();
  const base = await Deno.makeTempDir();
  const gw = await startGateway({
    models: [
      { name: "mock-gpt", provider: "mock" },
      { name: "mock-embed", provider: "mock" },
      { name: "up", provider: "openai", api_base: upstream.url },
      { name: "bad", provider: "openai", api_base: upstream.url },
    ],
    sinks: [
      { name: "full", use: "jsonl", config: { dir: `${base}/full` } },
      {
        name: "removed",
        use: "jsonl",
        config: { dir: `${base}/removed` },
        redaction: { messages: "remove" },
      },
    ],
  });
  try {
    for (const [name, call] of Object.entries(CALLS)) {
      const res = await fetch(`${gw.url}/v1/${call.path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ...call.body, metadata: { case: name } }),
      });
      await res.text(); // the whole answer (a stream to its end)
      assert.equal(res.status, name === "chat-failure" ? 400 : 200, name);
    }
  } finally {
    await gw.close(); // flushes both sinks
    await upstream.close();
  }
  const byCase = async (dir: string) =>
    new Map(
      (await readJsonlEvents(dir) as unknown as LogEvent[]).map((
        e,
      ) => [String(e.metadata.request.case), e]),
    );
  const out = { full: await byCase(`${base}/full`), removed: await byCase(`${base}/removed`) };
  await Deno.remove(base, { recursive: true });
  return out;
}

Deno.test("the gateway's events for chat, completion, embedding and failure match the declared content types", async () => {
  const { full, removed } = await runCalls();
  assert.deepEqual([...full.keys()].sort(), Object.keys(CALLS).sort());

  // Every event validates against its call type's declared content.
  const content = new Map([...full].map(([name, event]) => [name, contentOf(event)]));
  const get = <T extends Content["call_type"]>(name: string, callType: T) => {
    const c = content.get(name)!;
    assert.equal(c.call_type, callType, name);
    return c as Extract<Content, { call_type: T }>;
  };

  // Chat: parts as sent; one choice is one message.
  const chat = get("chat", "chat");
  const parts = chat.messages[1].content;
  assert.ok(Array.isArray(parts));
  assert.deepEqual(parts.map((p) => p.type), ["text", "image_url"]);
  assert.ok(!Array.isArray(chat.response) && chat.response?.role === "assistant");
  assert.equal(typeof chat.response.content, "string");

  // A streamed chat answer is assembled into one message.
  const streamed = get("chat-stream", "chat");
  assert.ok(!Array.isArray(streamed.response));
  assert.match(String(streamed.response?.content), /Hi/);

  // Several choices: an array of messages; tool calls and a tool answer in the request.
  const choices = get("chat-choices-tools", "chat");
  assert.equal(choices.messages[2].tool_call_id, "call_0");
  assert.ok(Array.isArray(choices.response) && choices.response.length === 2);
  assert.equal(choices.response[0].content, "Sunny.");
  assert.equal(choices.response[1].content, null);
  assert.deepEqual(choices.response[1].tool_calls?.[0].function, {
    name: "get_weather",
    arguments: '{"city":"Oslo"}',
  });

  // A streamed tool call: fragments joined, no text.
  const streamedTools = get("chat-stream-tools", "chat");
  assert.ok(streamedTools.response && !Array.isArray(streamedTools.response));
  assert.equal(streamedTools.response.content, null);
  assert.deepEqual(streamedTools.response.tool_calls, [{
    id: "call_1",
    type: "function",
    function: { name: "get_weather", arguments: '{"city":"Paris"}' },
  }]);

  // A failure keeps the messages and has no response.
  const failed = get("chat-failure", "chat");
  assert.equal(full.get("chat-failure")!.status, "failure");
  assert.equal(failed.response, undefined);
  assert.equal(failed.messages[0].content, "Weather?");

  // Completions: the prompt as sent, one text per choice.
  const completion = get("completion", "completion");
  assert.equal(completion.messages, "Once upon a time");
  assert.equal(completion.response?.length, 1);
  const completionStream = get("completion-stream", "completion");
  assert.deepEqual(completionStream.messages, ["Once", "Twice"]);
  assert.ok(completionStream.response?.every((text) => typeof text === "string"));

  // Embeddings: the input as sent and a summary, never the vectors.
  const embedding = get("embedding", "embedding");
  assert.deepEqual(embedding.messages, ["alpha", "beta"]);
  assert.deepEqual(embedding.response, { object: "list", count: 2, dimensions: 8 });
  const base64 = get("embedding-base64", "embedding");
  assert.deepEqual(base64.response, { object: "list", count: 1, dimensions: 16 });

  // The sink whose policy removes content gets the contract's one marker.
  assert.equal(removed.size, full.size);
  for (const [name, event] of removed) {
    assert.ok(isRemoved(event.messages), `${name}: messages`);
    const fullEvent = full.get(name)!;
    if (fullEvent.response === undefined) assert.equal(event.response, undefined, name);
    else assert.ok(isRemoved(event.response), `${name}: response`);
  }
});

Deno.test("the validator refuses what the declared types exclude", () => {
  const base = { schema_version: 1, metadata: { tags: [], request: {} } } as unknown as LogEvent;
  const bad = (event: Partial<LogEvent> & Record<string, unknown>) =>
    assert.throws(() => contentOf({ ...base, ...event } as LogEvent), /not of the declared type/);
  bad({ call_type: "chat", messages: [{ content: "no role" }] as never });
  bad({ call_type: "chat", messages: [{ role: "user", content: [{ text: "no type" }] }] as never });
  bad({
    call_type: "chat",
    messages: [{ role: "user", content: "x" }],
    response: { role: "assistant", tool_calls: [{ function: { name: "f" } }] } as never,
  });
  bad({ call_type: "completion", messages: [1, "two"] as never });
  bad({ call_type: "embedding", messages: "x", response: { count: 2 } });
  contentOf({ ...base, call_type: "embedding", messages: [[1, 2], [3]] }); // token lists are fine
});

// ---------------------------------------------------------------------------
// Type-level checks (this file does not compile if they fail).

Deno.test("types: the marker is one literal, isRemoved narrows, members narrow by shape", () => {
  const marker: RemovedContent = REMOVED_PLACEHOLDER;
  // @ts-expect-error only the contract's marker is RemovedContent
  const other: RemovedContent = "[removed]";
  assert.notEqual(marker, other);

  const messages: LogEventMessages | undefined = [{ role: "user", content: "hi" }];
  if (!isRemoved(messages) && Array.isArray(messages) && typeof messages[0] === "object") {
    const first = messages[0] as ChatMessage; // chat: narrowed on call_type in real code
    const role: string = first.role;
    assert.equal(role, "user");
  }
  const response: LogEventResponse = ["one", "two"];
  if (Array.isArray(response) && response.every((r) => typeof r === "string")) {
    assert.equal((response as string[]).join(" "), "one two");
  }
  // @ts-expect-error a number is no event content
  const notContent: LogEvent["messages"] = 42;
  assert.equal(notContent, 42);
});

Deno.test("types: code written when messages and response were unknown still compiles", async () => {
  // A sink of apiVersion 1 that read the fields as `unknown`.
  const seen: unknown[] = [];
  const legacy: Sink = {
    log(events) {
      for (const event of events) {
        const messages: unknown = event.messages;
        const response: unknown = event.response;
        if (typeof messages === "string" && messages === "[REDACTED]") continue;
        seen.push(messages, response);
      }
    },
  };
  const event = {
    ...sampleEvent(),
    messages: [{ role: "user", content: "hi" }],
  } satisfies LogEvent;
  await legacy.log([event, { ...event, messages: REMOVED_PLACEHOLDER }]);
  assert.deepEqual(seen, [event.messages, event.response]);
});
