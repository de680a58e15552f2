/**
 * {@link ResponsesStream}: chat chunks in, Responses API events out — event
 * order, item ids, output indices, the arguments each tool call streams and
 * the final `response.output`, parallel tool calls whose deltas interleave
 * included.
 */
import { chatChunk, INTERLEAVED_CALL_DELTAS } from "../../tests/fakes/chat_chunks.ts";
import assert from "node:assert/strict";
import { ResponsesStream } from "./stream.ts";
import type { ResponseFrame } from "./response.ts";

type Obj = Record<string, unknown>;
// deno-lint-ignore no-explicit-any
type Event = Record<string, any>;

const FRAME: ResponseFrame = {
  id: "resp_t1",
  createdAt: 1_700_000_000,
  model: "par",
  request: {},
};

const chunk = chatChunk;

/** Feeds the chunks and returns the parsed events (checking each SSE frame's `event:` line). */
function run(chunks: Obj[]): Event[] {
  const stream = new ResponsesStream(FRAME);
  const text = chunks.map((c) => stream.chunk(c)).join("") + stream.end();
  const events = text.split("\n\n").filter(Boolean).map((frame) => {
    const [eventLine, dataLine] = frame.split("\n");
    assert.ok(eventLine.startsWith("event: ") && dataLine.startsWith("data: "), frame);
    const event = JSON.parse(dataLine.slice(6));
    assert.equal(eventLine.slice(7), event.type);
    return event;
  });
  events.forEach((e, i) => assert.equal(e.sequence_number, i, "sequence numbers count up"));
  return events;
}

/** Each function call's concatenated argument deltas, by item id. */
function argumentsById(events: Event[]): Record<string, string> {
  const args: Record<string, string> = {};
  for (const e of events) {
    if (e.type === "response.function_call_arguments.delta") {
      args[e.item_id] = (args[e.item_id] ?? "") + e.delta;
    }
  }
  return args;
}

/** `type@output_index` of every event between `response.in_progress` and the end. */
const shape = (events: Event[]): string[] =>
  events.slice(2, -1).map((e) => `${e.type.slice(9)}@${e.output_index}`);

/** Each event naming an item carries the output index that item was added at. */
function assertIndicesConsistent(events: Event[]): void {
  const indexOf = new Map<string, number>();
  for (const e of events) {
    if (e.type === "response.output_item.added") {
      assert.ok(!indexOf.has(e.item.id), `item ${e.item.id} added once`);
      assert.ok(![...indexOf.values()].includes(e.output_index), "a fresh output index");
      indexOf.set(e.item.id, e.output_index);
    }
    const id = e.item_id ?? (e.type === "response.output_item.done" ? e.item.id : undefined);
    if (id !== undefined) assert.equal(e.output_index, indexOf.get(id), `${e.type} of ${id}`);
  }
}

const interleaved = [
  chunk({ role: "assistant", content: null }),
  ...INTERLEAVED_CALL_DELTAS.map((d) => chunk(d)),
  chunk({}, "tool_calls"),
];

Deno.test("parallel tool calls whose deltas interleave: an item each, closed at the end", () => {
  const events = run(interleaved);
  assert.equal(events[0].type, "response.created");
  assert.equal(events[1].type, "response.in_progress");
  assert.deepEqual(shape(events), [
    "output_item.added@0",
    "output_item.added@1",
    "function_call_arguments.delta@0",
    "function_call_arguments.delta@1",
    "function_call_arguments.done@0",
    "output_item.done@0",
    "function_call_arguments.done@1",
    "output_item.done@1",
  ]);
  assertIndicesConsistent(events);
  const added = events.filter((e) => e.type === "response.output_item.added");
  assert.deepEqual(added.map((e) => [e.item.id, e.item.call_id, e.item.name, e.item.status]), [
    ["fc_t1", "call_a", "f", "in_progress"],
    ["fc_t1_1", "call_b", "g", "in_progress"],
  ]);
  assert.deepEqual(argumentsById(events), { fc_t1: '{"x":1}', fc_t1_1: '{"y":2}' });
  const done = events.filter((e) => e.type === "response.function_call_arguments.done");
  assert.deepEqual(done.map((e) => [e.item_id, e.arguments]), [
    ["fc_t1", '{"x":1}'],
    ["fc_t1_1", '{"y":2}'],
  ]);
  const completed = events.at(-1)!;
  assert.equal(completed.type, "response.completed");
  assert.deepEqual(
    completed.response.output.map((i: Event) => [i.type, i.id, i.call_id, i.name, i.arguments]),
    [
      ["function_call", "fc_t1", "call_a", "f", '{"x":1}'],
      ["function_call", "fc_t1_1", "call_b", "g", '{"y":2}'],
    ],
  );
});

Deno.test("a single tool call streams its arguments under its own item", () => {
  const events = run([
    chunk({
      role: "assistant",
      tool_calls: [{ index: 0, id: "call_w", function: { name: "get_weather", arguments: "" } }],
    }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }),
    chunk({}, "tool_calls"),
  ]);
  assert.deepEqual(shape(events), [
    "output_item.added@0",
    "function_call_arguments.delta@0",
    "function_call_arguments.delta@0",
    "function_call_arguments.done@0",
    "output_item.done@0",
  ]);
  assertIndicesConsistent(events);
  assert.deepEqual(argumentsById(events), { fc_t1: '{"city":"Paris"}' });
  assert.deepEqual(events.at(-1)!.response.output, [{
    type: "function_call",
    id: "fc_t1",
    call_id: "call_w",
    name: "get_weather",
    arguments: '{"city":"Paris"}',
    status: "completed",
  }]);
});

