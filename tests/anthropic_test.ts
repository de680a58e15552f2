/**
 * The Anthropic adapter against a loopback fake of the Messages API: request
 * translation, JSON and SSE answers back in OpenAI's shape, errors, and
 * call kinds Anthropic does not serve.
 */
import assert from "node:assert/strict";
import {
  anthropicProvider,
  anthropicStreamToOpenAI,
  anthropicUrl,
  fromAnthropicResponse,
  toAnthropicRequest,
} from "../core/providers/anthropic.ts";
import type { Deployment, UpstreamRequest } from "../core/providers/types.ts";
import { SseParser } from "../core/stream/sse.ts";

interface Recorded {
  path: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

interface FakeAnthropic {
  base: string;
  requests: Recorded[];
  close(): Promise<void>;
}

function startFake(answer: (req: Recorded, signal: AbortSignal) => Response): FakeAnthropic {
  const requests: Recorded[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const recorded: Recorded = {
      path: new URL(req.url).pathname,
      headers: Object.fromEntries(req.headers),
      body: await req.json(),
    };
    requests.push(recorded);
    return answer(recorded, req.signal);
  });
  return {
    base: `http://127.0.0.1:${server.addr.port}`,
    requests,
    close: () => server.shutdown(),
  };
}

function deployment(apiBase: string, headers?: Record<string, string>): Deployment {
  return {
    config: {
      name: "claude",
      provider: "anthropic",
      model: "claude-3-5-haiku-latest",
      api_base: apiBase,
      api_key: "test-key",
      headers,
      timeout_s: 600,
      max_retries: 0,
      forward_metadata: false,
    },
    id: "x",
    upstreamModel: "claude-3-5-haiku-latest",
    apiBase,
  };
}

function chatRequest(
  body: Record<string, unknown>,
  extra: Partial<UpstreamRequest> = {},
): UpstreamRequest {
  return {
    callType: "chat",
    body,
    stream: body.stream === true,
    headers: {},
    signal: new AbortController().signal,
    ...extra,
  };
}

const encoder = new TextEncoder();

/** Resolves with `promise`, or rejects after `ms` so a missing event fails instead of hanging. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function sse(event: string, data: Record<string, unknown>): string {
  return `event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`;
}

/** A realistic Messages stream: text, then a tool_use block streamed as JSON fragments. */
function realisticStream(): string[] {
  return [
    sse("message_start", {
      message: {
        id: "msg_01Stream",
        type: "message",
        role: "assistant",
        model: "claude-3-5-haiku-20241022",
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: {
          input_tokens: 25,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 10,
          output_tokens: 1,
        },
      },
    }),
    sse("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
    sse("ping", {}),
    sse("content_block_delta", { index: 0, delta: { type: "text_delta", text: "Let me " } }),
    sse("content_block_delta", {
      index: 0,
      delta: { type: "text_delta", text: "check the weather." },
    }),
    sse("content_block_stop", { index: 0 }),
    sse("content_block_start", {
      index: 1,
      content_block: { type: "tool_use", id: "toolu_01Weather", name: "get_weather", input: {} },
    }),
    sse("content_block_delta", { index: 1, delta: { type: "input_json_delta", partial_json: "" } }),
    sse("content_block_delta", {
      index: 1,
      delta: { type: "input_json_delta", partial_json: '{"location": "San' },
    }),
    sse("ping", {}),
    sse("content_block_delta", {
      index: 1,
      delta: { type: "input_json_delta", partial_json: ' Francisco, CA"}' },
    }),
    sse("content_block_stop", { index: 1 }),
    sse("message_delta", {
      delta: { stop_reason: "tool_use", stop_sequence: null },
      usage: { output_tokens: 42 },
    }),
    sse("message_stop", {}),
  ];
}

/** Serves SSE text in small, oddly split pieces (events straddle writes). */
function sseResponse(events: string[], pieceSize = 37): Response {
  const all = encoder.encode(events.join(""));
  let at = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= all.length) return controller.close();
      controller.enqueue(all.slice(at, at + pieceSize));
      at += pieceSize;
    },
  });
  return new Response(body, { headers: { "content-type": "text/event-stream" } });
}

interface OpenAIChunkOutput {
  data: string[];
  chunks: Record<string, unknown>[];
}

