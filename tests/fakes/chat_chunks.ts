/**
 * Chat Completions stream chunks for the stream translators' tests: one
 * chunk of choice 0, and the two interleaved tool calls OpenAI sends for
 * parallel calls (`call_a` → `f {"x":1}`, `call_b` → `g {"y":2}`).
 * @module
 */

type Obj = Record<string, unknown>;

/** One chunk of choice 0. */
export const chatChunk = (delta: Obj, finish: string | null = null): Obj => ({
  id: "chatcmpl-1",
  object: "chat.completion.chunk",
  model: "gpt-up",
  choices: [{ index: 0, delta, finish_reason: finish }],
});

/** The deltas of two parallel tool calls: both heads, then both arguments. */
export const INTERLEAVED_CALL_DELTAS: Obj[] = [
  {
    tool_calls: [
      { index: 0, id: "call_a", type: "function", function: { name: "f", arguments: "" } },
      { index: 1, id: "call_b", type: "function", function: { name: "g", arguments: "" } },
    ],
  },
  {
    tool_calls: [
      { index: 0, function: { arguments: '{"x":1}' } },
      { index: 1, function: { arguments: '{"y":2}' } },
    ],
  },
];
