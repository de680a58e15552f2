/**
 * Streaming: chunks reach the client before the upstream finishes, the usage
 * chunk the gateway asked for is hidden unless the client asked, a client
 * disconnect cancels the upstream, and the log event carries the assembled output.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { chatChunks, sseResponse, startUpstream } from "./fakes/upstream.ts";
import { readJsonlEvents, startGateway } from "./fakes/gateway.ts";

Deno.test("stream: each chunk arrives before the upstream sends the next", async () => {
  const words = ["one", "two", "three", "four"];
  const gates = words.map(() => Promise.withResolvers<void>());
  const upstream = startUpstream((req) =>
    // Before event i+2 (the word after word i), wait until the client saw word i.
    sseResponse(chatChunks(String(req.body?.model), words), (i) =>
      i >= 2 && i <= words.length ? gates[i - 2].promise : undefined)
  );
  const gw = await startGateway({
    models: [{ name: "m", provider: "openai", api_base: upstream.url }],
  });
  try {
    const client = new OpenAI({ apiKey: "k", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "count" }],
      stream: true,
    });
    let text = "";
    let seen = 0;
    let usageChunks = 0;
    for await (const chunk of stream) {
      if (chunk.usage) usageChunks++;
      const delta = chunk.choices[0]?.delta?.content;
      if (delta) {
        text += delta;
        // The upstream is blocked until we release it: this chunk came through on its own.
        gates[seen++].resolve();
      }
    }
    assert.equal(text, "one two three four");
    assert.equal(seen, 4);
    assert.equal(usageChunks, 0, "the client did not ask for usage");
    assert.deepEqual(upstream.requests[0].body?.stream_options, { include_usage: true });
  } finally {
    await gw.close();
    await upstream.close();
  }
});

Deno.test("stream: a client that asks for usage gets the usage chunk", async () => {
  const upstream = startUpstream((req) =>
    sseResponse(chatChunks(String(req.body?.model), ["a", "b"]))
  );
  const gw = await startGateway({
    models: [{ name: "m", provider: "openai", api_base: upstream.url }],
  });
  try {
    const client = new OpenAI({ apiKey: "k", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "x" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    assert.deepEqual(usage, { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 });
  } finally {
    await gw.close();
    await upstream.close();
  }
});

Deno.test("stream: a client disconnect cancels the upstream request", async () => {
  const upstreamGone = Promise.withResolvers<void>();
  const upstream = startUpstream((_req, signal) => {
    signal.addEventListener("abort", () => upstreamGone.resolve());
    let n = 0;
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async pull(c) {
        await new Promise((r) => setTimeout(r, 20));
        c.enqueue(
          encoder.encode(
            `data: ${
              JSON.stringify({ id: "x", choices: [{ index: 0, delta: { content: `w${n++} ` } }] })
            }\n\n`,
          ),
        );
      },
      cancel() {
        upstreamGone.resolve();
      },
    });
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  });
  const dir = await Deno.makeTempDir();
  const gw = await startGateway({
    models: [{ name: "m", provider: "openai", api_base: upstream.url }],
    sinks: [{ use: "jsonl", config: { dir }, queue: { flush_interval_ms: 10 } }],
  });
  try {
    const controller = new AbortController();
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "m",
        messages: [{ role: "user", content: "go on forever" }],
        stream: true,
      }),
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    await reader.cancel().catch(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      upstreamGone.promise.then(() => "cancelled"),
      new Promise((r) => (timer = setTimeout(() => r("still streaming"), 3000))),
    ]);
    clearTimeout(timer);
    assert.equal(outcome, "cancelled");
  } finally {
    await gw.close();
    await upstream.close();
  }
  const [event] = await readJsonlEvents(dir);
  assert.equal(event.status, "failure");
  assert.equal((event.error as { code: string }).code, "client_closed_request");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("stream: the log event carries the assembled output, tool calls, usage and time to first token", async () => {
  const base = {
    id: "chatcmpl-tools",
    object: "chat.completion.chunk",
    created: 1,
    model: "up-model",
  };
  const events = [
    { ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" } }] },
    { ...base, choices: [{ index: 0, delta: { content: "Let me " } }] },
    { ...base, choices: [{ index: 0, delta: { content: "check." } }] },
    {
      ...base,
      choices: [{
        index: 0,
        delta: {
          tool_calls: [{
            index: 0,
            id: "call_1",
            type: "function",
            function: { name: "weather", arguments: '{"ci' },
          }],
        },
      }],
    },
    {
      ...base,
      choices: [{
        index: 0,
        delta: { tool_calls: [{ index: 0, function: { arguments: 'ty":"Oslo"}' } }] },
      }],
    },
    { ...base, choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }] },
    { ...base, choices: [], usage: { prompt_tokens: 20, completion_tokens: 12, total_tokens: 32 } },
  ].map((e) => JSON.stringify(e)).concat("[DONE]");
  const upstream = startUpstream(() =>
    sseResponse(events, (i) => i === 1 ? new Promise((r) => setTimeout(r, 30)) : undefined)
  );
  const dir = await Deno.makeTempDir();
  const gw = await startGateway({
    models: [{ name: "m", provider: "openai", model: "gpt-4o", api_base: upstream.url }],
    sinks: [{ use: "jsonl", config: { dir }, queue: { flush_interval_ms: 10 } }],
  });
  try {
    const client = new OpenAI({ apiKey: "k", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "weather in Oslo?" }],
      stream: true,
    });
    for await (const _ of stream) { /* drain */ }
  } finally {
    await gw.close();
    await upstream.close();
  }
  const [event] = await readJsonlEvents(dir);
  await Deno.remove(dir, { recursive: true });
  assert.equal(event.status, "success");
  assert.equal(event.stream, true);
  assert.equal(event.id, "chatcmpl-tools");
  assert.equal(event.model_group, "m");
  assert.deepEqual(event.response, {
    role: "assistant",
    content: "Let me check.",
    tool_calls: [{
      id: "call_1",
      type: "function",
      function: { name: "weather", arguments: '{"city":"Oslo"}' },
    }],
  });
  assert.equal(event.prompt_tokens, 20);
  assert.equal(event.completion_tokens, 12);
  assert.equal(event.total_tokens, 32);
  assert.deepEqual(event.finish_reasons, ["tool_calls"]);
  const start = event.start_time as number;
  const first = event.completion_start_time as number;
  const end = event.end_time as number;
  assert.ok(first >= start + 25, "first token came after the upstream's 30 ms pause");
  assert.ok(end >= first);
  assert.ok(Math.abs((event.response_cost as number) - (20 * 2.5e-6 + 12 * 1e-5)) < 1e-12);
});