async function readOpenAISse(stream: ReadableStream<Uint8Array>): Promise<OpenAIChunkOutput> {
  const parser = new SseParser();
  const decoder = new TextDecoder();
  const data: string[] = [];
  for await (const bytes of stream) {
    for (const event of parser.push(decoder.decode(bytes, { stream: true }))) data.push(event.data);
  }
  for (const event of parser.end()) data.push(event.data);
  const chunks = data.filter((d) => d !== "[DONE]").map((d) => JSON.parse(d));
  return { data, chunks };
}

type Delta = {
  content?: string;
  reasoning_content?: string;
  role?: string;
  tool_calls?: {
    index: number;
    id?: string;
    type?: string;
    function: { name?: string; arguments: string };
  }[];
};
type Choice = { index: number; delta: Delta; finish_reason: string | null };

function choicesOf(chunk: Record<string, unknown>): Choice[] {
  return chunk.choices as Choice[];
}

Deno.test("anthropic: chat request is translated, sent to /v1/messages, answer comes back as OpenAI", async () => {
  const fake = startFake(() =>
    Response.json({
      id: "msg_01XFDUDYJgAACzvnptvVoYEL",
      type: "message",
      role: "assistant",
      model: "claude-3-5-haiku-20241022",
      content: [
        { type: "text", text: "Checking " },
        { type: "text", text: "both cities." },
        {
          type: "tool_use",
          id: "toolu_01A09q90qw90lq917835lq9",
          name: "get_weather",
          input: { location: "Paris", unit: "celsius" },
        },
      ],
      stop_reason: "tool_use",
      stop_sequence: null,
      usage: {
        input_tokens: 100,
        cache_creation_input_tokens: 20,
        cache_read_input_tokens: 30,
        output_tokens: 15,
      },
    })
  );
  try {
    const tools = [{
      type: "function",
      function: {
        name: "get_weather",
        description: "Current weather for a place",
        parameters: {
          type: "object",
          properties: { location: { type: "string" } },
          required: ["location"],
        },
      },
    }, { type: "function", function: { name: "no_params" } }];
    const response = await anthropicProvider.send(
      deployment(fake.base, { "anthropic-beta": "prompt-caching-2024-07-31" }),
      chatRequest(
        {
          model: "claude",
          messages: [
            { role: "system", content: "You are terse." },
            {
              role: "developer",
              content: [{ type: "text", text: "Use " }, { type: "text", text: "tools." }],
            },
            {
              role: "user",
              content: [
                { type: "text", text: "Weather in Paris and Rome? See:" },
                { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
                { type: "image_url", image_url: { url: "https://example.com/map.jpg" } },
              ],
            },
            {
              role: "assistant",
              content: null,
              tool_calls: [
                {
                  id: "call_1",
                  type: "function",
                  function: { name: "get_weather", arguments: '{"location":"Paris"}' },
                },
                {
                  id: "call_2",
                  type: "function",
                  function: { name: "get_weather", arguments: "{not json" },
                },
              ],
            },
            { role: "tool", tool_call_id: "call_1", content: "18C, sunny" },
            {
              role: "tool",
              tool_call_id: "call_2",
              content: [{ type: "text", text: "error: bad args" }],
            },
            { role: "user", content: "And now?" },
          ],
          stop: "END",
          temperature: 0.2,
          top_p: 0.9,
          user: "user-42",
          tools,
          tool_choice: "required",
          n: 1,
          seed: 7,
          frequency_penalty: 0.5,
          presence_penalty: 0.5,
          logprobs: false,
          response_format: { type: "text" },
          parallel_tool_calls: true,
          stream_options: { include_usage: true },
        },
        { headers: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" } },
      ),
    );

    assert.equal(fake.requests.length, 1);
    const sent = fake.requests[0];
    assert.equal(sent.path, "/v1/messages");
    assert.equal(sent.headers["x-api-key"], "test-key");
    assert.equal(sent.headers["anthropic-version"], "2023-06-01");
    assert.equal(sent.headers["anthropic-beta"], "prompt-caching-2024-07-31");
    assert.equal(
      sent.headers.traceparent,
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    );
    assert.equal(sent.headers.authorization, undefined);
    assert.deepEqual(sent.body, {
      model: "claude-3-5-haiku-latest",
      system: "You are terse.\n\nUse tools.",
      max_tokens: 4096,
      temperature: 0.2,
      top_p: 0.9,
      stop_sequences: ["END"],
      metadata: { user_id: "user-42" },
      tools: [
        {
          name: "get_weather",
          description: "Current weather for a place",
          input_schema: tools[0].function.parameters,
        },
        { name: "no_params", input_schema: { type: "object" } },
      ],
      tool_choice: { type: "any" },
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "Weather in Paris and Rome? See:" },
            {
              type: "image",
              source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" },
            },
            { type: "image", source: { type: "url", url: "https://example.com/map.jpg" } },
          ],
        },
        {
          role: "assistant",
          content: [
            { type: "tool_use", id: "call_1", name: "get_weather", input: { location: "Paris" } },
            { type: "tool_use", id: "call_2", name: "get_weather", input: {} },
          ],
        },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: "call_1", content: "18C, sunny" },
            { type: "tool_result", tool_use_id: "call_2", content: "error: bad args" },
            { type: "text", text: "And now?" },
          ],
        },
      ],
    });

    assert.equal(response.status, 200);
    assert.equal(response.stream, undefined);
    assert.equal(
      response.text,
      undefined,
      "the body was rewritten; the raw text must not be passed on",
    );
    assert.equal(response.sent.url, `${fake.base}/v1/messages`);
    const json = response.json as Record<string, unknown>;
    assert.equal(json.id, "msg_01XFDUDYJgAACzvnptvVoYEL");
    assert.equal(json.object, "chat.completion");
    assert.equal(json.model, "claude-3-5-haiku-20241022");
    assert.equal(typeof json.created, "number");
    assert.ok(Math.abs((json.created as number) - Date.now() / 1000) < 60);
    assert.deepEqual(json.choices, [{
      index: 0,
      message: {
        role: "assistant",
        content: "Checking both cities.",
        tool_calls: [{
          id: "toolu_01A09q90qw90lq917835lq9",
          type: "function",
          function: { name: "get_weather", arguments: '{"location":"Paris","unit":"celsius"}' },
        }],
      },
      finish_reason: "tool_calls",
      logprobs: null,
    }]);
    assert.deepEqual(json.usage, {
      prompt_tokens: 150,
      completion_tokens: 15,
      total_tokens: 165,
      prompt_tokens_details: { cached_tokens: 30 },
      cache_creation_input_tokens: 20,
    });
  } finally {
    await fake.close();
  }
});

