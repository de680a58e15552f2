/**
 * {@link MessagesStream}: chat chunks in, Anthropic Messages stream events
 * out — blocks strictly one after the other, each tool call in a block of its
 * own with its own id, name and whole arguments, parallel tool calls whose
 * deltas interleave included.
 */
import { chatChunk, INTERLEAVED_CALL_DELTAS } from "../../tests/fakes/chat_chunks.ts";
import assert from "node:assert/strict";
import { MessagesStream } from "./response.ts";

type Obj = Record<string, unknown>;
// deno-lint-ignore no-explicit-any
type Event = Record<string, any>;

const chunk = chatChunk;

/** Feeds the chunks and returns the parsed events (checking each SSE frame's `event:` line). */
function run(chunks: Obj[]): Event[] {
  const stream = new MessagesStream("msg_t1", "par");
  const text = chunks.map((c) => stream.chunk(c)).join("") + stream.end();
  return text.split("\n\n").filter(Boolean).map((frame) => {
    const [eventLine, dataLine] = frame.split("\n");
    assert.ok(eventLine.startsWith("event: ") && dataLine.startsWith("data: "), frame);
    const event = JSON.parse(dataLine.slice(6));
    assert.equal(eventLine.slice(7), event.type);
    return event;
  });
}

/**
 * The content blocks the events build, checking that blocks are strictly
 * sequential: a start opens block `n` (the next index) only when none is
 * open, deltas and the stop name the open block.
 */
function blocks(events: Event[]): Event[] {
  const built: Event[] = [];
  let open: number | undefined;
  for (const e of events) {
    if (e.type === "content_block_start") {
      assert.equal(open, undefined, "a block starts only when none is open");
      assert.equal(e.index, built.length, "blocks are numbered in order");
      open = e.index;
      built.push({ ...e.content_block, json: "" });
    } else if (e.type === "content_block_delta") {
      assert.equal(e.index, open, "a delta goes to the open block");
      const block = built[open!];
      if (e.delta.type === "input_json_delta") block.json += e.delta.partial_json;
      else if (e.delta.type === "text_delta") block.text += e.delta.text;
      else if (e.delta.type === "thinking_delta") block.thinking += e.delta.thinking;
      else assert.fail(`unexpected delta ${e.delta.type}`);
    } else if (e.type === "content_block_stop") {
      assert.equal(e.index, open, "the stop closes the open block");
      open = undefined;
    } else if (e.type === "message_delta") {
      assert.equal(open, undefined, "every block is closed before message_delta");
    }
  }
  assert.equal(open, undefined);
  return built;
}

const types = (events: Event[]): string[] => events.map((e) => e.type);

Deno.test("parallel tool calls whose deltas interleave: one block each, the second after the first", () => {
  const events = run([
    chunk({ role: "assistant", content: null }),
    ...INTERLEAVED_CALL_DELTAS.map((d) => chunk(d)),
    chunk({}, "tool_calls"),
  ]);
  assert.deepEqual(types(events), [
    "message_start",
    "ping",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
  ]);
  assert.deepEqual(blocks(events), [
    { type: "tool_use", id: "call_a", name: "f", input: {}, json: '{"x":1}' },
    { type: "tool_use", id: "call_b", name: "g", input: {}, json: '{"y":2}' },
  ]);
  assert.equal(events.at(-2)!.delta.stop_reason, "tool_use");
});

Deno.test("a single tool call streams live, its arguments as they come", () => {
  const events = run([
    chunk({
      role: "assistant",
      tool_calls: [{ index: 0, id: "call_w", function: { name: "get_weather", arguments: "" } }],
    }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }),
    chunk({}, "tool_calls"),
  ]);
  assert.deepEqual(types(events).slice(2), [
    "content_block_start",
    "content_block_delta",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
  ]);
  assert.deepEqual(blocks(events), [
    { type: "tool_use", id: "call_w", name: "get_weather", input: {}, json: '{"city":"Paris"}' },
  ]);
});

Deno.test("text then a tool call: the text block closes before the tool_use block", () => {
  const events = run([
    chunk({ role: "assistant", content: "Let me " }),
    chunk({ content: "check." }),
    chunk({ tool_calls: [{ index: 0, id: "call_w", function: { name: "w", arguments: "{}" } }] }),
    chunk({}, "tool_calls"),
  ]);
  assert.deepEqual(blocks(events), [
    { type: "text", text: "Let me check.", json: "" },
    { type: "tool_use", id: "call_w", name: "w", input: {}, json: "{}" },
  ]);
});

Deno.test("text, a tool call, text again: three blocks in order", () => {
  const events = run([
    chunk({ role: "assistant", content: "First." }),
    chunk({ tool_calls: [{ index: 0, id: "call_w", function: { name: "w", arguments: "" } }] }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: '{"a":1}' } }] }),
    chunk({ content: "Second." }),
    chunk({}, "tool_calls"),
  ]);
  assert.deepEqual(blocks(events), [
    { type: "text", text: "First.", json: "" },
    { type: "tool_use", id: "call_w", name: "w", input: {}, json: '{"a":1}' },
    { type: "text", text: "Second.", json: "" },
  ]);
});

Deno.test("three parallel calls: the first live, the others whole after it, in order", () => {
  const events = run([
    chunk({ content: "Checking." }),
    chunk({ tool_calls: [{ index: 0, id: "c0", function: { name: "a", arguments: '{"i":' } }] }),
    chunk({ tool_calls: [{ index: 1, id: "c1", function: { name: "b", arguments: '{"j":' } }] }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: "0}" } }] }),
    chunk({ tool_calls: [{ index: 2, id: "c2", function: { name: "c", arguments: "" } }] }),
    chunk({ tool_calls: [{ index: 1, function: { arguments: "1}" } }] }),
    chunk({}, "tool_calls"),
  ]);
  const built = blocks(events);
  assert.deepEqual(built.map((b) => [b.type, b.id, b.name, b.json]), [
    ["text", undefined, undefined, ""],
    ["tool_use", "c0", "a", '{"i":0}'],
    ["tool_use", "c1", "b", '{"j":1}'],
    ["tool_use", "c2", "c", ""],
  ]);
  // A buffered call is one start, one delta with its whole arguments, one stop.
  const ofBlock2 = events.filter((e) => e.index === 2).map((e) => e.type);
  assert.deepEqual(ofBlock2, ["content_block_start", "content_block_delta", "content_block_stop"]);
});

Deno.test("thinking then text: the thinking block starts with an empty signature", () => {
  const events = run([
    chunk({ role: "assistant", reasoning_content: "Hmm." }),
    chunk({ content: "Yes." }),
    chunk({}, "stop"),
  ]);
  assert.deepEqual(events[2].content_block, { type: "thinking", thinking: "", signature: "" });
  assert.deepEqual(blocks(events), [
    { type: "thinking", thinking: "Hmm.", signature: "", json: "" },
    { type: "text", text: "Yes.", json: "" },
  ]);
  assert.equal(events.at(-2)!.delta.stop_reason, "end_turn");
});
