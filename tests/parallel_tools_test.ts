/**
 * Parallel tool calls end to end (#16): a Chat Completions upstream streams
 * two tool calls whose argument deltas interleave (as OpenAI sends them); the
 * real `openai` client on `/v1/responses` and the Anthropic SDK on
 * `/v1/messages` each get both calls whole, with their own ids, names and
 * arguments.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import Anthropic from "npm:@anthropic-ai/sdk@1.17.0";
import { startGateway } from "./fakes/gateway.ts";
import { sseResponse, startUpstream } from "./fakes/upstream.ts";

/** The upstream's stream: a little text, then two tool calls interleaved. */
function parallelChunks(model: string): string[] {
  const base = { id: "chatcmpl-par", object: "chat.completion.chunk", created: 1, model };
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
    JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] });
  return [
    chunk({ role: "assistant", content: "Checking both." }),
    chunk({
      tool_calls: [
        { index: 0, id: "call_a", type: "function", function: { name: "f", arguments: "" } },
        { index: 1, id: "call_b", type: "function", function: { name: "g", arguments: "" } },
      ],
    }),
    chunk({
      tool_calls: [
        { index: 0, function: { arguments: '{"x":' } },
        { index: 1, function: { arguments: '{"y":' } },
      ],
    }),
    chunk({
      tool_calls: [
        { index: 0, function: { arguments: "1}" } },
        { index: 1, function: { arguments: "2}" } },
      ],
    }),
    chunk({}, "tool_calls"),
    JSON.stringify({
      ...base,
      choices: [],
      usage: { prompt_tokens: 20, completion_tokens: 12, total_tokens: 32 },
    }),
    "[DONE]",
  ];
}

async function withGateway(run: (url: string) => Promise<void>): Promise<void> {
  const upstream = startUpstream((req) => {
    assert.equal(req.body?.stream, true, "the test streams");
    return sseResponse(parallelChunks(String(req.body?.model)));
  });
  const gw = await startGateway({
    models: [{
      name: "par",
      provider: "openai",
      api_base: upstream.url,
      api_key: "x",
      api: "chat",
    }],
  });
  try {
    await run(gw.url);
  } finally {
    await gw.close();
    await upstream.close();
  }
}

const FUNCTION = (name: string) => ({
  type: "function" as const,
  name,
  parameters: { type: "object", properties: {} },
  strict: false,
});

Deno.test("openai responses.stream: interleaved parallel calls arrive as two whole function_call items", async () => {
  await withGateway(async (url) => {
    const client = new OpenAI({ apiKey: "none", baseURL: `${url}/v1`, maxRetries: 0 });
    const stream = client.responses.stream({
      model: "par",
      input: "Call f and g.",
      tools: [FUNCTION("f"), FUNCTION("g")],
    });
    const argsByItem: Record<string, string> = {};
    const doneByItem: Record<string, string> = {};
    stream.on("response.function_call_arguments.delta", (e) => {
      argsByItem[e.item_id] = (argsByItem[e.item_id] ?? "") + e.delta;
    });
    stream.on("response.function_call_arguments.done", (e) => {
      doneByItem[e.item_id] = e.arguments;
    });
    const final = await stream.finalResponse();
    assert.equal(final.status, "completed");
    assert.deepEqual(
      final.output.map((item) =>
        item.type === "function_call"
          ? [item.type, item.call_id, item.name, item.arguments]
          : [item.type, item.type === "message" ? item.content.map((c) => c.type) : undefined]
      ),
      [
        ["message", ["output_text"]],
        ["function_call", "call_a", "f", '{"x":1}'],
        ["function_call", "call_b", "g", '{"y":2}'],
      ],
    );
    const [, a, b] = final.output;
    assert.ok(a.type === "function_call" && b.type === "function_call" && a.id && b.id);
    assert.notEqual(a.id, b.id);
    assert.deepEqual(argsByItem, { [a.id!]: '{"x":1}', [b.id!]: '{"y":2}' });
    assert.deepEqual(doneByItem, argsByItem);
    assert.equal(final.output_text, "Checking both.");
    assert.equal(final.usage?.total_tokens, 32);
  });
});

Deno.test("anthropic messages.stream: interleaved parallel calls arrive as two whole tool_use blocks", async () => {
  await withGateway(async (url) => {
    const client = new Anthropic({ apiKey: "none", baseURL: url, maxRetries: 0 });
    const stream = client.messages.stream({
      model: "par",
      max_tokens: 256,
      messages: [{ role: "user", content: "Call f and g." }],
      tools: ["f", "g"].map((name) => ({
        name,
        input_schema: { type: "object" as const, properties: {} },
      })),
    });
    const starts: string[] = [];
    stream.on("streamEvent", (e) => {
      if (e.type === "content_block_start") starts.push(e.content_block.type);
    });
    const final = await stream.finalMessage();
    assert.deepEqual(starts, ["text", "tool_use", "tool_use"]);
    assert.equal(final.stop_reason, "tool_use");
    assert.deepEqual(final.content, [
      { type: "text", text: "Checking both." },
      { type: "tool_use", id: "call_a", name: "f", input: { x: 1 } },
      { type: "tool_use", id: "call_b", name: "g", input: { y: 2 } },
    ]);
    assert.equal(final.usage.output_tokens, 12);
  });
});