Deno.test("anthropic: URL shapes and the remaining request fields", () => {
  assert.equal(anthropicUrl(undefined), "https://api.anthropic.com/v1/messages");
  assert.equal(
    anthropicUrl("https://proxy.example/anthropic/"),
    "https://proxy.example/anthropic/v1/messages",
  );
  assert.equal(anthropicUrl("https://proxy.example/v1"), "https://proxy.example/v1/messages");
  assert.equal(anthropicUrl("https://proxy.example/v1/"), "https://proxy.example/v1/messages");

  const base = { messages: [{ role: "user", content: "hi" }] };
  const a = toAnthropicRequest(
    { ...base, max_completion_tokens: 77, stop: ["a", "b"], top_k: 5 },
    "m",
  );
  assert.equal(a.max_tokens, 77);
  assert.deepEqual(a.stop_sequences, ["a", "b"]);
  assert.equal(a.top_k, 5);
  assert.equal(a.system, undefined);
  assert.deepEqual(a.messages, [{ role: "user", content: "hi" }]);
  assert.equal(
    toAnthropicRequest({ ...base, max_tokens: 9, max_completion_tokens: 77 }, "m").max_tokens,
    9,
  );
  assert.equal(toAnthropicRequest({ ...base, stream: true }, "m").stream, true);

  const choice = (tool_choice: unknown) =>
    toAnthropicRequest({ ...base, tool_choice }, "m").tool_choice;
  assert.deepEqual(choice("auto"), { type: "auto" });
  assert.deepEqual(choice("required"), { type: "any" });
  assert.deepEqual(choice("none"), { type: "none" });
  assert.deepEqual(choice({ type: "function", function: { name: "f" } }), {
    type: "tool",
    name: "f",
  });
  assert.equal(choice(undefined), undefined);

  // Consecutive same-role messages merge (Anthropic requires alternation).
  const merged = toAnthropicRequest({
    messages: [
      { role: "user", content: "one" },
      { role: "user", content: [{ type: "text", text: "two" }] },
      { role: "assistant", content: "three" },
    ],
  }, "m");
  assert.deepEqual(merged.messages, [
    { role: "user", content: [{ type: "text", text: "one" }, { type: "text", text: "two" }] },
    { role: "assistant", content: "three" },
  ]);
});