Deno.test("text then a tool call: the message closes before the call's item opens", () => {
  const events = run([
    chunk({ role: "assistant", content: "Let me " }),
    chunk({ content: "check." }),
    chunk({ tool_calls: [{ index: 0, id: "call_w", function: { name: "w", arguments: "{}" } }] }),
    chunk({}, "tool_calls"),
  ]);
  assert.deepEqual(shape(events), [
    "output_item.added@0",
    "content_part.added@0",
    "output_text.delta@0",
    "output_text.delta@0",
    "output_text.done@0",
    "content_part.done@0",
    "output_item.done@0",
    "output_item.added@1",
    "function_call_arguments.delta@1",
    "function_call_arguments.done@1",
    "output_item.done@1",
  ]);
  assertIndicesConsistent(events);
  const output = events.at(-1)!.response.output;
  assert.deepEqual(output.map((i: Event) => [i.type, i.id]), [
    ["message", "msg_t1"],
    ["function_call", "fc_t1"],
  ]);
  assert.equal(output[0].content[0].text, "Let me check.");
  assert.equal(output[1].arguments, "{}");
});

Deno.test("text, a tool call, text again: a second message item with its own id; all close in index order", () => {
  const stream = new ResponsesStream(FRAME);
  const chunks = [
    chunk({ role: "assistant", content: "First." }),
    chunk({ tool_calls: [{ index: 0, id: "call_w", function: { name: "w", arguments: "" } }] }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: '{"a":1}' } }] }),
    chunk({ content: "Second." }),
    chunk({}, "tool_calls"),
  ];
  const events = run(chunks);
  assert.deepEqual(shape(events), [
    "output_item.added@0",
    "content_part.added@0",
    "output_text.delta@0",
    "output_text.done@0",
    "content_part.done@0",
    "output_item.done@0",
    "output_item.added@1",
    "function_call_arguments.delta@1",
    "output_item.added@2",
    "content_part.added@2",
    "output_text.delta@2",
    "function_call_arguments.done@1",
    "output_item.done@1",
    "output_text.done@2",
    "content_part.done@2",
    "output_item.done@2",
  ]);
  assertIndicesConsistent(events);
  const texts = events.filter((e) => e.type === "response.output_text.done");
  assert.deepEqual(texts.map((e) => [e.item_id, e.text]), [
    ["msg_t1", "First."],
    ["msg_t1_2", "Second."],
  ]);
  const output = events.at(-1)!.response.output;
  assert.deepEqual(output.map((i: Event) => [i.type, i.id]), [
    ["message", "msg_t1"],
    ["function_call", "fc_t1"],
    ["message", "msg_t1_2"],
  ]);
  assert.deepEqual(output.map((i: Event) => i.content?.[0].text ?? i.arguments), [
    "First.",
    '{"a":1}',
    "Second.",
  ]);
  // The assembled turn (the log's) keeps all the text.
  for (const c of chunks) stream.chunk(c);
  stream.end();
  assert.equal(stream.turn.text, "First.Second.");
  assert.deepEqual(stream.turn.toolCalls, [{ id: "call_w", name: "w", arguments: '{"a":1}' }]);
});

Deno.test("reasoning, text, reasoning again: each reasoning item has its own id", () => {
  const events = run([
    chunk({ role: "assistant", reasoning_content: "Think." }),
    chunk({ content: "Say." }),
    chunk({ reasoning_content: "More." }),
    chunk({}, "stop"),
  ]);
  assertIndicesConsistent(events);
  const output = events.at(-1)!.response.output;
  assert.deepEqual(output.map((i: Event) => [i.type, i.id]), [
    ["reasoning", "rs_t1"],
    ["message", "msg_t1"],
    ["reasoning", "rs_t1_2"],
  ]);
  assert.deepEqual(output[2].summary, [{ type: "summary_text", text: "More." }]);
  assert.deepEqual(output[0].summary, [{ type: "summary_text", text: "Think." }]);
});

Deno.test("three parallel calls, the third starting after the others' arguments", () => {
  const events = run([
    chunk({ tool_calls: [{ index: 0, id: "c0", function: { name: "a", arguments: '{"i":' } }] }),
    chunk({ tool_calls: [{ index: 1, id: "c1", function: { name: "b", arguments: '{"j":' } }] }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: "0}" } }] }),
    chunk({ tool_calls: [{ index: 2, id: "c2", function: { name: "c", arguments: "{}" } }] }),
    chunk({ tool_calls: [{ index: 1, function: { arguments: "1}" } }] }),
    chunk({}, "tool_calls"),
  ]);
  assertIndicesConsistent(events);
  assert.deepEqual(argumentsById(events), { fc_t1: '{"i":0}', fc_t1_1: '{"j":1}', fc_t1_2: "{}" });
  assert.deepEqual(
    events.at(-1)!.response.output.map((i: Event) => [i.call_id, i.arguments]),
    [["c0", '{"i":0}'], ["c1", '{"j":1}'], ["c2", "{}"]],
  );
});

Deno.test("nothing streamed: one empty message", () => {
  const events = run([chunk({ role: "assistant" }, "stop")]);
  assert.deepEqual(events.at(-1)!.response.output.map((i: Event) => i.id), ["msg_t1"]);
  assert.equal(events.at(-1)!.response.output[0].content[0].text, "");
});