Deno.test("anthropic: thinking blocks become reasoning_content; stop reasons map", () => {
  const out = fromAnthropicResponse({
    id: "msg_1",
    type: "message",
    role: "assistant",
    model: "claude-sonnet-4-5",
    content: [
      { type: "thinking", thinking: "Two plus two…", signature: "sig" },
      { type: "text", text: "4" },
    ],
    stop_reason: "max_tokens",
    usage: { input_tokens: 3, output_tokens: 4 },
  });
  const choice = (out.choices as { message: Record<string, unknown>; finish_reason: string }[])[0];
  assert.equal(choice.message.content, "4");
  assert.equal(choice.message.reasoning_content, "Two plus two…");
  assert.equal(choice.message.tool_calls, undefined);
  assert.equal(choice.finish_reason, "length");
  assert.deepEqual(out.usage, {
    prompt_tokens: 3,
    completion_tokens: 4,
    total_tokens: 7,
    prompt_tokens_details: { cached_tokens: 0 },
  });
  const reason = (stop_reason: string) =>
    (fromAnthropicResponse({ content: [], stop_reason }).choices as { finish_reason: string }[])[0]
      .finish_reason;
  assert.equal(reason("end_turn"), "stop");
  assert.equal(reason("stop_sequence"), "stop");
  assert.equal(reason("tool_use"), "tool_calls");
  assert.equal(reason("refusal"), "stop");
  const empty = (fromAnthropicResponse({ content: [], stop_reason: "end_turn" }).choices as {
    message: Record<string, unknown>;
  }[])[0];
  assert.equal(empty.message.content, null);
});

Deno.test("anthropic: a stream is translated into OpenAI chunks, tool call arguments and usage included", async () => {
  const fake = startFake(() => sseResponse(realisticStream()));
  try {
    const response = await anthropicProvider.send(
      deployment(fake.base),
      chatRequest({ messages: [{ role: "user", content: "weather?" }], stream: true }),
    );
    assert.equal(fake.requests[0].body.stream, true);
    assert.equal(fake.requests[0].body.stream_options, undefined);
    assert.equal(response.status, 200);
    assert.ok(response.stream);
    const { data, chunks } = await readOpenAISse(response.stream);

    assert.equal(data.at(-1), "[DONE]");
    assert.equal(data.filter((d) => d === "[DONE]").length, 1);
    for (const chunk of chunks) {
      assert.equal(chunk.id, "msg_01Stream");
      assert.equal(chunk.object, "chat.completion.chunk");
      assert.equal(chunk.model, "claude-3-5-haiku-20241022");
      assert.equal(typeof chunk.created, "number");
    }
    assert.deepEqual(choicesOf(chunks[0]), [{
      index: 0,
      delta: { role: "assistant", content: "" },
      finish_reason: null,
    }]);

    const deltas = chunks.flatMap((c) => choicesOf(c)).map((c) => c.delta);
    assert.equal(deltas.map((d) => d.content ?? "").join(""), "Let me check the weather.");
    const toolParts = deltas.flatMap((d) => d.tool_calls ?? []);
    assert.deepEqual(toolParts[0], {
      index: 0,
      id: "toolu_01Weather",
      type: "function",
      function: { name: "get_weather", arguments: "" },
    });
    assert.ok(toolParts.every((t) => t.index === 0));
    const args = toolParts.map((t) => t.function.arguments).join("");
    assert.deepEqual(JSON.parse(args), { location: "San Francisco, CA" });

    const finishes = chunks.flatMap((c) => choicesOf(c)).map((c) => c.finish_reason).filter((f) =>
      f
    );
    assert.deepEqual(finishes, ["tool_calls"]);

    const last = chunks.at(-1)!;
    assert.deepEqual(last.choices, []);
    assert.deepEqual(last.usage, {
      prompt_tokens: 35,
      completion_tokens: 42,
      total_tokens: 77,
      prompt_tokens_details: { cached_tokens: 10 },
      cache_creation_input_tokens: 0,
    });
    assert.equal(chunks.filter((c) => c.usage).length, 1);
  } finally {
    await fake.close();
  }
});

Deno.test("anthropic: stream chunks are forwarded as they arrive, thinking deltas included", async () => {
  const gate = Promise.withResolvers<void>();
  const head = [
    sse("message_start", {
      message: {
        id: "msg_t",
        model: "claude-sonnet-4-5",
        usage: { input_tokens: 5, output_tokens: 0 },
      },
    }),
    sse("content_block_start", { index: 0, content_block: { type: "thinking", thinking: "" } }),
    sse("content_block_delta", { index: 0, delta: { type: "thinking_delta", thinking: "Hmm." } }),
    sse("content_block_delta", { index: 0, delta: { type: "signature_delta", signature: "abc" } }),
    sse("content_block_stop", { index: 0 }),
    sse("content_block_start", { index: 1, content_block: { type: "text", text: "" } }),
    sse("content_block_delta", { index: 1, delta: { type: "text_delta", text: "first" } }),
  ];
  const tail = [
    sse("content_block_delta", { index: 1, delta: { type: "text_delta", text: " second" } }),
    sse("content_block_stop", { index: 1 }),
    sse("message_delta", { delta: { stop_reason: "end_turn" }, usage: { output_tokens: 3 } }),
    sse("message_stop", {}),
  ];
  let safety: ReturnType<typeof setTimeout> | undefined;
  const fake = startFake(() => {
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(encoder.encode(head.join("")));
        await gate.promise;
        controller.enqueue(encoder.encode(tail.join("")));
        controller.close();
      },
    });
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  });
  try {
    const response = await anthropicProvider.send(
      deployment(fake.base),
      chatRequest({ messages: [{ role: "user", content: "hi" }], stream: true }),
    );
    const parser = new SseParser();
    const decoder = new TextDecoder();
    const seen: string[] = [];
    let released = false;
    let forced = false;
    // Should the adapter buffer, nothing arrives until this releases the upstream: a failure, not a hang.
    safety = setTimeout(() => {
      forced = true;
      gate.resolve();
    }, 2000);
    for await (const bytes of response.stream!) {
      for (const event of parser.push(decoder.decode(bytes, { stream: true }))) {
        seen.push(event.data);
        if (event.data.includes('"first"') && !forced) {
          // The upstream is still holding the rest: this chunk was not buffered behind it.
          released = true;
          gate.resolve();
        }
      }
    }
    assert.ok(released && !forced, "the first text chunk arrived while the upstream held the rest");
    const chunks = seen.filter((d) => d !== "[DONE]").map((d) => JSON.parse(d));
    const deltas = chunks.flatMap((c) => choicesOf(c)).map((c) => c.delta);
    assert.equal(deltas.map((d) => d.reasoning_content ?? "").join(""), "Hmm.");
    assert.equal(deltas.map((d) => d.content ?? "").join(""), "first second");
    assert.deepEqual(
      chunks.flatMap((c) => choicesOf(c)).map((c) => c.finish_reason).filter((f) => f),
      ["stop"],
    );
    assert.equal(chunks.at(-1)!.usage.completion_tokens, 3);
    assert.equal(seen.at(-1), "[DONE]");
  } finally {
    clearTimeout(safety);
    gate.resolve();
    await fake.close();
  }
});

Deno.test("anthropic: cancelling the translated stream cancels the upstream", async () => {
  const upstreamCancelled = Promise.withResolvers<void>();
  const fake = startFake(() => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode(realisticStream()[0]));
        // Then nothing more, until the reader goes away.
      },
      cancel() {
        upstreamCancelled.resolve();
      },
    });
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  });
  // Only a fallback: aborting the fetch frees the server if the cancel did not get through.
  const abort = new AbortController();
  try {
    const response = await anthropicProvider.send(
      deployment(fake.base),
      chatRequest({ messages: [{ role: "user", content: "hi" }], stream: true }, {
        signal: abort.signal,
      }),
    );
    const reader = response.stream!.getReader();
    const first = await reader.read();
    assert.ok(new TextDecoder().decode(first.value).includes('"role":"assistant"'));
    await reader.cancel("client went away");
    await within(upstreamCancelled.promise, 2000, "the upstream body to be cancelled");
  } finally {
    abort.abort();
    await fake.close();
  }
});

Deno.test("anthropic: an error event mid-stream becomes an OpenAI error event and ends the stream", async () => {
  const events = [
    realisticStream()[0],
    sse("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
    sse("content_block_delta", { index: 0, delta: { type: "text_delta", text: "partial" } }),
    sse("error", { error: { type: "overloaded_error", message: "Overloaded" } }),
  ];
  const { data, chunks } = await readOpenAISse(anthropicStreamToOpenAI(
    sseResponse(events).body!,
    { model: "fallback", created: 123 },
  ));
  assert.ok(!data.includes("[DONE]"));
  assert.equal(chunks[0].created, 123);
  assert.deepEqual(chunks.at(-1), {
    error: { message: "Overloaded", type: "api_error", code: "overloaded_error" },
  });

  // An upstream that stops before message_stop errors the stream (the relay reports it).
  const truncated = anthropicStreamToOpenAI(sseResponse(realisticStream().slice(0, 4)).body!);
  await assert.rejects(readOpenAISse(truncated), /ended before message_stop/);
});

Deno.test("anthropic: a 429 error body comes back in OpenAI's error shape, status kept", async () => {
  const fake = startFake(() =>
    Response.json(
      {
        type: "error",
        error: {
          type: "rate_limit_error",
          message: "Number of request tokens has exceeded your rate limit.",
        },
      },
      { status: 429, headers: { "retry-after": "17" } },
    )
  );
  try {
    for (const stream of [false, true]) {
      const response = await anthropicProvider.send(
        deployment(fake.base),
        chatRequest({ messages: [{ role: "user", content: "hi" }], stream }),
      );
      assert.equal(response.status, 429);
      assert.equal(response.stream, undefined);
      assert.equal(response.text, undefined);
      assert.equal(response.retryAfter, "17");
      assert.deepEqual(response.json, {
        error: {
          message: "Number of request tokens has exceeded your rate limit.",
          type: "rate_limit_error",
          param: null,
          code: "rate_limit_error",
        },
      });
    }
  } finally {
    await fake.close();
  }
});

Deno.test("anthropic: 529 overloaded keeps its status; 401 maps to authentication_error", async () => {
  const statuses = [529, 401];
  const fake = startFake(() => {
    const status = statuses.shift()!;
    const type = status === 529 ? "overloaded_error" : "authentication_error";
    return Response.json({ type: "error", error: { type, message: `failed ${status}` } }, {
      status,
    });
  });
  try {
    const overloaded = await anthropicProvider.send(
      deployment(fake.base),
      chatRequest({ messages: [{ role: "user", content: "hi" }] }),
    );
    assert.equal(overloaded.status, 529);
    assert.deepEqual(overloaded.json, {
      error: { message: "failed 529", type: "api_error", param: null, code: "overloaded_error" },
    });
    const unauthorized = await anthropicProvider.send(
      deployment(fake.base),
      chatRequest({ messages: [{ role: "user", content: "hi" }] }),
    );
    assert.equal(unauthorized.status, 401);
    assert.deepEqual(unauthorized.json, {
      error: {
        message: "failed 401",
        type: "authentication_error",
        param: null,
        code: "authentication_error",
      },
    });
  } finally {
    await fake.close();
  }
});

Deno.test("anthropic: completion and embedding calls are refused with 400 without contacting upstream", async () => {
  const fake = startFake(() => Response.json({}));
  try {
    for (const callType of ["completion", "embedding"] as const) {
      const response = await anthropicProvider.send(
        deployment(fake.base),
        chatRequest({ prompt: "hi", input: "hi" }, { callType }),
      );
      assert.equal(response.status, 400);
      assert.deepEqual(response.json, {
        error: {
          message: `provider anthropic does not support ${callType}; use a chat model`,
          type: "invalid_request_error",
          code: "unsupported_call_type",
        },
      });
      assert.deepEqual(response.sent, { url: `${fake.base}/v1/messages`, headers: {}, body: null });
    }
    assert.equal(fake.requests.length, 0);
  } finally {
    await fake.close();
  }
});
